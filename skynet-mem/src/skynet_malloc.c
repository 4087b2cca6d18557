/* skynet's allocation names (skynet_malloc.h) over the accounted core. */

#include <string.h>

#include "block.h"
#include "skynet_malloc.h"

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

char *skynet_strdup(const char *str) {
	size_t n = strlen(str) + 1;
	char *p = mem_alloc(n, 0, 0);
	if (p)
		memcpy(p, str, n);
	return p;
}

void *skynet_lalloc(void *ptr, size_t osize, size_t nsize) {
	(void)osize;
	if (nsize == 0) {
		mem_free(ptr);
		return NULL;
	}
	return mem_realloc(ptr, nsize);
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
