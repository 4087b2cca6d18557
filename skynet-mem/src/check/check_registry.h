#ifndef SKYNET_MEM_CHECK_REGISTRY_H
#define SKYNET_MEM_CHECK_REGISTRY_H

/* MEMORY_CHECK live lists (check_registry.c): every live block is linked in
 * the list of the thread that allocated it. */

#include "check_block.h"

/* Links a new block into the calling thread's list; m->list is set. */
HIDDEN void live_insert(void *p, struct check_meta *m);
/* m: p identified live. Under the block's list lock: LIVE -> FREED (freer
 * recorded, unlinked, header resealed). Returns REG_LIVE when this call freed
 * it; otherwise the state now (a racing free won), *m as it is now. */
HIDDEN int live_mark_freed(void *p, uint32_t freer, struct check_meta *m);
/* New owner of a live block; returns the state found, *m as it was. */
HIDDEN int live_set_owner(void *p, uint32_t owner, struct check_meta *m);
/* Every list lock, in order (fork); and back. */
HIDDEN void live_lock_all(void);
HIDDEN void live_unlock_all(void);
/* Copies up to max live blocks of owner into p/m; returns how many there are. */
HIDDEN size_t live_owned(uint32_t owner, void **p, struct check_meta *m, size_t max);

#endif
