/* The memory view as Prometheus text (exposition format 0.0.4) and as JSON
 * (written by jansson, so names are escaped correctly). */

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "page.h"

struct metric {
	const char *name, *type, *help;
	size_t (*get)(const struct host_mem_row *r);
};

static size_t get_c(const struct host_mem_row *r) { return r->st.bytes; }
static size_t get_lua(const struct host_mem_row *r) { return r->st.lua_bytes; }
static size_t get_blocks(const struct host_mem_row *r) { return r->st.blocks; }
static size_t get_peak(const struct host_mem_row *r) { return r->st.peak; }
static size_t get_limit(const struct host_mem_row *r) { return r->st.limit; }
static size_t get_allocs(const struct host_mem_row *r) { return (size_t)r->st.allocs; }
static size_t get_frees(const struct host_mem_row *r) { return (size_t)r->st.frees; }

static const struct metric per_service[] = {
	{ "skynet_mem_service_c_bytes", "gauge", "Live C bytes charged to the service (usable sizes).", get_c },
	{ "skynet_mem_service_lua_bytes", "gauge", "Live Lua heap bytes of the service.", get_lua },
	{ "skynet_mem_service_blocks", "gauge", "Live C blocks of the service.", get_blocks },
	{ "skynet_mem_service_peak_bytes", "gauge", "High-water mark of C + Lua bytes.", get_peak },
	{ "skynet_mem_service_limit_bytes", "gauge", "Limit on C + Lua bytes (0: none).", get_limit },
	{ "skynet_mem_service_allocs_total", "counter", "Allocations (C blocks and Lua heap blocks) charged to the service; a resize counts one allocation and one free.", get_allocs },
	{ "skynet_mem_service_frees_total", "counter", "Frees (C blocks and Lua heap blocks) charged to the service.", get_frees },
};

/* Label values: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *s) {
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void gauge(FILE *f, const char *name, const char *help, size_t v) {
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %zu\n", name, help, name, name, v);
}

char *host_metrics_text(const struct host_mem_view *v) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	for (size_t m = 0; m < sizeof(per_service) / sizeof(per_service[0]); m++) {
		const struct metric *mt = &per_service[m];
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name, mt->type);
		for (size_t i = 0; i < v->n; i++) {
			fprintf(f, "%s{handle=\":%08x\",name=\"", mt->name, v->rows[i].st.handle);
			put_label(f, v->rows[i].name);
			fprintf(f, "\"} %zu\n", mt->get(&v->rows[i]));
		}
	}
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
	for (size_t i = 0; i < v->n; i++) {
		const struct skynet_mem_stat *st = &v->rows[i].st;
		char h[16];
		snprintf(h, sizeof(h), ":%08x", st->handle);
		json_t *s = json_object();
		if (s == NULL)
			continue;
		json_object_set_new(s, "handle", json_string(h));
		json_object_set_new(s, "id", json_integer(st->handle));
		json_object_set_new(s, "name", json_string(v->rows[i].name));
		set_size(s, "c_bytes", st->bytes);
		set_size(s, "lua_bytes", st->lua_bytes);
		set_size(s, "blocks", st->blocks);
		set_size(s, "peak", st->peak);
		set_size(s, "limit", st->limit);
		set_size(s, "allocs", (size_t)st->allocs);
		set_size(s, "frees", (size_t)st->frees);
		json_array_append_new(services, s);
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
