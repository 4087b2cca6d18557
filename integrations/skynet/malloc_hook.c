/* skynet-mem's glue for skynet: apply.sh installs it as skynet-src/malloc_hook.c.
 * The allocator itself, skynet_malloc.h's functions and malloc_hook.h's are the
 * layer's (libskynet-mem-hook, linked into the skynet binary); what is left for
 * skynet's own tree is a service's birth and death, seen from skynet_server.c. */

#include "skynet.h"
#include "skynet_mem.h"
#include "skynet_mem_skynet.h"

/* The library's log lines (dump_c_mem, skynet.memory) to skynet's logger. */
static void log_line(void *ud, const char *line) {
	(void)ud;
	skynet_error(NULL, "%s", line);
}

/* skynet's own skynet_current_handle (a pthread key) stays what skynet code
 * calls; the layer reads its own per-thread copy, kept equal by the patched
 * skynet_server.c, which saves a call per allocation. */
void skynet_mem_thread_init(uint32_t handle) {
	skynet_mem_use_set_current();
	/* snlua logs its own Lua heap warning (skynet_error, 32 MiB and each
	 * doubling): the layer's would say it twice. */
	skynet_mem_lua_warnings(0);
	skynet_mem_set_log(log_line, NULL);
	skynet_mem_set_current(handle);
}

static size_t lua_bytes_of(uint32_t handle) {
	struct skynet_mem_stat st;
	return skynet_mem_stat(handle, &st) == 0 ? st.lua_bytes : 0;
}

struct skynet_mem_birth skynet_mem_birth_begin(void) {
	struct skynet_mem_birth b;
	b.creator = skynet_current_handle();
	b.lua_bytes = lua_bytes_of(b.creator);
	return b;
}

/* Exact: the creator's own Lua state is suspended in skynet.launch meanwhile,
 * and skynet_mem_stat publishes this thread's pending changes first. */
void skynet_mem_birth_end(const struct skynet_mem_birth *b, uint32_t handle) {
	size_t now = lua_bytes_of(b->creator);
	if (now > b->lua_bytes)
		skynet_mem_lua_transfer(b->creator, handle, now - b->lua_bytes);
}

void skynet_mem_death(uint32_t handle) {
	struct skynet_mem_stat left;
	skynet_mem_service_exit(handle, &left);
	if (left.bytes || left.blocks || left.lua_bytes)
		skynet_error(NULL, "skynet-mem: service :%08x exited holding %zu bytes in %zu blocks, lua %zu bytes",
			handle, left.bytes, left.blocks, left.lua_bytes);
}
