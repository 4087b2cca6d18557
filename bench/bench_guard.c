/* Guarded slots' cost (bench/guard.sh drives it under callgrind): 100
 * services take turns on one thread, each turn a service switch and PAIRS
 * malloc+free pairs over its own window of live blocks (sizes 16..1024 B, a
 * fixed sequence). The turns of service 1 run in turn_guarded(), the others'
 * in turn_plain(), so --toggle-collect counts one kind. "off": no guarding
 * ever (no pool); "on": service 1 guarded at every = EVERY (or the third
 * argument), the pool made.
 * Usage: bench_guard off|on [rounds] [every] */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "skynet_mem.h"

#define SERVICES 100
#define WINDOW 16
#define PAIRS 200
#define EVERY 1000
#define GUARDED 1

static void *window[SERVICES + 1][WINDOW];
static uint32_t seq[SERVICES + 1];
static unsigned at[SERVICES + 1];

static inline size_t next_size(uint32_t *x) {
	*x = *x * 1103515245u + 12345u;
	return 16 + (*x >> 16) % 1009;
}

static inline void turn(uint32_t h) {
	skynet_mem_set_current(h);
	void **w = window[h];
	for (int i = 0; i < PAIRS; i++) {
		unsigned k = at[h]++ % WINDOW;
		skynet_free(w[k]);
		w[k] = skynet_malloc(next_size(&seq[h]));
	}
}

__attribute__((noinline)) void turn_plain(uint32_t h) {
	turn(h);
}

__attribute__((noinline)) void turn_guarded(uint32_t h) {
	turn(h);
}

int main(int argc, char **argv) {
	int on = argc > 1 && strcmp(argv[1], "on") == 0;
	if (argc < 2 || (!on && strcmp(argv[1], "off") != 0)) {
		fprintf(stderr, "usage: bench_guard off|on [rounds] [every]\n");
		return 2;
	}
	long rounds = argc > 2 ? atol(argv[2]) : 100;
	unsigned every = argc > 3 ? (unsigned)atol(argv[3]) : EVERY;
	for (uint32_t h = 1; h <= SERVICES; h++)
		seq[h] = h;   /* each service its own fixed sequence, the same in both runs */
	if (on && skynet_mem_guard(GUARDED, every) != 0) {
		perror("skynet_mem_guard");
		return 1;
	}
	for (long r = 0; r < rounds; r++)
		for (uint32_t h = 1; h <= SERVICES; h++) {
			if (h == GUARDED)
				turn_guarded(h);
			else
				turn_plain(h);
		}
	skynet_mem_set_current(0);
	struct skynet_mem_guard_info g;
	skynet_mem_guard_info(&g);
	printf("pairs %ld per service, guarded blocks %llu, missed %llu\n", rounds * PAIRS,
		(unsigned long long)g.guarded, (unsigned long long)g.missed);
	return 0;
}
