#ifndef SKYNET_HOST_MQ_H
#define SKYNET_HOST_MQ_H

/* Mailboxes and the global run queue (mq.c). */

#include "kernel.h"

struct skynet_message {
	uint32_t source;
	int session;
	int type;
	void *data;     /* skynet_malloc'd by the sender, or NULL */
	size_t sz;
};

struct message_queue;

/* What becomes of a message no service will read (its mailbox is gone):
 * given to globalmq_init, called with the mailbox's handle. */
typedef void (*mq_drop_fn)(struct skynet_message *m, uint32_t dest);

struct message_queue *mq_create(uint32_t handle);
uint32_t mq_handle(struct message_queue *q);
void mq_push(struct message_queue *q, struct skynet_message *m);
/* 0 and a message, or 1 when empty (the queue then leaves the run queue). */
int mq_pop(struct message_queue *q, struct skynet_message *m);
/* After a dispatch: back into the run queue when messages wait. */
void mq_reschedule(struct message_queue *q);
/* The service is gone: free now, or leave it to the worker holding it. */
void mq_mark_release(struct message_queue *q);
/* A worker found q's service gone: free q if it was released. */
void mq_orphan(struct message_queue *q);
/* Puts a fresh queue into the run queue (after its service's init). */
void mq_activate(struct message_queue *q);
/* Init failed: the queue never entered the run queue. */
void mq_deactivate(struct message_queue *q);
size_t mq_length(struct message_queue *q);
/* 1 while queued or running (messages wait, or a worker holds it). */
int mq_busy(struct message_queue *q);
void globalmq_init(mq_drop_fn drop);
/* Blocks until a queue is ready; NULL once globalmq_shutdown was called. */
struct message_queue *globalmq_pop(void);
void globalmq_shutdown(void);

#endif
