/* Load-time set-up of the jemalloc backend's fast path (see backend.h). */

#ifdef SKYNET_MEM_USE_JEMALLOC

#include <dlfcn.h>

#include "backend.h"

uint16_t backend_class_table[BACKEND_CLASS_TABLE_MAX / 8 + 1];

static void *malloc_by_mallocx(size_t n) {
	return mallocx(n, 0);
}

static void free_by_dallocx(void *p) {
	dallocx(p, 0);
}

static void *realloc_by_rallocx(void *p, size_t n) {
	return rallocx(p, n, 0);
}

void *(*backend_je_malloc)(size_t) = malloc_by_mallocx;
void (*backend_je_free)(void *) = free_by_dallocx;
void *(*backend_je_realloc)(void *, size_t) = realloc_by_rallocx;

__attribute__((constructor)) static void backend_init(void) {
	for (size_t i = 0; i <= BACKEND_CLASS_TABLE_MAX / 8; i++)
		backend_class_table[i] = (uint16_t)nallocx(i ? i * 8 : 1, 0);
	/* Looked up in jemalloc's own object, which comes before libc in its scope. */
	void *lib = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
	void *fn = lib ? dlsym(lib, "malloc") : NULL;
	void *fr = lib ? dlsym(lib, "free") : NULL;
	void *re = lib ? dlsym(lib, "realloc") : NULL;
	if (fn && fr && re) {
		backend_je_malloc = (void *(*)(size_t))fn;
		backend_je_free = (void (*)(void *))fr;
		backend_je_realloc = (void *(*)(void *, size_t))re;
	}
}

#endif
