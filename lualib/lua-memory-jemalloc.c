/* skynet.memory's jemalloc controls: dumpinfo, jestat, mallctl, dumpheap,
 * profactive. Without jemalloc each raises an error saying so. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lua-memory.h"
#include "malloc_hook.h"

#ifdef SKYNET_MEM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>

/* dumpinfo([opts]): jemalloc's malloc_stats_print to stderr, as skynet's. */
static int ldumpinfo(lua_State *L) {
	const char *opts = luaL_optstring(L, 1, NULL);
	memory_info_dump(opts);
	return 0;
}

/* jestat(): skynet's five process figures, refreshed (epoch) first. */
static int ljestat(lua_State *L) {
	static const char *const names[] = {
		"stats.allocated", "stats.resident", "stats.retained", "stats.mapped", "stats.active",
	};
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
	lua_createtable(L, 0, 5);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t v = 0;
		len = sizeof(v);
		if (mallctl(names[i], &v, &len, NULL, 0) != 0)
			return luaL_error(L, "jestat: mallctl %s failed", names[i]);
		lua_pushinteger(L, (lua_Integer)v);
		lua_setfield(L, -2, names[i]);
	}
	return 1;
}

/* The readable names whose value is a string (jemalloc(3), 5.3). */
static int string_valued(const char *name) {
	static const char *const names[] = {
		"version", "config.malloc_conf", "opt.metadata_thp", "opt.dss", "opt.percpu_arena",
		"opt.stats_print_opts", "opt.stats_interval_opts", "opt.junk", "opt.thp",
		"opt.prof_prefix", "opt.zero_realloc", "thread.prof.name", NULL,
	};
	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".dss") == 0;   /* arena.<i>.dss, stats.arenas.<i>.dss */
}

static int mallctl_error(lua_State *L, const char *name, int err) {
	switch (err) {
	case ENOENT:
		return luaL_error(L, "mallctl: unknown name '%s'", name);
	case EPERM:
		return luaL_error(L, "mallctl: '%s' is not readable (a command or write-only)", name);
	case EINVAL:
		return luaL_error(L, "mallctl: '%s' has no integer, boolean or string value", name);
	default:
		return luaL_error(L, "mallctl: '%s' failed: %s", name, strerror(err));
	}
}

/* mallctl(name): reads one jemalloc control. Integers (uint64, size_t, ssize_t,
 * unsigned) as integers, bools as booleans, strings as strings. jemalloc checks
 * the length it is given, so the width is found by trying 8, 4, then 1 byte. */
static int lmallctl(lua_State *L) {
	const char *name = luaL_checkstring(L, 1);
	int err;
	if (string_valued(name)) {
		const char *v = NULL;
		size_t len = sizeof(v);
		if ((err = mallctl(name, &v, &len, NULL, 0)) != 0)
			return mallctl_error(L, name, err);
		lua_pushstring(L, v);
		return 1;
	}
	int64_t v64 = 0;
	size_t len = sizeof(v64);
	if ((err = mallctl(name, &v64, &len, NULL, 0)) == 0) {
		lua_pushinteger(L, (lua_Integer)v64);
		return 1;
	}
	if (err != EINVAL)
		return mallctl_error(L, name, err);
	uint32_t v32 = 0;
	len = sizeof(v32);
	if ((err = mallctl(name, &v32, &len, NULL, 0)) == 0) {
		lua_pushinteger(L, (lua_Integer)v32);
		return 1;
	}
	bool b = false;
	len = sizeof(b);
	if ((err = mallctl(name, &b, &len, NULL, 0)) == 0) {
		lua_pushboolean(L, b);
		return 1;
	}
	return mallctl_error(L, name, err);
}

static bool read_bool(const char *name) {
	bool b = false;
	size_t len = sizeof(b);
	if (mallctl(name, &b, &len, NULL, 0) != 0)
		return false;
	return b;
}

/* Heap profiling needs a jemalloc built with --enable-prof (Debian's is) and a
 * process started with MALLOC_CONF=prof:true. */
static void check_prof(lua_State *L, const char *fn) {
	if (!read_bool("config.prof"))
		luaL_error(L, "%s: this jemalloc was built without heap profiling (config.prof is false)", fn);
	if (!read_bool("opt.prof"))
		luaL_error(L, "%s: heap profiling is off; start the process with MALLOC_CONF=prof:true", fn);
}

/* dumpheap([filename]): prof.dump, to jemalloc's default name or to filename. */
static int ldumpheap(lua_State *L) {
	const char *file = luaL_optstring(L, 1, NULL);
	check_prof(L, "dumpheap");
	int err = file ? mallctl("prof.dump", NULL, NULL, &file, sizeof(file))
		: mallctl("prof.dump", NULL, NULL, NULL, 0);
	if (err)
		return luaL_error(L, "dumpheap: prof.dump failed: %s", strerror(err));
	return 0;
}

/* profactive([bool]): reads, or sets, prof.active; returns the previous value. */
static int lprofactive(lua_State *L) {
	int set = !lua_isnone(L, 1);
	if (set)
		luaL_checktype(L, 1, LUA_TBOOLEAN);
	check_prof(L, "profactive");
	bool old = false, val = lua_toboolean(L, 1);
	size_t len = sizeof(old);
	int err = set ? mallctl("prof.active", &old, &len, &val, sizeof(val))
		: mallctl("prof.active", &old, &len, NULL, 0);
	if (err)
		return luaL_error(L, "profactive: prof.active failed: %s", strerror(err));
	lua_pushboolean(L, old);
	return 1;
}

#else

static int no_jemalloc(lua_State *L) {
	return luaL_error(L, "skynet.memory.%s needs jemalloc (built with SKYNET_MEM_JEMALLOC=OFF)",
		lua_tostring(L, lua_upvalueindex(1)));
}

#endif

void lmem_open_jemalloc(lua_State *L) {
	static const char *const names[] = { "dumpinfo", "jestat", "mallctl", "dumpheap", "profactive" };
#ifdef SKYNET_MEM_USE_JEMALLOC
	static const lua_CFunction fns[] = { ldumpinfo, ljestat, lmallctl, ldumpheap, lprofactive };
	for (int i = 0; i < 5; i++) {
		lua_pushcfunction(L, fns[i]);
		lua_setfield(L, -2, names[i]);
	}
#else
	for (int i = 0; i < 5; i++) {
		lua_pushstring(L, names[i]);
		lua_pushcclosure(L, no_jemalloc, 1);
		lua_setfield(L, -2, names[i]);
	}
#endif
}
