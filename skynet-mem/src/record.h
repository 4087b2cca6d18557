#ifndef SKYNET_MEM_RECORD_H
#define SKYNET_MEM_RECORD_H

/* The service table: one exact record per 32-bit service handle, kept in a
 * sharded hash table. Counters are written only when a thread publishes its
 * pending deltas (ledger.c); readers and the lifecycle go through record_stat
 * and the others below it, which walk or look up the table. */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "skynet_mem.h"

/* Two cache lines of its own (workers publishing to neighbouring records
 * share none); the first holds all that a publication or a transfer writes
 * or reads (the peak too) and what a slot reads when it leaves clean (limit,
 * retired), so among thousands of services a dispatch misses on one line,
 * not two. */
struct mem_record {
	atomic_int_fast64_t bytes, blocks, lua;
	atomic_uint_fast64_t allocs, frees;
	atomic_size_t limit;
	atomic_int retired;
	uint32_t handle;
	atomic_size_t peak;        /* read by publications that grow the service, and transfers */
	struct mem_record *next;   /* hash chain, under the shard lock */
	int refs;                  /* ledger slots caching this record, under the shard lock */
	atomic_size_t lua_warn;    /* next Lua heap size that logs a warning */
	atomic_int over;           /* past its limit since the last crossing (limit_events.c) */
	atomic_uint_fast64_t limit_hits;
	char name[SKYNET_MEM_NAME_MAX];   /* under the shard lock; read only by readers */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct mem_record, peak) + sizeof(atomic_size_t) <= 64,
	"what a publication and a transfer touch is in the first line");

/* Finds or creates the record and takes a reference; NULL when out of memory. */
HIDDEN struct mem_record *record_acquire(uint32_t handle);
/* Drops a reference; a retired record with nothing left is then freed. */
HIDDEN void record_release(struct mem_record *r);
/* Adds deltas to the record and the global totals. */
HIDDEN void record_add(struct mem_record *r, int64_t bytes, int64_t blocks, int64_t lua,
	uint64_t allocs, uint64_t frees);
/* Records in the table now, retired ones included. */
HIDDEN size_t record_count(void);
HIDDEN void record_fill(struct mem_record *r, struct skynet_mem_stat *out);

/* A new high-water mark when now (C + Lua bytes) passes the peak. */
static inline void record_peak(struct mem_record *r, int64_t now) {
	size_t peak = atomic_load_explicit(&r->peak, memory_order_relaxed);
	while (now > 0 && (size_t)now > peak &&
		!atomic_compare_exchange_weak(&r->peak, &peak, (size_t)now))
		;
}

/* One block of u bytes changes records (a transfer, by a thread whose ledger
 * holds both): two adds each, the totals untouched (the process holds the
 * same), the receiver's peak. Nothing is left pending to publish. */
static inline void record_move(struct mem_record *from, struct mem_record *to, int64_t u) {
	atomic_fetch_sub_explicit(&from->bytes, u, memory_order_relaxed);
	atomic_fetch_sub_explicit(&from->blocks, 1, memory_order_relaxed);
	int64_t c = atomic_fetch_add_explicit(&to->bytes, u, memory_order_relaxed) + u;
	atomic_fetch_add_explicit(&to->blocks, 1, memory_order_relaxed);
	record_peak(to, c + atomic_load_explicit(&to->lua, memory_order_relaxed));
}

/* Reads and lifecycle, for the API of skynet_mem.h (api.c). */
HIDDEN int record_stat(uint32_t handle, struct skynet_mem_stat *out);
HIDDEN size_t record_foreach(int (*fn)(const struct skynet_mem_stat *, void *), void *ud);
HIDDEN void record_totals(struct skynet_mem_totals *out);
HIDDEN void record_orphans(size_t *bytes, size_t *blocks);
HIDDEN int record_set_limit(uint32_t handle, size_t limit);
HIDDEN size_t record_get_limit(uint32_t handle);
HIDDEN void record_exit(uint32_t handle, struct skynet_mem_stat *leftover);
/* Copies name (already cut and cleaned) into the handle's record, made if
 * missing. 0, or -1 out of memory. */
HIDDEN int record_set_name(uint32_t handle, const char *name);
/* Counts record_exit calls: a thread's ledger lets go of exited services'
 * records when it sees the count move (ledger_flush). */
extern atomic_uint record_retirements HIDDEN;
/* The exits' handles by sequence number, so a ledger looks up the services
 * that exited rather than sweep its table: 1 and *handle when the exit
 * numbered seq (record_retirements before it) is still logged, 0 when it is
 * not yet written or overwritten (the last RECORD_RETIRED_LOG are kept). */
#define RECORD_RETIRED_LOG 1024
HIDDEN int record_retired_handle(unsigned seq, uint32_t *handle);
/* Moves on after every limit set (after the store): a slot that saw no
 * limit at an epoch need not read its record while the epoch stays. */
extern atomic_uint record_limit_epoch HIDDEN;
/* How many records with a limit hash to each bucket: a switch tells from one
 * counter, without the record, that a service has none (ledger_acc). */
#define RECORD_LIMITED_BUCKETS 65536
extern atomic_uint_least16_t record_limited[RECORD_LIMITED_BUCKETS] HIDDEN;

extern atomic_uint record_limited_total HIDDEN;   /* records with a limit */

/* By the low bits: skynet's handles are consecutive, so services that run
 * one after another share lines. */
static inline unsigned record_limited_bucket(uint32_t handle) {
	return handle % RECORD_LIMITED_BUCKETS;
}

/* 0 when the handle's record surely has no limit. */
static inline int record_may_have_limit(uint32_t handle) {
	return atomic_load_explicit(&record_limited_total, memory_order_acquire) != 0 &&
		atomic_load_explicit(&record_limited[record_limited_bucket(handle)], memory_order_acquire) != 0;
}
/* Set by skynet_mem_lua_warnings(0): no Lua heap warning (skynet's snlua logs its own). */
extern atomic_int record_lua_warnings_off HIDDEN;

/* The shard locks, for fork.c. */
HIDDEN struct lock_group record_locks(void);

#endif
