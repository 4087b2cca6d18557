/* The layer API of skynet_mem.h: current service, reads, limits, lifecycle. */

#include <errno.h>

#include "backend.h"
#include "cookie.h"
#include "check.h"
#include "ledger.h"
#include "mem_alloc.h"
#include "skynet_mem.h"
#include "table.h"

__thread uint32_t current_tls TLS_IE;
int current_is_default;

__attribute__((weak)) uint32_t skynet_current_handle(void) {
	return current_tls;
}

/* The weak default under a name the host cannot replace. */
extern uint32_t own_current_handle(void) __attribute__((alias("skynet_current_handle"), visibility("hidden")));

/* A host that defines skynet_current_handle wins the symbol lookup; the address
 * the dynamic linker resolved tells which one is in force. */
__attribute__((constructor)) static void current_init(void) {
	uint32_t (*volatile resolved)(void) = skynet_current_handle;
	current_is_default = resolved == own_current_handle;
}

/* A host with its own skynet_current_handle never calls set_current: publish
 * when the answer changes, which is a dispatch boundary. */
static __thread uint32_t host_last TLS_IE;

uint32_t current_handle_host(void) {
	uint32_t h = skynet_current_handle();
	if (__builtin_expect(h != host_last, 0)) {
		host_last = h;
		ledger_flush();
	}
	return h;
}

void skynet_mem_set_current(uint32_t handle) {
	current_tls = handle;
	ledger_flush();
}

void skynet_mem_flush(void) {
	ledger_flush();
}

/* Every read publishes the reader's own pending deltas first, so a thread
 * always sees its own allocations exactly. */
int skynet_mem_stat(uint32_t handle, struct skynet_mem_stat *out) {
	ledger_flush();
	return table_stat(handle, out);
}

size_t skynet_mem_foreach(int (*fn)(const struct skynet_mem_stat *, void *), void *ud) {
	ledger_flush();
	return fn ? table_foreach(fn, ud) : 0;
}

void skynet_mem_totals(struct skynet_mem_totals *out) {
	ledger_flush();
	table_totals(out);
}

void skynet_mem_orphans(size_t *bytes, size_t *blocks) {
	size_t b, n;
	ledger_flush();
	table_orphans(&b, &n);
	if (bytes)
		*bytes = b;
	if (blocks)
		*blocks = n;
}

int skynet_mem_set_limit(uint32_t handle, size_t limit) {
	if (handle == 0) {   /* the host's own threads: a limit there breaks the views */
		errno = EINVAL;
		return -1;
	}
	if (table_set_limit(handle, limit) != 0) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

size_t skynet_mem_get_limit(uint32_t handle) {
	return table_get_limit(handle);
}

void skynet_mem_service_exit(uint32_t handle, struct skynet_mem_stat *leftover) {
	ledger_flush();
	table_exit(handle, leftover);
	check_on_service_exit(handle, leftover ? leftover->blocks : 0);
}

/* MEMORY_CHECK builds define these five in check_alloc.c, over checked blocks. */
#ifndef SKYNET_MEM_CHECK
/* Not a free and an alloc: only the owner changes. No limit applies, since a
 * delivered message cannot be refused. */
int skynet_mem_transfer(void *ptr, uint32_t to_handle) {
	if (ptr == NULL)
		return -1;
	size_t u = backend_usable(ptr);
	struct cookie c;
	cookie_read(ptr, u, &c);
	uint32_t from = c.handle;
	if (from == to_handle)
		return 0;
	ledger_charge(from, -(int64_t)u, -1, 0, 0);
	c.handle = to_handle;
	cookie_write(ptr, u, &c);
	ledger_charge(to_handle, (int64_t)u, 1, 0, 0);
	return 0;
}

uint32_t skynet_mem_owner(const void *ptr) {
	if (ptr == NULL)
		return 0;
	struct cookie c;
	cookie_read(ptr, backend_usable(ptr), &c);
	return c.handle;
}

size_t skynet_mem_usable_size(const void *ptr) {
	return mem_usable(ptr);
}

size_t skynet_mem_block_charge(const void *ptr) {
	return ptr ? backend_usable(ptr) : 0;
}

size_t skynet_mem_charge_size(size_t n) {
	return block_class(n, 0);
}

#endif

int skynet_mem_has_jemalloc(void) {
#ifdef SKYNET_MEM_USE_JEMALLOC
	return 1;
#else
	return 0;
#endif
}

int skynet_mem_has_check(void) {
#ifdef SKYNET_MEM_CHECK
	return 1;
#else
	return 0;
#endif
}
