/* One thread running 20,000 services (its ledger at full size; past 20,480
 * a new service evicts one first, which test_ledger_model covers), switching
 * between them round-robin with transfers between neighbours: every record
 * stays exact, and records of exited services are reclaimed. */

#include <pthread.h>
#include <stdlib.h>

#include "skynet_malloc.h"
#include "test_util.h"

#define SERVICES 20000   /* more costs minutes in the check build */
#define ROUNDS 3
#define BASE 0x0d000000u

static uint32_t handle_of(int i) {
	return BASE + (uint32_t)i * 7u;   /* spread, as skynet's handles are not */
}

static void round_robin_past_the_table(void **state) {
	(void)state;
	void **held = calloc(SERVICES, sizeof(void *));
	size_t *charged = calloc(SERVICES, sizeof(size_t));
	size_t *blocks = calloc(SERVICES, sizeof(size_t));
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < SERVICES; i++) {
			skynet_mem_set_current(handle_of(i));
			void *scratch = skynet_malloc(100 + (size_t)i % 300);
			void *msg = skynet_malloc(40 + (size_t)r * 8);
			skynet_free(scratch);
			int to = (i + 1) % SERVICES;   /* a reply for the next service */
			assert_int_equal(skynet_mem_transfer(msg, handle_of(to)), 0);
			if (held[to]) {   /* the next service's previous reply: freed by us */
				charged[to] -= skynet_mem_block_charge(held[to]);
				blocks[to]--;
				skynet_free(held[to]);
			}
			held[to] = msg;
			charged[to] += skynet_mem_block_charge(msg);
			blocks[to]++;
		}
	skynet_mem_set_current(0);
	for (int i = 0; i < SERVICES; i++) {
		struct skynet_mem_stat st = stat_of(handle_of(i));
		assert_int_equal(st.bytes, charged[i]);
		assert_int_equal(st.blocks, blocks[i]);
		assert_int_equal(st.allocs, 2 * ROUNDS);
		assert_int_equal(st.frees, ROUNDS + (ROUNDS - 1));
	}
	/* Exits with leftovers, then late frees: each record is reclaimed. */
	for (int i = 0; i < SERVICES; i++) {
		struct skynet_mem_stat left;
		skynet_mem_service_exit(handle_of(i), &left);
		assert_int_equal(left.bytes, charged[i]);
	}
	skynet_mem_set_current(0x0dffffffu);
	for (int i = 0; i < SERVICES; i++)
		skynet_free(held[i]);
	skynet_mem_set_current(0);
	struct skynet_mem_stat st;
	for (int i = 0; i < SERVICES; i++)
		assert_int_equal(skynet_mem_stat(handle_of(i), &st), -1);
	free(held);
	free(charged);
	free(blocks);
}

/* Another thread's ledger holds slots of services that exit: at its next
 * flush it lets go of them, by the log of exits (a few), or by walking its
 * table (more exits than the log keeps). Then the exited records, drained by
 * frees on this thread, are reclaimed: a slot still held would keep each. */
#define HOLDER_BASE 0x0e000000u

struct holder {
	int n;
	void **blocks;
	pthread_barrier_t claimed, exited, flushed;
};

static void *holder_run(void *arg) {
	struct holder *h = arg;
	for (int i = 0; i < h->n; i++) {
		skynet_mem_set_current(HOLDER_BASE + (uint32_t)i);
		h->blocks[i] = skynet_malloc(64);
	}
	skynet_mem_set_current(0);
	pthread_barrier_wait(&h->claimed);
	pthread_barrier_wait(&h->exited);   /* the main thread made them exit */
	skynet_mem_flush();
	pthread_barrier_wait(&h->flushed);
	pthread_barrier_wait(&h->exited);   /* checked: the ledger may go */
	return NULL;
}

static void exits_seen_by_another_thread(int n) {
	struct holder h = { .n = n, .blocks = calloc((size_t)n, sizeof(void *)) };
	pthread_barrier_init(&h.claimed, NULL, 2);
	pthread_barrier_init(&h.exited, NULL, 2);
	pthread_barrier_init(&h.flushed, NULL, 2);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, holder_run, &h), 0);
	pthread_barrier_wait(&h.claimed);
	for (int i = 0; i < n; i++)
		skynet_mem_service_exit(HOLDER_BASE + (uint32_t)i, NULL);
	pthread_barrier_wait(&h.exited);
	pthread_barrier_wait(&h.flushed);
	skynet_mem_set_current(0x0dfffffeu);
	for (int i = 0; i < n; i++)
		skynet_free(h.blocks[i]);
	skynet_mem_set_current(0);
	struct skynet_mem_stat st;
	for (int i = 0; i < n; i++)
		assert_int_equal(skynet_mem_stat(HOLDER_BASE + (uint32_t)i, &st), -1);
	pthread_barrier_wait(&h.exited);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_barrier_destroy(&h.claimed);
	pthread_barrier_destroy(&h.exited);
	pthread_barrier_destroy(&h.flushed);
	free(h.blocks);
}

static void exits_by_the_log(void **state) {
	(void)state;
	exits_seen_by_another_thread(300);
}

static void exits_past_the_log(void **state) {
	(void)state;
	exits_seen_by_another_thread(3000);   /* more than the 1,024 the log keeps */
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_robin_past_the_table),
		cmocka_unit_test(exits_by_the_log),
		cmocka_unit_test(exits_past_the_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
