#ifndef SKYNET_MEM_CHECK_H
#define SKYNET_MEM_CHECK_H

/* MEMORY_CHECK internals. In release builds only the inline no-op stubs at the
 * bottom exist, so the release hot path carries none of this.
 *
 * CHECK block layout (the backend block b of usable size u):
 *
 *   b          p = b + head                p + n          b + u - COOKIE_SIZE   b + u
 *   | guard .. | user bytes (n requested)  | canary ...    | cookie {handle, dogtag, n} |
 *
 * head = max(16, alignment asked for), so p keeps the caller's alignment. The
 * registry (check_registry.c) is the authority on which pointers are blocks:
 * every user pointer is validated there before anything touches the backend. */

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"

#ifdef SKYNET_MEM_CHECK

#define HIDDEN_CHECK __attribute__((visibility("hidden")))

#define CHECK_HEAD_MIN 16
#define CHECK_GUARD  0xa5u   /* bytes before the user's */
#define CHECK_CANARY 0xcbu   /* slack between the user's bytes and the cookie */
#define CHECK_POISON 0xf7u   /* user bytes of a freed block in quarantine */

/* Report kinds; the public skynet_mem_check_count() takes the same numbers. */
enum check_kind {
	CHECK_DOUBLE_FREE,
	CHECK_OVERFLOW,
	CHECK_UNDERFLOW,
	CHECK_INVALID_FREE,
	CHECK_WRITE_AFTER_FREE,
	CHECK_KINDS
};

/* What the layer knows of a block, kept out of band in the registry so that a
 * corrupted block can never mislead the checker. */
struct check_meta {
	size_t n;          /* requested bytes */
	size_t usable;     /* backend usable size: what the owner is charged */
	uintptr_t site;    /* return address of the allocating call */
	uint32_t owner;
	uint32_t head;     /* p - b */
	uint32_t freer;    /* service that freed it (quarantined blocks) */
	uint32_t state;    /* REG_LIVE or REG_FREED */
};

static inline size_t check_head_size(size_t align) {
	return align > CHECK_HEAD_MIN ? align : CHECK_HEAD_MIN;
}

static inline void *check_base(const void *p, const struct check_meta *m) {
	return (void *)((uintptr_t)p - m->head);
}

/* --- block layout and verification (check_block.c) --- */
struct block_fault {
	enum check_kind kind;
	ptrdiff_t offset;          /* first byte found wrong, from the user's pointer */
	size_t span;               /* bytes past the end / before the start / touched */
};
/* Overflow and underflow of a live block, found without reporting: 0, 1 or 2. */
HIDDEN_CHECK int block_faults(const void *p, const struct check_meta *m, struct block_fault f[2]);
/* 1 and *f when a quarantined block changed since block_poison. */
HIDDEN_CHECK int block_poison_fault(const void *p, const struct check_meta *m, struct block_fault *f);
HIDDEN_CHECK void block_report(const void *p, const struct check_meta *m, const char *op,
	const struct block_fault *f, int n);
/* Writes guard, canary and cookie around the user's bytes of a new block. */
HIDDEN_CHECK void block_arm(void *p, const struct check_meta *m);
/* Verifies guard, canary and cookie; reports what is wrong and returns -1. */
HIDDEN_CHECK int block_verify(const void *p, const struct check_meta *m, const char *op);
/* Poisons the user's bytes of a freed block and marks its cookie freed. */
HIDDEN_CHECK void block_poison(void *p, const struct check_meta *m);
/* Verifies a quarantined block is untouched since block_poison; reports -1. */
HIDDEN_CHECK int block_verify_poison(const void *p, const struct check_meta *m);

/* --- registry (check_registry.c) --- */
enum { REG_NONE, REG_LIVE, REG_FREED };
/* 0, or -1 when out of memory. */
HIDDEN_CHECK int reg_insert(const void *p, const struct check_meta *m);
/* State of p (REG_NONE when not a block); fills *out otherwise. */
HIDDEN_CHECK int reg_lookup(const void *p, struct check_meta *out);
/* LIVE -> FREED (recording freer); returns the state found, *out as it was. */
HIDDEN_CHECK int reg_mark_freed(const void *p, uint32_t freer, struct check_meta *out);
/* New owner of a live block; returns the state found, *out as it was. */
HIDDEN_CHECK int reg_set_owner(const void *p, uint32_t owner, struct check_meta *out);
HIDDEN_CHECK void reg_remove(const void *p);
/* A free in one step under the block's stripe lock: LIVE -> FREED; a small
 * block (up to 1/4 of its stripe's share of the quarantine bound) is verified,
 * poisoned and queued in its stripe, and the oldest blocks of that stripe leave
 * (verified, sound ones unregistered). The caller reports and frees after. */
#define REG_EVICT_MAX 16
struct reg_evicted {
	void *p;
	struct check_meta m;
	int bad;                   /* written after its free: leaked, f says where */
	struct block_fault f;
};
struct reg_free {
	int state;                 /* as found: REG_NONE, REG_FREED (double free), REG_LIVE */
	struct check_meta m;       /* the block, when found */
	int big;                   /* not queued here: the caller verifies and quarantines */
	int nfault;                /* small block found corrupt (left freed, not queued) */
	struct block_fault fault[2];
	int nev;
	struct reg_evicted ev[REG_EVICT_MAX];
};
HIDDEN_CHECK void reg_free(void *p, uint32_t freer, size_t bound, struct reg_free *r);
/* Shrinks every stripe's queue to its share of bound; done() gets what left. */
HIDDEN_CHECK void reg_trim(size_t bound, void (*done)(const struct reg_evicted *ev, int n));
/* Every stripe lock, in order (fork); and back. */
HIDDEN_CHECK void reg_lock_all(void);
HIDDEN_CHECK void reg_unlock_all(void);
/* Calls fn for every live block of owner; returns how many there were. */
HIDDEN_CHECK size_t reg_foreach_owned(uint32_t owner,
	void (*fn)(const void *p, const struct check_meta *m, void *ud), void *ud);

/* --- quarantine (check_quarantine.c) --- */
/* The bound in bytes (SKYNET_MEM_QUARANTINE, default, or the last call). */
HIDDEN_CHECK size_t quarantine_bound(void);
/* Takes a verified, poisoned large block; may release older ones to the backend. */
HIDDEN_CHECK void quarantine_push(void *p, const struct check_meta *m);
HIDDEN_CHECK void quarantine_lock(void);
HIDDEN_CHECK void quarantine_unlock(void);
/* Frees the sound blocks that left a quarantine, reports the written ones. */
HIDDEN_CHECK void quarantine_finish(const struct reg_evicted *ev, int n);

/* --- reports (check.c) --- */
struct check_report {
	enum check_kind kind;
	const char *op;            /* "free", "realloc", "transfer", "quarantine exit" */
	const void *ptr;
	const struct check_meta *m;   /* NULL: not a block of the layer */
	ptrdiff_t offset;          /* first byte found wrong, from ptr */
	size_t span;               /* bytes past the end / before the start / touched */
};
HIDDEN_CHECK void check_report(const struct check_report *r);
/* Lists the blocks (sizes, allocation sites) a service still owns as it exits. */
HIDDEN_CHECK void check_on_service_exit(uint32_t handle, size_t blocks);

#else /* release: no checks */

static inline void check_on_service_exit(uint32_t handle, size_t blocks) {
	(void)handle, (void)blocks;
}

#endif

/* The release path's dogtag hooks: no-ops, the CHECK build has its own paths. */
static inline void check_on_alloc(struct cookie *c) {
	(void)c;
}
static inline int check_verify(void *p, size_t usable, const struct cookie *c, const char *op) {
	(void)p, (void)usable, (void)c, (void)op;
	return 0;
}
static inline int check_on_free(void *p, size_t usable, struct cookie *c, const char *op) {
	(void)p, (void)usable, (void)c, (void)op;
	return 0;
}

#endif
