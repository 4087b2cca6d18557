/* skynet_mem_totals: a Lua C module for handletotals.lua. It reads the
 * process totals and sums every record in one C call, so the calling
 * service allocates nothing between the two reads: in Lua, the tables that
 * memory.totals() and memory.top() return are the caller's Lua heap, made
 * after one read and before the other, and the two never agree. */

#include <stdint.h>

#include "lauxlib.h"
#include "lua.h"
#include "skynet_mem.h"

struct sums {
	uint64_t bytes, blocks, lua, n, retired_lua;
};

/* Runs over a copy of the records: adds only, allocates nothing. */
static int add(const struct skynet_mem_stat *st, void *ud) {
	struct sums *s = ud;
	s->bytes += st->bytes;
	s->blocks += st->blocks;
	s->lua += st->lua_bytes;
	s->n++;
	if (st->retired && st->lua_bytes)
		s->retired_lua++;
	return 0;
}

/* audit(): totals.bytes, blocks, lua_bytes, services, then the records'
 * sums of the same four, then how many exited records hold Lua heap. */
static int audit(lua_State *L) {
	lua_checkstack(L, 9);   /* before the reads: it may grow the stack */
	struct skynet_mem_totals t;
	struct sums s = { 0 };
	skynet_mem_totals(&t);
	skynet_mem_foreach(add, &s);
	lua_pushinteger(L, (lua_Integer)t.bytes);
	lua_pushinteger(L, (lua_Integer)t.blocks);
	lua_pushinteger(L, (lua_Integer)t.lua_bytes);
	lua_pushinteger(L, (lua_Integer)t.services);
	lua_pushinteger(L, (lua_Integer)s.bytes);
	lua_pushinteger(L, (lua_Integer)s.blocks);
	lua_pushinteger(L, (lua_Integer)s.lua);
	lua_pushinteger(L, (lua_Integer)s.n);
	lua_pushinteger(L, (lua_Integer)s.retired_lua);
	return 9;
}

int luaopen_skynet_mem_totals(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg l[] = {
		{ "audit", audit },
		{ NULL, NULL },
	};
	luaL_newlib(L, l);
	return 1;
}
