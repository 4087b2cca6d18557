/* The host's memory view as Prometheus text and as JSON: the rows handed to
 * the views' renderer (lualib-src/mem-views.c), the one skynet's memory_web
 * uses too, so both hosts serve the same names and labels. */

#include <stdlib.h>

#include "mem-views.h"
#include "observe.h"
#include "page.h"

/* The renderer's view of v (rows point into v); -1 out of memory. */
static int to_views(const struct host_mem_view *v, struct mem_views *out, struct mem_views_row **rows) {
	*rows = calloc(v->n + 1, sizeof(**rows));
	if (*rows == NULL)
		return -1;
	for (size_t i = 0; i < v->n; i++) {
		const struct host_mem_row *r = &v->rows[i];
		struct mem_views_row *o = &(*rows)[i];
		o->st = r->st;
		o->name = r->name;
		o->mailbox = r->load.mqlen;
		o->messages = r->load.messages;
		o->lua_mem = r->st.handle && !r->exited ? r->load.lua_mem : -1;   /* snlua's own count */
	}
	struct mem_views m = v->g;
	m.rows = *rows;
	m.n = v->n;
	m.services = v->n ? v->n - 1 : 0;
	m.has_refusals = 1;
	host_limit_hits(NULL, 0, &m.refusals);
	*out = m;
	return 0;
}

char *host_metrics_text_top(const struct host_mem_view *v, size_t top) {
	struct mem_views m;
	struct mem_views_row *rows;
	if (to_views(v, &m, &rows) != 0)
		return NULL;
	char *text = mem_views_metrics(&m, top);
	free(rows);
	return text;
}

char *host_memory_json(const struct host_mem_view *v) {
	struct mem_views m;
	struct mem_views_row *rows;
	if (to_views(v, &m, &rows) != 0)
		return NULL;
	char *text = mem_views_json(&m);
	free(rows);
	return text;
}
