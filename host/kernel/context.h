#ifndef SKYNET_HOST_CONTEXT_H
#define SKYNET_HOST_CONTEXT_H

/* context.c's functions for the rest of the kernel. */

#include "mq.h"
#include "skynet_context.h"

/* Drops a reference; the last one ends the service (its exit report). */
void context_release(struct skynet_context *ctx);
/* Runs one message of q; called by the workers. */
void context_dispatch(struct message_queue *q);
/* Frees an undelivered message, answering an error to a waiting caller
 * (the mailboxes' drop function, given to globalmq_init). */
void context_drop_message(struct skynet_message *m, uint32_t dest);
void context_release_all(void);

#endif
