/* The accounted Lua allocator: charges a service's lua_bytes at size classes.
 * No cookie and no lookup: Lua passes the old size whenever ptr != NULL, and
 * the class of that size is both the block's charge and what sized free wants.
 * Heap-size warnings are raised where deltas are published (record.c), so the
 * hot path only touches the calling thread's ledger slot. */

#include <stdint.h>

#include "backend.h"
#include "ledger.h"
#include "skynet_mem.h"

#ifdef SKYNET_MEM_USE_JEMALLOC
/* Classes of small requests, filled on first use from nallocx: Lua's blocks are
 * mostly small, and a table load is cheaper than a call into jemalloc. Every
 * jemalloc class is a multiple of 8, so one entry serves 8 request sizes. */
#define SMALL_MAX 1024
static uint32_t small_class[SMALL_MAX / 8 + 1];

static inline size_t lua_class(size_t n) {
	if (__builtin_expect(n <= SMALL_MAX, 1)) {
		size_t i = (n + 7) >> 3;
		uint32_t u = __atomic_load_n(&small_class[i], __ATOMIC_RELAXED);
		if (__builtin_expect(u == 0, 0)) {
			u = (uint32_t)nallocx(i ? i << 3 : 1, 0);
			__atomic_store_n(&small_class[i], u, __ATOMIC_RELAXED);
		}
		return u;
	}
	return backend_class(n, 0);
}

/* Usable size of a block this allocator made for osize bytes. */
static inline size_t lua_block_size(void *ptr, size_t osize) {
	(void)ptr;
	return lua_class(osize);
}
#else
/* glibc has no class query: the usable size is read from the block. */
static inline size_t lua_class(size_t n) {
	return backend_class(n, 0);
}

static inline size_t lua_block_size(void *ptr, size_t osize) {
	(void)osize;
	return backend_usable(ptr);
}
#endif

void *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	uint32_t handle = (uint32_t)(uintptr_t)ud;
	/* Lua 5.4: with ptr == NULL, osize is a type tag (LUA_TSTRING ...), not a size. */
	size_t ou = ptr ? lua_block_size(ptr, osize) : 0;
	if (nsize == 0) {
		if (ptr) {
			backend_free(ptr, ou);
			struct ledger_slot *s = ledger_slot(handle);
			if (s) {
				s->lua -= (int64_t)ou;
				s->frees++;
				ledger_done(s);
			}
		}
		return NULL;
	}
	size_t nu = lua_class(nsize);
	struct ledger_slot *s = nu ? ledger_slot(handle) : NULL;
	if (s == NULL)
		return NULL;
	/* Only growth is refused at the limit: frees and shrinks always proceed.
	 * Lua answers NULL with an emergency collection, then "not enough memory". */
	if (nu > ou && !ledger_admit(s, nu - ou))
		return NULL;
	void *q;
	if (ptr == NULL)
		q = backend_alloc(nu, 0, 0);
	else
		q = nu == ou ? ptr : backend_realloc(ptr, nu);
	if (q == NULL)
		return NULL;
#ifndef SKYNET_MEM_USE_JEMALLOC
	nu = backend_usable(q);
#endif
	/* A resize counts as a free and an alloc, as realloc does for C blocks. */
	s->lua += (int64_t)nu - (int64_t)ou;
	s->allocs++;
	s->frees += ptr != NULL;
	ledger_done(s);
	return q;
}
