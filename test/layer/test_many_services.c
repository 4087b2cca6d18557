/* One thread running 20,000 services (its ledger at full size; past 20,480
 * a new service evicts one first, which test_ledger_model covers), switching
 * between them round-robin with transfers between neighbours: every record
 * stays exact, and records of exited services are reclaimed. */

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

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_robin_past_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
