/* The operator's HTTP views of a running host: /metrics (checked by
 * promtool; awkward names, top N, mailbox length) and /memory.json with exact
 * figures; the per-address limit and the timeout; views that fail whole;
 * limits refused on handle 0 and unknown handles. */

#include <jansson.h>

#include "host_test.h"
#include "net_test.h"
#include "observe.h"

static uint32_t alloc_h, labelled_h, names_h;

/* The names namer.lua gives its services, as Prometheus label values
 * (escaped, invalid bytes as U+FFFD) and as JSON strings. */
#define FFFD "\xef\xbf\xbd"
#define FANG "\xe6\x88\xbf"   /* 房 */
#define FANG5 FANG FANG FANG FANG FANG
static const char *const label_names[8] = {
	"room 房间一二三四五六七八九", "🎮 player 😀", "say \\\"hi\\\"", "C:\\\\path\\\\x",
	"two\\nlines", "bad " FFFD FFFD " end", "a" FANG5 FANG5 FANG5 FANG5, "cut " FFFD FFFD,
};
static const char *const json_names[8] = {
	"room 房间一二三四五六七八九", "🎮 player 😀", "say \"hi\"", "C:\\path\\x",
	"two\nlines", "bad " FFFD FFFD " end", "a" FANG5 FANG5 FANG5 FANG5, "cut " FFFD FFFD,
};

static int setup(void **state) {
	(void)state;
	struct host_config cfg = { .http_per_ip = 4, .http_timeout = 2 };
	if (start_host_with(0, 0, &cfg) != 0)
		return -1;
	alloc_h = host_launch("snlua", "alloc 5 300");
	labelled_h = host_launch("snlua", "labelled");
	names_h = host_launch("snlua", "names probe");
	if (probe_wait(alloc_h, "done", NULL, 0) != 0 || probe_wait(labelled_h, "done", NULL, 0) != 0
		|| probe_wait(names_h, "done", NULL, 0) != 0)
		return -1;
	settle();
	return 0;
}

/* promtool (Debian's prometheus package) must accept the body. */
static void promtool_accepts(const char *body) {
	char path[] = "/tmp/skynet-host-metrics-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(body);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	int rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

static int teardown(void **state) {
	(void)state;
	host_stop();
	return 0;
}

/* One exchange with the host, whose status line must carry status (HTTP/1.0
 * or 1.1); the answer, for the caller's further checks. */
static char *http_status(const char *method, const char *path, int status) {
	char *r = http_at(host_http_port(), method, path);
	char code[8];
	snprintf(code, sizeof(code), " %d ", status);
	if (strncmp(r, "HTTP/1.", 7) != 0 || strncmp(r + 8, code, strlen(code)) != 0)
		fail_msg("%s %s: want %d, got '%.60s'", method, path, status, r);
	return r;
}

/* /debug/heap: a service's sampled heap as the text jeprof reads. */
static void test_debug_heap(void **state) {
	(void)state;
	char path[64];
	snprintf(path, sizeof(path), "/debug/heap?service=:%08x", alloc_h);
	char *r = http_status("GET", path, 200);
	assert_non_null(strstr(r, "\r\n\r\nheap profile: "));
	assert_non_null(strstr(r, "\nMAPPED_LIBRARIES:\n"));
	free(r);
	free(http_status("GET", "/debug/heap?service=all&format=folded", 200));
}

static void test_metrics(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st = stat_of(alloc_h);
	char *r = http_status("GET", "/metrics", 200);
	char want[512];
	snprintf(want, sizeof(want), "skynet_mem_service_c_bytes{handle=\":%08x\",name=\"alloc\"} %zu\n", alloc_h, st.bytes);
	assert_non_null(strstr(r, want));
	snprintf(want, sizeof(want), "skynet_mem_service_blocks{handle=\":%08x\",name=\"alloc\"} %zu\n", alloc_h, st.blocks);
	assert_non_null(strstr(r, want));
	snprintf(want, sizeof(want), "skynet_mem_service_lua_bytes{handle=\":%08x\",name=\"alloc\"} %zu\n", alloc_h, st.lua_bytes);
	assert_non_null(strstr(r, want));
	/* the second Lua figure, Lua's own count: named apart, smaller than the charge */
	snprintf(want, sizeof(want), "skynet_mem_service_lua_mem_bytes{handle=\":%08x\",name=\"alloc\"} ", alloc_h);
	const char *own = strstr(r, want);
	assert_non_null(own);
	long long mem = atoll(own + strlen(want));
	assert_true(mem > 0 && (size_t)mem <= st.lua_bytes);   /* equal under ASan: no size classes */
	/* the escaped name: we"ird\na<newline>me */
	snprintf(want, sizeof(want), "{handle=\":%08x\",name=\"we\\\"ird\\\\na\\nme\"}", labelled_h);
	assert_non_null(strstr(r, want));
	assert_non_null(strstr(r, "# TYPE skynet_mem_c_bytes gauge\n"));
	if (skynet_mem_has_jemalloc())
		assert_non_null(strstr(r, "skynet_mem_jemalloc_resident_bytes "));
	/* every awkward name is there, valid UTF-8 and escaped */
	for (int i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), ",name=\"%s\"} ", label_names[i]);
		if (strstr(r, want) == NULL)
			fail_msg("no series named %s", label_names[i]);
	}
	assert_non_null(strstr(r, "# TYPE skynet_mem_service_mailbox_messages gauge\n"));
	snprintf(want, sizeof(want), "skynet_mem_service_mailbox_messages{handle=\":%08x\",name=\"alloc\"} 0\n", alloc_h);
	assert_non_null(strstr(r, want));
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	promtool_accepts(body + 4);
	free(r);
}

static void test_memory_json(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st = stat_of(alloc_h);
	char *r = http_status("GET", "/memory.json", 200);
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	json_error_t err;
	json_t *root = json_loads(body + 4, 0, &err);
	assert_non_null(root);
	json_t *services = json_object_get(root, "services");
	assert_true(json_is_array(services));
	int seen = 0, named[8] = { 0 };
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		assert_non_null(name);   /* every row keeps its name */
		for (int k = 0; k < 8; k++)
			named[k] += strcmp(name, json_names[k]) == 0;
		uint32_t h = (uint32_t)json_integer_value(json_object_get(s, "id"));
		if (h == alloc_h) {
			seen++;
			assert_string_equal(json_string_value(json_object_get(s, "name")), "alloc");
			assert_int_equal(json_integer_value(json_object_get(s, "c_bytes")), st.bytes);
			assert_int_equal(json_integer_value(json_object_get(s, "blocks")), st.blocks);
			assert_int_equal(json_integer_value(json_object_get(s, "lua_bytes")), st.lua_bytes);
		} else if (h == labelled_h) {
			seen++;
			assert_string_equal(json_string_value(json_object_get(s, "name")), "we\"ird\\na\nme");
		}
	}
	assert_int_equal(seen, 2);
	for (int k = 0; k < 8; k++)
		if (named[k] != 1)
			fail_msg("/memory.json has %d services named %s", named[k], json_names[k]);
	assert_true(json_is_object(json_object_get(root, "totals")));
	json_decref(root);
	free(r);
}

static void test_http_errors(void **state) {
	(void)state;
	free(http_status("GET", "/nope", 404));
	char *r = http_status("POST", "/metrics", 405);
	assert_non_null(strstr(r, "Allow: GET, HEAD"));
	free(r);
	free(http_status("DELETE", "/memory.json", 405));
	/* garbage instead of HTTP: a 4xx or a closed connection, and the server lives on */
	int fd = connect_port(host_http_port());
	const char junk[] = "\x01\x02 garbage\r\n\r\n";
	send(fd, junk, sizeof(junk) - 1, 0);
	char *g = read_until(fd, NULL);
	assert_true(g[0] == '\0' || strstr(g, " 400 ") != NULL);
	free(g);
	close(fd);
	free(http_status("GET", "/metrics", 200));
	r = http_status("GET", "/debug/heap?service=zz", 400);
	assert_non_null(strstr(r, "service wants"));
	free(r);
	free(http_status("GET", "/debug/heap?service=all&format=svg", 400));
	/* no record: 404, as skynet's memory_web */
	free(http_status("GET", "/debug/heap?service=:7fffff00", 404));
	free(http_status("GET", "/debug/heap?service=.nosuchname", 404));
	r = http_status("GET", "/metrics?top=many", 400);
	assert_non_null(strstr(r, "top wants a count"));
	free(r);
}

/* The services with their own series on a ?top= page are the biggest (C +
 * Lua bytes): none left in "rest" is bigger than the smallest kept. Handle 0
 * is left out of the comparison: the host's own threads (HTTP's among them)
 * allocate between the scrape and the view. The services are idle. */
static void top_rows_are_the_biggest(const char *body) {
	struct host_mem_view v;
	assert_int_equal(host_mem_view(&v), 0);
	static const char prefix[] = "skynet_mem_service_c_bytes{handle=\":";
	size_t min_kept = SIZE_MAX, max_rest = 0;
	int kept_services = 0;
	for (size_t i = 0; i < v.n; i++) {
		const struct host_mem_row *row = &v.rows[i];
		if (row->st.handle == 0)
			continue;
		char want[64];
		snprintf(want, sizeof(want), "%s%08x\"", prefix, row->st.handle);
		int kept = strstr(body, want) != NULL;
		size_t total = row->st.bytes + row->st.lua_bytes;
		if (kept) {
			kept_services++;
			if (total < min_kept)
				min_kept = total;
		} else if (total > max_rest) {
			max_rest = total;
		}
	}
	host_mem_view_free(&v);
	assert_true(kept_services >= 2);   /* 3 kept, handle 0 perhaps among them */
	if (max_rest > min_kept)
		fail_msg("a service of %zu bytes is in rest while one of %zu has its own series", max_rest, min_kept);
}

/* ?top=N: N services with their own series, one "rest" series per summed
 * metric, and how many services it holds. */
static void test_metrics_top(void **state) {
	(void)state;
	char *all = http_status("GET", "/metrics", 200);
	int rows = count_lines(strstr(all, "\r\n\r\n") + 4, "skynet_mem_service_c_bytes{handle=\":");
	assert_true(rows > 10);
	free(all);
	char *r = http_status("GET", "/metrics?top=3", 200);
	char *body = strstr(r, "\r\n\r\n") + 4;
	assert_int_equal(count_lines(body, "skynet_mem_service_c_bytes{handle=\":"), 3);
	assert_int_equal(count_lines(body, "skynet_mem_service_c_bytes{handle=\"rest\",name=\"rest\"} "), 1);
	assert_int_equal(count_lines(body, "skynet_mem_service_mailbox_messages{handle=\"rest\",name=\"rest\"} "), 1);
	assert_int_equal(count_lines(body, "skynet_mem_service_limit_bytes{handle=\"rest\""), 0);   /* not summed */
	char want[128];
	snprintf(want, sizeof(want), "\nskynet_mem_services_in_rest %d\n", rows - 3);
	assert_non_null(strstr(body, want));
	top_rows_are_the_biggest(body);
	promtool_accepts(body);
	free(r);
	r = http_status("GET", "/metrics?top=0", 200);   /* 0: all of them */
	assert_int_equal(count_lines(strstr(r, "\r\n\r\n") + 4, "skynet_mem_service_c_bytes{handle=\":"), rows);
	free(r);
}

/* A C service that blocks in its callback until released: messages pile up
 * in its mailbox. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open, inside;
} G = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

static int gate_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	(void)ctx, (void)ud, (void)type, (void)session, (void)source, (void)msg, (void)sz;
	pthread_mutex_lock(&G.lock);
	G.inside = 1;
	pthread_cond_broadcast(&G.cond);
	while (!G.open)
		pthread_cond_wait(&G.cond, &G.lock);
	pthread_mutex_unlock(&G.lock);
	return 0;
}

static int gate_init(void *inst, struct skynet_context *ctx, const char *param) {
	(void)inst, (void)param;
	skynet_callback(ctx, NULL, gate_cb);
	return 0;
}

static const struct skynet_module gate_module = { "gate", small_create, gate_init, small_release, NULL };

static void test_mailbox_length(void **state) {
	(void)state;
	host_module_register(&gate_module);
	uint32_t h = host_launch("gate", "");
	assert_true(h != 0);
	for (int i = 0; i < 6; i++)
		assert_true(skynet_send_copy(NULL, h, PTYPE_TEXT, 0, "x", 1) >= 0);
	struct timespec dl = deadline_in(WAIT_MS);
	pthread_mutex_lock(&G.lock);
	while (!G.inside)
		assert_int_equal(pthread_cond_timedwait(&G.cond, &G.lock, &dl), 0);
	pthread_mutex_unlock(&G.lock);
	/* one message is being handled, five wait */
	struct host_service_load l;
	assert_int_equal(host_service_load(h, &l), 0);
	assert_int_equal(l.mqlen, 5);
	char want[160];
	char *r = http_status("GET", "/metrics", 200);
	snprintf(want, sizeof(want), "skynet_mem_service_mailbox_messages{handle=\":%08x\",name=\"gate\"} 5\n", h);
	assert_non_null(strstr(r, want));
	free(r);
	r = http_status("GET", "/memory.json", 200);
	assert_non_null(strstr(r, "\"mailbox\": 5"));
	free(r);
	pthread_mutex_lock(&G.lock);
	G.open = 1;
	pthread_cond_broadcast(&G.cond);
	pthread_mutex_unlock(&G.lock);
	settle();
	assert_int_equal(host_service_load(h, &l), 0);
	assert_int_equal(l.mqlen, 0);
	assert_int_equal(l.messages, 6);
	host_exit_service(h);
}

/* 1 when the server closes fd (EOF or reset) within ms. */
static int closed_within(int fd, int ms) {
	int closed;
	char *r = read_until_ms(fd, NULL, ms, &closed);
	free(r);
	return closed;
}

/* The setup's limit of 4 connections per address: the fifth from 127.0.0.1
 * is closed at once; another address still gets /metrics. */
static void test_http_per_ip_limit(void **state) {
	(void)state;
	int fd[4];
	for (int i = 0; i < 4; i++)
		fd[i] = connect_port(host_http_port());
	int extra = connect_port(host_http_port());
	assert_true(closed_within(extra, NET_WAIT_MS));
	close(extra);
	char *r = http_from("127.0.0.2", host_http_port(), "GET", "/metrics");
	assert_non_null(strstr(r, " 200 "));
	free(r);
	for (int i = 0; i < 4; i++)
		close(fd[i]);
}

/* The setup's 2 s timeout: a half-open connection (half a request) is closed. */
static void test_http_timeout(void **state) {
	(void)state;
	int fd = connect_from("127.0.0.3", host_http_port());
	const char half[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	assert_int_equal(send(fd, half, sizeof(half) - 1, 0), (ssize_t)(sizeof(half) - 1));
	long long t0 = net_now_ms();
	assert_true(closed_within(fd, NET_WAIT_MS));
	assert_true(net_now_ms() - t0 >= 1000);   /* by the timeout, not at once */
	close(fd);
}

/* A view that cannot be built fails whole instead of dropping rows: a
 * thread charged to a service at its limit cannot allocate the snapshot. */
static void test_view_fails_whole(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st = stat_of(alloc_h);
	assert_int_equal(skynet_mem_set_limit(alloc_h, st.bytes + st.lua_bytes), 0);
	skynet_mem_set_current(alloc_h);
	struct host_mem_view v;
	int rc = host_mem_view(&v);
	int each = host_foreach_service(count_busy, &(int){ 0 });
	skynet_mem_set_current(0);
	assert_int_equal(skynet_mem_set_limit(alloc_h, 0), 0);
	assert_int_equal(each, -1);
	assert_int_equal(rc, -1);
	assert_null(v.rows);
	assert_int_equal(v.n, 0);
	assert_int_equal(host_mem_view(&v), 0);   /* and again once it fits */
	assert_non_null(host_mem_find(&v, alloc_h));
	host_mem_view_free(&v);
}

/* Limits only on live services: handle 0 and unknown handles are refused. */
static void test_setlimit_refused(void **state) {
	(void)state;
	errno = 0;
	assert_int_equal(skynet_mem_set_limit(0, 1), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(skynet_mem_set_limit(0x7fffff00u, 1), -1);
	assert_int_equal(errno, ESRCH);
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(0x7fffff00u, &st), -1);   /* no record made */
	assert_int_equal(skynet_mem_get_limit(0), 0);
	/* the views still list every service */
	char *r = http_status("GET", "/metrics", 200);
	char want[128];
	snprintf(want, sizeof(want), "skynet_mem_service_c_bytes{handle=\":%08x\",name=\"alloc\"} ", alloc_h);
	assert_non_null(strstr(r, want));
	free(r);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_debug_heap),
		cmocka_unit_test(test_memory_json),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_metrics_top),
		cmocka_unit_test(test_mailbox_length),
		cmocka_unit_test(test_http_per_ip_limit),
		cmocka_unit_test(test_http_timeout),
		cmocka_unit_test(test_view_fails_whole),
		cmocka_unit_test(test_setlimit_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
