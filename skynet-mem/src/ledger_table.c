/* The ledger's table of slots (see ledger_table.h): lookups, claims,
 * eviction, publication, exits; ledger.c sees to ledger_acc first. */

#include <string.h>
#include <sys/mman.h>

#include "backend.h"
#include "ledger_table.h"
#include "limit_events.h"
#include "options.h"
#include "thread_key.h"

__thread struct ledger *ledger_tls TLS_IE;
const struct ledger_slot ledger_none = { .bytes = SLOT_CLEAN + SLOT_BIAS };
__thread struct ledger_slot *ledger_current TLS_IE = LEDGER_NONE;
__thread struct ledger_slot ledger_acc TLS_IE __attribute__((aligned(64)));
/* The thread keeps no ledger: it was destroyed at thread exit, or no thread
 * key could hold it. Every change then goes through ledger_direct and is
 * published at once. */
static __thread int ledger_dead TLS_IE;
static __thread struct ledger_slot ledger_direct TLS_IE;

/* Homes in the table; it holds one slot more. */
static unsigned slot_count(const struct ledger *l) {
	return 1u << (32 - l->shift);
}

static unsigned next_slot(const struct ledger *l, unsigned k) {
	return k == slot_count(l) ? 0 : k + 1;
}

/* limited from the record, and the epoch it was read at (read first: a
 * limit set meanwhile moves the epoch on). */
static void slot_see_limit(struct ledger_slot *s) {
	s->epoch = atomic_load_explicit(&record_limit_epoch, memory_order_acquire);
	s->limited = s->rec && atomic_load_explicit(&s->rec->limit, memory_order_acquire) != 0;
}

static void slot_init(struct ledger_slot *s, struct mem_record *rec, uint64_t key) {
	s->key = key;
	s->rec = rec;
	s->bytes = SLOT_CLEAN + SLOT_BIAS;
	s->blocks = s->lua = 0;
	s->allocs = s->frees = 0;
	s->direct = 0;
	slot_see_limit(s);
	s->seen = 1;
}

static int slot_claimed(const struct ledger_slot *s) {
	return s->key > SLOT_GONE;
}

void ledger_publish(struct ledger_slot *s) {
	if (!slot_clean(s)) {
		/* Cleared before the add: if the thread were cancelled inside it,
		 * its exit must not publish the same deltas again. record_add leaves
		 * errno alone (free() must). */
		int64_t bytes = slot_bytes(s), blocks = s->blocks, lua = s->lua;
		uint64_t allocs = s->allocs, frees = s->frees;
		s->bytes = SLOT_CLEAN + SLOT_BIAS;
		s->blocks = s->lua = 0;
		s->allocs = s->frees = 0;
		if (!s->direct)
			ledger_tls->pending--;
		if ((allocs | frees | (uint64_t)bytes | (uint64_t)blocks | (uint64_t)lua) != 0) {
			record_add(s->rec, bytes, blocks, lua, allocs, frees);
			/* The line record_add just wrote: no extra miss. */
			slot_see_limit(s);
			if (s->limited && ledger_current == s)
				ledger_current = LEDGER_NONE;
		}
	}
	if (s->direct) {
		record_release(s->rec);
		s->rec = NULL;
		s->key = 0;
	}
}

int acc_changed(void) {
	const struct ledger_slot *a = &ledger_acc;
	return ((a->bytes - SLOT_BIAS) | a->blocks | a->lua | (int64_t)(a->allocs | a->frees)) != 0;
}

/* Adds ledger_acc's changes to s (its service's slot), which may stay
 * clean-marked: the caller un-marks it. 0 when there were none. */
int acc_add(struct ledger_slot *s) {
	struct ledger_slot *a = &ledger_acc;
	if (!acc_changed())
		return 0;
	s->bytes += a->bytes - SLOT_BIAS;
	s->blocks += a->blocks;
	s->lua += a->lua;
	s->allocs += a->allocs;
	s->frees += a->frees;
	return 1;
}

/* ledger_acc's changes into s, its service's slot, which is published next;
 * ledger_acc is then out of use. */
static void acc_merge(struct ledger *l, struct ledger_slot *s) {
	if (acc_add(s) && slot_clean(s)) {
		s->bytes -= SLOT_CLEAN;
		l->pending++;   /* as a first change does; the publication counts it off */
	}
	ledger_current = LEDGER_NONE;
}

/* Publishes and lets go of a claimed slot, which stays in probe sequences. */
static void slot_evict(struct ledger *l, struct ledger_slot *s) {
	if (acc_holds(s->key))
		acc_merge(l, s);   /* the running service's pending changes go with it */
	if (ledger_current == s)
		ledger_current = LEDGER_NONE;
	ledger_publish(s);
	record_release(s->rec);
	s->rec = NULL;
	s->key = SLOT_GONE;
	l->live--;
}

/* Threads holding a ledger, whose changes may not all be published. */
static atomic_int ledgers;

int ledger_threads(void) {
	return atomic_load_explicit(&ledgers, memory_order_relaxed);
}

static void ledger_destroy(void *p) {
	struct ledger *l = p;
	if (acc_active()) {
		ledger_current = LEDGER_NONE;   /* first: the lookup may rehash */
		struct ledger_slot *s = acc_changed() ? ledger_lookup_table((uint32_t)ledger_acc.key) : NULL;
		if (s != NULL)
			acc_merge(l, s);   /* published with every slot below */
	}
	atomic_fetch_sub_explicit(&ledgers, 1, memory_order_relaxed);
	for (unsigned i = 0; i <= slot_count(l); i++)
		if (slot_claimed(&l->slot[i]))
			slot_evict(l, &l->slot[i]);
	ledger_tls = NULL;
	ledger_current = LEDGER_NONE;
	ledger_dead = 1;
	backend_raw_free(l->slot);
	backend_raw_free(l);
}

static struct thread_key ledger_key = THREAD_KEY_INIT(ledger_destroy);

struct lock_group ledger_locks(void) {
	return thread_key_locks(&ledger_key);
}

#define TABLE_HUGE ((size_t)2 << 20)

/* n zeroed slots. A table of 2 MiB and more sits on huge pages where the
 * system has them: a dispatch among thousands of services touches a slot
 * line (and a record) per service, and with 4 KiB pages each is a TLB miss
 * as well (10,000 services: 1.14-1.20x one service's dispatch, 1.03x with
 * huge pages). */
static struct ledger_slot *table_alloc(size_t n) {
	size_t bytes = n * sizeof(struct ledger_slot);
	if (bytes < TABLE_HUGE)
		return backend_raw_alloc(bytes);
	size_t u = backend_class(bytes, TABLE_HUGE);
	void *p = u ? backend_alloc(u, TABLE_HUGE, 1) : NULL;
	if (p != NULL)
		(void)madvise(p, u & ~(TABLE_HUGE - 1), MADV_HUGEPAGE);   /* advice only: fine if refused */
	return p;
}

/* Moves every claimed slot into a table of 1 << (32 - shift) slots, so
 * nothing is pending (the dirty list names old indexes). -1: no memory. */
static int ledger_rehash(struct ledger *l, unsigned shift) {
	struct ledger_slot *slot = table_alloc(((size_t)1 << (32 - shift)) + 1);
	if (slot == NULL)
		return -1;
	ledger_flush_slots();
	if (!acc_active())
		ledger_current = LEDGER_NONE;   /* ledger_acc lies outside the table: it stays */
	l->deferred_key = 0;   /* published by the flush; its index moves */
	struct ledger_slot *old = l->slot;
	unsigned oldn = slot_count(l);
	l->slot = slot;
	l->shift = shift;
	l->used = 0;
	l->hand = 0;
	for (unsigned i = 0; i <= oldn; i++) {
		if (!slot_claimed(&old[i]))
			continue;
		unsigned k = ledger_index(l, (uint32_t)old[i].key), j = 0;
		while (j < LEDGER_PROBE && slot[k].key != 0)
			k = next_slot(l, k), j++;
		if (j == LEDGER_PROBE) {
			slot_evict(l, &old[i]);   /* no room within its window: let it go */
			continue;
		}
		slot[k] = old[i];
		l->used++;
	}
	backend_raw_free(old);
	return 0;
}

static struct ledger *ledger_create(void) {
	struct ledger *l = backend_raw_alloc(sizeof(*l));   /* zeroed */
	struct ledger_slot *slot = backend_raw_alloc((LEDGER_FIRST_SLOTS + 1) * sizeof(*slot));
	if (l == NULL || slot == NULL) {
		backend_raw_free(l);
		backend_raw_free(slot);
		return NULL;
	}
	l->slot = slot;
	l->shift = 32 - __builtin_ctz(LEDGER_FIRST_SLOTS);
	l->retired_seen = atomic_load_explicit(&record_retirements, memory_order_relaxed);
	return l;
}

/* No ledger (thread exit flushed it, or no key): publish every change at once.
 * A path that looked the slot up without changing it (a refused allocation)
 * may have left a reference here. */
static struct ledger_slot *direct_slot(uint32_t handle) {
	struct ledger_slot *s = &ledger_direct;
	if (s->rec) {
		if (s->key == slot_key(handle))
			return s;
		record_release(s->rec);
	}
	struct mem_record *rec = record_acquire(handle);
	slot_init(s, rec, rec ? slot_key(handle) : 0);
	s->direct = 1;
	return rec ? s : NULL;
}

/* The size the table may grow to now (see LEDGER_BASE_SLOTS): sized from
 * the services the process holds, so memory follows them. */
static unsigned ledger_cap(void) {
	size_t want = option_get(OPTION_LEDGER_SLOTS);
	unsigned max = LEDGER_FIRST_SLOTS;
	while (max < LEDGER_MAX_SLOTS && (size_t)max * 2 <= want)
		max *= 2;
	unsigned cap = max < LEDGER_BASE_SLOTS ? max : LEDGER_BASE_SLOTS;
	size_t services = record_count();
	while (cap < max && services > LEDGER_LIVE(cap))
		cap *= 2;
	return cap;
}

/* The table may not grow and holds 5/8 of its size in services: a new one
 * needs one evicted first. */
static int ledger_full(const struct ledger *l, unsigned cap) {
	return slot_count(l) >= cap && l->live >= LEDGER_LIVE(slot_count(l));
}

/* Evicts the next claimed slot after the clock hand not switched to since
 * the hand last passed (a second chance: a service in use stays). Ends
 * within one turn of the table plus the slots cleared on the way. */
static void ledger_evict_next(struct ledger *l) {
	unsigned k = l->hand;
	for (;;) {
		k = next_slot(l, k);
		struct ledger_slot *s = &l->slot[k];
		if (!slot_claimed(s))
			continue;
		if (!s->seen)
			break;
		s->seen = 0;
	}
	l->hand = k;
	slot_evict(l, &l->slot[k]);
}

/* handle's slot, or a slot for it (key SLOT_GONE) within LEDGER_PROBE slots
 * of its home: the first gone or empty one there. Two passes at most, no
 * recursion: a window with no room grows the table while it may, else the
 * service at home makes way; taking an empty slot past 3/4 of the table
 * claimed or gone rehashes once (twice as large while half is live and it
 * may grow, else the same size without the gone slots); a full table evicts
 * one service (the clock's next) for each new one. NULL: no memory. */
static struct ledger_slot *ledger_claim(struct ledger *l, uint32_t handle) {
	uint64_t key = slot_key(handle);
	int rehashed = 0;
	unsigned cap = ledger_cap();
	for (;;) {
		unsigned n = slot_count(l), home = ledger_index(l, handle), k = home;
		struct ledger_slot *room = NULL;
		for (int i = 0; i < LEDGER_PROBE; i++, k = next_slot(l, k)) {
			struct ledger_slot *t = &l->slot[k];
			if (t->key == key) {
				t->seen = 1;
				return t;
			}
			if (t->key <= SLOT_GONE && room == NULL)
				room = t;
			if (t->key == 0)
				break;   /* nothing was ever put past an empty slot */
		}
		int grow = n < cap;
		int crowded = room ? room->key == 0 && (l->used + 1) * 4 > n * 3 : grow;
		if (crowded && !rehashed) {
			rehashed = 1;
			unsigned shift = l->shift - (grow && (room == NULL || (l->live + 1) * 2 > n));
			if (ledger_rehash(l, shift) == 0)
				continue;
		}
		if (room == NULL) {
			/* The window is full of services: one not switched to lately
			 * makes way, else the one at home. */
			room = &l->slot[home];
			for (int i = 0, j = (int)home; i < LEDGER_PROBE; i++, j = (int)next_slot(l, (unsigned)j))
				if (!l->slot[j].seen) {
					room = &l->slot[j];
					break;
				}
			slot_evict(l, room);
		} else if (ledger_full(l, cap)) {
			ledger_evict_next(l);
		}
		if (room->key == 0)
			l->used++;
		room->key = SLOT_GONE;   /* not yet anyone's */
		return room;
	}
}

struct ledger_slot *ledger_lookup_table(uint32_t handle) {
	struct ledger *l = ledger_tls;
	if (l == NULL) {
		if (ledger_dead)
			return direct_slot(handle);
		l = ledger_create();
		if (l == NULL)
			return NULL;
		atomic_fetch_add_explicit(&ledgers, 1, memory_order_relaxed);
		/* Set first: pthread_setspecific may allocate, and must then find it. */
		ledger_tls = l;
		if (thread_key_set(&ledger_key, l) != 0) {
			/* Nothing would publish it at thread exit: give it up (publishing
			 * what the key's own allocation charged) and go direct. */
			ledger_destroy(l);
			return direct_slot(handle);
		}
	}
	struct ledger_slot *s = ledger_claim(l, handle);
	if (s == NULL || s->key == slot_key(handle))
		return s;   /* none left, or found after all */
	struct mem_record *rec = record_acquire(handle);
	if (rec == NULL)
		return NULL;   /* claimed for nothing: stays gone, in probe sequences */
	slot_init(s, rec, slot_key(handle));
	l->live++;
	return s;
}

int ledger_admit_slow(struct ledger_slot *s, size_t more, size_t limit, int c) {
	if (more == 0)
		return 1;   /* a shrink or a same-class resize: never refused, even over the limit */
	int64_t lua = atomic_load(&s->rec->lua) + s->lua;
	int64_t used = atomic_load(&s->rec->bytes) + slot_bytes(s) + lua;
	if (used < 0)
		used = 0;
	if (lua < 0)
		lua = 0;
	if ((size_t)used <= limit && more <= limit - (size_t)used) {
		if ((size_t)used + more <= limit_rearm_below(limit))
			limit_under(s->rec);
		return 1;
	}
	return limit_crossed(s->rec, (size_t)used, (size_t)lua, limit, more, c);
}

/* Publishes s; a late change of an exited service's record lets it go. */
void slot_publish(struct ledger *l, struct ledger_slot *s) {
	ledger_publish(s);
	if (atomic_load_explicit(&s->rec->retired, memory_order_relaxed))
		slot_evict(l, s);
}

void slot_done_slow(struct ledger_slot *s) {
	if (slot_clean(s)) {
		s->bytes -= SLOT_CLEAN;   /* first change since published */
		if (s->direct) {
			ledger_publish(s);
			return;
		}
		/* In use (the eviction clock's second chance); its record is
		 * written at its publication: fetched while the dispatch runs. */
		s->seen = 1;
		__builtin_prefetch(s->rec, 1);
		struct ledger *l = ledger_tls;
		l->listed[l->nlisted++] = (unsigned)(s - l->slot);
		/* ledger_acc, while in use, counts as one of the DIRTY_MAX. */
		if (++l->pending > DIRTY_MAX - (unsigned)acc_active() || l->nlisted == LEDGER_LISTED) {
			ledger_flush_slots();
			return;
		}
	}
	if (s->direct)
		ledger_publish(s);
	else if (slot_past_batch(s, 0) || slot_past_batch_lua(s))
		slot_publish(ledger_tls, s);
}

/* Exited services' records can only be reclaimed once no slot holds them:
 * the slots of the services that exited since the last time (exits seen ..
 * now) let go of them. Each exit is looked up in the record's log of exits
 * (a probe of at most LEDGER_PROBE slots); only a ledger that fell more than
 * the log behind, or met an entry not written yet, walks its table. */
static void ledger_sweep(struct ledger *l, unsigned seen, unsigned now) {
	if (now - seen <= RECORD_RETIRED_LOG) {
		unsigned seq = seen;
		for (; seq != now; seq++) {
			uint32_t h;
			if (!record_retired_handle(seq, &h))
				break;
			struct ledger_slot *s = ledger_find(l, h);
			if (s && atomic_load_explicit(&s->rec->retired, memory_order_relaxed))
				slot_evict(l, s);
		}
		if (seq == now)
			return;
	}
	for (unsigned i = 0; i <= slot_count(l); i++) {
		struct ledger_slot *s = &l->slot[i];
		if (slot_claimed(s) && atomic_load_explicit(&s->rec->retired, memory_order_relaxed))
			slot_evict(l, s);
	}
}

void sweep_if_retired(struct ledger *l) {
	unsigned now = atomic_load_explicit(&record_retirements, memory_order_acquire);
	if (__builtin_expect(now != l->retired_seen, 0)) {
		unsigned seen = l->retired_seen;
		l->retired_seen = now;
		ledger_sweep(l, seen, now);
	}
}

void ledger_flush_slots(void) {
	struct ledger *l = ledger_tls;
	if (l == NULL)
		return;
	if (!acc_active())
		ledger_current = LEDGER_NONE;   /* ledger_acc stays: ledger_flush takes it first */
	for (unsigned i = 0; i < l->nlisted; i++) {
		struct ledger_slot *s = &l->slot[l->listed[i]];
		if (!slot_clean(s))   /* else listed twice, or published since */
			slot_publish(l, s);
	}
	l->nlisted = 0;
	sweep_if_retired(l);
}

/* The slot claimed for handle, without claiming one. */
struct ledger_slot *ledger_find(struct ledger *l, uint32_t handle) {
	uint64_t key = slot_key(handle);
	unsigned k = ledger_index(l, handle);
	for (int i = 0; i < LEDGER_PROBE; i++, k = next_slot(l, k)) {
		struct ledger_slot *s = &l->slot[k];
		if (s->key == key)
			return s;
		if (s->key == 0)
			break;
	}
	return NULL;
}
