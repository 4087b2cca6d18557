/* Which services are guarded and how often (guard.h), and the public guard
 * API of skynet_mem.h. A guarded service's blocks are counted by its own
 * allocation counter (the record's, plus the thread's pending), read on the
 * slow paths only; when a block is due, the thread "arms": malloc's short
 * path then sends every request to mem_alloc (malloc_short_max = 0), where
 * the requested size is known, until the next block is placed. Other
 * threads take the longer path for that moment too. At every = 1 the thread
 * stays armed while it runs the service. */

#include <errno.h>
#include <string.h>

#include "skynet_mem.h"

#ifdef SKYNET_MEM_CHECK   /* the check build has its own checker */


int skynet_mem_guard(uint32_t handle, unsigned every) {
	(void)handle, (void)every;
	errno = ENOTSUP;
	return -1;
}

unsigned skynet_mem_guard_every(uint32_t handle) {
	(void)handle;
	return 0;
}

int skynet_mem_guard_underflow(int on) {
	(void)on;
	return 0;
}

size_t skynet_mem_guard_blocks(uint32_t handle) {
	(void)handle;
	return 0;
}

void skynet_mem_guard_info(struct skynet_mem_guard_info *out) {
	memset(out, 0, sizeof(*out));
}

#else

#include "current.h"
#include "guard.h"
#include "guard_pool.h"
#include "ledger.h"
#include "options.h"
#include "thread_key.h"

#define SERVICES 64   /* services guarded at once (the whole process: SKYNET_MEM_GUARD) */

int guard_active;

static struct spin_lock lock = SPIN_LOCK_INIT;
static struct {
	uint32_t handle;
	unsigned every;
	/* The service's count of allocations (all threads) at which the next
	 * block is guarded; 0: not known yet. */
	atomic_uint_fast64_t next;
} table[SERVICES];
static int used;                    /* entries of table, under lock */
static unsigned every_all;          /* SKYNET_MEM_GUARD: every service */
static unsigned generation;         /* bumped at each change, under lock */
static int armed_threads;           /* under lock */
static size_t *short_max, short_bound;   /* the block file's (guard_short_path) */

/* The calling thread's view of its current service. */
static __thread struct {
	uint32_t handle;
	unsigned every;
	unsigned gen;                /* generation + 1 when read; 0: never */
	int entry;                   /* the service's index in table; -1: every_all */
	atomic_uint_fast64_t next;   /* for every_all: this thread's own count */
	int armed, busy, keyed;
} me TLS_IE;

void guard_short_path(size_t *max, size_t bound) {
	short_max = max;
	short_bound = bound;
}

static void disarm(void);

/* A thread that exits armed disarms (else malloc's short path would stay
 * closed for every thread). */
static void thread_gone(void *state) {
	(void)state;
	disarm();
}

static struct thread_key exit_key = THREAD_KEY_INIT(thread_gone);

/* Without a short path (the system allocator's build) every block goes
 * through mem_alloc anyway. */
static void arm(void) {
	if (me.armed)
		return;
	if (!me.keyed) {
		me.keyed = 1;
		me.busy++;   /* the key's first use may allocate */
		thread_key_set(&exit_key, &me);
		me.busy--;
	}
	me.armed = 1;
	spin_lock(&lock);
	if (armed_threads++ == 0 && short_max)
		__atomic_store_n(short_max, 0, __ATOMIC_RELAXED);
	spin_unlock(&lock);
}

static void disarm(void) {
	if (!me.armed)
		return;
	me.armed = 0;
	spin_lock(&lock);
	if (--armed_threads == 0 && short_max)
		__atomic_store_n(short_max, short_bound, __ATOMIC_RELAXED);
	spin_unlock(&lock);
}

/* Brings the thread's view up to date for handle. */
static void refresh(uint32_t handle) {
	unsigned gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE) + 1;
	if (__builtin_expect(me.gen == gen && me.handle == handle, 1))
		return;
	spin_lock(&lock);
	int k = 0;
	while (k < used && table[k].handle != handle)
		k++;
	unsigned every = k < used ? table[k].every : every_all;
	me.gen = generation + 1;
	spin_unlock(&lock);
	if (me.handle != handle || k == used)
		atomic_store_explicit(&me.next, 0, memory_order_relaxed);
	me.handle = handle;
	me.entry = k < used ? k : -1;
	me.every = every;
	if (every != 1)
		disarm();   /* a block due for another service is not this one's */
}

/* A guarded service's slot at every = 1 stays out of malloc's cache: its
 * blocks all come through mem_alloc. */
static void uncache(void) {
	ledger_uncache(me.handle);
}

/* The service's allocations so far: published, and this thread's pending. */
static uint64_t allocs_of(uint32_t handle) {
	struct ledger_slot *s = ledger_peek(handle);
	if (s == &ledger_acc)
		s = ledger_lookup_slow(handle);   /* its changes spill into the slot, with all it counts */
	if (s == NULL || s->rec == NULL)
		return 0;
	return atomic_load_explicit(&s->rec->allocs, memory_order_relaxed) + s->allocs;
}

/* The service's next guarded block: the count its allocations reach then. */
static atomic_uint_fast64_t *next_of(void) {
	return me.entry >= 0 ? &table[me.entry].next : &me.next;
}

/* 1 when block number `count` of the service is due to be guarded. */
static int due(uint64_t count) {
	atomic_uint_fast64_t *next = next_of();
	uint_fast64_t n = atomic_load_explicit(next, memory_order_relaxed);
	if (n == 0) {   /* first seen: the count starts here */
		atomic_compare_exchange_strong(next, &n, count + me.every - 1);
		return 0;
	}
	return count >= n;
}

/* Takes the due block for block number `count` (another thread may have). */
static int claim(uint64_t count) {
	atomic_uint_fast64_t *next = next_of();
	uint_fast64_t n = atomic_load_explicit(next, memory_order_relaxed);
	return count >= n && atomic_compare_exchange_strong(next, &n, count + me.every);
}

/* The count of a guarded service's allocations is read at each switch to
 * it (a dispatch), at malloc's slow charge (a first block after a
 * publication, every 64 KiB of growth) and in mem_alloc (calloc, memalign,
 * realloc, large blocks): when a block is due, the next one goes through
 * mem_alloc, which guards it. So the fast path is untouched and 1 in every
 * blocks is guarded, each taken at the first such point after it is due. */
static void guard_enter(uint32_t handle) {
	if (me.busy)
		return;
	refresh(handle);
	if (me.every == 1) {
		uncache();
		arm();
	} else if (me.every > 1 && due(allocs_of(handle) + 1)) {
		arm();   /* the service's next block */
	}
}

void guard_counted(uint32_t handle) {
	if (me.busy)
		return;
	refresh(handle);
	if (me.every == 0)
		return;
	if (me.every == 1) {
		uncache();
		arm();
	} else if (due(allocs_of(handle) + 1)) {
		arm();   /* this block was made already: the next one */
	}
}

void *guard_alloc(uint32_t handle, size_t n, size_t align, int zero, size_t u) {
	(void)zero;   /* a slot's pages read 0 */
	if (me.busy)
		return NULL;
	refresh(handle);
	if (me.every == 0)
		return NULL;
	if (me.every > 1) {
		disarm();
		if (!claim(allocs_of(handle) + 1))
			return NULL;
	}
	if (n > GUARD_MAX || u == 0 || guard_top == 0 || !guard_pool_room())
		return NULL;   /* the stack is taken only for a block that gets a slot */
	me.busy = 1;
	uintptr_t pcs[GUARD_FRAMES];
	int k = guard_stack(pcs, GUARD_FRAMES);   /* before the lookup (should it allocate) */
	void *p = NULL;
	struct ledger_slot *s = ledger_lookup(handle);
	if (s != NULL && ledger_admit(s, u)) {
		p = guard_pool_alloc(n, align, handle, u, pcs, k);
		if (p != NULL)
			slot_charge(s, (int64_t)u, 1, 1, 0);
		else
			ledger_unused(s);
	} else {
		ledger_unused(s);   /* refused: the normal path refuses it too */
	}
	me.busy = 0;
	return p;
}

/* Makes the pool and installs the handler once; 0 or -1 (errno ENOMEM). */
static int start(void) {
	if (guard_top == 0) {
		spin_lock(&lock);
		int r = guard_pool_make(option_get(OPTION_GUARD_SLOTS), (int)option_get(OPTION_GUARD_UNDERFLOW));
		spin_unlock(&lock);
		if (r != 0) {
			errno = ENOMEM;
			return -1;
		}
	}
	guard_signals();
	current_switch_hook = guard_enter;
	__atomic_store_n(&guard_active, 1, __ATOMIC_RELEASE);
	return 0;
}

int skynet_mem_guard(uint32_t handle, unsigned every) {
	if (every != 0 && start() != 0)
		return -1;   /* start() installs the reports' handler (again, if replaced) */
	spin_lock(&lock);
	int k = 0;
	while (k < used && table[k].handle != handle)
		k++;
	if (k == used && every != 0) {
		if (used == SERVICES) {
			spin_unlock(&lock);
			errno = ENOSPC;
			return -1;
		}
		used++;
	}
	if (every != 0) {
		table[k].handle = handle;
		table[k].every = every;
		atomic_store_explicit(&table[k].next, 0, memory_order_relaxed);
	} else if (k < used) {
		used--;
		table[k].handle = table[used].handle;
		table[k].every = table[used].every;
		atomic_store_explicit(&table[k].next, atomic_load(&table[used].next), memory_order_relaxed);
	}
	__atomic_store_n(&generation, generation + 1, __ATOMIC_RELEASE);
	spin_unlock(&lock);
	if (guard_active)
		guard_enter(current_handle());   /* the calling thread applies it now */
	return 0;
}

unsigned skynet_mem_guard_every(uint32_t handle) {
	spin_lock(&lock);
	int k = 0;
	while (k < used && table[k].handle != handle)
		k++;
	unsigned every = k < used ? table[k].every : every_all;
	spin_unlock(&lock);
	return every;
}

int skynet_mem_guard_underflow(int on) {
	int was = guard_pool.underflow;
	if (guard_top == 0 && start() != 0)
		return -1;
	guard_pool.underflow = on != 0;
	return was;
}

size_t skynet_mem_guard_blocks(uint32_t handle) {
	return guard_top ? guard_pool_owned(handle) : 0;
}

void skynet_mem_guard_info(struct skynet_mem_guard_info *out) {
	memset(out, 0, sizeof(*out));
	if (guard_top == 0)
		return;
	out->slots = guard_pool.slots;
	out->slot_bytes = guard_pool.stride;
	out->pool_bytes = guard_top - guard_lo + 1;
	out->underflow = guard_pool.underflow;
	guard_pool_counts(&out->live, &out->freed, &out->guarded, &out->missed);
}

struct lock_group guard_policy_locks(void) {
	return (struct lock_group){ &lock, 1, sizeof(lock) };
}
/* (exit_key's own lock is held only while the key is made, at a first arm.) */

/* SKYNET_MEM_GUARD=every guards every service from the start. */
__attribute__((constructor)) static void guard_init(void) {
	size_t every = option_get(OPTION_GUARD);
	if (every == 0)
		return;
	every_all = every > 0xffffffffu ? 0xffffffffu : (unsigned)every;
	if (start() != 0)
		every_all = 0;
	__atomic_store_n(&generation, generation + 1, __ATOMIC_RELEASE);
}

#endif
