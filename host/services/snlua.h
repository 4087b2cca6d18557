#ifndef SKYNET_HOST_SNLUA_H
#define SKYNET_HOST_SNLUA_H

/* snlua's C pieces shared between snlua.c and lua_core.c. */

#include <lua.h>

#include "kernel.h"

/* The "skynet.core" module; needs the service's context in the registry. */
int luaopen_skynet_core(lua_State *L);

/* The "snlua" service type: a Lua state per service (snlua.c). */
extern const struct skynet_module host_snlua_module;
#define SNLUA_CONTEXT_KEY "skynet_context"

#endif
