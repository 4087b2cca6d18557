/* The C service types: what the host (snlua, logger) and an embedder register. */

#include <pthread.h>
#include <string.h>

#include "kernel.h"

#define MAX_MODULES 32

static struct {
	pthread_mutex_t lock;
	const struct skynet_module *m[MAX_MODULES];
	int n;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

int host_module_register(const struct skynet_module *mod) {
	int r = -1;
	pthread_mutex_lock(&M.lock);
	int dup = 0;
	for (int i = 0; i < M.n; i++)
		dup |= strcmp(M.m[i]->name, mod->name) == 0;
	if (!dup && M.n < MAX_MODULES) {
		M.m[M.n++] = mod;
		r = 0;
	}
	pthread_mutex_unlock(&M.lock);
	return r;
}

const struct skynet_module *host_module_find(const char *name) {
	const struct skynet_module *r = NULL;
	pthread_mutex_lock(&M.lock);
	for (int i = 0; i < M.n && name; i++)
		if (strcmp(M.m[i]->name, name) == 0)
			r = M.m[i];
	pthread_mutex_unlock(&M.lock);
	return r;
}
