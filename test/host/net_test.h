#ifndef SKYNET_HOST_NET_TEST_H
#define SKYNET_HOST_NET_TEST_H

/* Loopback clients for the console and HTTP tests: connect, read with a
 * deadline, one console command, one HTTP exchange. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define NET_WAIT_MS 10000

static long long net_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection to 127.0.0.1:port from source address src (NULL: any). */
__attribute__((unused)) static int connect_from(const char *src, int port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (src) {
		struct sockaddr_in s = { .sin_family = AF_INET };
		inet_pton(AF_INET, src, &s.sin_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

__attribute__((unused)) static int connect_port(int port) {
	return connect_from(NULL, port);
}

/* Reads until marker (NULL: end of stream) or the deadline; a malloc'd string.
 * *closed (may be NULL) is set when the peer closed the connection. */
__attribute__((unused)) static char *read_until_ms(int fd, const char *marker, int ms, int *closed) {
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	buf[0] = '\0';
	long long end = net_now_ms() + ms;
	if (closed)
		*closed = 0;
	for (;;) {
		long long left = end - net_now_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			if (closed)
				*closed = 1;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (marker && strstr(buf, marker))
			break;
	}
	buf[len] = '\0';
	return buf;
}

__attribute__((unused)) static char *read_until(int fd, const char *marker) {
	return read_until_ms(fd, marker, NET_WAIT_MS, NULL);
}

/* Reads one console answer (through its end marker) on fd. */
__attribute__((unused)) static char *console_answer(int fd) {
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	buf[0] = '\0';
	long long end = net_now_ms() + NET_WAIT_MS;
	while (!strstr(buf, "<CMD OK>\n") && !strstr(buf, "<CMD Error>\n")) {
		long long left = end - net_now_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			fail_msg("no console answer in %d ms; got '%s'", NET_WAIT_MS, buf);
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			fail_msg("console closed the connection; got '%s'", buf);
		len += (size_t)n;
		buf[len] = '\0';
	}
	return buf;
}

/* Sends one line on a console connection (greeting already read) and
 * returns the answer without the greeting. */
__attribute__((unused)) static char *console_on(int fd, const char *cmd) {
	char line[4096];
	snprintf(line, sizeof(line), "%s\n", cmd);
	assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
	return console_answer(fd);
}

/* A new console connection with its greeting read. */
__attribute__((unused)) static int console_open(int port) {
	int fd = connect_port(port);
	char *hello = read_until(fd, "\n");
	assert_non_null(strstr(hello, "console"));
	free(hello);
	return fd;
}

/* One command on a fresh connection. */
__attribute__((unused)) static char *console_at(int port, const char *cmd) {
	int fd = console_open(port);
	char *r = console_on(fd, cmd);
	close(fd);
	return r;
}

/* A whole HTTP/1.0 exchange from src (NULL: any); the response, headers included. */
__attribute__((unused)) static char *http_from(const char *src, int port, const char *method, const char *path) {
	int fd = connect_from(src, port);
	char req[512];
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", method, path);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	char *r = read_until(fd, NULL);
	close(fd);
	return r;
}

__attribute__((unused)) static char *http_at(int port, const char *method, const char *path) {
	return http_from(NULL, port, method, path);
}

/* Lines of s starting with prefix. */
__attribute__((unused)) static int count_lines(const char *s, const char *prefix) {
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, len) == 0)
			n++;
	return n;
}

#endif
