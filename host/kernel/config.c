/* The host's configuration: a copy of what the program asked for, and the
 * ports its views listened on. A leaf: every part reads it, it calls none. */

#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static struct {
	struct host_config cfg;
	int set;
	int console_port, http_port;
} C = { .console_port = -1, .http_port = -1 };

const struct host_config *host_config(void) {
	return C.set ? &C.cfg : NULL;
}

static char *dup_or_null(const char *s) {
	return s ? strdup(s) : NULL;
}

int config_set(const struct host_config *cfg) {
	if (C.set)
		return -1;
	C.cfg = *cfg;
	C.cfg.service_path = dup_or_null(cfg->service_path);
	C.cfg.lua_path = dup_or_null(cfg->lua_path);
	C.console_port = C.http_port = -1;
	C.set = 1;
	return 0;
}

void config_clear(void) {
	if (!C.set)
		return;
	free((char *)C.cfg.service_path);
	free((char *)C.cfg.lua_path);
	memset(&C.cfg, 0, sizeof(C.cfg));
	C.set = 0;
}

void config_set_ports(int console_port, int http_port) {
	C.console_port = console_port;
	C.http_port = http_port;
}

int host_console_port(void) {
	return C.console_port;
}

int host_http_port(void) {
	return C.http_port;
}
