#ifndef SKYNET_MEM_BLOCK_LEDGER_H
#define SKYNET_MEM_BLOCK_LEDGER_H

/* The ledger's side of a block, the same in both release layouts (block.c,
 * block_header.c): admitting, charging and freeing, realloc's and transfer's
 * charges, whatever names the owner.
 * Included by the one layout file a build compiles. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "block.h"
#include "current.h"
#include "guard_pool.h"
#include "ledger.h"

/* The slot of handle when a block of its size exists (planned) and its limit
 * admits growth more bytes; NULL, errno ENOMEM, when refused. */
static inline struct ledger_slot *block_admit(uint32_t handle, int planned, size_t growth) {
	struct ledger_slot *s = planned ? ledger_lookup(handle) : NULL;
	if (s == NULL || !ledger_admit_c(s, growth)) {
		ledger_unused(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

/* The backend could not make the block admitted to s. */
static inline void *block_not_made(struct ledger_slot *s) {
	ledger_unused(s);
	errno = ENOMEM;
	return NULL;
}

#ifdef MEM_MALLOC_FAST
/* malloc's slow charge: its new block of usable u already names handle.
 * 0, or -1 (errno ENOMEM) when refused: the caller frees the block. Caches
 * the slot for the fast path when it is the current service's and stays
 * claimed. */
static inline int malloc_slow_charge(uint32_t handle, size_t u) {
	struct ledger_slot *s = block_admit(handle, 1, u);
	if (s == NULL)
		return -1;
	slot_charge(s, (int64_t)u, 1, 1, 0);
	if (current_is_default && handle == current_tls && s->key == slot_key(handle) &&
		!s->direct && !s->limited)
		ledger_current = s;
	return 0;
}
#endif

/* realloc's admission: the growth the new owner (handle) takes on, from a
 * block of usable u owned by owner to one of usable nu. */
static inline size_t block_realloc_growth(uint32_t handle, uint32_t owner, size_t u, size_t nu) {
	return handle != owner ? nu : (nu > u ? nu - u : 0);
}

/* realloc's charge once the block is made: one free of the old block (owner,
 * u), one allocation of the new (handle, nu). */
static inline void block_realloc_charge(uint32_t owner, size_t u, uint32_t handle, size_t nu) {
	ledger_charge(owner, -(int64_t)u, -1, 0, 1);
	ledger_charge(handle, (int64_t)nu, 1, 1, 0);
}

/* transfer's charge: u bytes change accounts, neither an alloc nor a free. */
static inline void block_transfer_charge(uint32_t from, uint32_t to, size_t u) {
	ledger_transfer(from, to, u);
}

/* free's general path, once the owner is known: charged through the ledger,
 * then the backend frees b (usable u). */
static inline void block_free_uncharged(uint32_t owner, void *b, size_t u) {
	ledger_charge(owner, -(int64_t)u, -1, 0, 1);
	backend_free(b, u);
}

__attribute__((noinline)) static void free_publish(void *b, size_t u, struct ledger_slot *s) {
	ledger_done_slow(s);
	backend_free(b, u);
}

/* free of a block charged u (b: what the backend frees) whose owner's slot s
 * is at hand: charged, then the backend's free as a tail call. */
static inline void block_free_charged(struct ledger_slot *s, void *b, size_t u) {
	s->bytes -= (int64_t)u;
	s->blocks--;
	s->frees++;
	if (__builtin_expect(slot_past_batch(s, 0), 0)) {
		free_publish(b, u, s);
		return;
	}
	backend_free(b, u);
}

/* realloc of the pool's block p (guard_pool.h): a new block of the calling
 * service (guarded again if sampled), the bytes copied, p freed. A block not
 * live is freed as it is, which reports it. */
static inline void *guard_realloc(void *p, size_t n) {
	if (guard_charge(p) == 0) {   /* not live */
		mem_free(p);
		return NULL;
	}
	size_t old = guard_usable(p);
	void *q = mem_alloc(n, 0, 0);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	mem_free(p);
	return q;
}

#endif
