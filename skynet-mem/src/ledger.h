#ifndef SKYNET_MEM_LEDGER_H
#define SKYNET_MEM_LEDGER_H

/* Thread-local pending counter deltas, one slot per service the thread has
 * touched. The hot path only touches its own thread's slots (no lock-prefixed
 * write). Slots live in a per-thread hash table (linear probing, one compare
 * when a service sits in its home slot) that grows with the services the
 * process holds (up to LEDGER_MAX_SLOTS), so a worker running 100,000
 * services keeps a slot, and the record reference it holds, for each: a
 * service switch takes no lock and evicts nothing. Past 5/8 of a table that
 * may not grow a new service evicts one first (published and released): one
 * in its probe window, else the eviction clock's next.
 * The running service's changes start in ledger_acc (below), so a switch
 * waits for no slot. Pending deltas are published to the shared records: a
 * switch of the current service (skynet_mem_set_current, or the host's own
 * current handle changing) publishes the service it leaves (when it grew;
 * else at the next switch, its record fetched meanwhile);
 * skynet_mem_set_current(0), thread exit and
 * a read on this thread publish everything; and a slot is published when its
 * pending bytes pass SLOT_BATCH (C or Lua), or when more than DIRTY_MAX slots
 * hold changes. So a thread never holds more than LEDGER_BATCH bytes
 * unpublished, however many services it touches, and a service's changes made
 * by other services' dispatches (a transfer to it, a free of its block) wait
 * for the bound or for its own dispatch, where they publish as one. No step
 * walks the table: publication walks a short list of the slots changed. */

#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "record.h"

#define LEDGER_FIRST_SLOTS 64
/* A table grows to LEDGER_BASE_SLOTS (2 MiB); past it, twice as large while
 * the process holds more records than 5/8 of it, up to LEDGER_MAX_SLOTS (16
 * MiB, 163,840 services) or SKYNET_MEM_LEDGER_SLOTS: a worker that runs
 * 100,000 live services round-robin keeps a slot for each and re-claims
 * none. A table at its size keeps 5/8 of it live (20,480 at the base): past
 * that a new service evicts one. Below the 3/4 of claimed and gone slots
 * that asks for a rehash, so a full table is rehashed (to drop gone slots)
 * once per thousands of new services. */
#define LEDGER_BASE_SLOTS 32768
#define LEDGER_MAX_SLOTS 262144
#define LEDGER_LIVE(n) ((n) / 8 * 5)
/* A service's slot lies within LEDGER_PROBE slots of its home: every probe
 * ends there, whatever the table holds (a claim with no room in that window
 * evicts the service at home). */
#define LEDGER_PROBE 8
#define SLOT_BATCH ((int64_t)64 * 1024)
#define DIRTY_MAX 8
/* Per slot: C bytes within SLOT_BATCH, and C + Lua bytes within it after
 * each Lua change, so at most 2 * SLOT_BATCH pending. */
#define LEDGER_BATCH (DIRTY_MAX * 2 * SLOT_BATCH)  /* 1 MiB */
#define LEDGER_LISTED 32   /* dirty-list entries (published slots stay listed until a flush) */

/* A clean slot (nothing pending, not listed as dirty) holds SLOT_CLEAN in
 * bytes: its first change then fails the batch test that every change makes
 * anyway, so that one test covers "first change since published", "past the
 * batch" and "thread exiting" (a direct slot is published back to clean). */
#define SLOT_CLEAN ((int64_t)1 << 62)
/* bytes holds the pending C bytes plus SLOT_BATCH, so the two-sided batch
 * test is one unsigned compare, with no add. */
#define SLOT_BIAS SLOT_BATCH

/* One cache line. */
struct ledger_slot {
	uint64_t key;              /* slot_key(handle) while claimed; 0 never used; SLOT_GONE emptied */
	struct mem_record *rec;    /* the claimed service's record (a reference) */
	int64_t bytes;             /* pending C bytes + SLOT_BIAS (+ SLOT_CLEAN when clean) */
	int64_t blocks, lua;
	uint64_t allocs, frees;
	uint8_t direct;            /* no ledger (thread exiting): publish after each use */
	/* The service had a limit when the slot was claimed or last published:
	 * the fast paths then take the checked ones, and never read the record.
	 * (A limit set meanwhile applies from the slot's next publication.) */
	uint8_t limited;
	uint8_t seen;              /* switched to since the eviction clock last passed */
	/* record_limit_epoch when the record's limit was last seen 0: while no
	 * limit was set since, an admission need not read the record (among
	 * thousands of services, a miss per dispatch). */
	uint32_t epoch;
};

_Static_assert(sizeof(struct ledger_slot) == 64, "a slot is one cache line");

#define SLOT_GONE ((uint64_t)1)   /* never a slot_key: probes go on past it */

static inline int slot_clean(const struct ledger_slot *s) {
	return s->bytes > SLOT_CLEAN / 2;
}

/* Pending C bytes, clean or not. */
static inline int64_t slot_bytes(const struct ledger_slot *s) {
	return (slot_clean(s) ? s->bytes - SLOT_CLEAN : s->bytes) - SLOT_BIAS;
}

struct ledger {
	/* Homes 0 .. n-1 for n = 1 << (32 - shift), and one slot more, so the
	 * slot after any home exists: probes run 0 .. n, then wrap to 0. */
	struct ledger_slot *slot;
	unsigned shift;
	unsigned used;             /* slots ever claimed since the last rehash (gone ones too) */
	unsigned live;             /* slots holding a service now */
	unsigned pending;          /* slots not clean (at most DIRTY_MAX) */
	unsigned nlisted;
	unsigned listed[LEDGER_LISTED];  /* indexes of slots that left clean (clean ones are skipped) */
	unsigned retired_seen;     /* record_retirements when slots were last swept */
	unsigned hand;             /* a full table's eviction clock: the slot last evicted */
	/* The slot left at the last switch, published at the next one. */
	unsigned deferred;
	uint64_t deferred_key;     /* its key then; 0 none */
};

extern __thread struct ledger *ledger_tls TLS_IE HIDDEN;
/* The slot of the service set by skynet_mem_set_current, when it has one and
 * no limit: set at a switch to it, or by malloc's slow path (block.c), so
 * malloc charges it unchecked and other lookups try it first. LEDGER_NONE
 * (never NULL) with a host's own current handle, after a flush or rehash, when the slot is let go
 * and when its service gets a limit. */
extern __thread struct ledger_slot *ledger_current TLS_IE HIDDEN;
/* What ledger_current points at when it caches nothing, so the fast paths
 * test no pointer: its key matches no handle and its bytes fail every batch
 * test, which sends malloc to its slow path. Read only. */
extern const struct ledger_slot ledger_none HIDDEN;
#define LEDGER_NONE ((struct ledger_slot *)&ledger_none)
/* The running service's changes while its slot is not at hand yet: a switch
 * does not wait for the next service's slot (among 100,000 services a miss
 * on every dispatch) but points ledger_current here, with key set and
 * nothing pending, and fetches the slot meanwhile. Its changes spill into
 * the slot when the service is left, when a path needs its record (rec is
 * NULL until a transfer out finds the slot and takes the slot's record, which
 * the slot keeps: ledger_lookup returns it only then) or past the batch; at a
 * flush they go to the record. Only for a service with no limit
 * (record_may_have_limit), set by skynet_mem_set_current, with no guard
 * watching switches. */
extern __thread struct ledger_slot ledger_acc TLS_IE HIDDEN;

HIDDEN struct ledger_slot *ledger_lookup_slow(uint32_t handle);
HIDDEN void ledger_publish(struct ledger_slot *s);
/* s passed its bound, or was clean: changed for the first time since it was
 * published, or it belongs to an exiting thread (such a slot is always clean:
 * every change comes here and is published at once). */
HIDDEN void ledger_done_slow(struct ledger_slot *s);
HIDDEN int ledger_admit_slow(struct ledger_slot *s, size_t more, size_t limit, int c);
/* Publishes every pending slot of the calling thread, and lets go of the
 * records of services that exited since the last time. */
HIDDEN void ledger_flush(void);
/* The lock of the ledger's thread key, for fork.c. */
HIDDEN struct lock_group ledger_locks(void);
/* How many threads hold a ledger now (the caller's included, if it has one). */
HIDDEN int ledger_threads(void);
/* A limit was set: the calling thread's slot for handle (if any) applies it
 * at once; other threads' slots from their next publication. */
HIDDEN void ledger_limit_set(uint32_t handle, size_t limit);
/* The calling thread leaves service `from` for `to` (not 0): from's changes
 * go to its slot, which is published at the next switch (its record fetched
 * meanwhile); the slot left before is published now. With here, to is the
 * thread's current service by skynet_mem_set_current and its changes may
 * start in ledger_acc. */
HIDDEN void ledger_switch(uint32_t from, uint32_t to, int here);
/* handle's changes no longer take malloc's fast path on this thread (the
 * guard watches its every block). */
HIDDEN void ledger_uncache(uint32_t handle);
/* ledger_transfer through the slots (one of them not at hand). */
HIDDEN void ledger_transfer_slow(uint32_t from, uint32_t to, size_t u);
/* ledger_transfer out of ledger_acc before it took its record. */
HIDDEN void ledger_transfer_acc(struct ledger_slot *t, size_t u);

/* One compare tells both "claimed" and "this handle". */
static inline uint64_t slot_key(uint32_t handle) {
	return (uint64_t)handle | ((uint64_t)1 << 32);
}

/* The home slot: Fibonacci hashing, the product's top bits. */
static inline unsigned ledger_index(const struct ledger *l, uint32_t handle) {
	return (handle * 2654435761u) >> l->shift;
}

/* The calling thread's slot for handle when it sits in its home slot or the
 * next (two services sharing a home both do), else NULL; never calls out, so
 * a fast path using it keeps no registers across a call. */
static inline struct ledger_slot *ledger_peek(uint32_t handle) {
	uint64_t key = slot_key(handle);
	struct ledger_slot *s = ledger_current;   /* never NULL: LEDGER_NONE */
	if (__builtin_expect(s->key == key, 1))
		return s;   /* the current service's own, the common case */
	struct ledger *l = ledger_tls;
	if (__builtin_expect(l != NULL, 1)) {
		s = &l->slot[ledger_index(l, handle)];
		if (__builtin_expect(s->key == key, 1))
			return s;
		if (s[1].key == key)
			return s + 1;
	}
	return NULL;
}

/* The calling thread's slot for handle, its record at hand (never
 * ledger_acc: its changes spill into the slot first); NULL only when out of
 * memory. The pointer stays valid until the next lookup of another handle. */
static inline struct ledger_slot *ledger_lookup(uint32_t handle) {
	struct ledger_slot *s = ledger_peek(handle);
	return __builtin_expect(s != NULL && s->rec != NULL, 1) ? s : ledger_lookup_slow(handle);
}

/* The same for a change of counters only (no limit, no record): may be
 * ledger_acc. */
static inline struct ledger_slot *ledger_counters(uint32_t handle) {
	struct ledger_slot *s = ledger_peek(handle);
	return __builtin_expect(s != NULL, 1) ? s : ledger_lookup_slow(handle);
}

/* 1 when the service may grow its Lua heap by more bytes under its limit
 * (refused past it, a crossing recorded: limit_events.h). */
/* The record's limit, or 0 without reading the record when the slot saw
 * none and no limit was set anywhere since. */
static inline size_t slot_limit(struct ledger_slot *s) {
	uint32_t e = atomic_load_explicit(&record_limit_epoch, memory_order_acquire);
	if (__builtin_expect(!s->limited && s->epoch == e, 1))
		return 0;
	size_t limit = atomic_load_explicit(&s->rec->limit, memory_order_acquire);
	if (limit == 0)
		s->epoch = e;   /* read before the limit: a set since moved it on */
	return limit;
}

static inline int ledger_admit(struct ledger_slot *s, size_t more) {
	size_t limit = slot_limit(s);
	if (__builtin_expect(limit == 0, 1))
		return 1;
	return ledger_admit_slow(s, more, limit, 0);
}

/* The same for a C block: past the limit it is refused, or admitted and the
 * crossing recorded when the host chose soft C limits (skynet's C code
 * assumes malloc never fails). */
static inline int ledger_admit_c(struct ledger_slot *s, size_t more) {
	size_t limit = slot_limit(s);
	if (__builtin_expect(limit == 0, 1))
		return 1;
	return ledger_admit_slow(s, more, limit, 1);
}

/* 1 when the slot's pending C bytes, after `more`, lie outside +-SLOT_BATCH,
 * or the slot is clean. */
static inline int slot_past_batch(const struct ledger_slot *s, int64_t more) {
	return (uint64_t)(s->bytes + more) > (uint64_t)(2 * SLOT_BATCH);
}

/* The same for a Lua change: C and Lua bytes together. */
static inline int slot_past_batch_lua(const struct ledger_slot *s) {
	return (uint64_t)(s->bytes + s->lua) > (uint64_t)(2 * SLOT_BATCH);
}

/* Call after changing a slot's C counters: lists it on its first change,
 * publishes past the bounds. */
static inline void ledger_done(struct ledger_slot *s) {
	if (__builtin_expect(slot_past_batch(s, 0), 0))
		ledger_done_slow(s);
}

/* Call after changing a slot's Lua counters. */
static inline void ledger_done_lua(struct ledger_slot *s) {
	if (__builtin_expect(slot_past_batch_lua(s), 0))
		ledger_done_slow(s);
}

/* A slot looked up for a change that did not happen (a refused or failed
 * allocation; s may be NULL). A direct slot keeps no record between changes,
 * so it gives this one back now: its thread may never run the layer again. */
static inline void ledger_unused(struct ledger_slot *s) {
	if (s && __builtin_expect(s->direct, 0))
		ledger_publish(s);
}

/* Adds one change of C memory to slot s. */
static inline void slot_charge(struct ledger_slot *s, int64_t bytes, int64_t blocks, int allocs, int frees) {
	s->bytes += bytes;
	s->blocks += blocks;
	s->allocs += allocs;
	s->frees += frees;
	ledger_done(s);
}

/* The same, to a service's pending slot. */
static inline void ledger_charge(uint32_t handle, int64_t bytes, int64_t blocks, int allocs, int frees) {
	struct ledger_slot *s = ledger_counters(handle);
	if (s == NULL)
		return;   /* no memory for a record: nothing sane left to charge */
	slot_charge(s, bytes, blocks, allocs, frees);
}

/* One block of u bytes changes services (a transfer). When this thread's
 * ledger holds both slots at hand (their references keep the records), the
 * records take it at once: neither slot leaves clean, so the receiver costs
 * no listing and no publication at the next flush (a message to another
 * service, every dispatch). Else through the slots. */
static inline void ledger_transfer(uint32_t from, uint32_t to, size_t u) {
	struct ledger_slot *f = ledger_peek(from);
	struct ledger_slot *t = f ? ledger_peek(to) : NULL;
	if (__builtin_expect(t != NULL && f->rec != NULL && t->rec != NULL, 1))
		record_move(f->rec, t->rec, (int64_t)u);
	else if (t != NULL && f == &ledger_acc && t->rec != NULL)
		ledger_transfer_acc(t, u);
	else
		ledger_transfer_slow(from, to, u);
}

#endif
