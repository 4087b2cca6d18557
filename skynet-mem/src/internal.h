#ifndef SKYNET_MEM_INTERNAL_H
#define SKYNET_MEM_INTERNAL_H

/* What every file of the layer shares: how a name is seen, thread-local
 * storage, and the one spin lock.
 *
 * The files, each using only those above it:
 *   internal.h  options.c  thread_key.c   shared conventions, env table, per-thread keys
 *   backend.c   cookie.h                  the raw allocator; the release block's owner tag
 *   record.c                              the service table: exact shared records
 *   ledger.c                              per-thread pending deltas, published to records
 *   current.c                             the current service (owner of new blocks)
 *   large_owner.c                         owners of large release blocks, by address
 *   block.h  -> block.c | check/          block operations, one implementation per build
 *   api.c stats.c skynet_malloc.c lua_alloc.c hook.c check_stub.c   the public surface
 *
 * Visibility, one convention: a public function carries SKYNET_MEM_API
 * (skynet_mem_api.h) and the skynet_mem_ prefix, or one of skynet's own names
 * (skynet_malloc.h, malloc_hook.h, the malloc family of the interposer). Every
 * other function and variable of the layer is declared HIDDEN in the header of
 * the one file that defines it. The library is compiled with hidden visibility
 * anyway; HIDDEN on the declaration lets callers skip the PLT and the GOT. */

#include <sched.h>
#include <stdatomic.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* Thread-local variables of the layer: a fixed offset from the thread pointer,
 * no __tls_get_addr call. Kept small (the module may be dlopened). */
#define TLS_IE __attribute__((tls_model("initial-exec")))

/* A test-and-test-and-set lock for short critical sections that must not
 * allocate (a mutex would do, but these sit inside malloc and fork handlers). */
struct spin_lock {
	atomic_int held;
};

#define SPIN_LOCK_INIT { 0 }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void spin_lock(struct spin_lock *l) {
	for (;;) {
		if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
			return;
		for (int spin = 0; atomic_load_explicit(&l->held, memory_order_relaxed); spin++) {
			if (spin > 64)
				sched_yield();
			else
				cpu_relax();
		}
	}
}

static inline void spin_unlock(struct spin_lock *l) {
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

#endif
