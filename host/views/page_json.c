/* /history.json for the page: the samples of the history ring, the last exit
 * reports, the limit hits and the exited services that still own memory.
 * Written by jansson (names escaped correctly). */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "skynet_mem.h"

#define EXITS_SHOWN 64
#define EXITED_SHOWN 50

static json_t *size_j(size_t v) {
	return json_integer((json_int_t)v);
}

static json_t *handle_j(uint32_t h) {
	char s[16];
	snprintf(s, sizeof(s), ":%08x", h);
	return json_string(s);
}

/* A service name as a JSON string; bytes of invalid UTF-8 become '?'. */
static json_t *name_j(const char *name) {
	json_t *j = json_string(name);
	if (j)
		return j;
	char buf[HOST_NAME_MAX_LEN];
	snprintf(buf, sizeof(buf), "%s", name);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(buf);
}

/* names: handle -> name of every service in the samples */
static json_t *samples_j(uint64_t since_ms, json_t *names) {
	struct history_sample *s;
	long n = history_copy(since_ms, &s);
	if (n < 0)
		return NULL;
	json_t *a = json_array();
	for (long i = 0; a && i < n; i++) {
		json_t *top = json_array();
		for (size_t k = 0; top && k < s[i].ntop; k++) {
			const struct history_service *e = &s[i].top[k];
			char h[16];
			snprintf(h, sizeof(h), ":%08x", e->handle);
			json_array_append_new(top, json_pack("[s,I,I]", h, (json_int_t)e->c_bytes,
				(json_int_t)e->lua_bytes));
			json_object_set_new(names, h, name_j(e->name));
		}
		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o}",
			"t", (json_int_t)s[i].t_ms, "c", size_j(s[i].c_bytes), "lua", size_j(s[i].lua_bytes),
			"orphan", size_j(s[i].orphan_bytes), "resident", size_j(s[i].resident),
			"services", size_j(s[i].services), "top", top ? top : json_array()));
	}
	free(s);
	return a;
}

static json_t *exits_j(void) {
	struct host_exit_report r[EXITS_SHOWN];
	size_t n = host_exit_reports(r, EXITS_SHOWN);
	json_t *a = json_array();
	for (size_t i = n; a && i > 0; i--)   /* newest first */
		json_array_append_new(a, json_pack("{s:o,s:o,s:I,s:o,s:o,s:o,s:b}",
			"handle", handle_j(r[i - 1].handle), "name", name_j(r[i - 1].name),
			"t", (json_int_t)(r[i - 1].when * 10), "bytes", size_j(r[i - 1].bytes),
			"blocks", size_j(r[i - 1].blocks), "lua_bytes", size_j(r[i - 1].lua_bytes),
			"leak", r[i - 1].bytes || r[i - 1].blocks));
	return a;
}

static json_t *limit_hits_j(json_t *root) {
	struct host_limit_hit h[LIMIT_HITS_KEPT];
	uint64_t total = 0;
	size_t n = host_limit_hits(h, LIMIT_HITS_KEPT, &total);
	json_object_set_new(root, "limit_refusals", json_integer((json_int_t)total));
	json_t *a = json_array();
	for (size_t i = n; a && i > 0; i--)   /* newest first */
		json_array_append_new(a, json_pack("{s:o,s:o,s:s,s:o,s:o,s:o,s:I,s:I,s:I}",
			"handle", handle_j(h[i - 1].handle), "name", name_j(h[i - 1].name), "kind", h[i - 1].kind,
			"request", size_j(h[i - 1].request), "used", size_j(h[i - 1].used),
			"limit", size_j(h[i - 1].limit), "first", (json_int_t)h[i - 1].first_ms,
			"last", (json_int_t)h[i - 1].last_ms, "count", (json_int_t)h[i - 1].count));
	return a;
}

struct exited {
	struct skynet_mem_stat st[EXITED_SHOWN];
	size_t n, all;
};

/* Retired records still owning C blocks, the largest EXITED_SHOWN kept. */
static int collect_exited(const struct skynet_mem_stat *st, void *ud) {
	struct exited *e = ud;
	if (!st->retired || (st->bytes == 0 && st->blocks == 0))
		return 0;
	e->all++;
	size_t pos = e->n;
	while (pos > 0 && e->st[pos - 1].bytes < st->bytes)
		pos--;
	if (pos >= EXITED_SHOWN)
		return 0;
	size_t last = e->n < EXITED_SHOWN ? e->n : EXITED_SHOWN - 1;
	memmove(&e->st[pos + 1], &e->st[pos], (last - pos) * sizeof(e->st[0]));
	e->st[pos] = *st;
	if (e->n < EXITED_SHOWN)
		e->n++;
	return 0;
}

static json_t *exited_j(json_t *root) {
	struct exited *e = calloc(1, sizeof(*e));
	struct host_exit_report *r = malloc(EXITS_SHOWN * sizeof(*r));
	json_t *a = json_array();
	if (e && r && a) {
		skynet_mem_foreach(collect_exited, e);
		size_t nr = host_exit_reports(r, EXITS_SHOWN);
		for (size_t i = 0; i < e->n; i++) {
			const char *name = "";   /* known while its exit report is kept */
			for (size_t k = 0; k < nr; k++)
				if (r[k].handle == e->st[i].handle)
					name = r[k].name;
			json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "handle",
				handle_j(e->st[i].handle), "name", name_j(name), "c_bytes", size_j(e->st[i].bytes),
				"blocks", size_j(e->st[i].blocks)));
		}
		json_object_set_new(root, "exited_with_leftovers", size_j(e->all));
	}
	free(e);
	free(r);
	return a;
}

char *host_history_json(uint64_t since_ms) {
	json_t *root = json_object();
	json_t *names = json_object();
	json_t *samples = root && names ? samples_j(since_ms, names) : NULL;
	if (samples == NULL) {
		json_decref(root);
		json_decref(names);
		return NULL;
	}
	json_object_set_new(root, "interval_ms", json_integer(HISTORY_INTERVAL_MS));
	json_object_set_new(root, "capacity", json_integer(HISTORY_SAMPLES));
	json_object_set_new(root, "top_k", json_integer(HISTORY_TOP));
	json_object_set_new(root, "now", json_integer((json_int_t)(host_now() * 10)));
	json_object_set_new(root, "samples", samples);
	json_object_set_new(root, "names", names);
	json_object_set_new(root, "exits", exits_j());
	json_object_set_new(root, "limit_hits", limit_hits_j(root));
	json_object_set_new(root, "exited", exited_j(root));
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}
