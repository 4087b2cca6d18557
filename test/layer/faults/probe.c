/* Every entry point of the malloc family at its edges, one line per call:
 * what it returned (NULL or not, alignment honoured, usable size enough,
 * contents kept) and errno. Run bare and under the interposer: the two
 * outputs must be the same (compare_probe.sh). Compiled without builtins, so
 * every call reaches the allocator. */

#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile size_t big = SIZE_MAX;   /* opaque to the compiler */

static const char *err_name(int e) {
	switch (e) {
	case 0: return "0";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	default: return "other";
	}
}

/* A block from the allocator: aligned to align, usable for n bytes. */
static void show(const char *call, void *p, size_t align, size_t n, int err) {
	if (p == NULL) {
		printf("%-40s NULL errno=%s\n", call, err_name(err));
		return;
	}
	int aligned = align == 0 || (uintptr_t)p % align == 0;
	size_t u = malloc_usable_size(p);
	int usable = u >= n;
	memset(p, 0x5a, u < n ? u : n);
	printf("%-40s block aligned=%d usable=%d errno=%s\n", call, aligned, usable, err_name(err));
	free(p);
}

#define CALL(expr, align, n) do { \
	errno = 0; \
	void *p_ = (expr); \
	show(#expr, p_, align, n, errno); \
} while (0)

static void pm(const char *what, size_t align, size_t n) {
	void *p = (void *)&big;
	errno = 0;
	int r = posix_memalign(&p, align, n);
	int err = errno;
	char call[64];
	snprintf(call, sizeof(call), "posix_memalign(%s)", what);
	if (r != 0) {
		printf("%-40s returned %s, out %s, errno=%s\n", call, err_name(r),
			p == (void *)&big ? "untouched" : "written", err_name(err));
		return;
	}
	show(call, p, align, n, err);
}

static void realloc_edges(void) {
	char *p = malloc(100);
	memset(p, 7, 100);
	errno = 0;
	char *q = realloc(p, big);
	printf("%-40s %s errno=%s kept=%d\n", "realloc(p, SIZE_MAX)", q ? "block" : "NULL",
		err_name(errno), p[99] == 7);
	errno = 0;
	q = realloc(p, big / 2);
	printf("%-40s %s errno=%s\n", "realloc(p, SIZE_MAX / 2)", q ? "block" : "NULL", err_name(errno));
	errno = 0;
	q = reallocarray(p, big / 2, 3);
	printf("%-40s %s errno=%s kept=%d\n", "reallocarray(p, SIZE_MAX / 2, 3)", q ? "block" : "NULL",
		err_name(errno), p[99] == 7);
	q = realloc(p, 5000);
	printf("%-40s %s kept=%d\n", "realloc(p, 5000)", q ? "block" : "NULL", q && q[99] == 7);
	q = realloc(p = q, 10);
	printf("%-40s %s kept=%d\n", "realloc(p, 10)", q ? "block" : "NULL", q && q[9] == 7);
	errno = 0;
	q = realloc(q, 0);
	printf("%-40s %s errno=%s\n", "realloc(p, 0)", q ? "block" : "NULL", err_name(errno));
	free(q);
	errno = 12345;
	free(malloc(10));
	printf("%-40s errno kept=%d\n", "free(p)", errno == 12345);
	errno = 0;
	free(NULL);
	printf("%-40s errno=%s\n", "free(NULL)", err_name(errno));
	printf("%-40s %zu\n", "malloc_usable_size(NULL)", malloc_usable_size(NULL));
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	CALL(malloc(0), 16, 0);
	CALL(malloc(1), 16, 1);
	CALL(malloc(100000), 16, 100000);
	CALL(malloc(big), 0, 0);
	CALL(malloc(big / 2), 0, 0);
	CALL(malloc(big / 2 + 1), 0, 0);
	CALL(malloc(big - 4096), 0, 0);
	CALL(calloc(0, 0), 0, 0);
	CALL(calloc(0, big), 0, 0);
	CALL(calloc(big, 0), 0, 0);
	CALL(calloc(10, 10), 16, 100);
	CALL(calloc(big / 2, 3), 0, 0);
	CALL(calloc(big / 16, 16), 0, 0);
	CALL(calloc(1, big), 0, 0);
	CALL(realloc(NULL, 0), 16, 0);
	CALL(realloc(NULL, 100), 16, 100);
	CALL(realloc(NULL, big), 0, 0);
	CALL(reallocarray(NULL, 10, 10), 16, 100);
	CALL(reallocarray(NULL, big / 2, 3), 0, 0);
	CALL(reallocarray(NULL, 0, 0), 0, 0);
	CALL(memalign(0, 10), 0, 10);
	CALL(memalign(1, 10), 1, 10);
	CALL(memalign(3, 10), 4, 10);
	CALL(memalign(24, 100), 32, 100);
	CALL(memalign(64, 100), 64, 100);
	CALL(memalign(3000, 10), 4096, 10);
	CALL(memalign(page, 1), page, 1);
	CALL(memalign(1 << 20, 10), 1 << 20, 10);
	CALL(memalign(64, big), 0, 0);
	CALL(memalign(64, big - 100), 0, 0);
	CALL(memalign(big / 2 + 1, 10), 0, 0);
	CALL(memalign(big / 2 + 2, 10), 0, 0);
	CALL(memalign(big, 10), 0, 0);
	CALL(aligned_alloc(0, 10), 0, 10);
	CALL(aligned_alloc(1, 10), 1, 10);
	CALL(aligned_alloc(3, 10), 4, 10);
	CALL(aligned_alloc(24, 100), 32, 100);
	CALL(aligned_alloc(64, 100), 64, 100);
	CALL(aligned_alloc(64, 10), 64, 10);
	CALL(aligned_alloc(page, page), page, page);
	CALL(aligned_alloc(64, big), 0, 0);
	CALL(aligned_alloc(big / 2 + 1, 10), 0, 0);
	CALL(aligned_alloc(big, 10), 0, 0);
	pm("0, 10", 0, 10);
	pm("1, 10", 1, 10);
	pm("4, 10", 4, 10);
	pm("8, 10", 8, 10);
	pm("16, 0", 16, 0);
	pm("24, 10", 24, 10);
	pm("48, 10", 48, 10);
	pm("64, 100", 64, 100);
	pm("4096, 1", 4096, 1);
	pm("64, SIZE_MAX", 64, big);
	pm("64, SIZE_MAX / 2", 64, big / 2);
	pm("SIZE_MAX / 2 + 1, 10", big / 2 + 1, 10);
	pm("SIZE_MAX, 10", big, 10);
	CALL(valloc(0), page, 0);
	CALL(valloc(1), page, 1);
	CALL(valloc(page + 1), page, page + 1);
	CALL(valloc(big), 0, 0);
	CALL(valloc(big - page), 0, 0);
	CALL(pvalloc(0), page, 0);   /* glibc: memalign(page, 0), under a page usable; the header layout: a page */
	CALL(pvalloc(1), page, page);
	CALL(pvalloc(page + 1), page, 2 * page);
	CALL(pvalloc(big), 0, 0);
	CALL(pvalloc(big - page), 0, 0);
	CALL(pvalloc(big / 2), 0, 0);
	realloc_edges();
	return 0;
}
