#ifndef SKYNET_MEM_GUARD_H
#define SKYNET_MEM_GUARD_H

/* Guarded slots (release builds; docs/guard.md): 1 in `every` of a guarded
 * service's blocks is placed in a slot of a bounded pool, against an
 * inaccessible page, and its pages become inaccessible when it is freed.
 * What the release block files (block.c, block_header.c) and current.c see:
 *   - free: the pool lies below every other heap address, so one compare of
 *     the pointer against guard_top, in place of the NULL test, sends both
 *     NULL and guarded blocks to the cold path (guard_top is 0 while no pool
 *     exists: the compare is then the NULL test);
 *   - allocation: guard_active (any service guarded) is tested only on paths
 *     that are already slow (mem_alloc, malloc's charge of an uncached slot,
 *     a service switch); a guarded service's slot is never cached, so its
 *     mallocs reach those paths and are counted there.
 * The pool and its reports: guard_pool.c, guard_report.c; the policy (which
 * service, how often): guard.c. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "internal.h"

/* The pool's first and last byte; both 0 until the pool is made (then fixed). */
extern uintptr_t guard_lo HIDDEN, guard_top HIDDEN;
/* 1 once any service was guarded (the slow paths then ask guard.c). */
extern int guard_active HIDDEN;

/* 1 when p is a block of the pool. */
static inline int guard_has(const void *p) {
	return (uintptr_t)p - guard_lo <= guard_top - guard_lo && guard_top != 0;
}

/* --- guard.c: the policy --- */

/* A block of n bytes (align 0: malloc's), charge u, for the current service
 * handle: a guarded block when the service is guarded and this block is
 * sampled and a slot is free; else NULL (errno untouched): allocate normally. */
HIDDEN void *guard_alloc(uint32_t handle, size_t n, size_t align, int zero, size_t u);
/* malloc's slow charge made a normal block for handle: counts it when the
 * service is guarded (and keeps its slot uncached, so the next is counted). */
HIDDEN void guard_counted(uint32_t handle);
/* The calling thread switched to handle (skynet_mem_set_current). */
HIDDEN void guard_enter(uint32_t handle);

/* --- guard_pool.c: the slots --- */

/* free of p at or below guard_top: 1 when p is NULL or one of the pool's
 * blocks (freed, or reported and aborted: double or invalid free); 0 when
 * p is not in the pool (the caller frees it). Never inlined: free's fast
 * path keeps its registers. */
HIDDEN __attribute__((noinline, cold)) int guard_free(void *p);
/* The requested size of the pool's block p (its usable size). */
HIDDEN size_t guard_usable(const void *p);
HIDDEN uint32_t guard_owner(const void *p);
/* What the block is charged to its owner. */
HIDDEN size_t guard_charge(const void *p);
/* Moves the block to another owner's account (it stays guarded). */
HIDDEN int guard_transfer(void *p, uint32_t to);
/* The pool's lock, for fork.c (through block_locks). */
HIDDEN struct lock_group guard_locks(void);
/* guard.c's lock (the guarded services), likewise. */
HIDDEN struct lock_group guard_policy_locks(void);

/* realloc of the pool's block p: a new block of the calling service (guarded
 * again if sampled), the bytes copied, p freed. A block not live is freed
 * as it is, which reports it. */
static inline void *guard_realloc(void *p, size_t n) {
	if (guard_charge(p) == 0) {   /* not live */
		mem_free(p);
		return NULL;
	}
	size_t old = guard_usable(p);
	void *q = mem_alloc(n, 0, 0);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	mem_free(p);
	return q;
}

#endif
