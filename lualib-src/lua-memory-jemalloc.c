/* skynet.memory's jemalloc controls with skynet's shapes: dumpinfo, jestat,
 * mallctl (an integer, 0 when unreadable), dumpheap (a no-op when profiling is
 * off), profactive (any value, as the debug console passes "on"/"off"; false
 * when profiling is off). Without jemalloc they answer as skynet's
 * NOUSE_JEMALLOC build does. mallctl_value reads a control with its own type
 * and raises on errors. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lua-memory.h"
#include "malloc_hook.h"

#ifdef SKYNET_MEM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>

/* dumpinfo([opts]): jemalloc's malloc_stats_print to stderr, as skynet's. */
static int ldumpinfo(lua_State *L) {
	memory_info_dump(lua_isstring(L, 1) ? lua_tostring(L, 1) : NULL);
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
			v = 0;
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

/* mallctl_value(name): reads one jemalloc control. Integers (uint64, size_t, ssize_t,
 * unsigned) as integers, bools as booleans, strings as strings. jemalloc checks
 * the length it is given, so the width is found by trying 8, 4, then 1 byte. */
static int lmallctl_value(lua_State *L) {
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

/* A control's integer value whatever its width, or -1 when it has none. */
static int read_integer(const char *name, int64_t *out) {
	int64_t v64 = 0;
	size_t len = sizeof(v64);
	if (mallctl(name, &v64, &len, NULL, 0) == 0) {
		*out = v64;
		return 0;
	}
	uint32_t v32 = 0;
	len = sizeof(v32);
	if (mallctl(name, &v32, &len, NULL, 0) == 0) {
		*out = v32;
		return 0;
	}
	bool b = false;
	len = sizeof(b);
	if (mallctl(name, &b, &len, NULL, 0) == 0) {
		*out = b;
		return 0;
	}
	return -1;
}

/* mallctl(name): skynet's: always an integer (booleans as 0/1), 0 for an
 * unknown name, a string-valued control or a command. */
static int lmallctl(lua_State *L) {
	const char *name = luaL_checkstring(L, 1);
	int64_t v = 0;
	if (string_valued(name) || read_integer(name, &v) != 0)
		v = 0;
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

/* dumpheap([file]): prof.dump, to jemalloc's default file name (after
 * opt.prof_prefix) or to file; nothing happens when profiling is off, and
 * nothing is returned or raised, as in skynet. */
static int ldumpheap(lua_State *L) {
	const char *file = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
	if (file)
		mallctl("prof.dump", NULL, NULL, &file, sizeof(file));
	else
		mallctl("prof.dump", NULL, NULL, NULL, 0);
	return 0;
}

/* profactive([v]): reads prof.active, or sets it to v's truth value first;
 * returns the value before. false when profiling is off. */
static int lprofactive(lua_State *L) {
	bool old = false, val = lua_toboolean(L, 1);
	size_t len = sizeof(old);
	int err = lua_isnone(L, 1) ? mallctl("prof.active", &old, &len, NULL, 0)
		: mallctl("prof.active", &old, &len, &val, sizeof(val));
	lua_pushboolean(L, err == 0 && old);
	return 1;
}

#else

/* skynet's NOUSE_JEMALLOC answers. */
static int ldumpinfo(lua_State *L) {
	(void)L;
	skynet_mem_log("No jemalloc");
	return 0;
}

static int ljestat(lua_State *L) {
	static const char *const names[] = {
		"stats.allocated", "stats.resident", "stats.retained", "stats.mapped", "stats.active",
	};
	lua_createtable(L, 0, 5);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		lua_pushinteger(L, 0);
		lua_setfield(L, -2, names[i]);
	}
	return 1;
}

static int lmallctl(lua_State *L) {
	luaL_checkstring(L, 1);
	lua_pushinteger(L, 0);
	return 1;
}

static int ldumpheap(lua_State *L) {
	(void)L;
	return 0;
}

static int lprofactive(lua_State *L) {
	lua_pushboolean(L, 0);
	return 1;
}

static int lmallctl_value(lua_State *L) {
	return luaL_error(L, "skynet.memory.mallctl_value needs jemalloc (built with SKYNET_MEM_JEMALLOC=OFF)");
}

#endif

void lmem_open_jemalloc(lua_State *L) {
	static const luaL_Reg fns[] = {
		{ "dumpinfo", ldumpinfo },
		{ "jestat", ljestat },
		{ "mallctl", lmallctl },
		{ "mallctl_value", lmallctl_value },
		{ "dumpheap", ldumpheap },
		{ "profactive", lprofactive },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
