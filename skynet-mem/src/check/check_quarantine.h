#ifndef SKYNET_MEM_CHECK_QUARANTINE_H
#define SKYNET_MEM_CHECK_QUARANTINE_H

/* MEMORY_CHECK quarantine (check_quarantine.c): freed blocks wait, poisoned,
 * in a per-thread FIFO bounded in bytes, before going back to the backend. */

#include "check_block.h"

/* The per-thread bound in bytes (SKYNET_MEM_QUARANTINE, default, or the last call). */
HIDDEN size_t quarantine_bound(void);
/* Takes a verified, poisoned block into the calling thread's quarantine; may
 * release older ones to the backend. */
HIDDEN void quarantine_push(void *p, const struct check_meta *m);

#endif
