/* MEMORY_CHECK registry: every user pointer the layer handed out (live) or holds
 * in quarantine (freed), with its metadata. free, realloc, transfer and the size
 * queries validate a pointer here before touching memory, so a stack address, a
 * pointer into a block or another allocator's block is reported, never passed
 * to the backend. Lock-striped open-addressing tables; their memory comes from
 * the backend directly and is never accounted. */

#ifdef SKYNET_MEM_CHECK

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "backend.h"
#include "check.h"

#define STRIPE_BITS 8
#define STRIPES (1u << STRIPE_BITS)
#define KEY_EMPTY ((uintptr_t)0)
#define KEY_TOMB ((uintptr_t)1)   /* user pointers are never 0 or 1 */

struct entry {
	uintptr_t key;
	struct check_meta m;
};

/* Small freed blocks wait in their stripe's own FIFO, so a free takes one
 * lock for the lookup, the quarantine and the release of the oldest blocks. */
struct ring {
	uintptr_t *p;
	size_t cap, first, count, bytes;
};

struct stripe {
	atomic_int lock;
	size_t cap;       /* power of two, or 0 before the first insert */
	size_t used;      /* keys, tombstones included */
	struct entry *e;
	struct ring q;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES];

static inline uint64_t hash_ptr(const void *p) {
	return ((uint64_t)(uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull;
}

static inline struct stripe *stripe_of(uint64_t h) {
	return &stripes[h >> (64 - STRIPE_BITS)];
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void lock(struct stripe *s) {
	for (;;) {
		if (!atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
			return;
		for (int spin = 0; atomic_load_explicit(&s->lock, memory_order_relaxed); spin++) {
			if (spin > 64)
				sched_yield();
			else
				cpu_relax();
		}
	}
}

static void unlock(struct stripe *s) {
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* The slot holding key, or NULL. Caller holds the stripe lock. */
static struct entry *find(struct stripe *s, uintptr_t key, uint64_t h) {
	if (s->cap == 0)
		return NULL;
	size_t mask = s->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct entry *e = &s->e[i];
		if (e->key == key)
			return e;
		if (e->key == KEY_EMPTY)
			return NULL;
	}
}

/* Rebuilds the table at twice its live count (tombstones dropped); -1 when out of memory. */
static int grow(struct stripe *s) {
	size_t live = 0;
	for (size_t i = 0; i < s->cap; i++)
		live += s->e[i].key > KEY_TOMB;
	size_t cap = 16;
	while (cap < live * 4)
		cap *= 2;
	struct entry *ne = backend_raw_alloc(cap * sizeof(struct entry));   /* zeroed: all empty */
	if (ne == NULL)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		struct entry *e = &s->e[i];
		if (e->key <= KEY_TOMB)
			continue;
		size_t j = (size_t)hash_ptr((void *)e->key) & (cap - 1);
		while (ne[j].key != KEY_EMPTY)
			j = (j + 1) & (cap - 1);
		ne[j] = *e;
	}
	backend_raw_free(s->e);
	s->e = ne;
	s->cap = cap;
	s->used = live;
	return 0;
}

int reg_insert(const void *p, const struct check_meta *m) {
	uintptr_t key = (uintptr_t)p;
	uint64_t h = hash_ptr(p);
	struct stripe *s = stripe_of(h);
	lock(s);
	struct entry *e = find(s, key, h);
	if (e == NULL) {
		if ((s->used + 1) * 4 > s->cap * 3 && grow(s) != 0) {
			unlock(s);
			return -1;
		}
		size_t mask = s->cap - 1;
		size_t i = (size_t)h & mask;
		while (s->e[i].key > KEY_TOMB)
			i = (i + 1) & mask;
		e = &s->e[i];
		if (e->key == KEY_EMPTY)
			s->used++;
		e->key = key;
	}
	e->m = *m;
	unlock(s);
	return 0;
}

int reg_lookup(const void *p, struct check_meta *out) {
	uint64_t h = hash_ptr(p);
	struct stripe *s = stripe_of(h);
	lock(s);
	struct entry *e = find(s, (uintptr_t)p, h);
	int state = e ? (int)e->m.state : REG_NONE;
	if (e)
		*out = e->m;
	unlock(s);
	return state;
}

int reg_mark_freed(const void *p, uint32_t freer, struct check_meta *out) {
	uint64_t h = hash_ptr(p);
	struct stripe *s = stripe_of(h);
	lock(s);
	struct entry *e = find(s, (uintptr_t)p, h);
	int state = REG_NONE;
	if (e) {
		state = (int)e->m.state;
		*out = e->m;
		if (state == REG_LIVE) {
			e->m.state = REG_FREED;
			e->m.freer = freer;
		}
	}
	unlock(s);
	return state;
}

int reg_set_owner(const void *p, uint32_t owner, struct check_meta *out) {
	uint64_t h = hash_ptr(p);
	struct stripe *s = stripe_of(h);
	lock(s);
	struct entry *e = find(s, (uintptr_t)p, h);
	int state = REG_NONE;
	if (e) {
		state = (int)e->m.state;
		*out = e->m;
		if (state == REG_LIVE)
			e->m.owner = owner;
	}
	unlock(s);
	return state;
}

void reg_remove(const void *p) {
	uint64_t h = hash_ptr(p);
	struct stripe *s = stripe_of(h);
	lock(s);
	struct entry *e = find(s, (uintptr_t)p, h);
	if (e)
		e->key = KEY_TOMB;
	unlock(s);
}

/* fork() while another thread holds a stripe would leave it locked forever in
 * the child: check.c takes every lock around fork (pthread_atfork). */
void reg_lock_all(void) {
	for (unsigned i = 0; i < STRIPES; i++)
		lock(&stripes[i]);
}

void reg_unlock_all(void) {
	for (unsigned i = STRIPES; i-- > 0;)
		unlock(&stripes[i]);
}

/* --- the stripes' quarantine --- */

static int ring_push(struct ring *q, uintptr_t key) {
	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		uintptr_t *r = backend_raw_alloc(cap * sizeof(*r));
		if (r == NULL)
			return -1;
		for (size_t i = 0; i < q->count; i++)
			r[i] = q->p[(q->first + i) & (q->cap - 1)];
		backend_raw_free(q->p);
		q->p = r;
		q->cap = cap;
		q->first = 0;
	}
	q->p[(q->first + q->count) & (q->cap - 1)] = key;
	q->count++;
	return 0;
}

/* Takes the oldest blocks out while the stripe's queue passes per (keeping
 * `keep`): each is verified here; a sound one leaves the registry, a written
 * one stays as freed (leaked). Caller holds the lock. */
static int evict(struct stripe *s, size_t per, size_t keep, struct reg_evicted *ev, int max) {
	int n = 0;
	struct ring *q = &s->q;
	while (n < max && q->bytes > per && q->count > keep) {
		uintptr_t key = q->p[q->first];
		q->first = (q->first + 1) & (q->cap - 1);
		q->count--;
		struct entry *x = find(s, key, hash_ptr((void *)key));
		if (x == NULL)
			continue;   /* cannot happen: quarantined blocks stay registered */
		struct reg_evicted *v = &ev[n++];
		v->p = (void *)key;
		v->m = x->m;
		q->bytes -= x->m.usable;
		v->bad = block_poison_fault(v->p, &v->m, &v->f);
		if (!v->bad)
			x->key = KEY_TOMB;
	}
	return n;
}

void reg_free(void *p, uint32_t freer, size_t bound, struct reg_free *r) {
	size_t per = bound / 2 / STRIPES;
	uint64_t h = hash_ptr(p);
	struct stripe *s = stripe_of(h);
	r->nfault = r->nev = 0;
	r->big = 1;
	lock(s);
	struct entry *e = find(s, (uintptr_t)p, h);
	r->state = e ? (int)e->m.state : REG_NONE;
	if (e)
		r->m = e->m;
	if (r->state != REG_LIVE) {
		unlock(s);
		return;
	}
	e->m.state = REG_FREED;
	e->m.freer = freer;
	r->m = e->m;
	if (r->m.usable <= per / 4) {
		r->nfault = block_faults(p, &r->m, r->fault);
		if (r->nfault == 0 && ring_push(&s->q, (uintptr_t)p) == 0) {
			r->big = 0;
			block_poison(p, &r->m);
			s->q.bytes += r->m.usable;
			r->nev = evict(s, per, 1, r->ev, REG_EVICT_MAX);
		}
	}
	unlock(s);
}

void reg_trim(size_t bound, void (*done)(const struct reg_evicted *ev, int n)) {
	size_t per = bound / 2 / STRIPES;
	struct reg_evicted ev[REG_EVICT_MAX];
	for (unsigned si = 0; si < STRIPES; si++) {
		int n;
		do {
			lock(&stripes[si]);
			n = evict(&stripes[si], per, 0, ev, REG_EVICT_MAX);
			unlock(&stripes[si]);
			done(ev, n);
		} while (n == REG_EVICT_MAX);
	}
}

/* Copies a stripe's matching blocks out in chunks, so fn runs unlocked (it may
 * print, and printing may allocate). */
size_t reg_foreach_owned(uint32_t owner,
	void (*fn)(const void *p, const struct check_meta *m, void *ud), void *ud) {
	enum { CHUNK = 32 };
	struct entry buf[CHUNK];
	size_t total = 0;
	for (unsigned si = 0; si < STRIPES; si++) {
		struct stripe *s = &stripes[si];
		size_t i = 0;
		for (;;) {
			int k = 0;
			lock(s);
			for (; i < s->cap && k < CHUNK; i++) {
				struct entry *e = &s->e[i];
				if (e->key > KEY_TOMB && e->m.state == REG_LIVE && e->m.owner == owner)
					buf[k++] = *e;
			}
			int more = i < s->cap;
			unlock(s);
			for (int j = 0; j < k; j++)
				fn((void *)buf[j].key, &buf[j].m, ud);
			total += (size_t)k;
			if (!more)
				break;
		}
	}
	return total;
}

#endif
