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
 * by address, never in the block. The free path asks a bitmap first
 * (profile_marked: one bit per hash of an address, set while a sample hashes
 * there), so a block that was never sampled costs a multiply, a load and a
 * branch, and only a marked one looks the table up. */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define PROFILE_FILTER_BITS 17
#define PROFILE_FILTER_WORDS ((1u << PROFILE_FILTER_BITS) / 64)

/* Bytes the calling thread may still allocate before its next sample. */
extern __thread int64_t profile_left TLS_IE HIDDEN;
extern _Atomic uint64_t profile_filter[PROFILE_FILTER_WORDS] HIDDEN;

/* The countdown crossed zero on a block p of charge u just made for owner:
 * maybe samples it (a service may have its own rate), draws the next
 * distance; returns p. */
HIDDEN void *profile_sampled(void *p, size_t u, uint32_t owner);
/* p, marked in the filter, is being freed (or moved by realloc): drops its
 * sample if it has one. */
HIDDEN void profile_forget(const void *p);
/* p, marked, now belongs to `to` (a transfer). */
HIDDEN void profile_move(const void *p, uint32_t to);
/* The table's lock, for fork.c. */
HIDDEN struct lock_group profile_locks(void);

static inline unsigned profile_bit(const void *p) {
	return (unsigned)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> (64 - PROFILE_FILTER_BITS));
}

/* 1 when p may be a sampled block (a false positive now and then). */
static inline int profile_marked(const void *p) {
	unsigned b = profile_bit(p);
	return (int)((atomic_load_explicit(&profile_filter[b >> 6], memory_order_relaxed) >> (b & 63)) & 1);
}

/* After a block p of charge u was made for owner: returns p. */
static inline void *profile_count(void *p, size_t u, uint32_t owner) {
	if (__builtin_expect((profile_left -= (int64_t)u) < 0, 0))
		return profile_sampled(p, u, owner);
	return p;
}

/* Before p leaves the heap (free, or realloc to another address). */
static inline void profile_freeing(const void *p) {
	if (__builtin_expect(profile_marked(p), 0))
		profile_forget(p);
}

/* Before p's owner changes to `to`. */
static inline void profile_transfer(const void *p, uint32_t to) {
	if (__builtin_expect(profile_marked(p), 0))
		profile_move(p, to);
}

/* What the dump and the leak report read (profile_dump.c). */
#define PROFILE_DEPTH 32

struct profile_sample {
	uintptr_t addr;
	uint32_t owner;
	uint32_t depth;
	size_t size;          /* the block's charge */
	double estimate;      /* bytes it stands for: size / (1 - exp(-size / mean)) */
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
