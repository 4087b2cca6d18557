/* skynet.memory: skynet's memory module (same names and result shapes) over the
 * skynet-mem layer, plus what a user hunting memory needs: full records, top-N,
 * limits, orphans. The records as Lua sees them are in lua-memory-records.c,
 * snapshots in lua-memory-snapshot.c, the jemalloc controls in
 * lua-memory-jemalloc.c; log lines go through skynet_mem_log (the host's
 * logger, registered with skynet_mem_set_log). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua-memory.h"
#include "malloc_hook.h"

/* --- skynet's functions: C bytes only, as skynet counts them (its Lua heap is
 * counted by snlua itself; here it is each record's lua_bytes) --- */

static int ltotal(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)malloc_used_memory());
	return 1;
}

static int lblock(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)malloc_memory_block());
	return 1;
}

static int lcurrent(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)malloc_current_memory());
	return 1;
}

/* dump(): skynet's lines, through the host's logger: dump_c_mem, as in skynet. */
static int ldump(lua_State *L) {
	(void)L;
	dump_c_mem();
	return 0;
}

/* { [handle] = C bytes }: every service still holding C memory. skynet's C
 * name for it is dump_mem_lua. */
int dump_mem_lua(lua_State *L) {
	struct lmem_list *list = lmem_collect(L);
	lua_createtable(L, 0, (int)(list->n < 1u << 20 ? list->n : 1u << 20));
	for (size_t i = 0; i < list->n; i++) {
		if (list->v[i].bytes == 0)
			continue;
		lua_pushinteger(L, (lua_Integer)list->v[i].bytes);
		lua_rawseti(L, -2, (lua_Integer)list->v[i].handle);
	}
	lmem_release(list);
	return 1;
}

/* --- records, ranking, limits --- */

static int lstat(lua_State *L) {
	uint32_t h = lmem_checkhandle(L, 1);
	struct skynet_mem_stat st;
	if (skynet_mem_stat(h, &st) != 0) {
		lua_pushnil(L);
		return 1;
	}
	lmem_pushstat(L, &st);
	return 1;
}

static const char *const top_keys[] = { "total", "bytes", "lua_bytes", "blocks", "peak", "allocs", NULL };

static uint64_t key_of(const struct skynet_mem_stat *st, int key) {
	switch (key) {
	case 1: return st->bytes;
	case 2: return st->lua_bytes;
	case 3: return st->blocks;
	case 4: return st->peak;
	case 5: return st->allocs;
	default: return lmem_total(st);
	}
}

/* One comparator per key (no shared state: services on several threads may
 * rank at once). Largest first, then by handle for a stable order. */
#define CMP_BY(key) \
static int cmp_##key(const void *a, const void *b) { \
	uint64_t kx = key_of(a, key), ky = key_of(b, key); \
	if (kx != ky) \
		return kx > ky ? -1 : 1; \
	uint32_t hx = ((const struct skynet_mem_stat *)a)->handle; \
	uint32_t hy = ((const struct skynet_mem_stat *)b)->handle; \
	return hx < hy ? -1 : hx > hy; \
}
CMP_BY(0) CMP_BY(1) CMP_BY(2) CMP_BY(3) CMP_BY(4) CMP_BY(5)

static int (*const cmp_of[])(const void *, const void *) = {
	cmp_0, cmp_1, cmp_2, cmp_3, cmp_4, cmp_5,
};

/* top([n [, key]]): the n services holding the most, as records, largest first. */
static int ltop(lua_State *L) {
	lua_Integer n = luaL_optinteger(L, 1, 10);
	luaL_argcheck(L, n >= 0, 1, "count must be >= 0");
	int key = luaL_checkoption(L, 2, "total", top_keys);
	struct lmem_list *list = lmem_collect(L);
	if (list->n)   /* v is NULL for an empty table */
		qsort(list->v, list->n, sizeof(list->v[0]), cmp_of[key]);
	size_t k = (size_t)n < list->n ? (size_t)n : list->n;
	lua_createtable(L, (int)k, 0);
	for (size_t i = 0; i < k; i++) {
		lmem_pushstat(L, &list->v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lmem_release(list);
	return 1;
}

static int lgetlimit(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)skynet_mem_get_limit(lmem_checkhandle(L, 1)));
	return 1;
}

/* setlimit(handle, bytes): one limit for C + Lua bytes; 0 removes it. Returns
 * the previous limit. */
static int lsetlimit(lua_State *L) {
	uint32_t h = lmem_checkhandle(L, 1);
	lua_Integer limit = luaL_checkinteger(L, 2);
	luaL_argcheck(L, limit >= 0, 2, "limit must be >= 0 (0 removes it)");
	size_t old = skynet_mem_get_limit(h);
	if (skynet_mem_set_limit(h, (size_t)limit) != 0) {
		if (h == 0)
			return luaL_error(L, "setlimit: handle 0 is the host's own threads, not a service");
		char addr[16];   /* lua_pushfstring has no %08x */
		snprintf(addr, sizeof(addr), ":%08x", (unsigned)h);
		return luaL_error(L, "setlimit: no service %s (never seen, or exited)", addr);
	}
	lua_pushinteger(L, (lua_Integer)old);
	return 1;
}

/* setname(handle, name): names the handle's record (nil clears); the layer
 * cuts it to 63 bytes at a UTF-8 boundary. */
static int lsetname(lua_State *L) {
	uint32_t h = lmem_checkhandle(L, 1);
	const char *name = luaL_optstring(L, 2, NULL);
	if (skynet_mem_set_name(h, name) != 0)
		return luaL_error(L, "setname: out of memory");
	return 0;
}

/* orphans(): bytes and blocks still held by exited services. */
static int lorphans(lua_State *L) {
	size_t bytes, blocks;
	skynet_mem_orphans(&bytes, &blocks);
	lua_pushinteger(L, (lua_Integer)bytes);
	lua_pushinteger(L, (lua_Integer)blocks);
	return 2;
}

/* checkall(): MEMORY_CHECK builds verify every live block (and this thread's
 * quarantine) now, reporting as a free would; the damaged blocks found (0 in
 * release builds). */
static int lcheckall(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)skynet_mem_check_all());
	return 1;
}

static int ltotals(lua_State *L) {
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	lua_createtable(L, 0, 7);
	lmem_setint(L, "bytes", t.bytes);
	lmem_setint(L, "blocks", t.blocks);
	lmem_setint(L, "lua_bytes", t.lua_bytes);
	lmem_setint(L, "total", t.bytes + t.lua_bytes);
	lmem_setint(L, "services", t.services);
	lmem_setint(L, "allocs", t.allocs);
	lmem_setint(L, "frees", t.frees);
	return 1;
}

static int lservices(lua_State *L) {
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	lua_pushinteger(L, (lua_Integer)t.services);
	return 1;
}

/* handle(): the service new blocks are charged to on this thread. */
static int lhandle(lua_State *L) {
	lua_pushinteger(L, (lua_Integer)skynet_current_handle());
	return 1;
}

int luaopen_skynet_memory(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg l[] = {
		{ "total", ltotal },
		{ "block", lblock },
		{ "info", dump_mem_lua },
		{ "current", lcurrent },
		{ "dump", ldump },
		{ "stat", lstat },
		{ "top", ltop },
		{ "getlimit", lgetlimit },
		{ "setlimit", lsetlimit },
		{ "setname", lsetname },
		{ "orphans", lorphans },
		{ "totals", ltotals },
		{ "services", lservices },
		{ "handle", lhandle },
		{ "checkall", lcheckall },
		{ NULL, NULL },
	};
	luaL_newlib(L, l);
	lmem_open_snapshot(L);
	lmem_open_jemalloc(L);
	lmem_open_views(L);
	lmem_open_profile(L);
	lua_pushboolean(L, skynet_mem_has_jemalloc());
	lua_setfield(L, -2, "jemalloc");
	lua_pushboolean(L, skynet_mem_has_check());
	lua_setfield(L, -2, "check");
	return 1;
}
