/* Multi-thread stress: threads act as 1,200 services (handles colliding modulo
 * 65,536), allocate, free each other's blocks, realloc, transfer and exit.
 * A shadow ledger kept by the test must equal every record exactly at the end. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define THREADS 4
#define SERVICES 1200
#define POOL 4096
#define OPS_PER_THREAD 400000
#define STRIPES 64

struct shadow {
	int64_t bytes, blocks;
	uint64_t allocs, frees;
};

/* Each thread keeps its own deltas; they are summed after the join, so the
 * threads share only the pool, whose slots are guarded by striped locks. */
static struct shadow shadow[SERVICES];
static struct shadow thread_shadow[THREADS][SERVICES];
static atomic_int exited[SERVICES];
static atomic_int exits_left = SERVICES / 4;
static void *pool[POOL];
static int pool_owner[POOL];        /* service index owning pool[i] */
static pthread_mutex_t stripe[STRIPES];

static uint32_t handle_of(int s) {
	return ((uint32_t)s << 16) | 7u;   /* all equal modulo 65,536 */
}

static uint64_t next_rand(uint64_t *x) {
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Like an actor host: a service runs on one thread at a time (its lock held),
 * and only a running service exits. Messages go to services that never exit
 * (the upper half), as a host drops payloads for dead receivers itself. */
static pthread_mutex_t running[SERVICES];

static int enter_live(uint64_t *r) {
	for (;;) {
		int s = (int)(next_rand(r) % SERVICES);
		pthread_mutex_lock(&running[s]);
		if (!atomic_load(&exited[s]))
			return s;
		pthread_mutex_unlock(&running[s]);
	}
}

static int receiver(uint64_t *r) {
	return SERVICES / 2 + (int)(next_rand(r) % (SERVICES / 2));
}

static void *worker(void *arg) {
	int id = (int)(uintptr_t)arg;
	struct shadow *sh = thread_shadow[id];
	uint64_t r = (uint64_t)(id + 1) * 0x9e3779b97f4a7c15ull + 1;
	for (int op = 0; op < OPS_PER_THREAD; op++) {
		int me = enter_live(&r);
		skynet_mem_set_current(handle_of(me));
		int slot = (int)(next_rand(&r) % POOL);
		int kind = (int)(next_rand(&r) % 100);
		size_t n = (size_t)(next_rand(&r) % 2048);
		pthread_mutex_lock(&stripe[slot % STRIPES]);
		if (pool[slot] == NULL) {
			void *p = (kind < 5) ? skynet_memalign(64, n) : (kind < 10) ? skynet_calloc(1, n) : skynet_malloc(n);
			pool[slot] = p;
			pool_owner[slot] = me;
			sh[me].bytes += (int64_t)skynet_mem_block_charge(p);
			sh[me].blocks++;
			sh[me].allocs++;
		} else {
			int owner = pool_owner[slot];
			int64_t u = (int64_t)skynet_mem_block_charge(pool[slot]);
			if (kind < 50) {   /* free, by whichever service runs now */
				skynet_free(pool[slot]);
				pool[slot] = NULL;
				sh[owner].bytes -= u;
				sh[owner].blocks--;
				sh[owner].frees++;
			} else if (kind < 75) {   /* realloc moves the block to the caller */
				void *q = skynet_realloc(pool[slot], n + 1);
				pool[slot] = q;
				pool_owner[slot] = me;
				sh[owner].bytes -= u;
				sh[owner].blocks--;
				sh[owner].frees++;
				sh[me].bytes += (int64_t)skynet_mem_block_charge(q);
				sh[me].blocks++;
				sh[me].allocs++;
			} else if (kind < 98) {   /* a message buffer handed to another service */
				int to = receiver(&r);
				skynet_mem_transfer(pool[slot], handle_of(to));
				pool_owner[slot] = to;
				sh[owner].bytes -= u;
				sh[owner].blocks--;
				sh[to].bytes += u;
				sh[to].blocks++;
			} else if (me < SERVICES / 2 && atomic_fetch_sub(&exits_left, 1) > 0) {
				atomic_store(&exited[me], 1);
				/* the service exits with leftovers */
				struct skynet_mem_stat left;
				skynet_mem_service_exit(handle_of(me), &left);
				assert_int_equal(left.handle, handle_of(me));
				assert_int_equal(left.retired, 1);
			}
		}
		pthread_mutex_unlock(&stripe[slot % STRIPES]);
		/* publish only sometimes, so batches and evictions are exercised */
		if (kind % 7 == 0)
			skynet_mem_set_current(0);
		pthread_mutex_unlock(&running[me]);
	}
	return NULL;
}

static void sum_thread_shadows(void) {
	for (int t = 0; t < THREADS; t++)
		for (int s = 0; s < SERVICES; s++) {
			shadow[s].bytes += thread_shadow[t][s].bytes;
			shadow[s].blocks += thread_shadow[t][s].blocks;
			shadow[s].allocs += thread_shadow[t][s].allocs;
			shadow[s].frees += thread_shadow[t][s].frees;
		}
}

static void check_against_shadow(void) {
	int64_t bytes = 0, blocks = 0;
	uint64_t allocs = 0, frees = 0;
	size_t services = 0;
	for (int s = 0; s < SERVICES; s++) {
		struct skynet_mem_stat st;
		int found = skynet_mem_stat(handle_of(s), &st) == 0;
		int gone = atomic_load(&exited[s]);
		if (gone && shadow[s].bytes == 0 && shadow[s].blocks == 0) {
			assert_false(found);   /* drained exited services are reclaimed */
			allocs += shadow[s].allocs;   /* their history stays in the totals */
			frees += shadow[s].frees;
			continue;
		}
		if (shadow[s].allocs == 0 && !found)
			continue;
		assert_true(found);
		services++;
		assert_int_equal(st.bytes, shadow[s].bytes);
		assert_int_equal(st.blocks, shadow[s].blocks);
		assert_int_equal(st.allocs, shadow[s].allocs);
		assert_int_equal(st.frees, shadow[s].frees);
		assert_int_equal(st.retired, gone);
		bytes += shadow[s].bytes;
		blocks += shadow[s].blocks;
		allocs += shadow[s].allocs;
		frees += shadow[s].frees;
	}
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	assert_int_equal(t.bytes, bytes);
	assert_int_equal(t.blocks, blocks);
	assert_int_equal(t.allocs, allocs);
	assert_int_equal(t.frees, frees);
	assert_int_equal(t.services, services);
}

static void stress_matches_shadow_ledger(void **state) {
	(void)state;
	pthread_t t[THREADS];
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&stripe[i], NULL);
	for (int i = 0; i < SERVICES; i++)
		pthread_mutex_init(&running[i], NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	sum_thread_shadows();
	check_against_shadow();

	/* free everything left; every record must drain to zero */
	skynet_mem_set_current(handle_of(0));
	for (int i = 0; i < POOL; i++) {
		if (pool[i] == NULL)
			continue;
		int owner = pool_owner[i];
		shadow[owner].bytes -= (int64_t)skynet_mem_block_charge(pool[i]);
		shadow[owner].blocks--;
		shadow[owner].frees++;
		skynet_free(pool[i]);
		pool[i] = NULL;
	}
	skynet_mem_set_current(0);
	check_against_shadow();
	struct skynet_mem_totals tot;
	skynet_mem_totals(&tot);
	assert_int_equal(tot.bytes, 0);
	assert_int_equal(tot.blocks, 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stress_matches_shadow_ledger),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
