/* The je_ names skynet's own malloc_hook.c calls, over Debian's jemalloc
 * (built without a prefix). skynet's hook defines malloc, free ... itself, so
 * these go to jemalloc's non-standard entry points, which it does not hide.
 * Used by bench/skynet/run.sh only, as the include folder of skynet's build. */
#ifndef SKYNET_MEM_BENCH_JE_SHIM_H
#define SKYNET_MEM_BENCH_JE_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <jemalloc/jemalloc.h>

static inline void *je_malloc(size_t n) {
	return mallocx(n ? n : 1, 0);
}

static inline void *je_calloc(size_t nmemb, size_t size) {
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n))
		return NULL;
	return mallocx(n ? n : 1, MALLOCX_ZERO);
}

static inline void *je_realloc(void *p, size_t n) {
	if (p == NULL)
		return je_malloc(n);
	return rallocx(p, n ? n : 1, 0);
}

static inline void je_free(void *p) {
	if (p)
		dallocx(p, 0);
}

static inline void *je_memalign(size_t align, size_t n) {
	return mallocx(n ? n : 1, MALLOCX_ALIGN(align));
}

static inline void *je_aligned_alloc(size_t align, size_t n) {
	return je_memalign(align, n);
}

static inline int je_posix_memalign(void **out, size_t align, size_t n) {
	void *p = je_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

#define je_mallctl mallctl
#define je_malloc_stats_print malloc_stats_print

#endif
