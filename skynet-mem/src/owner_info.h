#ifndef SKYNET_MEM_OWNER_INFO_H
#define SKYNET_MEM_OWNER_INFO_H

/* What a record says about its owner beyond the counters: its name (kept in
 * the record, record.c) and, from the host, what waits in its mailbox. */

#include "internal.h"
#include "skynet_mem.h"

/* Fills st->queued and st->queued_msgs from the host's queue reader (0 without one). */
HIDDEN void owner_queue_fill(struct skynet_mem_stat *st);
/* 1 when a queue reader is set. */
HIDDEN int owner_queue_reader_set(void);

#endif
