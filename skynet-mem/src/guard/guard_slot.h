#ifndef SKYNET_MEM_GUARD_SLOT_H
#define SKYNET_MEM_GUARD_SLOT_H

/* A guarded slot's record, as the pool (guard_pool.c) keeps it and the
 * reports (guard_report.c) print it. */

#include <stddef.h>
#include <stdint.h>

#include "skynet_mem.h"

#define GUARD_MAX ((size_t)16 * 1024)   /* the largest block guarded */
#define GUARD_FRAMES 10                  /* stack frames kept per allocation and free */
#define GUARD_FILL 0xa5

enum guard_state { SLOT_UNUSED, SLOT_LIVE, SLOT_FREED };

struct guard_slot {
	uintptr_t p;          /* the caller's pointer while live or freed */
	size_t n;             /* requested bytes */
	size_t charge;        /* charged to the owner */
	uint32_t owner;       /* the owner now (transfer changes it) */
	uint32_t freer;       /* the service current when it was freed */
	int state;            /* enum guard_state */
	int nalloc, nfree;    /* frames kept */
	unsigned uses;        /* blocks the slot has held: their places take turns */
	uintptr_t alloc_pc[GUARD_FRAMES], free_pc[GUARD_FRAMES];
	char name[SKYNET_MEM_NAME_MAX];   /* the owner's, when it was named the owner */
};

#endif
