#ifndef SKYNET_MEM_CHECK_REGISTRY_H
#define SKYNET_MEM_CHECK_REGISTRY_H

/* MEMORY_CHECK live lists (check_registry.c): every live block is linked in
 * the list of the thread that allocated it. Every change of a live block's
 * header (free, transfer) happens under its list's lock, after checking the
 * header is still the one identified: two threads racing on one block see
 * each other, and a block is never left linked once freed. */

#include "check_block.h"

/* block_identify, made sure: a header that reads as no block's is read again
 * under the lock of the list it names, as a transfer may be resealing it. */
HIDDEN int live_identify(const void *p, struct check_meta *m);
/* Links a new block into the calling thread's list; m->list is set. */
HIDDEN void live_insert(void *p, struct check_meta *m);
/* m: p identified live. Under the block's list lock, p still live: verified,
 * then (sound) unlinked and sealed freed by freer. Returns REG_LIVE with
 * *nf == 0 when this call freed it, with *nf > 0 and f the faults when it is
 * damaged (left live, untouched); otherwise the state now (REG_FREED: a
 * racing free won; REG_NONE), *m as found then. */
HIDDEN int live_free(void *p, uint32_t freer, struct check_meta *m, struct block_fault f[2], int *nf);
/* The same for a transfer: on success (REG_LIVE, *nf == 0) the block is owned
 * by owner and *m is as it was before (m->owner the previous owner). */
HIDDEN int live_transfer(void *p, uint32_t owner, struct check_meta *m, struct block_fault f[2], int *nf);
/* The list locks, for fork.c. */
HIDDEN struct lock_group live_locks(void);

/* A walk over live blocks: each one of the chosen lists (or all) and owner
 * (or any) is verified under its list's lock; what was found is copied out,
 * so the caller reports unlocked (a report may allocate). */
#define SCAN_DAMAGED 16
#define SCAN_SHOWN 16
#define SCAN_ALL_LISTS (-1)

struct live_damage {
	void *p;
	struct check_meta m;
	struct block_fault f[2];
	int nf;
};

struct live_scan {
	int list;                 /* SCAN_ALL_LISTS, or the calling thread's own */
	int by_owner;             /* 1: only blocks of owner */
	uint32_t owner;
	size_t blocks;            /* out: the blocks walked */
	size_t damaged;           /* out: of them, damaged (the first SCAN_DAMAGED copied) */
	struct live_damage bad[SCAN_DAMAGED];
	void *shown[SCAN_SHOWN];  /* out: the first blocks walked (leak lists) */
	struct check_meta shown_m[SCAN_SHOWN];
};

HIDDEN void live_scan(struct live_scan *s);
/* fn(list) runs when a thread that allocated exits (set once, by check_scan.c). */
HIDDEN void live_on_thread_exit(void (*fn)(int list));

#endif
