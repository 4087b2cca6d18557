#ifndef SKYNET_MEM_GUARD_POOL_H
#define SKYNET_MEM_GUARD_POOL_H

/* The guarded slots' pool, as guard.c and guard_report.c see it.
 *
 * One mapping of slots, each [guard page][GUARD_MAX bytes of data pages],
 * and a last guard page: a block placed at the end of its slot's data
 * (the default) ends before the next slot's guard page; one placed at the
 * start (SKYNET_MEM_GUARD_UNDERFLOW) follows its own slot's guard page. Only
 * the pages a live block covers are accessible; the bytes of those pages
 * around the block are filled with GUARD_FILL and checked when it is freed. */

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "skynet_mem.h"

#define GUARD_MAX ((size_t)16 * 1024)   /* the largest block guarded */
#define GUARD_FRAMES 10                  /* stack frames kept per allocation and free */
#define GUARD_FILL 0xa5

enum guard_state { SLOT_UNUSED, SLOT_LIVE, SLOT_FREED };

struct guard_slot {
	uintptr_t p;          /* the caller's pointer while live or freed */
	size_t n;             /* requested bytes */
	size_t charge;        /* charged to the owner */
	uint32_t owner;       /* the owner now (transfer changes it) */
	uint32_t freer;       /* the service current when it was freed */
	int state;            /* enum guard_state */
	int nalloc, nfree;    /* frames kept */
	uintptr_t alloc_pc[GUARD_FRAMES], free_pc[GUARD_FRAMES];
	char name[SKYNET_MEM_NAME_MAX];   /* the owner's, when it was named the owner */
};

struct guard_pool {
	uintptr_t base;       /* the first guard page */
	size_t page, stride;  /* stride: a slot's guard page and data pages */
	size_t slots;
	struct guard_slot *slot;
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
/* Counts of guard_pool_alloc's outcomes, and the slots now. */
HIDDEN void guard_pool_counts(size_t *live, size_t *freed, uint64_t *guarded, uint64_t *missed);
/* Live blocks of owner. */
HIDDEN size_t guard_pool_owned(uint32_t owner);

/* --- guard_report.c --- */

enum guard_kind {
	GUARD_OVERFLOW, GUARD_UNDERFLOW, GUARD_USE_AFTER_FREE_READ, GUARD_USE_AFTER_FREE_WRITE,
	GUARD_USE_AFTER_FREE, GUARD_DOUBLE_FREE, GUARD_INVALID_FREE, GUARD_WILD,
};

/* The calling thread's stack, without the layer's own frames; skip: frames
 * of the caller to leave out. */
HIDDEN int guard_stack(uintptr_t *pcs, int max, int skip);
/* Reports a fault or a bad free of slot s (NULL: none) at address a, one
 * write(2) per line; async-signal-safe. */
HIDDEN void guard_report(enum guard_kind kind, const struct guard_slot *s, uintptr_t a,
	const char *how);
/* Installs the SIGSEGV/SIGBUS handler (once). */
HIDDEN void guard_signals(void);

#endif
