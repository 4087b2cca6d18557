#ifndef SKYNET_MEM_INTERNAL_H
#define SKYNET_MEM_INTERNAL_H

/* What every file of the layer shares: how a name is seen, thread-local
 * storage, and the one spin lock.
 *
 * The files, each using only those above it:
 *   internal.h  options.c  thread_key.c   shared conventions, env table, per-thread keys
 *   backend.c   cookie.h  owner_header.h  the raw allocator; the release block's owner tag
 *                                         (trailing cookie, or the header layout's)
 *   record.c                              the service table: exact shared records
 *   limit_events.c                        limit crossings: the mode, counts, the host's queue
 *   ledger.c                              per-thread pending deltas, published to records
 *   current.c                             the current service (owner of new blocks)
 *   large_owner.c                         owners of large release blocks, by address
 *   profile/profile.c profile_stack.c     sampled heap profile: side table, stack walk
 *   guard/ report, pool, guard.c          release: guarded slots (reports, pool, policy + API)
 *   block.h  -> block.c | block_header.c | check/   block operations, one per build
 *   block_ledger.h                        the ledger's side of a block, both release layouts
 *   owner_info.c                          owner names, the host's mailbox figures
 *   log.c                                 log lines, through the function the host registers
 *   api.c stats.c skynet_malloc.c lua_alloc.c hook.c check_stub.c   the public surface
 *   profile/profile_dump.c                the heap profile's formats (public)
 *   fork.c                                every lock of the above across fork()
 *
 * Visibility, one convention: a public function carries SKYNET_MEM_API
 * (skynet_mem_api.h) and the skynet_mem_ prefix, or one of skynet's own names
 * (skynet_malloc.h, malloc_hook.h, the malloc family of the interposer). Every
 * other function and variable of the layer is declared HIDDEN in the header of
 * the one file that defines it. The library is compiled with hidden visibility
 * anyway; HIDDEN on the declaration lets callers skip the PLT and the GOT. */

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* Thread-local variables of the layer: a fixed offset from the thread pointer,
 * no __tls_get_addr call. Kept small (the module may be dlopened). */
#define TLS_IE __attribute__((tls_model("initial-exec")))

/* The calling thread's identity in a lock word: the address of one of its
 * thread-local words (never 0, and even: bit 0 marks a lock taken for a
 * fork; defined in fork.c). */
extern __thread long lock_self_tag TLS_IE HIDDEN;

static inline uintptr_t lock_self(void) {
	return (uintptr_t)&lock_self_tag;
}

/* A test-and-test-and-set lock for short critical sections that must not
 * allocate (a mutex would do, but these sit inside malloc and fork handlers).
 * The word holds its holder's identity, so the fork handler (fork.c) can tell
 * a lock that a signal handler's own thread holds from one held elsewhere. */
struct spin_lock {
	atomic_uintptr_t held;     /* 0, or the holder's lock_self() (| 1: taken for a fork) */
};

#define SPIN_LOCK_INIT { 0 }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline int spin_lock_take(struct spin_lock *l, uintptr_t as) {
	uintptr_t free = 0;
	return atomic_compare_exchange_strong_explicit(&l->held, &free, as,
		memory_order_acquire, memory_order_relaxed);
}

/* 1 once l is taken with the word `as`; 0 if still held after `yields`
 * yields (-1: wait for ever). */
static inline int spin_lock_wait(struct spin_lock *l, uintptr_t as, long yields) {
	for (int spin = 0;;) {
		if (atomic_load_explicit(&l->held, memory_order_relaxed) == 0 && spin_lock_take(l, as))
			return 1;
		if (spin < 64) {
			spin++;
			cpu_relax();
			continue;
		}
		if (yields >= 0 && yields-- == 0)
			return 0;
		sched_yield();
	}
}

static inline void spin_lock(struct spin_lock *l) {
	if (__builtin_expect(!spin_lock_take(l, lock_self()), 0))
		spin_lock_wait(l, lock_self(), -1);
}

static inline void spin_unlock(struct spin_lock *l) {
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* count locks, stride bytes apart: how a file hands its locks to fork.c. */
struct lock_group {
	struct spin_lock *first;
	size_t count, stride;
};

#endif
