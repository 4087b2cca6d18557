/* memtest: a test-only Lua module that lets the lua5.4 test scripts act as the
 * actor host would: charge C blocks to a service, retire it, and run Lua code
 * in a state whose heap goes through the accounted Lua allocator. */

#include <stdint.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "skynet_malloc.h"
#include "skynet_mem.h"

#define STATE_META "memtest.state"

struct box {
	lua_State *L;
	uint32_t handle;
};

static uint32_t check_handle(lua_State *L, int arg) {
	lua_Integer h = luaL_checkinteger(L, arg);
	luaL_argcheck(L, h >= 0 && h <= (lua_Integer)0xffffffffu, arg, "handle out of range");
	return (uint32_t)h;
}

/* malloc(handle, n): a C block charged to handle; a light userdata. */
static int lmalloc(lua_State *L) {
	uint32_t h = check_handle(L, 1);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_argcheck(L, n >= 0, 2, "size must be >= 0");
	uint32_t was = skynet_current_handle();
	skynet_mem_set_current(h);
	void *p = skynet_malloc((size_t)n);
	skynet_mem_set_current(was);
	if (p == NULL)
		return luaL_error(L, "not enough memory");
	lua_pushlightuserdata(L, p);
	return 1;
}

static int lfree(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	skynet_free(lua_touserdata(L, 1));
	return 0;
}

static int lcharge(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	lua_pushinteger(L, (lua_Integer)skynet_mem_block_charge(lua_touserdata(L, 1)));
	return 1;
}

static int lsetcurrent(lua_State *L) {
	skynet_mem_set_current(check_handle(L, 1));
	return 0;
}

/* exit(handle): retires the service; returns what it still held. */
static int lexit(lua_State *L) {
	struct skynet_mem_stat st;
	skynet_mem_service_exit(check_handle(L, 1), &st);
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, (lua_Integer)st.bytes);
	lua_setfield(L, -2, "bytes");
	lua_pushinteger(L, (lua_Integer)st.blocks);
	lua_setfield(L, -2, "blocks");
	lua_pushinteger(L, (lua_Integer)st.lua_bytes);
	lua_setfield(L, -2, "lua_bytes");
	return 1;
}

/* newstate(handle): a Lua state (standard libraries) under the accounted allocator. */
static int lnewstate(lua_State *L) {
	uint32_t h = check_handle(L, 1);
	struct box *b = lua_newuserdatauv(L, sizeof(*b), 0);
	b->L = NULL;
	b->handle = h;
	luaL_setmetatable(L, STATE_META);
	b->L = lua_newstate(skynet_mem_lua_alloc, (void *)(uintptr_t)h);
	if (b->L == NULL)
		return luaL_error(L, "not enough memory");
	luaL_openlibs(b->L);
	return 1;
}

static struct box *check_open(lua_State *L) {
	struct box *b = luaL_checkudata(L, 1, STATE_META);
	if (b->L == NULL)
		luaL_error(L, "state is closed");
	return b;
}

/* state:run(code): runs code there in protected mode. Returns true and the
 * first result as a string (or nil), or false and the error message. */
static int lrun(lua_State *L) {
	struct box *b = check_open(L);
	size_t len;
	const char *code = luaL_checklstring(L, 2, &len);
	lua_State *S = b->L;
	int top = lua_gettop(S);
	int err = luaL_loadbuffer(S, code, len, "=memtest");
	if (err == LUA_OK)
		err = lua_pcall(S, 0, 1, 0);
	lua_pushboolean(L, err == LUA_OK);
	if (lua_isnoneornil(S, -1) || lua_gettop(S) == top)
		lua_pushnil(L);
	else if (lua_type(S, -1) == LUA_TBOOLEAN)
		lua_pushboolean(L, lua_toboolean(S, -1));
	else if (lua_isinteger(S, -1))
		lua_pushinteger(L, lua_tointeger(S, -1));
	else if (lua_type(S, -1) == LUA_TNUMBER)
		lua_pushnumber(L, lua_tonumber(S, -1));
	else
		lua_pushstring(L, luaL_tolstring(S, -1, NULL));
	lua_settop(S, top);
	return 2;
}

/* state:bytes(): the state's own count of its heap, in bytes (exact). */
static int lbytes(lua_State *L) {
	lua_State *S = check_open(L)->L;
	lua_pushinteger(L, (lua_Integer)lua_gc(S, LUA_GCCOUNT, 0) * 1024 + lua_gc(S, LUA_GCCOUNTB, 0));
	return 1;
}

static int lclose(lua_State *L) {
	struct box *b = luaL_checkudata(L, 1, STATE_META);
	if (b->L) {
		lua_close(b->L);
		b->L = NULL;
	}
	return 0;
}

int luaopen_memtest(lua_State *L) {
	static const luaL_Reg methods[] = {
		{ "run", lrun },
		{ "bytes", lbytes },
		{ "close", lclose },
		{ NULL, NULL },
	};
	static const luaL_Reg l[] = {
		{ "malloc", lmalloc },
		{ "free", lfree },
		{ "charge", lcharge },
		{ "setcurrent", lsetcurrent },
		{ "exit", lexit },
		{ "newstate", lnewstate },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, STATE_META);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lclose);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newlib(L, l);
	return 1;
}
