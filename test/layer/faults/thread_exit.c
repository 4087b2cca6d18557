/* A thread's last moments: allocations from key destructors that run after
 * the layer's own (exact counts, and a refused allocation there keeps no
 * reference to its service's record), cancellation acted on inside an
 * allocation (no delta lost), and allocations from atexit handlers. */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "faults.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define LATE 0x0c000001u      /* allocates from a late destructor */
#define REFUSED 0x0c000002u   /* limited: its allocation there is refused */
#define CANCELLED 0x0c000003u
#define AT_EXIT 0x0c000004u
#define ROUNDS 3
#define PER_ROUND 5

static pthread_key_t late_key;
static void *late_kept[ROUNDS];
static atomic_int late_rounds, late_refusals;

/* Created after the layer's key, so it runs after the ledger is gone; it
 * re-arms itself for further destructor rounds. */
static void late_destructor(void *v) {
	int round = atomic_fetch_add(&late_rounds, 1);
	skynet_mem_set_current(LATE);
	void *p[PER_ROUND];
	for (int i = 0; i < PER_ROUND; i++)
		p[i] = skynet_malloc(100);
	for (int i = 1; i < PER_ROUND; i++)
		skynet_free(p[i]);
	late_kept[round] = p[0];
	skynet_mem_set_current(REFUSED);
	errno = 0;
	void *q = skynet_malloc(4096);
	if (q == NULL && errno == ENOMEM)
		atomic_fetch_add(&late_refusals, 1);
	skynet_free(q);
	if ((uintptr_t)v > 1)
		pthread_setspecific(late_key, (void *)((uintptr_t)v - 1));
}

static void *late_thread(void *arg) {
	(void)arg;
	pthread_setspecific(late_key, (void *)(uintptr_t)ROUNDS);
	skynet_mem_set_current(LATE);
	skynet_free(skynet_malloc(10));
	return NULL;
}

static void late_destructors(void) {
	skynet_free(skynet_malloc(1));   /* the layer's key first */
	EXPECT(pthread_key_create(&late_key, late_destructor) == 0, "key");
	/* A limit needs a live record (a first allocation makes it). */
	uint32_t self = skynet_current_handle();
	skynet_mem_set_current(REFUSED);
	skynet_free(skynet_malloc(1));
	skynet_mem_set_current(self);
	EXPECT(skynet_mem_set_limit(REFUSED, 1000) == 0, "limit");
	pthread_t t;
	pthread_create(&t, NULL, late_thread, NULL);
	pthread_join(t, NULL);
	EXPECT(atomic_load(&late_rounds) == ROUNDS, "%d destructor rounds", atomic_load(&late_rounds));
	EXPECT(atomic_load(&late_refusals) == ROUNDS, "%d refusals", atomic_load(&late_refusals));
	struct skynet_mem_stat st;
	EXPECT(skynet_mem_stat(LATE, &st) == 0, "no record");
	EXPECT(st.allocs == 1 + ROUNDS * PER_ROUND && st.frees == 1 + ROUNDS * (PER_ROUND - 1),
		"allocs %llu frees %llu", (unsigned long long)st.allocs, (unsigned long long)st.frees);
	EXPECT(st.blocks == ROUNDS && st.bytes == ROUNDS * skynet_mem_block_charge(late_kept[0]),
		"blocks %zu bytes %zu", st.blocks, st.bytes);
	for (int i = 0; i < ROUNDS; i++)
		skynet_free(late_kept[i]);
	/* The refused service owns nothing: once exited, its record is reclaimed. */
	skynet_mem_service_exit(REFUSED, &st);
	EXPECT(st.blocks == 0 && st.bytes == 0, "refused service owns %zu blocks", st.blocks);
	EXPECT(skynet_mem_stat(REFUSED, &st) != 0, "the refused service's record was never reclaimed");
}

/* Cancellation is pending from the start; a delta publication that writes
 * the Lua heap warning (a cancellation point) must not lose deltas. */
static void *lua_heap;
static void *cancelled_thread(void *arg) {
	void **kept = arg;
	skynet_mem_set_current(CANCELLED);
	for (int i = 0; i < 4; i++)
		kept[i] = skynet_malloc(64);
	pthread_cancel(pthread_self());
	/* Past the 32 MiB warning level and past the batch: published at once. */
	lua_heap = skynet_mem_lua_alloc((void *)(uintptr_t)CANCELLED, NULL, 0, (size_t)40 << 20);
	pthread_testcancel();
	return NULL;
}

static void cancellation(void) {
	void *kept[4];
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, cancelled_thread, kept);
	pthread_join(t, &ret);
	EXPECT(ret == PTHREAD_CANCELED, "not cancelled");
	struct skynet_mem_stat st;
	EXPECT(skynet_mem_stat(CANCELLED, &st) == 0, "no record");
	EXPECT(lua_heap != NULL, "the Lua block was lost with the cancelled thread");
	EXPECT(st.blocks == 4 && st.allocs == 5 && st.frees == 0,
		"blocks %zu allocs %llu (deltas lost to the cancellation)", st.blocks, (unsigned long long)st.allocs);
	EXPECT(st.lua_bytes >= (size_t)40 << 20, "lua %zu", st.lua_bytes);
	for (int i = 0; i < 4; i++)
		skynet_free(kept[i]);
	skynet_mem_lua_alloc((void *)(uintptr_t)CANCELLED, lua_heap, (size_t)40 << 20, 0);
	EXPECT(skynet_mem_stat(CANCELLED, &st) == 0 && st.blocks == 0 && st.bytes == 0 && st.lua_bytes == 0,
		"left blocks %zu lua %zu", st.blocks, st.lua_bytes);
}

static void at_exit(void) {
	skynet_mem_set_current(AT_EXIT);
	void *p = skynet_malloc(200);
	struct skynet_mem_stat st;
	if (skynet_mem_stat(AT_EXIT, &st) != 0 || st.blocks != 1 || st.bytes != skynet_mem_block_charge(p)) {
		fprintf(stderr, "FAIL: atexit allocation not counted\n");
		_exit(1);
	}
	skynet_free(p);
	if (skynet_mem_stat(AT_EXIT, &st) != 0 || st.blocks != 0 || st.allocs != 1 || st.frees != 1) {
		fprintf(stderr, "FAIL: atexit free not counted\n");
		_exit(1);
	}
	printf("PASS\n");
}

int main(void) {
	late_destructors();
	cancellation();
	atexit(at_exit);
	return 0;
}
