/* Exact per-service records: charges, transfers, realloc moves, exits, limits. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "malloc_hook.h"
#include "skynet_malloc.h"
#include "test_util.h"

static void k_blocks_of_s_bytes(void **state) {
	(void)state;
	const uint32_t h = 0x01000010u;
	void *p[100];
	skynet_mem_set_current(h);
	size_t charged = 0;
	for (int i = 0; i < 100; i++) {
		p[i] = skynet_malloc(100);
		charged += skynet_mem_block_charge(p[i]);
	}
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_int_equal(charged, 100 * skynet_mem_charge_size(100));
#endif
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(st.handle, h);
	assert_int_equal(st.bytes, charged);
	assert_int_equal(st.blocks, 100);
	assert_int_equal(st.allocs, 100);
	assert_int_equal(st.frees, 0);
	assert_int_equal(st.peak, charged);
	for (int i = 0; i < 100; i++)
		skynet_free(p[i]);
	st = stat_of(h);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(st.frees, 100);
	assert_int_equal(st.peak, charged);
	skynet_mem_set_current(0);
}

/* skynet's 65,536-slot table merges these; we must not. */
static void handles_equal_mod_65536_are_separate(void **state) {
	(void)state;
	const uint32_t a = 0x00010005u, b = 0x00020005u, c = 0xffff0005u;
	skynet_mem_set_current(a);
	void *pa = skynet_malloc(1000);
	skynet_mem_set_current(b);
	void *pb1 = skynet_malloc(10), *pb2 = skynet_malloc(10);
	skynet_mem_set_current(c);
	void *pc = skynet_malloc(50000);
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(a).blocks, 1);
	assert_int_equal(stat_of(a).bytes, skynet_mem_block_charge(pa));
	assert_int_equal(stat_of(b).blocks, 2);
	assert_int_equal(stat_of(b).bytes, skynet_mem_block_charge(pb1) + skynet_mem_block_charge(pb2));
	assert_int_equal(stat_of(c).blocks, 1);
	assert_int_equal(stat_of(c).bytes, skynet_mem_block_charge(pc));
	skynet_free(pa);
	skynet_free(pb1);
	skynet_free(pb2);
	skynet_free(pc);
	assert_int_equal(stat_of(a).bytes + stat_of(b).bytes + stat_of(c).bytes, 0);
}

static void unknown_handle_and_extremes(void **state) {
	(void)state;
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(0x7eadbeefu, &st), -1);
	skynet_mem_set_current(0xffffffffu);
	void *p = skynet_malloc(8);
	skynet_mem_set_current(0);
	void *q = skynet_malloc(8);   /* handle 0 is counted like any other */
	assert_int_equal(stat_of(0xffffffffu).blocks, 1);
	assert_true(stat_of(0).blocks >= 1);
	skynet_free(p);
	skynet_free(q);
	assert_int_equal(stat_of(0xffffffffu).blocks, 0);
}

static void free_charges_the_owner_not_the_caller(void **state) {
	(void)state;
	const uint32_t a = 0x01000020u, b = 0x01000021u;
	skynet_mem_set_current(a);
	void *p = skynet_malloc(300);
	size_t u = skynet_mem_block_charge(p);
	skynet_mem_set_current(b);
	skynet_free(p);
	skynet_mem_set_current(0);
	assert_int_equal(stat_of(a).bytes, 0);
	assert_int_equal(stat_of(a).frees, 1);
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(b, &st), -1);   /* b was never charged */
	assert_int_equal(stat_of(a).peak, u);
}

static void transfer_moves_ownership(void **state) {
	(void)state;
	const uint32_t a = 0x01000030u, b = 0x01000031u;
	skynet_mem_set_current(a);
	void *msg = skynet_malloc(700);
	size_t u = skynet_mem_block_charge(msg);
	assert_int_equal(skynet_mem_transfer(msg, b), 0);
	assert_int_equal(skynet_mem_owner(msg), b);
	assert_int_equal(stat_of(a).bytes, 0);
	assert_int_equal(stat_of(a).blocks, 0);
	assert_int_equal(stat_of(b).bytes, u);
	assert_int_equal(stat_of(b).blocks, 1);
	assert_int_equal(skynet_mem_transfer(msg, b), 0);   /* to the owner: no change */
	assert_int_equal(stat_of(b).blocks, 1);
	assert_int_equal(skynet_mem_transfer(NULL, b), -1);
	skynet_free(msg);   /* still running as a: b pays the free */
	assert_int_equal(stat_of(b).bytes, 0);
	assert_int_equal(stat_of(a).bytes, 0);
	skynet_mem_set_current(0);
}

static void realloc_moves_the_block_to_the_caller(void **state) {
	(void)state;
	const uint32_t a = 0x01000040u, b = 0x01000041u;
	skynet_mem_set_current(a);
	char *p = skynet_malloc(100);
	strcpy(p, "hello");
	skynet_mem_set_current(b);
	p = skynet_realloc(p, 5000);
	assert_string_equal(p, "hello");
	assert_int_equal(skynet_mem_owner(p), b);
	assert_int_equal(stat_of(a).bytes, 0);
	assert_int_equal(stat_of(a).blocks, 0);
	assert_int_equal(stat_of(b).bytes, skynet_mem_block_charge(p));
	assert_int_equal(stat_of(b).blocks, 1);
	p = skynet_realloc(p, 101);   /* same owner, shrink */
	assert_int_equal(stat_of(b).bytes, skynet_mem_block_charge(p));
	skynet_free(p);
	assert_int_equal(stat_of(b).bytes, 0);
	skynet_mem_set_current(0);
}

static void exit_reports_leftovers_and_later_frees_stay_exact(void **state) {
	(void)state;
	const uint32_t dead = 0x01000050u, other = 0x01000051u;
	skynet_mem_set_current(dead);
	void *p[3];
	size_t u = 0;
	for (int i = 0; i < 3; i++) {
		p[i] = skynet_malloc(200 * (i + 1));
		u += skynet_mem_block_charge(p[i]);
	}
	void *gone = skynet_malloc(64);
	skynet_free(gone);
	struct skynet_mem_stat left;
	skynet_mem_service_exit(dead, &left);
	assert_int_equal(left.handle, dead);
	assert_int_equal(left.bytes, u);
	assert_int_equal(left.blocks, 3);
	assert_int_equal(left.allocs, 4);
	assert_int_equal(left.frees, 1);
	assert_int_equal(left.retired, 1);

	size_t ob, on;
	skynet_mem_orphans(&ob, &on);
	assert_true(ob >= u);
	assert_true(on >= 3);

	size_t u0 = skynet_mem_block_charge(p[0]);
	skynet_mem_set_current(other);
	skynet_free(p[0]);
	skynet_mem_set_current(0);
	struct skynet_mem_stat st = stat_of(dead);
	assert_int_equal(st.retired, 1);
	assert_int_equal(st.blocks, 2);
	assert_int_equal(st.bytes, u - u0);
	assert_int_equal(skynet_mem_stat(other, &st), -1);
	skynet_free(p[1]);
	skynet_free(p[2]);
	/* drained and unreferenced: the record is reclaimed */
	skynet_mem_flush();
	assert_int_equal(skynet_mem_stat(dead, &st), -1);

	/* an exit of an unknown service reports nothing left */
	skynet_mem_service_exit(0x0eeeeeeeu, &left);
	assert_int_equal(left.bytes, 0);
	assert_int_equal(left.blocks, 0);
}

static void limits_refuse_growth_only(void **state) {
	(void)state;
	const uint32_t h = 0x01000060u;
	errno = 0;
	assert_int_equal(skynet_mem_set_limit(h, 10000), -1);   /* no such service yet */
	assert_int_equal(errno, ESRCH);
	errno = 0;
	assert_int_equal(skynet_mem_set_limit(0, 10000), -1);   /* the host's own threads */
	assert_int_equal(errno, EINVAL);
	skynet_mem_set_current(h);
	skynet_free(skynet_malloc(8));   /* the service exists once it allocated */
	skynet_mem_flush();
	assert_int_equal(skynet_mem_set_limit(h, 10000), 0);
	assert_int_equal(skynet_mem_get_limit(h), 10000);
	assert_int_equal(stat_of(h).limit, 10000);
	void *a = skynet_malloc(6000);
	assert_non_null(a);
	errno = 0;
	assert_null(skynet_malloc(6000));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(skynet_realloc(a, 20000));
	assert_int_equal(errno, ENOMEM);
	a = skynet_realloc(a, 100);   /* shrinking is always allowed */
	assert_non_null(a);
	void *b = skynet_malloc(6000);
	assert_non_null(b);
	assert_true(stat_of(h).bytes <= 10000);
	skynet_free(b);
	skynet_free(a);
	assert_int_equal(skynet_mem_set_limit(h, 0), 0);
	a = skynet_malloc(60000);
	assert_non_null(a);
	skynet_free(a);
	skynet_mem_set_current(0);
	assert_int_equal(skynet_mem_get_limit(0x0dddddddu), 0);
}

/* Over its limit (lowered below what it holds, or pushed over by a
 * transfer), a service may still shrink and resize within a class: only
 * growth is refused. C (small and large blocks) and Lua. */
static void shrinks_over_the_limit_succeed(void **state) {
	(void)state;
	const uint32_t h = 0x01000064u;
	skynet_mem_set_current(h);
	void *a = skynet_malloc(6000);
	void *big = skynet_malloc(40000);
	void *lua = skynet_mem_lua_alloc((void *)(uintptr_t)h, NULL, 4, 3000);
	assert_non_null(a);
	assert_non_null(big);
	assert_non_null(lua);
	assert_int_equal(skynet_mem_set_limit(h, 1000), 0);   /* far below what it holds */
	errno = 0;
	assert_null(skynet_malloc(100));
	assert_int_equal(errno, ENOMEM);
	size_t u = skynet_mem_block_charge(a);
	a = skynet_realloc(a, skynet_mem_usable_size(a));   /* same class */
	assert_non_null(a);
	assert_int_equal(skynet_mem_block_charge(a), u);
	a = skynet_realloc(a, 100);
	assert_non_null(a);
	big = skynet_realloc(big, 20000);   /* a large block, shrunk */
	assert_non_null(big);
	lua = skynet_mem_lua_alloc((void *)(uintptr_t)h, lua, 3000, 3000);
	assert_non_null(lua);
	lua = skynet_mem_lua_alloc((void *)(uintptr_t)h, lua, 3000, 50);
	assert_non_null(lua);
	/* a transfer (never refused) pushes it over again */
	skynet_mem_set_current(0x01000065u);
	void *msg = skynet_malloc(30000);
	assert_non_null(msg);
	assert_int_equal(skynet_mem_transfer(msg, h), 0);
	skynet_mem_set_current(h);
	msg = skynet_realloc(msg, 10);
	assert_non_null(msg);
	skynet_mem_set_current(0);
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(st.bytes, skynet_mem_block_charge(a) + skynet_mem_block_charge(big) +
		skynet_mem_block_charge(msg));
	assert_int_equal(st.blocks, 3);
	skynet_mem_set_current(h);
	skynet_free(a);
	skynet_free(big);
	skynet_free(msg);
	assert_null(skynet_mem_lua_alloc((void *)(uintptr_t)h, lua, 50, 0));
	skynet_mem_set_current(0);
	st = stat_of(h);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.lua_bytes, 0);
	assert_int_equal(st.blocks, 0);
}

struct sum { size_t bytes, blocks, n; };

static int add_up(const struct skynet_mem_stat *st, void *ud) {
	struct sum *s = ud;
	s->bytes += st->bytes + st->lua_bytes;
	s->blocks += st->blocks;
	s->n++;
	return 0;
}

static int stop_at_once(const struct skynet_mem_stat *st, void *ud) {
	(void)st;
	(*(int *)ud)++;
	return 1;
}

static void totals_match_the_sum_of_records(void **state) {
	(void)state;
	skynet_mem_set_current(0x01000070u);
	void *p = skynet_malloc(12345);
	skynet_mem_set_current(0x01000071u);
	void *q = skynet_calloc(3, 1000);
	skynet_mem_set_current(0);
	struct sum s = { 0 };
	size_t visited = skynet_mem_foreach(add_up, &s);
	assert_int_equal(visited, s.n);
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	assert_int_equal(t.services, s.n);
	assert_int_equal(t.bytes + t.lua_bytes, s.bytes);
	assert_int_equal(t.blocks, s.blocks);
	assert_int_equal(malloc_used_memory(), s.bytes);
	assert_int_equal(malloc_memory_block(), s.blocks);
	int calls = 0;
	assert_int_equal(skynet_mem_foreach(stop_at_once, &calls), 1);
	assert_int_equal(calls, 1);
	skynet_mem_set_current(0x01000071u);
	assert_int_equal(malloc_current_memory(), skynet_mem_block_charge(q));
	skynet_mem_set_current(0);
	skynet_free(p);
	skynet_free(q);
}

static void lua_allocator_charges_lua_bytes(void **state) {
	(void)state;
	const uint32_t h = 0x01000080u;
	void *ud = (void *)(uintptr_t)h;
	void *p = skynet_mem_lua_alloc(ud, NULL, 4 /* LUA_TTABLE tag, not a size */, 100);
	assert_non_null(p);
	memset(p, 1, 100);
	p = skynet_mem_lua_alloc(ud, p, 100, 3000);
	memset(p, 2, 3000);
	struct skynet_mem_stat st = stat_of(h);
	assert_true(st.lua_bytes >= 3000);
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_int_equal(st.lua_bytes, nallocx(3000, 0));
#endif
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.blocks, 0);
	assert_null(skynet_mem_lua_alloc(ud, p, 3000, 0));
	assert_int_equal(stat_of(h).lua_bytes, 0);
	/* the limit covers the Lua heap too */
	skynet_mem_set_limit(h, 4096);
	assert_null(skynet_mem_lua_alloc(ud, NULL, 0, 5000));
	p = skynet_mem_lua_alloc(ud, NULL, 0, 1000);
	assert_non_null(p);
	assert_null(skynet_mem_lua_alloc(ud, p, 1000, 8000));
	p = skynet_mem_lua_alloc(ud, p, 1000, 10);   /* shrink succeeds */
	assert_non_null(p);
	skynet_mem_lua_alloc(ud, p, 10, 0);
	assert_int_equal(stat_of(h).lua_bytes, 0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(k_blocks_of_s_bytes),
		cmocka_unit_test(handles_equal_mod_65536_are_separate),
		cmocka_unit_test(unknown_handle_and_extremes),
		cmocka_unit_test(free_charges_the_owner_not_the_caller),
		cmocka_unit_test(transfer_moves_ownership),
		cmocka_unit_test(realloc_moves_the_block_to_the_caller),
		cmocka_unit_test(exit_reports_leftovers_and_later_frees_stay_exact),
		cmocka_unit_test(limits_refuse_growth_only),
		cmocka_unit_test(shrinks_over_the_limit_succeed),
		cmocka_unit_test(totals_match_the_sum_of_records),
		cmocka_unit_test(lua_allocator_charges_lua_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
