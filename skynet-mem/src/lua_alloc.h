#ifndef SKYNET_MEM_LUA_ALLOC_H
#define SKYNET_MEM_LUA_ALLOC_H

/* skynet_mem_lua_alloc under a hidden name, so the library's own callers
 * (skynet_lalloc) reach it with a direct jump instead of the PLT. */

#include <stddef.h>

#include "internal.h"

HIDDEN void *lua_alloc_local(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
