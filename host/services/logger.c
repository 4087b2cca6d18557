/* The logger service (".logger"): prints PTYPE_TEXT messages with their
 * source, to stdout or to the file named by its parameter. */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "logger.h"
#include "skynet_malloc.h"

struct logger {
	FILE *out;
	int close;
};

static void *logger_create(void) {
	struct logger *l = skynet_malloc(sizeof(*l));
	if (l)
		memset(l, 0, sizeof(*l));
	return l;
}

static void logger_release(void *inst) {
	struct logger *l = inst;
	if (l->close)
		fclose(l->out);
	skynet_free(l);
}

static int logger_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	(void)ctx, (void)session;
	struct logger *l = ud;
	if (type == PTYPE_TEXT) {
		char line[512];
		snprintf(line, sizeof(line), "[:%08x] %.*s", source, (int)sz, (const char *)msg);
		if (l->out == stdout) {
			host_note(line);   /* under the live table while it holds the screen */
			return 0;
		}
		fprintf(l->out, "%s\n", line);
		fflush(l->out);
	}
	return 0;
}

static int logger_init(void *inst, struct skynet_context *ctx, const char *param) {
	struct logger *l = inst;
	l->out = stdout;
	if (param && param[0]) {
		l->out = fopen(param, "a");
		if (l->out == NULL)
			return -1;
		l->close = 1;
	}
	skynet_callback(ctx, l, logger_cb);
	host_register_name(skynet_context_handle(ctx), ".logger");
	return 0;
}

const struct skynet_module host_logger_module = {
	"logger", logger_create, logger_init, logger_release, NULL,
};

void host_log(uint32_t source, const char *fmt, ...) {
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	uint32_t logger = host_query_name(".logger");
	/* Sent as source's message; a service at its limit may fail to allocate. */
	void *data = logger ? skynet_malloc(len) : NULL;
	if (data) {
		memcpy(data, buf, len);
		if (skynet_send(NULL, source, logger, PTYPE_TEXT, 0, data, len) >= 0)
			return;
	}
	fprintf(stderr, "[:%08x] %s\n", source, buf);
}

/* The library's and the Lua module's log lines (skynet_mem_set_log). */
void host_log_line(void *ud, const char *line) {
	(void)ud;
	host_log(0, "%s", line);
}
