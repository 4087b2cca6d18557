/* MEMORY_CHECK quarantine: freed blocks wait, poisoned, before going back to
 * the backend, so their addresses are not handed out again while a double free
 * or a write after free can still be caught. Bounded in bytes (usable sizes):
 * half of the bound for small blocks, queued per registry stripe (see
 * reg_free), half for large ones in one FIFO here, where the newest block always
 * stays even when it alone passes the bound. A block leaves through
 * quarantine_finish (or release): verified, then unregistered and freed. */

#ifdef SKYNET_MEM_CHECK

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "backend.h"
#include "check.h"
#include "skynet_mem.h"

/* 8 MiB: thousands of recent frees stay caught, while the quarantine and its
 * registry entries mostly stay in a server CPU's last-level cache. */
#define QUARANTINE_DEFAULT ((size_t)8 << 20)
#define BOUND_UNSET SIZE_MAX
#define EVICT_BATCH 16

struct qitem {
	void *p;
	struct check_meta m;
};

static struct {
	atomic_int lock;
	struct qitem *ring;
	size_t cap, first, count;
	size_t bytes;
} q;

static atomic_size_t bound = BOUND_UNSET;

static void qlock(void) {
	while (atomic_exchange_explicit(&q.lock, 1, memory_order_acquire))
		while (atomic_load_explicit(&q.lock, memory_order_relaxed))
			sched_yield();
}

static void qunlock(void) {
	atomic_store_explicit(&q.lock, 0, memory_order_release);
}

void quarantine_lock(void) {
	qlock();
}

void quarantine_unlock(void) {
	qunlock();
}

/* SKYNET_MEM_QUARANTINE=bytes, with an optional K, M or G suffix. */
static size_t bound_from_env(void) {
	const char *e = getenv("SKYNET_MEM_QUARANTINE");
	if (e == NULL || *e == 0)
		return QUARANTINE_DEFAULT;
	char *end;
	unsigned long long v = strtoull(e, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 0: break;
	default: return QUARANTINE_DEFAULT;
	}
	if (end == e || v > (SIZE_MAX >> 1) >> shift)
		return QUARANTINE_DEFAULT;
	return (size_t)v << shift;
}

size_t quarantine_bound(void) {
	size_t b = atomic_load_explicit(&bound, memory_order_relaxed);
	if (__builtin_expect(b == BOUND_UNSET, 0)) {
		size_t unset = BOUND_UNSET;
		atomic_compare_exchange_strong(&bound, &unset, bound_from_env());
		b = atomic_load(&bound);
	}
	return b;
}

/* The block goes back to the backend, unless it was written to after its free:
 * then it is reported and leaked (it stays in the registry as freed). */
static void release(struct qitem *it) {
	if (block_verify_poison(it->p, &it->m) != 0)
		return;
	reg_remove(it->p);
	backend_free(check_base(it->p, &it->m), it->m.usable);
}

/* Takes up to EVICT_BATCH oldest blocks while the queue passes limit, keeping
 * `keep` blocks at least. Caller holds the lock. */
static int take_oldest(size_t limit, size_t keep, struct qitem *out) {
	int k = 0;
	while (k < EVICT_BATCH && q.bytes > limit && q.count > keep) {
		out[k++] = q.ring[q.first];
		q.bytes -= q.ring[q.first].m.usable;
		q.first = (q.first + 1) & (q.cap - 1);
		q.count--;
	}
	return k;
}

/* Releases blocks until the queue fits limit; the verification and the frees run unlocked. */
static void evict(size_t limit, size_t keep) {
	struct qitem out[EVICT_BATCH];
	int k;
	do {
		qlock();
		k = take_oldest(limit, keep, out);
		qunlock();
		for (int i = 0; i < k; i++)
			release(&out[i]);
	} while (k == EVICT_BATCH);
}

/* Doubles the ring; 0, or -1 when out of memory. Caller holds the lock. */
static int grow_ring(void) {
	size_t cap = q.cap ? q.cap * 2 : 1024;
	struct qitem *r = backend_raw_alloc(cap * sizeof(*r));
	if (r == NULL)
		return -1;
	for (size_t i = 0; i < q.count; i++)
		r[i] = q.ring[(q.first + i) & (q.cap - 1)];
	backend_raw_free(q.ring);
	q.ring = r;
	q.cap = cap;
	q.first = 0;
	return 0;
}

void quarantine_finish(const struct reg_evicted *ev, int n) {
	for (int i = 0; i < n; i++) {
		if (ev[i].bad)
			block_report(ev[i].p, &ev[i].m, "quarantine exit", &ev[i].f, 1);
		else
			backend_free(check_base(ev[i].p, &ev[i].m), ev[i].m.usable);
	}
}

void quarantine_push(void *p, const struct check_meta *m) {
	struct qitem it = { p, *m };
	size_t limit = quarantine_bound() / 2;
	if (limit == 0) {
		release(&it);
		return;
	}
	qlock();
	if (q.count == q.cap && grow_ring() != 0) {
		qunlock();
		release(&it);   /* no room to remember it: give it back now */
		return;
	}
	q.ring[(q.first + q.count) & (q.cap - 1)] = it;
	q.count++;
	q.bytes += m->usable;
	int over = q.bytes > limit && q.count > 1;
	qunlock();
	if (over)
		evict(limit, 1);
}

size_t skynet_mem_check_quarantine(size_t bytes) {
	size_t old = quarantine_bound();
	if (bytes == BOUND_UNSET)
		bytes--;
	atomic_store(&bound, bytes);
	reg_trim(bytes, quarantine_finish);
	evict(bytes / 2, 0);
	return old;
}

#else

#include "skynet_mem.h"

size_t skynet_mem_check_quarantine(size_t bytes) {
	(void)bytes;
	return 0;
}

#endif
