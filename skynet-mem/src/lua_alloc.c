/* The accounted Lua allocator: charges a service's lua_bytes at size classes.
 * No cookie and no lookup: Lua passes the old size whenever ptr != NULL, and
 * the class of that size is both the block's charge and what sized free wants.
 * Heap-size warnings are raised where deltas are published (record.c), so the
 * hot path only touches the calling thread's ledger slot. */

#include <stdint.h>

#include "backend.h"
#include "ledger.h"
#include "lua_alloc.h"
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

/* Every case, in any build. */
__attribute__((noinline)) static void *lua_alloc_any(uint32_t handle, void *ptr, size_t osize, size_t nsize) {
	/* Lua 5.4: with ptr == NULL, osize is a type tag (LUA_TSTRING ...), not a size. */
	size_t ou = ptr ? lua_block_size(ptr, osize) : 0;
	if (nsize == 0) {
		if (ptr) {
			backend_free(ptr, ou);
			struct ledger_slot *s = ledger_lookup(handle);
			if (s) {
				s->lua -= (int64_t)ou;
				s->frees++;
				ledger_done_lua(s);
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
	if (nu > ou && !ledger_admit(s, nu - ou)) {
		ledger_unused(s);
		return NULL;
	}
	void *q;
	if (ptr == NULL)
		q = backend_alloc(nu, 0, 0);
	else
		q = nu == ou ? ptr : backend_realloc(ptr, nu);
	if (q == NULL) {
		ledger_unused(s);
		return NULL;
	}
#ifndef SKYNET_MEM_USE_JEMALLOC
	nu = backend_usable(q);
#endif
	/* A resize counts as a free and an alloc, as realloc does for C blocks. */
	s->lua += (int64_t)nu - (int64_t)ou;
	s->allocs++;
	s->frees += ptr != NULL;
	ledger_done_lua(s);
	return q;
}

#ifdef SKYNET_MEM_USE_JEMALLOC
/* A small class from the table; 0 when the size is not in it. */
static inline size_t lua_class(size_t n) {
	return n <= BACKEND_CLASS_TABLE_MAX ? backend_class_table[(n + 7) >> 3] : 0;
}

/* A slot the short paths may change by delta bytes of Lua heap with nothing
 * to publish: changed since published (a clean slot fails), and C + Lua bytes
 * within the batch after the change (ledger_done_lua's test, done first). */
static inline int lua_slot_takes(const struct ledger_slot *s, int64_t delta) {
	return !slot_past_batch(s, s->lua + delta);
}

/* ... and a limited service's limit admits the growth. */
static inline int lua_slot_ready(struct ledger_slot *s, size_t ou, size_t nu) {
	if (__builtin_expect(!lua_slot_takes(s, (int64_t)nu - (int64_t)ou), 0))
		return 0;
	return !s->limited || nu <= ou || ledger_admit(s, nu - ou);
}

/* Lua's three common calls take short paths when the service's slot is at
 * hand (ledger_peek) and ready (above): the slot's counters and one jemalloc
 * call each, nothing to publish afterwards, and only the slot and the class
 * kept across the call. Anything else is lua_alloc_any. */
__attribute__((noinline)) static void *lua_free(uint32_t handle, void *ptr, size_t osize) {
	size_t ou = lua_class(osize);
	struct ledger_slot *s = ledger_peek(handle);
	if (__builtin_expect(ptr == NULL || ou == 0 || s == NULL || !lua_slot_takes(s, -(int64_t)ou), 0))
		return lua_alloc_any(handle, ptr, osize, 0);
	s->lua -= (int64_t)ou;
	s->frees++;
	backend_free(ptr, ou);
	return NULL;
}

/* Lua 5.4: with ptr == NULL, osize is a type tag (LUA_TSTRING ...), not a
 * size, and lua_alloc_any ignores it. */
__attribute__((noinline)) static void *lua_new(uint32_t handle, size_t nsize) {
	size_t nu = lua_class(nsize);
	struct ledger_slot *s = ledger_peek(handle);
	if (__builtin_expect(nu == 0 || s == NULL || !lua_slot_ready(s, 0, nu), 0))
		return lua_alloc_any(handle, NULL, 0, nsize);
	void *q = backend_je_malloc(nu);
	if (__builtin_expect(q != NULL, 1)) {
		s->lua += (int64_t)nu;
		s->allocs++;
	}
	return q;
}

__attribute__((noinline)) static void *lua_resize(uint32_t handle, void *ptr, size_t osize, size_t nsize) {
	size_t nu = lua_class(nsize), ou = lua_class(osize);
	struct ledger_slot *s = ledger_peek(handle);
	if (__builtin_expect(nu == 0 || ou == 0 || s == NULL || !lua_slot_ready(s, ou, nu), 0))
		return lua_alloc_any(handle, ptr, osize, nsize);
	void *q = nu == ou ? ptr : backend_realloc(ptr, nu);
	if (__builtin_expect(q != NULL, 1)) {
		/* A resize counts as a free and an alloc, as realloc does for C blocks. */
		s->lua += (int64_t)nu - (int64_t)ou;
		s->allocs++;
		s->frees++;
	}
	return q;
}

void *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	uint32_t handle = (uint32_t)(uintptr_t)ud;
	if (nsize == 0)
		return lua_free(handle, ptr, osize);
	if (ptr == NULL)
		return lua_new(handle, nsize);
	return lua_resize(handle, ptr, osize, nsize);
}
#else
void *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	return lua_alloc_any((uint32_t)(uintptr_t)ud, ptr, osize, nsize);
}
#endif

void skynet_mem_lua_transfer(uint32_t from, uint32_t to, size_t bytes) {
	if (from == to || bytes == 0)
		return;
	/* One slot at a time: looking the second up may evict the first. */
	struct ledger_slot *s = ledger_lookup(from);
	if (s == NULL)
		return;
	s->lua -= (int64_t)bytes;
	ledger_done_lua(s);
	struct ledger_slot *d = ledger_lookup(to);
	if (d == NULL)
		return;
	d->lua += (int64_t)bytes;
	ledger_done_lua(d);
}

/* skynet_lalloc's way in: a direct call, not through the PLT. */
extern __typeof(skynet_mem_lua_alloc) lua_alloc_local __attribute__((alias("skynet_mem_lua_alloc")));
