/* A view's reader of the limit crossings (skynet_mem_limit_events_since):
 * it takes nothing from the host's reader, follows its own cursor, says what
 * it lost past the ring; and the count of refused allocations. */

#include <stdlib.h>

#include "skynet_malloc.h"
#include "test_util.h"

static size_t used_of(uint32_t h) {
	struct skynet_mem_stat st = stat_of(h);
	return st.bytes + st.lua_bytes;
}

/* One refused crossing of a fresh service h (two refusals: the crossing and
 * a retry within it). */
static void cross(uint32_t h) {
	skynet_mem_set_current(h);
	void *p = skynet_malloc(16);
	assert_int_equal(skynet_mem_set_limit(h, used_of(h)), 0);
	assert_null(skynet_malloc(4096));
	assert_null(skynet_malloc(4096));
	skynet_free(p);
	skynet_mem_set_limit(h, 0);
	skynet_mem_set_current(0);
}

static void a_second_reader_takes_nothing(void **state) {
	(void)state;
	uint64_t cursor = 0, lost = 99, refused = skynet_mem_limit_refusals();
	struct skynet_mem_limit_event ev[8];
	assert_int_equal(skynet_mem_limit_events_since(&cursor, ev, 8, &lost), 0);
	assert_int_equal(lost, 0);
	cross(0x04000001u);
	assert_int_equal(skynet_mem_limit_refusals(), refused + 2);
	assert_int_equal(skynet_mem_limit_events_since(&cursor, ev, 8, &lost), 1);
	assert_int_equal(ev[0].handle, 0x04000001u);
	assert_int_equal(ev[0].refused, 1);
	assert_int_equal(skynet_mem_limit_events_since(&cursor, ev, 8, NULL), 0);   /* read: not again */
	/* the host's reader still has it */
	struct skynet_mem_limit_event one;
	assert_int_equal(skynet_mem_limit_event(&one, NULL), 1);
	assert_int_equal(one.handle, 0x04000001u);
	/* and a crossing the host took first is still the view's */
	cross(0x04000002u);
	assert_int_equal(skynet_mem_limit_event(&one, NULL), 1);
	assert_int_equal(skynet_mem_limit_events_since(&cursor, ev, 8, NULL), 1);
	assert_int_equal(ev[0].handle, 0x04000002u);
}

/* 70 crossings unread: the last 64, 6 lost, read in pieces of max. */
static void past_the_ring_the_reader_loses_the_oldest(void **state) {
	(void)state;
	uint64_t cursor = 0, lost = 0;
	struct skynet_mem_limit_event ev[64];
	while (skynet_mem_limit_events_since(&cursor, ev, 64, NULL))
		;
	for (uint32_t i = 0; i < 70; i++)
		cross(0x04000100u + i);
	assert_int_equal(skynet_mem_limit_events_since(&cursor, ev, 10, &lost), 10);
	assert_int_equal(lost, 6);
	assert_int_equal(ev[0].handle, 0x04000100u + 6);
	assert_int_equal(skynet_mem_limit_events_since(&cursor, ev, 64, &lost), 54);
	assert_int_equal(lost, 0);
	assert_int_equal(ev[53].handle, 0x04000100u + 69);
	uint64_t future = cursor + 1000;   /* a cursor past the newest: nothing */
	assert_int_equal(skynet_mem_limit_events_since(&future, ev, 64, NULL), 0);
	assert_int_equal(future, cursor);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_second_reader_takes_nothing),
		cmocka_unit_test(past_the_ring_the_reader_loses_the_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
