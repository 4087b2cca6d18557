/* Which services are guarded and how often (guard.h), and the public guard
 * API of skynet_mem.h. A thread counts the blocks of the guarded service it
 * runs; when the next one is to be guarded it "arms": malloc's short path
 * then sends every request to mem_alloc (malloc_short_max = 0), where the
 * requested size is known, until that block is placed. Other threads take
 * the longer path for that moment too: one block's time at every = N > 1. */

#include <errno.h>
#include <string.h>

#include "skynet_mem.h"

#ifdef SKYNET_MEM_CHECK   /* the check build has its own checker */

#include "guard.h"

int guard_active;

void guard_enter(uint32_t handle) {
	(void)handle;
}

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

#include "block.h"
#include "current.h"
#include "guard.h"
#include "guard_pool.h"
#include "ledger.h"
#include "options.h"

#define SERVICES 64   /* services guarded at once (the whole process: SKYNET_MEM_GUARD) */

int guard_active;

static struct spin_lock lock = SPIN_LOCK_INIT;
static struct {
	uint32_t handle;
	unsigned every;
} table[SERVICES];
static int used;                    /* entries of table, under lock */
static unsigned every_all;          /* SKYNET_MEM_GUARD: every service */
static unsigned generation;         /* bumped at each change, under lock */
static int armed_threads;           /* under lock */

/* The calling thread's view of its current service. */
static __thread struct {
	uint32_t handle;
	unsigned every, left;   /* left: blocks until (and with) the next guarded one */
	unsigned gen;           /* generation + 1 when read; 0: never */
	int armed, busy;
} me TLS_IE;

static unsigned every_locked(uint32_t handle) {
	for (int k = 0; k < used; k++)
		if (table[k].handle == handle)
			return table[k].every;
	return every_all;
}

static void arm(void) {
#ifdef MEM_MALLOC_FAST
	if (me.armed)
		return;
	me.armed = 1;
	spin_lock(&lock);
	if (armed_threads++ == 0)
		__atomic_store_n(&malloc_short_max, 0, __ATOMIC_RELAXED);
	spin_unlock(&lock);
#endif
}

static void disarm(void) {
#ifdef MEM_MALLOC_FAST
	if (!me.armed)
		return;
	me.armed = 0;
	spin_lock(&lock);
	if (--armed_threads == 0)
		__atomic_store_n(&malloc_short_max, malloc_short_bound, __ATOMIC_RELAXED);
	spin_unlock(&lock);
#endif
}

/* Brings the thread's view up to date for handle. */
static void refresh(uint32_t handle) {
	unsigned gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE) + 1;
	if (me.gen == gen && me.handle == handle)
		return;
	spin_lock(&lock);
	unsigned every = every_locked(handle);
	gen = generation + 1;
	spin_unlock(&lock);
	me.handle = handle;
	me.gen = gen;
	me.every = every;
	if (me.left == 0 || me.left > every)
		me.left = every;
	if (every == 0 || (every > 1 && me.left > 1))
		disarm();
	else
		arm();
}

/* A guarded service's slot stays out of malloc's cache: its blocks come here. */
static void uncache(void) {
	if (ledger_current != LEDGER_NONE && ledger_current->key == slot_key(me.handle))
		ledger_current = LEDGER_NONE;
}

void guard_enter(uint32_t handle) {
	if (me.busy)
		return;
	refresh(handle);
	if (me.every)
		uncache();
}

void guard_counted(uint32_t handle) {
	if (me.busy)
		return;
	refresh(handle);
	if (me.every == 0)
		return;
	uncache();
	if (me.left > 1 && --me.left == 1)
		arm();
}

void *guard_alloc(uint32_t handle, size_t n, size_t align, int zero, size_t u) {
	(void)zero;   /* a slot's pages read 0 */
	if (me.busy)
		return NULL;
	refresh(handle);
	if (me.every == 0)
		return NULL;
	if (me.left > 1) {
		if (--me.left == 1)
			arm();
		return NULL;
	}
	me.left = me.every;
	if (me.every > 1)
		disarm();
	if (n > GUARD_MAX || u == 0 || guard_top == 0)
		return NULL;
	me.busy = 1;
	uintptr_t pcs[GUARD_FRAMES];
	int k = guard_stack(pcs, GUARD_FRAMES, 1);   /* may allocate (first use): before the lookup */
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
	} else if (k < used) {
		table[k] = table[--used];
	}
	__atomic_store_n(&generation, generation + 1, __ATOMIC_RELEASE);
	spin_unlock(&lock);
	if (guard_active)
		guard_enter(current_handle());   /* the calling thread applies it now */
	return 0;
}

unsigned skynet_mem_guard_every(uint32_t handle) {
	spin_lock(&lock);
	unsigned every = every_locked(handle);
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
