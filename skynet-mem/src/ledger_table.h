#ifndef SKYNET_MEM_LEDGER_TABLE_H
#define SKYNET_MEM_LEDGER_TABLE_H

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

HIDDEN void ledger_publish(struct ledger_slot *s);
HIDDEN int ledger_admit_slow(struct ledger_slot *s, size_t more, size_t limit, int c);
/* The lock of the ledger's thread key, for fork.c. */
HIDDEN struct lock_group ledger_locks(void);
/* How many threads hold a ledger now (the caller's included, if it has one). */
HIDDEN int ledger_threads(void);

/* One compare tells both "claimed" and "this handle". */
static inline uint64_t slot_key(uint32_t handle) {
	return (uint64_t)handle | ((uint64_t)1 << 32);
}

/* The home slot: Fibonacci hashing, the product's top bits. */
static inline unsigned ledger_index(const struct ledger *l, uint32_t handle) {
	return (handle * 2654435761u) >> l->shift;
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

/* ledger_acc holds the running service's changes now. */
static inline int acc_active(void) {
	return ledger_current == &ledger_acc;
}

/* ledger_acc holds the changes of the service whose slot key is key. */
static inline int acc_holds(uint64_t key) {
	return acc_active() && ledger_acc.key == key;
}

/* For ledger.c: ledger_acc's ways out and the switch. */
/* ledger_acc holds some change. */
HIDDEN int acc_changed(void);
/* Adds ledger_acc's changes to s (its service's slot), which may stay
 * clean-marked: the caller un-marks it. 0 when there were none. */
HIDDEN int acc_add(struct ledger_slot *s);
/* The slot claimed for handle, without claiming one. */
HIDDEN struct ledger_slot *ledger_find(struct ledger *l, uint32_t handle);
/* handle's slot in the table, claimed if missing (ledger_acc aside). */
HIDDEN struct ledger_slot *ledger_lookup_table(uint32_t handle);
/* ledger_done_slow for a slot of the table. */
HIDDEN void slot_done_slow(struct ledger_slot *s);
/* Publishes every listed slot and sweeps exits; ledger_acc stays as it is. */
HIDDEN void ledger_flush_slots(void);
/* Publishes s; a late change of an exited service's record lets it go. */
HIDDEN void slot_publish(struct ledger *l, struct ledger_slot *s);
/* Lets go of the slots of services that exited since the thread last looked. */
HIDDEN void sweep_if_retired(struct ledger *l);

#endif
