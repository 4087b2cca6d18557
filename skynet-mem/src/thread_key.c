/* Per-thread state with a destructor (see thread_key.h). */

#include "thread_key.h"

enum { KEY_UNMADE, KEY_MADE, KEY_FAILED };

/* Made under a spin lock, not pthread_once: the outcome (made or failed) is
 * kept, so a failed pthread_key_create is never mistaken for key 0. */
static int key_state(struct thread_key *k) {
	int s = atomic_load_explicit(&k->state, memory_order_acquire);
	if (__builtin_expect(s != KEY_UNMADE, 1))
		return s;
	spin_lock(&k->lock);
	s = atomic_load_explicit(&k->state, memory_order_relaxed);
	if (s == KEY_UNMADE) {
		s = pthread_key_create(&k->key, k->destroy) == 0 ? KEY_MADE : KEY_FAILED;
		atomic_store_explicit(&k->state, s, memory_order_release);
	}
	spin_unlock(&k->lock);
	return s;
}

int thread_key_set(struct thread_key *k, void *state) {
	if (key_state(k) != KEY_MADE)
		return -1;
	return pthread_setspecific(k->key, state) == 0 ? 0 : -1;
}
