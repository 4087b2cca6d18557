/* The malloc-family interposer (libskynet-mem-hook): LD_PRELOAD it, or link it,
 * and every allocation of the process goes through the accounted core, so
 * third-party C code inside a service is charged too. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "block.h"
#include "options.h"
#include "skynet_mem.h"

SKYNET_MEM_API void *malloc(size_t n) {
	return mem_malloc(n);
}

SKYNET_MEM_API void *calloc(size_t nmemb, size_t size) {
	return mem_calloc(nmemb, size);
}

SKYNET_MEM_API void *realloc(void *p, size_t n) {
	return mem_realloc(p, n);
}

SKYNET_MEM_API void free(void *p) {
	mem_free(p);
}

/* glibc's memalign (and, before 2.38, aligned_alloc) takes any alignment,
 * rounding it up to a power of two; programs rely on that. */
static size_t glibc_alignment(size_t align) {
	if (align <= 1)
		return 1;
	if (align > SIZE_MAX / 2 + 1)
		return SIZE_MAX / 2 + 1;
	size_t a = 1;
	while (a < align)
		a <<= 1;
	return a;
}

SKYNET_MEM_API void *memalign(size_t align, size_t n) {
	return mem_memalign(glibc_alignment(align), n);
}

SKYNET_MEM_API void *aligned_alloc(size_t align, size_t n) {
	return mem_memalign(glibc_alignment(align), n);
}

SKYNET_MEM_API int posix_memalign(void **out, size_t align, size_t n) {
	return mem_posix_memalign(out, align, n);
}

SKYNET_MEM_API void *valloc(size_t n) {
	return mem_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

SKYNET_MEM_API void *pvalloc(size_t n) {
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (n > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	n = n ? (n + page - 1) & ~(page - 1) : page;
	return mem_memalign(page, n);
}

SKYNET_MEM_API void *reallocarray(void *p, size_t nmemb, size_t size) {
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return mem_realloc(p, n);
}

SKYNET_MEM_API size_t malloc_usable_size(void *p) {
	return mem_usable(p);
}

struct sum {
	size_t bytes, blocks;
};

static int add_record(const struct skynet_mem_stat *st, void *ud) {
	struct sum *s = ud;
	s->bytes += st->bytes;
	s->blocks += st->blocks;
	return 0;
}

/* SKYNET_MEM_REPORT=1: print the process totals at exit, and whether they agree
 * with the records and with the count of allocations, so a run of any program
 * can be checked. */
__attribute__((destructor)) static void hook_report(void) {
	if (!option_get(OPTION_REPORT))
		return;
	struct skynet_mem_totals t;
	struct sum s = { 0, 0 };
	skynet_mem_totals(&t);
	skynet_mem_foreach(add_record, &s);
	int consistent = s.bytes == t.bytes && s.blocks == t.blocks &&
		t.allocs - t.frees == t.blocks && (t.blocks == 0) == (t.bytes == 0);
	fprintf(stderr, "skynet-mem: totals bytes=%zu blocks=%zu services=%zu allocs=%" PRIu64
		" frees=%" PRIu64 " consistent=%d\n", t.bytes, t.blocks, t.services, t.allocs, t.frees,
		consistent);
}
