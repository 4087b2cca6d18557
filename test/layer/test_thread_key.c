/* With every pthread key taken before the layer's first allocation, the layer
 * cannot give a thread its ledger (or quarantine) a destructor: it must then
 * publish each change at once, so another thread reads exact counters, and it
 * must never write under a key it does not own. Also: "noop" as the only
 * argument exits at once (run_options_help.sh loads the library through it). */

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define MAX_KEYS 4096
static pthread_key_t keys[MAX_KEYS];
static int nkeys;

static void take_every_key(void) {
	while (nkeys < MAX_KEYS && pthread_key_create(&keys[nkeys], NULL) == 0)
		nkeys++;
}

static struct skynet_mem_stat seen;
static uint32_t seen_handle;

static void *read_stat(void *arg) {
	(void)arg;
	assert_int_equal(skynet_mem_stat(seen_handle, &seen), 0);
	return NULL;
}

/* Another thread's read does not publish this thread's changes: only the
 * direct path makes them visible to it. */
static struct skynet_mem_stat stat_from_other_thread(uint32_t handle) {
	pthread_t t;
	seen_handle = handle;
	assert_int_equal(pthread_create(&t, NULL, read_stat, NULL), 0);
	pthread_join(t, NULL);
	return seen;
}

static void *alloc_and_exit(void *arg) {
	skynet_mem_set_current(0x09000002u);
	void **out = arg;
	*out = skynet_malloc(200);
	skynet_free(skynet_malloc(50));
	return NULL;
}

static void no_key_publishes_at_once(void **state) {
	(void)state;
	assert_true(nkeys > 0);
	skynet_mem_set_current(0x09000001u);
	void *p = skynet_malloc(100);
	assert_non_null(p);
	struct skynet_mem_stat st = stat_from_other_thread(0x09000001u);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.bytes, skynet_mem_block_charge(p));
	skynet_free(p);
	st = stat_from_other_thread(0x09000001u);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.allocs, 1);
	assert_int_equal(st.frees, 1);
	/* A thread that exits without a destructor loses nothing. */
	pthread_t t;
	void *kept = NULL;
	assert_int_equal(pthread_create(&t, NULL, alloc_and_exit, &kept), 0);
	pthread_join(t, NULL);
	st = stat_from_other_thread(0x09000002u);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.bytes, skynet_mem_block_charge(kept));
	assert_int_equal(st.allocs, 2);
	skynet_free(kept);
	/* None of the keys this test owns got a value from the layer. */
	for (int i = 0; i < nkeys; i++)
		assert_null(pthread_getspecific(keys[i]));
}

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	take_every_key();   /* before any allocation of the layer */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_key_publishes_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
