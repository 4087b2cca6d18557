/* Many services per worker: 2 worker threads, each dispatching its own
 * services round-robin. A dispatch is what a skynet service does with a
 * message: switch the current service, free the message it received, allocate
 * two scratch blocks and a reply, hand the reply to the next service
 * (skynet_mem_transfer) and free the scratch blocks.
 * Cases, interleaved in one run, best of reps, ns per dispatch per worker:
 *   bare jemalloc        the same allocations, no accounting (reference)
 *   1 service            each worker runs one service
 *   10000 services       each worker runs 10,000 (target: <= 1.15x 1 service)
 *   2 colliding          two services whose handles share a slot of the old
 *                        64-slot direct-mapped ledger (target: <= 1.1x apart)
 *   2 apart              two services in different slots
 * Usage: bench_services [dispatches per worker (2000000)] [reps (5)]
 *        bench_services --one bare|one|many|colliding|apart [dispatches]
 *        (one case, for callgrind: prints the dispatches it ran) */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define WORKERS 2
#define MANY 10000

enum kind { BARE, ONE, MANY_SERVICES, COLLIDING, APART, NCASES };

static const char *case_name[NCASES] = {
	"bare jemalloc", "1 service", "10000 services", "2 colliding", "2 apart",
};

/* Names for --one. */
static const char *case_tag[NCASES] = { "bare", "one", "many", "colliding", "apart" };


struct worker {
	enum kind kind;
	uint32_t *handles;
	void **inbox;          /* inbox[i]: the reply handed to service i */
	size_t nservices, dispatches;
	pthread_t thread;
};

/* The old ledger's slot of a handle (64 slots, Fibonacci hashing). */
static unsigned old_slot(uint32_t h) {
	return (h * 2654435761u) >> 26;
}

static void pick_handles(struct worker *w, int id) {
	uint32_t base = 0x01000000u + (uint32_t)id * 0x100000u;
	switch (w->kind) {
	case BARE:
	case ONE:
		w->nservices = 1;
		w->handles[0] = base;
		break;
	case MANY_SERVICES:
		w->nservices = MANY;
		for (size_t i = 0; i < MANY; i++)
			w->handles[i] = base + (uint32_t)i;
		break;
	case COLLIDING:
	case APART: {
		w->nservices = 2;
		w->handles[0] = base;
		uint32_t h = base + 1;
		while ((old_slot(h) == old_slot(base)) != (w->kind == COLLIDING))
			h++;
		w->handles[1] = h;
		break;
	}
	default:
		break;
	}
}

__attribute__((noipa)) static void worker_loop(struct worker *w) {
	int bare = w->kind == BARE;
	size_t n = w->nservices, i = 0;
	for (size_t d = 0; d < w->dispatches; d++) {
		uint32_t h = w->handles[i];
		size_t next = i + 1 == n ? 0 : i + 1;
		void *msg = w->inbox[i];   /* the reply the previous service handed here */
		w->inbox[i] = NULL;
		if (bare) {
			je_free(msg);
			char *a = je_malloc(48 + (d & 63)), *b = je_malloc(200), *m = je_malloc(96);
			a[0] = b[0] = m[0] = (char)d;
			w->inbox[next] = m;
			je_free(a);
			je_free(b);
		} else {
			skynet_mem_set_current(h);
			skynet_free(msg);
			char *a = skynet_malloc(48 + (d & 63)), *b = skynet_malloc(200), *m = skynet_malloc(96);
			a[0] = b[0] = m[0] = (char)d;
			skynet_mem_transfer(m, w->handles[next]);
			w->inbox[next] = m;
			skynet_free(a);
			skynet_free(b);
		}
		i = next;
	}
	if (!bare)
		skynet_mem_set_current(0);
}

static void *worker_main(void *arg) {
	worker_loop(arg);
	return NULL;
}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Runs one case on both workers; wall ns per dispatch per worker. */
static double run_case(enum kind kind, size_t dispatches) {
	struct worker w[WORKERS];
	for (int id = 0; id < WORKERS; id++) {
		w[id].kind = kind;
		w[id].handles = calloc(MANY, sizeof(uint32_t));
		w[id].inbox = calloc(MANY, sizeof(void *));
		w[id].dispatches = dispatches;
		pick_handles(&w[id], id);
	}
	double t = now_ns();
	for (int id = 0; id < WORKERS; id++)
		pthread_create(&w[id].thread, NULL, worker_main, &w[id]);
	for (int id = 0; id < WORKERS; id++)
		pthread_join(w[id].thread, NULL);
	double ns = (now_ns() - t) / dispatches;
	for (int id = 0; id < WORKERS; id++) {
		for (size_t i = 0; i < w[id].nservices; i++)
			if (w[id].inbox[i])
				(kind == BARE ? je_free : skynet_free)(w[id].inbox[i]);
		free(w[id].handles);
		free(w[id].inbox);
	}
	return ns;
}

static int case_of(const char *name) {
	for (int k = 0; k < NCASES; k++)
		if (strcmp(name, case_tag[k]) == 0)
			return k;
	return -1;
}

int main(int argc, char **argv) {
	if (bare_jemalloc_find("bench_services") != 0)
		return 1;
	if (argc > 2 && strcmp(argv[1], "--one") == 0) {
		int k = case_of(argv[2]);
		if (k < 0) {
			fprintf(stderr, "bench_services: unknown case '%s'\n", argv[2]);
			return 2;
		}
		size_t d = argc > 3 ? strtoull(argv[3], NULL, 10) : 200000;
		run_case((enum kind)k, d);
		printf("%zu\n", d * WORKERS);
		return 0;
	}
	size_t dispatches = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	double best[NCASES];
	for (int k = 0; k < NCASES; k++)
		best[k] = 1e30;
	for (int r = 0; r < reps; r++)
		for (int j = 0; j < NCASES; j++) {
			int k = (r + j) % NCASES;   /* rotate, so drift hits all alike */
			double ns = run_case((enum kind)k, dispatches);
			if (ns < best[k])
				best[k] = ns;
		}
	printf("dispatches: %d workers x %zu, 3 mallocs + 3 frees + 1 transfer each, best of %d\n",
		WORKERS, dispatches, reps);
	printf("%-16s %12s %10s\n", "case", "ns/dispatch", "ratio");
	for (int k = 0; k < NCASES; k++)
		printf("%-16s %9.1f ns %9.2fx\n", case_name[k], best[k], best[k] / best[BARE]);
	printf("\n10000 services / 1 service: %.3fx (target <= 1.15x)\n", best[MANY_SERVICES] / best[ONE]);
	printf("2 colliding / 2 apart:      %.3fx (target <= 1.10x)\n", best[COLLIDING] / best[APART]);
	return 0;
}
