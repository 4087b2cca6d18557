/* The module's logger: skynet's dump() goes through skynet's logger service
 * (and its logpath), so this one does too when the process has one. The
 * references are weak: the stock lua5.4 has neither, and then it is stderr. */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "lua-memory.h"

struct skynet_context;
extern void skynet_error(struct skynet_context *ctx, const char *fmt, ...) __attribute__((weak));
extern void host_log(uint32_t source, const char *fmt, ...) __attribute__((weak));

void lmem_log(const char *fmt, ...) {
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (skynet_error)
		skynet_error(NULL, "%s", line);
	else if (host_log)
		host_log(0, "%s", line);
	else
		fprintf(stderr, "%s\n", line);
}
