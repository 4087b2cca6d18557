/* The process's resident memory, to compare with what the layer accounts:
 * a gap is fragmentation, allocator caches or memory outside the layer. */

#include <stdio.h>
#include <unistd.h>

#include "page.h"

size_t host_process_resident(void) {
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	unsigned long size, resident;
	int ok = fscanf(f, "%lu %lu", &size, &resident) == 2;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return ok && page > 0 ? (size_t)resident * (size_t)page : 0;
}
