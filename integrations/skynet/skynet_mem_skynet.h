#ifndef SKYNET_MEM_SKYNET_H
#define SKYNET_MEM_SKYNET_H

/* skynet-mem's glue for skynet's skynet_server.c (installed by apply.sh).
 * skynet_server.c also calls skynet_mem_set_current wherever it sets a thread's
 * current handle. A service is born on its creator's thread and may die on any
 * thread; these keep its Lua heap and its exit on its own record. */

#include <stddef.h>
#include <stdint.h>

#include "skynet_mem.h"

/* Call where skynet sets a thread's current handle at thread start
 * (skynet_initthread): the layer follows skynet_mem_set_current from then on,
 * leaves the Lua heap warning to snlua (skynet_mem_lua_warnings(0)) and sends
 * its log lines to skynet's logger (skynet_mem_set_log). */
void skynet_mem_thread_init(uint32_t handle);

/* The creator's Lua heap before a module instance is created. */
struct skynet_mem_birth {
	uint32_t creator;
	size_t lua_bytes;
};

/* Call before skynet_module_instance_create. */
struct skynet_mem_birth skynet_mem_birth_begin(void);
/* Call once the new service has its handle: the Lua heap its instance made
 * on the creator's account (snlua's lua_newstate) becomes its own. */
void skynet_mem_birth_end(const struct skynet_mem_birth *birth, uint32_t handle);
/* Call after the service's release ran with it current: reports what it still
 * owns to skynet's logger (one line) and retires its record. */
void skynet_mem_death(uint32_t handle);

#endif
