/* The layer API of skynet_mem.h: reads, limits, lifecycle and block queries
 * (skynet_mem_set_current is in current.c). */

#include <errno.h>

#include "block.h"
#include "ledger.h"
#include "owner_info.h"
#include "record.h"
#include "skynet_mem.h"

void skynet_mem_flush(void) {
	ledger_flush();
}

/* Every read publishes the reader's own pending deltas first, so a thread
 * always sees its own allocations exactly. */
int skynet_mem_stat(uint32_t handle, struct skynet_mem_stat *out) {
	ledger_flush();
	if (record_stat(handle, out) != 0)
		return -1;
	owner_queue_fill(out);
	return 0;
}

/* foreach's records with the host's mailbox figures added, outside the locks. */
struct with_queue {
	int (*fn)(const struct skynet_mem_stat *, void *);
	void *ud;
};

static int add_queue(const struct skynet_mem_stat *st, void *ud) {
	struct with_queue *w = ud;
	struct skynet_mem_stat full = *st;
	owner_queue_fill(&full);
	return w->fn(&full, w->ud);
}

size_t skynet_mem_foreach(int (*fn)(const struct skynet_mem_stat *, void *), void *ud) {
	ledger_flush();
	if (fn == NULL)
		return 0;
	if (!owner_queue_reader_set())
		return record_foreach(fn, ud);
	struct with_queue w = { fn, ud };
	return record_foreach(add_queue, &w);
}

void skynet_mem_totals(struct skynet_mem_totals *out) {
	ledger_flush();
	record_totals(out);
}

void skynet_mem_orphans(size_t *bytes, size_t *blocks) {
	size_t b, n;
	ledger_flush();
	record_orphans(&b, &n);
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
	ledger_settle(handle);   /* its changes on this thread reach its slot (and record) first */
	if (record_set_limit(handle, limit) != 0) {
		errno = ESRCH;
		return -1;
	}
	ledger_limit_set(handle, limit);
	return 0;
}

size_t skynet_mem_get_limit(uint32_t handle) {
	return record_get_limit(handle);
}

/* The check build lists the leftover blocks whether or not the caller wants
 * the record (the host passes NULL). */
void skynet_mem_service_exit(uint32_t handle, struct skynet_mem_stat *leftover) {
	struct skynet_mem_stat mine;
	if (leftover == NULL)
		leftover = &mine;
	ledger_flush();
	record_exit(handle, leftover);
	block_service_exit(handle, leftover->blocks);
}

int skynet_mem_transfer(void *ptr, uint32_t to_handle) {
	return block_transfer(ptr, to_handle);
}

uint32_t skynet_mem_owner(const void *ptr) {
	return block_owner(ptr);
}

size_t skynet_mem_usable_size(const void *ptr) {
	return mem_usable(ptr);
}

size_t skynet_mem_block_charge(const void *ptr) {
	return block_charge(ptr);
}

size_t skynet_mem_charge_size(size_t n) {
	return block_charge_size(n);
}

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

void skynet_mem_lua_warnings(int on) {
	atomic_store_explicit(&record_lua_warnings_off, !on, memory_order_relaxed);
}
