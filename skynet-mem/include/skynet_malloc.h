#ifndef skynet_malloc_h
#define skynet_malloc_h

/* Drop-in for skynet's skynet_malloc.h: every block is charged to the current service. */

#include <stddef.h>

#include "skynet_mem_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define skynet_malloc skynet_malloc
#define skynet_calloc skynet_calloc
#define skynet_realloc skynet_realloc
#define skynet_free skynet_free
#define skynet_memalign skynet_memalign
#define skynet_aligned_alloc skynet_aligned_alloc
#define skynet_posix_memalign skynet_posix_memalign

SKYNET_MEM_API void *skynet_malloc(size_t sz) __attribute__((malloc, alloc_size(1)));
SKYNET_MEM_API void *skynet_calloc(size_t nmemb, size_t size) __attribute__((malloc, alloc_size(1, 2)));
SKYNET_MEM_API void *skynet_realloc(void *ptr, size_t size) __attribute__((alloc_size(2)));
SKYNET_MEM_API void skynet_free(void *ptr);
/* No skynet_strdup here: skynet HEAD defines it static inline in skynet_imp.h
 * (a declaration here would clash); the layer's is skynet_mem_strdup. */
/* skynet's Lua allocator (a lua_Alloc body): no owner inside the block, charged to the
 * current service's lua_bytes, not to its C bytes. */
SKYNET_MEM_API void *skynet_lalloc(void *ptr, size_t osize, size_t nsize);
SKYNET_MEM_API void *skynet_memalign(size_t alignment, size_t size) __attribute__((malloc, alloc_size(2)));
SKYNET_MEM_API void *skynet_aligned_alloc(size_t alignment, size_t size) __attribute__((malloc, alloc_size(2)));
SKYNET_MEM_API int skynet_posix_memalign(void **memptr, size_t alignment, size_t size);

#ifdef __cplusplus
}
#endif

#endif
