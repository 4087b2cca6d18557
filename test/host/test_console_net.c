/* The console never blocks the server, against skynet-host as a child
 * process: a client that never reads is dropped past its output cap while a
 * second client is answered; SIGTERM stops the server whatever its clients
 * do; the client limit and the idle timeout; only a busy port moves; out of
 * descriptors, a client is told so and the console does not spin. */

#include <dirent.h>

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

/* After a client left, a new one is served (polled: the server sees the
 * close when it sees it). */
static void served_again(int port) {
	long long end = net_now_ms() + NET_WAIT_MS;
	for (;;) {
		int again = connect_port(port);
		char *hello = read_until(again, "\n");
		int served = strstr(hello, "console: type help") != NULL;
		free(hello);
		if (served) {
			char *a = console_on(again, "help");
			assert_non_null(strstr(a, "<CMD OK>\n"));
			free(a);
			close(again);
			return;
		}
		close(again);
		assert_true(net_now_ms() < end);
	}
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
	served_again(c.console);
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

/* Descriptors open in process pid. */
static int open_fds(pid_t pid) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* CPU time (user + system) process pid has used, in clock ticks. */
static long cpu_ticks(pid_t pid) {
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');   /* the name may hold spaces */
	assert_non_null(p);
	long utime, stime;
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime), 2);
	return utime + stime;
}

/* With its descriptors used up (a low RLIMIT_NOFILE), the console tells the
 * next client so and closes it, instead of leaving it pending (accept4's
 * EMFILE woke poll at once, forever: a core spent); once a client leaves, a
 * new one is served. */
static void test_out_of_descriptors(void **state) {
	(void)state;
	struct child_host c;
	assert_int_equal(child_start(&c, (const char *[]){ "-c", "0", NULL }), 0);
	int base = open_fds(c.pid);
	assert_int_equal(child_stop(&c, NET_WAIT_MS), 0);
	/* The child inherits the limit: room for base + a few clients (the
	 * host may open a file or two meanwhile, so the count is not exact). */
	struct rlimit saved, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)base + 4;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* -s 60: a host left behind by a failed assertion ends anyway */
	int started = child_start(&c, (const char *[]){ "-c", "0", "-s", "60", NULL });
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(started, 0);
	enum { MAX = 16 };   /* under the console's 32 clients: descriptors run out first */
	int fd[MAX], served = 0, refused = 0;
	while (served < MAX && !refused) {
		int s = connect_port(c.console);
		int closed;
		char *r = read_until_ms(s, "\n", NET_WAIT_MS, &closed);
		if (strstr(r, "console: type help")) {
			fd[served++] = s;
		} else {
			assert_string_equal(r, "error: the server is out of file descriptors; try again later\n<CMD Error>\n");
			r = read_until_ms(s, NULL, NET_WAIT_MS, &closed);   /* and closed */
			assert_true(closed);
			close(s);
			refused = 1;
		}
		free(r);
	}
	assert_true(refused);
	assert_true(served >= 1);
	/* Nothing pending, nothing to spin on: over a second the host is idle
	 * (a spinning console takes a core: a second of CPU). */
	long t0 = cpu_ticks(c.pid), hz = sysconf(_SC_CLK_TCK);
	struct timespec second = { 1, 0 };
	nanosleep(&second, NULL);
	long used = cpu_ticks(c.pid) - t0;
	assert_true(used < hz / 2);
	close(fd[--served]);
	served_again(c.console);
	while (served > 0)
		close(fd[--served]);
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
		cmocka_unit_test(test_out_of_descriptors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
