/* The large blocks' owner table (large_owner.h): 64 shards, each an
 * open-addressing table with linear probing, grown by doubling past 1/2 load
 * (short probe runs: a few entries per lookup),
 * entries removed by shifting their successors back (no tombstones). */

#include <string.h>

#include "backend.h"
#include "large_owner.h"

#define SHARDS 64
#define FIRST_CAPACITY 64

struct entry {
	uintptr_t addr;   /* 0: empty */
	uint32_t handle;
};

struct shard {
	struct spin_lock lock;
	size_t mask;            /* capacity - 1; 0 before the first entry */
	size_t count;
	struct entry *slot;
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];

/* Large blocks start on a page, or a cache line into one (jemalloc's cache
 * oblivious offset): mix every bit above the line. */
static uint64_t addr_hash(uintptr_t a) {
	uint64_t h = a >> 6;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct shard *shard_of(uint64_t h) {
	return &shards[h >> 58];
}

/* The slot holding addr, or the empty slot where it would go. */
static struct entry *probe(struct shard *s, uint64_t h, uintptr_t addr) {
	size_t i = h & s->mask;
	while (s->slot[i].addr != 0 && s->slot[i].addr != addr)
		i = (i + 1) & s->mask;
	return &s->slot[i];
}

static int grow_locked(struct shard *s) {
	size_t cap = s->mask ? (s->mask + 1) * 2 : FIRST_CAPACITY;
	struct entry *slot = backend_raw_alloc(cap * sizeof(*slot));   /* zeroed */
	if (slot == NULL)
		return -1;
	struct entry *old = s->slot;
	size_t oldcap = s->mask ? s->mask + 1 : 0;
	s->slot = slot;
	s->mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].addr)
			*probe(s, addr_hash(old[i].addr), old[i].addr) = old[i];
	backend_raw_free(old);
	return 0;
}

int large_owner_put(const void *p, uint32_t handle) {
	uintptr_t addr = (uintptr_t)p;
	uint64_t h = addr_hash(addr);
	struct shard *s = shard_of(h);
	int ok = 0;
	spin_lock(&s->lock);
	/* Keep a free slot at all times: probes end on one. */
	if ((s->count + 1) * 2 > s->mask + 1 && grow_locked(s) != 0 && s->count + 1 > s->mask)
		ok = -1;
	if (ok == 0) {
		struct entry *e = probe(s, h, addr);
		if (e->addr == 0)
			s->count++;
		e->addr = addr;
		e->handle = handle;
	}
	spin_unlock(&s->lock);
	return ok;
}

uint32_t large_owner_get(const void *p) {
	uintptr_t addr = (uintptr_t)p;
	uint64_t h = addr_hash(addr);
	struct shard *s = shard_of(h);
	uint32_t handle = 0;
	spin_lock(&s->lock);
	struct entry *e = s->mask ? probe(s, h, addr) : NULL;
	if (e && e->addr == addr)   /* an emptied slot keeps a stale handle */
		handle = e->handle;
	spin_unlock(&s->lock);
	return handle;
}

void large_owner_set(const void *p, uint32_t handle) {
	uintptr_t addr = (uintptr_t)p;
	uint64_t h = addr_hash(addr);
	struct shard *s = shard_of(h);
	spin_lock(&s->lock);
	if (s->mask) {
		struct entry *e = probe(s, h, addr);
		if (e->addr == addr)
			e->handle = handle;
	}
	spin_unlock(&s->lock);
}

uint32_t large_owner_take(const void *p) {
	uintptr_t addr = (uintptr_t)p;
	uint64_t h = addr_hash(addr);
	struct shard *s = shard_of(h);
	uint32_t handle = 0;
	spin_lock(&s->lock);
	struct entry *e = s->mask ? probe(s, h, addr) : NULL;
	if (e && e->addr == addr) {
		handle = e->handle;
		s->count--;
		/* Backward shift: move up every later entry of the run whose home
		 * does not lie cyclically in (hole, its slot]. */
		size_t hole = (size_t)(e - s->slot), i = hole;
		for (;;) {
			i = (i + 1) & s->mask;
			if (s->slot[i].addr == 0)
				break;
			size_t home = addr_hash(s->slot[i].addr) & s->mask;
			if (((i - home) & s->mask) >= ((i - hole) & s->mask)) {
				s->slot[hole] = s->slot[i];
				hole = i;
			}
		}
		s->slot[hole] = (struct entry){ 0 };
	}
	spin_unlock(&s->lock);
	return handle;
}

struct lock_group large_owner_locks(void) {
	return (struct lock_group){ &shards[0].lock, SHARDS, sizeof(shards[0]) };
}
