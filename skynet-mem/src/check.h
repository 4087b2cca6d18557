#ifndef SKYNET_MEM_CHECK_H
#define SKYNET_MEM_CHECK_H

/* MEMORY_CHECK internals. In release builds only the inline no-op stubs at the
 * bottom exist, so the release hot path carries none of this.
 *
 * CHECK block layout (the backend block b of usable size u, p the user's pointer):
 *
 *   b        p - 64          p - 16         p                p + n          p + n + 16   + 24     b + u
 *   | pad .. | header (48 B) | guard (16 B) | user bytes (n) | canary (16 B) | site (8) | unused |
 *
 * head = p - b = the larger of 64 and the alignment asked for, so p keeps it. The
 * header says what the block is; its seal (a hash of the user pointer, a
 * per-process secret and the header's fields) tells a block of the layer from
 * a stack address, a pointer into a block or another allocator's block, and a
 * live block from a freed one, without any shared table. */

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"

#ifdef SKYNET_MEM_CHECK

#define HIDDEN_CHECK __attribute__((visibility("hidden")))

#define CHECK_TAG_LIVE  0x6c697665u
#define CHECK_TAG_FREED 0x66726565u
#define CHECK_GUARD_SIZE 16
#define CHECK_CANARY_SIZE 16 /* canary bytes right after the user's */
#define CHECK_TRAIL_MIN (CHECK_CANARY_SIZE + 8)   /* canary, then the allocation site */
#define CHECK_USABLE_MAX ((size_t)1 << 40)
#define CHECK_GUARD  0xa5u   /* bytes before the user's */
#define CHECK_CANARY 0xcbu   /* bytes from the end of the user's to the end of the block */
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

enum { REG_NONE, REG_LIVE, REG_FREED };

/* What the layer knows of a block (a copy of its header's fields). */
struct check_meta {
	uint64_t seal;     /* as found in (or written to) the header */
	size_t n;          /* requested bytes */
	size_t usable;     /* backend usable size: what the owner is charged */
	uintptr_t site;    /* return address of the allocating call */
	uint32_t owner;
	uint32_t freer;    /* service that freed it (quarantined blocks) */
	uint32_t head;     /* p - b */
	uint32_t list;     /* live list the block is linked in (check_registry.c) */
	uint32_t state;    /* REG_LIVE or REG_FREED */
};

/* In the block, right before the guard. prev/next (farthest from p) are the
 * live list's links; n, word and the owner are covered by the seal. The
 * allocation site lies behind the canary (reports only). */
struct check_head {
	struct check_head *prev, *next;
	uint64_t seal;
	uint64_t n;
	uint64_t word;     /* usable (40 bits) | list << 40 | log2(head) << 56 */
	uint64_t who;      /* owner | freer << 32 */
};

#define CHECK_HEAD_SIZE ((uint32_t)sizeof(struct check_head))
#define CHECK_HEAD_MIN (CHECK_HEAD_SIZE + CHECK_GUARD_SIZE)

static inline struct check_head *check_hdr(const void *p) {
	return (struct check_head *)((uintptr_t)p - CHECK_HEAD_MIN);
}

static inline void *check_base(const void *p, const struct check_meta *m) {
	return (void *)((uintptr_t)p - m->head);
}

/* --- headers and seals (check_block.c) --- */
/* The state p's header claims, sealed for p (REG_NONE when it is not a block
 * of the layer); fills *m. Safe on any readable address. */
HIDDEN_CHECK int block_identify(const void *p, struct check_meta *m);
/* The allocation site behind the canary (block_identify leaves m->site 0:
 * only reports need it). */
HIDDEN_CHECK uintptr_t block_site(const void *p, const struct check_meta *m);
/* Writes the header fields and seal for m (not the links); sets m->seal. */
HIDDEN_CHECK void head_write(const void *p, struct check_meta *m);
/* Live -> freed in place: records the freer, reseals (no hashing). */
static inline void head_mark_freed(const void *p, struct check_meta *m, uint32_t freer) {
	struct check_head *h = check_hdr(p);
	m->freer = freer;
	h->who = (uint64_t)m->owner | (uint64_t)freer << 32;
	m->state = REG_FREED;
	h->seal = m->seal ^= CHECK_TAG_LIVE ^ CHECK_TAG_FREED;
}
/* 1 when any of the 16 guard bytes changed. */
HIDDEN_CHECK int guard_damaged(const void *p);

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
/* Writes guard and canary around the user's bytes of a new block, and its
 * allocation site behind the canary. */
HIDDEN_CHECK void block_arm(void *p, const struct check_meta *m);
/* Verifies guard and canary; reports what is wrong and returns -1. */
HIDDEN_CHECK int block_verify(const void *p, const struct check_meta *m, const char *op);
/* Poisons the user's bytes of a freed block and seals its header as freed. */
HIDDEN_CHECK void block_poison(void *p, const struct check_meta *m);
/* Verifies a quarantined block is untouched since block_poison; reports -1. */
HIDDEN_CHECK int block_verify_poison(const void *p, const struct check_meta *m);

/* --- live lists (check_registry.c) --- */
/* Links a new block into the calling thread's list; m->list is set. */
HIDDEN_CHECK void live_insert(void *p, struct check_meta *m);
/* m: p identified live. Under the block's list lock: LIVE -> FREED (freer
 * recorded, unlinked, header resealed). Returns REG_LIVE when this call freed
 * it; otherwise the state now (a racing free won), *m as it is now. */
HIDDEN_CHECK int live_mark_freed(void *p, uint32_t freer, struct check_meta *m);
/* New owner of a live block; returns the state found, *m as it was. */
HIDDEN_CHECK int live_set_owner(void *p, uint32_t owner, struct check_meta *m);
/* Every list lock, in order (fork); and back. */
HIDDEN_CHECK void live_lock_all(void);
HIDDEN_CHECK void live_unlock_all(void);
/* Copies up to max live blocks of owner into p/m; returns how many there are. */
HIDDEN_CHECK size_t live_owned(uint32_t owner, void **p, struct check_meta *m, size_t max);

/* --- quarantine (check_quarantine.c) --- */
/* The per-thread bound in bytes (SKYNET_MEM_QUARANTINE, default, or the last call). */
HIDDEN_CHECK size_t quarantine_bound(void);
/* Takes a verified, poisoned block into the calling thread's quarantine; may
 * release older ones to the backend. */
HIDDEN_CHECK void quarantine_push(void *p, const struct check_meta *m);
/* Verifies a block leaving quarantine: frees it, or reports and leaks it. */
HIDDEN_CHECK void quarantine_release(void *p, const struct check_meta *m);

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
