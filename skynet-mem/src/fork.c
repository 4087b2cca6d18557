/* The layer across fork(). The child must not inherit a lock that another
 * thread held (that thread does not exist there), so the fork handler takes
 * every lock of the layer before the fork and gives them back after, in
 * parent and child. Three things make that safe where a plain lock-all is not:
 *
 * - A fork() from a signal handler that interrupted the thread inside a
 *   critical section would wait for its own lock for ever. A lock word holds
 *   its holder's identity (internal.h): a lock this very thread holds is left
 *   as it is. Its critical section resumes when the handler returns, in the
 *   parent and in a child that returns from the handler too; a child that
 *   ends in the handler (_exit, exec) never needs it.
 * - A signal arriving inside fork() itself (between these handlers, or in
 *   another library's, such as jemalloc's, which run inside ours) whose
 *   handler forks would re-enter them: every signal is blocked from the first
 *   prepare handler to the last parent/child handler, and the old mask put
 *   back then. A signal sent meanwhile is delivered right after the fork.
 * - Two threads forking at once, one of them from a handler that interrupted
 *   a critical section, would each wait for a lock the other holds. A prepare
 *   that waits too long for one lock gives back every lock it took and starts
 *   again, so the other fork completes first.
 *
 * Registered once, after jemalloc (whose own handlers then run inside the
 * blocked window: pthread_atfork runs prepare handlers in reverse order of
 * registration and the others in order). */

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "backend.h"
#include "block.h"
#include "internal.h"
#include "ledger.h"
#include "limit_events.h"
#include "log.h"
#include "profile.h"
#include "record.h"

__thread long lock_self_tag TLS_IE;

#define PATIENCE 1000   /* yields waiting for one lock before starting again */

/* The signal mask before the fork: signals 1-64, the ones Linux has. */
static __thread uint64_t mask_before TLS_IE;
_Static_assert(sizeof(sigset_t) >= sizeof(uint64_t), "sigset_t holds signals 1-64 first");

#define LAYER_GROUPS 5   /* the layer's own groups, after the block's */
#define GROUPS (BLOCK_LOCK_GROUPS + LAYER_GROUPS)

/* Every lock of the layer, outermost first. A new lock of the layer joins
 * this list; the compiler then asks for LAYER_GROUPS to grow with it. */
static size_t lock_groups(struct lock_group g[GROUPS]) {
	size_t n = block_locks(g);
	const struct lock_group layer[] = {
		record_locks(), ledger_locks(), limit_event_locks(), log_locks(),
		profile_locks(),   /* a leaf: held around no other lock */
	};
	_Static_assert(sizeof(layer) / sizeof(layer[0]) == LAYER_GROUPS, "room for every group");
	for (size_t i = 0; i < LAYER_GROUPS; i++)
		g[n++] = layer[i];
	return n;
}

static struct spin_lock *lock_at(const struct lock_group *g, size_t i) {
	return (struct spin_lock *)((char *)g->first + i * g->stride);
}

/* What this thread's prepare took carries its identity | 1. */
static uintptr_t fork_word(void) {
	return lock_self() | 1;
}

static void give_back(void) {
	struct lock_group g[GROUPS];
	uintptr_t mine = fork_word();
	for (size_t k = lock_groups(g); k-- > 0;)
		for (size_t i = g[k].count; i-- > 0;) {
			struct spin_lock *l = lock_at(&g[k], i);
			if (atomic_load_explicit(&l->held, memory_order_relaxed) == mine)
				spin_unlock(l);
		}
}

/* 1 when every lock is taken (or held by this thread's interrupted code). */
static int take_all(void) {
	struct lock_group g[GROUPS];
	size_t n = lock_groups(g);
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < g[k].count; i++) {
			struct spin_lock *l = lock_at(&g[k], i);
			if (atomic_load_explicit(&l->held, memory_order_relaxed) == lock_self())
				continue;
			if (!spin_lock_wait(l, fork_word(), PATIENCE))
				return 0;
		}
	return 1;
}

static void before_fork(void) {
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	memcpy(&mask_before, &old, sizeof(mask_before));
	while (!take_all()) {
		give_back();
		sched_yield();
	}
}

static void after_fork(void) {
	give_back();
	sigset_t old;
	sigemptyset(&old);
	memcpy(&old, &mask_before, sizeof(mask_before));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A constructor, not lazily: pthread_atfork may allocate, and the interposer's
 * malloc must not re-enter itself. The allocation first makes sure the
 * backend (jemalloc) is initialised, so its handlers were registered before. */
__attribute__((constructor)) static void fork_init(void) {
	backend_raw_free(backend_raw_alloc(1));
	pthread_atfork(before_fork, after_fork, after_fork);
}
