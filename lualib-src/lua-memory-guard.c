/* The skynet.memory Lua module: guarded slots (docs/guard.md).
 *   guard(handle, every) -> previous every: 1 in every of the service's
 *     blocks (up to 16 KiB) in a guarded slot; 0 stops.
 *   guardinfo([handle]) -> { slots, live, freed, guarded, missed, slot_bytes,
 *     pool_bytes, underflow [, handle's every, blocks] } */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lua-memory.h"

static int lguard(lua_State *L) {
	uint32_t h = lmem_checkhandle(L, 1);
	lua_Integer every = luaL_checkinteger(L, 2);
	luaL_argcheck(L, every >= 0 && every <= 0xffffffffLL, 2, "every must be 0 (stop) to 4294967295");
	unsigned old = skynet_mem_guard_every(h);
	if (skynet_mem_guard(h, (unsigned)every) != 0) {
		char addr[16];
		snprintf(addr, sizeof(addr), ":%08x", (unsigned)h);
		return luaL_error(L, "guard %s: %s", addr, errno == ENOTSUP ? "not in MEMORY_CHECK builds (the checker sees every block)"
			: errno == ENOSPC ? "64 services are guarded already" : "no memory for the guarded pool");
	}
	lua_pushinteger(L, (lua_Integer)old);
	return 1;
}

static void setint(lua_State *L, const char *k, lua_Integer v) {
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static int lguardinfo(lua_State *L) {
	struct skynet_mem_guard_info g;
	skynet_mem_guard_info(&g);
	lua_createtable(L, 0, 10);
	setint(L, "slots", (lua_Integer)g.slots);
	setint(L, "live", (lua_Integer)g.live);
	setint(L, "freed", (lua_Integer)g.freed);
	setint(L, "guarded", (lua_Integer)g.guarded);
	setint(L, "missed", (lua_Integer)g.missed);
	setint(L, "slot_bytes", (lua_Integer)g.slot_bytes);
	setint(L, "pool_bytes", (lua_Integer)g.pool_bytes);
	lua_pushboolean(L, g.underflow);
	lua_setfield(L, -2, "underflow");
	if (!lua_isnoneornil(L, 1)) {
		uint32_t h = lmem_checkhandle(L, 1);
		setint(L, "every", (lua_Integer)skynet_mem_guard_every(h));
		setint(L, "blocks", (lua_Integer)skynet_mem_guard_blocks(h));
	}
	return 1;
}

void lmem_open_guard(lua_State *L) {
	static const luaL_Reg l[] = {
		{ "guard", lguard },
		{ "guardinfo", lguardinfo },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, l, 0);
}
