/* "skynet.core": the C side of the Lua service API (skynet's names where it
 * has them). The service's context is every function's upvalue. */

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "limit_hits.h"
#include "logger.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"
#include "snlua.h"

static char cb_key;

static struct skynet_context *self_ctx(lua_State *L) {
	return lua_touserdata(L, lua_upvalueindex(1));
}

/* An address: an integer handle, ":0100000a", or a ".name". 0 when unknown. */
static uint32_t get_address(lua_State *L, int idx) {
	if (lua_type(L, idx) == LUA_TNUMBER)
		return (uint32_t)luaL_checkinteger(L, idx);
	const char *s = luaL_checkstring(L, idx);
	if (s[0] == ':') {
		char *end;
		unsigned long h = strtoul(s + 1, &end, 16);
		if (*end || end == s + 1 || h > UINT32_MAX)
			luaL_error(L, "bad address '%s'", s);
		return (uint32_t)h;
	}
	if (s[0] == '.')
		return host_query_name(s);
	return (uint32_t)luaL_error(L, "bad address '%s' (want a handle, ':hex' or '.name')", s);
}

/* send(dest, type, session|nil, msg string|lightuserdata|nil [, sz]) -> session | false */
static int l_send(lua_State *L) {
	struct skynet_context *ctx = self_ctx(L);
	uint32_t dest = get_address(L, 1);
	int type = (int)luaL_checkinteger(L, 2);
	int session = lua_isnoneornil(L, 3) ? -1 : (int)luaL_checkinteger(L, 3);
	void *data = NULL;
	size_t sz = 0;
	switch (lua_type(L, 4)) {
	case LUA_TSTRING: {
		const char *s = lua_tolstring(L, 4, &sz);
		if (sz) {
			data = skynet_malloc(sz);
			if (data == NULL)
				return luaL_error(L, "not enough memory (C message of %d bytes)", (int)sz);
			memcpy(data, s, sz);
		}
		break;
	}
	case LUA_TLIGHTUSERDATA:
		data = lua_touserdata(L, 4);
		sz = (size_t)luaL_checkinteger(L, 5);
		break;
	case LUA_TNONE:
	case LUA_TNIL:
		break;
	default:
		return luaL_error(L, "send: bad message type %s", luaL_typename(L, 4));
	}
	if (dest == 0) {
		skynet_free(data);
		lua_pushboolean(L, 0);
		return 1;
	}
	int r = skynet_send(ctx, skynet_context_handle(ctx), dest, type, session, data, sz);
	if (r < 0)
		lua_pushboolean(L, 0);
	else
		lua_pushinteger(L, r);
	return 1;
}

static int l_genid(lua_State *L) {
	lua_pushinteger(L, skynet_context_newsession(self_ctx(L)));
	return 1;
}

static int l_self(lua_State *L) {
	lua_pushinteger(L, skynet_context_handle(self_ctx(L)));
	return 1;
}

static int l_exit(lua_State *L) {
	host_exit_service(skynet_context_handle(self_ctx(L)));
	return 0;
}

static int l_kill(lua_State *L) {
	uint32_t h = get_address(L, 1);
	lua_pushboolean(L, h != 0 && host_exit_service(h) == 0);
	return 1;
}

/* launch(module, param) -> handle | nil; the new service pays for itself. */
static int l_launch(lua_State *L) {
	const char *mod = luaL_checkstring(L, 1);
	const char *param = luaL_optstring(L, 2, "");
	uint32_t h = host_launch(mod, param);
	if (h == 0)
		return 0;
	lua_pushinteger(L, h);
	return 1;
}

/* timeout(centiseconds) -> session of the PTYPE_RESPONSE to come */
static int l_timeout(lua_State *L) {
	struct skynet_context *ctx = self_ctx(L);
	int ti = (int)luaL_checkinteger(L, 1);
	int session = skynet_context_newsession(ctx);
	if (host_timeout(skynet_context_handle(ctx), ti, session) != 0)
		return luaL_error(L, "timeout: cannot schedule");
	lua_pushinteger(L, session);
	return 1;
}

static int l_register(lua_State *L) {
	const char *name = luaL_checkstring(L, 1);
	uint32_t h = lua_isnoneornil(L, 2) ? skynet_context_handle(self_ctx(L)) : get_address(L, 2);
	if (host_register_name(h, name) != 0)
		return luaL_error(L, "cannot register name '%s' (want an unused '.name' under %d bytes)",
			name, HOST_NAME_MAX_LEN);
	return 0;
}

static int l_query(lua_State *L) {
	uint32_t h = get_address(L, 1);
	if (h == 0)
		return 0;
	lua_pushinteger(L, h);
	return 1;
}

static int l_now(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)host_now());
	return 1;
}

static int l_error(lua_State *L) {
	host_log(skynet_context_handle(self_ctx(L)), "%s", luaL_checkstring(L, 1));
	return 0;
}

static int l_tostring(lua_State *L) {
	if (lua_type(L, 1) == LUA_TSTRING) {
		lua_settop(L, 1);
		return 1;
	}
	const char *msg = lua_touserdata(L, 1);
	size_t sz = (size_t)luaL_checkinteger(L, 2);
	if (msg == NULL && sz)
		return luaL_error(L, "tostring: NULL message of %d bytes", (int)sz);
	lua_pushlstring(L, msg ? msg : "", sz);
	return 1;
}

/* memlimit(bytes): this service's limit on C + Lua bytes (0 removes it). Returns the old one. */
static int l_memlimit(lua_State *L) {
	lua_Integer n = luaL_checkinteger(L, 1);
	luaL_argcheck(L, n >= 0, 1, "limit must be >= 0");
	uint32_t h = skynet_context_handle(self_ctx(L));
	size_t old = skynet_mem_get_limit(h);
	if (skynet_mem_set_limit(h, (size_t)n) != 0)
		return luaL_error(L, "memlimit: cannot set");
	lua_pushinteger(L, (lua_Integer)old);
	return 1;
}

static int l_label(lua_State *L) {
	skynet_context_label(self_ctx(L), luaL_checkstring(L, 1));
	return 0;
}

static int l_name(lua_State *L) {
	char buf[HOST_NAME_MAX_LEN];
	uint32_t h = lua_isnoneornil(L, 1) ? skynet_context_handle(self_ctx(L)) : get_address(L, 1);
	if (host_service_name(h, buf, sizeof(buf)) != 0)
		return 0;
	lua_pushstring(L, buf);
	return 1;
}

/* cmalloc(n) -> lightuserdata | nil: C memory charged to this service (for
 * demos and tests of C accounting); filled so it is really resident. */
static int l_cmalloc(lua_State *L) {
	lua_Integer n = luaL_checkinteger(L, 1);
	luaL_argcheck(L, n >= 0, 1, "size must be >= 0");
	void *p = skynet_malloc((size_t)n);
	if (p == NULL) {
		host_limit_refused(skynet_context_handle(self_ctx(L)), "C", (size_t)n);
		return 0;
	}
	memset(p, 0x5a, (size_t)n);
	lua_pushlightuserdata(L, p);
	return 1;
}

static int l_cfree(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	skynet_free(lua_touserdata(L, 1));
	return 0;
}

/* cowner(p) -> handle charged for a C block (a message or a cmalloc block). */
static int l_cowner(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	lua_pushinteger(L, skynet_mem_owner(lua_touserdata(L, 1)));
	return 1;
}

static int msgh(lua_State *L) {
	const char *msg = lua_tostring(L, 1);
	if (msg)
		luaL_traceback(L, L, msg, 1);
	return 1;
}

/* The host calls this for each message once skynet.start installed f. */
static int lua_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	lua_State *L = ud;
	if (type == PTYPE_SYSTEM) {
		if (sz == 2 && memcmp(msg, "gc", 2) == 0)
			lua_gc(L, LUA_GCCOLLECT);
		else if (sz == 4 && memcmp(msg, "exit", 4) == 0)
			host_exit_service(skynet_context_handle(ctx));   /* the console's exit */
		return 0;   /* "ping" needs no work: being handled is the answer */
	}
	if (!lua_checkstack(L, 8)) {
		host_log(skynet_context_handle(ctx), "lua: no stack for a message (memory limit?)");
		return 0;
	}
	int top = lua_gettop(L);
	lua_pushcfunction(L, msgh);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &cb_key);
	lua_pushinteger(L, type);
	lua_pushlightuserdata(L, (void *)msg);
	lua_pushinteger(L, (lua_Integer)sz);
	lua_pushinteger(L, session);
	lua_pushinteger(L, source);
	if (lua_pcall(L, 5, 0, top + 1) != LUA_OK) {
		const char *e = lua_tostring(L, -1);
		host_log(skynet_context_handle(ctx), "lua error: %s", e ? e : "(not a string)");
	}
	lua_settop(L, top);
	return 0;
}

/* callback(f): f(type, msg, sz, session, source) for every message. */
static int l_callback(lua_State *L) {
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &cb_key);
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
	lua_State *main = lua_tothread(L, -1);
	skynet_callback(self_ctx(L), main, lua_cb);
	return 0;
}

int luaopen_skynet_core(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg l[] = {
		{ "send", l_send }, { "genid", l_genid }, { "self", l_self },
		{ "exit", l_exit }, { "kill", l_kill }, { "launch", l_launch },
		{ "timeout", l_timeout }, { "register", l_register }, { "query", l_query },
		{ "now", l_now }, { "error", l_error }, { "tostring", l_tostring },
		{ "memlimit", l_memlimit }, { "label", l_label }, { "name", l_name },
		{ "cmalloc", l_cmalloc }, { "cfree", l_cfree }, { "cowner", l_cowner },
		{ "callback", l_callback },
		{ NULL, NULL },
	};
	luaL_newlibtable(L, l);
	lua_getfield(L, LUA_REGISTRYINDEX, SNLUA_CONTEXT_KEY);
	struct skynet_context *ctx = lua_touserdata(L, -1);
	if (ctx == NULL)
		return luaL_error(L, "skynet.core: only inside a snlua service");
	luaL_setfuncs(L, l, 1);
	return 1;
}
