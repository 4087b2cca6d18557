#ifndef SKYNET_MEM_LARGE_OWNER_H
#define SKYNET_MEM_LARGE_OWNER_H

/* The owners of large blocks, kept beside them instead of in a trailing
 * cookie: a sharded hash table keyed by the block's address. A block of
 * LARGE_MIN usable bytes or more (jemalloc's large classes) has an entry here
 * from its allocation to its free and no cookie, so a power-of-two request of
 * 16 KiB or more is allocated and charged at exactly its own class. free
 * tells the two layouts apart by the usable size it looks up anyway.
 * Each block's entry is only touched by whoever holds the block; the shard
 * lock guards the table itself. */

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#ifdef SKYNET_MEM_USE_JEMALLOC
#define LARGE_MIN ((size_t)16 * 1024)
#else
/* glibc's classes step by 16 bytes: the cookie costs nothing worth a table. */
#define LARGE_MIN SIZE_MAX
#endif

static inline int block_is_large(size_t usable) {
	return usable >= LARGE_MIN;
}

/* Records p's owner: 0, or -1 when no memory is left for the entry. */
HIDDEN int large_owner_put(const void *p, uint32_t handle);
/* The owner of p; 0 when p has no entry (a large block the layer did not
 * make, or one freed since). */
HIDDEN uint32_t large_owner_get(const void *p);
/* Changes p's owner (an entry must exist). */
HIDDEN void large_owner_set(const void *p, uint32_t handle);
/* Removes p's entry and returns the owner it named. */
HIDDEN uint32_t large_owner_take(const void *p);
/* The shard locks, for fork.c (through block_locks). */
HIDDEN struct lock_group large_owner_locks(void);

#endif
