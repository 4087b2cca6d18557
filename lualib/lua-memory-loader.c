/* skynet/memory.so for the stock lua5.4: a loader for skynet/memory_core.so,
 * the module itself (linked with libskynet-mem and jemalloc).
 *
 * Why a loader: Debian's libjemalloc.so.2 uses initial-exec TLS, larger than
 * the static TLS reserve glibc keeps for dlopen, so an interpreter that did not
 * start with jemalloc cannot load it. The loader turns the dynamic loader's
 * cryptic refusal into an error that says what to do. Hosts that embed Lua
 * link the static library skynet-memory-lua instead and never come here. */

#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#define CORE_FILE "memory_core.so"

static void locate_me(void) {
}

int luaopen_skynet_memory(lua_State *L) {
	Dl_info me;
	/* The address of a static function: always this file, never an interposer. */
	if (!dladdr((void *)(size_t)locate_me, &me) || me.dli_fname == NULL)
		return luaL_error(L, "skynet.memory: cannot find the folder of its own file");
	const char *slash = strrchr(me.dli_fname, '/');
	size_t dir = slash ? (size_t)(slash - me.dli_fname) + 1 : 0;
	lua_pushlstring(L, me.dli_fname, dir);
	lua_pushstring(L, CORE_FILE);
	lua_concat(L, 2);
	const char *path = lua_tostring(L, -1);
	void *core = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (core == NULL) {
		const char *err = dlerror();
		if (err && strstr(err, "static TLS"))
			return luaL_error(L, "skynet.memory: %s\n"
				"\tjemalloc must be in the process from its start: run lua5.4 with\n"
				"\tLD_PRELOAD=libjemalloc.so.2, or GLIBC_TUNABLES=glibc.rtld.optional_static_tls=4096", err);
		return luaL_error(L, "skynet.memory: %s", err ? err : path);
	}
	lua_CFunction open = (lua_CFunction)(size_t)dlsym(core, "luaopen_skynet_memory");
	if (open == NULL)
		return luaL_error(L, "skynet.memory: %s has no luaopen_skynet_memory", path);
	lua_pop(L, 1);
	return open(L);
}
