/* The live table on a terminal: redrawn in place each second like top (the
 * cursor goes home, each line clears its old text), with the latest log and
 * exit lines kept under it instead of scrolling the screen. */

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "observe.h"
#include "screen.h"

#define NOTES_KEPT 6
#define NOTE_LEN 160

static struct {
	pthread_mutex_t lock;
	int active;
	char notes[NOTES_KEPT][NOTE_LEN];
	size_t n;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

void screen_begin(void) {
	pthread_mutex_lock(&S.lock);
	S.active = 1;
	S.n = 0;
	pthread_mutex_unlock(&S.lock);
	fputs("\033[?7l\033[H\033[2J", stdout);   /* no line wrap (long lines are cut), home, clear */
	fflush(stdout);
}

void screen_end(void) {
	pthread_mutex_lock(&S.lock);
	S.active = 0;
	pthread_mutex_unlock(&S.lock);
	fputs("\033[?7h", stdout);   /* line wrap again */
	fflush(stdout);
}

int screen_note(const char *line) {
	pthread_mutex_lock(&S.lock);
	int kept = S.active;
	if (kept) {
		char *slot = S.notes[S.n % NOTES_KEPT];
		snprintf(slot, NOTE_LEN, "%s", line);
		for (char *p = slot; *p; p++)   /* one screen line each */
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		S.n++;
	}
	pthread_mutex_unlock(&S.lock);
	return kept;
}

void screen_draw(const struct host_mem_view *v, const struct host_mem_view *prev, double seconds) {
	struct winsize ws = { 0 };
	int rows = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row ? ws.ws_row : 24;
	int cols = ws.ws_col ? ws.ws_col : 80;
	/* title 1, table head 3, "... more" 1, notes 1 + NOTES_KEPT, a spare line */
	int fit = rows - 7 - NOTES_KEPT;
	struct host_table opt = { .max_rows = fit > 3 ? (size_t)fit : 3, .eol = "\033[K\n" };
	fputs("\033[H", stdout);
	int port = host_http_port();
	char title[128];
	snprintf(title, sizeof(title), "skynet-mem top   t=%.0fs", seconds);
	if (port > 0)
		printf("%s   page http://127.0.0.1:%d/\033[K\n", title, port);
	else
		printf("%s\033[K\n", title);
	host_mem_print_table(stdout, v, prev, &opt);
	printf("latest:\033[K\n");
	pthread_mutex_lock(&S.lock);
	size_t first = S.n > NOTES_KEPT ? S.n - NOTES_KEPT : 0;
	for (size_t i = first; i < S.n; i++)
		printf("  %.*s\033[K\n", cols > 3 ? cols - 3 : 1, S.notes[i % NOTES_KEPT]);
	pthread_mutex_unlock(&S.lock);
	fputs("\033[J", stdout);   /* clear what an older, longer frame left below */
	fflush(stdout);
}
