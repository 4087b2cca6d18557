/* The timer: a min-heap of (deadline, handle, session) served by one thread,
 * which sends a PTYPE_RESPONSE when a deadline passes. Times in centiseconds,
 * as skynet's. Host-internal memory (plain malloc). */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "kernel.h"
#include "timer.h"

struct timer_event {
	uint64_t expire;   /* ms, CLOCK_MONOTONIC */
	uint32_t handle;
	int session;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct timer_event *heap;
	size_t n, cap;
	int running, quit;
} T = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void swap(size_t a, size_t b) {
	struct timer_event t = T.heap[a];
	T.heap[a] = T.heap[b];
	T.heap[b] = t;
}

static void sift_up(size_t i) {
	while (i > 0 && T.heap[(i - 1) / 2].expire > T.heap[i].expire) {
		swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(size_t i) {
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < T.n && T.heap[l].expire < T.heap[m].expire)
			m = l;
		if (r < T.n && T.heap[r].expire < T.heap[m].expire)
			m = r;
		if (m == i)
			return;
		swap(i, m);
		i = m;
	}
}

int host_timeout(uint32_t handle, int ti, int session) {
	if (ti <= 0)
		return skynet_send(NULL, 0, handle, PTYPE_RESPONSE, session, NULL, 0) < 0 ? -1 : 0;
	pthread_mutex_lock(&T.lock);
	if (T.n == T.cap) {
		size_t ncap = T.cap ? T.cap * 2 : 64;
		struct timer_event *h = realloc(T.heap, ncap * sizeof(*h));
		if (h == NULL) {
			pthread_mutex_unlock(&T.lock);
			return -1;
		}
		T.heap = h;
		T.cap = ncap;
	}
	T.heap[T.n] = (struct timer_event){ clock_ms() + (uint64_t)ti * 10, handle, session };
	sift_up(T.n++);
	pthread_cond_signal(&T.cond);
	pthread_mutex_unlock(&T.lock);
	return 0;
}

static void *timer_main(void *arg) {
	(void)arg;
	pthread_mutex_lock(&T.lock);
	while (!T.quit) {
		uint64_t now = clock_ms();
		if (T.n && T.heap[0].expire <= now) {
			struct timer_event e = T.heap[0];
			T.heap[0] = T.heap[--T.n];
			sift_down(0);
			pthread_mutex_unlock(&T.lock);
			skynet_send(NULL, 0, e.handle, PTYPE_RESPONSE, e.session, NULL, 0);
			pthread_mutex_lock(&T.lock);
			continue;
		}
		if (T.n == 0) {
			pthread_cond_wait(&T.cond, &T.lock);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t wait = T.heap[0].expire - now;
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&T.cond, &T.lock, &ts);
		}
	}
	pthread_mutex_unlock(&T.lock);
	return NULL;
}

int timer_start(void) {
	T.quit = 0;
	T.n = 0;
	if (pthread_create(&T.thread, NULL, timer_main, NULL) != 0)
		return -1;
	T.running = 1;
	return 0;
}

void timer_stop(void) {
	if (!T.running)
		return;
	pthread_mutex_lock(&T.lock);
	T.quit = 1;
	pthread_cond_signal(&T.cond);
	pthread_mutex_unlock(&T.lock);
	pthread_join(T.thread, NULL);
	T.running = 0;
	free(T.heap);
	T.heap = NULL;
	T.n = T.cap = 0;
}
