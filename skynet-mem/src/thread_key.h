#ifndef SKYNET_MEM_THREAD_KEY_H
#define SKYNET_MEM_THREAD_KEY_H

/* Per-thread state that must be torn down at thread exit (the ledger, the
 * checker's quarantine): a pthread key made on first use, with its destructor.
 * When no key can be made (the process ran out of keys) or a thread cannot set
 * it, thread_key_set says so, and the caller keeps no such state for that
 * thread: it takes an exact slow path instead. */

#include <pthread.h>

#include "internal.h"

struct thread_key {
	struct spin_lock lock;     /* held while the key is made */
	atomic_int state;          /* KEY_UNMADE, KEY_MADE or KEY_FAILED */
	pthread_key_t key;         /* valid once KEY_MADE */
	void (*destroy)(void *);   /* runs at thread exit with the state set */
};

#define THREAD_KEY_INIT(fn) { SPIN_LOCK_INIT, 0, 0, fn }

/* Registers state for the calling thread; destroy(state) runs when it exits.
 * 0, or -1 when there is no key or the thread cannot hold a value under it. */
HIDDEN int thread_key_set(struct thread_key *k, void *state);

#endif
