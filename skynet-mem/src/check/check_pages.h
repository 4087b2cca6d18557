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

/* The granule this thread last found or made marked: most blocks of a thread
 * lie in a few granules, so the map itself is rarely read. */
extern __thread uintptr_t pages_last TLS_IE HIDDEN;

HIDDEN int pages_marked_slow(uintptr_t g);

static inline int pages_marked(uintptr_t a) {
	uintptr_t g = a >> PAGES_GRANULE_SHIFT;
	return __builtin_expect(g == pages_last, 1) ? 1 : pages_marked_slow(g);
}

/* Marks the granules of [lo, hi] (hi included). */
HIDDEN void pages_mark_slow(uintptr_t lo, uintptr_t hi);
static inline void pages_mark(uintptr_t lo, uintptr_t hi) {
	uintptr_t g = lo >> PAGES_GRANULE_SHIFT;
	if (__builtin_expect(g != pages_last || g != hi >> PAGES_GRANULE_SHIFT, 0))
		pages_mark_slow(lo, hi);
}

/* Copies words 8-byte words at `at` into w; 0 when they cannot be read. */
HIDDEN int pages_read_slow(const void *at, uint64_t *w, size_t words);

#endif
