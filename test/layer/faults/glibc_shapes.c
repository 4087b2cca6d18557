/* The behaviour glibc 2.36's own malloc tests check (tst-malloc, -calloc,
 * -realloc, -memalign, -posix_memalign, -aligned-alloc, -valloc, -pvalloc,
 * -reallocarray, -malloc-too-large, -malloc-thread-exit), written anew.
 * The fork tests (-mallocfork, -mallocfork2, -mallocfork3) are in
 * fork_signal.c. Runs bare and under the interposer; where the layer is
 * present (found with dlsym) its counts are checked too.
 * Usage: glibc_shapes [NAME]  (all when no name) */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "faults.h"
#include "skynet_mem.h"

static volatile size_t big = SIZE_MAX;
static size_t page;

static void tst_malloc(void) {
	errno = 0;
	EXPECT(malloc(big) == NULL && errno == ENOMEM, "malloc(SIZE_MAX)");
	char *p = malloc(0);
	EXPECT(p != NULL, "malloc(0)");
	free(p);
	free(NULL);
	/* Blocks of many sizes hold their bytes, and stay apart. */
	char *b[64];
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)i * i * 37 + 1;
		b[i] = malloc(n);
		EXPECT(b[i] != NULL && malloc_usable_size(b[i]) >= n, "malloc(%zu)", n);
		memset(b[i], i, n);
	}
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)i * i * 37 + 1;
		for (size_t k = 0; k < n; k += 97)
			EXPECT(b[i][k] == (char)i, "block %d overwritten at %zu", i, k);
		free(b[i]);
	}
}

static void tst_calloc(void) {
	/* Zeroed, also when the block reuses dirty memory, small and large. */
	size_t sizes[] = { 1, 24, 100, 1000, 4096, 70000, 300000 };
	for (int r = 0; r < 4; r++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			char *d = malloc(sizes[i]);
			memset(d, 0xff, sizes[i]);
			free(d);
			unsigned char *z = calloc(1, sizes[i]);
			EXPECT(z != NULL, "calloc(1, %zu)", sizes[i]);
			for (size_t k = 0; k < sizes[i]; k++)
				EXPECT(z[k] == 0, "calloc(1, %zu) byte %zu is %d", sizes[i], k, z[k]);
			free(z);
		}
	for (int a = 1; a < 64; a++)
		for (int b = 64 - a; b < 70 - a && b < 64; b++) {
			errno = 0;
			EXPECT(calloc((size_t)1 << a, (size_t)1 << b) == NULL && errno == ENOMEM,
				"calloc(2^%d, 2^%d) overflows", a, b);
		}
	void *p = calloc(0, 10), *q = calloc(10, 0);
	EXPECT(p && q, "calloc with a zero");
	free(p);
	free(q);
}

static void tst_realloc(void) {
	unsigned char *p = realloc(NULL, 10);
	EXPECT(p != NULL, "realloc(NULL, 10)");
	for (int i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	for (size_t n = 11; n < 200000; n = n * 3 / 2 + 1) {
		p = realloc(p, n);
		EXPECT(p != NULL, "realloc up to %zu", n);
		for (int i = 0; i < 10; i++)
			EXPECT(p[i] == i, "contents lost growing to %zu", n);
	}
	p = realloc(p, 5);
	EXPECT(p && p[4] == 4, "shrink");
	errno = 0;
	EXPECT(realloc(p, big) == NULL && errno == ENOMEM && p[4] == 4, "realloc(p, SIZE_MAX)");
	errno = 0;
	EXPECT(realloc(p, 0) == NULL, "realloc(p, 0) frees");
}

static void aligned_family(void *(*fn)(size_t, size_t), const char *name) {
	for (size_t a = 1; a <= ((size_t)1 << 20); a *= 2)
		for (size_t n = 0; n < 3 * a + 100; n += a + 37) {
			unsigned char *p = fn(a, n);
			EXPECT(p != NULL && (uintptr_t)p % a == 0 && malloc_usable_size(p) >= n,
				"%s(%zu, %zu)", name, a, n);
			memset(p, 1, n);
			free(p);
		}
	/* Any alignment is rounded up to a power of two. */
	size_t odd[] = { 3, 24, 100, 3000, 40000 };
	for (size_t i = 0; i < 5; i++) {
		size_t want = 1;
		while (want < odd[i])
			want *= 2;
		void *p = fn(odd[i], 10);
		EXPECT(p != NULL && (uintptr_t)p % want == 0, "%s(%zu, 10)", name, odd[i]);
		free(p);
	}
	errno = 0;
	EXPECT(fn(big, 10) == NULL && errno == EINVAL, "%s(SIZE_MAX, 10)", name);
	errno = 0;
	EXPECT(fn(big / 2 + 2, 10) == NULL && errno == EINVAL, "%s(SIZE_MAX / 2 + 2, 10)", name);
	errno = 0;
	EXPECT(fn(64, big - 100) == NULL && errno == ENOMEM, "%s(64, SIZE_MAX - 100)", name);
}

static void tst_memalign(void) {
	aligned_family(memalign, "memalign");
}

static void tst_aligned_alloc(void) {
	aligned_family(aligned_alloc, "aligned_alloc");
}

static void tst_posix_memalign(void) {
	void *p;
	size_t bad[] = { 0, 1, 2, 4, 12, 24, 48, 100, big, big / 2 + 3 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = &p;
		EXPECT(posix_memalign(&p, bad[i], 10) == EINVAL && p == &p, "posix_memalign(%zu)", bad[i]);
	}
	p = &p;
	EXPECT(posix_memalign(&p, 64, big - 100) == ENOMEM && p == &p, "posix_memalign(64, huge)");
	for (size_t a = sizeof(void *); a <= 65536; a *= 2) {
		errno = 4321;
		EXPECT(posix_memalign(&p, a, 100) == 0 && (uintptr_t)p % a == 0, "posix_memalign(%zu)", a);
		EXPECT(errno == 4321, "errno changed by a successful posix_memalign");
		free(p);
	}
}

static void tst_valloc(void) {
	for (size_t n = 0; n < 5 * page; n += page / 3) {
		void *p = valloc(n);
		EXPECT(p && (uintptr_t)p % page == 0 && malloc_usable_size(p) >= n, "valloc(%zu)", n);
		memset(p, 1, n);
		free(p);
	}
	errno = 0;
	EXPECT(valloc(big - page) == NULL && errno == ENOMEM, "valloc(huge)");
}

static void tst_pvalloc(void) {
	for (size_t n = 1; n < 5 * page; n += page / 3) {
		size_t whole = (n + page - 1) / page * page;
		void *p = pvalloc(n);
		EXPECT(p && (uintptr_t)p % page == 0 && malloc_usable_size(p) >= whole, "pvalloc(%zu)", n);
		memset(p, 1, whole);
		free(p);
	}
	void *z = pvalloc(0);
	EXPECT(z != NULL && (uintptr_t)z % page == 0, "pvalloc(0)");
	free(z);
	errno = 0;
	EXPECT(pvalloc(big - page / 2) == NULL && errno == ENOMEM, "pvalloc(huge)");
}

static void tst_reallocarray(void) {
	char *p = reallocarray(NULL, 10, 10);
	EXPECT(p != NULL, "reallocarray(NULL, 10, 10)");
	memset(p, 9, 100);
	errno = 0;
	EXPECT(reallocarray(p, big / 2, 3) == NULL && errno == ENOMEM && p[99] == 9, "overflow keeps p");
	errno = 0;
	EXPECT(reallocarray(p, big / 4, 5) == NULL && errno == ENOMEM, "overflow");
	p = reallocarray(p, 1000, 10);
	EXPECT(p && p[99] == 9, "grows");
	free(p);
}

static void tst_malloc_too_large(void) {
	size_t limits[] = { big, big / 2 + 1, (size_t)PTRDIFF_MAX + 1 };
	void *keep = malloc(10);
	for (int l = 0; l < 3; l++)
		for (size_t k = 0; k < 70000; k += 777) {
			size_t n = limits[l] - k;
			void *p;
#define TOO_LARGE(expr) do { errno = 0; EXPECT((expr) == NULL && errno == ENOMEM, "%s, n = %zu", #expr, n); } while (0)
			TOO_LARGE(malloc(n));
			TOO_LARGE(calloc(1, n));
			TOO_LARGE(calloc(n, 1));
			TOO_LARGE(realloc(keep, n));
			TOO_LARGE(reallocarray(keep, n, 1));
			TOO_LARGE(reallocarray(NULL, 1, n));
			TOO_LARGE(memalign(64, n));
			TOO_LARGE(aligned_alloc(64, n));
			TOO_LARGE(valloc(n));
			TOO_LARGE(pvalloc(n));
			EXPECT(posix_memalign(&p, 64, n) == ENOMEM, "posix_memalign(64, %zu)", n);
		}
	free(keep);
}

/* Waves of threads that allocate, hand half their blocks to the next wave
 * and exit; the next wave frees them. */
#define WAVES 6
#define PER_WAVE 8
#define HANDED 50
static void *handed[WAVES + 1][PER_WAVE][HANDED];
static void (*set_current)(uint32_t);

static void *wave_thread(void *arg) {
	uintptr_t id = (uintptr_t)arg;
	int wave = (int)(id / PER_WAVE), me = (int)(id % PER_WAVE);
	if (set_current)
		set_current(0x0e000000u + (uint32_t)id % 5);
	for (int i = 0; i < HANDED; i++)
		free(handed[wave][me][i]);
	for (int i = 0; i < 500; i++) {
		void *p = malloc((size_t)(i % 40) * 50 + 1);
		if (i < HANDED)
			handed[wave + 1][me][i] = p;
		else
			free(p);
	}
	return NULL;
}

static void tst_malloc_thread_exit(void) {
	set_current = (void (*)(uint32_t))dlsym(RTLD_DEFAULT, "skynet_mem_set_current");
	for (int w = 0; w < WAVES; w++) {
		pthread_t t[PER_WAVE];
		for (int i = 0; i < PER_WAVE; i++)
			EXPECT(pthread_create(&t[i], NULL, wave_thread, (void *)(uintptr_t)(w * PER_WAVE + i)) == 0, "create");
		for (int i = 0; i < PER_WAVE; i++)
			pthread_join(t[i], NULL);
	}
	for (int i = 0; i < PER_WAVE; i++)
		for (int k = 0; k < HANDED; k++)
			free(handed[WAVES][i][k]);
	int (*stat)(uint32_t, struct skynet_mem_stat *) =
		(int (*)(uint32_t, struct skynet_mem_stat *))dlsym(RTLD_DEFAULT, "skynet_mem_stat");
	if (stat == NULL)
		return;
	unsigned long long allocs = 0;
	for (uint32_t h = 0; h < 5; h++) {
		struct skynet_mem_stat st;
		EXPECT(stat(0x0e000000u + h, &st) == 0, "no record");
		EXPECT(st.blocks == 0 && st.bytes == 0, "service %u owns %zu blocks", h, st.blocks);
		allocs += st.allocs;
	}
	EXPECT(allocs == WAVES * PER_WAVE * 500, "allocs %llu", allocs);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "malloc", tst_malloc }, { "calloc", tst_calloc }, { "realloc", tst_realloc },
	{ "memalign", tst_memalign }, { "posix_memalign", tst_posix_memalign },
	{ "aligned-alloc", tst_aligned_alloc }, { "valloc", tst_valloc }, { "pvalloc", tst_pvalloc },
	{ "reallocarray", tst_reallocarray }, { "malloc-too-large", tst_malloc_too_large },
	{ "malloc-thread-exit", tst_malloc_thread_exit },
};

int main(int argc, char **argv) {
	page = (size_t)sysconf(_SC_PAGESIZE);
	int ran = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (argc < 2 || strcmp(argv[1], tests[i].name) == 0) {
			tests[i].fn();
			printf("PASS tst-%s\n", tests[i].name);
			ran++;
		}
	EXPECT(ran > 0, "no test named %s", argv[1]);
	return 0;
}
