#ifndef SKYNET_MEM_ALLOC_H
#define SKYNET_MEM_ALLOC_H

/* The accounted allocation core shared by skynet_malloc.h and the interposer.
 * align 0 means the allocator's natural alignment. All set errno on failure. */

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "cookie.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* The usable size a block of n bytes plus its cookie is allocated at (and
 * charged); 0 when no allocation can have that size. */
static inline size_t block_class(size_t n, size_t align) {
	return n <= PTRDIFF_MAX - COOKIE_SIZE ? backend_class(n + COOKIE_SIZE, align) : 0;
}

HIDDEN void *mem_alloc(size_t n, size_t align, int zero);
/* malloc: a short path for the common case (release build over jemalloc),
 * mem_alloc(n, 0, 0) otherwise; inline there, so the check build's
 * allocation site stays the caller's. */
#if defined(SKYNET_MEM_USE_JEMALLOC) && !defined(SKYNET_MEM_CHECK)
#define MEM_MALLOC_FAST 1
HIDDEN void *mem_malloc(size_t n);
#else
static inline void *mem_malloc(size_t n) {
	return mem_alloc(n, 0, 0);
}
#endif
HIDDEN void *mem_calloc(size_t nmemb, size_t size);
HIDDEN void *mem_realloc(void *p, size_t n);
HIDDEN void mem_free(void *p);
HIDDEN size_t mem_usable(const void *p);
/* posix_memalign's contract: 0, EINVAL or ENOMEM; never touches *out on error. */
HIDDEN int mem_posix_memalign(void **out, size_t align, size_t n);
HIDDEN void *mem_memalign(size_t align, size_t n);

#endif
