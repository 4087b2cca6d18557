/* The accounted core in MEMORY_CHECK builds: the same entry points and the same
 * accounting as mem_alloc.c and api.c, over checked blocks (see check.h for the
 * layout). Every pointer is validated in the registry before anything touches
 * it; a freed block goes through verification, poison and the quarantine;
 * realloc always moves (alloc + copy + free) so the old block is quarantined too. */

#ifdef SKYNET_MEM_CHECK

#include <errno.h>
#include <string.h>

#include "backend.h"
#include "check.h"
#include "ledger.h"
#include "mem_alloc.h"
#include "skynet_mem.h"

#define ALIGN_MAX ((size_t)1 << 30)   /* head sizes fit a uint32_t */

/* A checked block of n bytes for handle. A realloc passes the old block's
 * owner and charge as credit: only the growth counts against the limit when
 * the block stays with the same service, as in release builds. */
static void *alloc_checked(size_t n, size_t align, int zero, uint32_t handle,
	uint32_t credit_owner, size_t credit, uintptr_t site) {
	size_t head = check_head_size(align);
	size_t extra = head + COOKIE_SIZE;
	size_t u = n <= PTRDIFF_MAX - extra && align <= ALIGN_MAX ? backend_class(n + extra, align) : 0;
	struct ledger_slot *s = u ? ledger_slot(handle) : NULL;
	size_t growth = credit && handle == credit_owner ? (u > credit ? u - credit : 0) : u;
	if (s == NULL || !ledger_admit(s, growth)) {
		errno = ENOMEM;
		return NULL;
	}
	void *b = backend_alloc(u, align, zero);
	if (b == NULL) {
		errno = ENOMEM;
		return NULL;
	}
#ifndef SKYNET_MEM_USE_JEMALLOC
	u = backend_usable(b);
#endif
	struct check_meta m = { .n = n, .usable = u, .site = site, .owner = handle,
		.head = (uint32_t)head, .freer = 0, .state = REG_LIVE };
	void *p = (void *)((uintptr_t)b + head);
	block_arm(p, &m);
	if (reg_insert(p, &m) != 0) {
		backend_free(b, u);
		errno = ENOMEM;
		return NULL;
	}
	s->bytes += u;
	s->blocks++;
	s->allocs++;
	ledger_done(s);
	return p;
}

/* Reports a pointer that is not a live block: never a freed one again, never
 * one the layer did not hand out. */
static void report_not_live(int state, const void *p, const struct check_meta *m, const char *op) {
	struct check_report r = { state == REG_FREED ? CHECK_DOUBLE_FREE : CHECK_INVALID_FREE,
		op, p, state == REG_FREED ? m : NULL, 0, 0 };
	check_report(&r);
}

/* 0 when the block went to quarantine; -1 when reported (and left alone). */
static int free_checked(void *p, const char *op) {
	size_t bound = quarantine_bound();
	struct reg_free r;
	reg_free(p, current_handle(), bound, &r);
	if (r.state != REG_LIVE) {
		report_not_live(r.state, p, &r.m, op);
		return -1;
	}
	/* The service let go of it either way; a corrupt block is leaked by the checker. */
	ledger_charge(r.m.owner, -(int64_t)r.m.usable, -1, 0, 1);
	if (!r.big) {
		quarantine_finish(r.ev, r.nev);   /* queued in its stripe; older ones left */
		return 0;
	}
	if (r.nfault) {
		block_report(p, &r.m, op, r.fault, r.nfault);
		return -1;
	}
	if (block_verify(p, &r.m, op) != 0)
		return -1;
	if (bound == 0) {
		reg_remove(p);
		backend_free(check_base(p, &r.m), r.m.usable);
		return 0;
	}
	block_poison(p, &r.m);
	quarantine_push(p, &r.m);
	return 0;
}

void *mem_alloc(size_t n, size_t align, int zero) {
	return alloc_checked(n, align, zero, current_handle(), 0, 0, (uintptr_t)__builtin_return_address(0));
}

void mem_free(void *p) {
	if (p)
		free_checked(p, "free");
}

/* realloc moves the block to the calling service, as skynet does. */
void *mem_realloc(void *p, size_t n) {
	uintptr_t site = (uintptr_t)__builtin_return_address(0);
	uint32_t me = current_handle();
	if (p == NULL)
		return alloc_checked(n, 0, 0, me, 0, 0, site);
	if (n == 0) {
		free_checked(p, "realloc");
		return NULL;
	}
	struct check_meta m;
	int state = reg_lookup(p, &m);
	if (state != REG_LIVE) {
		report_not_live(state, p, &m, "realloc");
		errno = EINVAL;
		return NULL;
	}
	if (block_verify(p, &m, "realloc") != 0) {
		errno = EINVAL;
		return NULL;
	}
	void *q = alloc_checked(n, 0, 0, me, m.owner, m.usable, site);
	if (q == NULL)
		return NULL;
	memcpy(q, p, m.n < n ? m.n : n);
	free_checked(p, "realloc");
	return q;
}

/* The requested size: every byte past it belongs to the canary. */
size_t mem_usable(const void *p) {
	struct check_meta m;
	return p && reg_lookup(p, &m) == REG_LIVE ? m.n : 0;
}

int skynet_mem_transfer(void *ptr, uint32_t to_handle) {
	if (ptr == NULL)
		return -1;
	struct check_meta m;
	int state = reg_lookup(ptr, &m);
	if (state != REG_LIVE) {
		struct check_report r = { CHECK_INVALID_FREE, "transfer", ptr, state == REG_FREED ? &m : NULL, 0, 0 };
		check_report(&r);
		return -1;
	}
	if (block_verify(ptr, &m, "transfer") != 0)
		return -1;
	if (m.owner == to_handle)
		return 0;
	if (reg_set_owner(ptr, to_handle, &m) != REG_LIVE)
		return -1;   /* freed meanwhile by another thread */
	void *b = check_base(ptr, &m);
	struct cookie c;
	cookie_read(b, m.usable, &c);
	c.handle = to_handle;
	cookie_write(b, m.usable, &c);
	ledger_charge(m.owner, -(int64_t)m.usable, -1, 0, 0);
	ledger_charge(to_handle, (int64_t)m.usable, 1, 0, 0);
	return 0;
}

uint32_t skynet_mem_owner(const void *ptr) {
	struct check_meta m;
	return ptr && reg_lookup(ptr, &m) == REG_LIVE ? m.owner : 0;
}

size_t skynet_mem_usable_size(const void *ptr) {
	return mem_usable(ptr);
}

size_t skynet_mem_block_charge(const void *ptr) {
	struct check_meta m;
	return ptr && reg_lookup(ptr, &m) == REG_LIVE ? m.usable : 0;
}

size_t skynet_mem_charge_size(size_t n) {
	size_t extra = CHECK_HEAD_MIN + COOKIE_SIZE;
	return n <= PTRDIFF_MAX - extra ? backend_class(n + extra, 0) : 0;
}

#endif
