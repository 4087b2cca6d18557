/* The block operations of the release build in the header layout
 * (-DSKYNET_MEM_LAYOUT=header; block.h): a small block carries its owner in
 * a 16-byte header just before the caller's pointer (owner_header.h), so free
 * reads the line beside the one the program's allocation touched, and the
 * header's charge spares it the size lookup. A block whose header would make
 * it large (jemalloc's classes from LARGE_MIN) has no header: its owner is in
 * large_owner.c, as in the cookie layout, so a power-of-two request of 16 KiB
 * or more costs exactly its class, and jemalloc's thread cache still serves it.
 * Large blocks start on a cache line at least; a small block's pointer does
 * so only now and then: free looks the size up for those alone. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "block.h"
#include "block_ledger.h"
#include "current.h"
#include "guard.h"
#include "large_owner.h"
#include "ledger.h"
#include "owner_header.h"
#include "profile.h"

#define H OWNER_HEADER_SIZE
#define LINE 64

/* How a block of a request is made: its usable size (the charge), the
 * pointer's distance from the block's start (0: no header), the alignment
 * asked of the backend (0: the natural one). */
struct plan {
	size_t u, offset, align;
};

/* 0 when no block can have that size. The body is at least one byte, so the
 * pointer lies inside the block (free may look its size up). An alignment
 * above 16 is at least a cache line's: a pointer off a cache line is then
 * always a natural block's, 16 bytes past its start. */
static inline int plan_block(size_t n, size_t align, struct plan *pl) {
	if (align > H && align < LINE)
		align = LINE;
	pl->align = align;
	if (LARGE_MIN != SIZE_MAX && __builtin_expect(n >= LARGE_MIN, 0)) {
		pl->offset = 0;
		pl->u = backend_class(n, align);
		return pl->u != 0;
	}
	size_t off = align > H ? align : H;
	size_t body = n + (n == 0);
	if (body > PTRDIFF_MAX - off)
		return 0;
	pl->offset = off;
	pl->u = backend_class(body + off, align);
	if (__builtin_expect(block_is_large(pl->u), 0)) {
		pl->offset = 0;   /* a header would make it large: a large block without one */
		pl->u = backend_class(LARGE_MIN, align);
	}
	return pl->u != 0;
}

/* Makes the block of a plan owned by handle; the caller's pointer, or NULL. */
static void *block_make(struct plan *pl, int zero, uint32_t handle) {
	void *b = backend_alloc(pl->u, pl->align, zero);
	if (b == NULL)
		return NULL;
#ifndef SKYNET_MEM_USE_JEMALLOC
	pl->u = backend_usable(b);
#endif
	if (pl->offset == 0) {
		if (large_owner_put(b, handle) != 0) {
			backend_free(b, pl->u);
			return NULL;
		}
		return b;
	}
	void *p = (void *)((uintptr_t)b + pl->offset);
	struct owner_header h = { pl->u, (uint32_t)pl->offset, handle };
	owner_header_write(p, &h);
	return p;
}

/* The usable size of p when it is a large block with no header, else 0.
 * Only a pointer on a cache line can be one; the size lookup of a small
 * block's inner pointer gives its block's small class. */
static inline size_t headerless_size(const void *p) {
	if (LARGE_MIN == SIZE_MAX || ((uintptr_t)p & (LINE - 1)) != 0)
		return 0;
	size_t u = backend_usable(p);
	return block_is_large(u) ? u : 0;
}

/* What a block is: its start, charge, header offset (0: none) and the owner
 * it names (PROFILE_MARK when sampled: profile_resolve). */
struct view {
	void *base;
	size_t u, offset;
	uint32_t handle;
};

/* Names another owner for an existing block (its large entry exists). */
static inline void owner_rename(void *p, size_t offset, uint32_t handle) {
	if (offset == 0)
		large_owner_set(p, handle);
	else
		owner_header_set_handle(p, handle);
}

/* The block p of charge u just made for owner is due for a sample: once in
 * the profile's table, it names PROFILE_MARK instead of its owner, so that
 * free's slot lookup misses and takes the general path. A block is
 * headerless exactly when its class is large (plan_block). Returns p. */
__attribute__((noinline)) static void *block_sampled(void *p, size_t u, uint32_t owner) {
	if (profile_sampled(p, u, owner))
		owner_rename(p, block_is_large(u) ? 0 : H, PROFILE_MARK);
	return p;
}

/* After a block p of charge u was made for owner: one subtraction and one
 * branch unless it is due for a sample. */
static inline void *counted(void *p, size_t u, uint32_t owner) {
	if (profile_due(u))
		return block_sampled(p, u, owner);
	return p;
}

static void view_of(const void *p, struct view *v) {
	size_t u = headerless_size(p);
	if (u != 0) {
		v->base = (void *)p;
		v->u = u;
		v->offset = 0;
		v->handle = large_owner_get(p);
		return;
	}
	struct owner_header h;
	owner_header_read(p, &h);
	v->base = (void *)((uintptr_t)p - h.offset);
	v->u = h.charge;
	v->offset = h.offset;
	v->handle = h.handle;
}

void *mem_alloc(size_t n, size_t align, int zero) {
	uint32_t handle = current_handle();
	struct plan pl;
	int planned = plan_block(n, align, &pl);
	if (__builtin_expect(guard_active, 0) && planned) {
		void *g = guard_alloc(handle, n, align, zero, pl.u);
		if (g != NULL)
			return g;
	}
	struct ledger_slot *s = block_admit(handle, planned, pl.u);
	if (s == NULL)
		return NULL;
	void *p = block_make(&pl, zero, handle);
	if (p == NULL)
		return block_not_made(s);
	slot_charge(s, (int64_t)pl.u, 1, 1, 0);
	return counted(p, pl.u, handle);
}

#ifdef MEM_MALLOC_FAST
size_t malloc_short_max = BACKEND_CLASS_TABLE_MAX - H - 1;

/* guard.c lowers the bound while a guarded block is due. */
__attribute__((constructor)) static void short_path_init(void) {
	guard_short_path(&malloc_short_max, BACKEND_CLASS_TABLE_MAX - H - 1);
}

/* The rest of malloc when the current service's slot is not cached, clean,
 * past its batch or under a limit (as in block.c): the block b exists. */
__attribute__((noinline)) static void *malloc_charge(void *b, size_t u) {
	uint32_t handle = current_handle();
	void *p = (void *)((uintptr_t)b + H);
	struct owner_header h = { u, H, handle };
	owner_header_write(p, &h);
	if (malloc_slow_charge(handle, u) != 0) {
		backend_free(b, u);
		return NULL;
	}
	if (__builtin_expect(guard_active, 0))
		guard_counted(handle);
	return counted(p, u, handle);
}

/* A small class from the table, then the cached slot takes the charge. */
void *mem_malloc(size_t n) {
	if (__builtin_expect(n > malloc_short_max, 0))   /* a memory operand: no cost over the constant */
		return mem_alloc(n, 0, 0);
	size_t u = backend_class_table[(n + (n == 0) + H + 7) >> 3];
	/* One compare: u == 0 (table not filled yet) or a large class. */
	if (__builtin_expect(u - 1 >= LARGE_MIN - 1, 0))
		return mem_alloc(n, 0, 0);
	void *b = backend_je_malloc(u);
	if (__builtin_expect(b == NULL, 0)) {
		errno = ENOMEM;
		return NULL;
	}
	struct ledger_slot *s = ledger_current;
	if (__builtin_expect(slot_past_batch(s, (int64_t)u), 0))
		return malloc_charge(b, u);
	void *p = (void *)((uintptr_t)b + H);
	struct owner_header h = { u, H, (uint32_t)s->key };
	owner_header_write(p, &h);
	s->bytes += u;
	s->blocks++;
	s->allocs++;
	return counted(p, u, h.handle);
}
#endif

/* free of a pointer on a cache line (a large block, an aligned one, or now
 * and then a natural one), or of a block whose owner's slot is not at hand. */
__attribute__((noinline)) static void free_general(void *p) {
	uint32_t owner;
	size_t u = headerless_size(p);
	void *b = p;
	if (u != 0) {
		owner = large_owner_take(p);   /* before the address can be reused */
	} else {
		struct owner_header h;
		owner_header_read(p, &h);
		b = (void *)((uintptr_t)p - h.offset);
		u = h.charge;
		owner = h.handle;
	}
	if (owner == PROFILE_MARK)
		owner = profile_take(p);   /* a sampled block leaves the table first */
	block_free_uncharged(owner, b, u);
}

/* Off a cache line, a natural block, 16 bytes past its start: the header
 * names the owner and the charge, no size lookup; then jemalloc's free as a
 * tail call. (Calling it first, so that it runs while the header's line
 * arrives from the core that wrote it, cost 7 instructions and showed no gain
 * in larson's time: docs/performance.md.) */
void mem_free(void *p) {
	/* The guarded pool lies below the heap: one compare, as the NULL test's. */
	if (__builtin_expect((uintptr_t)p <= guard_top, 0)) {
		if (!guard_free(p))
			free_general(p);   /* not the pool's: a block all the same */
		return;
	}
	if (__builtin_expect(((uintptr_t)p & (LINE - 1)) == 0, 0)) {
		free_general(p);
		return;
	}
	struct owner_header h;
	owner_header_read(p, &h);
	void *b = (void *)((uintptr_t)p - H);
	struct ledger_slot *s = ledger_peek(h.handle);
	if (__builtin_expect(s != NULL, 1)) {
		block_free_charged(s, b, h.charge);
		return;
	}
	free_general(p);   /* the owner's slot is not at hand: the general path */
}

/* p (seen as v) resized by plan pl and owned by handle; NULL, p intact, on
 * failure. A natural small block is the backend's realloc (the header moves
 * with the bytes); a large one resizes in place when it can; otherwise a new
 * block is made, named, filled and the old one freed. */
static void *block_resize(void *p, const struct view *v, struct plan *pl, uint32_t handle) {
	if (v->offset == H && pl->offset == H) {
		void *b = pl->u == v->u ? v->base : backend_realloc(v->base, pl->u);
		if (b == NULL)
			return NULL;
#ifndef SKYNET_MEM_USE_JEMALLOC
		pl->u = backend_usable(b);
#endif
		void *q = (void *)((uintptr_t)b + H);
		struct owner_header h = { pl->u, H, handle };
		owner_header_write(q, &h);
		return q;
	}
#ifdef SKYNET_MEM_USE_JEMALLOC
	if (v->offset == 0 && pl->offset == 0 && (pl->u == v->u || xallocx(p, pl->u, 0, 0) == pl->u)) {
		large_owner_set(p, handle);
		return p;
	}
#endif
	void *q = block_make(pl, 0, handle);
	if (q == NULL)
		return NULL;
	size_t old = v->u - v->offset, now = pl->u - pl->offset;
	memcpy(q, p, old < now ? old : now);
	if (v->offset == 0)
		large_owner_take(p);
	backend_free(v->base, v->u);
	return q;
}

void *mem_realloc(void *p, size_t n) {
	if (p == NULL)
		return mem_alloc(n, 0, 0);
	if (n == 0) {
		mem_free(p);
		return NULL;
	}
	if (__builtin_expect(guard_has(p), 0))
		return guard_realloc(p, n);
	struct view v;
	view_of(p, &v);
	uint32_t named = v.handle;
	v.handle = profile_resolve(p, named);
	uint32_t handle = current_handle();
	struct plan pl;
	int planned = plan_block(n, 0, &pl);
	struct ledger_slot *s = block_admit(handle, planned, block_realloc_growth(handle, v.handle, v.u, pl.u));
	if (s == NULL)
		return NULL;
	/* A resize is a free and an alloc: the sample leaves before the address
	 * can be reused; the block names its owner again should the resize fail. */
	if (__builtin_expect(named == PROFILE_MARK, 0) && profile_take(p) != PROFILE_MARK)
		owner_rename(p, v.offset, v.handle);
	void *q = block_resize(p, &v, &pl, handle);
	if (q == NULL)
		return block_not_made(s);
	block_realloc_charge(v.handle, v.u, handle, pl.u);
	return counted(q, pl.u, handle);
}

size_t mem_usable(const void *p) {
	if (p == NULL)
		return 0;
	if (__builtin_expect(guard_has(p), 0))
		return guard_usable(p);
	struct view v;
	view_of(p, &v);
	return v.u - v.offset;
}

/* Not a free and an alloc: only the owner changes, under no limit. */
int block_transfer(void *p, uint32_t to_handle) {
	if (p == NULL)
		return -1;
	if (guard_has(p))
		return guard_transfer(p, to_handle);
	struct view v;
	view_of(p, &v);
	uint32_t named = v.handle;
	v.handle = profile_resolve(p, named);
	if (v.handle == to_handle)
		return 0;
	if (__builtin_expect(named == PROFILE_MARK, 0))
		profile_move(p, to_handle);   /* the block keeps its mark */
	else
		owner_rename(p, v.offset, to_handle);
	block_transfer_charge(v.handle, to_handle, v.u);
	return 0;
}

uint32_t block_owner(const void *p) {
	if (p == NULL)
		return 0;
	if (guard_has(p))
		return guard_owner(p);
	struct view v;
	view_of(p, &v);
	return profile_resolve(p, v.handle);
}

size_t block_charge(const void *p) {
	if (p == NULL)
		return 0;
	if (guard_has(p))
		return guard_charge(p);
	struct view v;
	view_of(p, &v);
	return v.u;
}

size_t block_charge_size(size_t n) {
	struct plan pl;
	return plan_block(n, 0, &pl) ? pl.u : 0;
}
