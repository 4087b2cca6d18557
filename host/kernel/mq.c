/* Mailboxes (one per service) and the global run queue. A mailbox sits in the
 * run queue at most once (in_global), so one worker at a time runs a service.
 * A mailbox belongs to its service's account; the run queue is the host's. */

#include <pthread.h>
#include <string.h>

#include "mq.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define MQ_INITIAL 16

struct message_queue {
	pthread_mutex_t lock;
	uint32_t handle;
	int cap, head, tail;
	int in_global;
	int release;
	struct skynet_message *queue;
	struct message_queue *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct message_queue *head, *tail;
	int shutdown;
	mq_drop_fn drop;
} G = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, NULL };

void globalmq_init(mq_drop_fn drop) {
	pthread_mutex_lock(&G.lock);
	G.drop = drop;
	G.head = G.tail = NULL;
	G.shutdown = 0;
	pthread_mutex_unlock(&G.lock);
}

static void globalmq_push(struct message_queue *q) {
	pthread_mutex_lock(&G.lock);
	if (G.shutdown) {   /* no worker left: the service frees its mailbox */
		pthread_mutex_unlock(&G.lock);
		pthread_mutex_lock(&q->lock);
		q->in_global = 0;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->next = NULL;
	if (G.tail)
		G.tail->next = q;
	else
		G.head = q;
	G.tail = q;
	pthread_cond_signal(&G.cond);
	pthread_mutex_unlock(&G.lock);
}

struct message_queue *globalmq_pop(void) {
	pthread_mutex_lock(&G.lock);
	while (G.head == NULL && !G.shutdown)
		pthread_cond_wait(&G.cond, &G.lock);
	struct message_queue *q = NULL;
	if (!G.shutdown) {
		q = G.head;
		G.head = q->next;
		if (G.head == NULL)
			G.tail = NULL;
	}
	pthread_mutex_unlock(&G.lock);
	return q;
}

static void mq_free(struct message_queue *q);

void globalmq_shutdown(void) {
	pthread_mutex_lock(&G.lock);
	G.shutdown = 1;
	pthread_cond_broadcast(&G.cond);
	struct message_queue *q = G.head;
	G.head = G.tail = NULL;
	pthread_mutex_unlock(&G.lock);
	/* A mailbox still queued stays with its live service, which frees it at
	 * its release; one whose service was released already waited for a
	 * worker to free it (mq_orphan), and no worker will now: freed here. */
	while (q) {
		struct message_queue *next = q->next;
		pthread_mutex_lock(&q->lock);
		q->in_global = 0;
		int released = q->release;
		pthread_mutex_unlock(&q->lock);
		if (released)
			mq_free(q);
		q = next;
	}
}

/* Called with the current service set to the new one: it pays for its mailbox.
 * Starts "in global" so nothing runs it before its init finished. */
struct message_queue *mq_create(uint32_t handle) {
	struct message_queue *q = skynet_malloc(sizeof(*q));
	if (q == NULL)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->queue = skynet_malloc(sizeof(struct skynet_message) * MQ_INITIAL);
	if (q->queue == NULL) {
		skynet_free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->handle = handle;
	q->cap = MQ_INITIAL;
	q->in_global = 1;
	return q;
}

uint32_t mq_handle(struct message_queue *q) {
	return q->handle;
}

/* Grows the ring; the new array is charged to the mailbox's service, not the
 * sender that happened to fill it. Returns -1 when out of memory. */
static int expand(struct message_queue *q) {
	struct skynet_message *n = skynet_malloc(sizeof(*n) * q->cap * 2);
	if (n == NULL)
		return -1;
	skynet_mem_transfer(n, skynet_mem_owner(q->queue));
	int count = (q->tail - q->head + q->cap) % q->cap;   /* full: cap - 1 */
	for (int i = 0; i < count; i++)
		n[i] = q->queue[(q->head + i) % q->cap];
	q->head = 0;
	q->tail = count;
	q->cap *= 2;
	skynet_free(q->queue);
	q->queue = n;
	return 0;
}

void mq_push(struct message_queue *q, struct skynet_message *m) {
	pthread_mutex_lock(&q->lock);
	if (q->release || ((q->tail + 1) % q->cap == q->head && expand(q) != 0)) {
		pthread_mutex_unlock(&q->lock);
		G.drop(m, q->handle);
		return;
	}
	/* Delivered: from now on the payload is the receiver's (its backlog is its memory). */
	if (m->data)
		skynet_mem_transfer(m->data, q->handle);
	q->queue[q->tail] = *m;
	q->tail = (q->tail + 1) % q->cap;
	int schedule = !q->in_global;
	q->in_global = 1;
	pthread_mutex_unlock(&q->lock);
	if (schedule)
		globalmq_push(q);
}

int mq_pop(struct message_queue *q, struct skynet_message *m) {
	int r = 1;
	pthread_mutex_lock(&q->lock);
	if (q->head != q->tail) {
		*m = q->queue[q->head];
		q->head = (q->head + 1) % q->cap;
		r = 0;
	} else {
		q->in_global = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return r;
}

void mq_reschedule(struct message_queue *q) {
	pthread_mutex_lock(&q->lock);
	int again = q->head != q->tail;
	if (!again)
		q->in_global = 0;
	pthread_mutex_unlock(&q->lock);
	if (again)
		globalmq_push(q);
}

size_t mq_length(struct message_queue *q) {
	pthread_mutex_lock(&q->lock);
	size_t n = (size_t)((q->tail - q->head + q->cap) % q->cap);
	pthread_mutex_unlock(&q->lock);
	return n;
}

int mq_busy(struct message_queue *q) {
	pthread_mutex_lock(&q->lock);
	int busy = q->in_global;
	pthread_mutex_unlock(&q->lock);
	return busy;
}

void mq_activate(struct message_queue *q) {
	globalmq_push(q);
}

void mq_deactivate(struct message_queue *q) {
	pthread_mutex_lock(&q->lock);
	q->in_global = 0;
	pthread_mutex_unlock(&q->lock);
}

/* Undelivered messages are freed (charged to this mailbox's service). */
static void mq_free(struct message_queue *q) {
	struct skynet_message m;
	while (q->head != q->tail) {
		m = q->queue[q->head];
		q->head = (q->head + 1) % q->cap;
		G.drop(&m, q->handle);
	}
	pthread_mutex_destroy(&q->lock);
	skynet_free(q->queue);
	skynet_free(q);
}

void mq_mark_release(struct message_queue *q) {
	/* No sender can reach the service any more: drop its backlog now, before
	 * its exit report, even when a worker still holds the mailbox. */
	struct skynet_message m;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		int empty = q->head == q->tail;
		if (!empty) {
			m = q->queue[q->head];
			q->head = (q->head + 1) % q->cap;
		}
		pthread_mutex_unlock(&q->lock);
		if (empty)
			break;
		G.drop(&m, q->handle);
	}
	pthread_mutex_lock(&q->lock);
	q->release = 1;
	int later = q->in_global;
	if (later) {
		/* A worker frees it after the service's exit report: the host pays. */
		skynet_mem_transfer(q->queue, 0);
		skynet_mem_transfer(q, 0);
	}
	pthread_mutex_unlock(&q->lock);
	if (!later)
		mq_free(q);
}

void mq_orphan(struct message_queue *q) {
	pthread_mutex_lock(&q->lock);
	int release = q->release;
	if (!release)
		q->in_global = 0;   /* the service is retiring; its release frees q */
	pthread_mutex_unlock(&q->lock);
	if (release)
		mq_free(q);
}
