/* The main loop of a host program: the live table once a second, a bounded
 * run time, SIGINT/SIGTERM for a clean stop. */

#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "host.h"
#include "observe.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
	stop_signal = sig;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void host_catch_signals(void) {
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int host_run(int seconds, int table) {
	host_catch_signals();
	double start = now_s(), next = start + 1;
	struct host_mem_view prev = { 0 }, cur;
	int have_prev = 0;
	while (!stop_signal && (seconds <= 0 || now_s() - start < seconds)) {
		struct timespec tick = { 0, 50 * 1000 * 1000 };
		nanosleep(&tick, NULL);
		if (!table || now_s() < next)
			continue;
		next += 1;
		if (host_mem_view(&cur) != 0)
			continue;
		printf("\n--- t=%.0fs ---\n", now_s() - start);
		host_mem_print_table(stdout, &cur, have_prev ? &prev : NULL);
		if (have_prev)
			host_mem_view_free(&prev);
		prev = cur;
		have_prev = 1;
	}
	if (have_prev)
		host_mem_view_free(&prev);
	return stop_signal != 0;
}
