/* The console never blocks the server, against skynet-host as a child
 * process: a client that never reads is dropped past its output cap while a
 * second client is answered; SIGTERM stops the server whatever its clients
 * do; the client limit and the idle timeout; only a busy port moves. */

#include "child_host.h"

/* Sends "help" lines on a non-blocking socket without ever reading, until
 * the server drops it or max lines went out; returns the lines sent. */
static long flood_without_reading(int fd, long max) {
	static const char lines[] = "help\nhelp\nhelp\nhelp\nhelp\nhelp\nhelp\nhelp\n";
	long sent = 0;
	long long end = net_now_ms() + NET_WAIT_MS;
	while (sent < max && net_now_ms() < end) {
		ssize_t w = send(fd, lines, sizeof(lines) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { fd, POLLOUT, 0 };
			poll(&p, 1, 10);
			continue;
		}
		if (w <= 0)
			break;   /* dropped */
		sent += w / 5;
	}
	return sent;
}

/* Reads and discards until the server closes fd; 1 if it did within ms. */
static int drained_to_close(int fd, int ms) {
	long long end = net_now_ms() + ms;
	char buf[65536];
	while (net_now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 1;
	}
	return 0;
}

static void test_never_reading_client(void **state) {
	(void)state;
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-c", "0", NULL }), 0);
	int stuck = connect_port(c.console);
	int other = console_open(c.console);
	/* help answers ~1.2 KB: 20,000 of them pass the 1 MiB cap and the socket buffers */
	long sent = flood_without_reading(stuck, 20000);
	assert_true(sent > 1000);
	char *r = console_on(other, "list");   /* the server still answers others */
	assert_non_null(strstr(r, ":01000001\t.logger\tmqlen:"));   /* started before the ports are written */
	free(r);
	assert_true(drained_to_close(stuck, NET_WAIT_MS));   /* the stuck client was dropped */
	r = console_on(other, "ping .nonexistent");
	assert_non_null(strstr(r, "error: bad address"));
	free(r);
	close(stuck);
	close(other);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
}

/* SIGTERM with a client that does not read its answers, an idle client and
 * half a line pending: the server exits at once (well within the deadline). */
static void test_sigterm_whatever_clients_do(void **state) {
	(void)state;
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-c", "0", NULL }), 0);
	int stuck = connect_port(c.console);
	flood_without_reading(stuck, 400);
	int idle = connect_port(c.console);
	int half = connect_port(c.console);
	assert_int_equal(send(half, "cme", 3, 0), 3);
	char *r = console_at(c.console, "list");   /* all of them are being served */
	assert_non_null(strstr(r, "<CMD OK>\n"));
	free(r);
	long long t0 = net_now_ms();
	int st = child_stop(&c, NET_WAIT_MS);
	long long ms = net_now_ms() - t0;
	printf("skynet-host exited %lld ms after SIGTERM\n", ms);
	assert_int_equal(st, 0);
	close(stuck);
	close(idle);
	close(half);
}

static void test_client_limit(void **state) {
	(void)state;
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-c", "0", "-n", "3", NULL }), 0);
	int fd[3];
	for (int i = 0; i < 3; i++)
		fd[i] = console_open(c.console);
	int extra = connect_port(c.console);
	int closed;
	char *r = read_until_ms(extra, NULL, NET_WAIT_MS, &closed);
	assert_string_equal(r, "error: too many console clients (3); try again later\n<CMD Error>\n");
	assert_true(closed);
	free(r);
	close(extra);
	close(fd[0]);   /* a slot frees up: the next client is served */
	long long end = net_now_ms() + NET_WAIT_MS;
	for (;;) {
		int again = connect_port(c.console);
		char *hello = read_until(again, "\n");
		int served = strstr(hello, "console: type help") != NULL;
		free(hello);
		if (served) {
			char *a = console_on(again, "help");
			assert_non_null(strstr(a, "<CMD OK>\n"));
			free(a);
			close(again);
			break;
		}
		close(again);
		assert_true(net_now_ms() < end);
	}
	close(fd[1]);
	close(fd[2]);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
}

static void test_idle_timeout(void **state) {
	(void)state;
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-c", "0", "-i", "1", NULL }), 0);
	int fd = console_open(c.console);
	long long t0 = net_now_ms();
	int closed;
	char *r = read_until_ms(fd, NULL, NET_WAIT_MS, &closed);
	assert_string_equal(r, "error: idle too long, closing\n");
	assert_true(closed);
	assert_true(net_now_ms() - t0 >= 900);   /* by the timeout, not at once */
	free(r);
	close(fd);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
}

/* With -f a busy port is replaced by a free one, the other port stays put;
 * without -f the host refuses to start and says which port. */
static void test_only_busy_port_moves(void **state) {
	(void)state;
	int busy;
	int holder = busy_port(&busy);
	char bs[16], fs[16];
	snprintf(bs, sizeof(bs), "%d", busy);
	int want = free_port();
	snprintf(fs, sizeof(fs), "%d", want);
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-f", "-c", fs, "-H", bs, NULL }), 0);
	assert_int_equal(c.console, want);            /* free: kept */
	assert_true(c.http > 0 && c.http != busy);   /* busy: moved */
	char *r = http_at(c.http, "GET", "/metrics");
	assert_non_null(strstr(r, " 200 "));
	free(r);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
	want = free_port();
	snprintf(fs, sizeof(fs), "%d", want);
	assert_int_equal(child_start(&c, (const char *[]){ "-f", "-c", bs, "-H", fs, NULL }), 0);
	assert_int_equal(c.http, want);
	assert_true(c.console > 0 && c.console != busy);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
	/* no -f: a clear refusal */
	assert_int_equal(child_start(&c, (const char *[]){ "-c", "0", "-H", bs, NULL }), 1);
	close(holder);
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_reading_client),
		cmocka_unit_test(test_sigterm_whatever_clients_do),
		cmocka_unit_test(test_client_limit),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_only_busy_port_moves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
