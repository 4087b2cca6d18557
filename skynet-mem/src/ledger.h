#ifndef SKYNET_MEM_LEDGER_H
#define SKYNET_MEM_LEDGER_H

/* Thread-local pending counter deltas, one slot per recently used service.
 * The hot path only touches its own thread's slots (no lock-prefixed write);
 * slots are published to the shared records at skynet_mem_set_current, at
 * thread exit, when a reader on this thread asks, when one slot's pending
 * bytes pass SLOT_BATCH, and when more than DIRTY_MAX slots hold changes: so a
 * thread never holds more than LEDGER_BATCH = DIRTY_MAX * SLOT_BATCH bytes
 * unpublished, however many services it touches. */

#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "record.h"

#define LEDGER_SLOTS 64
#define SLOT_BATCH ((int64_t)8 * 1024)
#define DIRTY_MAX 8
#define LEDGER_BATCH (DIRTY_MAX * SLOT_BATCH)

struct ledger_slot {
	uint64_t key;              /* slot_key(handle) while claimed, 0 when empty */
	struct mem_record *rec;    /* NULL: slot empty */
	uint32_t handle;
	int direct;                /* thread is exiting: publish after each use */
	int64_t bytes, blocks, lua;
	int dirty;                 /* changed since published: counted in ledger_dirty */
	uint64_t allocs, frees;
};

struct ledger {
	struct ledger_slot slot[LEDGER_SLOTS];
};

extern __thread struct ledger *ledger_tls TLS_IE HIDDEN;
/* How many of the thread's slots hold unpublished changes. */
extern __thread int ledger_dirty TLS_IE HIDDEN;

HIDDEN struct ledger_slot *ledger_lookup_slow(uint32_t handle);
HIDDEN void ledger_publish(struct ledger_slot *s);
/* s passed its bound, changed for the first time since it was published, or
 * belongs to an exiting thread (such a slot is never dirty: every change
 * comes here and is published at once). */
HIDDEN void ledger_done_slow(struct ledger_slot *s);
HIDDEN int ledger_admit_slow(struct ledger_slot *s, size_t more, size_t limit);
/* Publishes every pending slot of the calling thread. */
HIDDEN void ledger_flush(void);

/* One compare tells both "claimed" and "this handle". */
static inline uint64_t slot_key(uint32_t handle) {
	return (uint64_t)handle | ((uint64_t)1 << 32);
}

static inline unsigned ledger_index(uint32_t handle) {
	return (handle * 2654435761u) >> 26;   /* 64 slots */
}

/* The calling thread's slot for handle; NULL only when out of memory. */
static inline struct ledger_slot *ledger_lookup(uint32_t handle) {
	struct ledger *l = ledger_tls;
	if (__builtin_expect(l != NULL, 1)) {
		struct ledger_slot *s = &l->slot[ledger_index(handle)];
		if (__builtin_expect(s->key == slot_key(handle), 1))
			return s;
	}
	return ledger_lookup_slow(handle);
}

/* 1 when the service may grow by more bytes (C or Lua) under its limit. */
static inline int ledger_admit(struct ledger_slot *s, size_t more) {
	size_t limit = atomic_load_explicit(&s->rec->limit, memory_order_relaxed);
	if (__builtin_expect(limit == 0, 1))
		return 1;
	return ledger_admit_slow(s, more, limit);
}

/* 1 when the slot's pending bytes, after `more`, lie outside +-SLOT_BATCH. */
static inline int slot_past_batch(const struct ledger_slot *s, int64_t more) {
	return (uint64_t)(s->bytes + s->lua + more + SLOT_BATCH) > (uint64_t)(2 * SLOT_BATCH);
}

/* Call after changing a slot: publishes past the bounds. One test of dirty
 * covers a first change and an exiting thread's slot. */
static inline void ledger_done(struct ledger_slot *s) {
	if (__builtin_expect(slot_past_batch(s, 0) || !s->dirty, 0))
		ledger_done_slow(s);
}

/* Adds one change of C memory to a service's pending slot. */
static inline void ledger_charge(uint32_t handle, int64_t bytes, int64_t blocks, int allocs, int frees) {
	struct ledger_slot *s = ledger_lookup(handle);
	if (s == NULL)
		return;   /* no memory for a record: nothing sane left to charge */
	s->bytes += bytes;
	s->blocks += blocks;
	s->allocs += allocs;
	s->frees += frees;
	ledger_done(s);
}

#endif
