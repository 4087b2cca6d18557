/* skynet's allocation names (skynet_malloc.h) over the accounted core. */

#include <stdint.h>
#include <string.h>

#include "block.h"
#include "current.h"
#include "lua_alloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

void *skynet_malloc(size_t sz) {
	return mem_malloc(sz);
}

void *skynet_calloc(size_t nmemb, size_t size) {
	return mem_calloc(nmemb, size);
}

void *skynet_realloc(void *ptr, size_t size) {
	return mem_realloc(ptr, size);
}

void skynet_free(void *ptr) {
	mem_free(ptr);
}

char *skynet_mem_strdup(const char *str) {
	size_t n = strlen(str) + 1;
	char *p = mem_alloc(n, 0, 0);
	if (p)
		memcpy(p, str, n);
	return p;
}

/* skynet HEAD defines skynet_strdup static inline (skynet_imp.h), so no header
 * declares it; older skynet modules still link against the exported name. */
SKYNET_MEM_API char *skynet_strdup(const char *str);
char *skynet_strdup(const char *str) {
	return skynet_mem_strdup(str);
}

/* skynet's snlua heap: no cookie, as in skynet, but charged to the current
 * service's lua_bytes through the sized Lua path (Lua passes the old size). */
__attribute__((noinline)) static void *lalloc_host(void *ptr, size_t osize, size_t nsize) {
	return lua_alloc_local((void *)(uintptr_t)current_handle(), ptr, osize, nsize);
}

/* A tail jump in the common case (skynet's glue sets the current service):
 * the host's current handle is asked out of line, so this keeps no frame. */
void *skynet_lalloc(void *ptr, size_t osize, size_t nsize) {
	if (__builtin_expect(!current_is_default, 0))
		return lalloc_host(ptr, osize, nsize);
	return lua_alloc_local((void *)(uintptr_t)current_tls, ptr, osize, nsize);
}

void *skynet_memalign(size_t alignment, size_t size) {
	return mem_memalign(alignment, size);
}

void *skynet_aligned_alloc(size_t alignment, size_t size) {
	return mem_memalign(alignment, size);
}

int skynet_posix_memalign(void **memptr, size_t alignment, size_t size) {
	return mem_posix_memalign(memptr, alignment, size);
}
