#ifndef SKYNET_MEM_GUARD_H
#define SKYNET_MEM_GUARD_H

/* Guarded slots (release builds; docs/guard.md): 1 in `every` of a guarded
 * service's blocks is placed in a slot of a bounded pool, against an
 * inaccessible page, and its pages become inaccessible when it is freed.
 * What the release block files (block.c, block_header.c) see:
 *   - free: the pool lies below every other heap address, so one compare of
 *     the pointer against guard_top, in place of the NULL test, sends both
 *     NULL and guarded blocks to the cold path (guard_top is 0 while no pool
 *     exists: the compare is then the NULL test);
 *   - allocation: guard_active (any service guarded) is tested only on paths
 *     that are slow already (mem_alloc, malloc's slow charge); guard.c also
 *     hooks the service switch (current_switch_hook), where a guarded
 *     service's blocks are counted.
 * The pool: guard_pool.c; its reports: guard_report.c; the policy (which
 * service, how often) and the public API: guard.c. */

#include <stddef.h>
#include <stdint.h>

#include "guard_pool.h"
#include "internal.h"

/* 1 once any service was guarded (the slow paths then ask guard.c). */
extern int guard_active HIDDEN;

/* A block of n bytes (align 0: malloc's), charge u, for the current service
 * handle: a guarded block when the service is guarded and this block is
 * sampled and a slot is free; else NULL (errno untouched): allocate normally. */
HIDDEN void *guard_alloc(uint32_t handle, size_t n, size_t align, int zero, size_t u);
/* malloc's slow charge made a normal block for handle: counts it when the
 * service is guarded. */
HIDDEN void guard_counted(uint32_t handle);
/* mem_malloc's short path bound (the block file's variable and its value):
 * guard.c drops it to 0 while a thread's next block is due. */
HIDDEN void guard_short_path(size_t *max, size_t bound);
/* guard.c's lock (the guarded services), for fork.c (through block_locks). */
HIDDEN struct lock_group guard_policy_locks(void);

#endif
