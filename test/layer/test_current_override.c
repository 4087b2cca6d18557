/* A host that defines skynet_current_handle itself (skynet's way) must be the
 * one asked for the owner of every new block. */

#include <pthread.h>

#include "skynet_malloc.h"
#include "test_util.h"

static __thread uint32_t host_current;
static int asked;

uint32_t skynet_current_handle(void) {
	asked++;
	return host_current;
}

static void host_definition_wins(void **state) {
	(void)state;
	host_current = 0x05000001u;
	skynet_mem_set_current(0x05000099u);   /* the layer's own value is ignored */
	void *p = skynet_malloc(100);
	assert_true(asked > 0);
	assert_int_equal(skynet_mem_owner(p), 0x05000001u);
	host_current = 0x05000002u;
	p = skynet_realloc(p, 5000);
	assert_int_equal(skynet_mem_owner(p), 0x05000002u);
	assert_int_equal(stat_of(0x05000002u).blocks, 1);
	assert_int_equal(stat_of(0x05000001u).blocks, 0);
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(0x05000099u, &st), -1);
	skynet_free(p);
}

/* Such a host never calls set_current: the layer publishes when the handle it
 * gets back changes, so a finished dispatch is visible to readers. */
static pthread_barrier_t switched, checked;

static void *worker(void *arg) {
	(void)arg;
	host_current = 0x05000010u;
	for (int i = 0; i < 10; i++)
		skynet_malloc(64);   /* kept: the check counts them */
	host_current = 0x05000011u;   /* next dispatch */
	skynet_free(skynet_malloc(8));
	pthread_barrier_wait(&switched);
	pthread_barrier_wait(&checked);
	return NULL;
}

static void handle_change_publishes(void **state) {
	(void)state;
	pthread_barrier_init(&switched, NULL, 2);
	pthread_barrier_init(&checked, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_barrier_wait(&switched);
	assert_int_equal(stat_of(0x05000010u).blocks, 10);
	pthread_barrier_wait(&checked);
	pthread_join(t, NULL);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_definition_wins),
		cmocka_unit_test(handle_change_publishes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
