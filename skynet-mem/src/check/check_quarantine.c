/* MEMORY_CHECK quarantine: freed blocks wait, poisoned, before going back to
 * the backend, so their addresses are not handed out again while a double free
 * or a write after free can still be caught. One FIFO per thread (no lock on
 * the free path), bounded in bytes (usable sizes) per thread; the newest block
 * always stays, even when it alone passes the bound. A block leaves verified:
 * a sound one goes back to the backend, a written one is reported and leaked.
 * A thread's quarantine is emptied when the thread exits. */

#include <stdatomic.h>
#include <stdint.h>

#include "backend.h"
#include "check_quarantine.h"
#include "check_report.h"
#include "options.h"
#include "skynet_mem.h"
#include "thread_key.h"

/* The default bound, SKYNET_MEM_QUARANTINE's (options.c), is 1 MiB per thread:
 * over a thousand recent frees stay caught, and a server with a worker thread
 * per core keeps several MiB in quarantine in all. */
#define BOUND_UNSET SIZE_MAX

struct qitem {
	void *p;
	struct check_meta m;   /* out of the block: a write after free cannot mislead */
};

struct ring {
	struct qitem *q;
	size_t cap, first, count, bytes;
	int gone;              /* the thread is exiting: no more quarantine */
};

/* A pointer (initial-exec TLS stays small: the module may be loaded by dlopen). */
static __thread struct ring *my_ring TLS_IE;
static atomic_size_t bound = BOUND_UNSET;

size_t quarantine_bound(void) {
	size_t b = atomic_load_explicit(&bound, memory_order_relaxed);
	if (__builtin_expect(b == BOUND_UNSET, 0)) {
		size_t unset = BOUND_UNSET;
		atomic_compare_exchange_strong(&bound, &unset, option_get(OPTION_QUARANTINE));
		b = atomic_load(&bound);
	}
	return b;
}

/* Blocks written after their free are leaked, but kept reachable (leak
 * checkers then stay quiet about what the checker itself chose to keep). */
static struct {
	struct spin_lock lock;
	void **p;
	size_t count, cap;
} kept;

static void keep(void *b) {
	spin_lock(&kept.lock);
	if (kept.count == kept.cap) {
		size_t cap = kept.cap ? kept.cap * 2 : 64;
		void **q = backend_raw_alloc(cap * sizeof(*q));
		if (q) {
			for (size_t i = 0; i < kept.count; i++)
				q[i] = kept.p[i];
			backend_raw_free(kept.p);
			kept.p = q;
			kept.cap = cap;
		}
	}
	if (kept.count < kept.cap)
		kept.p[kept.count++] = b;
	spin_unlock(&kept.lock);
}

/* Verifies a block leaving quarantine: frees it, or reports and leaks it. */
static void quarantine_release(void *p, const struct check_meta *m) {
	if (block_verify_poison(p, m) != 0) {
		keep(check_base(p, m));   /* written after its free: reported, leaked */
		return;
	}
	/* The header keeps its freed seal until the address is handed out again:
	 * freeing p meanwhile is still reported as a double free, and nothing
	 * (not writing it) saves a cache miss here. */
	backend_free(check_base(p, m), m->usable);
}

/* Blocks leave the quarantine long after they were last touched, so each
 * one's lines (header, guard, poisoned prefix) are fetched a few releases
 * ahead: their misses then overlap instead of stalling every free.
 * always_inline: GCC deems a function made of prefetches alone free of side
 * effects, and drops its calls. */
#define PREFETCH_AHEAD 16
#define LINE 64

__attribute__((always_inline)) static inline void prefetch_block(const struct qitem *it) {
	const char *p = it->p;
	size_t n = it->m.n < 256 ? it->m.n : 256;
	__builtin_prefetch(&check_hdr(p)->seal);       /* the sealed words */
	__builtin_prefetch(p - 1);                      /* the guard */
	for (size_t off = 0; off < n; off += LINE)
		__builtin_prefetch(p + off);
}

/* Releases the oldest blocks while the ring passes limit, keeping `keep`. */
static void shrink(struct ring *r, size_t limit, size_t keep) {
	while (r->bytes > limit && r->count > keep) {
		struct qitem it = r->q[r->first];
		r->first = (r->first + 1) & (r->cap - 1);
		r->count--;
		r->bytes -= it.m.usable;
		if (r->count > PREFETCH_AHEAD)
			prefetch_block(&r->q[(r->first + PREFETCH_AHEAD) & (r->cap - 1)]);
		quarantine_release(it.p, &it.m);
	}
}

/* Afterwards the thread points at a ring that is always gone: a later free
 * on it, from another key's destructor, goes straight back to the backend. */
static struct ring gone_ring = { .gone = 1 };

static void on_thread_exit(void *arg) {
	struct ring *r = arg;
	my_ring = &gone_ring;
	shrink(r, 0, 0);
	backend_raw_free(r->q);
	backend_raw_free(r);
}

static struct thread_key ring_key = THREAD_KEY_INIT(on_thread_exit);

static struct ring *ring_of_thread(void) {
	struct ring *r = my_ring;
	if (__builtin_expect(r == NULL, 0)) {
		r = backend_raw_alloc(sizeof(*r));   /* zeroed */
		if (r == NULL)
			return NULL;
		if (thread_key_set(&ring_key, r) != 0) {
			/* Nothing would empty it at thread exit: this thread frees at once. */
			backend_raw_free(r);
			r = &gone_ring;
		}
		my_ring = r;
	}
	return r;
}


/* Doubles the ring; 0, or -1 when out of memory. */
static int grow(struct ring *r) {
	size_t cap = r->cap ? r->cap * 2 : 256;
	struct qitem *q = backend_raw_alloc(cap * sizeof(*q));
	if (q == NULL)
		return -1;
	for (size_t i = 0; i < r->count; i++)
		q[i] = r->q[(r->first + i) & (r->cap - 1)];
	backend_raw_free(r->q);
	r->q = q;
	r->cap = cap;
	r->first = 0;
	return 0;
}

void quarantine_push(void *p, const struct check_meta *m) {
	struct ring *r = ring_of_thread();
	size_t limit = quarantine_bound();
	if (r == NULL || r->gone || (r->count == r->cap && grow(r) != 0)) {
		quarantine_release(p, m);   /* no room to remember it: give it back now */
		return;
	}
	struct qitem *it = &r->q[(r->first + r->count) & (r->cap - 1)];
	it->p = p;
	it->m = *m;
	r->count++;
	r->bytes += m->usable;
	if (r->bytes > limit)
		shrink(r, limit, 1);
}

/* The calling thread's quarantine shrinks at once; other threads' at their next free. */
size_t skynet_mem_check_quarantine(size_t bytes) {
	size_t old = quarantine_bound();
	if (bytes == BOUND_UNSET)
		bytes--;
	atomic_store(&bound, bytes);
	if (my_ring)
		shrink(my_ring, bytes, 0);
	return old;
}
