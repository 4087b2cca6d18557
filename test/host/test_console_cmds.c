/* The debug console's commands against a running host, with exact figures:
 * skynet's names and shapes ("key<TAB>value" lines, "<CMD OK>" or
 * "<CMD Error>"), and ours (top, leaks, stat of exited services, grow,
 * setlimit, guard); over-long lines refused. */

#include <errno.h>

#include "host_test.h"
#include "net_test.h"

static uint32_t alloc_h;

static int setup(void **state) {
	(void)state;
	struct host_config cfg = { .profile = 1 };   /* stat's cpu figures */
	if (start_host_with(0, -1, &cfg) != 0)
		return -1;
	alloc_h = host_launch("snlua", "alloc 5 300");
	if (probe_wait(alloc_h, "done", NULL, 0) != 0)
		return -1;
	settle();
	return 0;
}

static int teardown(void **state) {
	(void)state;
	host_stop();
	return 0;
}

static char *console(const char *cmd) {
	return console_at(host_console_port(), cmd);
}

static char *consolef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *consolef(const char *fmt, ...) {
	char cmd[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return console(cmd);
}

static void has(const char *r, const char *want) {
	if (strstr(r, want) == NULL)
		fail_msg("missing '%s' in answer:\n%s", want, r);
}

static int ends_ok(const char *r) {
	size_t n = strlen(r);
	if (n >= 9 && strcmp(r + n - 9, "<CMD OK>\n") == 0)
		return 1;
	fprintf(stderr, "answer not ending in <CMD OK>:\n%s\n", r);
	return 0;
}

static int ends_error(const char *r) {
	size_t n = strlen(r);
	return n >= 12 && strcmp(r + n - 12, "<CMD Error>\n") == 0;
}

/* cmd is answered with an error that says why. */
static void refused(const char *cmd, const char *why) {
	char *r = console(cmd);
	has(r, why);
	if (!ends_error(r))
		fail_msg("'%s' did not end in <CMD Error>:\n%s", cmd, r);
	free(r);
}

static void test_skynet_shapes(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st = stat_of(alloc_h);
	char want[256];
	char *r = console("help");
	assert_true(ends_ok(r));
	assert_int_equal(strncmp(r, "check\t", 6), 0);   /* sorted by command */
	has(r, "\nprofactive\t");
	has(r, "\ngrow\t");
	free(r);
	r = console("list");
	snprintf(want, sizeof(want), ":%08x\talloc\tmqlen:0\n", alloc_h);
	has(r, want);
	assert_true(ends_ok(r));
	free(r);
	r = console("mem");
	snprintf(want, sizeof(want), ":%08x\t%.2f Kb (alloc)\n", alloc_h, st.lua_bytes / 1024.0);
	has(r, want);
	free(r);
	r = console("cmem");
	snprintf(want, sizeof(want), ":%08x\t%zu\n", alloc_h, st.bytes);
	has(r, want);
	has(r, "\nblock\t");
	has(r, "\ntotal\t");
	assert_true(strstr(r, "\nblock\t") < strstr(r, "\ntotal\t"));
	free(r);
	r = console("stat");
	snprintf(want, sizeof(want), ":%08x\tcpu:", alloc_h);
	has(r, want);
	assert_true(strtod(strstr(r, want) + strlen(want), NULL) > 0);   /* its start ran Lua code */
	struct host_service_load load;
	assert_int_equal(host_service_load(alloc_h, &load), 0);
	snprintf(want, sizeof(want), "\tmessage:%lld\tmqlen:0\n", load.messages);
	has(r, want);
	free(r);
	r = console("jmem");
	if (skynet_mem_has_jemalloc()) {
		assert_int_equal(strncmp(r, "stats.active\t", 13), 0);
		has(r, "\nstats.resident\t");
		has(r, " Mb\n");
		assert_true(ends_ok(r));
	} else {
		has(r, "error: built without jemalloc");
		assert_true(ends_error(r));
	}
	free(r);
	r = console("check");
	if (skynet_mem_has_check()) {
		has(r, "0 damaged blocks\n");
		assert_true(ends_ok(r));
	} else {
		has(r, "error: not a MEMORY_CHECK build");
		assert_true(ends_error(r));
	}
	free(r);
	/* heap profiling needs a jemalloc built for it: the tests' is not */
	refused("dumpheap", "error: heap profiling is off");
	refused("profactive on", "error: heap profiling is off");
	r = consolef("info :%08x", alloc_h);
	snprintf(want, sizeof(want), "handle :%08x\nname alloc\nstate live\nbytes %zu\nblocks %zu\n", alloc_h,
		st.bytes, st.blocks);
	has(r, want);
	free(r);
	refused("info :0", "error: handle 0 is the host's own threads");
	refused("frobnicate now", "error: unknown command 'frobnicate'");
	r = console("stat :%08x");   /* literal, not a handle */
	has(r, "error: bad address");
	free(r);
}

static void test_stat_live_and_exited(void **state) {
	(void)state;
	struct skynet_mem_stat st = stat_of(alloc_h);
	char want[256];
	char *r = consolef("stat :%08x", alloc_h);
	snprintf(want, sizeof(want), "handle :%08x\nname alloc\nstate live\nbytes %zu\nblocks %zu\nlua_bytes %zu\n",
		alloc_h, st.bytes, st.blocks, st.lua_bytes);
	has(r, want);
	has(r, "\nmqlen 0\n");
	/* Lua's own count beside the charge (lua_bytes), named apart and smaller */
	const char *own = strstr(r, "\nmem ");
	assert_non_null(own);
	long long mem = atoll(own + 5);
	assert_true(mem > 0 && (size_t)mem <= st.lua_bytes);   /* equal under ASan: no size classes */
	free(r);
	uint32_t h = launch("leaky 3 100");
	struct host_exit_report rep;
	assert_int_equal(report_wait(h, &rep), 0);
	assert_int_equal(rep.blocks, 3);
	r = consolef("stat :%08x", h);
	snprintf(want, sizeof(want), "handle :%08x\nname leaky\nstate exited\nbytes %zu\nblocks 3\n", h, rep.bytes);
	has(r, want);
	free(r);
	/* top includes it, marked exited */
	r = console("top 1000");
	snprintf(want, sizeof(want), ":%08x\tleaky\ttotal:%zu\tC:%zu\t", h, rep.bytes + rep.lua_bytes, rep.bytes);
	has(r, want);
	has(r, "\texited\n");
	free(r);
	r = console("top 2");
	assert_int_equal(count_lines(r, ":"), 2);
	free(r);
	refused("top zero", "error: bad count");
	refused("stat :7fffff00", "error: no service :7fffff00");
}

/* leaks lists leaks only: clean exits after a leak do not push it out. */
static void test_leaks_only(void **state) {
	(void)state;
	uint32_t leaker = launch("leaky 2 64");
	struct host_exit_report rep;
	assert_int_equal(report_wait(leaker, &rep), 0);
	uint32_t last = 0;
	for (int i = 0; i < 70; i++)   /* more clean exits than the exit ring keeps */
		last = launch("leaky 0 0");
	assert_int_equal(report_wait(last, &rep), 0);
	struct host_exit_report all[64];
	size_t n = host_exit_reports(all, 64);
	for (size_t i = 0; i < n; i++)
		assert_true(all[i].handle != leaker);   /* gone from the exit ring */
	char *r = console("leaks");
	char want[128];
	snprintf(want, sizeof(want), ":%08x\tleaky\t", leaker);
	has(r, want);
	/* every line a leak */
	for (char *p = r; (p = strstr(p, "\tleaky\t")) != NULL; p++)
		assert_true(strncmp(p, "\tleaky\t0 bytes", 14) != 0);
	free(r);
}

/* heap: a service holding six 1 MiB blocks (each sampled with a chance of
 * 1 - e^-2 at the default rate) shows samples and a site; with a path, the
 * file jeprof reads. */
static void test_heap(void **state) {
	(void)state;
	if (skynet_mem_has_check()) {
		refused("heap all", "samples nothing");
		return;
	}
	uint32_t h = launch("alloc 6 1048576");
	assert_int_equal(probe_wait(h, "done", NULL, 0), 0);
	char *r = consolef("heap :%08x", h);
	char want[64];
	snprintf(want, sizeof(want), ":%08x\tsamples:", h);
	has(r, want);
	has(r, "\nsite\t");
	assert_true(ends_ok(r));
	free(r);
	char path[] = "/tmp/skynet-host-heap-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	r = consolef("heap :%08x %s", h, path);
	has(r, "profile\t");
	assert_true(ends_ok(r));
	free(r);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[256];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(strncmp(line, "heap profile:", 13), 0);
	fclose(f);
	unlink(path);
	r = console("heap all");
	has(r, "all\tsamples:");
	free(r);
	refused("heap :zz", "bad address");
	refused("heap", "bad address");
	refused("heap all /nonexistent-dir/x", "cannot write /nonexistent-dir/x");
}

static void test_kill_exit_ping(void **state) {
	(void)state;
	uint32_t a = launch("idle"), b = launch("idle");
	settle();
	char want[64];
	char *r = consolef("ping :%08x", a);
	assert_true(ends_ok(r));
	assert_true(r[0] >= '0' && r[0] <= '9');   /* centiseconds */
	free(r);
	refused("ping :7fffff00", "error: no service :7fffff00");
	r = consolef("kill :%08x", a);
	snprintf(want, sizeof(want), ":%08x\tidle\n<CMD OK>\n", a);
	assert_string_equal(r, want);
	free(r);
	assert_int_equal(host_service_busy(a), -1);
	r = consolef("exit %x", b & 0xffffff);   /* skynet's short form: the harbor is added */
	assert_string_equal(r, "<CMD OK>\n");
	free(r);
	long long end = net_now_ms() + WAIT_MS;
	while (host_service_busy(b) >= 0)
		assert_true(net_now_ms() < end);
	refused("kill :0", "error: handle 0 is the host's own threads");
}

static void test_setlimit(void **state) {
	(void)state;
	char want[64];
	char *r = console("setlimit :0 1");
	has(r, "error: handle 0 is the host's own threads, not a service: no limit");
	assert_true(ends_error(r));
	free(r);
	refused("setlimit :7fffff00 1", "error: no service :7fffff00: no limit set");
	assert_int_equal(skynet_mem_stat(0x7fffff00u, &(struct skynet_mem_stat){ 0 }), -1);
	r = consolef("setlimit :%08x 5000000", alloc_h);
	snprintf(want, sizeof(want), ":%08x\t0\n<CMD OK>\n", alloc_h);
	assert_string_equal(r, want);
	free(r);
	assert_int_equal(skynet_mem_get_limit(alloc_h), 5000000);
	r = consolef("setlimit :%08x 0", alloc_h);
	snprintf(want, sizeof(want), ":%08x\t5000000\n<CMD OK>\n", alloc_h);
	assert_string_equal(r, want);
	free(r);
	r = consolef("setlimit :%08x lots", alloc_h);
	has(r, "error: bad limit 'lots'");
	free(r);
	/* the views list every service afterwards */
	r = console("cmem");
	snprintf(want, sizeof(want), ":%08x\t", alloc_h);
	has(r, want);
	free(r);
}

/* guard :h N turns guarding on and off (release builds) and shows the figures. */
static void test_guard(void **state) {
	(void)state;
	if (skynet_mem_has_check()) {
		refused("guard :00000001 1", "error: not in MEMORY_CHECK builds");
		return;
	}
	char *r = consolef("guard :%08x 1000", alloc_h);
	has(r, "\nevery\t1000\n");
	has(r, "\nprevious\t0\n");
	has(r, "\nslots\t");
	assert_int_equal(strncmp(r, "blocks\t", 7), 0);   /* sorted by key */
	assert_true(ends_ok(r));
	free(r);
	assert_int_equal(skynet_mem_guard_every(alloc_h), 1000);
	r = consolef("guard :%08x", alloc_h);
	has(r, "\nevery\t1000\n");
	assert_true(ends_ok(r));
	free(r);
	r = consolef("guard :%08x 0", alloc_h);
	has(r, "\nevery\t0\n");
	has(r, "\nprevious\t1000\n");
	free(r);
	assert_int_equal(skynet_mem_guard_every(alloc_h), 0);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "guard :%08x lots", alloc_h);
	refused(cmd, "error: bad every 'lots' (want 0 (stop) to 4294967295)");
	snprintf(cmd, sizeof(cmd), "guard :%08x -1", alloc_h);
	refused(cmd, "error: bad every '-1'");
}

/* grow: who grew most over the window; other clients are served meanwhile. */
static void test_grow(void **state) {
	(void)state;
	int port = host_console_port();
	int g = console_open(port);
	const char cmd[] = "grow 1 3\n";
	assert_int_equal(send(g, cmd, sizeof(cmd) - 1, 0), (ssize_t)(sizeof(cmd) - 1));
	/* 50 KB every 10 cs for 2 s: whenever the window starts, it grows most */
	uint32_t h = launch("grower 10 5000 10 20");
	char *other = console("list");   /* answered while grow waits */
	assert_true(ends_ok(other));
	free(other);
	char *r = console_answer(g);
	close(g);
	assert_int_equal(probe_wait(h, "done", NULL, 0), 0);
	char want[64];
	snprintf(want, sizeof(want), ":%08x\tgrower\tgrowth:+", h);
	assert_int_equal(strncmp(r, want, strlen(want)), 0);   /* first: the one that grew most */
	assert_int_equal(count_lines(r, ":"), 3);
	has(r, "\nwindow\t");
	assert_true(ends_ok(r));
	free(r);
	refused("grow 0", "error: bad count '0'");
}

/* "gc" really collects in every service, then answers as mem. */
static void test_gc(void **state) {
	(void)state;
	uint32_t h = launch("garbage");
	assert_int_equal(probe_wait(h, "done", NULL, 0), 0);
	settle();
	size_t before = stat_of(h).lua_bytes;
	assert_true(before > 2000000);
	char *r = console("gc");
	char want[64];
	snprintf(want, sizeof(want), ":%08x\t", h);
	has(r, want);
	has(r, " Kb (garbage)\n");
	assert_true(ends_ok(r));
	free(r);
	settle();
	assert_true(stat_of(h).lua_bytes < before / 4);   /* gc answered after collecting */
	host_exit_service(h);
}

/* A line past the limit is refused whole, not cut and run; the connection
 * goes on. */
static void test_long_line(void **state) {
	(void)state;
	int fd = console_open(host_console_port());
	char line[2100];
	memset(line, 'x', sizeof(line));
	memcpy(line, "cmem", 4);   /* the old console ran its first 511 bytes */
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(send(fd, line, sizeof(line), 0), (ssize_t)sizeof(line));
	char *r = console_answer(fd);
	assert_string_equal(r, "error: line longer than 1023 bytes, not run\n<CMD Error>\n");
	free(r);
	r = console_on(fd, "list");
	assert_true(ends_ok(r));
	assert_null(strstr(r, "error"));
	free(r);
	close(fd);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skynet_shapes),
		cmocka_unit_test(test_stat_live_and_exited),
		cmocka_unit_test(test_leaks_only),
		cmocka_unit_test(test_heap),
		cmocka_unit_test(test_kill_exit_ping),
		cmocka_unit_test(test_setlimit),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_long_line),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
