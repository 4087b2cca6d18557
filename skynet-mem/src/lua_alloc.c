/* The accounted Lua allocator: charges a service's lua_bytes at size classes.
 * No cookie and no lookup: Lua passes the old size whenever ptr != NULL, and
 * the class of that size is both the block's charge and what sized free wants.
 * Heap-size warnings are raised where deltas are published (record.c), so the
 * hot path only touches the calling thread's ledger slot. */

#include <stdint.h>

#include "backend.h"
#include "ledger.h"
#include "skynet_mem.h"

/* Usable size of a block this allocator made for osize bytes. Over jemalloc
 * that is nallocx, a table lookup (a cache of our own measured no faster);
 * glibc has no class query, so the block is asked. */
static inline size_t lua_block_size(void *ptr, size_t osize) {
#ifdef SKYNET_MEM_USE_JEMALLOC
	(void)ptr;
	return backend_class(osize, 0);
#else
	(void)osize;
	return backend_usable(ptr);
#endif
}

void *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	uint32_t handle = (uint32_t)(uintptr_t)ud;
	/* Lua 5.4: with ptr == NULL, osize is a type tag (LUA_TSTRING ...), not a size. */
	size_t ou = ptr ? lua_block_size(ptr, osize) : 0;
	if (nsize == 0) {
		if (ptr) {
			backend_free(ptr, ou);
			struct ledger_slot *s = ledger_lookup(handle);
			if (s) {
				s->lua -= (int64_t)ou;
				s->frees++;
				ledger_done(s);
			}
		}
		return NULL;
	}
	size_t nu = backend_class(nsize, 0);
	struct ledger_slot *s = nu ? ledger_lookup(handle) : NULL;
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
