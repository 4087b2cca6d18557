#ifndef SKYNET_MEM_BACKEND_H
#define SKYNET_MEM_BACKEND_H

/* The raw allocator under the layer: jemalloc (mallocx family) or the system
 * allocator. Blocks are requested at exactly their usable size, so the trailing
 * cookie lies inside the object the allocator handed out. */

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define BACKEND_MIN_ALIGN 16

#ifdef SKYNET_MEM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>

#define BACKEND_CLASS_TABLE_MAX 16384
/* Size classes up to 16 KiB by 8-byte step, filled from nallocx at load time
 * (0 until then); a table read is cheaper than nallocx on the hot path. */
extern uint16_t backend_class_table[BACKEND_CLASS_TABLE_MAX / 8 + 1] HIDDEN;
/* jemalloc's own malloc, whose fast path beats mallocx(u, 0); found with dlsym
 * at load time because a plain malloc call may bind to glibc or to the
 * interposer itself. */
extern void *(*backend_je_malloc)(size_t) HIDDEN;
/* jemalloc's own free and realloc, found the same way: on this jemalloc free
 * runs fewer instructions than sdallocx, and realloc than rallocx. */
extern void (*backend_je_free)(void *) HIDDEN;
extern void *(*backend_je_realloc)(void *, size_t) HIDDEN;

/* Usable size of a request; 0 when it can never be satisfied. */
static inline size_t backend_class(size_t n, size_t align) {
	if (__builtin_expect(n <= BACKEND_CLASS_TABLE_MAX && align == 0, 1)) {
		size_t u = backend_class_table[(n + 7) >> 3];
		if (__builtin_expect(u != 0, 1))
			return u;
	}
	if (n > PTRDIFF_MAX)
		return 0;
	return nallocx(n, align ? MALLOCX_ALIGN(align) : 0);
}
static inline void *backend_alloc(size_t u, size_t align, int zero) {
	if (__builtin_expect(align == 0 && !zero, 1))
		return backend_je_malloc(u);
	int flags = (align ? MALLOCX_ALIGN(align) : 0) | (zero ? MALLOCX_ZERO : 0);
	return mallocx(u, flags);
}
static inline size_t backend_usable(const void *p) {
	return sallocx((void *)p, 0);
}
/* Grows or shrinks to usable size u; NULL (old block intact) on failure. */
static inline void *backend_realloc(void *p, size_t u) {
	return backend_je_realloc(p, u);
}
static inline void backend_free(void *p, size_t u) {
	(void)u;
	backend_je_free(p);
}

#else /* system allocator */
#include <malloc.h>
#include <stdlib.h>

#ifdef SKYNET_MEM_HOOK
/* The interposer replaces malloc itself: reach glibc's entry points directly. */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);
#define sys_malloc __libc_malloc
#define sys_calloc __libc_calloc
#define sys_realloc __libc_realloc
#define sys_memalign __libc_memalign
#define sys_free __libc_free
/* glibc's malloc_usable_size is interposed too; read the chunk header the way
 * glibc's musable() does: size field before the block, low 3 bits are flags,
 * mmapped chunks (bit 2) carry two header words, others borrow the next prev_size. */
static inline size_t sys_usable(const void *p) {
	size_t head = ((const size_t *)p)[-1];
	size_t chunk = head & ~(size_t)7;
	return (head & 2) ? chunk - 2 * sizeof(size_t) : chunk - sizeof(size_t);
}
#else
#define sys_malloc malloc
#define sys_calloc calloc
#define sys_realloc realloc
#define sys_memalign memalign
#define sys_free free
#define sys_usable malloc_usable_size
#endif

/* glibc has no size-class query: the class is known once the block exists. */
static inline size_t backend_class(size_t n, size_t align) {
	(void)align;
	if (n > PTRDIFF_MAX)
		return 0;
	return n;
}
static inline void *backend_alloc(size_t u, size_t align, int zero) {
	if (align > BACKEND_MIN_ALIGN) {
		void *p = sys_memalign(align, u);
		if (p && zero) {
			unsigned char *b = p;
			for (size_t i = 0; i < u; i++) b[i] = 0;
		}
		return p;
	}
	return zero ? sys_calloc(1, u) : sys_malloc(u);
}
static inline size_t backend_usable(const void *p) {
	return sys_usable((void *)p);
}
static inline void *backend_realloc(void *p, size_t u) {
	return sys_realloc(p, u);
}
static inline void backend_free(void *p, size_t u) {
	(void)u;
	sys_free(p);
}
#endif

/* Internal allocations of the layer itself (tables, caches): never accounted. */
static inline void *backend_raw_alloc(size_t n) {
	size_t u = backend_class(n, 0);
	return u ? backend_alloc(u, 0, 1) : NULL;
}
static inline void backend_raw_free(void *p) {
	if (p)
		backend_free(p, 0);   /* neither backend needs the size */
}

#endif
