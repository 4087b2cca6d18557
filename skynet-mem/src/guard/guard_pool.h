#ifndef SKYNET_MEM_GUARD_POOL_H
#define SKYNET_MEM_GUARD_POOL_H

/* The guarded slots' pool, as guard.c and guard_report.c see it.
 *
 * One mapping of slots, each [guard page][GUARD_MAX bytes of data pages],
 * and a last guard page. Only the pages a live block covers are accessible,
 * so a block that ends at a page edge (the default) or starts at one
 * (SKYNET_MEM_GUARD_UNDERFLOW) has an inaccessible page past that edge,
 * whichever of its slot's pages it takes: a slot's successive blocks take
 * turns over the places they fit, so a stale pointer into a reused slot is
 * not the new block's. The bytes of a live block's pages around it are
 * filled with GUARD_FILL and checked when it is freed. */

#include <stddef.h>
#include <stdint.h>

#include "guard_report.h"
#include "guard_slot.h"
#include "internal.h"

struct guard_pool {
	uintptr_t base;       /* the first guard page */
	size_t page, stride;  /* stride: a slot's guard page and data pages */
	size_t slots;
	struct guard_slot *slot;
	struct guard_slot *prev;   /* each slot's block before its live one (a stale pointer's) */
	int underflow;        /* blocks start at their data (else: end at it) */
};

/* Read by the signal handler; fixed once guard_lo is set. */
extern struct guard_pool guard_pool HIDDEN;

/* The slot whose guard page or data holds address a (in the pool), and
 * whether a lies in its guard page. */
static inline size_t guard_slot_of(uintptr_t a, int *in_guard) {
	size_t off = a - guard_pool.base;
	size_t i = off / guard_pool.stride;
	*in_guard = off % guard_pool.stride < guard_pool.page;
	return i;
}

static inline uintptr_t guard_data(size_t i) {
	return guard_pool.base + i * guard_pool.stride + guard_pool.page;
}

/* Makes the pool (once): 0, or -1 when it cannot be mapped. */
HIDDEN int guard_pool_make(size_t slots, int underflow);
/* A guarded block; NULL when no slot is free (counted) or n does not fit. */
HIDDEN void *guard_pool_alloc(size_t n, size_t align, uint32_t owner, size_t charge,
	const uintptr_t *pcs, int npcs);
/* 1 when a slot is free now (a hint: guard_pool_alloc may still find none);
 * 0 counts the block as missed. */
HIDDEN int guard_pool_room(void);
/* Counts of guard_pool_alloc's outcomes, and the slots now. */
HIDDEN void guard_pool_counts(size_t *live, size_t *freed, uint64_t *guarded, uint64_t *missed);
/* Live blocks of owner. */
HIDDEN size_t guard_pool_owned(uint32_t owner);

/* --- what the block files use (through guard.h) --- */

/* The pool's first and last byte; both 0 until the pool is made (then fixed). */
extern uintptr_t guard_lo HIDDEN, guard_top HIDDEN;

/* 1 when p is a block of the pool. */
static inline int guard_has(const void *p) {
	return (uintptr_t)p - guard_lo <= guard_top - guard_lo && guard_top != 0;
}

/* free of p at or below guard_top: 1 when p is NULL or one of the pool's
 * blocks (freed, or reported and aborted: double or invalid free); 0 when
 * p is not in the pool (the caller frees it). Never inlined: free's fast
 * path keeps its registers. */
HIDDEN __attribute__((noinline, cold)) int guard_free(void *p);
/* The requested size of the pool's live block p (its usable size); 0 for
 * what is not a live block, as the queries below. */
HIDDEN size_t guard_usable(const void *p);
HIDDEN uint32_t guard_owner(const void *p);
/* What the block is charged to its owner. */
HIDDEN size_t guard_charge(const void *p);
/* Moves the block to another owner's account (it stays guarded). */
HIDDEN int guard_transfer(void *p, uint32_t to);
/* The pool's lock, for fork.c (through block_locks). */
HIDDEN struct lock_group guard_locks(void);
/* Installs the SIGSEGV/SIGBUS handler, or again when another replaced it. */
HIDDEN void guard_signals(void);

#endif
