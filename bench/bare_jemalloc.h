#ifndef SKYNET_MEM_BENCH_BARE_JEMALLOC_H
#define SKYNET_MEM_BENCH_BARE_JEMALLOC_H

/* The baseline of every benchmark: jemalloc's own malloc, free and realloc,
 * looked up in libjemalloc.so.2 (a plain call may bind to glibc's or to the
 * interposer). */

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

static void *(*je_malloc)(size_t);
static void (*je_free)(void *);
static void *(*je_realloc)(void *, size_t);

/* 0, or -1 (said on stderr, naming prog) when jemalloc is not loaded. */
static inline int bare_jemalloc_find(const char *prog) {
	void *je = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
	je_malloc = je ? (void *(*)(size_t))dlsym(je, "malloc") : NULL;
	je_free = je ? (void (*)(void *))dlsym(je, "free") : NULL;
	je_realloc = je ? (void *(*)(void *, size_t))dlsym(je, "realloc") : NULL;
	if (je_malloc == NULL || je_free == NULL || je_realloc == NULL) {
		fprintf(stderr, "%s: jemalloc's malloc/free/realloc not found\n", prog);
		return -1;
	}
	return 0;
}

#endif
