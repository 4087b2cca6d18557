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

/* The lock of the blocks kept after a write after free, for fork.c. */
HIDDEN struct lock_group quarantine_locks(void);

/* The lock of the quarantine's thread key, for fork.c. */
HIDDEN struct lock_group quarantine_key_locks(void);
/* A block given back to the backend (after its quarantine, or at once): its
 * address is remembered among the last ones. */
HIDDEN void quarantine_note_released(const void *p, const struct check_meta *m);
/* 1 and *m (n, owner, freer) when p is among the last addresses given back. */
HIDDEN int quarantine_was_released(const void *p, struct check_meta *m);
/* Verifies the calling thread's quarantine: each block written after its free
 * is reported once; release: the quarantine is emptied too. Returns the
 * damaged blocks found. */
HIDDEN size_t quarantine_check_mine(int release);

#endif
