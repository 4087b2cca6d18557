/* Snapshots and their difference: per-service growth over a window, ranked the
 * way Erlang's recon ranks processes (take two samples, sort by the change). */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua-memory.h"

#define DIFF_META "skynet.memory.diff"

static const char *const fields[] = { "bytes", "lua_bytes", "blocks", "allocs", "frees" };
#define NFIELDS 5

static double now_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* snapshot(): { time = seconds, services = { [handle] = {bytes, lua_bytes,
 * blocks, allocs, frees} } }, every record, exited ones included. */
static int lsnapshot(lua_State *L) {
	struct lmem_list *list = lmem_collect(L);
	double t = now_seconds();
	lua_createtable(L, 0, 2);
	lua_pushnumber(L, t);
	lua_setfield(L, -2, "time");
	lua_createtable(L, 0, (int)(list->n < 1u << 20 ? list->n : 1u << 20));
	for (size_t i = 0; i < list->n; i++) {
		const struct skynet_mem_stat *st = &list->v[i];
		uint64_t v[NFIELDS] = { st->bytes, st->lua_bytes, st->blocks, st->allocs, st->frees };
		lua_createtable(L, 0, NFIELDS);
		for (int f = 0; f < NFIELDS; f++) {
			lua_pushinteger(L, (lua_Integer)v[f]);
			lua_setfield(L, -2, fields[f]);
		}
		lua_rawseti(L, -2, (lua_Integer)st->handle);
	}
	lua_setfield(L, -2, "services");
	lmem_release(list);
	return 1;
}

struct change {
	uint32_t handle;
	int state;                 /* 0 in both, 1 new (only in b), 2 gone (only in a) */
	int64_t now;               /* total (bytes + lua_bytes) in b */
	int64_t d[NFIELDS];
};

struct changes {
	struct change *v;
	size_t n, cap;
};

static int changes_gc(lua_State *L) {
	struct changes *c = luaL_checkudata(L, 1, DIFF_META);
	free(c->v);
	c->v = NULL;
	return 0;
}

static struct change *changes_add(lua_State *L, struct changes *c) {
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct change *v = realloc(c->v, cap * sizeof(*v));
		if (v == NULL)
			luaL_error(L, "not enough memory");
		c->v = v;
		c->cap = cap;
	}
	struct change *x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	return x;
}

/* Checks argument arg is a snapshot; leaves its services table on the stack. */
static double check_snapshot(lua_State *L, int arg) {
	luaL_checktype(L, arg, LUA_TTABLE);
	if (lua_getfield(L, arg, "time") != LUA_TNUMBER)
		luaL_argerror(L, arg, "not a snapshot (no time)");
	double t = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (lua_getfield(L, arg, "services") != LUA_TTABLE)
		luaL_argerror(L, arg, "not a snapshot (no services table)");
	return t;
}

/* Reads an entry (on the stack top) of the snapshot at argument arg into v. */
static void read_entry(lua_State *L, int arg, int64_t v[NFIELDS]) {
	if (!lua_istable(L, -1))
		luaL_argerror(L, arg, "bad snapshot entry (table expected)");
	for (int f = 0; f < NFIELDS; f++) {
		int isint;
		lua_getfield(L, -1, fields[f]);
		v[f] = (int64_t)lua_tointegerx(L, -1, &isint);
		if (!isint)
			luaL_argerror(L, arg, lua_pushfstring(L, "bad snapshot entry (no integer %s)", fields[f]));
		lua_pop(L, 1);
	}
}

static uint32_t read_key(lua_State *L, int arg) {
	int isint;
	lua_Integer h = lua_tointegerx(L, -2, &isint);
	if (!isint || h < 0 || h > (lua_Integer)0xffffffffu)
		luaL_argerror(L, arg, "bad snapshot (keys must be handles)");
	return (uint32_t)h;
}

static int64_t total_of(const int64_t v[NFIELDS]) {
	return v[0] + v[1];
}

/* Ranking keys of diff: total growth (default), or one field's change. */
static const char *const diff_keys[] = { "total", "bytes", "lua_bytes", "blocks", "allocs", "frees", NULL };

static int64_t key_of(const struct change *c, int key) {
	return key == 0 ? total_of(c->d) : c->d[key - 1];
}

/* One comparator per key (no shared state between threads): largest change
 * first, then by handle. */
#define CMP_BY(key) \
static int cmp_##key(const void *a, const void *b) { \
	const struct change *x = a, *y = b; \
	int64_t gx = key_of(x, key), gy = key_of(y, key); \
	if (gx != gy) \
		return gx > gy ? -1 : 1; \
	return x->handle < y->handle ? -1 : x->handle > y->handle; \
}
CMP_BY(0) CMP_BY(1) CMP_BY(2) CMP_BY(3) CMP_BY(4) CMP_BY(5)

static int (*const cmp_of[])(const void *, const void *) = {
	cmp_0, cmp_1, cmp_2, cmp_3, cmp_4, cmp_5,
};

static void push_change(lua_State *L, const struct change *c, double seconds) {
	lua_createtable(L, 0, 11);
	lua_pushinteger(L, (lua_Integer)c->handle);
	lua_setfield(L, -2, "handle");
	lua_pushinteger(L, (lua_Integer)c->now);
	lua_setfield(L, -2, "total");
	lua_pushinteger(L, (lua_Integer)total_of(c->d));
	lua_setfield(L, -2, "delta");
	for (int f = 0; f < NFIELDS; f++) {
		lua_pushinteger(L, (lua_Integer)c->d[f]);
		lua_setfield(L, -2, fields[f]);
	}
	if (seconds > 0) {
		lua_pushnumber(L, (lua_Number)total_of(c->d) / seconds);
		lua_setfield(L, -2, "rate");
	}
	if (c->state) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, c->state == 1 ? "new" : "gone");
	}
}

/* diff(a, b [, n [, key]]): services whose counters changed from snapshot a
 * to b, as records of deltas, largest change of key first (default "total",
 * bytes + lua_bytes; "allocs" ranks by churn); at most n. The second result
 * is the window in seconds. */
static int ldiff(lua_State *L) {
	lua_Integer n = luaL_optinteger(L, 3, LUA_MAXINTEGER);
	luaL_argcheck(L, n >= 0, 3, "count must be >= 0");
	int key = luaL_checkoption(L, 4, "total", diff_keys);
	lua_settop(L, 3);
	double ta = check_snapshot(L, 1);         /* a.services at 4 */
	double tb = check_snapshot(L, 2);         /* b.services at 5 */
	struct changes *c = lua_newuserdatauv(L, sizeof(*c), 0);   /* at 6 */
	memset(c, 0, sizeof(*c));
	if (luaL_newmetatable(L, DIFF_META)) {
		lua_pushcfunction(L, changes_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	int64_t va[NFIELDS], vb[NFIELDS];
	/* Services in b: grown, shrunk or new. */
	lua_pushnil(L);
	while (lua_next(L, 5)) {
		uint32_t h = read_key(L, 2);
		read_entry(L, 2, vb);
		lua_pop(L, 1);
		int state = 0;
		if (lua_rawgeti(L, 4, h) == LUA_TNIL) {
			memset(va, 0, sizeof(va));
			state = 1;
		} else {
			read_entry(L, 1, va);
		}
		lua_pop(L, 1);
		int changed = state;
		for (int f = 0; f < NFIELDS; f++)
			changed |= va[f] != vb[f];
		if (!changed)
			continue;
		struct change *x = changes_add(L, c);
		x->handle = h;
		x->state = state;
		x->now = total_of(vb);
		for (int f = 0; f < NFIELDS; f++)
			x->d[f] = vb[f] - va[f];
	}
	/* Services only in a: their records were reclaimed (exited and drained). */
	lua_pushnil(L);
	while (lua_next(L, 4)) {
		uint32_t h = read_key(L, 1);
		read_entry(L, 1, va);
		lua_pop(L, 1);
		int absent = lua_rawgeti(L, 5, h) == LUA_TNIL;
		lua_pop(L, 1);
		if (!absent)
			continue;
		struct change *x = changes_add(L, c);
		x->handle = h;
		x->state = 2;
		for (int f = 0; f < NFIELDS; f++)
			x->d[f] = -va[f];
	}
	if (c->n)   /* v is NULL when nothing changed */
		qsort(c->v, c->n, sizeof(c->v[0]), cmp_of[key]);
	size_t k = (size_t)n < c->n ? (size_t)n : c->n;
	double seconds = tb - ta;
	lua_createtable(L, (int)(k < 1u << 20 ? k : 1u << 20), 0);
	for (size_t i = 0; i < k; i++) {
		push_change(L, &c->v[i], seconds);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_pushnumber(L, seconds);
	return 2;
}

void lmem_open_snapshot(lua_State *L) {
	static const luaL_Reg l[] = {
		{ "snapshot", lsnapshot },
		{ "diff", ldiff },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, l, 0);
}
