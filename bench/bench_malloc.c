/* malloc+free pairs of mixed small sizes (16..1024 B): bare jemalloc, skynet-mem
 * and a skynet-style slot table, measured in one run. Prints ns per pair and
 * ratios against bare jemalloc, for one thread, a two-thread producer/consumer
 * (allocated by service X on thread A, freed by service Y on thread B), and two
 * independent threads. Usage: bench_malloc [pairs-per-run] [repetitions] [window]
 * (window: live blocks per thread, a power of two; each step frees the oldest) */

#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jemalloc/jemalloc.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"
#include "slot_table.h"

#define SIZES 4096
#define WINDOW_MAX 4096
static size_t window_size = 64;   /* live blocks per thread: free the oldest, allocate anew */
#define RING 16384     /* producer/consumer queue: deep, so neither side waits often */

struct allocator {
	const char *name;
	void *(*alloc)(size_t);
	void (*free)(void *);
	void (*set_current)(uint32_t);
};

static size_t sizes[SIZES];

static void no_current(uint32_t h) {
	(void)h;
}
static void *bare_alloc(size_t n) {
	return je_malloc(n);
}
static void bare_free(void *p) {
	je_free(p);
}

/* The floor of any trailing-cookie scheme, with no accounting at all: allocate
 * the class of n + 4 exactly, write the cookie; at free, one usable-size lookup
 * and a cookie read. The distance from here to skynet-mem is the accounting. */
static void *floor_alloc(size_t n) {
	size_t u = nallocx(n + 4, 0);
	void *p = je_malloc(u);
	uint32_t h = 1;
	memcpy((void *)((uintptr_t)p + u - 4), &h, 4);
	return p;
}
static __thread volatile uint32_t floor_sink;
static void floor_free(void *p) {
	if (p == NULL)
		return;
	size_t u = sallocx(p, 0);
	uint32_t h;
	memcpy(&h, (void *)((uintptr_t)p + u - 4), 4);
	sdallocx(p, u, 0);
	floor_sink += h;
}

static const struct allocator allocators[] = {
	{ "bare jemalloc", bare_alloc, bare_free, no_current },
	{ "skynet-mem", skynet_malloc, skynet_free, skynet_mem_set_current },
	{ "slot table", slot_malloc, slot_free, slot_set_current },
	{ "cookie floor", floor_alloc, floor_free, no_current },
};
#define NALLOC (sizeof(allocators) / sizeof(allocators[0]))

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One service allocating and freeing through a window of live blocks. */
static void churn(const struct allocator *a, uint32_t handle, size_t pairs) {
	void *window[WINDOW_MAX] = { 0 };
	a->set_current(handle);
	for (size_t i = 0; i < pairs; i++) {
		size_t k = i & (window_size - 1);
		a->free(window[k]);
		char *p = a->alloc(sizes[i & (SIZES - 1)]);
		p[0] = (char)i;
		window[k] = p;
	}
	for (size_t k = 0; k < window_size; k++)
		a->free(window[k]);
	a->set_current(0);
}

static double single(const struct allocator *a, size_t pairs) {
	double t = now_ns();
	churn(a, 0x01000001u, pairs);
	return (now_ns() - t) / pairs;
}

struct churn_arg {
	const struct allocator *a;
	uint32_t handle;
	size_t pairs;
};

static void *churn_thread(void *arg) {
	struct churn_arg *c = arg;
	churn(c->a, c->handle, c->pairs);
	return NULL;
}

/* Two threads, two services, each its own churn: wall ns per pair overall. */
static double independent(const struct allocator *a, size_t pairs) {
	pthread_t t[2];
	struct churn_arg arg[2] = { { a, 0x01000002u, pairs / 2 }, { a, 0x01000003u, pairs / 2 } };
	double start = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, churn_thread, &arg[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return (now_ns() - start) / pairs;
}

struct ring {
	void *slot[RING];
	_Alignas(64) atomic_size_t head;
	_Alignas(64) atomic_size_t tail;
	const struct allocator *a;
	size_t pairs;
};

static void *producer(void *arg) {
	struct ring *r = arg;
	r->a->set_current(0x0100000au);   /* service X */
	for (size_t i = 0; i < r->pairs; i++) {
		char *p = r->a->alloc(sizes[i & (SIZES - 1)]);
		p[0] = (char)i;
		size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
		while (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING)
			;
		r->slot[h % RING] = p;
		atomic_store_explicit(&r->head, h + 1, memory_order_release);
	}
	r->a->set_current(0);
	return NULL;
}

static void *consumer(void *arg) {
	struct ring *r = arg;
	r->a->set_current(0x0100000bu);   /* service Y frees X's blocks */
	for (size_t i = 0; i < r->pairs; i++) {
		size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		while (atomic_load_explicit(&r->head, memory_order_acquire) == t)
			;
		r->a->free(r->slot[t % RING]);
		atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	}
	r->a->set_current(0);
	return NULL;
}

static double producer_consumer(const struct allocator *a, size_t pairs) {
	struct ring *r = calloc(1, sizeof(*r));
	r->a = a;
	r->pairs = pairs;
	pthread_t p, c;
	double start = now_ns();
	pthread_create(&c, NULL, consumer, r);
	pthread_create(&p, NULL, producer, r);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	double ns = (now_ns() - start) / pairs;
	free(r);
	return ns;
}

/* Bytes jemalloc reports allocated for a mixed set of live blocks. */
static size_t live_bytes(const struct allocator *a, size_t n) {
	void **blocks = calloc(n, sizeof(void *));
	size_t before, after, len = sizeof(size_t);
	uint64_t epoch = 1;
	a->set_current(0x0100000cu);
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
	mallctl("stats.allocated", &before, &len, NULL, 0);
	for (size_t i = 0; i < n; i++)
		blocks[i] = a->alloc(sizes[i & (SIZES - 1)]);
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
	mallctl("stats.allocated", &after, &len, NULL, 0);
	for (size_t i = 0; i < n; i++)
		a->free(blocks[i]);
	a->set_current(0);
	free(blocks);
	return after - before;
}

typedef double (*measure_fn)(const struct allocator *, size_t);

/* Best of reps, allocators interleaved so drift hits all alike. */
static void measure(measure_fn fn, size_t pairs, int reps, double best[NALLOC]) {
	for (size_t i = 0; i < NALLOC; i++)
		best[i] = 1e30;
	for (int r = 0; r < reps; r++)
		for (size_t i = 0; i < NALLOC; i++) {
			double ns = fn(&allocators[i], pairs);
			if (ns < best[i])
				best[i] = ns;
		}
}

int main(int argc, char **argv) {
	size_t pairs = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	window_size = argc > 3 ? strtoull(argv[3], NULL, 10) : 64;
	if (window_size == 0 || window_size > WINDOW_MAX || (window_size & (window_size - 1))) {
		fprintf(stderr, "bench_malloc: window must be a power of two up to %d\n", WINDOW_MAX);
		return 1;
	}
	if (bare_jemalloc_find("bench_malloc") != 0)
		return 1;
	srand(42);
	for (int i = 0; i < SIZES; i++)
		sizes[i] = 16 + (size_t)(rand() % (1024 - 16 + 1));

	double one[NALLOC], pc[NALLOC], two[NALLOC];
	measure(single, pairs, reps, one);
	measure(producer_consumer, pairs / 2, reps, pc);
	measure(independent, pairs, reps, two);

	printf("malloc+free pairs, sizes 16..1024 B, %zu pairs, window of %zu live blocks, best of %d\n\n",
		pairs, window_size, reps);
	printf("%-14s %10s %7s | %12s %7s | %12s %7s %8s\n", "allocator", "1 thread", "ratio",
		"A->B 2 thr", "ratio", "2 indep thr", "ratio", "scaling");
	for (size_t i = 0; i < NALLOC; i++)
		printf("%-14s %7.2f ns %6.2fx | %9.2f ns %6.2fx | %9.2f ns %6.2fx %7.2fx\n",
			allocators[i].name, one[i], one[i] / one[0], pc[i], pc[i] / pc[0],
			two[i], two[i] / two[0], one[i] / two[i]);
	printf("\nscaling = 1-thread ns / 2-independent-thread ns per pair (2.00x is perfect)\n");

	size_t bare = live_bytes(&allocators[0], 200000);
	size_t ours = live_bytes(&allocators[1], 200000);
	printf("live bytes for 200000 mixed blocks: bare %zu, skynet-mem %zu (%.3fx)\n",
		bare, ours, (double)ours / bare);
	return 0;
}
