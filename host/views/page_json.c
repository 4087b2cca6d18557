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

static void exits_j(FILE *f) {
	struct host_exit_report r[EXITS_SHOWN];
	size_t n = host_exit_reports(r, EXITS_SHOWN);
	fputs(",\"exits\":[", f);
	for (size_t i = n; i > 0; i--) {   /* newest first */
		const struct host_exit_report *e = &r[i - 1];
		fprintf(f, "%s{\"handle\":\":%08x\",\"name\":", i < n ? "," : "", e->handle);
		mem_views_json_string(f, e->name);
		fprintf(f, ",\"t\":%llu,\"bytes\":%zu,\"blocks\":%zu,\"lua_bytes\":%zu,\"leak\":%s,\"sites\":",
			(unsigned long long)e->when * 10, e->bytes, e->blocks, e->lua_bytes,
			e->bytes || e->blocks ? "true" : "false");
		mem_views_json_string(f, e->sites);
		fputc('}', f);
	}
	fputc(']', f);
}

static void limit_hits_j(FILE *f) {
	struct host_limit_hit h[LIMIT_HITS_KEPT];
	uint64_t total = 0;
	size_t n = host_limit_hits(h, LIMIT_HITS_KEPT, &total);
	fprintf(f, ",\"limit_refusals\":%llu,\"limit_hits\":[", (unsigned long long)total);
	for (size_t i = n; i > 0; i--) {   /* newest first */
		const struct host_limit_hit *x = &h[i - 1];
		fprintf(f, "%s{\"handle\":\":%08x\",\"name\":", i < n ? "," : "", x->handle);
		mem_views_json_string(f, x->name);
		fprintf(f, ",\"kind\":\"%s\",\"request\":%zu,\"used\":%zu,\"limit\":%zu,\"first\":%llu,\"last\":%llu,\"count\":%llu}",
			x->kind, x->request, x->used, x->limit, (unsigned long long)x->first_ms,
			(unsigned long long)x->last_ms, (unsigned long long)x->count);
	}
	fputc(']', f);
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
