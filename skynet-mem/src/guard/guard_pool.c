/* The pool of guarded slots (guard_pool.h): mapped once, on first use; slots
 * are reused in FIFO order, so a freed block's pages stay inaccessible for as
 * long as possible (slots - live blocks) before another block takes them. */

#define _GNU_SOURCE   /* MAP_NORESERVE, REG_ERR */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "current.h"
#include "guard_pool.h"
#include "ledger.h"
#include "record.h"

uintptr_t guard_lo, guard_top;
struct guard_pool guard_pool;

static struct spin_lock lock = SPIN_LOCK_INIT;
static uint32_t *fifo;            /* free slot indexes, a ring of `slots` entries */
static size_t head, count;        /* under lock (count read without: guard_pool_room) */
static size_t live;               /* under lock */
static atomic_uint_fast64_t guarded, missed;

/* Below every address the heap uses, so that every heap pointer is above
 * guard_top and free's one compare sends none of them to the cold path:
 * 16 MiB is above what NULL plus an offset reaches and below the heap and
 * the executable (PIE at 0x55..., mappings near the top of the 47-bit space;
 * under valgrind the heap starts near 64 MiB); a non-PIE program's brk heap
 * may lie lower (its frees then take the cold path: correct, slower). */
static const uintptr_t hints[] = { (uintptr_t)16 << 20, (uintptr_t)4 << 30, (uintptr_t)1 << 40 };

static void *map_low(size_t len) {
	for (size_t k = 0; k < sizeof(hints) / sizeof(hints[0]); k++) {
		void *m = mmap((void *)hints[k], len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (m == (void *)hints[k])
			return m;
		if (m != MAP_FAILED)   /* a kernel without MAP_FIXED_NOREPLACE put it elsewhere */
			munmap(m, len);
	}
	return mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

int guard_pool_make(size_t slots, int underflow) {
	if (guard_top != 0)
		return 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t stride = page + GUARD_MAX;
	if (slots > 65536)
		slots = 65536;
	size_t len = slots * stride + page;
	void *m = map_low(len);
	if (m == MAP_FAILED)
		return -1;
	size_t meta = 2 * slots * sizeof(struct guard_slot) + slots * sizeof(uint32_t);
	void *md = mmap(NULL, meta, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (md == MAP_FAILED) {
		munmap(m, len);
		return -1;
	}
	struct guard_slot *rec = md;
	guard_pool = (struct guard_pool){ (uintptr_t)m, page, stride, slots, rec, rec + slots, underflow };
	fifo = (uint32_t *)(rec + 2 * slots);
	for (size_t i = 0; i < slots; i++)
		fifo[i] = (uint32_t)i;
	head = 0;
	count = slots;
	guard_lo = (uintptr_t)m;
	__atomic_store_n(&guard_top, (uintptr_t)m + len - 1, __ATOMIC_RELEASE);
	return 0;
}

/* The owner's name now, kept with the block: a fault's report reads no
 * record (it may run in a signal handler). */
static void name_owner(struct guard_slot *s, uint32_t owner) {
	struct skynet_mem_stat st;
	if (record_stat(owner, &st) == 0)
		memcpy(s->name, st.name, sizeof(s->name));
	else
		s->name[0] = 0;
	s->name[sizeof(s->name) - 1] = 0;
}

static uintptr_t page_down(uintptr_t a) {
	return a & ~(uintptr_t)(guard_pool.page - 1);
}

static uintptr_t page_up(uintptr_t a) {
	return page_down(a + guard_pool.page - 1);
}

int guard_pool_room(void) {
	if (__atomic_load_n(&count, __ATOMIC_RELAXED) != 0)
		return 1;
	atomic_fetch_add_explicit(&missed, 1, memory_order_relaxed);
	return 0;
}

/* Where the block goes in slot i: at the end of the data (rounded down to
 * the alignment a) or at its start, then moved down (up) by whole pages,
 * taking turns over the places it fits by the slot's count of uses, so
 * that a block the same size as the slot's last one is not at its address. */
static uintptr_t place(size_t i, size_t body, size_t a, unsigned uses) {
	uintptr_t data = guard_data(i), end = data + GUARD_MAX;
	uintptr_t p = guard_pool.underflow ? data : (end - body) & ~(uintptr_t)(a - 1);
	size_t pages = (page_up(p + body) - page_down(p)) / guard_pool.page;
	size_t places = GUARD_MAX / guard_pool.page - pages + 1;
	size_t shift = uses % places * guard_pool.page;
	return guard_pool.underflow ? p + shift : p - shift;
}

void *guard_pool_alloc(size_t n, size_t align, uint32_t owner, size_t charge,
	const uintptr_t *pcs, int npcs) {
	size_t a = align > 16 ? align : 16;   /* malloc's alignment, or the one asked */
	if (n > GUARD_MAX || a > guard_pool.page)
		return NULL;
	spin_lock(&lock);
	if (count == 0) {
		spin_unlock(&lock);
		atomic_fetch_add_explicit(&missed, 1, memory_order_relaxed);
		return NULL;
	}
	size_t i = fifo[head];
	head = (head + 1) % guard_pool.slots;
	count--;
	live++;
	struct guard_slot *s = &guard_pool.slot[i];
	unsigned uses = s->uses;   /* the slot is ours now: none but us changes it */
	spin_unlock(&lock);
	size_t body = n ? n : 1;
	uintptr_t p = place(i, body, a, uses);
	uintptr_t lo = page_down(p), hi = page_up(p + body);
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE) != 0) {
		spin_lock(&lock);   /* give the slot back at the head, as if never taken */
		head = (head + guard_pool.slots - 1) % guard_pool.slots;
		fifo[head] = (uint32_t)i;
		count++;
		live--;
		spin_unlock(&lock);
		return NULL;
	}
	/* The pages read 0 (fresh, or emptied at free): fill around the block. */
	memset((void *)lo, GUARD_FILL, p - lo);
	memset((void *)(p + n), GUARD_FILL, hi - (p + n));
	struct guard_slot b = { .p = p, .n = n, .charge = charge, .owner = owner, .state = SLOT_LIVE,
		.nalloc = npcs, .uses = uses + 1 };
	memcpy(b.alloc_pc, pcs, (size_t)npcs * sizeof(uintptr_t));
	name_owner(&b, owner);
	/* The slot's last block stays known: a stale pointer to it is named. */
	spin_lock(&lock);
	if (s->state == SLOT_FREED)
		guard_pool.prev[i] = *s;
	*s = b;
	spin_unlock(&lock);
	atomic_fetch_add_explicit(&guarded, 1, memory_order_relaxed);
	return (void *)p;
}

static struct guard_slot *slot_at(const void *p, size_t *index) {
	int in_guard;
	size_t i = guard_slot_of((uintptr_t)p, &in_guard);
	if (index)
		*index = i;
	if (in_guard || i >= guard_pool.slots)
		return NULL;
	return &guard_pool.slot[i];
}

/* The first byte of [a, b) that is not the fill, or 0; memcmp by chunks
 * first (fast), bytes only in a damaged chunk. */
static uintptr_t unfilled(uintptr_t a, uintptr_t b) {
	static unsigned char fill[256];
	if (fill[0] != GUARD_FILL)
		memset(fill, GUARD_FILL, sizeof(fill));
	while (a < b) {
		size_t k = b - a < sizeof(fill) ? b - a : sizeof(fill);
		if (memcmp((const void *)a, fill, k) != 0)
			for (size_t i = 0; i < k; i++)
				if (((const unsigned char *)a)[i] != GUARD_FILL)
					return a + i;
		a += k;
	}
	return 0;
}

/* The first byte around a live block's pages that is not the fill, or 0:
 * the nearest to the block first. */
static uintptr_t damaged(const struct guard_slot *s) {
	uintptr_t lo = page_down(s->p), hi = page_up(s->p + (s->n ? s->n : 1));
	uintptr_t bad = unfilled(s->p + s->n, hi);
	if (bad == 0 && unfilled(lo, s->p) != 0) {
		bad = s->p - 1;   /* below the block: name the byte nearest to it */
		while (*(const unsigned char *)bad == GUARD_FILL)
			bad--;
	}
	return bad;
}

/* A free of p that is not the live block of its slot s (NULL: p is in a
 * guard page): a second free of the slot's block, or of the one before it
 * (the slot was reused since), else an invalid free. Reports, then aborts. */
static __attribute__((noreturn)) void bad_free(const struct guard_slot *s, size_t i, uintptr_t p) {
	const struct guard_slot *old = s ? &guard_pool.prev[i] : NULL;
	if (s && s->state == SLOT_FREED && s->p == p)
		guard_report(GUARD_DOUBLE_FREE, s, p, NULL);
	else if (old && old->state == SLOT_FREED && old->p == p)
		guard_report(GUARD_DOUBLE_FREE, old, p, "its slot holds another block now");
	else
		guard_report(GUARD_INVALID_FREE, s && s->state != SLOT_UNUSED ? s : NULL, p, NULL);
	abort();
}

int guard_free(void *p) {
	if (p == NULL)
		return 1;
	if (!guard_has(p))
		return 0;
	size_t i;
	struct guard_slot *s = slot_at(p, &i);
	spin_lock(&lock);
	int state = s ? s->state : SLOT_UNUSED;
	if (state != SLOT_LIVE || s->p != (uintptr_t)p) {
		spin_unlock(&lock);
		bad_free(s, i, (uintptr_t)p);
	}
	s->state = SLOT_FREED;   /* a second free, even from another thread, now sees it */
	s->freer = current_handle();
	spin_unlock(&lock);
	uintptr_t bad = damaged(s);
	if (bad != 0) {
		guard_report(bad < s->p ? GUARD_UNDERFLOW : GUARD_OVERFLOW, s, bad, "found when it was freed");
		abort();
	}
	s->nfree = guard_stack(s->free_pc, GUARD_FRAMES);
	ledger_charge(s->owner, -(int64_t)s->charge, -1, 0, 1);
	uintptr_t lo = page_down(s->p), hi = page_up(s->p + (s->n ? s->n : 1));
	/* Its memory goes back to the system; the pages fault until reused. */
	madvise((void *)lo, hi - lo, MADV_DONTNEED);
	mprotect((void *)lo, hi - lo, PROT_NONE);
	spin_lock(&lock);
	fifo[(head + count) % guard_pool.slots] = (uint32_t)i;
	count++;
	live--;
	spin_unlock(&lock);
	return 1;
}

/* The slot of the live block p, or NULL. */
static struct guard_slot *live_at(const void *p) {
	struct guard_slot *s = slot_at(p, NULL);
	return s && s->state == SLOT_LIVE && s->p == (uintptr_t)p ? s : NULL;
}

/* The queries answer 0 for what is not a live block. */
size_t guard_usable(const void *p) {
	struct guard_slot *s = live_at(p);
	return s ? s->n : 0;
}

uint32_t guard_owner(const void *p) {
	struct guard_slot *s = live_at(p);
	return s ? s->owner : 0;
}

size_t guard_charge(const void *p) {
	struct guard_slot *s = live_at(p);
	return s ? s->charge : 0;
}

int guard_transfer(void *p, uint32_t to) {
	struct guard_slot *s = live_at(p);
	if (s == NULL) {
		guard_report(GUARD_INVALID_FREE, slot_at(p, NULL), (uintptr_t)p, "transferred");
		abort();
	}
	uint32_t from = s->owner;
	if (from == to)
		return 0;
	ledger_charge(from, -(int64_t)s->charge, -1, 0, 0);
	s->owner = to;
	name_owner(s, to);
	ledger_charge(to, (int64_t)s->charge, 1, 0, 0);
	return 0;
}

void guard_pool_counts(size_t *l, size_t *f, uint64_t *g, uint64_t *m) {
	spin_lock(&lock);
	*l = live;
	*f = guard_pool.slots ? count : 0;
	size_t unused = 0;
	for (size_t i = 0; i < guard_pool.slots; i++)
		unused += guard_pool.slot[i].state == SLOT_UNUSED;
	*f -= unused < *f ? unused : *f;   /* freed ones waiting, not never used */
	spin_unlock(&lock);
	*g = atomic_load_explicit(&guarded, memory_order_relaxed);
	*m = atomic_load_explicit(&missed, memory_order_relaxed);
}

size_t guard_pool_owned(uint32_t owner) {
	size_t k = 0;
	spin_lock(&lock);
	for (size_t i = 0; i < guard_pool.slots; i++)
		k += guard_pool.slot[i].state == SLOT_LIVE && guard_pool.slot[i].owner == owner;
	spin_unlock(&lock);
	return k;
}

struct lock_group guard_locks(void) {
	return (struct lock_group){ &lock, 1, sizeof(lock) };
}

/* --- the fault handler: a fault in the pool is reported, others chained --- */

static struct sigaction old_segv, old_bus;

static int ends_at_data(const struct guard_slot *s, size_t i) {
	return s->state != SLOT_UNUSED && s->p + (s->n ? s->n : 1) > guard_data(i) + GUARD_MAX - 16;
}

/* The slot an address in the pool belongs to, and what touching it was. */
static const struct guard_slot *classify(uintptr_t a, int write, enum guard_kind *kind) {
	int in_guard;
	size_t i = guard_slot_of(a, &in_guard);
	const struct guard_slot *s = NULL;
	if (in_guard) {
		const struct guard_slot *prev = i > 0 ? &guard_pool.slot[i - 1] : NULL;
		const struct guard_slot *cur = i < guard_pool.slots ? &guard_pool.slot[i] : NULL;
		int over = prev && ends_at_data(prev, i - 1);
		int under = cur && cur->state != SLOT_UNUSED && cur->p == guard_data(i);
		if (over && under)   /* the nearer block */
			over = a - (guard_data(i) - guard_pool.page) < guard_data(i) - a;
		s = over ? prev : under ? cur : NULL;
	} else if (i < guard_pool.slots && guard_pool.slot[i].state != SLOT_UNUSED) {
		s = &guard_pool.slot[i];
		const struct guard_slot *old = &guard_pool.prev[i];
		if (old->state == SLOT_FREED && a >= old->p && a < old->p + old->n &&
			!(a >= page_down(s->p) && a < page_up(s->p + (s->n ? s->n : 1))))
			s = old;   /* the slot's block before (the slot was reused since) */
	}
	if (s == NULL)
		*kind = GUARD_WILD;
	else if (s->state == SLOT_FREED)
		*kind = write < 0 ? GUARD_USE_AFTER_FREE : write ? GUARD_USE_AFTER_FREE_WRITE : GUARD_USE_AFTER_FREE_READ;
	else
		*kind = a < s->p ? GUARD_UNDERFLOW : GUARD_OVERFLOW;
	return s;
}

static void on_fault(int sig, siginfo_t *si, void *ctx) {
	uintptr_t a = (uintptr_t)si->si_addr;
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
	if (guard_top != 0 && a >= guard_lo && a <= guard_top) {
		int write = -1;
#if defined(__x86_64__)
		write = (((ucontext_t *)ctx)->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#endif
		enum guard_kind kind;
		const struct guard_slot *s = classify(a, write, &kind);
		guard_report(kind, s, a, write < 0 || kind == GUARD_USE_AFTER_FREE_READ ||
			kind == GUARD_USE_AFTER_FREE_WRITE ? NULL : write ? "write" : "read");
		guard_report_here();
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(sig, &dfl, NULL);
		return;   /* the access faults again, now with the default action */
	}
	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, ctx);
	} else if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
		sigaction(sig, old, NULL);   /* not ours: faults again under the previous action */
	} else {
		old->sa_handler(sig);
	}
}

static int ours(int sig) {
	struct sigaction cur;
	return sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault;
}

/* Installs the handler, or again when another replaced it since (the old
 * one is then chained), so turning guarding on always arms the reports. */
void guard_signals(void) {
	static struct spin_lock lock = SPIN_LOCK_INIT;
	if (ours(SIGSEGV) && ours(SIGBUS))
		return;
	guard_stack_ready();   /* loads the unwinders now, not in a handler */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	spin_lock(&lock);
	if (!ours(SIGSEGV))
		sigaction(SIGSEGV, &sa, &old_segv);
	if (!ours(SIGBUS))
		sigaction(SIGBUS, &sa, &old_bus);
	spin_unlock(&lock);
}
