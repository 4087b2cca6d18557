/* The page's history, the part both hosts share: a sample of the layer (the
 * totals and the largest services) and the samples as JSON. The host keeps
 * its ring in a thread; skynet's memory_web keeps one in its Lua state. */

#include <stdlib.h>
#include <string.h>

#include "mem-history.h"

void mem_history_consider(struct mem_history_sample *s, uint32_t handle, size_t c, size_t lua) {
	size_t t = c + lua, pos = s->ntop;
	while (pos > 0 && s->top[pos - 1].c_bytes + s->top[pos - 1].lua_bytes < t)
		pos--;
	if (pos >= MEM_HISTORY_TOP)
		return;
	size_t last = s->ntop < MEM_HISTORY_TOP ? s->ntop : MEM_HISTORY_TOP - 1;
	memmove(&s->top[pos + 1], &s->top[pos], (last - pos) * sizeof(s->top[0]));
	memset(&s->top[pos], 0, sizeof(s->top[pos]));
	s->top[pos].handle = handle;
	s->top[pos].c_bytes = c;
	s->top[pos].lua_bytes = lua;
	if (s->ntop < MEM_HISTORY_TOP)
		s->ntop++;
}

static int take_record(const struct skynet_mem_stat *st, void *ud) {
	struct mem_history_sample *s = ud;
	if (st->retired)
		return 0;
	s->services += st->handle != 0;
	mem_history_consider(s, st->handle, st->bytes, st->lua_bytes);
	for (size_t k = 0; k < s->ntop; k++)   /* the record's own name, when it has one */
		if (s->top[k].handle == st->handle)
			mem_utf8_cut(s->top[k].name, sizeof(s->top[k].name), st->name);
	return 0;
}

void mem_history_take(struct mem_history_sample *s, uint64_t t_ms) {
	memset(s, 0, sizeof(*s));
	s->t_ms = t_ms;
	struct skynet_mem_totals tot;
	skynet_mem_totals(&tot);
	s->c_bytes = tot.bytes;
	s->lua_bytes = tot.lua_bytes;
	size_t orphan_blocks;
	skynet_mem_orphans(&s->orphan_bytes, &orphan_blocks);
	s->resident = mem_views_resident();
	skynet_mem_foreach(take_record, s);
}

void mem_history_write(FILE *f, const struct mem_history_sample *s, size_t n,
	unsigned interval_ms, size_t capacity, uint64_t now_ms) {
	fprintf(f, "\"interval_ms\":%u,\"capacity\":%zu,\"top_k\":%d,\"now\":%llu,\"samples\":[",
		interval_ms, capacity, MEM_HISTORY_TOP, (unsigned long long)now_ms);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{\"t\":%llu,\"c\":%zu,\"lua\":%zu,\"orphan\":%zu,\"resident\":%zu,\"services\":%zu,\"top\":[",
			i ? "," : "", (unsigned long long)s[i].t_ms, s[i].c_bytes, s[i].lua_bytes, s[i].orphan_bytes,
			s[i].resident, s[i].services);
		for (size_t k = 0; k < s[i].ntop; k++)
			fprintf(f, "%s[\":%08x\",%zu,%zu]", k ? "," : "", s[i].top[k].handle, s[i].top[k].c_bytes,
				s[i].top[k].lua_bytes);
		fputs("]}", f);
	}
	/* names: the latest name of each handle in the samples, once each (a set
	 * of the handles written, each slot handle + 1 so that 0 is free) */
	fputs("],\"names\":{", f);
	size_t cap = 16;
	while (cap < 2 * n * MEM_HISTORY_TOP)
		cap *= 2;
	uint64_t *set = calloc(cap, sizeof(*set));
	int first = 1;
	for (size_t i = n; set && i > 0; i--)
		for (size_t k = 0; k < s[i - 1].ntop; k++) {
			uint64_t key = (uint64_t)s[i - 1].top[k].handle + 1;
			size_t at = (size_t)(key * 0x9e3779b97f4a7c15u) & (cap - 1);
			while (set[at] && set[at] != key)
				at = (at + 1) & (cap - 1);
			if (set[at])
				continue;
			set[at] = key;
			fprintf(f, "%s\":%08x\":", first ? "" : ",", s[i - 1].top[k].handle);
			mem_views_json_string(f, s[i - 1].top[k].name);
			first = 0;
		}
	free(set);
	fputc('}', f);
}

void mem_history_write_exits(FILE *f, const struct mem_history_exit *e, size_t n) {
	fputs(",\"exits\":[", f);
	for (size_t i = n; i > 0; i--) {
		const struct mem_history_exit *x = &e[i - 1];
		fprintf(f, "%s{\"handle\":\":%08x\",\"name\":", i < n ? "," : "", x->handle);
		mem_views_json_string(f, x->name);
		fprintf(f, ",\"t\":%llu,\"bytes\":%zu,\"blocks\":%zu,\"lua_bytes\":%zu,\"leak\":%s,\"sites\":",
			(unsigned long long)x->t_ms, x->bytes, x->blocks, x->lua_bytes, x->bytes || x->blocks ? "true" : "false");
		mem_views_json_string(f, x->sites);
		fputc('}', f);
	}
	fputc(']', f);
}

void mem_history_write_hits(FILE *f, uint64_t refusals, const struct mem_history_hit *h, size_t n) {
	fprintf(f, ",\"limit_refusals\":%llu,\"limit_hits\":[", (unsigned long long)refusals);
	for (size_t i = n; i > 0; i--) {
		const struct mem_history_hit *x = &h[i - 1];
		fprintf(f, "%s{\"handle\":\":%08x\",\"name\":", i < n ? "," : "", x->handle);
		mem_views_json_string(f, x->name);
		fprintf(f, ",\"kind\":\"%s\",\"refused\":%s,\"request\":%zu,\"used\":%zu,\"limit\":%zu,"
			"\"first\":%llu,\"last\":%llu,\"count\":%llu}",
			x->kind, x->refused ? "true" : "false", x->request, x->used, x->limit,
			(unsigned long long)x->first_ms, (unsigned long long)x->last_ms, (unsigned long long)x->count);
	}
	fputc(']', f);
}
