/* Memory for power-of-two requests: for each size 8 B .. 4 MiB, 16 MiB worth
 * of live blocks (at least 16) under bare jemalloc and under skynet-mem, in one
 * run. Prints the bytes jemalloc holds for them (stats.allocated, after a
 * thread-cache flush), the ratio to bare, and what the layer charges per
 * block. A trailing cookie pushes a power of two into the next class; blocks
 * of 16 KiB and up carry their owner outside the block and pay nothing.
 * Usage: bench_pow2 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jemalloc/jemalloc.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define HANDLE 0x01000040u

static size_t allocated_now(void) {
	size_t v = 0, len = sizeof(v);
	uint64_t epoch = 1;
	mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
	mallctl("stats.allocated", &v, &len, NULL, 0);
	return v;
}

/* Bytes held for n live blocks of size bytes. */
static size_t held(int layer, size_t size, size_t n, void **blocks) {
	size_t before = allocated_now();
	for (size_t i = 0; i < n; i++) {
		blocks[i] = layer ? skynet_malloc(size) : je_malloc(size);
		((char *)blocks[i])[0] = 1;
	}
	size_t after = allocated_now();
	for (size_t i = 0; i < n; i++)
		(layer ? skynet_free : je_free)(blocks[i]);
	return after - before;
}

int main(void) {
	if (bare_jemalloc_find("bench_pow2") != 0)
		return 1;
	skynet_mem_set_current(HANDLE);
	void **blocks = calloc((size_t)16 << 20 >> 3, sizeof(void *));
	printf("power-of-two requests, 16 MiB of live blocks each (stats.allocated)\n");
	printf("%9s %8s %12s %12s %7s %12s\n", "size", "blocks", "bare bytes", "layer bytes", "ratio", "charge/block");
	double worst = 0;
	for (size_t size = 8; size <= ((size_t)4 << 20); size *= 2) {
		size_t n = ((size_t)16 << 20) / size;
		if (n < 16)
			n = 16;
		size_t bare = held(0, size, n, blocks);
		size_t ours = held(1, size, n, blocks);
		double ratio = (double)ours / (double)bare;
		if (ratio > worst)
			worst = ratio;
		printf("%9zu %8zu %12zu %12zu %6.3fx %12zu\n", size, n, bare, ours, ratio,
			skynet_mem_charge_size(size));
	}
	printf("\nworst ratio %.3fx\n", worst);
	skynet_mem_set_current(0);
	free(blocks);
	return 0;
}
