/* What a C allocation past a limit does (skynet_mem_set_limit_mode), and the
 * crossings: counted once each in limit_hits, queued for the host. */

#include <errno.h>
#include <stdlib.h>

#include "skynet_malloc.h"
#include "test_util.h"

static void drain(void) {
	while (skynet_mem_limit_event(NULL, NULL))
		;
}

static size_t used_of(uint32_t h) {
	struct skynet_mem_stat st = stat_of(h);
	return st.bytes + st.lua_bytes;
}

static void hard_limits_refuse_and_count_each_crossing(void **state) {
	(void)state;
	const uint32_t h = 0x03000001u;
	drain();
	skynet_mem_set_current(h);
	void *base = skynet_malloc(100);
	size_t limit = used_of(h) + 4096;
	assert_int_equal(skynet_mem_set_limit(h, limit), 0);
	assert_int_equal(skynet_mem_limit_pending(), 0);
	errno = 0;
	assert_null(skynet_malloc(8192));
	assert_int_equal(errno, ENOMEM);
	assert_null(skynet_malloc(8192));   /* the same crossing */
	assert_int_equal(stat_of(h).limit_hits, 1);
	assert_int_equal(skynet_mem_limit_pending(), 1);
	struct skynet_mem_limit_event ev;
	uint64_t lost = 99;
	assert_int_equal(skynet_mem_limit_event(&ev, &lost), 1);
	assert_int_equal(lost, 0);
	assert_int_equal(ev.handle, h);
	assert_int_equal(ev.lua, 0);
	assert_int_equal(ev.refused, 1);
	assert_int_equal(ev.request, skynet_mem_charge_size(8192));
	assert_int_equal(ev.limit, skynet_mem_get_limit(h));
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 0);
	assert_int_equal(skynet_mem_limit_pending(), 0);
	void *small = skynet_malloc(16);   /* under the limit again */
	assert_non_null(small);
	assert_null(skynet_malloc(8192));  /* a new crossing */
	assert_int_equal(stat_of(h).limit_hits, 2);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	skynet_free(small);
	/* C and Lua together: Lua growth that fits the limit by itself is
	 * refused when C + Lua would pass it. */
	void *c = skynet_malloc(1000);   /* under 7/8 of it: re-arms */
	assert_non_null(c);
	assert_true(used_of(h) <= limit - limit / 8);
	void *ud = (void *)(uintptr_t)h;
	assert_null(skynet_mem_lua_alloc(ud, NULL, 0, 3500));
	assert_int_equal(stat_of(h).limit_hits, 3);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	assert_int_equal(ev.lua, 1);
	assert_int_equal(ev.refused, 1);
	skynet_free(c);
	skynet_free(base);
	skynet_mem_set_limit(h, 0);
	skynet_mem_set_current(0);
}

static void soft_c_limits_admit_c_and_refuse_only_lua_past_it(void **state) {
	(void)state;
	const uint32_t h = 0x03000002u;
	drain();
	skynet_mem_set_limit_mode(SKYNET_MEM_LIMIT_SOFT_C);
	skynet_mem_set_current(h);
	void *base = skynet_malloc(100);
	size_t limit = used_of(h) + 4096;
	assert_int_equal(skynet_mem_set_limit(h, limit), 0);
	void *big = skynet_malloc(8192);
	assert_non_null(big);   /* past the limit, admitted */
	void *more = skynet_malloc(8192);
	assert_non_null(more);
	assert_true(used_of(h) > limit);
	assert_int_equal(stat_of(h).limit_hits, 1);
	struct skynet_mem_limit_event ev;
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	assert_int_equal(ev.handle, h);
	assert_int_equal(ev.refused, 0);
	assert_int_equal(ev.lua, 0);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 0);
	/* C past the limit leaves Lua room to run: only Lua's own heap passing
	 * the limit is refused, and both are the crossing already counted. */
	void *ud = (void *)(uintptr_t)h;
	void *l = skynet_mem_lua_alloc(ud, NULL, 0, 64);
	assert_non_null(l);
	assert_null(skynet_mem_lua_alloc(ud, NULL, 0, limit + 1));
	assert_int_equal(stat_of(h).limit_hits, 1);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 0);
	skynet_free(big);
	skynet_free(more);
	void *r = skynet_mem_lua_alloc(ud, NULL, 0, 16);   /* under it: re-arms */
	assert_non_null(r);
	skynet_mem_lua_alloc(ud, r, 16, 0);
	/* Under it again: Lua's own heap passing it is refused, a new crossing. */
	assert_null(skynet_mem_lua_alloc(ud, NULL, 0, limit + 1));
	assert_int_equal(stat_of(h).limit_hits, 2);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	assert_int_equal(ev.lua, 1);
	assert_int_equal(ev.refused, 1);
	/* Under it again: Lua growth that fits by itself but takes C + Lua past
	 * the limit is admitted, and counted as a crossing. */
	void *c = skynet_malloc(1000);   /* under 7/8 of it: re-arms */
	assert_non_null(c);
	assert_true(used_of(h) <= limit - limit / 8);
	void *l2 = skynet_mem_lua_alloc(ud, NULL, 0, 3500);
	assert_non_null(l2);
	assert_true(used_of(h) > limit);
	assert_int_equal(stat_of(h).limit_hits, 3);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	assert_int_equal(ev.lua, 1);
	assert_int_equal(ev.refused, 0);
	skynet_mem_lua_alloc(ud, l2, 3500, 0);
	skynet_free(c);
	skynet_mem_lua_alloc(ud, l, 64, 0);
	skynet_free(base);
	skynet_mem_set_limit(h, 0);
	skynet_mem_set_limit_mode(SKYNET_MEM_LIMIT_HARD);
	skynet_mem_set_current(0);
}

/* Back and forth just over the limit is one crossing; falling to 7/8 of it
 * re-arms. */
static void crossings_rearm_below_seven_eighths(void **state) {
	(void)state;
	const uint32_t h = 0x03000003u;
	drain();
	skynet_mem_set_limit_mode(SKYNET_MEM_LIMIT_SOFT_C);
	skynet_mem_set_current(h);
	void *base = skynet_malloc(100);
	void *a = skynet_malloc(56 << 10);
	size_t limit = used_of(h) + 4096;   /* a fits, above 7/8 of the limit */
	assert_int_equal(skynet_mem_set_limit(h, limit), 0);
	assert_true(used_of(h) > limit - limit / 8);
	for (int i = 0; i < 5; i++) {   /* over, back under but above 7/8, ... */
		void *b = skynet_malloc(8 << 10);
		assert_true(used_of(h) > limit);
		skynet_free(b);
		assert_true(used_of(h) + skynet_mem_charge_size(16) <= limit);
		void *small = skynet_malloc(16);   /* admitted under the limit */
		assert_non_null(small);
		skynet_free(small);
	}
	assert_int_equal(stat_of(h).limit_hits, 1);
	struct skynet_mem_limit_event ev;
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 0);
	skynet_free(a);
	void *small = skynet_malloc(16);   /* at most 7/8 of it: re-armed */
	assert_true(used_of(h) <= limit - limit / 8);
	skynet_free(small);
	a = skynet_malloc(56 << 10);
	void *b = skynet_malloc(8 << 10);
	assert_true(used_of(h) > limit);
	assert_int_equal(stat_of(h).limit_hits, 2);
	assert_int_equal(skynet_mem_limit_event(&ev, NULL), 1);
	assert_int_equal(ev.handle, h);
	skynet_free(b);
	skynet_free(a);
	skynet_free(base);
	skynet_mem_set_limit(h, 0);
	skynet_mem_set_limit_mode(SKYNET_MEM_LIMIT_HARD);
	skynet_mem_set_current(0);
}

/* The ring keeps the last 64 and says how many were lost. */
static void events_past_the_ring_are_counted_lost(void **state) {
	(void)state;
	drain();
	uint64_t lost;
	skynet_mem_limit_event(NULL, &lost);   /* reset the count */
	for (uint32_t i = 0; i < 70; i++) {
		uint32_t h = 0x03000100u + i;
		skynet_mem_set_current(h);
		void *p = skynet_malloc(16);
		assert_int_equal(skynet_mem_set_limit(h, used_of(h)), 0);
		assert_null(skynet_malloc(4096));
		skynet_free(p);
		skynet_mem_set_limit(h, 0);
	}
	skynet_mem_set_current(0);
	struct skynet_mem_limit_event ev;
	assert_int_equal(skynet_mem_limit_event(&ev, &lost), 1);
	assert_int_equal(lost, 6);
	assert_int_equal(ev.handle, 0x03000100u + 6);
	int n = 1;
	while (skynet_mem_limit_event(&ev, NULL))
		n++;
	assert_int_equal(n, 64);
	assert_int_equal(ev.handle, 0x03000100u + 69);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hard_limits_refuse_and_count_each_crossing),
		cmocka_unit_test(soft_c_limits_admit_c_and_refuse_only_lua_past_it),
		cmocka_unit_test(crossings_rearm_below_seven_eighths),
		cmocka_unit_test(events_past_the_ring_are_counted_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
