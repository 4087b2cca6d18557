/* End-to-end: the host runs Lua services; their records must be exact. */

#include <stdlib.h>

#include "host_test.h"

static int setup(void **state) {
	(void)state;
	return start_host(-1, -1);
}

static int teardown(void **state) {
	(void)state;
	host_stop();
	return 0;
}

/* h holds exactly the C memory of its twin, which ran the same code with
 * nothing to keep. */
static void assert_same_c_memory(uint32_t twin, uint32_t h) {
	struct skynet_mem_stat a = stat_of(twin), b = stat_of(h);
	assert_int_equal(b.bytes, a.bytes);
	assert_int_equal(b.blocks, a.blocks);
}

/* A service holding K blocks of S bytes shows exactly K blocks and K * class(S)
 * bytes more than its twin holding none. */
static void check_blocks(int k, size_t s) {
	uint32_t twin = launch("alloc 0 %zu", s);
	uint32_t h = launch("alloc %d %zu", k, s);
	assert_int_equal(probe_wait(twin, "done", NULL, 0), 0);
	assert_int_equal(probe_wait(h, "done", NULL, 0), 0);
	settle();
	struct skynet_mem_stat a = stat_of(twin), b = stat_of(h);
	assert_int_equal(b.blocks, a.blocks + (size_t)k);
	assert_blocks_cost(b.bytes - a.bytes, (size_t)k, s);
	assert_true(b.lua_bytes > 0);
	assert_int_equal(b.limit, 0);
}

static void test_k_blocks(void **state) {
	(void)state;
	check_blocks(10, 100);
	check_blocks(7, 24);
	check_blocks(3, 5000);
	check_blocks(2, 100000);
}

/* skynet.memory, preloaded in every service, sees the same record. */
static void test_skynet_memory_in_services(void **state) {
	(void)state;
#ifdef HAVE_SKYNET_MEMORY_LUA
	uint32_t h = launch("selfstat 4 1000");
	char text[256];
	assert_int_equal(probe_wait(h, "stat", text, sizeof(text)), 0);
	settle();
	struct skynet_mem_stat st = stat_of(h);
	size_t blocks, bytes, current;
	assert_int_equal(sscanf(text, "stat %zu %zu %zu", &blocks, &bytes, &current), 3);
	assert_int_equal(blocks, st.blocks);
	assert_int_equal(bytes, st.bytes);
	assert_int_equal(current, bytes);   /* C bytes only, as skynet's current() */
#else
	skip();   /* lualib-src/ (skynet-memory-lua) not in this build */
#endif
}

/* The payload is the sender's until delivered, then the receiver's. */
static void test_payload_moves_to_receiver(void **state) {
	(void)state;
	uint32_t sink = host_launch("sink", "");
	assert_true(sink != 0);
	settle();
	struct skynet_mem_stat sink0 = stat_of(sink);
	uint32_t twin = launch("sender %u 0", sink);
	uint32_t h = launch("sender %u 3000", sink);
	assert_int_equal(probe_wait(twin, "done", NULL, 0), 0);
	assert_int_equal(probe_wait(h, "done", NULL, 0), 0);
	void *p = sink_take();
	assert_non_null(p);
	settle();
	assert_int_equal(skynet_mem_owner(p), sink);
	struct skynet_mem_stat s = stat_of(sink);
	assert_int_equal(s.blocks, sink0.blocks + 1);
	assert_blocks_cost(s.bytes - sink0.bytes, 1, 3000);
	assert_same_c_memory(twin, h);
	skynet_free(p);
	s = stat_of(sink);
	assert_int_equal(s.bytes, sink0.bytes);
	assert_int_equal(s.blocks, sink0.blocks);
	host_exit_service(sink);
}

/* A message to a dead service is freed at once: the sender is not charged. */
static void test_dead_receiver(void **state) {
	(void)state;
	uint32_t dead = launch("idle");
	settle();
	host_exit_service(dead);
	uint32_t twin = launch("sender %u 0", dead);
	uint32_t h = launch("sender %u 4000", dead);
	char text[256];
	assert_int_equal(probe_wait(twin, "done", NULL, 0), 0);
	assert_int_equal(probe_wait(h, "done", text, sizeof(text)), 0);
	assert_string_equal(text, "done false");
	settle();
	assert_same_c_memory(twin, h);
}

/* h's exit report is clean: none of its C or Lua memory left. */
static void assert_exits_clean(uint32_t h) {
	struct host_exit_report r;
	assert_int_equal(report_wait(h, &r), 0);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(r.blocks, 0);
	assert_int_equal(r.lua_bytes, 0);
}

/* Messages queued for a service that gets killed: delivered or dropped, all
 * freed; the target's exit report is clean (its grown mailbox included). */
static void test_killed_with_full_mailbox(void **state) {
	(void)state;
	uint32_t twin = launch("flood 0 500");
	uint32_t h = launch("flood 300 500");
	char text[256];
	assert_int_equal(probe_wait(twin, "done", NULL, 0), 0);
	assert_int_equal(probe_wait(h, "done", text, sizeof(text)), 0);
	assert_exits_clean((uint32_t)strtoul(text + 5, NULL, 10));   /* "done <target>" */
	settle();
	assert_same_c_memory(twin, h);
}

/* Killed while other workers keep sending: its report is still exact (the
 * senders' credits are published before they let go of it). */
static void test_killed_mid_storm(void **state) {
	(void)state;
	for (int round = 0; round < 5; round++) {
		uint32_t h = launch("storm 3 700");
		char text[256];
		assert_int_equal(probe_wait(h, "done", text, sizeof(text)), 0);
		assert_exits_clean((uint32_t)strtoul(text + 5, NULL, 10));   /* "done <target>" */
		settle();
	}
}

/* An exiting service's report names exactly what it still owned. */
static void test_leak_report(void **state) {
	(void)state;
	uint32_t h = launch("leaky 6 200");
	struct host_exit_report r;
	assert_int_equal(report_wait(h, &r), 0);
	assert_string_equal(r.name, "leaky");
	assert_int_equal(r.blocks, 6);
	assert_blocks_cost(r.bytes, 6, 200);
	assert_int_equal(r.lua_bytes, 0);
	struct host_exit_report kept[64];
	size_t n = host_exit_reports(kept, 64);
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= kept[i].handle == h && kept[i].bytes == r.bytes;
	assert_true(found);
	/* the leaked blocks stay counted, as an exited service's */
	size_t ob, oblocks;
	skynet_mem_orphans(&ob, &oblocks);
	assert_true(ob >= r.bytes && oblocks >= 6);
}

/* A leak report names where the leftovers were allocated (the sampled heap
 * profile): six blocks of 1 MiB, each sampled with a chance of 1 - e^-2 at
 * the default rate, so some are (all six missed: about 6 in a million). */
static void test_leak_sites(void **state) {
	(void)state;
	if (skynet_mem_has_check())
		return;   /* the check build samples nothing: it lists every block's site */
	uint32_t h = launch("leaky 6 1048576");
	struct host_exit_report r;
	assert_int_equal(report_wait(h, &r), 0);
	assert_int_equal(r.blocks, 6);
	printf("sites: %s\n", r.sites);
	assert_true(r.sites[0] != 0);
	assert_non_null(strstr(r.sites, "l_cmalloc+0x"));   /* core.cmalloc's C function (static) */
	assert_non_null(strstr(r.sites, " ~"));         /* an estimate of bytes */
	assert_null(strstr(r.sites, "skynet-mem"));     /* the layer's own frames dropped */
}

/* Past its limit a service gets NULL from C and "not enough memory" in Lua,
 * never goes over, and keeps serving. */
static void test_limit(void **state) {
	(void)state;
	const size_t limit = 2000000;
	uint32_t h = launch("hog %zu", limit);
	char text[256];
	assert_int_equal(probe_wait(h, "cmalloc", text, sizeof(text)), 0);
	assert_string_equal(text, "cmalloc nil");
	assert_int_equal(probe_wait(h, "hit", text, sizeof(text)), 0);
	assert_non_null(strstr(text, "hit false"));
	assert_non_null(strstr(text, "not enough memory"));
	settle();
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(st.limit, limit);
	assert_true(st.peak <= limit);
	assert_true(st.peak > limit / 2);
	assert_true(st.bytes + st.lua_bytes <= limit);
	uint32_t c = launch("caller %u", h);
	assert_int_equal(probe_wait(c, "got", text, sizeof(text)), 0);
	assert_string_equal(text, "got true pong");
}

/* A call to a service that dies answers an error instead of hanging. */
static void test_call_dead(void **state) {
	(void)state;
	uint32_t dead = launch("idle");
	settle();
	host_exit_service(dead);
	uint32_t c = launch("caller %u", dead);
	char text[256];
	assert_int_equal(probe_wait(c, "got", text, sizeof(text)), 0);
	assert_non_null(strstr(text, "got false"));
	/* a request whose handler raises gets an error back too */
	uint32_t faulty = launch("faulty");
	c = launch("caller %u", faulty);
	assert_int_equal(probe_wait(c, "got", text, sizeof(text)), 0);
	assert_non_null(strstr(text, "got false"));
	assert_true(host_service_busy(faulty) >= 0);   /* and it lives on */
}

/* Bad input from C: unknown module, unknown script (clean exit report). */
static void test_bad_launch(void **state) {
	(void)state;
	assert_int_equal(host_launch("nosuchmodule", ""), 0);
	uint32_t h = host_launch("snlua", "no_such_script");
	assert_true(h != 0);
	assert_exits_clean(h);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k_blocks),
		cmocka_unit_test(test_skynet_memory_in_services),
		cmocka_unit_test(test_payload_moves_to_receiver),
		cmocka_unit_test(test_dead_receiver),
		cmocka_unit_test(test_killed_with_full_mailbox),
		cmocka_unit_test(test_killed_mid_storm),
		cmocka_unit_test(test_leak_report),
		cmocka_unit_test(test_leak_sites),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_call_dead),
		cmocka_unit_test(test_bad_launch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
