/* The accounted Lua allocator: charges a service's lua_bytes at size classes.
 * No cookie and no lookup: Lua passes the old size, and (when ptr != NULL) the
 * usable size is the class of osize, which is also what sized free wants. */

#include <stdint.h>

#include "backend.h"
#include "ledger.h"
#include "skynet_mem.h"

/* Usable size of a block this allocator made for osize bytes. */
static size_t lua_block_size(void *ptr, size_t osize) {
#ifdef SKYNET_MEM_USE_JEMALLOC
	(void)ptr;
	return backend_class(osize, 0);
#else
	(void)osize;
	return backend_usable(ptr);
#endif
}

static void charge_lua(uint32_t handle, int64_t delta) {
	struct ledger_slot *s = ledger_slot(handle);
	if (s) {
		s->lua += delta;
		ledger_done(s);
	}
}

void *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	uint32_t handle = (uint32_t)(uintptr_t)ud;
	/* Lua 5.4: with ptr == NULL, osize is a type tag, not a size. */
	size_t ou = ptr ? lua_block_size(ptr, osize) : 0;
	if (nsize == 0) {
		if (ptr) {
			charge_lua(handle, -(int64_t)ou);
			backend_free(ptr, ou);
		}
		return NULL;
	}
	size_t nu = backend_class(nsize, 0);
	struct ledger_slot *s = nu ? ledger_slot(handle) : NULL;
	if (s == NULL)
		return NULL;
	/* Only growth is refused at the limit: frees and shrinks always proceed. */
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
	s->lua += (int64_t)nu - (int64_t)ou;
	ledger_done(s);
	return q;
}
