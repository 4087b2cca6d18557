/* skynet-mem's glue for skynet: apply.sh installs it as skynet-src/malloc_hook.c.
 * The allocator itself, skynet_malloc.h's functions and malloc_hook.h's are the
 * layer's (libskynet-mem-hook, linked into the skynet binary); what is left for
 * skynet's own tree is a service's birth, names and death, seen from the
 * skynet files apply.sh patches. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "skynet.h"
#include "skynet_handle.h"
#include "skynet_mem.h"
#include "skynet_mem_skynet.h"
#include "skynet_mq.h"
#include "skynet_server.h"
#include "skynet_socket.h"

/* A line to skynet's logger from `source`, which the logger prints as
 * [:source]. skynet_error names only a live context (a worker's idle rows,
 * a dead service, the socket thread would all read [:00000000]): this is the
 * message it would send, a PTYPE_TEXT one to the service named "logger",
 * with any handle as its source. Safe from any thread, as skynet_error. */
static void log_from(uint32_t source, const char *line) {
	static _Atomic uint32_t logger;
	uint32_t to = logger;
	if (to == 0)
		logger = to = skynet_handle_findname("logger");
	if (to == 0)
		return;   /* no logger yet: skynet_error drops it too */
	size_t n = strlen(line);
	char *data = skynet_malloc(n + 1);
	memcpy(data, line, n + 1);
	struct skynet_message m;
	m.source = source;
	m.session = 0;
	m.data = data;
	m.sz = n | ((size_t)PTYPE_TEXT << MESSAGE_TYPE_SHIFT);
	if (skynet_context_push(to, &m) != 0)
		skynet_free(data);
}

/* A line about one service (its limit, its exit), shown as its own. */
static void log_as(uint32_t source, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_as(uint32_t source, const char *fmt, ...) {
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_from(source, line);
}

/* The library's log lines (dump_c_mem, skynet.memory) to skynet's logger,
 * from the service the thread runs (or its row: worker, socket ...). */
static void log_line(void *ud, const char *line) {
	(void)ud;
	log_from(skynet_mem_get_current(), line);
}

/* skynet_initthread's handles: (uint32_t)-m for skynet_imp.h's THREAD_*. */
static const char *thread_row(uint32_t v) {
	switch (v) {
	case 0: return "worker";
	case 0xffffffffu: return "main";
	case 0xfffffffeu: return "socket";
	case 0xfffffffdu: return "timer";
	case 0xfffffffcu: return "monitor";
	default: return NULL;
	}
}

/* skynet's own skynet_current_handle (a pthread key) stays what skynet code
 * calls; the layer reads its own per-thread copy, kept equal by the patched
 * skynet_server.c, which saves a call per allocation. */
void skynet_mem_thread_init(uint32_t handle) {
	skynet_mem_use_set_current();
	/* snlua logs its own Lua heap warning (skynet_error, 32 MiB and each
	 * doubling): the layer's would say it twice. */
	skynet_mem_lua_warnings(0);
	/* skynet's C code dereferences what malloc returns (lua-seri.c's
	 * buffers, say): past a limit a C block is admitted and the crossing
	 * logged; Lua growth fails, a catchable "not enough memory", only when
	 * the Lua heap itself would pass the limit (skynet.memlimit's meaning). */
	skynet_mem_set_limit_mode(SKYNET_MEM_LIMIT_SOFT_C);
	skynet_mem_set_log(log_line, NULL);
	skynet_mem_set_queue_reader(skynet_mem_skynet_queue);
	const char *row = thread_row(handle);
	if (row)
		skynet_mem_set_name(handle, row);
	if (handle == 0xffffffffu)   /* the main thread starts first */
		skynet_mem_set_name(SKYNET_MEM_CODE_CACHE, "code cache");
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

/* skynet's own C modules: their create returns a skynet_malloc block (a
 * module without create gives (void *)~0, others may return anything). */
static int instance_is_block(const char *module) {
	static const char *known[] = { "snlua", "logger", "gate", "harbor" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(module, known[i]) == 0)
			return 1;
	return 0;
}

/* Exact: the creator's own Lua state is suspended in skynet.launch meanwhile,
 * and skynet_mem_stat publishes this thread's pending changes first. */
void skynet_mem_birth_end(const struct skynet_mem_birth *b, uint32_t handle,
	void *ctx, void *inst, const char *module, const char *param) {
	size_t now = lua_bytes_of(b->creator);
	if (now > b->lua_bytes)
		skynet_mem_lua_transfer(b->creator, handle, now - b->lua_bytes);
	skynet_mem_transfer(ctx, handle);
	if (inst && instance_is_block(module))
		skynet_mem_transfer(inst, handle);
	char name[SKYNET_MEM_NAME_MAX];
	snprintf(name, sizeof(name), "%s%s%s", module, param && param[0] ? " " : "", param ? param : "");
	skynet_mem_set_name(handle, name);
	skynet_mem_set_current(handle);
}

void skynet_mem_birth_done(const struct skynet_mem_birth *b) {
	skynet_mem_set_current(b->creator);
}

void skynet_mem_log_limits(void) {
	struct skynet_mem_limit_event ev;
	uint64_t lost = 0;
	while (skynet_mem_limit_event(&ev, &lost)) {
		struct skynet_mem_stat st;
		const char *name = skynet_mem_stat(ev.handle, &st) == 0 ? st.name : "";
		log_as(ev.handle, "skynet-mem: service :%08x passed its limit of %zu bytes (%zu used): a %s allocation of %zu bytes %s (%s)",
			ev.handle, ev.limit, ev.used, ev.lua ? "Lua" : "C", ev.request,
			ev.refused ? "refused" : "admitted", name);
		if (lost)
			log_as(ev.handle, "skynet-mem: %llu more limit crossings were not logged", (unsigned long long)lost);
	}
}

void skynet_mem_named(uint32_t handle, const char *name) {
	skynet_mem_transfer((void *)name, handle);
	char dotted[SKYNET_MEM_NAME_MAX];
	snprintf(dotted, sizeof(dotted), ".%s", name);
	skynet_mem_set_name(handle, dotted);
}

void skynet_mem_death(uint32_t handle) {
	struct skynet_mem_stat left;
	skynet_mem_service_exit(handle, &left);
	char sites[256] = "";
	if (left.bytes)
		skynet_mem_profile_sites(handle, sites, sizeof(sites), 3);
	if (left.bytes || left.blocks || left.lua_bytes)
		log_as(handle, "skynet-mem: service :%08x exited holding %zu bytes in %zu blocks, lua %zu bytes (%s)%s%s",
			handle, left.bytes, left.blocks, left.lua_bytes, left.name, sites[0] ? ", allocated at " : "", sites);
}

/* The service is held while its buffer becomes its own, so its record cannot
 * retire meanwhile (that waits for its mailbox's release, after its last
 * reference): a buffer for a handle already gone stays the socket thread's,
 * which frees it when the push fails, and no record is made for the dead. */
void skynet_mem_socket_data(void *buffer, uint32_t handle) {
	struct skynet_context *ctx = skynet_handle_grab(handle);
	if (ctx == NULL)
		return;
	skynet_mem_transfer(buffer, handle);
	skynet_context_release(ctx);
}

/* skynet's drop_message frees a dropped message's payload only; a socket
 * data or UDP message's read buffer (skynet_socket.c's, owned by the message
 * until socket.lua takes it) would be lost with it, on the dead service's
 * account. */
void skynet_mem_dropped(void *data, size_t sz) {
	if (data == NULL || (sz >> MESSAGE_TYPE_SHIFT) != PTYPE_SOCKET)
		return;
	struct skynet_socket_message *sm = data;
	if (sm->type == SKYNET_SOCKET_TYPE_DATA || sm->type == SKYNET_SOCKET_TYPE_UDP)
		skynet_free(sm->buffer);
}
