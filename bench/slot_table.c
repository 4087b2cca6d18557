/* See slot_table.h. */

#include <stdatomic.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "slot_table.h"

#define SLOTS 0x10000

struct slot {
	_Atomic uint32_t handle;
	_Atomic int64_t allocated;
};

static struct slot table[SLOTS];
static _Atomic int64_t used_memory, memory_block;
static __thread uint32_t current;

void slot_set_current(uint32_t handle) {
	current = handle;
}

/* The slot of a handle, claiming it when free or emptied; NULL when another
 * handle holds it. */
static struct slot *slot_of(uint32_t handle) {
	struct slot *s = &table[handle & (SLOTS - 1)];
	uint32_t old = atomic_load(&s->handle);
	if (old == 0 || atomic_load(&s->allocated) <= 0) {
		atomic_compare_exchange_strong(&s->handle, &old, handle);
		if (old != handle && atomic_load(&s->handle) != handle)
			return NULL;
	}
	return atomic_load(&s->handle) == handle ? s : NULL;
}

static void account(uint32_t handle, int64_t bytes, int64_t blocks) {
	atomic_fetch_add(&used_memory, bytes);
	atomic_fetch_add(&memory_block, blocks);
	struct slot *s = slot_of(handle);
	if (s)
		atomic_fetch_add(&s->allocated, bytes);
}

void *slot_malloc(size_t n) {
	void *p = mallocx(n + sizeof(uint32_t), 0);
	if (p == NULL)
		return NULL;
	size_t u = sallocx(p, 0);
	uint32_t h = current;
	/* through uintptr_t: _FORTIFY_SOURCE=3 knows only n + 4 bytes are ours */
	memcpy((void *)((uintptr_t)p + u - sizeof(h)), &h, sizeof(h));
	account(h, (int64_t)u, 1);
	return p;
}

void slot_free(void *p) {
	if (p == NULL)
		return;
	size_t u = sallocx(p, 0);
	uint32_t h;
	memcpy(&h, (void *)((uintptr_t)p + u - sizeof(h)), sizeof(h));
	account(h, -(int64_t)u, -1);
	dallocx(p, 0);
}
