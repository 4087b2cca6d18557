/* A dispatch over many services per worker: switch the current service, then
 * 8 malloc/free pairs of mixed small sizes (16..400 B), as a service handling
 * one message does. The same dispatch round-robin over 1, 10,000 and 100,000
 * services on one thread; interleaved reps, best of each, ns per dispatch,
 * and the ratios to 1 service (targets: 10,000 <= 1.15x, 100,000 <= 1.5x).
 * Bare jemalloc (no switch, no accounting) is printed for scale.
 * Usage: bench_dispatch [dispatches (2000000)] [reps (5)]
 *        bench_dispatch --one SERVICES [dispatches]   (one case, for callgrind;
 *        SERVICES 0 is bare jemalloc; prints the dispatches it ran) */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define PAIRS 8
#define BASE 0x02000000u   /* consecutive handles, as skynet gives them */

static const size_t sizes[PAIRS] = { 16, 40, 100, 24, 400, 64, 200, 32 };

/* services 0: bare jemalloc. */
__attribute__((noipa)) static void run(size_t services, size_t dispatches) {
	size_t i = 0;
	for (size_t d = 0; d < dispatches; d++) {
		if (services == 0) {
			for (int k = 0; k < PAIRS; k++) {
				char *p = je_malloc(sizes[k] + (d & 7));
				p[0] = (char)d;
				je_free(p);
			}
			continue;
		}
		skynet_mem_set_current(BASE + (uint32_t)i);
		for (int k = 0; k < PAIRS; k++) {
			char *p = skynet_malloc(sizes[k] + (d & 7));
			p[0] = (char)d;
			skynet_free(p);
		}
		i = i + 1 == services ? 0 : i + 1;
	}
	if (services)
		skynet_mem_set_current(0);
}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (bare_jemalloc_find("bench_dispatch") != 0)
		return 1;
	if (argc > 2 && strcmp(argv[1], "--one") == 0) {
		size_t services = strtoull(argv[2], NULL, 10);
		size_t d = argc > 3 ? strtoull(argv[3], NULL, 10) : 300000;
		run(services, services);   /* every service's slot and record exist */
		run(services, d);
		printf("%zu\n", d);
		return 0;
	}
	size_t dispatches = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	enum { NCASES = 4 };
	static const size_t services[NCASES] = { 0, 1, 10000, 100000 };
	double best[NCASES];
	for (int k = 0; k < NCASES; k++) {
		best[k] = 1e30;
		run(services[k], services[k]);   /* warm: records and slots made */
	}
	for (int r = 0; r < reps; r++)
		for (int j = 0; j < NCASES; j++) {
			int k = (r + j) % NCASES;   /* rotate, so drift hits all alike */
			double t = now_ns();
			run(services[k], dispatches);
			double ns = (now_ns() - t) / (double)dispatches;
			if (ns < best[k])
				best[k] = ns;
		}
	printf("dispatch: switch + %d malloc/free pairs (16..407 B), one thread, %zu dispatches, best of %d\n",
		PAIRS, dispatches, reps);
	printf("%-18s %12s\n", "case", "ns/dispatch");
	printf("%-18s %9.1f ns\n", "bare jemalloc", best[0]);
	for (int k = 1; k < NCASES; k++)
		printf("%-9zu services %9.1f ns\n", services[k], best[k]);
	printf("\n10000 services / 1 service:  %.3fx (target <= 1.15x)\n", best[2] / best[1]);
	printf("100000 services / 1 service: %.3fx (target <= 1.5x)\n", best[3] / best[1]);
	return 0;
}
