/* Instructions per malloc+free pair, for callgrind (bench/insns.sh): the same
 * loop (sizes 16..1024 B, a window of 64 live blocks, each step frees the
 * oldest) over bare jemalloc and over skynet-mem, each in its own noinline
 * function so that --toggle-collect counts one of them. Instruction counts do
 * not move with the machine's load, where nanoseconds do.
 * Usage: bench_insns bare|layer [pairs] */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define WINDOW 64

static void *window[WINDOW];

/* Same sizes for both loops: a fixed linear congruential sequence. */
static inline size_t next_size(uint32_t *x) {
	*x = *x * 1103515245u + 12345u;
	return 16 + (*x >> 16) % 1009;
}

__attribute__((noinline)) void loop_bare(size_t pairs) {
	uint32_t x = 1;
	for (size_t i = 0; i < pairs; i++) {
		size_t n = next_size(&x);
		je_free(window[i & (WINDOW - 1)]);
		window[i & (WINDOW - 1)] = je_malloc(n);
	}
}

__attribute__((noinline)) void loop_layer(size_t pairs) {
	uint32_t x = 1;
	for (size_t i = 0; i < pairs; i++) {
		size_t n = next_size(&x);
		skynet_free(window[i & (WINDOW - 1)]);
		window[i & (WINDOW - 1)] = skynet_malloc(n);
	}
}

int main(int argc, char **argv) {
	int layer = argc > 1 && strcmp(argv[1], "layer") == 0;
	if (argc < 2 || (!layer && strcmp(argv[1], "bare") != 0)) {
		fprintf(stderr, "usage: bench_insns bare|layer [pairs]\n");
		return 2;
	}
	size_t pairs = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	if (bare_jemalloc_find("bench_insns") != 0)
		return 1;
	skynet_mem_set_current(1);
	void (*loop)(size_t) = layer ? loop_layer : loop_bare;
	loop(WINDOW * 4);   /* warm: every window slot holds a block, the ledger slot exists */
	loop(pairs);
	return 0;
}
