#ifndef SKYNET_MEM_CHECK_REPORT_H
#define SKYNET_MEM_CHECK_REPORT_H

/* MEMORY_CHECK reports (check_report.c): one block of text on stderr per heap
 * error, counted by kind; then abort, or continue (SKYNET_MEM_CHECK_CONTINUE). */

#include "check_block.h"

struct check_report {
	enum check_kind kind;
	const char *op;            /* "free", "realloc", "transfer", "quarantine exit" */
	const void *ptr;
	const struct check_meta *m;   /* NULL: not a block of the layer */
	ptrdiff_t offset;          /* first byte found wrong, from ptr */
	size_t span;               /* bytes past the end / before the start / touched */
};
HIDDEN void check_report(const struct check_report *r);
/* Reports each of n faults found in a block. */
HIDDEN void block_report(const void *p, const struct check_meta *m, const char *op,
	const struct block_fault *f, int n);
/* Verifies guard and canary; reports what is wrong and returns -1. */
HIDDEN int block_verify(const void *p, const struct check_meta *m, const char *op);
/* Verifies a quarantined block is untouched since block_poison; reports -1. */
HIDDEN int block_verify_poison(const void *p, const struct check_meta *m);
/* Lists the blocks (sizes, allocation sites) a service still owns as it exits. */
HIDDEN void check_leak_report(uint32_t handle, size_t blocks);

#endif
