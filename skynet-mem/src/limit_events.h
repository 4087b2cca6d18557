#ifndef SKYNET_MEM_LIMIT_EVENTS_H
#define SKYNET_MEM_LIMIT_EVENTS_H

/* A service crossing its limit: counted in its record, queued for the host
 * (skynet_mem_limit_event), and admitted or refused by the host's mode
 * (limit_crossed). Runs inside allocations: no allocation, no logging. */

#include <stddef.h>

#include "internal.h"
#include "record.h"

/* An allocation taking r's C + Lua bytes (used, lua of them Lua) past its
 * limit: 1 admits it, 0 refuses. HARD refuses all; SOFT_C admits a C block,
 * and a Lua one unless lua + request passes the limit. Counts and queues
 * only when r was under its limit before. */
HIDDEN int limit_crossed(struct mem_record *r, size_t used, size_t lua, size_t limit, size_t request, int c);

/* Usage that re-arms a crossing: 7/8 of the limit. A service going back and
 * forth just over its limit (a buffer made and freed in a loop) is one
 * crossing until it falls well under it, not a log line each time. */
static inline size_t limit_rearm_below(size_t limit) {
	return limit - limit / 8;
}

/* An allocation leaving r at most limit_rearm_below its limit: the next one
 * past it is a new crossing. */
static inline void limit_under(struct mem_record *r) {
	if (__builtin_expect(atomic_load_explicit(&r->over, memory_order_relaxed), 0))
		atomic_store_explicit(&r->over, 0, memory_order_relaxed);
}

/* The ring's lock, for fork.c. */
HIDDEN struct lock_group limit_event_locks(void);

#endif
