#ifndef SKYNET_LUA_MEMORY_H
#define SKYNET_LUA_MEMORY_H

/* Shared by the files of the skynet.memory module (not a public header):
 * each file's part of the module table. */

#include <lua.h>
#include <lauxlib.h>

#include "skynet_mem.h"

#include "lua-memory-records.h"

/* skynet's C name for info(): { [handle] = C bytes }. */
int dump_mem_lua(lua_State *L);

/* Each file registers its functions into the module table on the stack top. */
LMEM_HIDDEN void lmem_open_snapshot(lua_State *L);
LMEM_HIDDEN void lmem_open_jemalloc(lua_State *L);
LMEM_HIDDEN void lmem_open_views(lua_State *L);
LMEM_HIDDEN void lmem_open_profile(lua_State *L);

#endif
