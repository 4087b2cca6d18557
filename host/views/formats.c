/* The memory view as Prometheus text (exposition format 0.0.4) and as JSON
 * (written by jansson). Names are made valid UTF-8 first: one bad name must
 * not make a scraper drop the whole page. */

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "utf8.h"
#include "page.h"

struct metric {
	const char *name, *type, *help;
	size_t (*get)(const struct host_mem_row *r);
	int summed;   /* has a "rest" series when /metrics keeps only the top N */
};

static size_t get_c(const struct host_mem_row *r) { return r->st.bytes; }
static size_t get_lua(const struct host_mem_row *r) { return r->st.lua_bytes; }
static size_t get_blocks(const struct host_mem_row *r) { return r->st.blocks; }
static size_t get_peak(const struct host_mem_row *r) { return r->st.peak; }
static size_t get_limit(const struct host_mem_row *r) { return r->st.limit; }
static size_t get_allocs(const struct host_mem_row *r) { return (size_t)r->st.allocs; }
static size_t get_frees(const struct host_mem_row *r) { return (size_t)r->st.frees; }
static size_t get_mailbox(const struct host_mem_row *r) { return r->load.mqlen; }

static const struct metric per_service[] = {
	{ "skynet_mem_service_c_bytes", "gauge", "Live C bytes charged to the service (usable sizes).", get_c, 1 },
	{ "skynet_mem_service_lua_bytes", "gauge", "Live Lua heap bytes of the service.", get_lua, 1 },
	{ "skynet_mem_service_blocks", "gauge", "Live C blocks of the service.", get_blocks, 1 },
	{ "skynet_mem_service_peak_bytes", "gauge", "High-water mark of C + Lua bytes.", get_peak, 0 },
	{ "skynet_mem_service_limit_bytes", "gauge", "Limit on C + Lua bytes (0: none).", get_limit, 0 },
	{ "skynet_mem_service_allocs_total", "counter", "Allocations (C blocks and Lua heap blocks) charged to the service; a resize counts one allocation and one free.", get_allocs, 1 },
	{ "skynet_mem_service_frees_total", "counter", "Frees (C blocks and Lua heap blocks) charged to the service.", get_frees, 1 },
	{ "skynet_mem_service_mailbox_messages", "gauge", "Messages waiting in the service's mailbox.", get_mailbox, 1 },
};
#define N_METRICS (sizeof(per_service) / sizeof(per_service[0]))

static size_t row_total(const struct host_mem_row *r) {
	return r->st.bytes + r->st.lua_bytes;
}

static const struct host_mem_view *rank_view;   /* qsort has no context argument */
static pthread_mutex_t rank_lock = PTHREAD_MUTEX_INITIALIZER;

static int cmp_rank(const void *a, const void *b) {
	const struct host_mem_row *x = &rank_view->rows[*(const size_t *)a];
	const struct host_mem_row *y = &rank_view->rows[*(const size_t *)b];
	size_t tx = row_total(x), ty = row_total(y);
	return tx < ty ? 1 : tx > ty ? -1 : (x->st.handle > y->st.handle) - (x->st.handle < y->st.handle);
}

/* keep[i] = 1 for the top rows by C + Lua bytes; every row when top is 0 or
 * covers the view. NULL out of memory. */
static unsigned char *choose(const struct host_mem_view *v, size_t top) {
	unsigned char *keep = malloc(v->n + 1);
	size_t *idx = malloc((v->n + 1) * sizeof(size_t));
	if (keep == NULL || idx == NULL) {
		free(keep);
		free(idx);
		return NULL;
	}
	int all = top == 0 || top >= v->n;
	memset(keep, all, v->n + 1);
	if (!all) {
		for (size_t i = 0; i < v->n; i++)
			idx[i] = i;
		pthread_mutex_lock(&rank_lock);
		rank_view = v;
		qsort(idx, v->n, sizeof(size_t), cmp_rank);
		pthread_mutex_unlock(&rank_lock);
		for (size_t i = 0; i < top; i++)
			keep[idx[i]] = 1;
	}
	free(idx);
	return keep;
}

static void gauge(FILE *f, const char *name, const char *help, size_t v) {
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %zu\n", name, help, name, name, v);
}

char *host_metrics_text_top(const struct host_mem_view *v, size_t top) {
	unsigned char *keep = choose(v, top);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = keep ? open_memstream(&buf, &len) : NULL;
	if (f == NULL) {
		free(keep);
		return NULL;
	}
	size_t rest = 0;
	for (size_t i = 0; i < v->n; i++)
		rest += !keep[i];
	for (size_t m = 0; m < N_METRICS; m++) {
		const struct metric *mt = &per_service[m];
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name, mt->type);
		size_t sum = 0;
		for (size_t i = 0; i < v->n; i++) {
			if (!keep[i]) {
				sum += mt->get(&v->rows[i]);
				continue;
			}
			fprintf(f, "%s{handle=\":%08x\",name=\"", mt->name, v->rows[i].st.handle);
			host_utf8_write(f, v->rows[i].name, HOST_UTF8_LABEL);
			fprintf(f, "\"} %zu\n", mt->get(&v->rows[i]));
		}
		if (rest && mt->summed)
			fprintf(f, "%s{handle=\"rest\",name=\"rest\"} %zu\n", mt->name, sum);
	}
	free(keep);
	if (top)
		gauge(f, "skynet_mem_services_in_rest",
			"Services summed into the handle=\"rest\" series (only the top N by C + Lua bytes have their own).", rest);
	gauge(f, "skynet_mem_c_bytes", "Live C bytes of every service, exited ones included.", v->totals.bytes);
	gauge(f, "skynet_mem_lua_bytes", "Live Lua heap bytes of every service.", v->totals.lua_bytes);
	gauge(f, "skynet_mem_blocks", "Live C blocks of every service.", v->totals.blocks);
	gauge(f, "skynet_mem_services", "Live services.", v->n ? v->n - 1 : 0);
	gauge(f, "skynet_mem_orphan_bytes", "C bytes still owned by exited services (leaks).", v->orphan_bytes);
	gauge(f, "skynet_mem_orphan_blocks", "C blocks still owned by exited services (leaks).", v->orphan_blocks);
	gauge(f, "skynet_mem_process_resident_bytes", "Resident set size of the host process.", host_process_resident());
	host_limit_refusals_metric(f);
	if (v->jemalloc) {
		gauge(f, "skynet_mem_jemalloc_allocated_bytes", "jemalloc stats.allocated.", v->je_allocated);
		gauge(f, "skynet_mem_jemalloc_active_bytes", "jemalloc stats.active.", v->je_active);
		gauge(f, "skynet_mem_jemalloc_resident_bytes", "jemalloc stats.resident.", v->je_resident);
		gauge(f, "skynet_mem_jemalloc_mapped_bytes", "jemalloc stats.mapped.", v->je_mapped);
		gauge(f, "skynet_mem_jemalloc_retained_bytes", "jemalloc stats.retained.", v->je_retained);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int set_size(json_t *o, const char *key, size_t v) {
	return json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* One service object, appended to services; -1 out of memory. */
static int json_row(json_t *services, const struct host_mem_row *row) {
	const struct skynet_mem_stat *st = &row->st;
	char h[16];
	snprintf(h, sizeof(h), ":%08x", st->handle);
	json_t *s = json_object();
	if (s == NULL || json_array_append_new(services, s) != 0)
		return -1;
	char *name = host_utf8_clean(row->name);   /* jansson refuses invalid UTF-8 */
	int bad = name == NULL || json_object_set_new(s, "name", json_string(name)) != 0;
	free(name);
	bad |= json_object_set_new(s, "handle", json_string(h)) != 0;
	bad |= json_object_set_new(s, "id", json_integer(st->handle)) != 0;
	bad |= set_size(s, "c_bytes", st->bytes) != 0;
	bad |= set_size(s, "lua_bytes", st->lua_bytes) != 0;
	bad |= set_size(s, "blocks", st->blocks) != 0;
	bad |= set_size(s, "peak", st->peak) != 0;
	bad |= set_size(s, "limit", st->limit) != 0;
	bad |= set_size(s, "allocs", (size_t)st->allocs) != 0;
	bad |= set_size(s, "frees", (size_t)st->frees) != 0;
	bad |= set_size(s, "mailbox", row->load.mqlen) != 0;
	bad |= json_object_set_new(s, "messages", json_integer(row->load.messages)) != 0;
	return bad ? -1 : 0;
}

char *host_memory_json(const struct host_mem_view *v) {
	json_t *root = json_object();
	json_t *services = json_array();
	json_t *totals = json_object();
	if (root == NULL || services == NULL || totals == NULL) {
		json_decref(root);
		json_decref(services);
		json_decref(totals);
		return NULL;
	}
	json_object_set_new(root, "services", services);
	json_object_set_new(root, "totals", totals);
	for (size_t i = 0; i < v->n; i++)
		if (json_row(services, &v->rows[i]) != 0) {
			json_decref(root);
			return NULL;   /* never a view with rows missing */
		}
	set_size(totals, "c_bytes", v->totals.bytes);
	set_size(totals, "lua_bytes", v->totals.lua_bytes);
	set_size(totals, "blocks", v->totals.blocks);
	set_size(totals, "services", v->n ? v->n - 1 : 0);
	set_size(totals, "orphan_bytes", v->orphan_bytes);
	set_size(totals, "orphan_blocks", v->orphan_blocks);
	set_size(totals, "process_resident", host_process_resident());
	if (v->jemalloc) {
		json_t *je = json_object();
		set_size(je, "allocated", v->je_allocated);
		set_size(je, "active", v->je_active);
		set_size(je, "resident", v->je_resident);
		set_size(je, "mapped", v->je_mapped);
		set_size(je, "retained", v->je_retained);
		json_object_set_new(root, "jemalloc", je);
	} else {
		json_object_set_new(root, "jemalloc", json_null());
	}
	char *text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	return text;
}
