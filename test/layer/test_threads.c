/* The counter design: thread-local deltas published at set_current, at thread
 * exit and past the batch bound; cross-thread frees. */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define BLOCKS 1024
#define BLOCK 1000

struct worker {
	uint32_t handle;
	int publish;             /* call set_current(0) after allocating */
	void *blocks[BLOCKS];
	size_t charged;
	pthread_barrier_t *allocated, *checked;
};

static void *allocate_then_wait(void *arg) {
	struct worker *w = arg;
	skynet_mem_set_current(w->handle);
	for (int i = 0; i < BLOCKS; i++) {
		w->blocks[i] = skynet_malloc(BLOCK);
		w->charged += skynet_mem_block_charge(w->blocks[i]);
	}
	if (w->publish)
		skynet_mem_set_current(0);
	pthread_barrier_wait(w->allocated);
	pthread_barrier_wait(w->checked);
	return NULL;
}

static void run_worker(struct worker *w, void (*check)(struct worker *)) {
	pthread_barrier_t a, c;
	pthread_barrier_init(&a, NULL, 2);
	pthread_barrier_init(&c, NULL, 2);
	w->allocated = &a;
	w->checked = &c;
	pthread_t t;
	pthread_create(&t, NULL, allocate_then_wait, w);
	pthread_barrier_wait(&a);
	check(w);
	pthread_barrier_wait(&c);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&a);
	pthread_barrier_destroy(&c);
}

static void exact_after_publish(struct worker *w) {
	struct skynet_mem_stat st = stat_of(w->handle);
	assert_int_equal(st.bytes, w->charged);
	assert_int_equal(st.blocks, BLOCKS);
}

static void within_batch_bound(struct worker *w) {
	/* the worker is still "running" its service: reads may lag by one batch */
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(w->handle, &st), 0);
	assert_true(st.bytes <= w->charged);
	assert_true(st.bytes + 64 * 1024 + 2048 >= w->charged);
}

static void set_current_publishes(void **state) {
	(void)state;
	struct worker *w = calloc(1, sizeof(*w));
	w->handle = 0x02000001u;
	w->publish = 1;
	run_worker(w, exact_after_publish);
	for (int i = 0; i < BLOCKS; i++)
		skynet_free(w->blocks[i]);   /* cross-thread frees, charged to the owner */
	assert_int_equal(stat_of(w->handle).bytes, 0);
	assert_int_equal(stat_of(w->handle).frees, BLOCKS);
	free(w);
}

static void pending_deltas_stay_within_the_batch_bound(void **state) {
	(void)state;
	struct worker *w = calloc(1, sizeof(*w));
	w->handle = 0x02000002u;
	run_worker(w, within_batch_bound);
	/* thread exit published the rest */
	exact_after_publish(w);
	for (int i = 0; i < BLOCKS; i++)
		skynet_free(w->blocks[i]);
	assert_int_equal(stat_of(w->handle).blocks, 0);
	free(w);
}

static void *free_after_exit_flush(void *arg) {
	void **blocks = arg;
	skynet_mem_set_current(0x02000004u);
	for (int i = 0; i < 16; i++)
		skynet_free(blocks[i]);
	return NULL;   /* never calls set_current again: thread exit must publish */
}

static void thread_exit_publishes_frees(void **state) {
	(void)state;
	void *blocks[16];
	skynet_mem_set_current(0x02000003u);
	for (int i = 0; i < 16; i++)
		blocks[i] = skynet_malloc(64);
	skynet_mem_set_current(0);
	pthread_t t;
	pthread_create(&t, NULL, free_after_exit_flush, blocks);
	pthread_join(t, NULL);
	struct skynet_mem_stat st = stat_of(0x02000003u);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.frees, 16);
}

/* A thread-specific destructor that runs after the layer's own must still be
 * accounted: these blocks are freed by another key's destructor. */
static pthread_key_t late_key;

static void late_destructor(void *p) {
	skynet_free(p);
}

static void *alloc_with_late_free(void *arg) {
	(void)arg;
	skynet_mem_set_current(0x02000005u);
	void *p = skynet_malloc(128);
	skynet_mem_set_current(0);
	/* set after the layer's key exists, so it is destroyed later */
	void *q = skynet_malloc(64);
	pthread_setspecific(late_key, q);
	skynet_free(p);
	return NULL;
}

static void frees_in_late_destructors_are_counted(void **state) {
	(void)state;
	skynet_free(skynet_malloc(1));   /* the layer's key exists first */
	pthread_key_create(&late_key, late_destructor);
	struct skynet_mem_stat before;
	skynet_mem_set_current(0);
	int known = skynet_mem_stat(0, &before) == 0;
	pthread_t t;
	pthread_create(&t, NULL, alloc_with_late_free, NULL);
	pthread_join(t, NULL);
	struct skynet_mem_stat after = stat_of(0);
	assert_int_equal(after.blocks, known ? before.blocks : 0);
	assert_int_equal(stat_of(0x02000005u).blocks, 0);
	pthread_key_delete(late_key);
}

/* After the layer's own destructor ran, a refused or resizing call must not
 * leave a reference behind: the exited service's record is reclaimed. */
static pthread_key_t dying_key;

static void dying_destructor(void *arg) {
	(void)arg;
	skynet_mem_set_current(0x02000007u);
	void *p = skynet_malloc(100);
	p = skynet_realloc(p, 300);
	skynet_mem_set_limit(0x02000007u, 1);
	assert_null(skynet_malloc(1000));   /* refused at the limit */
	skynet_mem_set_limit(0x02000007u, 0);
	skynet_free(p);
}

static void *arm_dying_key(void *arg) {
	(void)arg;
	skynet_free(skynet_malloc(1));
	pthread_setspecific(dying_key, (void *)1);
	return NULL;
}

static void exiting_thread_keeps_no_references(void **state) {
	(void)state;
	skynet_free(skynet_malloc(1));   /* the layer's key exists first */
	pthread_key_create(&dying_key, dying_destructor);
	pthread_t t;
	pthread_create(&t, NULL, arm_dying_key, NULL);
	pthread_join(t, NULL);
	struct skynet_mem_stat left;
	skynet_mem_service_exit(0x02000007u, &left);
	assert_int_equal(left.blocks, 0);
	assert_int_equal(left.allocs, 2);
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(0x02000007u, &st), -1);   /* reclaimed */
	pthread_key_delete(dying_key);
}

/* The bound on what reads may miss is per thread, whatever the number of
 * services a thread has touched: LEDGER_BATCH (skynet-mem/src/ledger.h),
 * 8 slots of at most 2 x 64 KiB. */
#define READ_BOUND (1024 * 1024)
#define OWNERS 48
struct spread {
	void *blocks[OWNERS][8];
	pthread_barrier_t freed, checked;
};

static void *free_for_many_owners(void *arg) {
	struct spread *sp = arg;
	skynet_mem_set_current(0x02000100u);
	for (int o = 0; o < OWNERS; o++)
		for (int i = 0; i < 8; i++)
			skynet_free(sp->blocks[o][i]);
	pthread_barrier_wait(&sp->freed);   /* still "running": nothing forced out */
	pthread_barrier_wait(&sp->checked);
	return NULL;
}

static void pending_bound_is_per_thread(void **state) {
	(void)state;
	struct spread *sp = calloc(1, sizeof(*sp));
	for (int o = 0; o < OWNERS; o++) {
		skynet_mem_set_current(0x02000200u + (uint32_t)o);
		for (int i = 0; i < 8; i++)
			sp->blocks[o][i] = skynet_malloc(7000);   /* 56 KiB per owner, 2.6 MiB in all */
	}
	skynet_mem_set_current(0);
	pthread_barrier_init(&sp->freed, NULL, 2);
	pthread_barrier_init(&sp->checked, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, free_for_many_owners, sp);
	pthread_barrier_wait(&sp->freed);
	size_t still = 0;
	for (int o = 0; o < OWNERS; o++)
		still += stat_of(0x02000200u + (uint32_t)o).bytes;
	assert_true(still <= READ_BOUND);
	pthread_barrier_wait(&sp->checked);
	pthread_join(t, NULL);
	for (int o = 0; o < OWNERS; o++)
		assert_int_equal(stat_of(0x02000200u + (uint32_t)o).bytes, 0);
	pthread_barrier_destroy(&sp->freed);
	pthread_barrier_destroy(&sp->checked);
	free(sp);
}

/* The process totals stay exact with more threads publishing at once than
 * there are lines a thread keeps to itself (record.c's TOTAL_OWN, 64): the
 * rest share lines; and again after they exit, when a second wave takes the
 * lines given back. */
#define WAVE 96
#define ROUNDS 200

struct waver {
	uint32_t handle;
	pthread_barrier_t *start;
	void *kept[ROUNDS];
	size_t charged;
};

static void *publish_rounds(void *arg) {
	struct waver *w = arg;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < ROUNDS; i++) {
		skynet_mem_set_current(w->handle);
		void *p = skynet_malloc(24);
		w->kept[i] = skynet_malloc(100 + (size_t)i);
		w->charged += skynet_mem_block_charge(w->kept[i]);
		skynet_free(p);
		skynet_mem_set_current(0);   /* a publication each round */
	}
	return NULL;
}

static void totals_exact_past_the_own_lines(void **state) {
	(void)state;
	static struct waver w[WAVE];
	for (int wave = 0; wave < 2; wave++) {
		struct skynet_mem_totals before, after;
		skynet_mem_totals(&before);
		pthread_barrier_t start;
		pthread_barrier_init(&start, NULL, WAVE);
		pthread_t t[WAVE];
		size_t charged = 0;
		for (int i = 0; i < WAVE; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].handle = 0x03000000u + (uint32_t)(wave * WAVE + i);
			w[i].start = &start;
			assert_int_equal(pthread_create(&t[i], NULL, publish_rounds, &w[i]), 0);
		}
		for (int i = 0; i < WAVE; i++) {
			pthread_join(t[i], NULL);
			charged += w[i].charged;
		}
		pthread_barrier_destroy(&start);
		skynet_mem_totals(&after);
		assert_int_equal(after.allocs - before.allocs, (uint64_t)WAVE * ROUNDS * 2);
		assert_int_equal(after.frees - before.frees, (uint64_t)WAVE * ROUNDS);
		assert_int_equal(after.blocks - before.blocks, (size_t)WAVE * ROUNDS);
		assert_int_equal(after.bytes - before.bytes, charged);
		skynet_mem_set_current(0x03ffff00u);
		for (int i = 0; i < WAVE; i++) {
			for (int r = 0; r < ROUNDS; r++)
				skynet_free(w[i].kept[r]);
			skynet_mem_service_exit(w[i].handle, NULL);
		}
		skynet_mem_set_current(0);
		skynet_mem_totals(&after);
		assert_int_equal(after.bytes, before.bytes);
		assert_int_equal(after.blocks, before.blocks);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_current_publishes),
		cmocka_unit_test(pending_deltas_stay_within_the_batch_bound),
		cmocka_unit_test(thread_exit_publishes_frees),
		cmocka_unit_test(frees_in_late_destructors_are_counted),
		cmocka_unit_test(exiting_thread_keeps_no_references),
		cmocka_unit_test(pending_bound_is_per_thread),
		cmocka_unit_test(totals_exact_past_the_own_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
