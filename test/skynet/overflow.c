/* skynet_mem_overflow: a Lua C module that writes one byte past a block it
 * got from plain malloc, then frees it. The MEMORY_CHECK build of the skynet
 * drop-in must report it and name the service that ran it. dump_c_mem calls
 * malloc_hook.h's function of that name (memcheck: it goes to the logger). */

#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

static int write_past(lua_State *L) {
	lua_Integer n = luaL_checkinteger(L, 1);
	luaL_argcheck(L, n > 0 && n < (1 << 20), 1, "size out of range");
	char *p = malloc((size_t)n);
	if (p == NULL)
		return luaL_error(L, "not enough memory");
	memset(p, 'x', (size_t)n);
	volatile char *past = p;
	past[n] = '!';
	free(p);
	return 0;
}

void dump_c_mem(void);   /* the skynet binary's, from skynet-mem */

static int dump(lua_State *L) {
	(void)L;
	dump_c_mem();
	return 0;
}

int luaopen_skynet_mem_overflow(lua_State *L) {
	luaL_checkversion(L);
	static const luaL_Reg l[] = {
		{ "write_past", write_past },
		{ "dump_c_mem", dump },
		{ NULL, NULL },
	};
	luaL_newlib(L, l);
	return 1;
}
