/* The records as the module's functions see them: a handle argument, a
 * record as a table, every record copied out of the table (for info, top,
 * snapshots). */

#include <stdlib.h>
#include <string.h>

#include "lua-memory-records.h"
#include "skynet_malloc.h"

#define LIST_META "skynet.memory.list"

uint32_t lmem_checkhandle(lua_State *L, int arg) {
	if (lua_type(L, arg) == LUA_TSTRING) {
		/* skynet's address text, as the debug console prints it. */
		const char *s = lua_tostring(L, arg);
		char *end;
		if (s[0] == ':' && s[1] != '\0' && strlen(s) <= 9) {
			unsigned long v = strtoul(s + 1, &end, 16);
			if (*end == '\0' && s[1] != '-' && s[1] != '+' && s[1] != ' ')
				return (uint32_t)v;
		}
		luaL_argerror(L, arg, "handle expected (an integer or \":%08x\")");
		return 0;
	}
	if (lua_type(L, arg) != LUA_TNUMBER)
		luaL_typeerror(L, arg, "integer handle");
	lua_Integer h = luaL_checkinteger(L, arg);
	luaL_argcheck(L, h >= 0 && h <= (lua_Integer)0xffffffffu, arg,
		"handle out of range (0..0xffffffff)");
	return (uint32_t)h;
}

void lmem_setint(lua_State *L, const char *key, uint64_t v) {
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, key);
}

void lmem_pushstat(lua_State *L, const struct skynet_mem_stat *st) {
	lua_createtable(L, 0, 13);
	lmem_setint(L, "handle", st->handle);
	lmem_setint(L, "bytes", st->bytes);
	lmem_setint(L, "blocks", st->blocks);
	lmem_setint(L, "lua_bytes", st->lua_bytes);
	lmem_setint(L, "total", lmem_total(st));
	lmem_setint(L, "peak", st->peak);
	lmem_setint(L, "limit", st->limit);
	lmem_setint(L, "allocs", st->allocs);
	lmem_setint(L, "frees", st->frees);
	lua_pushboolean(L, st->retired);
	lua_setfield(L, -2, "retired");
	lmem_setint(L, "queued", st->queued);
	lmem_setint(L, "queued_msgs", st->queued_msgs);
	lmem_setint(L, "limit_hits", st->limit_hits);
	lua_pushstring(L, st->name);
	lua_setfield(L, -2, "name");
}

/* Runs unlocked over a copy of each shard; must not raise (no Lua calls). */
static int collect_one(const struct skynet_mem_stat *st, void *ud) {
	struct lmem_list *list = ud;
	struct skynet_mem_stat row = *st;
	if (row.handle == list->self && list->own && row.bytes >= list->own && row.blocks >= 1) {
		row.bytes -= list->own;   /* the list itself is not the caller's */
		row.blocks--;
	}
	if (list->n == list->cap) {
		/* Records made since the walk was sized: rare. */
		size_t cap = list->cap ? list->cap * 2 : 64;
		struct skynet_mem_stat *v = skynet_realloc(list->v, cap * sizeof(*v));
		if (v == NULL)
			return 1;
		list->v = v;
		list->cap = cap;
		list->own = 0;   /* the old size may be published or not */
	}
	list->v[list->n++] = row;
	return 0;
}

void lmem_release(struct lmem_list *list) {
	skynet_free(list->v);
	list->v = NULL;
	list->n = list->cap = list->own = 0;
}

static int list_gc(lua_State *L) {
	lmem_release(luaL_checkudata(L, 1, LIST_META));
	return 0;
}

struct lmem_list *lmem_collect(lua_State *L) {
	struct lmem_list *list = lua_newuserdatauv(L, sizeof(*list), 0);
	memset(list, 0, sizeof(*list));
	if (luaL_newmetatable(L, LIST_META)) {
		lua_pushcfunction(L, list_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	/* Sized before the walk (the records now and a margin), so the walk
	 * makes no block of its own; the layer's allocator, so its charge to the
	 * caller is known and taken off the caller's row. */
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	size_t cap = t.services + t.services / 8 + 64;
	list->v = skynet_malloc(cap * sizeof(*list->v));
	if (list->v) {
		list->cap = cap;
		list->self = skynet_mem_get_current();
		list->own = skynet_mem_block_charge(list->v);   /* the real charge: over glibc a chunk may be larger than its class */
	}
	size_t seen = skynet_mem_foreach(collect_one, list);
	if (list->n < seen) {
		lmem_release(list);
		luaL_error(L, "not enough memory");
	}
	return list;
}
