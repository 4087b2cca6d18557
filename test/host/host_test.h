#ifndef SKYNET_HOST_TEST_H
#define SKYNET_HOST_TEST_H

/* Shared by the host tests: a ".probe" C service collecting the text
 * messages Lua test services send it, a "sink" service keeping the payloads
 * it gets, and waits that poll with a deadline. */

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test_util.h"
#include "host.h"
#include "skynet_malloc.h"

#define WAIT_MS 20000

struct probe_msg {
	uint32_t source;
	char text[256];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct probe_msg m[256];
	int n;
	void *kept;            /* sink: the last payload kept, and its size */
	size_t kept_sz;
	struct host_exit_report reports[256];
	int nreports;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int probe_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	(void)ctx, (void)ud, (void)session;
	if (type != PTYPE_TEXT)
		return 0;
	pthread_mutex_lock(&P.lock);
	if (P.n < 256) {
		P.m[P.n].source = source;
		snprintf(P.m[P.n].text, sizeof(P.m[0].text), "%.*s", (int)sz, (const char *)msg);
		P.n++;
	}
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);
	return 0;
}

static int sink_cb(struct skynet_context *ctx, void *ud, int type, int session,
	uint32_t source, const void *msg, size_t sz) {
	(void)ctx, (void)ud, (void)type, (void)session, (void)source;
	if (msg == NULL)
		return 0;
	pthread_mutex_lock(&P.lock);
	P.kept = (void *)msg;
	P.kept_sz = sz;
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);
	return 1;   /* keep it: the test frees it */
}

static void *small_create(void) {
	return skynet_malloc(16);
}

static void small_release(void *inst) {
	skynet_free(inst);
}

static int probe_init(void *inst, struct skynet_context *ctx, const char *param) {
	(void)inst, (void)param;
	skynet_callback(ctx, NULL, probe_cb);
	return host_register_name(skynet_context_handle(ctx), ".probe");
}

static int sink_init(void *inst, struct skynet_context *ctx, const char *param) {
	(void)inst, (void)param;
	skynet_callback(ctx, NULL, sink_cb);
	return 0;
}

static const struct skynet_module probe_module = { "probe", small_create, probe_init, small_release, NULL };
static const struct skynet_module sink_module = { "sink", small_create, sink_init, small_release, NULL };

static void on_exit_report(const struct host_exit_report *r, void *ud) {
	(void)ud;
	pthread_mutex_lock(&P.lock);
	if (P.nreports < 256)
		P.reports[P.nreports++] = *r;
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);
}

static struct timespec deadline_in(int ms) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Waits for a probe message from source starting with prefix; consumes it. */
static int probe_wait(uint32_t source, const char *prefix, char *out, size_t len) {
	struct timespec dl = deadline_in(WAIT_MS);
	pthread_mutex_lock(&P.lock);
	for (;;) {
		for (int i = 0; i < P.n; i++) {
			if (P.m[i].source == source && strncmp(P.m[i].text, prefix, strlen(prefix)) == 0) {
				if (out)
					snprintf(out, len, "%s", P.m[i].text);
				P.m[i] = P.m[--P.n];
				pthread_mutex_unlock(&P.lock);
				return 0;
			}
		}
		if (pthread_cond_timedwait(&P.cond, &P.lock, &dl) != 0) {
			pthread_mutex_unlock(&P.lock);
			fprintf(stderr, "timeout waiting for '%s' from :%08x\n", prefix, source);
			return -1;
		}
	}
}

/* Waits for handle's exit report. */
__attribute__((unused)) static int report_wait(uint32_t handle, struct host_exit_report *out) {
	struct timespec dl = deadline_in(WAIT_MS);
	pthread_mutex_lock(&P.lock);
	for (;;) {
		for (int i = 0; i < P.nreports; i++)
			if (P.reports[i].handle == handle) {
				*out = P.reports[i];
				pthread_mutex_unlock(&P.lock);
				return 0;
			}
		if (pthread_cond_timedwait(&P.cond, &P.lock, &dl) != 0) {
			pthread_mutex_unlock(&P.lock);
			return -1;
		}
	}
}

__attribute__((unused)) static void *sink_take(void) {
	struct timespec dl = deadline_in(WAIT_MS);
	pthread_mutex_lock(&P.lock);
	while (P.kept == NULL && pthread_cond_timedwait(&P.cond, &P.lock, &dl) == 0)
		;
	void *p = P.kept;
	P.kept = NULL;
	pthread_mutex_unlock(&P.lock);
	return p;
}

static void count_busy(uint32_t h, void *ud) {
	if (host_service_busy(h) == 1)
		++*(int *)ud;
}

/* Polls (deadline) until no service has a message waiting or running: every
 * worker then published its pending counters, so the records are exact. */
static void settle(void) {
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int busy = 0;
		host_foreach_service(count_busy, &busy);
		if (busy == 0)
			return;
		struct timespec now, pause = { 0, 1000000 };
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 > WAIT_MS)
			fail_msg("services still busy after %d ms", WAIT_MS);
		nanosleep(&pause, NULL);
	}
}

/* What a C block of s bytes costs its owner, measured on a real block (the
 * only way over the system allocator); over jemalloc also the layer's figure. */
__attribute__((unused)) static size_t class_of(size_t s) {
	void *p = skynet_malloc(s);
	assert_non_null(p);
	size_t c = skynet_mem_block_charge(p);
	skynet_free(p);
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_int_equal(c, skynet_mem_charge_size(s));
#endif
	return c;
}

/* got: what n blocks of s bytes cost their owner. Exact over jemalloc; over
 * glibc a block may come from a free chunk up to 16 bytes larger than a fresh
 * one (glibc does not split off less than its 32-byte minimum chunk). */
__attribute__((unused)) static void assert_blocks_cost(size_t got, size_t n, size_t s) {
	size_t c = class_of(s);
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_int_equal(got, n * c);
#else
	assert_in_range(got, n * c, n * (c + 16));
#endif
}

static uint32_t probe_handle;

/* Starts the host with base's options (NULL: defaults), the test's Lua
 * services and the probe. */
__attribute__((unused)) static int start_host_with(int console, int http, const struct host_config *base) {
	host_module_register(&probe_module);
	host_module_register(&sink_module);
	host_set_exit_hook(on_exit_report, NULL);
	struct host_config cfg = { 0 };
	if (base)
		cfg = *base;
	cfg.threads = 2;
	cfg.service_path = HOST_TEST_LUA_DIR "/?.lua";
	cfg.console_port = console;
	cfg.http_port = http;
	if (host_start(&cfg) != 0)
		return -1;
	probe_handle = host_launch("probe", "");
	return probe_handle ? 0 : -1;
}

__attribute__((unused)) static int start_host(int console, int http) {
	host_module_register(&probe_module);
	host_module_register(&sink_module);
	host_set_exit_hook(on_exit_report, NULL);
	struct host_config cfg = {
		.threads = 2,
		.service_path = HOST_TEST_LUA_DIR "/?.lua",
		.console_port = console,
		.http_port = http,
	};
	if (host_start(&cfg) != 0)
		return -1;
	probe_handle = host_launch("probe", "");
	return probe_handle ? 0 : -1;
}

static uint32_t launch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((unused)) static uint32_t launch(const char *fmt, ...) {
	char param[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(param, sizeof(param), fmt, ap);
	va_end(ap);
	uint32_t h = host_launch("snlua", param);
	assert_true(h != 0);
	return h;
}

#endif
