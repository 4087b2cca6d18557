#ifndef SKYNET_MEM_RECORD_H
#define SKYNET_MEM_RECORD_H

/* One exact record per 32-bit service handle, kept in a sharded hash table.
 * Counters are written only when a thread publishes its pending deltas. */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "skynet_mem.h"

struct mem_record {
	struct mem_record *next;   /* hash chain, under the shard lock */
	uint32_t handle;
	int refs;                  /* ledger slots caching this record, under the shard lock */
	atomic_int retired;
	atomic_int_fast64_t bytes, blocks, lua;
	atomic_uint_fast64_t allocs, frees;
	atomic_size_t peak, limit;
	atomic_size_t lua_warn;    /* next Lua heap size that logs a warning */
};

/* Finds or creates the record and takes a reference; NULL when out of memory. */
struct mem_record *record_acquire(uint32_t handle);
/* Drops a reference; a retired record with nothing left is then freed. */
void record_release(struct mem_record *r);
/* Adds deltas to the record and the global totals. */
void record_add(struct mem_record *r, int64_t bytes, int64_t blocks, int64_t lua,
	uint64_t allocs, uint64_t frees);
void record_fill(struct mem_record *r, struct skynet_mem_stat *out);

#endif
