/* HTTP against skynet-host as a child process. It holds load: with 10,000 idle connections open on skynet-host (a child
 * process; half of them half-open, with half a request), /metrics still
 * answers, well within a generous deadline. The connections come from 200
 * loopback addresses, 50 each: under the per-address limit (1024 by default). And the
 * -N flag bounds the series of every scrape. */

#include "child_host.h"

#define CONNS 10000
#define PER_ADDR 50

static void test_metrics_under_10000_idle_connections(void **state) {
	(void)state;
	long nofile = raise_nofile();
	if (nofile < CONNS + 100)
		fail_msg("RLIMIT_NOFILE hard limit %ld: too low for %d connections", nofile, CONNS);
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-H", "0", "-W", "60", NULL }), 0);
	int *fd = malloc(CONNS * sizeof(int));
	long long t0 = net_now_ms();
	static const char half[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	for (int i = 0; i < CONNS; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.%d.%d", 1 + i / PER_ADDR / 250, 1 + (i / PER_ADDR) % 250);
		fd[i] = connect_from(src, c.http);
		if (i % 2)
			assert_int_equal(send(fd[i], half, sizeof(half) - 1, 0), (ssize_t)(sizeof(half) - 1));
	}
	long long connected = net_now_ms();
	char *r = http_at(c.http, "GET", "/metrics");
	long long answered = net_now_ms();
	printf("%d connections opened in %lld ms; /metrics answered in %lld ms\n", CONNS,
		connected - t0, answered - connected);
	assert_non_null(strstr(r, " 200 "));
	assert_non_null(strstr(r, "skynet_mem_service_c_bytes{"));
	assert_non_null(strstr(r, "\nskynet_mem_services "));
	free(r);
	/* the idle connections were kept, not dropped to make room */
	int dropped = 0;
	for (int i = 0; i < CONNS; i += 97) {
		struct pollfd p = { fd[i], POLLIN, 0 };
		dropped += poll(&p, 1, 0) > 0;
	}
	assert_int_equal(dropped, 0);
	long long t1 = net_now_ms();
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
	printf("skynet-host exited %lld ms after SIGTERM with %d connections open\n", net_now_ms() - t1, CONNS);
	for (int i = 0; i < CONNS; i++)
		close(fd[i]);
	free(fd);
}

/* skynet-host -N 2: every scrape without ?top= keeps two services' series
 * and sums the rest; ?top=0 still shows every service. */
static void test_top_flag(void **state) {
	(void)state;
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-H", "0", "-N", "2", NULL }), 0);
	long long end = net_now_ms() + NET_WAIT_MS;
	for (;;) {   /* host, logger and the idle service, which starts after the port file */
		char *all = http_at(c.http, "GET", "/metrics?top=0");
		int rows = count_lines(strstr(all, "\r\n\r\n") + 4, "skynet_mem_service_c_bytes{handle=\":");
		free(all);
		if (rows == 3)
			break;
		assert_true(net_now_ms() < end);
	}
	char *r = http_at(c.http, "GET", "/metrics");
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	assert_int_equal(count_lines(body + 4, "skynet_mem_service_c_bytes{handle=\":"), 2);
	assert_int_equal(count_lines(body + 4, "skynet_mem_service_c_bytes{handle=\"rest\",name=\"rest\"} "), 1);
	assert_non_null(strstr(body, "\nskynet_mem_services_in_rest 1\n"));   /* host, logger, idle: one left */
	free(r);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_under_10000_idle_connections),
		cmocka_unit_test(test_top_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
