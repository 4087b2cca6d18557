#ifndef SKYNET_MEM_CHECK_BLOCK_H
#define SKYNET_MEM_CHECK_BLOCK_H

/* MEMORY_CHECK block layout, seals and verification (check_block.c). The
 * checker's files, compiled only in MEMORY_CHECK builds, from the bottom up:
 *   check_block.c       layout, seals, verification (finds faults, reports none)
 *   check_registry.c    live lists of blocks per allocating thread
 *   check_report.c      reports, counts, leak lists; the public check API
 *   check_quarantine.c  freed blocks wait, poisoned, before going back
 *   check_alloc.c       the block operations of block.h over all of the above
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

#include "internal.h"
#include "skynet_mem.h"

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
#define CHECK_SAME_KIND(k) _Static_assert((int)CHECK_##k == (int)SKYNET_MEM_CHECK_##k, \
	"enum check_kind must number its kinds as enum skynet_mem_check_kind does")
CHECK_SAME_KIND(DOUBLE_FREE);
CHECK_SAME_KIND(OVERFLOW);
CHECK_SAME_KIND(UNDERFLOW);
CHECK_SAME_KIND(INVALID_FREE);
CHECK_SAME_KIND(WRITE_AFTER_FREE);
_Static_assert((int)CHECK_KINDS == (int)SKYNET_MEM_CHECK_WRITE_AFTER_FREE + 1, "a public check kind has no internal twin");

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

/* --- headers and seals --- */
/* The state p's header claims, sealed for p (REG_NONE when it is not a block
 * of the layer); fills *m. Safe on any readable address. */
HIDDEN int block_identify(const void *p, struct check_meta *m);
/* The allocation site behind the canary (block_identify leaves m->site 0:
 * only reports need it). */
HIDDEN uintptr_t block_site(const void *p, const struct check_meta *m);
/* Writes the header fields and seal for m (not the links); sets m->seal. */
HIDDEN void head_write(const void *p, struct check_meta *m);
/* Live -> freed in place: records the freer, reseals (no hashing). */
static inline void head_mark_freed(const void *p, struct check_meta *m, uint32_t freer) {
	struct check_head *h = check_hdr(p);
	m->freer = freer;
	h->who = (uint64_t)m->owner | (uint64_t)freer << 32;
	m->state = REG_FREED;
	h->seal = m->seal ^= CHECK_TAG_LIVE ^ CHECK_TAG_FREED;
}

/* --- verification: what is wrong, without reporting (check_report.h reports) --- */
struct block_fault {
	enum check_kind kind;
	ptrdiff_t offset;          /* first byte found wrong, from the user's pointer */
	size_t span;               /* bytes past the end / before the start / touched */
};
/* Overflow and underflow of a live block, found without reporting: 0, 1 or 2. */
HIDDEN int block_faults(const void *p, const struct check_meta *m, struct block_fault f[2]);
/* 1 and *f when a quarantined block changed since block_poison. */
HIDDEN int block_poison_fault(const void *p, const struct check_meta *m, struct block_fault *f);
/* Writes guard and canary around the user's bytes of a new block, and its
 * allocation site behind the canary. */
HIDDEN void block_arm(void *p, const struct check_meta *m);
/* Poisons the user's bytes of a freed block and seals its header as freed. */
HIDDEN void block_poison(void *p, const struct check_meta *m);

#endif
