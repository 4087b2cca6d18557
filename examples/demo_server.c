/* The demo server (make demo): game rooms whose players exchange messages, a
 * service leaking C memory and one hitting its Lua memory limit. Shows the
 * live per-service table (redrawn in place on a terminal) and the exit
 * (leak) reports, and serves the live page at http://127.0.0.1:PORT/.
 * DEMO_SECONDS (default 20; 0 = until Ctrl-C), DEMO_CONSOLE_PORT (default
 * 8001), DEMO_HTTP_PORT (default 8002); a busy port falls back to a
 * free one (the other keeps its own). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

#ifndef DEMO_DIR
#define DEMO_DIR "examples/demo"
#endif

static struct {
	size_t exits, leakers, bytes, blocks;
} summary;

/* Called for every exit report (host threads; the demo's main waits for them). */
static void count_exit(const struct host_exit_report *r, void *ud) {
	(void)ud;
	__atomic_add_fetch(&summary.exits, 1, __ATOMIC_RELAXED);
	if (r->bytes) {
		__atomic_add_fetch(&summary.leakers, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&summary.bytes, r->bytes, __ATOMIC_RELAXED);
		__atomic_add_fetch(&summary.blocks, r->blocks, __ATOMIC_RELAXED);
	}
}

/* An environment number from 0 to max, def when unset; a malformed one
 * (atoi would read "80O1" as 80, "abc" as a free port) stops the demo. */
static int env_int(const char *name, int def, long max) {
	const char *s = getenv(name);
	if (s == NULL || *s == '\0')
		return def;
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (*end != '\0' || errno || n < 0 || n > max) {
		fprintf(stderr, "demo: %s='%s': want a whole number from 0 to %ld\n", name, s, max);
		exit(2);
	}
	return (int)n;
}

int main(void) {
	struct host_config cfg = {
		.service_path = DEMO_DIR "/?.lua",
		.console_port = env_int("DEMO_CONSOLE_PORT", 8001, 65535),
		.http_port = env_int("DEMO_HTTP_PORT", 8002, 65535),
		.threads = env_int("DEMO_THREADS", 0, 1024),
		.port_fallback = 1,
	};
	int seconds = env_int("DEMO_SECONDS", 20, 86400000L);
	host_set_exit_hook(count_exit, NULL);
	if (host_start(&cfg) != 0)
		return 1;
	printf("demo: console  nc 127.0.0.1 %d   (try: help, top, stat :01000002)\n", host_console_port());
	printf("demo: page     http://127.0.0.1:%d/   (live charts; open it in a browser)\n", host_http_port());
	printf("demo: metrics  curl http://127.0.0.1:%d/metrics   (and /memory.json, /history.json)\n", host_http_port());
	if (seconds > 0)
		printf("demo: running %d s (DEMO_SECONDS=0: until Ctrl-C)\n", seconds);
	else
		printf("demo: running until Ctrl-C\n");
	fflush(stdout);
	if (isatty(STDOUT_FILENO)) {   /* time to read the URLs before the table takes the screen */
		struct timespec pause = { 2, 0 };
		nanosleep(&pause, NULL);
	}
	if (host_launch("snlua", "main") == 0) {
		fprintf(stderr, "demo: cannot start examples/demo/main.lua\n");
		host_stop();
		return 1;
	}
	host_run(seconds, 1);
	printf("\ndemo: shutting down, every service exits:\n");
	fflush(stdout);
	host_stop();
	printf("demo: %zu services exited, %zu of them leaked %zu bytes in %zu blocks\n",
		summary.exits, summary.leakers, summary.bytes, summary.blocks);
	return 0;
}
