#ifndef SKYNET_HOST_CONTEXT_H
#define SKYNET_HOST_CONTEXT_H

/* Private to the host: the service context, the registry and the mailboxes. */

#include <stdatomic.h>

#include "host.h"

struct skynet_message {
	uint32_t source;
	int session;
	int type;
	void *data;     /* skynet_malloc'd by the sender, or NULL */
	size_t sz;
};

struct message_queue;

struct skynet_context {
	void *instance;
	const struct skynet_module *mod;
	void *cb_ud;
	skynet_cb cb;
	struct message_queue *queue;
	uint32_t handle;
	atomic_int ref;
	atomic_int session_id;
	atomic_llong messages;
	atomic_llong cpu_ns;   /* thread CPU time spent in the callback */
	char label[HOST_NAME_MAX_LEN];
};

/* context.c */
void context_grab(struct skynet_context *ctx);
void context_release(struct skynet_context *ctx);
/* Runs one message of q; called by the workers. */
void context_dispatch(struct message_queue *q);
/* Frees an undelivered message, answering an error to a waiting caller. */
void context_drop_message(struct skynet_message *m, uint32_t dest);
void context_release_all(void);

/* handle.c */
void handle_init(void);
void handle_exit(void);
uint32_t handle_reserve(void);
void handle_bind(uint32_t handle, struct skynet_context *ctx);
/* The live context with a reference taken, or NULL. */
struct skynet_context *handle_grab(uint32_t handle);
/* Removes the handle (and its names); drops the registry's reference. 0, or -1 unknown. */
int handle_retire(uint32_t handle);
/* Copies up to max live handles, in handle order; returns how many there are. */
size_t handle_list(uint32_t *out, size_t max);
int handle_label(uint32_t handle, char *buf, size_t len);
/* Sets ctx's label under the registry lock (readers copy it under that lock). */
void handle_set_label(struct skynet_context *ctx, const char *label);
uint32_t handle_findname(const char *name);

/* mq.c */
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
void globalmq_init(void);
/* Blocks until a queue is ready; NULL once globalmq_shutdown was called. */
struct message_queue *globalmq_pop(void);
void globalmq_shutdown(void);

/* timer.c */
int timer_start(void);
void timer_stop(void);

/* logger.c, snlua.c */
extern const struct skynet_module host_logger_module;
extern const struct skynet_module host_snlua_module;

#endif
