#ifndef SKYNET_HOST_CONSOLE_UTIL_H
#define SKYNET_HOST_CONSOLE_UTIL_H

/* Helpers of the console's commands: each writes to the answer f, and the
 * checks return 0, or -1 after writing an "error: ..." line. */

#include <stdint.h>
#include <stdio.h>

#include "console.h"
#include "observe.h"

/* A name on one line: valid UTF-8, control characters (tab too) as '?'. */
void console_name_out(FILE *f, const char *name);
/* Writes "error: ..." and returns -1. */
int console_fail(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* skynet's address forms: ":0100000a", "0100000a" or "a" (harbor added), ".name". */
int console_need_handle(FILE *f, const char *arg, uint32_t *h);
/* The same forms without an answer to write to: 0, or -1 (HTTP's). */
int console_parse_address(const char *s, uint32_t *h);
/* As console_need_handle, and a live service (not handle 0). */
int console_need_live(FILE *f, const char *arg, uint32_t *h);
/* host_mem_view_ex, or an error saying the view cannot be built. */
int console_view(FILE *f, struct host_mem_view *v, int flags);
/* A count in 1..max (def when arg is NULL). */
int console_count_arg(FILE *f, const char *arg, long def, long max, long *out);
size_t console_row_total(const struct host_mem_row *r);
/* skynet's mem lines: ":0100000a<TAB>12.34 Kb (name)". */
void console_mem_lines(FILE *f, const struct host_mem_view *v);
/* The end marker: "<CMD OK>" for rc 0, else "<CMD Error>". */
void console_end(FILE *f, int rc);

#endif
