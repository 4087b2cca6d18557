/* What finding heap bugs costs: malloc+free pairs (sizes 16..1024 B, a window of
 * 64 live blocks, one thread, as bench_malloc's first column) through bare
 * jemalloc, through skynet-mem as this build made it (MEMORY_CHECK at several
 * quarantine bounds, or a release build under ASan), and, in an ASan build,
 * through ASan's own malloc. Ratios against bare jemalloc in the same run.
 * Usage: bench_check [pairs] [repetitions] */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define SIZES 4096
#define WINDOW 64

static size_t sizes[SIZES];

struct row {
	const char *name;
	void *(*alloc)(size_t);
	void (*free)(void *);
	size_t quarantine;   /* SIZE_MAX: leave the build's setting */
};

static void *bare_alloc(size_t n) {
	return je_malloc(n);
}
static void bare_free(void *p) {
	je_free(p);
}
static void *libc_alloc(size_t n) {
	return malloc(n);
}
static void libc_free(void *p) {
	free(p);
}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double churn(const struct row *r, size_t pairs) {
	void *window[WINDOW] = { 0 };
	skynet_mem_set_current(0x01000001u);
	double t = now_ns();
	for (size_t i = 0; i < pairs; i++) {
		size_t k = i & (WINDOW - 1);
		r->free(window[k]);
		char *p = r->alloc(sizes[i & (SIZES - 1)]);
		p[0] = (char)i;
		window[k] = p;
	}
	for (size_t k = 0; k < WINDOW; k++)
		r->free(window[k]);
	double ns = (now_ns() - t) / pairs;
	skynet_mem_set_current(0);
	return ns;
}

int main(int argc, char **argv) {
	size_t pairs = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	if (bare_jemalloc_find("bench_check") != 0)
		return 1;
	srand(42);
	for (int i = 0; i < SIZES; i++)
		sizes[i] = 16 + (size_t)(rand() % (1024 - 16 + 1));

	size_t q_default = skynet_mem_check_quarantine(SIZE_MAX - 1);
	skynet_mem_check_quarantine(q_default);
	struct row rows[8];
	int nrows = 0;
	rows[nrows++] = (struct row){ "bare jemalloc", bare_alloc, bare_free, SIZE_MAX };
	if (skynet_mem_has_check()) {
		static char label[64];
		snprintf(label, sizeof(label), "check, quarantine %zu KiB", q_default >> 10);
		rows[nrows++] = (struct row){ label, skynet_malloc, skynet_free, q_default };
		rows[nrows++] = (struct row){ "check, quarantine 8 MiB", skynet_malloc, skynet_free, (size_t)8 << 20 };
		rows[nrows++] = (struct row){ "check, quarantine 0", skynet_malloc, skynet_free, 0 };
	} else {
		rows[nrows++] = (struct row){ "skynet-mem", skynet_malloc, skynet_free, SIZE_MAX };
	}
#ifdef UNDER_ASAN
	rows[nrows++] = (struct row){ "ASan's malloc", libc_alloc, libc_free, SIZE_MAX };
#else
	(void)libc_alloc, (void)libc_free;
#endif

	double best[8];
	for (int i = 0; i < nrows; i++)
		best[i] = 1e30;
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < nrows; i++) {
			if (rows[i].quarantine != SIZE_MAX)
				skynet_mem_check_quarantine(rows[i].quarantine);
			double ns = churn(&rows[i], pairs);
			if (ns < best[i])
				best[i] = ns;
		}
	skynet_mem_check_quarantine(q_default);

	printf("malloc+free pairs, sizes 16..1024 B, window %d, 1 thread, %zu pairs, best of %d%s\n",
		WINDOW, pairs, reps, skynet_mem_has_check() ? " (MEMORY_CHECK build)" :
#ifdef UNDER_ASAN
		" (release build under ASan)"
#else
		""
#endif
		);
	for (int i = 0; i < nrows; i++)
		printf("%-28s %8.1f ns  %6.2fx\n", rows[i].name, best[i], best[i] / best[0]);
	return 0;
}
