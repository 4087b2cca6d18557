/* Exits while another thread still allocates: that thread's blocks, freed
 * here, are counted here while their allocations are still unpublished in
 * the running thread. The exit report must not call that inconsistent. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define HANDED 40

static void *_Atomic slots[HANDED];

static void *allocating(void *arg) {
	(void)arg;
	for (int i = 0; i < HANDED; i++)
		atomic_store(&slots[i], malloc(64));
	for (;;)
		free(malloc(16));
	return NULL;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, NULL, allocating, NULL);
	for (int i = 0; i < HANDED; i++) {
		void *p;
		while ((p = atomic_load(&slots[i])) == NULL)
			;
		free(p);
	}
	return 0;   /* the thread is still running */
}
