/* The public MEMORY_CHECK API of skynet_mem.h in release builds: nothing is
 * checked, so nothing is counted (the check build's versions are in check/). */

#include "skynet_mem.h"

void skynet_mem_check_abort(int on) {
	(void)on;
}

uint64_t skynet_mem_check_errors(void) {
	return 0;
}

uint64_t skynet_mem_check_count(int kind) {
	(void)kind;
	return 0;
}

size_t skynet_mem_check_quarantine(size_t bytes) {
	(void)bytes;
	return 0;
}
