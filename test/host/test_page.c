/* The live page: the history ring stays bounded, /history.json carries the
 * samples, exit reports, limit hits and exited services, and a headless
 * Chromium (Debian's chromium) draws the page from a running host: rows with
 * the host's exact figures, a chart with points, a leak row. The screenshot
 * is left in the build folder (PAGE_OUT_DIR/page-screenshot.png). */

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host_test.h"
#include "observe.h"
#include "page.h"

#define MIN_SAMPLES 4
#define LEAK_BLOCKS 3
#define LEAK_SIZE 2000
#define HOG_LIMIT 300000

static uint32_t alloc_h, leaky_h, hog_h;
static struct host_exit_report leak;

/* Without the host: 700 samples of 50 services keep 600, each with the 8
 * largest services, largest first; ?since= keeps the newer ones. */
static void test_history_bounded(void **state) {
	(void)state;
	struct host_mem_view v = { 0 };
	v.rows = calloc(50, sizeof(v.rows[0]));
	assert_non_null(v.rows);
	v.n = 50;
	for (int t = 1; t <= 700; t++) {
		for (size_t i = 0; i < v.n; i++) {
			v.rows[i].st.handle = (uint32_t)(0x01000000 + i);
			v.rows[i].st.bytes = (i * 7919 + (size_t)t) % 1000;   /* a shuffled order */
			v.rows[i].st.lua_bytes = i;
			snprintf(v.rows[i].name, sizeof(v.rows[i].name), "s%zu", i);
		}
		v.g.totals.bytes = (size_t)t;
		history_add(&v, (uint64_t)t * 1000);
	}
	struct mem_history_sample *s;
	long n = history_copy(0, &s);
	assert_int_equal(n, HISTORY_SAMPLES);
	assert_int_equal(s[0].t_ms, (700 - HISTORY_SAMPLES + 1) * 1000);
	assert_int_equal(s[n - 1].t_ms, 700000);
	for (long k = 0; k < n; k++) {
		assert_int_equal(s[k].ntop, HISTORY_TOP);
		size_t above = 0, last = s[k].top[HISTORY_TOP - 1].c_bytes + s[k].top[HISTORY_TOP - 1].lua_bytes;
		for (int j = 1; j < HISTORY_TOP; j++)
			assert_true(s[k].top[j - 1].c_bytes + s[k].top[j - 1].lua_bytes
				>= s[k].top[j].c_bytes + s[k].top[j].lua_bytes);
		/* no service left out is larger than the smallest one kept */
		uint64_t t = s[k].t_ms / 1000;
		for (size_t i = 0; i < v.n; i++)
			above += (i * 7919 + t) % 1000 + i > last;
		assert_true(above < HISTORY_TOP);
	}
	free(s);
	n = history_copy(699000, &s);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].t_ms, 700000);
	free(s);
	free(v.rows);
}

static int setup(void **state) {
	(void)state;
	if (start_host(-1, 0) != 0)
		return -1;
	alloc_h = host_launch("snlua", "alloc 5 300");
	char param[64];
	snprintf(param, sizeof(param), "leaky %d %d", LEAK_BLOCKS, LEAK_SIZE);
	leaky_h = host_launch("snlua", param);
	snprintf(param, sizeof(param), "hog %d", HOG_LIMIT);
	hog_h = host_launch("snlua", param);
	if (probe_wait(alloc_h, "done", NULL, 0) != 0 || report_wait(leaky_h, &leak) != 0
		|| probe_wait(hog_h, "hit", NULL, 0) != 0)
		return -1;
	settle();
	/* the page's charts want a few samples: one a second (poll, deadline) */
	for (int i = 0; i < 200; i++) {
		struct mem_history_sample *s;
		long n = history_copy(0, &s);
		free(s);
		if (n >= MIN_SAMPLES)
			return 0;
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	return -1;
}

static int teardown(void **state) {
	(void)state;
	host_stop();
	return 0;
}

static char last_type[128];   /* Content-Type of the last answer */

/* GET path from the host; returns the body (malloc'd), *code the status. */
static char *http_get(const char *path, int *code) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)host_http_port()) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[256];
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", code), 1);
	char *body = strstr(buf, "\r\n\r\n");
	assert_non_null(body);
	char *r = strdup(body + 4);
	const char *ct = strstr(buf, "Content-Type: ");
	last_type[0] = '\0';
	if (ct && ct < body)
		sscanf(ct, "Content-Type: %127[^\r]", last_type);
	free(buf);
	return r;
}

static void test_page_files(void **state) {
	(void)state;
	int code;
	char *b = http_get("/", &code);
	assert_int_equal(code, 200);
	assert_string_equal(last_type, "text/html; charset=utf-8");
	assert_non_null(strstr(b, "<script src=\"app.js\">"));
	free(b);
	b = http_get("/app.js", &code);
	assert_int_equal(code, 200);
	assert_non_null(strstr(b, "history.json"));
	assert_string_equal(last_type, "text/javascript; charset=utf-8");
	free(b);
	const char *bad[] = { "/../CMakeLists.txt", "/%2e%2e/page.c", "/web/index.html", "/nope.css", "/.css" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = http_get(bad[i], &code);
		assert_int_equal(code, 404);
		free(b);
	}
	b = http_get("/history.json?since=-5", &code);
	assert_int_equal(code, 400);
	assert_non_null(strstr(b, "since wants milliseconds"));
	free(b);
}

static json_t *find_by_handle(json_t *array, uint32_t h) {
	char want[16];
	snprintf(want, sizeof(want), ":%08x", h);
	size_t i;
	json_t *e;
	json_array_foreach(array, i, e)
		if (strcmp(json_string_value(json_object_get(e, "handle")), want) == 0)
			return e;
	return NULL;
}

static size_t geti(json_t *o, const char *key) {
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	return (size_t)json_integer_value(v);
}

static void test_history_json(void **state) {
	(void)state;
	int code;
	char *b = http_get("/history.json", &code);
	assert_int_equal(code, 200);
	json_error_t err;
	json_t *root = json_loads(b, 0, &err);
	assert_non_null(root);
	free(b);
	json_t *samples = json_object_get(root, "samples");
	assert_true(json_array_size(samples) >= MIN_SAMPLES);
	assert_int_equal(geti(root, "capacity"), HISTORY_SAMPLES);
	json_t *last = json_array_get(samples, json_array_size(samples) - 1);
	json_t *top = json_object_get(last, "top");
	assert_true(json_array_size(top) <= HISTORY_TOP);
	/* the sampler's top: the alloc service with its exact C bytes and its name */
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(alloc_h, &st), 0);
	char h[16];
	snprintf(h, sizeof(h), ":%08x", alloc_h);
	int seen = 0;
	for (size_t i = 0; i < json_array_size(top); i++) {
		json_t *e = json_array_get(top, i);
		if (strcmp(json_string_value(json_array_get(e, 0)), h) == 0) {
			assert_int_equal(json_integer_value(json_array_get(e, 1)), st.bytes);
			seen = 1;
		}
	}
	assert_true(seen);
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "names"), h)), "alloc");
	assert_true(geti(last, "resident") > geti(last, "c"));
	/* the leaky service's exit report, its leftovers and the hog's hits */
	json_t *r = find_by_handle(json_object_get(root, "exits"), leaky_h);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "leak")));
	assert_int_equal(geti(r, "blocks"), LEAK_BLOCKS);
	assert_blocks_cost(leak.bytes, LEAK_BLOCKS, LEAK_SIZE);
	assert_int_equal(geti(r, "bytes"), leak.bytes);
	json_t *x = find_by_handle(json_object_get(root, "exited"), leaky_h);
	assert_non_null(x);
	assert_int_equal(geti(x, "c_bytes"), leak.bytes);
	assert_string_equal(json_string_value(json_object_get(x, "name")), "leaky");
	json_t *hit = find_by_handle(json_object_get(root, "limit_hits"), hog_h);
	assert_non_null(hit);
	assert_int_equal(geti(hit, "limit"), HOG_LIMIT);
	assert_true(geti(root, "limit_refusals") >= 2);   /* the C block, then Lua */
	/* since: only newer samples */
	char path[64];
	snprintf(path, sizeof(path), "/history.json?since=%zu", geti(last, "t"));
	b = http_get(path, &code);
	json_t *newer = json_loads(b, 0, &err);
	assert_non_null(newer);
	json_t *ns = json_object_get(newer, "samples");
	for (size_t i = 0; i < json_array_size(ns); i++)
		assert_true(geti(json_array_get(ns, i), "t") > geti(last, "t"));
	json_decref(newer);
	free(b);
	json_decref(root);
	b = http_get("/metrics", &code);
	assert_non_null(strstr(b, "\nskynet_mem_process_resident_bytes "));
	assert_non_null(strstr(b, "\nskynet_mem_limit_refusals_total "));
	free(b);
}

/* The row of handle in the dumped DOM (up to its </tr>), malloc'd, or NULL. */
static char *dom_row(const char *dom, const char *table_id, uint32_t h) {
	const char *t = strstr(dom, table_id);
	if (t == NULL)
		return NULL;
	char want[64];
	snprintf(want, sizeof(want), "<tr data-handle=\":%08x\"", h);
	const char *row = strstr(t, want);
	const char *end = row ? strstr(row, "</tr>") : NULL;
	const char *table_end = strstr(t, "</table>");
	if (row == NULL || end == NULL || (table_end && row > table_end))
		return NULL;
	return strndup(row, (size_t)(end - row));
}

static void assert_cell(const char *row, const char *cls, size_t v) {
	char want[96];
	snprintf(want, sizeof(want), "class=\"%s\" data-v=\"%zu\"", cls, v);
	if (strstr(row, want) == NULL)
		fail_msg("no %s in row %s", want, row);
}

/* Runs chromium headless on the page at path; returns its output (malloc'd). */
static char *chromium(const char *path, const char *args) {
	char cmd[1024], profile[] = "/tmp/page-chromium-XXXXXX";
	assert_non_null(mkdtemp(profile));
	snprintf(cmd, sizeof(cmd), "timeout 60 chromium --headless --no-sandbox --disable-gpu "
		"--disable-dev-shm-usage --no-first-run --user-data-dir=%s --virtual-time-budget=4000 "
		"%s 'http://127.0.0.1:%d%s' 2>/dev/null", profile, args, host_http_port(), path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 1 << 20, len = 0, n;
	char *out = malloc(cap);
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0)
		if ((len += n) + 1 == cap)
			out = realloc(out, cap *= 2);
	out[len] = '\0';
	int rc = pclose(p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", profile);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", profile);
	if (rc != 0)
		fail_msg("chromium failed (%d): is Debian's chromium installed? (scripts/install-deps.sh test)", rc);
	return out;
}

static void test_page_in_chromium(void **state) {
	(void)state;
	settle();
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(alloc_h, &st), 0);
	char *dom = chromium("/", "--dump-dom");
	assert_non_null(strstr(dom, "data-loaded=\"1\""));
	/* the alloc row: the host's exact figures for it */
	char *row = dom_row(dom, "id=\"services\"", alloc_h);
	assert_non_null(row);
	assert_non_null(strstr(row, ">alloc<"));
	assert_cell(row, "num c", st.bytes);
	assert_cell(row, "num lua", st.lua_bytes);
	assert_non_null(strstr(row, "class=\"num luamem\" data-v=\""));   /* Lua's own count, its own column */
	assert_cell(row, "num blocks", st.blocks);
	assert_true(st.blocks >= 5 && st.bytes >= 5 * class_of(300));
	free(row);
	/* the leaky service: an exited row with leftovers, a leak report */
	row = dom_row(dom, "id=\"services\"", leaky_h);
	assert_non_null(row);
	assert_non_null(strstr(row, "class=\"exited\""));
	assert_cell(row, "num c", leak.bytes);
	free(row);
	row = dom_row(dom, "id=\"exits\"", leaky_h);
	assert_non_null(row);
	assert_non_null(strstr(row, "class=\"leak\""));
	assert_cell(row, "num bytes", leak.bytes);
	assert_cell(row, "num blocks", LEAK_BLOCKS);
	free(row);
	/* the hog's limit hits */
	row = dom_row(dom, "id=\"limits\"", hog_h);
	assert_non_null(row);
	assert_cell(row, "num limit", HOG_LIMIT);
	free(row);
	/* the total's line has a point per sample */
	const char *line = strstr(dom, "data-series=\"C + Lua\" data-points=\"");
	assert_non_null(line);
	int points = atoi(line + strlen("data-series=\"C + Lua\" data-points=\""));
	assert_true(points >= MIN_SAMPLES);
	assert_non_null(strstr(dom, "id=\"chart-top\""));
	assert_non_null(strstr(strstr(dom, "id=\"chart-top\""), "<polyline"));
	free(dom);
	char shot[512];
	snprintf(shot, sizeof(shot), "--window-size=1280,1400 --screenshot=%s/page-screenshot.png", PAGE_OUT_DIR);
	free(chromium("/", shot));
	snprintf(shot, sizeof(shot), "%s/page-screenshot.png", PAGE_OUT_DIR);
	assert_int_equal(access(shot, R_OK), 0);
	printf("screenshot: %s\n", shot);
}

/* ?filter= and ?sort= (as typing in the filter box, clicking a heading). */
static void test_page_filter_sort(void **state) {
	(void)state;
	char *dom = chromium("/?filter=LEAK", "--dump-dom");
	assert_non_null(strstr(dom, "data-loaded=\"1\""));
	char *row = dom_row(dom, "id=\"services\"", leaky_h);
	assert_non_null(row);
	free(row);
	assert_null(dom_row(dom, "id=\"services\"", alloc_h));
	assert_null(dom_row(dom, "id=\"services\"", hog_h));
	free(dom);
	dom = chromium("/?sort=name", "--dump-dom");
	const char *table = strstr(dom, "id=\"services\"");
	assert_non_null(table);
	char want[64];
	const char *at[3];
	uint32_t order[3] = { alloc_h, hog_h, leaky_h };   /* alloc < hog < leaky */
	for (int i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "<tr data-handle=\":%08x\"", order[i]);
		at[i] = strstr(table, want);
		assert_non_null(at[i]);
	}
	assert_true(at[0] < at[1] && at[1] < at[2]);
	free(dom);
}

int main(void) {
	const struct CMUnitTest ring[] = {
		cmocka_unit_test(test_history_bounded),
	};
	const struct CMUnitTest page[] = {
		cmocka_unit_test(test_page_files),
		cmocka_unit_test(test_history_json),
		cmocka_unit_test(test_page_in_chromium),
		cmocka_unit_test(test_page_filter_sort),
	};
	int failed = cmocka_run_group_tests(ring, NULL, NULL);
	return failed + cmocka_run_group_tests(page, setup, teardown);
}
