#ifndef SKYNET_HOST_SKYNET_CONTEXT_H
#define SKYNET_HOST_SKYNET_CONTEXT_H

/* A service's context: made and ended by context.c, found by handle (with a
 * reference taken) by the registry, handle.c. */

#include <stdatomic.h>

#include "kernel.h"

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

/* A reference more; context_release (context.c) drops one. */
static inline void context_grab(struct skynet_context *ctx) {
	atomic_fetch_add(&ctx->ref, 1);
}

#endif
