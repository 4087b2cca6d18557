/* Preloaded after the interposer, so its constructor runs before the
 * interposer's own: every entry point, dlsym and a thread are used before
 * the layer has initialised itself. The program then checks the counts. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void *early_kept[8];
int early_done;

static void *early_thread(void *arg) {
	(void)arg;
	for (int i = 0; i < 100; i++)
		free(malloc((size_t)i * 10 + 1));
	return NULL;
}

__attribute__((constructor)) static void early(void) {
	void *(*next)(size_t) = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	void *lib = dlopen("libm.so.6", RTLD_NOW);
	early_kept[0] = malloc(10);
	early_kept[1] = calloc(3, 10);
	early_kept[2] = realloc(malloc(5), 50);
	early_kept[3] = memalign(64, 10);
	early_kept[4] = aligned_alloc(64, 64);
	if (posix_memalign(&early_kept[5], 32, 10) != 0)
		early_kept[5] = NULL;
	early_kept[6] = valloc(10);
	early_kept[7] = strdup("early");
	free(malloc(0));
	pthread_t t;
	if (pthread_create(&t, NULL, early_thread, NULL) == 0)
		pthread_join(t, NULL);
	early_done = next != NULL && lib != NULL;
}
