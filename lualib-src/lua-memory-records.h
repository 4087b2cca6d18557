#ifndef SKYNET_LUA_MEMORY_RECORDS_H
#define SKYNET_LUA_MEMORY_RECORDS_H

/* lua-memory-records.c: the layer's records as the module's functions see them. */

#include <lua.h>
#include <lauxlib.h>

#include "skynet_mem.h"

#define LMEM_HIDDEN __attribute__((visibility("hidden")))

/* A handle argument: an integer 0..0xffffffff, or skynet's ":%08x" text. */
LMEM_HIDDEN uint32_t lmem_checkhandle(lua_State *L, int arg);
/* Sets t[key] = v on the table at the stack top. */
LMEM_HIDDEN void lmem_setint(lua_State *L, const char *key, uint64_t v);
/* Pushes a record as a table (the fields of struct skynet_mem_stat, and total). */
LMEM_HIDDEN void lmem_pushstat(lua_State *L, const struct skynet_mem_stat *st);

/* Every record, copied out of the table. The array lives in a userdata whose
 * __gc frees it, so a Lua error while pushing results leaks nothing. */
struct lmem_list {
	struct skynet_mem_stat *v;
	size_t n, cap;
	/* The array is charged to the caller (self): its row is read with the
	 * array live, so `own` (its charge, 0 once it grew mid-walk and the
	 * figure is no longer known) comes off that row. */
	uint32_t self;
	size_t own;
};
/* Pushes the box userdata and fills it; raises "not enough memory" on failure. */
LMEM_HIDDEN struct lmem_list *lmem_collect(lua_State *L);
/* Frees the array early (the box stays, empty). */
LMEM_HIDDEN void lmem_release(struct lmem_list *list);

static inline size_t lmem_total(const struct skynet_mem_stat *st) {
	return st->bytes + st->lua_bytes;
}

#endif
