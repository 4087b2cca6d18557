/* Service contexts: creation (charged to the new service), message sending
 * and dispatch (payload ownership moves to the receiver), exit and the leak
 * report from skynet_mem_service_exit. */

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <time.h>

#include "context.h"
#include "handle.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"
#include "utf8.h"

#define REPORTS_KEPT 64
#define LEAKS_KEPT 256

static struct {
	pthread_mutex_t lock;
	struct host_exit_report ring[REPORTS_KEPT];
	size_t n;   /* reports so far; the ring keeps the last REPORTS_KEPT */
	/* leaks only: clean exits do not push them out */
	struct host_exit_report leaks[LEAKS_KEPT];
	size_t nleaks;
	void (*hook)(const struct host_exit_report *, void *);
	void *ud;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void report_exit(const struct host_exit_report *r) {
	pthread_mutex_lock(&R.lock);
	R.ring[R.n % REPORTS_KEPT] = *r;
	R.n++;
	if (r->bytes || r->blocks)
		R.leaks[R.nleaks++ % LEAKS_KEPT] = *r;
	void (*hook)(const struct host_exit_report *, void *) = R.hook;
	void *ud = R.ud;
	pthread_mutex_unlock(&R.lock);
	const struct host_config *cfg = host_config();
	if (cfg == NULL || !cfg->quiet) {
		char line[400];
		if (r->bytes || r->blocks)
			snprintf(line, sizeof(line), "[exit] :%08x %-12s LEAK %zu bytes in %zu blocks (lua %zu)%s%s",
				r->handle, r->name, r->bytes, r->blocks, r->lua_bytes, r->sites[0] ? " from " : "", r->sites);
		else
			snprintf(line, sizeof(line), "[exit] :%08x %-12s clean (lua %zu)", r->handle, r->name, r->lua_bytes);
		host_note(line);
	}
	if (hook)
		hook(r, ud);
}

void host_set_exit_hook(void (*fn)(const struct host_exit_report *, void *), void *ud) {
	pthread_mutex_lock(&R.lock);
	R.hook = fn;
	R.ud = ud;
	pthread_mutex_unlock(&R.lock);
}

/* The last max of a ring of cap entries holding total reports so far. */
static size_t copy_last(struct host_exit_report *out, size_t max,
	const struct host_exit_report *ring, size_t cap, size_t total) {
	size_t kept = total < cap ? total : cap;
	size_t n = kept < max ? kept : max;
	for (size_t i = 0; i < n; i++)
		out[i] = ring[(total - n + i) % cap];
	return n;
}

size_t host_exit_reports(struct host_exit_report *out, size_t max) {
	pthread_mutex_lock(&R.lock);
	size_t n = copy_last(out, max, R.ring, REPORTS_KEPT, R.n);
	pthread_mutex_unlock(&R.lock);
	return n;
}

size_t host_leak_reports(struct host_exit_report *out, size_t max) {
	pthread_mutex_lock(&R.lock);
	size_t n = copy_last(out, max, R.leaks, LEAKS_KEPT, R.nleaks);
	pthread_mutex_unlock(&R.lock);
	return n;
}

int host_exit_name(uint32_t handle, char *buf, size_t len) {
	int found = -1;
	pthread_mutex_lock(&R.lock);
	for (size_t i = 0; found && i < LEAKS_KEPT && i < R.nleaks; i++)
		if (R.leaks[i].handle == handle) {
			snprintf(buf, len, "%s", R.leaks[i].name);
			found = 0;
		}
	for (size_t i = 0; found && i < REPORTS_KEPT && i < R.n; i++)
		if (R.ring[i].handle == handle) {
			snprintf(buf, len, "%s", R.ring[i].name);
			found = 0;
		}
	pthread_mutex_unlock(&R.lock);
	return found;
}

/* Last reference gone: free what the service owns, then report what is left. */
static void context_delete(struct skynet_context *ctx) {
	struct host_exit_report r;
	memset(&r, 0, sizeof(r));
	r.handle = ctx->handle;
	snprintf(r.name, sizeof(r.name), "%s", ctx->label);
	if (ctx->mod->release && ctx->instance)
		ctx->mod->release(ctx->instance);
	if (ctx->queue)
		mq_mark_release(ctx->queue);
	skynet_free(ctx);
	struct skynet_mem_stat left;
	skynet_mem_service_exit(r.handle, &left);
	r.bytes = left.bytes;
	r.blocks = left.blocks;
	r.lua_bytes = left.lua_bytes;
	if (left.bytes)
		skynet_mem_profile_sites(r.handle, r.sites, sizeof(r.sites), 3);
	r.when = host_now();
	report_exit(&r);
}

void context_release(struct skynet_context *ctx) {
	if (atomic_fetch_sub(&ctx->ref, 1) == 1)
		context_delete(ctx);
}

/* Takes the handle out of the registry and drops the registry's reference. */
static int retire(uint32_t handle) {
	struct skynet_context *ctx;
	int r = handle_retire(handle, &ctx);
	if (ctx)
		context_release(ctx);
	return r;
}

uint32_t host_launch(const char *module, const char *param) {
	const struct skynet_module *mod = host_module_find(module);
	if (mod == NULL)
		return 0;
	uint32_t h = handle_reserve();
	if (h == 0)
		return 0;
	uint32_t prev = skynet_current_handle();
	skynet_mem_set_current(h);   /* the new service pays for its own context */
	struct skynet_context *ctx = skynet_malloc(sizeof(*ctx));
	if (ctx == NULL) {
		skynet_mem_set_current(prev);
		retire(h);
		skynet_mem_service_exit(h, NULL);
		return 0;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->mod = mod;
	ctx->handle = h;
	atomic_init(&ctx->ref, 2);   /* the registry's and ours */
	host_utf8_cut(ctx->label, sizeof(ctx->label), mod->name);
	ctx->queue = mq_create(h);
	ctx->instance = ctx->queue ? mod->create() : NULL;
	handle_bind(h, ctx);
	int ok = ctx->instance && mod->init(ctx->instance, ctx, param ? param : "") == 0;
	skynet_mem_set_current(prev);
	if (ok) {
		mq_activate(ctx->queue);
	} else {
		if (ctx->queue)
			mq_deactivate(ctx->queue);
		retire(h);
	}
	context_release(ctx);
	return ok ? h : 0;
}

void skynet_callback(struct skynet_context *ctx, void *ud, skynet_cb cb) {
	ctx->cb = cb;
	ctx->cb_ud = ud;
}

uint32_t skynet_context_handle(const struct skynet_context *ctx) {
	return ctx->handle;
}

int skynet_context_newsession(struct skynet_context *ctx) {
	int s = atomic_fetch_add(&ctx->session_id, 1) + 1;
	if (s <= 0) {   /* wrapped: sessions stay positive */
		atomic_store(&ctx->session_id, 1);
		s = 1;
	}
	return s;
}

void skynet_context_label(struct skynet_context *ctx, const char *label) {
	handle_set_label(ctx, label);
}

int skynet_send(struct skynet_context *ctx, uint32_t source, uint32_t dest, int type,
	int session, void *data, size_t sz) {
	if (session < 0)
		session = ctx ? skynet_context_newsession(ctx) : 0;
	struct skynet_context *d = handle_grab(dest);
	if (d == NULL) {
		skynet_free(data);
		return -1;
	}
	struct skynet_message m = { source, session, type, data, sz };
	mq_push(d->queue, &m);
	/* The transfer's credit to d must be published before our reference is
	 * dropped: d's exit report may be taken on another thread right after. */
	skynet_mem_flush();
	context_release(d);
	return session;
}

int skynet_send_copy(struct skynet_context *ctx, uint32_t dest, int type, int session,
	const void *msg, size_t sz) {
	void *data = NULL;
	if (sz) {
		data = skynet_malloc(sz);
		if (data == NULL)
			return -2;
		memcpy(data, msg, sz);
	}
	return skynet_send(ctx, ctx ? ctx->handle : 0, dest, type, session, data, sz);
}

void context_drop_message(struct skynet_message *m, uint32_t dest) {
	skynet_free(m->data);
	m->data = NULL;
	if (m->session > 0 && m->type != PTYPE_RESPONSE && m->type != PTYPE_ERROR && m->source)
		skynet_send(NULL, dest, m->source, PTYPE_ERROR, m->session, NULL, 0);
}

void context_dispatch(struct message_queue *q) {
	struct skynet_context *ctx = handle_grab(mq_handle(q));
	if (ctx == NULL) {
		mq_orphan(q);
		return;
	}
	struct skynet_message m;
	if (mq_pop(q, &m) == 0) {
		uint32_t prev = skynet_current_handle();
		skynet_mem_set_current(ctx->handle);
		atomic_fetch_add(&ctx->messages, 1);
		/* CPU time per service, as skynet's profile option (the console's
		 * stat): opt-in, each clock read is a system call (~0.5 us here) */
		const struct host_config *cfg = host_config();
		int profile = cfg && cfg->profile;
		struct timespec t0, t1;
		if (profile)
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		int keep = ctx->cb ? ctx->cb(ctx, ctx->cb_ud, m.type, m.session, m.source, m.data, m.sz) : 0;
		if (profile) {
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
			atomic_fetch_add(&ctx->cpu_ns, (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
		}
		if (!keep)
			skynet_free(m.data);
		skynet_mem_set_current(prev);
		mq_reschedule(q);
	}
	context_release(ctx);
}

int host_exit_service(uint32_t handle) {
	return retire(handle);
}

int host_service_name(uint32_t handle, char *buf, size_t len) {
	return handle_label(handle, buf, len);
}

size_t host_service_count(void) {
	return handle_list(NULL, 0);
}

int host_service_load(uint32_t handle, struct host_service_load *out) {
	struct skynet_context *ctx = handle_grab(handle);
	if (ctx == NULL)
		return -1;
	out->messages = atomic_load(&ctx->messages);
	out->mqlen = mq_length(ctx->queue);
	out->cpu_ns = atomic_load(&ctx->cpu_ns);
	out->lua_mem = ctx->mod->lua_mem && ctx->instance ? ctx->mod->lua_mem(ctx->instance) : -1;
	context_release(ctx);
	return 0;
}

int host_service_busy(uint32_t handle) {
	struct skynet_context *ctx = handle_grab(handle);
	if (ctx == NULL)
		return -1;
	int busy = mq_busy(ctx->queue);
	context_release(ctx);
	return busy;
}

static size_t snapshot(uint32_t **out) {
	size_t cap = 64;
	for (;;) {
		uint32_t *h = skynet_malloc(cap * sizeof(uint32_t));
		if (h == NULL)
			return 0;
		size_t n = handle_list(h, cap);
		if (n <= cap) {
			*out = h;
			return n;
		}
		skynet_free(h);
		cap = n + 16;
	}
}

int host_foreach_service(void (*fn)(uint32_t handle, void *ud), void *ud) {
	uint32_t *h = NULL;
	size_t n = snapshot(&h);
	if (h == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		fn(h[i], ud);
	skynet_free(h);
	return 0;
}

/* At shutdown, with no worker running: every service exits, in handle order. */
void context_release_all(void) {
	uint32_t *h = NULL;
	size_t n;
	while ((n = snapshot(&h)) > 0) {
		for (size_t i = 0; i < n; i++)
			retire(h[i]);
		skynet_free(h);
		h = NULL;
	}
	skynet_free(h);
}
