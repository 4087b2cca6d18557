#ifndef SKYNET_MEM_CHECK_REPORT_H
#define SKYNET_MEM_CHECK_REPORT_H

/* MEMORY_CHECK reports (check_report.c): one block of text on stderr per heap
 * error, counted by kind; then abort, or continue (SKYNET_MEM_CHECK_CONTINUE). */

#include "check_block.h"

struct check_report {
	enum check_kind kind;
	const char *op;            /* "free", "realloc", "transfer", "quarantine exit",
	                            * or a walk: "service exit", "thread exit", "process exit", "check" */
	const void *ptr;
	const struct check_meta *m;   /* NULL: not a block of the layer (now) */
	ptrdiff_t offset;          /* first byte found wrong, from ptr */
	size_t span;               /* bytes past the end / before the start / touched */
	const struct check_meta *reused;   /* m NULL: what ptr was, freed, before its memory was reused */
	int walk;                  /* found by a walk over live blocks, not by a call on ptr */
};
HIDDEN void check_report(const struct check_report *r);
/* Reports each of n faults found in a block. */
HIDDEN void block_report(const void *p, const struct check_meta *m, const char *op,
	const struct block_fault *f, int n);
/* Verifies a quarantined block is untouched since block_poison; reports -1. */
HIDDEN int block_verify_poison(const void *p, const struct check_meta *m);
/* The report lock, for fork.c (outermost: a report allocates). */
HIDDEN struct lock_group report_locks(void);
/* Lists the blocks (sizes, allocation sites) a service still owns as it
 * exits: blocks in all, the first `shown` of them in p and m. */
HIDDEN void check_leak_report(uint32_t handle, size_t blocks, void *const *p, const struct check_meta *m, size_t shown);
/* Counts n faults of kind that are not printed (past a walk's first ones). */
HIDDEN void check_count_only(enum check_kind kind, size_t n);

#endif
