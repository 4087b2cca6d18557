#ifndef SKYNET_MEM_PROFILE_H
#define SKYNET_MEM_PROFILE_H

/* The sampled heap profile of release builds (profile.c, profile_dump.c).
 *
 * Sampling is by bytes, a Poisson process: each thread counts down the bytes
 * it allocates (profile_left) and samples the block that crosses zero, then
 * draws the next distance from an exponential law of mean
 * SKYNET_MEM_PROFILE_SAMPLE. Off, the count runs down from a recheck distance
 * instead: the allocation path always costs one subtraction and one branch.
 *
 * A sampled block's owner, charge and call stack live in a side table keyed
 * by address. The block itself names PROFILE_MARK as its owner (in its cookie,
 * header or large-block entry), a handle no ledger slot is ever claimed for:
 * the free path's own slot lookup misses on it and sends the block to the
 * slow path, which takes the real owner from the table. So freeing a block
 * that was never sampled costs nothing more, sampling on or off. */

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* The owner a sampled block names; its real one is in the table. skynet never
 * gives out index 0 (harbor 255, index 0 is no service), and its own threads'
 * rows are 0xfffffff0 and up: reserved (docs/profile.md). */
#define PROFILE_MARK 0xff000000u

/* Bytes the calling thread may still allocate before its next sample. */
extern __thread int64_t profile_left TLS_IE HIDDEN;

/* The countdown crossed zero on a block p of charge u just made for owner:
 * maybe samples it (a service may have its own rate), draws the next
 * distance. 1 when p is now in the table: its block must then name
 * PROFILE_MARK as its owner. */
HIDDEN int profile_sampled(const void *p, size_t u, uint32_t owner);
/* The real owner of p, whose block names PROFILE_MARK (the mark itself when
 * p has no sample: a service of that handle). */
HIDDEN uint32_t profile_owner(const void *p);
/* As profile_owner, and p's sample leaves the table: p is being freed (or
 * moved by realloc), before its address can be reused. */
HIDDEN uint32_t profile_take(const void *p);
/* p's sample now belongs to `to` (a transfer); the block keeps the mark. */
HIDDEN void profile_move(const void *p, uint32_t to);
/* The table's lock, for fork.c. */
HIDDEN struct lock_group profile_locks(void);

/* After a block of charge u was made: 1 when it is due for a sample (then
 * call profile_sampled). One subtraction and one branch. */
static inline int profile_due(size_t u) {
	return __builtin_expect((profile_left -= (int64_t)u) < 0, 0);
}

/* The owner a block names, resolved. */
static inline uint32_t profile_resolve(const void *p, uint32_t named) {
	return __builtin_expect(named == PROFILE_MARK, 0) ? profile_owner(p) : named;
}

/* What the dump and the leak report read (profile_dump.c). */
#define PROFILE_DEPTH 32

struct profile_sample {
	uintptr_t addr;
	uint32_t owner;
	uint32_t depth;
	size_t size;          /* the block's charge */
	size_t mean;          /* the rate it was sampled at */
	double estimate;      /* bytes it stands for: size / (1 - exp(-size / mean)), set by profile_snapshot */
	uintptr_t frame[PROFILE_DEPTH];   /* return addresses, innermost first */
};

/* The calling thread's stack from the caller of the allocation function
 * out (the layer's frames dropped): return addresses, innermost first, at
 * most max; how many (profile_stack.c). */
HIDDEN uint32_t profile_stack(uintptr_t *out, uint32_t max);

/* Names for code addresses (profile_symbol.c): the containing function from
 * its module's .symtab (static ones too), else dladdr's, else module+offset.
 * A symbolizer caches the modules it has read; NULL works, without .symtab. */
struct symbolizer;
HIDDEN struct symbolizer *symbolizer_new(void);
HIDDEN void symbolizer_free(struct symbolizer *s);
/* "function+0xoffset" of the code address at into buf; *fn: the function's
 * start (at itself when unknown). */
HIDDEN void symbolize(struct symbolizer *s, uintptr_t at, char *buf, size_t size, uintptr_t *fn);

/* A copy of the live samples (of owner, or all when all != 0), allocated
 * with backend_raw_alloc (free with backend_raw_free); *n set; NULL when
 * there are none or no memory (errno then ENOMEM). */
HIDDEN struct profile_sample *profile_snapshot(uint32_t owner, int all, size_t *n);

#endif
