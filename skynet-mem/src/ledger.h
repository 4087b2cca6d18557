#ifndef SKYNET_MEM_LEDGER_H
#define SKYNET_MEM_LEDGER_H

/* The ledger's entry points and fast paths (the slots, their table and
 * publication: ledger_table.h). ledger.c: ledger_acc's ways out and the
 * switch; ledger_table.c: the table. */

#include "ledger_table.h"

HIDDEN struct ledger_slot *ledger_lookup_slow(uint32_t handle);
/* s passed its bound, or was clean: changed for the first time since it was
 * published, or it belongs to an exiting thread (such a slot is always clean:
 * every change comes here and is published at once). */
HIDDEN void ledger_done_slow(struct ledger_slot *s);
/* Publishes every pending slot of the calling thread, and lets go of the
 * records of services that exited since the last time. */
HIDDEN void ledger_flush(void);
/* handle's changes waiting in ledger_acc on this thread go to its slot
 * (and so it has a record): before a limit is set on it. */
HIDDEN void ledger_settle(uint32_t handle);
/* A limit was set (after ledger_settle): the calling thread's slot for
 * handle (if any) applies it at once; other threads' slots from their next
 * publication. */
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
