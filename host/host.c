/* The host as one: the kernel, the services it always runs (the logger, and
 * snlua to launch), and the views that cfg asks for. The only file that
 * knows every part. */

#include <stdio.h>

#include "host.h"
#include "observe.h"
#include "page.h"
#include "skynet_mem.h"
#include "snlua.h"

/* Starts one listener; with port_fallback a busy port becomes a free one
 * (only this listener's: the other keeps its port). */
static int listen_on(const char *what, int (*start)(int port), int port) {
	int got = start(port);
	if (got < 0 && port > 0 && host_config()->port_fallback) {
		got = start(0);
		if (got >= 0)
			fprintf(stderr, "skynet-host: %s port %d busy, took %d\n", what, port, got);
	}
	if (got < 0)
		fprintf(stderr, "skynet-host: cannot listen for %s on port %d\n", what, port);
	return got;
}

int host_start(const struct host_config *cfg) {
	if (config_set(cfg) != 0)
		return -1;
	host_module_register(&host_snlua_module);
	host_module_register(&host_logger_module);
	if (kernel_start(cfg->threads) != 0 || host_launch("logger", NULL) == 0)
		goto fail;
	skynet_mem_set_log(host_log_line, NULL);
	int console = -1, http = -1;
	if (cfg->console_port >= 0 && (console = listen_on("console", console_start, cfg->console_port)) < 0)
		goto fail;
	config_set_ports(console, -1);
	if (cfg->http_port >= 0 && (http = listen_on("HTTP", http_start, cfg->http_port)) < 0)
		goto fail;
	config_set_ports(console, http);
	if (cfg->http_port >= 0 && history_start() != 0)   /* the page's charts */
		goto fail;
	return 0;
fail:
	host_stop();
	return -1;
}

void host_stop(void) {
	if (host_config() == NULL)
		return;
	skynet_mem_set_log(NULL, NULL);   /* the logger service is going */
	http_stop();
	history_stop();
	console_stop();
	kernel_stop();
	config_clear();
}
