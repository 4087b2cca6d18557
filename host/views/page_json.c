/* /history.json for the page: the samples of the history ring (written by the
 * views' renderer, lualib-src/mem-history.c, as skynet's memory_web writes
 * them), then what only this host keeps: the last exit reports, the limit
 * hits and the exited services that still own memory, named. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "skynet_mem.h"

#define EXITS_SHOWN 64
#define EXITED_SHOWN 50

/* The host's exit reports and limit hits, through the renderer's writers. */
static void exits_j(FILE *f) {
	struct host_exit_report r[EXITS_SHOWN];
	struct mem_history_exit e[EXITS_SHOWN];
	size_t n = host_exit_reports(r, EXITS_SHOWN);
	for (size_t i = 0; i < n; i++)
		e[i] = (struct mem_history_exit){ .handle = r[i].handle, .name = r[i].name, .sites = r[i].sites,
			.t_ms = r[i].when * 10, .bytes = r[i].bytes, .blocks = r[i].blocks, .lua_bytes = r[i].lua_bytes };
	mem_history_write_exits(f, e, n);
}

static void limit_hits_j(FILE *f) {
	struct host_limit_hit h[LIMIT_HITS_KEPT];
	struct mem_history_hit x[LIMIT_HITS_KEPT];
	uint64_t total = 0;
	size_t n = host_limit_hits(h, LIMIT_HITS_KEPT, &total);
	for (size_t i = 0; i < n; i++)   /* the host records refusals only */
		x[i] = (struct mem_history_hit){ .handle = h[i].handle, .name = h[i].name, .kind = h[i].kind,
			.refused = 1, .request = h[i].request, .used = h[i].used, .limit = h[i].limit,
			.first_ms = h[i].first_ms, .last_ms = h[i].last_ms, .count = h[i].count };
	mem_history_write_hits(f, total, x, n);
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

static int exited_j(FILE *f) {
	struct exited *e = calloc(1, sizeof(*e));
	struct host_exit_report *r = malloc(EXITS_SHOWN * sizeof(*r));
	if (e == NULL || r == NULL) {
		free(e);
		free(r);
		return -1;
	}
	skynet_mem_foreach(collect_exited, e);
	size_t nr = host_exit_reports(r, EXITS_SHOWN);
	fprintf(f, ",\"exited_with_leftovers\":%zu,\"exited\":[", e->all);
	for (size_t i = 0; i < e->n; i++) {
		const char *name = "";   /* known while its exit report is kept */
		for (size_t k = 0; k < nr; k++)
			if (r[k].handle == e->st[i].handle)
				name = r[k].name;
		fprintf(f, "%s{\"handle\":\":%08x\",\"name\":", i ? "," : "", e->st[i].handle);
		mem_views_json_string(f, name);
		fprintf(f, ",\"c_bytes\":%zu,\"blocks\":%zu}", e->st[i].bytes, e->st[i].blocks);
	}
	fputc(']', f);
	free(e);
	free(r);
	return 0;
}

char *host_history_json(uint64_t since_ms) {
	struct mem_history_sample *s;
	long n = history_copy(since_ms, &s);
	if (n < 0)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		free(s);
		return NULL;
	}
	fputc('{', f);
	mem_history_write(f, s, (size_t)n, HISTORY_INTERVAL_MS, HISTORY_SAMPLES, (uint64_t)host_now() * 10);
	free(s);
	exits_j(f);
	limit_hits_j(f);
	int bad = exited_j(f);
	fputc('}', f);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}
