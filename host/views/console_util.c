/* Helpers shared by the console's commands (console_cmd.c) and its answers
 * that come later (console_jobs.c): addresses, counts, errors, names. */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_util.h"
#include "utf8.h"

#define HARBOR 0x01000000u

uint64_t console_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void console_name_out(FILE *f, const char *name) {
	host_utf8_write(f, name, HOST_UTF8_LINE);   /* one line, tabs kept as separators */
}

int console_fail(FILE *f, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	va_end(ap);
	return -1;
}

/* skynet's address forms: ":0100000a", "0100000a" or "a" (harbor added),
 * ".name"; -1 when malformed or an unknown name. */
static int parse_handle(const char *s, uint32_t *h) {
	if (s == NULL || *s == '\0')
		return -1;
	if (*s == '.') {
		*h = host_query_name(s);
		return *h ? 0 : -1;
	}
	int colon = *s == ':';
	s += colon;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 16);
	if (*s == '\0' || *s == '-' || *s == '+' || *end || errno || v > UINT32_MAX)
		return -1;
	*h = (uint32_t)v;
	if (!colon && v && v < HARBOR)
		*h |= HARBOR;
	return 0;
}

int console_parse_address(const char *s, uint32_t *h) {
	return parse_handle(s, h);
}

int console_need_handle(FILE *f, const char *arg, uint32_t *h) {
	if (parse_handle(arg, h) != 0)
		return console_fail(f, "bad address '%s' (want :0100000a, 0100000a or .name)", arg ? arg : "");
	return 0;
}

/* A live service (not handle 0, the host's own threads). */
int console_need_live(FILE *f, const char *arg, uint32_t *h) {
	if (console_need_handle(f, arg, h) != 0)
		return -1;
	if (*h == 0)
		return console_fail(f, "handle 0 is the host's own threads, not a service");
	if (host_service_busy(*h) < 0)
		return console_fail(f, "no service :%08x", *h);
	return 0;
}

int console_view(FILE *f, struct host_mem_view *v, int flags) {
	if (host_mem_view_ex(v, flags) != 0)
		return console_fail(f, "the memory view cannot be built (out of memory); nothing shown");
	return 0;
}

size_t console_row_total(const struct host_mem_row *r) {
	return r->st.bytes + r->st.lua_bytes;
}


int console_count_arg(FILE *f, const char *arg, long def, long max, long *out) {
	*out = def;
	if (arg == NULL)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end || errno || n <= 0 || n > max)
		return console_fail(f, "bad count '%s' (want 1..%ld)", arg, max);
	*out = n;
	return 0;
}

void console_mem_lines(FILE *f, const struct host_mem_view *v) {
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].st.handle) {
			fprintf(f, ":%08x\t%.2f Kb (", v->rows[i].st.handle, v->rows[i].st.lua_bytes / 1024.0);
			console_name_out(f, v->rows[i].name);
			fputs(")\n", f);
		}
}

void console_end(FILE *f, int rc) {
	fputs(rc == 0 ? "<CMD OK>\n" : "<CMD Error>\n", f);
}
