#ifndef SKYNET_HOST_CHILD_HOST_H
#define SKYNET_HOST_CHILD_HOST_H

/* Runs skynet-host (SKYNET_HOST_BIN) as a child process on free loopback
 * ports, for tests that signal it or need its own descriptor table. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "net_test.h"

struct child_host {
	pid_t pid;
	int console, http;   /* ports, -1 when not asked for */
	char portfile[64];
};

/* Starts skynet-host with the given options (NULL-terminated) and the Lua
 * service "idle"; waits (deadline) for its port file. */
__attribute__((unused)) static int child_start(struct child_host *c, const char *const *opts) {
	snprintf(c->portfile, sizeof(c->portfile), "/tmp/skynet-host-ports-%d-XXXXXX", (int)getpid());
	int fd = mkstemp(c->portfile);
	assert_true(fd >= 0);
	close(fd);
	const char *argv[32];
	int n = 0;
	argv[n++] = SKYNET_HOST_BIN;
	argv[n++] = "-p";
	argv[n++] = HOST_TEST_LUA_DIR "/?.lua";
	argv[n++] = "-t";
	argv[n++] = "2";
	argv[n++] = "-w";
	argv[n++] = c->portfile;
	for (int i = 0; opts[i] && n < 28; i++)
		argv[n++] = opts[i];
	argv[n++] = "idle";
	argv[n] = NULL;
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);   /* exit reports; errors stay on stderr */
		execv(SKYNET_HOST_BIN, (char *const *)argv);
		_exit(127);
	}
	long long end = net_now_ms() + NET_WAIT_MS;
	for (;;) {
		FILE *f = fopen(c->portfile, "r");
		int ok = f && fscanf(f, "console %d\nhttp %d\n", &c->console, &c->http) == 2;
		if (f)
			fclose(f);
		if (ok)
			return 0;
		int st;
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = -1;
			unlink(c->portfile);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		}
		if (net_now_ms() > end)
			fail_msg("skynet-host wrote no port file in %d ms", NET_WAIT_MS);
		struct timespec pause = { 0, 2000000 };
		nanosleep(&pause, NULL);
	}
}

/* Waits up to ms for the child to exit; its status, or -1 on timeout. */
__attribute__((unused)) static int child_wait(struct child_host *c, int ms) {
	long long end = net_now_ms() + ms;
	for (;;) {
		int st;
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = -1;
			unlink(c->portfile);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (net_now_ms() > end)
			return -1;
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
	}
}

/* SIGTERM, then the exit status within ms (-1: still running, then killed). */
__attribute__((unused)) static int child_stop(struct child_host *c, int ms) {
	if (c->pid <= 0)
		return -1;
	kill(c->pid, SIGTERM);
	int st = child_wait(c, ms);
	if (st < 0) {
		kill(c->pid, SIGKILL);
		child_wait(c, NET_WAIT_MS);
	}
	return st;
}

/* A free loopback port (nothing listens on it once this returns). */
__attribute__((unused)) static int free_port(void) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A listener on a free loopback port, kept busy; *port gets the port. */
__attribute__((unused)) static int busy_port(int *port) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* The soft descriptor limit raised to the hard one; returns it. */
__attribute__((unused)) static long raise_nofile(void) {
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
}

#endif
