/* Host lifecycle: the logger, N worker threads, the timer, console and HTTP. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "observe.h"
#include "page.h"
#include "skynet_mem.h"

static struct {
	struct host_config cfg;
	int started;
	int nworkers;
	pthread_t *workers;
	int console_port, http_port;
} S;

const struct host_config *host_config(void) {
	return S.started ? &S.cfg : NULL;
}

int host_console_port(void) {
	return S.console_port;
}

int host_http_port(void) {
	return S.http_port;
}

static void *worker_main(void *arg) {
	(void)arg;
	skynet_mem_set_current(0);
	struct message_queue *q;
	while ((q = globalmq_pop()) != NULL)
		context_dispatch(q);
	skynet_mem_flush();
	return NULL;
}

static char *dup_or_null(const char *s) {
	return s ? strdup(s) : NULL;
}

/* Starts one listener; with port_fallback a busy port becomes a free one
 * (only this listener's: the other keeps its port). */
static int listen_on(const char *what, int (*start)(int port), int port) {
	int got = start(port);
	if (got < 0 && port > 0 && S.cfg.port_fallback) {
		got = start(0);
		if (got >= 0)
			fprintf(stderr, "skynet-host: %s port %d busy, took %d\n", what, port, got);
	}
	if (got < 0)
		fprintf(stderr, "skynet-host: cannot listen for %s on port %d\n", what, port);
	return got;
}

int host_start(const struct host_config *cfg) {
	if (S.started)
		return -1;
	memset(&S, 0, sizeof(S));
	S.cfg = *cfg;
	S.cfg.service_path = dup_or_null(cfg->service_path);
	S.cfg.lua_path = dup_or_null(cfg->lua_path);
	S.console_port = S.http_port = -1;
	S.started = 1;
	handle_init();
	globalmq_init();
	if (timer_start() != 0)
		goto fail;
	if (host_launch("logger", NULL) == 0)
		goto fail;
	S.nworkers = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (S.nworkers <= 0)
		S.nworkers = 1;
	S.workers = calloc((size_t)S.nworkers, sizeof(pthread_t));
	for (int i = 0; S.workers && i < S.nworkers; i++)
		if (pthread_create(&S.workers[i], NULL, worker_main, NULL) != 0) {
			S.nworkers = i;
			goto fail;
		}
	if (cfg->console_port >= 0 && (S.console_port = listen_on("console", console_start, cfg->console_port)) < 0)
		goto fail;
	if (cfg->http_port >= 0 && (S.http_port = listen_on("HTTP", http_start, cfg->http_port)) < 0)
		goto fail;
	if (cfg->http_port >= 0 && history_start() != 0)   /* the page's charts */
		goto fail;
	return 0;
fail:
	host_stop();
	return -1;
}

void host_stop(void) {
	if (!S.started)
		return;
	http_stop();
	history_stop();
	console_stop();
	timer_stop();
	globalmq_shutdown();
	for (int i = 0; i < S.nworkers; i++)
		pthread_join(S.workers[i], NULL);
	free(S.workers);
	S.workers = NULL;
	S.nworkers = 0;
	context_release_all();
	handle_exit();
	skynet_mem_flush();
	free((char *)S.cfg.service_path);
	free((char *)S.cfg.lua_path);
	S.started = 0;
}
