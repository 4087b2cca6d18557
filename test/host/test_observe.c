/* The operator's views of a running host: the debug console, /metrics
 * (checked by promtool) and /memory.json, with exact figures. */

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host_test.h"

static uint32_t alloc_h, labelled_h;

static int setup(void **state) {
	(void)state;
	if (start_host(0, 0) != 0)
		return -1;
	alloc_h = host_launch("snlua", "alloc 5 300");
	labelled_h = host_launch("snlua", "labelled");
	if (probe_wait(alloc_h, "done", NULL, 0) != 0 || probe_wait(labelled_h, "done", NULL, 0) != 0)
		return -1;
	settle();
	return 0;
}

static int teardown(void **state) {
	(void)state;
	host_stop();
	return 0;
}

static int connect_port(int port) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads until the marker (or EOF); returns a malloc'd string. */
static char *read_until(int fd, const char *marker) {
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (marker && strstr(buf, marker))
			break;
	}
	buf[len] = '\0';
	return buf;
}

static char *console(const char *cmd) {
	int fd = connect_port(host_console_port());
	char line[256];
	snprintf(line, sizeof(line), "%s\n", cmd);
	assert_int_equal(send(fd, line, strlen(line), 0), (ssize_t)strlen(line));
	char *r = read_until(fd, "<CMD END>\n");
	close(fd);
	assert_non_null(strstr(r, "<CMD END>\n"));
	return r;
}

/* A whole HTTP/1.0 exchange; returns the response, headers included. */
static char *http(const char *method, const char *path) {
	int fd = connect_port(host_http_port());
	char req[256];
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", method, path);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	char *r = read_until(fd, NULL);
	close(fd);
	return r;
}

static void test_console_commands(void **state) {
	(void)state;
	char want[256];
	struct skynet_mem_stat st = stat_of(alloc_h);
	char *r = console("stat :%08x");   /* literal, not a handle */
	assert_non_null(strstr(r, "error: bad handle"));
	free(r);
	snprintf(want, sizeof(want), "stat :%08x", alloc_h);
	r = console(want);
	snprintf(want, sizeof(want), "handle :%08x\nname alloc\nbytes %zu\nblocks %zu\nlua_bytes %zu\n",
		alloc_h, st.bytes, st.blocks, st.lua_bytes);
	assert_non_null(strstr(r, want));
	free(r);
	r = console("stat :7fffff00");
	assert_non_null(strstr(r, "error: no service :7fffff00"));
	free(r);
	r = console("frobnicate now");
	assert_non_null(strstr(r, "error: unknown command 'frobnicate'"));
	free(r);
	r = console("list");
	snprintf(want, sizeof(want), ":%08x alloc", alloc_h);
	assert_non_null(strstr(r, want));
	free(r);
	r = console("cmem");
	snprintf(want, sizeof(want), ":%08x alloc          %zu bytes %zu blocks\n", alloc_h, st.bytes, st.blocks);
	assert_non_null(strstr(r, want));
	free(r);
	r = console("mem");
	snprintf(want, sizeof(want), ":%08x alloc          %zu bytes", alloc_h, st.lua_bytes);
	assert_non_null(strstr(r, want));
	free(r);
	r = console("top 2");
	int lines = 0;
	for (char *p = r; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 3);   /* two services and the end marker */
	free(r);
	r = console("top zero");
	assert_non_null(strstr(r, "error: bad count"));
	free(r);
	r = console("gc");
	assert_non_null(strstr(r, "gc requested in "));
	free(r);
	r = console("jmem");
	assert_non_null(strstr(r, skynet_mem_has_jemalloc() ? "resident " : "error: built without jemalloc"));
	free(r);
	r = console("help");
	assert_non_null(strstr(r, "stat HANDLE"));
	free(r);
	r = console("check");
	assert_non_null(strstr(r, skynet_mem_has_check() ? "0 damaged blocks\n" : "error: not a MEMORY_CHECK build"));
	free(r);
}

/* "gc" really collects in every service (asynchronously: poll the record). */
static void test_console_gc(void **state) {
	(void)state;
	uint32_t h = host_launch("snlua", "garbage");
	assert_int_equal(probe_wait(h, "done", NULL, 0), 0);
	settle();
	size_t before = stat_of(h).lua_bytes;
	assert_true(before > 2000000);
	char *r = console("gc");
	assert_non_null(strstr(r, "gc requested in "));
	free(r);
	struct timespec start, now, pause = { 0, 1000000 };
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (stat_of(h).lua_bytes > before / 4) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 > WAIT_MS)
			fail_msg("gc did not shrink the Lua heap: %zu of %zu left", stat_of(h).lua_bytes, before);
		nanosleep(&pause, NULL);
	}
	host_exit_service(h);
}

static void test_metrics(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st = stat_of(alloc_h);
	char *r = http("GET", "/metrics");
	assert_non_null(strstr(r, "HTTP/1.0 200") ? r : strstr(r, "HTTP/1.1 200"));
	char want[256];
	snprintf(want, sizeof(want), "skynet_mem_service_c_bytes{handle=\":%08x\",name=\"alloc\"} %zu\n", alloc_h, st.bytes);
	assert_non_null(strstr(r, want));
	snprintf(want, sizeof(want), "skynet_mem_service_blocks{handle=\":%08x\",name=\"alloc\"} %zu\n", alloc_h, st.blocks);
	assert_non_null(strstr(r, want));
	snprintf(want, sizeof(want), "skynet_mem_service_lua_bytes{handle=\":%08x\",name=\"alloc\"} %zu\n", alloc_h, st.lua_bytes);
	assert_non_null(strstr(r, want));
	/* the escaped name: we"ird\na<newline>me */
	snprintf(want, sizeof(want), "{handle=\":%08x\",name=\"we\\\"ird\\\\na\\nme\"}", labelled_h);
	assert_non_null(strstr(r, want));
	assert_non_null(strstr(r, "# TYPE skynet_mem_c_bytes gauge\n"));
	if (skynet_mem_has_jemalloc())
		assert_non_null(strstr(r, "skynet_mem_jemalloc_resident_bytes "));
	/* promtool (Debian's prometheus package) must accept the body */
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	char path[] = "/tmp/skynet-host-metrics-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(body + 4);
	assert_int_equal(write(fd, body + 4, len), (ssize_t)len);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	int rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
	free(r);
}

static void test_memory_json(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st = stat_of(alloc_h);
	char *r = http("GET", "/memory.json");
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	json_error_t err;
	json_t *root = json_loads(body + 4, 0, &err);
	assert_non_null(root);
	json_t *services = json_object_get(root, "services");
	assert_true(json_is_array(services));
	int seen = 0;
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
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
	assert_true(json_is_object(json_object_get(root, "totals")));
	json_decref(root);
	free(r);
}

static void test_http_errors(void **state) {
	(void)state;
	char *r = http("GET", "/nope");
	assert_non_null(strstr(r, " 404 "));
	free(r);
	r = http("POST", "/metrics");
	assert_non_null(strstr(r, " 405 "));
	assert_non_null(strstr(r, "Allow: GET, HEAD"));
	free(r);
	r = http("DELETE", "/memory.json");
	assert_non_null(strstr(r, " 405 "));
	free(r);
	/* garbage instead of HTTP: a 4xx or a closed connection, and the server lives on */
	int fd = connect_port(host_http_port());
	const char junk[] = "\x01\x02 garbage\r\n\r\n";
	send(fd, junk, sizeof(junk) - 1, 0);
	char *g = read_until(fd, NULL);
	assert_true(g[0] == '\0' || strstr(g, " 400 ") != NULL);
	free(g);
	close(fd);
	r = http("GET", "/metrics");
	assert_non_null(strstr(r, " 200 "));
	free(r);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_commands),
		cmocka_unit_test(test_console_gc),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_memory_json),
		cmocka_unit_test(test_http_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
