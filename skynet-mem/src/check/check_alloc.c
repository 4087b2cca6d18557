/* The block operations of the MEMORY_CHECK build (block.h): the same entry
 * points and the same accounting as block.c, over checked blocks (see
 * check_block.h for the layout). Every pointer is identified by its sealed header before anything
 * touches it or the backend; a freed block is verified, poisoned and kept in
 * the freeing thread's quarantine; realloc always moves (alloc + copy + free)
 * so the old block is quarantined too. */

#include <errno.h>
#include <string.h>

#include "backend.h"
#include "block.h"
#include "check_block.h"
#include "check_pages.h"
#include "check_quarantine.h"
#include "check_registry.h"
#include "check_report.h"
#include "current.h"
#include "ledger.h"

#define ALIGN_MAX ((size_t)1 << 30)   /* head sizes fit a uint32_t */

static size_t head_for(size_t align) {
	return align > CHECK_HEAD_MIN ? align : CHECK_HEAD_MIN;   /* both powers of two */
}

/* 1 when the backend never unmaps a block of usable size u once freed, so its
 * header may be read directly later (check_pages.h). jemalloc retains its
 * address space; the C library maps large blocks on their own and unmaps them
 * at free (its threshold starts at 128 KiB; ASan's allocator likewise). */
static inline int may_stay_mapped(size_t u) {
#ifdef SKYNET_MEM_USE_JEMALLOC
	(void)u;
	return 1;
#else
	return u < ((size_t)64 << 10);
#endif
}

/* A checked block of n bytes for handle. A realloc passes the old block's
 * owner and charge as credit: only the growth counts against the limit when
 * the block stays with the same service, as in release builds. */
static void *alloc_checked(size_t n, size_t align, int zero, uint32_t handle,
	uint32_t credit_owner, size_t credit, uintptr_t site) {
	size_t head = head_for(align);
	size_t extra = head + block_redzone();
	/* Whole words: the header keeps usable / 8 (see check_block.h). */
	size_t u = n <= CHECK_USABLE_MAX - extra && align <= ALIGN_MAX ? backend_class((n + extra + 7) & ~(size_t)7, align) : 0;
	if (u >= CHECK_USABLE_MAX)
		u = 0;
	struct ledger_slot *s = u ? ledger_lookup(handle) : NULL;
	size_t growth = credit && handle == credit_owner ? (u > credit ? u - credit : 0) : u;
	if (s == NULL || !ledger_admit_c(s, growth)) {
		ledger_unused(s);
		errno = ENOMEM;
		return NULL;
	}
	void *b = backend_alloc(u, align, zero);
	if (b == NULL) {
		ledger_unused(s);
		errno = ENOMEM;
		return NULL;
	}
#ifndef SKYNET_MEM_USE_JEMALLOC
	u = backend_usable(b) & ~(size_t)7;   /* the C library's (or ASan's) may be any count */
#endif
	struct check_meta m = { .n = n, .usable = u, .site = site, .owner = handle,
		.head = (uint32_t)head, .freer = 0, .state = REG_LIVE };
	void *p = (void *)((uintptr_t)b + head);
	if (may_stay_mapped(u))
		pages_mark((uintptr_t)p - CHECK_HEAD_MIN, (uintptr_t)p - 1);
	block_arm(p, &m);
	live_insert(p, &m);
	s->bytes += u;
	s->blocks++;
	s->allocs++;
	ledger_done(s);
	return p;
}

/* A pointer that is not a live block: a freed one (double free), one the
 * layer gave back to the backend lately (a double free after its memory was
 * reused), or one the layer never handed out, or whose header an underflow
 * past the guard broke. */
static void report_not_live(int state, const void *p, const struct check_meta *m, const char *op) {
	struct check_meta old;
	if (state == REG_FREED) {
		struct check_report r = { CHECK_DOUBLE_FREE, op, p, m, 0, 0, NULL, 0 };
		check_report(&r);
	} else if (quarantine_was_released(p, &old)) {
		struct check_report r = { CHECK_DOUBLE_FREE, op, p, NULL, 0, 0, &old, 0 };
		check_report(&r);
	} else {
		struct check_report r = { CHECK_INVALID_FREE, op, p, NULL, 0, 0, NULL, 0 };
		check_report(&r);
	}
}

/* 0 when the block went to quarantine (or back); -1 when reported (and left alone). */
static int free_checked(void *p, const char *op) {
	struct check_meta m;
	struct block_fault f[2];
	int nf = 0;
	int state = live_identify(p, &m);
	if (state == REG_LIVE)
		state = live_free(p, current_handle(), &m, f, &nf);
	if (__builtin_expect(state != REG_LIVE, 0)) {
		report_not_live(state, p, &m, op);
		return -1;
	}
	if (__builtin_expect(nf != 0, 0)) {
		block_report(p, &m, op, f, nf);   /* a damaged block stays live: leaked */
		return -1;
	}
	ledger_charge(m.owner, -(int64_t)m.usable, -1, 0, 1);
	if (quarantine_bound() == 0) {
		quarantine_note_released(p, &m);
		backend_free(check_base(p, &m), m.usable);
		return 0;
	}
	block_poison(p, &m);
	quarantine_push(p, &m);
	return 0;
}

void *mem_alloc(size_t n, size_t align, int zero) {
	return alloc_checked(n, align, zero, current_handle(), 0, 0, (uintptr_t)__builtin_return_address(0));
}

void *mem_alloc_at(size_t n, size_t align, int zero, uintptr_t site) {
	return alloc_checked(n, align, zero, current_handle(), 0, 0, site);
}

void mem_free(void *p) {
	if (p)
		free_checked(p, "free");
}

/* Moves always (alloc, copy, free), so the old block is quarantined too. The
 * old one is verified as it is freed, under its list's lock: damaged, or freed
 * meanwhile by another thread, it is reported and the new block given back. */
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
	int state = live_identify(p, &m);
	if (state != REG_LIVE) {
		report_not_live(state, p, &m, "realloc");
		errno = EINVAL;
		return NULL;
	}
	void *q = alloc_checked(n, 0, 0, me, m.owner, m.usable, site);
	if (q == NULL)
		return NULL;
	memcpy(q, p, m.n < n ? m.n : n);
	if (free_checked(p, "realloc") != 0) {
		free_checked(q, "realloc");
		errno = EINVAL;
		return NULL;
	}
	return q;
}

/* The requested size: every byte past it belongs to the red zone. */
size_t mem_usable(const void *p) {
	struct check_meta m;
	return p && block_identify(p, &m) == REG_LIVE ? m.n : 0;
}

int block_transfer(void *ptr, uint32_t to_handle) {
	if (ptr == NULL)
		return -1;
	struct check_meta m;
	struct block_fault f[2];
	int nf = 0;
	int state = live_identify(ptr, &m);
	if (state == REG_LIVE)
		state = live_transfer(ptr, to_handle, &m, f, &nf);
	if (state != REG_LIVE) {   /* freed (maybe by another thread, meanwhile), or not a block */
		struct check_report r = { CHECK_INVALID_FREE, "transfer", ptr, state == REG_FREED ? &m : NULL, 0, 0, NULL, 0 };
		check_report(&r);
		return -1;
	}
	if (nf != 0) {
		block_report(ptr, &m, "transfer", f, nf);
		return -1;
	}
	if (m.owner == to_handle)
		return 0;
	ledger_charge(m.owner, -(int64_t)m.usable, -1, 0, 0);
	ledger_charge(to_handle, (int64_t)m.usable, 1, 0, 0);
	return 0;
}

uint32_t block_owner(const void *ptr) {
	struct check_meta m;
	return ptr && block_identify(ptr, &m) == REG_LIVE ? m.owner : 0;
}

size_t block_charge(const void *ptr) {
	struct check_meta m;
	return ptr && block_identify(ptr, &m) == REG_LIVE ? m.usable : 0;
}

size_t block_charge_size(size_t n) {
	size_t extra = CHECK_HEAD_MIN + block_redzone();
	return n <= CHECK_USABLE_MAX - extra ? backend_class((n + extra + 7) & ~(size_t)7, 0) : 0;
}

/* A report allocates (its backtrace), so its lock comes first; the others
 * take no lock inside. */
size_t block_locks(struct lock_group out[BLOCK_LOCK_GROUPS]) {
	const struct lock_group all[] = { report_locks(), live_locks(), quarantine_locks(), quarantine_key_locks() };
	_Static_assert(sizeof(all) / sizeof(all[0]) <= BLOCK_LOCK_GROUPS, "fork.c makes room for them all");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		out[i] = all[i];
	return sizeof(all) / sizeof(all[0]);
}
