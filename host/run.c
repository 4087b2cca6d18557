/* The main loop of a host program: the live table once a second, a bounded
 * run time, SIGINT/SIGTERM for a clean stop. On a terminal the table redraws
 * in place (screen.c); otherwise one line of totals a second and the table
 * of the largest services every PLAIN_TABLE_EVERY seconds. */

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "observe.h"
#include "screen.h"

#define PLAIN_TABLE_EVERY 10
#define PLAIN_ROWS 10

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
	stop_signal = sig;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The largest service of v, or NULL. */
static const struct host_mem_row *largest(const struct host_mem_view *v) {
	const struct host_mem_row *best = NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!best || v->rows[i].st.bytes + v->rows[i].st.lua_bytes > best->st.bytes + best->st.lua_bytes)
			best = &v->rows[i];
	return best;
}

static void plain_frame(const struct host_mem_view *v, const struct host_mem_view *prev, int t) {
	const struct host_mem_row *top = largest(v);
	printf("t=%ds services %zu, C %.1f KiB, Lua %.1f KiB, exited services still own %.1f KiB; largest: %s %.1f KiB\n",
		t, v->n ? v->n - 1 : 0, v->g.totals.bytes / 1024.0, v->g.totals.lua_bytes / 1024.0,
		v->g.orphan_bytes / 1024.0, top ? top->name : "-",
		top ? (top->st.bytes + top->st.lua_bytes) / 1024.0 : 0.0);
	if (t % PLAIN_TABLE_EVERY == 0) {
		struct host_table opt = { .max_rows = PLAIN_ROWS };
		host_mem_print_table(stdout, v, prev, &opt);
	}
	fflush(stdout);
}

void host_catch_signals(void) {
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int host_run(int seconds, int table) {
	host_catch_signals();
	int tty = table && isatty(STDOUT_FILENO);
	if (tty) {
		screen_begin();
		host_set_note_hook(screen_note);   /* exit reports and logs under the table */
	}
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
		if (tty)
			screen_draw(&cur, have_prev ? &prev : NULL, now_s() - start);
		else
			plain_frame(&cur, have_prev ? &prev : NULL, (int)(now_s() - start + 0.5));
		if (have_prev)
			host_mem_view_free(&prev);
		prev = cur;
		have_prev = 1;
	}
	if (tty) {
		host_set_note_hook(NULL);
		screen_end();
	}
	if (have_prev)
		host_mem_view_free(&prev);
	return stop_signal != 0;
}
