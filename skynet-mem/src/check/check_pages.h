#ifndef SKYNET_MEM_CHECK_PAGES_H
#define SKYNET_MEM_CHECK_PAGES_H

/* Where the checker may read without faulting (check_pages.c). Any pointer can
 * reach free: one far from every block may point into unmapped memory. The
 * layer marks each 2 MiB granule it put a block header in; a header in a
 * marked granule is read directly, any other through the kernel, which
 * answers EFAULT instead of a SIGSEGV. Marked granules stay mapped: jemalloc
 * retains its address space (it purges pages, which then read as zeros), and
 * blocks the system allocator may unmap are never marked. */

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define PAGES_GRANULE_SHIFT 21
#define PAGES_ADDR_BITS 47   /* user space on x86-64 and aarch64 (4-level tables) */

extern _Atomic uint64_t pages_map[((size_t)1 << (PAGES_ADDR_BITS - PAGES_GRANULE_SHIFT)) / 64] HIDDEN;

static inline int pages_marked(uintptr_t a) {
	if (a >> PAGES_ADDR_BITS)
		return 0;
	size_t g = a >> PAGES_GRANULE_SHIFT;
	return (atomic_load_explicit(&pages_map[g / 64], memory_order_relaxed) >> (g % 64)) & 1;
}

/* Marks the granules of [lo, hi] (hi included). */
HIDDEN void pages_mark_slow(uintptr_t lo, uintptr_t hi);
static inline void pages_mark(uintptr_t lo, uintptr_t hi) {
	if (__builtin_expect(!pages_marked(lo) || !pages_marked(hi), 0))
		pages_mark_slow(lo, hi);
}

/* Copies words 8-byte words at `at` into w; 0 when they cannot be read. */
HIDDEN int pages_read_slow(const void *at, uint64_t *w, size_t words);

#endif
