/* snlua: one Lua state per service, on the accounted Lua allocator (charged
 * to the service's handle), so the heap is charged to the service and stops at
 * the service's limit with "not enough memory". Boots the service's script
 * in its first message, as skynet does. */

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "limit_hits.h"
#include "logger.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"
#include "snlua.h"

#ifdef HAVE_SKYNET_MEMORY_LUA
int luaopen_skynet_memory(lua_State *L);
#endif

#ifndef SKYNET_HOST_LUA_DIR
#define SKYNET_HOST_LUA_DIR "."
#endif

struct snlua {
	lua_State *L;
	struct skynet_context *ctx;
	uint32_t handle;
	size_t mem;   /* the Lua heap as Lua counts it (its requests); written by its allocator */
};

static void *snlua_create(void) {
	struct snlua *s = skynet_malloc(sizeof(*s));
	if (s)
		memset(s, 0, sizeof(*s));
	return s;
}

static void snlua_release(void *inst) {
	struct snlua *s = inst;
	if (s->L)
		lua_close(s->L);
	skynet_free(s);
}

static int traceback(lua_State *L) {
	const char *msg = lua_tostring(L, 1);
	if (msg)
		luaL_traceback(L, L, msg, 1);
	else
		lua_pushliteral(L, "(error object is not a string)");
	return 1;
}

/* package.path: the configured entries, then the host's own Lua files. */
static void set_path(lua_State *L) {
	const struct host_config *cfg = host_config();
	lua_getglobal(L, "package");
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	if (cfg && cfg->lua_path) {
		luaL_addstring(&b, cfg->lua_path);
		luaL_addchar(&b, ';');
	}
	luaL_addstring(&b, SKYNET_HOST_LUA_DIR "/?.lua;");
	lua_getfield(L, -2, "path");
	luaL_addvalue(&b);
	luaL_pushresult(&b);
	lua_setfield(L, -2, "path");
	lua_pop(L, 1);
}

/* Loads the script "name" through the service_path templates; pushes the chunk. */
static void load_service(lua_State *L, const char *name) {
	const struct host_config *cfg = host_config();
	const char *path = cfg && cfg->service_path ? cfg->service_path : "./?.lua";
	const char *p = path;
	while (*p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		lua_pushlstring(L, p, len);
		const char *file = luaL_gsub(L, lua_tostring(L, -1), "?", name);
		int r = luaL_loadfile(L, file);   /* template, file, chunk or error */
		if (r == LUA_OK) {
			lua_replace(L, -3);
			lua_pop(L, 1);
			return;
		}
		if (r != LUA_ERRFILE)
			lua_error(L);
		lua_pop(L, 3);
		p += len;
		if (*p == ';')
			p++;
	}
	luaL_error(L, "service '%s' not found in %s", name, path);
}

/* Runs in protected mode: libraries, modules, path, then the script. */
static int boot(lua_State *L) {
	struct skynet_context *ctx = lua_touserdata(L, 1);
	const char *param = lua_tostring(L, 2);
	luaL_openlibs(L);
	lua_pushlightuserdata(L, ctx);
	lua_setfield(L, LUA_REGISTRYINDEX, SNLUA_CONTEXT_KEY);
	luaL_requiref(L, "skynet.core", luaopen_skynet_core, 0);
	lua_pop(L, 1);
#ifdef HAVE_SKYNET_MEMORY_LUA
	luaL_requiref(L, "skynet.memory", luaopen_skynet_memory, 0);
	lua_pop(L, 1);
#endif
	set_path(L);
	/* words of param: the script name, then its arguments (strings) */
	int n = 0;
	const char *p = param;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if (p > w) {
			lua_pushlstring(L, w, (size_t)(p - w));
			n++;
		}
	}
	if (n == 0)
		return luaL_error(L, "snlua: no service name");
	const char *name = lua_tostring(L, 3);
	skynet_context_label(ctx, name);
	load_service(L, name);       /* pushes the chunk */
	lua_insert(L, 4);            /* chunk below the arguments */
	lua_call(L, n - 1, 0);
	return 0;
}

static int launch_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	(void)type, (void)session, (void)source;
	struct snlua *s = ud;
	lua_State *L = s->L;
	skynet_callback(ctx, NULL, NULL);   /* skynet.start installs the real one */
	lua_pushcfunction(L, traceback);
	lua_pushcfunction(L, boot);
	lua_pushlightuserdata(L, ctx);
	lua_pushlstring(L, msg, sz);
	if (lua_pcall(L, 2, 0, 1) != LUA_OK) {
		const char *e = lua_tostring(L, -1);
		host_log(skynet_context_handle(ctx), "snlua: init failed: %s", e ? e : "?");
		host_exit_service(skynet_context_handle(ctx));
	}
	lua_settop(L, 0);
	return 0;
}

/* The accounted allocator, noting what its limit refused (for the page) and
 * keeping Lua's own count of the heap (skynet's snlua `mem`, beside the
 * layer's charge, lua_bytes). A NULL for a size > 0 is a refusal. Only the
 * service's own thread allocates in its state; readers load it relaxed. */
static void *snlua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	struct snlua *s = ud;
	void *p = skynet_mem_lua_alloc((void *)(uintptr_t)s->handle, ptr, osize, nsize);
	if (__builtin_expect(p == NULL && nsize != 0, 0)) {
		host_limit_refused(s->handle, "Lua", nsize);
		return NULL;
	}
	/* a NULL ptr's osize is the kind of object, not a size */
	__atomic_store_n(&s->mem, s->mem + nsize - (ptr ? osize : 0), __ATOMIC_RELAXED);
	return p;
}

static long long snlua_lua_mem(void *inst) {
	struct snlua *s = inst;
	return (long long)__atomic_load_n(&s->mem, __ATOMIC_RELAXED);
}

static int snlua_init(void *inst, struct skynet_context *ctx, const char *param) {
	struct snlua *s = inst;
	uint32_t h = skynet_context_handle(ctx);
	s->handle = h;
	s->L = lua_newstate(snlua_alloc, s);
	if (s->L == NULL)
		return -1;
	s->ctx = ctx;
	const char *sp = strchr(param, ' ');
	size_t len = sp ? (size_t)(sp - param) : strlen(param);
	char label[256];   /* the registry cuts it at a character boundary */
	snprintf(label, sizeof(label), "%.*s", (int)len, param);
	skynet_context_label(ctx, label);
	skynet_callback(ctx, s, launch_cb);
	/* The first message boots the script on a worker, with the service current. */
	return skynet_send_copy(ctx, h, PTYPE_TEXT, 0, param, strlen(param)) < 0 ? -1 : 0;
}

const struct skynet_module host_snlua_module = {
	"snlua", snlua_create, snlua_init, snlua_release, snlua_lua_mem,
};
