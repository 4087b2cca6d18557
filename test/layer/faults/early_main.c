/* Checks what early_alloc.so's constructor did before the interposer's own
 * initialisation: every block is counted and owned by handle 0, and freeing
 * them leaves handle 0's counts balanced. */

#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "faults.h"
#include "skynet_mem.h"

int main(void) {
	void **kept = dlsym(RTLD_DEFAULT, "early_kept");
	int *done = dlsym(RTLD_DEFAULT, "early_done");
	uint32_t (*owner)(const void *) = (uint32_t (*)(const void *))dlsym(RTLD_DEFAULT, "skynet_mem_owner");
	int (*stat)(uint32_t, struct skynet_mem_stat *) =
		(int (*)(uint32_t, struct skynet_mem_stat *))dlsym(RTLD_DEFAULT, "skynet_mem_stat");
	EXPECT(kept && done && *done, "early_alloc.so not preloaded, or its constructor failed");
	EXPECT(owner && stat, "the interposer is not preloaded");
	struct skynet_mem_stat before, after;
	EXPECT(stat(0, &before) == 0, "no record for handle 0");
	size_t bytes = 0;
	for (int i = 0; i < 8; i++) {
		EXPECT(kept[i] != NULL && owner(kept[i]) == 0, "early block %d", i);
		bytes += malloc_usable_size(kept[i]);
		free(kept[i]);
	}
	EXPECT(stat(0, &after) == 0, "no record");
	EXPECT(before.blocks - after.blocks == 8 && after.frees - before.frees == 8,
		"blocks %zu -> %zu, frees %llu -> %llu", before.blocks, after.blocks,
		(unsigned long long)before.frees, (unsigned long long)after.frees);
	EXPECT(before.bytes - after.bytes >= bytes, "bytes %zu -> %zu", before.bytes, after.bytes);
	printf("PASS\n");
	return 0;
}
