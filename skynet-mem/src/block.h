#ifndef SKYNET_MEM_BLOCK_H
#define SKYNET_MEM_BLOCK_H

/* The block operations: the accounted core under skynet_malloc.h, the
 * interposer and the block queries of skynet_mem.h. Each build implements
 * them once, over its own block layout:
 *   - release: block.c, a trailing cookie naming the owner (cookie.h), or for
 *     a large block (16 KiB and up over jemalloc) an entry in large_owner.c;
 *   - release, -DSKYNET_MEM_LAYOUT=header: block_header.c, the owner in a
 *     header before the block (owner_header.h), large blocks as above;
 *   - MEMORY_CHECK: check/check_alloc.c, a sealed header, guard, red zone and
 *     quarantine (check/check_block.h).
 * align 0 means the allocator's natural alignment. All set errno on failure. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

HIDDEN void *mem_alloc(size_t n, size_t align, int zero);
/* malloc: a short path for the common case (release build over jemalloc),
 * mem_alloc(n, 0, 0) otherwise; inline there, so the check build's
 * allocation site stays the caller's. */
#if defined(SKYNET_MEM_USE_JEMALLOC) && !defined(SKYNET_MEM_CHECK)
#define MEM_MALLOC_FAST 1
HIDDEN void *mem_malloc(size_t n);
/* mem_malloc's short path takes requests up to this many bytes (the
 * layout's bound), and none while a guarded service's next block is due:
 * mem_alloc then sees its size (guard.c, through guard_short_path). */
extern size_t malloc_short_max HIDDEN;
#else
static inline void *mem_malloc(size_t n) {
	return mem_alloc(n, 0, 0);
}
#endif
#ifdef SKYNET_MEM_CHECK
/* mem_alloc with the allocation site given (the C++ operators of the
 * interposer, whose own return address is the site). */
HIDDEN void *mem_alloc_at(size_t n, size_t align, int zero, uintptr_t site);
#endif
/* realloc moves the block to the calling service, as skynet does. */
HIDDEN void *mem_realloc(void *p, size_t n);
HIDDEN void mem_free(void *p);
/* Bytes the caller may use (malloc_usable_size, skynet_mem_usable_size). */
HIDDEN size_t mem_usable(const void *p);

/* The block queries of skynet_mem.h (see there). */
HIDDEN int block_transfer(void *p, uint32_t to_handle);
HIDDEN uint32_t block_owner(const void *p);
HIDDEN size_t block_charge(const void *p);
HIDDEN size_t block_charge_size(size_t n);
/* A service exits owning blocks: the check build lists them; release: nothing. */
HIDDEN void block_service_exit(uint32_t handle, size_t blocks);

/* The block layer's locks in the order they nest (outermost first), for
 * fork.c; writes every group (at most BLOCK_LOCK_GROUPS) and returns how many.
 * Each build's implementation checks its count against the bound at compile
 * time: a lock left out of fork's list could deadlock a child. */
#define BLOCK_LOCK_GROUPS 4
HIDDEN size_t block_locks(struct lock_group out[BLOCK_LOCK_GROUPS]);

/* --- the same in every build, over mem_alloc --- */

static inline void *mem_calloc(size_t nmemb, size_t size) {
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return mem_alloc(n, 0, 1);
}

static inline int mem_is_pow2(size_t a) {
	return a != 0 && (a & (a - 1)) == 0;
}

/* A block of n bytes at a power-of-two alignment a (1: the natural one). No
 * such block fits the address space past PTRDIFF_MAX: ENOMEM without asking
 * the backend (some, ASan's, abort on such an alignment). */
static inline void *mem_aligned(size_t n, size_t a) {
	if (a > (size_t)PTRDIFF_MAX - n) {
		errno = ENOMEM;
		return NULL;
	}
	return mem_alloc(n, a > 1 ? a : 0, 0);
}

/* memalign and aligned_alloc as glibc 2.36 has them (programs rely on it):
 * any alignment is rounded up to a power of two, 0 and 1 are the natural
 * one, and only one past the largest power of two is EINVAL. */
static inline void *mem_memalign(size_t align, size_t n) {
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	size_t a = 1;
	while (a < align)
		a <<= 1;
	return mem_aligned(n, a);
}

/* posix_memalign's contract: 0, EINVAL or ENOMEM; never touches *out on error. */
static inline int mem_posix_memalign(void **out, size_t align, size_t n) {
	if (!mem_is_pow2(align) || align % sizeof(void *) != 0)
		return EINVAL;
	int saved = errno;
	void *p = mem_aligned(n, align);
	errno = saved;
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

#endif
