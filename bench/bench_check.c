/* What finding heap bugs costs, on three shapes, each through bare jemalloc
 * and through skynet-mem as this build made it (MEMORY_CHECK at several
 * quarantine bounds, or a release build under ASan; in an ASan build also
 * ASan's own malloc), interleaved and best of the repetitions, with ratios
 * against bare jemalloc measured in the same run:
 *   pair   malloc+free pairs, sizes 16..1024 B, a window of 64 live blocks, one
 *          byte written per block (as bench_malloc's first column): the
 *          allocator alone;
 *   churn  one thread as a real program uses its heap: 4096 live blocks,
 *          mostly small (16..256 B, one in eight up to 4 KiB), each filled
 *          when allocated and read before it is freed;
 *   cross  two threads, each its own service, as an actor server's
 *          messages: each allocates and fills batches of 256 blocks
 *          (16..512 B) and trades them with the other, which reads and frees
 *          them: every block is freed on the other thread; ns per block of
 *          both threads together.
 * Usage: bench_check [blocks] [repetitions] */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define PAIR_WINDOW 64
#define CHURN_WINDOW 4096
#define BATCH 256
#define ROWS 8
#define SHAPES 3

static size_t pair_sizes[SIZES], churn_sizes[SIZES], cross_sizes[SIZES];

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

static double pair(const struct row *r, size_t blocks) {
	void *window[PAIR_WINDOW] = { 0 };
	double t = now_ns();
	for (size_t i = 0; i < blocks; i++) {
		size_t k = i & (PAIR_WINDOW - 1);
		r->free(window[k]);
		char *p = r->alloc(pair_sizes[i & (SIZES - 1)]);
		p[0] = (char)i;
		window[k] = p;
	}
	for (size_t k = 0; k < PAIR_WINDOW; k++)
		r->free(window[k]);
	return (now_ns() - t) / blocks;
}

static volatile unsigned sink;

static double churn(const struct row *r, size_t blocks) {
	static unsigned char *window[CHURN_WINDOW];
	static size_t len[CHURN_WINDOW];
	unsigned acc = 0;
	double t = now_ns();
	for (size_t i = 0; i < blocks; i++) {
		size_t k = (i * 2654435761u) & (CHURN_WINDOW - 1);   /* not in order: lifetimes vary */
		if (window[k]) {
			acc += window[k][0] + window[k][len[k] - 1];
			r->free(window[k]);
		}
		size_t n = churn_sizes[i & (SIZES - 1)];
		unsigned char *p = r->alloc(n);
		memset(p, (int)i, n);
		window[k] = p;
		len[k] = n;
	}
	for (size_t k = 0; k < CHURN_WINDOW; k++) {
		r->free(window[k]);
		window[k] = NULL;
	}
	sink = acc;
	return (now_ns() - t) / blocks;
}

/* Two threads, each its own service, trade batches: each allocates and fills
 * a batch, posts it to the other, and reads and frees the batch it got. Every
 * block is freed on the thread that did not allocate it; a hand-off per
 * BATCH blocks (a loaded machine: waits yield, never spin). */
static struct {
	void **_Atomic box[2];   /* the batch posted to thread i; NULL once freed */
	const struct row *r;
	size_t rounds;
} trade;

static void *trader(void *arg) {
	int me = (int)(uintptr_t)arg, other = 1 - me;
	static void *batch[2][2][BATCH];   /* [thread][round % 2]: the other frees one while we fill the next */
	skynet_mem_set_current(0x01000001u + (uint32_t)me);
	unsigned acc = 0;
	size_t k = (size_t)me * 977;
	for (size_t round = 0; round < trade.rounds; round++) {
		void **mine = batch[me][round & 1];
		for (size_t i = 0; i < BATCH; i++) {
			size_t n = cross_sizes[k++ & (SIZES - 1)];
			unsigned char *p = trade.r->alloc(n);
			memset(p, (int)i, n);
			mine[i] = p;
		}
		while (atomic_load_explicit(&trade.box[other], memory_order_acquire) != NULL)
			sched_yield();
		atomic_store_explicit(&trade.box[other], mine, memory_order_release);
		void **got;
		while ((got = atomic_load_explicit(&trade.box[me], memory_order_acquire)) == NULL)
			sched_yield();
		for (size_t i = 0; i < BATCH; i++) {
			unsigned char *p = got[i];
			acc += p[0] + p[1];
			trade.r->free(p);
		}
		atomic_store_explicit(&trade.box[me], NULL, memory_order_release);
	}
	sink = acc;
	skynet_mem_set_current(0);
	return NULL;
}

static double cross(const struct row *r, size_t blocks) {
	trade.r = r;
	trade.rounds = blocks / (2 * BATCH);
	atomic_store(&trade.box[0], NULL);
	atomic_store(&trade.box[1], NULL);
	pthread_t t[2];
	double t0 = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, trader, (void *)(uintptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return (now_ns() - t0) / (trade.rounds * 2 * BATCH);
}

static const struct {
	const char *name;
	double (*run)(const struct row *, size_t);
	size_t scale;   /* blocks per run: the argument divided by this */
} shapes[SHAPES] = { { "pair", pair, 1 }, { "churn", churn, 2 }, { "cross", cross, 4 } };

int main(int argc, char **argv) {
	size_t blocks = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	if (bare_jemalloc_find("bench_check") != 0)
		return 1;
	srand(42);
	for (int i = 0; i < SIZES; i++) {
		pair_sizes[i] = 16 + (size_t)(rand() % (1024 - 16 + 1));
		churn_sizes[i] = i % 8 == 7 ? 16 + (size_t)(rand() % 4081) : 16 + (size_t)(rand() % 241);
		cross_sizes[i] = 16 + (size_t)(rand() % (512 - 16 + 1));
	}

	size_t q_default = skynet_mem_check_quarantine(SIZE_MAX - 1);
	skynet_mem_check_quarantine(q_default);
	struct row rows[ROWS];
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

	double best[SHAPES][ROWS];
	for (int s = 0; s < SHAPES; s++)
		for (int i = 0; i < nrows; i++)
			best[s][i] = 1e30;
	skynet_mem_set_current(0x01000001u);
	for (int r = 0; r < reps; r++)
		for (int s = 0; s < SHAPES; s++)
			for (int i = 0; i < nrows; i++) {
				if (rows[i].quarantine != SIZE_MAX)
					skynet_mem_check_quarantine(rows[i].quarantine);
				double ns = shapes[s].run(&rows[i], blocks / shapes[s].scale);
				if (ns < best[s][i])
					best[s][i] = ns;
			}
	skynet_mem_check_quarantine(q_default);
	skynet_mem_set_current(0);

	printf("ns per block (allocated, used, freed), best of %d%s; pair: %zu blocks, churn %zu, cross %zu\n", reps,
		skynet_mem_has_check() ? ", MEMORY_CHECK build" :
#ifdef UNDER_ASAN
		", release build under ASan",
#else
		"",
#endif
		blocks, blocks / 2, blocks / 4);
	printf("%-28s", "");
	for (int s = 0; s < SHAPES; s++)
		printf(" %10s %7s", shapes[s].name, "ratio");
	printf("\n");
	for (int i = 0; i < nrows; i++) {
		printf("%-28s", rows[i].name);
		for (int s = 0; s < SHAPES; s++)
			printf(" %8.1f ns %6.2fx", best[s][i], best[s][i] / best[s][0]);
		printf("\n");
	}
	return 0;
}
