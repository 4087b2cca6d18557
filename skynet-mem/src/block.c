/* The block operations of the release build (block.h): every block is
 * allocated at its full size class and charged that usable size. A small
 * block names its owner in a trailing cookie; a large one (LARGE_MIN usable
 * bytes or more) has no cookie and its owner in large_owner.c, so its class is
 * that of the request alone. The usable size, which free looks up anyway,
 * tells which. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "block.h"
#include "block_ledger.h"
#include "cookie.h"
#include "current.h"
#include "guard.h"
#include "large_owner.h"
#include "ledger.h"
#include "profile.h"

/* The usable size a block of n bytes is allocated at (and charged): the class
 * of n plus the cookie, or of n alone when that is large. 0 when no
 * allocation can have that size. */
static inline size_t block_class(size_t n, size_t align) {
	if (__builtin_expect(n >= LARGE_MIN, 0))
		return backend_class(n, align);
	if (n > PTRDIFF_MAX - COOKIE_SIZE)
		return 0;
	size_t u = backend_class(n + COOKIE_SIZE, align);
	if (__builtin_expect(block_is_large(u), 0))
		u = backend_class(LARGE_MIN, align);   /* the cookie would cross into a large class */
	return u;
}

/* Bytes of a block of usable size u that belong to the caller. */
static inline size_t block_payload(size_t u) {
	return block_is_large(u) ? u : u - COOKIE_SIZE;
}

/* The owner the block names: PROFILE_MARK for a sampled one. */
static inline uint32_t named_owner(const void *p, size_t u) {
	if (__builtin_expect(block_is_large(u), 0))
		return large_owner_get(p);
	struct cookie c;
	cookie_read(p, u, &c);
	return c.handle;
}

static inline uint32_t owner_of(const void *p, size_t u) {
	return profile_resolve(p, named_owner(p, u));
}

/* Names the owner of a block just made; -1 when no memory for it is left. */
static inline int owner_init(void *p, size_t u, uint32_t handle) {
	if (__builtin_expect(block_is_large(u), 0))
		return large_owner_put(p, handle);
	struct cookie c = { .handle = handle };
	cookie_write(p, u, &c);
	return 0;
}

/* Names another owner for an existing block (its large entry exists). */
static inline void owner_rename(void *p, size_t u, uint32_t handle) {
	if (block_is_large(u)) {
		large_owner_set(p, handle);
	} else {
		struct cookie c = { .handle = handle };
		cookie_write(p, u, &c);
	}
}

/* The block p of charge u just made for owner is due for a sample: once in
 * the profile's table, it names PROFILE_MARK instead of its owner, so that
 * free's slot lookup misses and takes the slow path. Returns p. */
__attribute__((noinline)) static void *block_sampled(void *p, size_t u, uint32_t owner) {
	if (profile_sampled(p, u, owner))
		owner_rename(p, u, PROFILE_MARK);
	return p;
}

/* After a block p of charge u was made for owner: one subtraction and one
 * branch unless it is due for a sample. */
static inline void *counted(void *p, size_t u, uint32_t owner) {
	if (profile_due(u))
		return block_sampled(p, u, owner);
	return p;
}

void *mem_alloc(size_t n, size_t align, int zero) {
	uint32_t handle = current_handle();
	size_t u = block_class(n, align);
	if (__builtin_expect(guard_active, 0)) {
		void *g = guard_alloc(handle, n, align, zero, u);
		if (g != NULL)
			return g;
	}
	struct ledger_slot *s = block_admit(handle, u != 0, u);
	if (s == NULL)
		return NULL;
	void *p = backend_alloc(u, align, zero);
	if (p == NULL)
		return block_not_made(s);
#ifndef SKYNET_MEM_USE_JEMALLOC
	u = backend_usable(p);
#endif
	if (owner_init(p, u, handle) != 0) {
		backend_free(p, u);
		return block_not_made(s);   /* gives a direct slot's record back, as block_header.c does */
	}
	slot_charge(s, (int64_t)u, 1, 1, 0);
	return counted(p, u, handle);
}

#ifdef MEM_MALLOC_FAST
size_t malloc_short_max = BACKEND_CLASS_TABLE_MAX - COOKIE_SIZE;

/* guard.c lowers the bound while a guarded block is due. */
__attribute__((constructor)) static void short_path_init(void) {
	guard_short_path(&malloc_short_max, BACKEND_CLASS_TABLE_MAX - COOKIE_SIZE);
}

/* The rest of malloc when the current service's slot is not cached, clean,
 * past its batch or under a limit: the block exists. Caches the slot for the
 * fast path when it is the current service's and stays claimed. */
__attribute__((noinline)) static void *malloc_charge(void *p, size_t u) {
	uint32_t handle = current_handle();
	struct cookie c = { .handle = handle };
	cookie_write(p, u, &c);
	if (malloc_slow_charge(handle, u) != 0) {
		backend_free(p, u);
		return NULL;
	}
	if (__builtin_expect(guard_active, 0))
		guard_counted(handle);
	return counted(p, u, handle);
}

__attribute__((noinline, cold)) static void *malloc_failed(void) {
	errno = ENOMEM;
	return NULL;
}

/* A small class from the table: the block is made first, so only its class
 * lives across jemalloc's call (one saved register; every other way out is a
 * tail call); then the current service's cached slot (ledger_current: never
 * under a limit, never with a host's own current handle; LEDGER_NONE, which
 * fails the batch test, when none), changed since published and with room
 * in its batch, takes the charge. */
void *mem_malloc(size_t n) {
	if (__builtin_expect(n > malloc_short_max, 0))   /* a memory operand: no cost over the constant */
		return mem_alloc(n, 0, 0);
	size_t u = backend_class_table[(n + COOKIE_SIZE + 7) >> 3];
	/* One compare: u == 0 (table not filled yet) or a large class. */
	if (__builtin_expect(u - 1 >= LARGE_MIN - 1, 0))
		return mem_alloc(n, 0, 0);
	void *p = backend_je_malloc(u);
	if (__builtin_expect(p == NULL, 0))
		return malloc_failed();
	struct ledger_slot *s = ledger_current;
	if (__builtin_expect(slot_past_batch(s, (int64_t)u), 0))
		return malloc_charge(p, u);
	struct cookie c = { .handle = (uint32_t)s->key };
	s->bytes += u;
	s->blocks++;
	s->allocs++;
	cookie_write(p, u, &c);
	return counted(p, u, c.handle);
}
#endif

/* free of a large block, or when the owner's slot is not at hand. */
__attribute__((noinline)) static void free_slow(void *p, size_t u) {
	uint32_t owner;
	if (block_is_large(u)) {
		owner = large_owner_take(p);   /* before the address can be reused */
	} else {
		struct cookie c;
		cookie_read(p, u, &c);
		owner = c.handle;
	}
	if (owner == PROFILE_MARK)
		owner = profile_take(p);   /* a sampled block leaves the table first */
	block_free_uncharged(owner, p, u);
}

/* A small block whose owner's slot is at hand: charged, then jemalloc's free
 * as a tail call, so only p lives across the one call (the size lookup). */
void mem_free(void *p) {
	/* The guarded pool lies below the heap: one compare, as the NULL test's. */
	if (__builtin_expect((uintptr_t)p <= guard_top, 0)) {
		if (!guard_free(p))
			free_slow(p, backend_usable(p));   /* not the pool's: a block all the same */
		return;
	}
	size_t u = backend_usable(p);
	if (__builtin_expect(!block_is_large(u), 1)) {
		struct cookie c;
		cookie_read(p, u, &c);
		struct ledger_slot *s = ledger_peek(c.handle);
		if (__builtin_expect(s != NULL, 1)) {
			block_free_charged(s, p, u);
			return;
		}
	}
	free_slow(p, u);
}

/* p (usable u) resized to usable *nu and owned by handle; NULL, p intact, on
 * failure. Small to small is the backend's realloc; a large block resizes in
 * place when it can; otherwise a new block is made, named, filled and the
 * old one freed, so a large block's entry is never taken after its address
 * is free for reuse. */
static void *block_resize(void *p, size_t u, size_t *nu, uint32_t handle) {
	if (!block_is_large(u) && !block_is_large(*nu)) {
		void *q = *nu == u ? p : backend_realloc(p, *nu);
		if (q == NULL)
			return NULL;
#ifndef SKYNET_MEM_USE_JEMALLOC
		*nu = backend_usable(q);
#endif
		owner_init(q, *nu, handle);   /* a cookie: cannot fail */
		return q;
	}
#ifdef SKYNET_MEM_USE_JEMALLOC
	if (block_is_large(u) && block_is_large(*nu) && (*nu == u || xallocx(p, *nu, 0, 0) == *nu)) {
		large_owner_set(p, handle);
		return p;
	}
#endif
	void *q = backend_alloc(*nu, 0, 0);
	if (q == NULL)
		return NULL;
	if (owner_init(q, *nu, handle) != 0) {
		backend_free(q, *nu);
		return NULL;
	}
	size_t keep = block_payload(u) < block_payload(*nu) ? block_payload(u) : block_payload(*nu);
	memcpy(q, p, keep);
	if (block_is_large(u))
		large_owner_take(p);
	backend_free(p, u);
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
	size_t u = backend_usable(p);
	uint32_t named = named_owner(p, u);
	uint32_t owner = profile_resolve(p, named);
	uint32_t handle = current_handle();
	size_t nu = block_class(n, 0);
	struct ledger_slot *s = block_admit(handle, nu != 0, block_realloc_growth(handle, owner, u, nu));
	if (s == NULL)
		return NULL;
	/* A resize is a free and an alloc: the sample leaves before the address
	 * can be reused; the block names its owner again should the resize fail. */
	if (__builtin_expect(named == PROFILE_MARK, 0) && profile_take(p) != PROFILE_MARK)
		owner_rename(p, u, owner);
	void *q = block_resize(p, u, &nu, handle);
	if (q == NULL)
		return block_not_made(s);
	block_realloc_charge(owner, u, handle, nu);
	return counted(q, nu, handle);
}

size_t mem_usable(const void *p) {
	if (__builtin_expect(guard_has(p), 0))
		return guard_usable(p);
	return p ? block_payload(backend_usable(p)) : 0;
}

/* transfer's rare way, out of line so the common one keeps few registers. */
__attribute__((noinline, cold)) static int transfer_guarded(void *p, uint32_t to_handle) {
	return guard_transfer(p, to_handle);
}

/* transfer of a large or a sampled block: its owner is kept aside. */
__attribute__((noinline, cold)) static int transfer_aside(void *p, size_t u, uint32_t to_handle) {
	uint32_t named = named_owner(p, u);
	uint32_t from = profile_resolve(p, named);
	if (from == to_handle)
		return 0;
	if (named == PROFILE_MARK)
		profile_move(p, to_handle);   /* the block keeps its mark */
	else
		owner_rename(p, u, to_handle);
	block_transfer_charge(from, to_handle, u);
	return 0;
}

/* Not a free and an alloc: only the owner changes. No limit applies, since a
 * delivered message cannot be refused. The common way (a small block, its
 * owner in its cookie) keeps few registers: the rest is out of line. */
int block_transfer(void *p, uint32_t to_handle) {
	/* NULL and the guarded pool lie at or below guard_top: one compare. */
	if (__builtin_expect((uintptr_t)p <= guard_top, 0)) {
		if (p == NULL)
			return -1;
		if (guard_has(p))
			return transfer_guarded(p, to_handle);
	}
	size_t u = backend_usable(p);
	if (__builtin_expect(block_is_large(u), 0))
		return transfer_aside(p, u, to_handle);
	struct cookie c;
	cookie_read(p, u, &c);
	uint32_t from = c.handle;
	if (__builtin_expect(from == PROFILE_MARK, 0))
		return transfer_aside(p, u, to_handle);
	if (from == to_handle)
		return 0;
	c.handle = to_handle;
	cookie_write(p, u, &c);
	block_transfer_charge(from, to_handle, u);
	return 0;
}

uint32_t block_owner(const void *p) {
	if (guard_has(p))
		return guard_owner(p);
	return p ? owner_of(p, backend_usable(p)) : 0;
}

size_t block_charge(const void *p) {
	if (guard_has(p))
		return guard_charge(p);
	return p ? backend_usable(p) : 0;
}

size_t block_charge_size(size_t n) {
	return block_class(n, 0);
}
