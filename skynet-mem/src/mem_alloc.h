#ifndef SKYNET_MEM_ALLOC_H
#define SKYNET_MEM_ALLOC_H

/* The accounted allocation core shared by skynet_malloc.h and the interposer.
 * align 0 means the allocator's natural alignment. All set errno on failure. */

#include <stddef.h>
#include <stdint.h>

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN void *mem_alloc(size_t n, size_t align, int zero);
HIDDEN void *mem_calloc(size_t nmemb, size_t size);
HIDDEN void *mem_realloc(void *p, size_t n);
HIDDEN void mem_free(void *p);
HIDDEN size_t mem_usable(const void *p);
/* posix_memalign's contract: 0, EINVAL or ENOMEM; never touches *out on error. */
HIDDEN int mem_posix_memalign(void **out, size_t align, size_t n);
HIDDEN void *mem_memalign(size_t align, size_t n);

#endif
