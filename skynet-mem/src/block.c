/* The block operations of the release build (block.h): every block is
 * allocated at its full size class with a trailing cookie naming its owner;
 * its usable size is charged to that owner. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "block.h"
#include "cookie.h"
#include "current.h"
#include "ledger.h"

/* The usable size a block of n bytes plus its cookie is allocated at (and
 * charged); 0 when no allocation can have that size. */
static inline size_t block_class(size_t n, size_t align) {
	return n <= PTRDIFF_MAX - COOKIE_SIZE ? backend_class(n + COOKIE_SIZE, align) : 0;
}

void *mem_alloc(size_t n, size_t align, int zero) {
	uint32_t handle = current_handle();
	size_t u = block_class(n, align);
	struct ledger_slot *s = u ? ledger_lookup(handle) : NULL;
	if (s == NULL || !ledger_admit(s, u)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = backend_alloc(u, align, zero);
	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
#ifndef SKYNET_MEM_USE_JEMALLOC
	u = backend_usable(p);
#endif
	struct cookie c = { .handle = handle };
	cookie_write(p, u, &c);
	s->bytes += u;
	s->blocks++;
	s->allocs++;
	ledger_done(s);
	return p;
}

#ifdef MEM_MALLOC_FAST
/* Out of line: the fast path keeps nothing alive for it. Nothing was
 * published since the charge, so this only takes it back. */
__attribute__((noinline, cold)) static void *malloc_undo(uint32_t handle, size_t u) {
	ledger_charge(handle, -(int64_t)u, -1, -1, 0);
	errno = ENOMEM;
	return NULL;
}

/* The library's own current handle, its slot in this thread's ledger and
 * dirty, no limit, and room in the slot's batch (so no large block): then
 * the charge needs no publication, so it is added before jemalloc is called
 * and only the handle and the class live across the call. Anything else (a
 * first change, a full batch) takes mem_alloc. */
void *mem_malloc(size_t n) {
	if (__builtin_expect(!current_is_default, 0))
		return mem_alloc(n, 0, 0);
	uint32_t handle = current_tls;
	size_t u = block_class(n, 0);
	struct ledger_slot *s = u ? ledger_lookup(handle) : NULL;
	if (__builtin_expect(s == NULL || !s->dirty || slot_past_batch(s, (int64_t)u) ||
		atomic_load_explicit(&s->rec->limit, memory_order_relaxed) != 0, 0))
		return mem_alloc(n, 0, 0);
	s->bytes += u;
	s->blocks++;
	s->allocs++;
	void *p = backend_je_malloc(u);
	if (__builtin_expect(p == NULL, 0))
		return malloc_undo(handle, u);
	struct cookie c = { .handle = handle };
	cookie_write(p, u, &c);
	return p;
}
#endif

void mem_free(void *p) {
	if (p == NULL)
		return;
	size_t u = backend_usable(p);
	struct cookie c;
	cookie_read(p, u, &c);
	/* Free before charging: the cookie load (often a cache miss) then overlaps
	 * jemalloc's own work instead of stalling the ledger lookup. */
	backend_free(p, u);
	ledger_charge(c.handle, -(int64_t)u, -1, 0, 1);
}

void *mem_realloc(void *p, size_t n) {
	if (p == NULL)
		return mem_alloc(n, 0, 0);
	if (n == 0) {
		mem_free(p);
		return NULL;
	}
	size_t u = backend_usable(p);
	struct cookie c;
	cookie_read(p, u, &c);
	uint32_t handle = current_handle();
	size_t nu = block_class(n, 0);
	struct ledger_slot *s = nu ? ledger_lookup(handle) : NULL;
	size_t growth = handle != c.handle ? nu : (nu > u ? nu - u : 0);
	if (s == NULL || !ledger_admit(s, growth)) {
		errno = ENOMEM;
		return NULL;
	}
	void *q = nu == u ? p : backend_realloc(p, nu);
	if (q == NULL) {
		errno = ENOMEM;
		return NULL;
	}
#ifndef SKYNET_MEM_USE_JEMALLOC
	nu = backend_usable(q);
#endif
	ledger_charge(c.handle, -(int64_t)u, -1, 0, 1);
	struct cookie nc = { .handle = handle };
	cookie_write(q, nu, &nc);
	ledger_charge(handle, (int64_t)nu, 1, 1, 0);
	return q;
}

size_t mem_usable(const void *p) {
	return p ? backend_usable(p) - COOKIE_SIZE : 0;
}

/* Not a free and an alloc: only the owner changes. No limit applies, since a
 * delivered message cannot be refused. */
int block_transfer(void *p, uint32_t to_handle) {
	if (p == NULL)
		return -1;
	size_t u = backend_usable(p);
	struct cookie c;
	cookie_read(p, u, &c);
	uint32_t from = c.handle;
	if (from == to_handle)
		return 0;
	ledger_charge(from, -(int64_t)u, -1, 0, 0);
	c.handle = to_handle;
	cookie_write(p, u, &c);
	ledger_charge(to_handle, (int64_t)u, 1, 0, 0);
	return 0;
}

uint32_t block_owner(const void *p) {
	if (p == NULL)
		return 0;
	struct cookie c;
	cookie_read(p, backend_usable(p), &c);
	return c.handle;
}

size_t block_charge(const void *p) {
	return p ? backend_usable(p) : 0;
}

size_t block_charge_size(size_t n) {
	return block_class(n, 0);
}

void block_service_exit(uint32_t handle, size_t blocks) {
	(void)handle, (void)blocks;
}
