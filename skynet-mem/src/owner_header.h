#ifndef SKYNET_MEM_OWNER_HEADER_H
#define SKYNET_MEM_OWNER_HEADER_H

/* The owner header of the header layout (block_header.c): 16 bytes just
 * before the pointer the caller gets, naming the owner, the block's charge
 * (its usable size, so free needs no size lookup) and how far the pointer
 * lies from the block's start (16, or an alignment above 16). The header is
 * 16 bytes so that the caller's pointer keeps malloc's 16-byte alignment.
 * Addresses go through uintptr_t, as in cookie.h, so _FORTIFY_SOURCE's
 * object-size tracking leaves the layer's own bytes alone. */

#include <stdint.h>
#include <string.h>

struct owner_header {
	uint64_t charge;    /* the block's usable size: what its owner is charged */
	uint32_t offset;    /* pointer - block start */
	uint32_t handle;    /* the owner; last, nearest the pointer */
};

#define OWNER_HEADER_SIZE sizeof(struct owner_header)

static inline void owner_header_read(const void *p, struct owner_header *h) {
	memcpy(h, (const void *)((uintptr_t)p - OWNER_HEADER_SIZE), OWNER_HEADER_SIZE);
}

static inline void owner_header_write(void *p, const struct owner_header *h) {
	memcpy((void *)((uintptr_t)p - OWNER_HEADER_SIZE), h, OWNER_HEADER_SIZE);
}

static inline void owner_header_set_handle(void *p, uint32_t handle) {
	memcpy((void *)((uintptr_t)p - sizeof(uint32_t)), &handle, sizeof(handle));
}

#endif
