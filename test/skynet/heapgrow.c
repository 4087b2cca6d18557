/* skynet_mem_heapgrow: a Lua C module whose blocks all come from one named
 * function, heapgrow_site, through plain malloc (the interposer charges the
 * calling service): the heap profile's test in skynet (heapcheck.lua) looks
 * for that name in the console's `heap :h` and in a leaker's exit line. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

/* Not static, never inlined: the frame the profile must name. */
__attribute__((noinline)) void *heapgrow_site(size_t n) {
	void *p = malloc(n);
	if (p)
		memset(p, 0x5a, n);   /* touched, as real data would be */
	return p;
}

/* grow(count, size): count blocks of size bytes; a list (lightuserdata) to
 * give to release, or that a leaker never gives back. */
static int grow(lua_State *L) {
	lua_Integer count = luaL_checkinteger(L, 1), size = luaL_checkinteger(L, 2);
	luaL_argcheck(L, count > 0 && count <= 100000, 1, "count out of range");
	luaL_argcheck(L, size > 0 && size <= (1 << 24), 2, "size out of range");
	void **list = malloc(((size_t)count + 1) * sizeof(void *));
	if (list == NULL)
		return luaL_error(L, "not enough memory");
	list[0] = (void *)(uintptr_t)count;
	for (lua_Integer i = 1; i <= count; i++)
		if ((list[i] = heapgrow_site((size_t)size)) == NULL)
			return luaL_error(L, "not enough memory");
	lua_pushlightuserdata(L, list);
	return 1;
}

static int release(lua_State *L) {
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	void **list = lua_touserdata(L, 1);
	size_t count = (size_t)(uintptr_t)list[0];
	for (size_t i = 1; i <= count; i++)
		free(list[i]);
	free(list);
	return 0;
}

int luaopen_skynet_mem_heapgrow(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg l[] = {
		{ "grow", grow },
		{ "release", release },
		{ NULL, NULL },
	};
	luaL_newlib(L, l);
	return 1;
}
