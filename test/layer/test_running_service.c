/* The running service's changes before its slot is at hand (ledger_acc in
 * skynet-mem/src/ledger.h): every path out of it keeps the count exact, a
 * limit set on the running service applies at once, and a service that ran
 * is known once its dispatch ended. */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "skynet_malloc.h"
#include "test_util.h"

/* A limit set by the running service on itself, in its first dispatch:
 * accepted (its record is made then), and growth past it refused at once. */
static void limit_on_itself_in_its_first_dispatch(void **state) {
	(void)state;
	const uint32_t h = 0x03000001u;
	skynet_mem_set_current(h);
	void *p = skynet_malloc(1000);
	size_t used = skynet_mem_block_charge(p);
	assert_int_equal(skynet_mem_set_limit(h, used + 100), 0);
	errno = 0;
	assert_null(skynet_malloc(4000));
	assert_int_equal(errno, ENOMEM);
	skynet_free(p);
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(h).bytes, 0);
	assert_int_equal(stat_of(h).allocs, 1);
	assert_int_equal(skynet_mem_set_limit(h, 0), 0);
}

struct probe {
	uint32_t handle;
	int found;
	struct skynet_mem_stat st;
};

static void *stat_elsewhere(void *arg) {
	struct probe *pr = arg;
	pr->found = skynet_mem_stat(pr->handle, &pr->st) == 0;
	return NULL;
}

static struct probe probe_from_another_thread(uint32_t handle) {
	struct probe pr = { .handle = handle };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stat_elsewhere, &pr), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	return pr;
}

/* Another thread knows a service from the end of its first dispatch; a
 * dispatch that left it grown is published when it is left (the peak too). */
static void known_when_its_dispatch_ends(void **state) {
	(void)state;
	const uint32_t a = 0x03000010u, b = 0x03000011u;
	skynet_mem_set_current(a);
	void *p = skynet_malloc(5000);
	size_t u = skynet_mem_block_charge(p);
	skynet_mem_set_current(b);
	struct probe pr = probe_from_another_thread(a);
	assert_true(pr.found);
	assert_int_equal(pr.st.bytes, u);
	assert_int_equal(pr.st.peak, u);
	skynet_free(p);   /* b frees a's block */
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(a).bytes, 0);
	assert_int_equal(stat_of(a).frees, 1);
}

/* Transfers out of and into the running service, and a free of its block by
 * another service, before and after its slot took over. */
static void transfers_and_frees_around_the_running_service(void **state) {
	(void)state;
	const uint32_t a = 0x03000020u, b = 0x03000021u;
	skynet_mem_set_current(b);
	void *from_b = skynet_malloc(300);
	skynet_mem_set_current(a);
	void *m1 = skynet_malloc(700);
	size_t u1 = skynet_mem_block_charge(m1);
	assert_int_equal(skynet_mem_transfer(m1, b), 0);          /* out of the running service */
	assert_int_equal(skynet_mem_transfer(from_b, a), 0);      /* into it */
	size_t ub = skynet_mem_block_charge(from_b);
	void *big = skynet_malloc(100000);                        /* a large block: the slot takes over */
	size_t ubig = skynet_mem_block_charge(big);
	void *m2 = skynet_malloc(200);
	skynet_mem_set_current(b);
	skynet_free(m2);                                          /* b frees a's block */
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(a).bytes, ub + ubig);
	assert_int_equal(stat_of(a).blocks, 2);
	assert_int_equal(stat_of(b).bytes, u1);
	assert_int_equal(stat_of(b).blocks, 1);
	skynet_free(m1);
	skynet_free(from_b);
	skynet_free(big);
	assert_int_equal(stat_of(a).bytes, 0);
	assert_int_equal(stat_of(b).bytes, 0);
}

/* Past the batch inside one dispatch: the changes move to the slot and on to
 * the record, none lost, and the totals add up. */
static void past_the_batch_in_one_dispatch(void **state) {
	(void)state;
	const uint32_t h = 0x03000030u;
	enum { N = 400 };
	void *p[N];
	size_t sum = 0;
	skynet_mem_set_current(h);
	for (int i = 0; i < N; i++) {
		p[i] = skynet_malloc(1000);
		sum += skynet_mem_block_charge(p[i]);
	}
	assert_true(sum > 2 * 64 * 1024);
	struct probe pr = probe_from_another_thread(h);   /* past 64 KiB: published meanwhile */
	assert_true(pr.found);
	assert_true(pr.st.bytes + 64 * 1024 >= sum);
	for (int i = 0; i < N; i++)
		skynet_free(p[i]);
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(h).bytes, 0);
	assert_int_equal(stat_of(h).allocs, N);
	assert_int_equal(stat_of(h).frees, N);
}

/* A thread that exits while a service runs: its changes reach the record. */
static void *run_and_exit(void *arg) {
	skynet_mem_set_current(*(uint32_t *)arg);
	return skynet_malloc(3000);   /* left to the service: the thread's exit must not lose it */
}

static void thread_exit_while_running(void **state) {
	(void)state;
	uint32_t h = 0x03000040u;
	pthread_t t;
	void *p;
	assert_int_equal(pthread_create(&t, NULL, run_and_exit, &h), 0);
	assert_int_equal(pthread_join(t, &p), 0);
	assert_int_equal(stat_of(h).bytes, skynet_mem_block_charge(p));
	assert_int_equal(stat_of(h).blocks, 1);
	skynet_free(p);
	assert_int_equal(stat_of(h).bytes, 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_on_itself_in_its_first_dispatch),
		cmocka_unit_test(known_when_its_dispatch_ends),
		cmocka_unit_test(transfers_and_frees_around_the_running_service),
		cmocka_unit_test(past_the_batch_in_one_dispatch),
		cmocka_unit_test(thread_exit_while_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
