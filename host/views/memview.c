/* A consistent view of every live service's memory record, with names, for
 * the live table, the console and the HTTP endpoints. */

#include <stdlib.h>
#include <string.h>

#include "observe.h"

struct collect {
	uint32_t *handles;
	size_t n, i;
	int overflow;   /* more services than room: the caller retries */
};

static void collect_one(uint32_t handle, void *ud) {
	struct collect *c = ud;
	if (c->i < c->n)
		c->handles[c->i++] = handle;
	else
		c->overflow = 1;
}

struct exited {
	struct host_mem_view *v;
	size_t cap;
	int oom;
};

/* skynet_mem_foreach: retired records that still own memory become rows. */
static int add_exited(const struct skynet_mem_stat *st, void *ud) {
	struct exited *e = ud;
	if (!st->retired || (st->bytes == 0 && st->blocks == 0 && st->lua_bytes == 0))
		return 0;
	if (e->v->n == e->cap) {
		size_t ncap = e->cap * 2;
		struct host_mem_row *rows = realloc(e->v->rows, ncap * sizeof(*rows));
		if (rows == NULL) {
			e->oom = 1;
			return 1;
		}
		e->v->rows = rows;
		e->cap = ncap;
	}
	struct host_mem_row *r = &e->v->rows[e->v->n++];
	memset(r, 0, sizeof(*r));
	r->st = *st;
	r->exited = 1;
	if (host_exit_name(st->handle, r->name, sizeof(r->name)) != 0)
		strcpy(r->name, "(exited)");
	return 0;
}

static int cmp_row_handle(const void *a, const void *b) {
	uint32_t x = ((const struct host_mem_row *)a)->st.handle, y = ((const struct host_mem_row *)b)->st.handle;
	return x < y ? -1 : x > y;
}

/* The live services' rows (handle 0 first); 1 when more services appeared. */
static int live_rows(struct host_mem_view *v, size_t *cap) {
	struct collect c = { 0 };
	c.n = host_service_count() + 16;
	c.handles = malloc(c.n * sizeof(uint32_t));
	v->rows = malloc((c.n + 1) * sizeof(struct host_mem_row));
	*cap = c.n + 1;
	if (c.handles == NULL || v->rows == NULL || host_foreach_service(collect_one, &c) != 0) {
		free(c.handles);
		return -1;
	}
	/* handle 0: the host's own threads (console, HTTP, timer, main) */
	struct host_mem_row *r = &v->rows[v->n];
	memset(r, 0, sizeof(*r));
	if (skynet_mem_stat(0, &r->st) == 0) {
		strcpy(r->name, "host");
		v->n++;
	}
	for (size_t i = 0; i < c.i; i++) {
		r = &v->rows[v->n];
		memset(r, 0, sizeof(*r));
		if (skynet_mem_stat(c.handles[i], &r->st) != 0)
			continue;
		if (host_service_name(c.handles[i], r->name, sizeof(r->name)) != 0
			|| host_service_load(c.handles[i], &r->load) != 0)
			continue;   /* exited meanwhile */
		v->n++;
	}
	free(c.handles);
	return c.overflow;
}

int host_mem_view_ex(struct host_mem_view *v, int flags) {
	size_t cap;
	int r;
	do {
		memset(v, 0, sizeof(*v));
		r = live_rows(v, &cap);
		if (r != 0)
			free(v->rows);
	} while (r == 1);
	if (r < 0) {
		v->rows = NULL;
		return -1;
	}
	if (flags & HOST_VIEW_EXITED) {
		struct exited e = { v, cap, 0 };
		skynet_mem_foreach(add_exited, &e);
		if (e.oom) {
			host_mem_view_free(v);
			return -1;
		}
		qsort(v->rows, v->n, sizeof(v->rows[0]), cmp_row_handle);
	}
	mem_views_globals(&v->g);
	return 0;
}

int host_mem_view(struct host_mem_view *v) {
	return host_mem_view_ex(v, 0);
}

void host_mem_view_free(struct host_mem_view *v) {
	free(v->rows);
	v->rows = NULL;
	v->n = 0;
}

const struct host_mem_row *host_mem_find(const struct host_mem_view *v, uint32_t handle) {
	for (size_t i = 0; v && i < v->n; i++)
		if (v->rows[i].st.handle == handle)
			return &v->rows[i];
	return NULL;
}

/* One unit for every byte column of a table, picked from its largest figure. */
struct unit {
	double div;
	const char *name;
};

static struct unit unit_for(size_t largest) {
	if (largest >= (size_t)100 << 30)
		return (struct unit){ 1073741824.0, "GiB" };
	if (largest >= (size_t)100 << 20)
		return (struct unit){ 1048576.0, "MiB" };
	return (struct unit){ 1024.0, "KiB" };
}

static size_t row_total(const struct host_mem_row *r) {
	return r->st.bytes + r->st.lua_bytes;
}

static int cmp_rows(const void *a, const void *b) {
	const struct host_mem_row *x = *(const struct host_mem_row *const *)a;
	const struct host_mem_row *y = *(const struct host_mem_row *const *)b;
	size_t tx = row_total(x), ty = row_total(y);
	return tx < ty ? 1 : tx > ty ? -1 : (x->st.handle > y->st.handle) - (x->st.handle < y->st.handle);
}

/* n in unit u, one decimal. */
static const char *fig(char *buf, size_t len, size_t n, struct unit u) {
	snprintf(buf, len, "%.1f", n / u.div);
	return buf;
}

size_t host_mem_print_table(FILE *out, const struct host_mem_view *v, const struct host_mem_view *prev,
	const struct host_table *opt) {
	const char *eol = opt->eol ? opt->eol : "\n";
	const struct host_mem_row **rows = malloc((v->n ? v->n : 1) * sizeof(*rows));
	if (rows == NULL)
		return 0;
	size_t largest = v->g.totals.bytes + v->g.totals.lua_bytes;
	for (size_t i = 0; i < v->n; i++) {
		rows[i] = &v->rows[i];
		if (rows[i]->st.peak > largest)
			largest = rows[i]->st.peak;
		if (rows[i]->st.limit > largest)
			largest = rows[i]->st.limit;
	}
	qsort(rows, v->n, sizeof(*rows), cmp_rows);
	struct unit u = unit_for(largest);
	size_t lines = 0;
	char a[24], b[24], c[24], d[24], e[24];
	fprintf(out, "services %zu   C %s %s in %zu blocks   Lua %s %s   exited services still own %s %s%s",
		v->n ? v->n - 1 : 0, fig(a, sizeof(a), v->g.totals.bytes, u), u.name, v->g.totals.blocks,
		fig(b, sizeof(b), v->g.totals.lua_bytes, u), u.name, fig(c, sizeof(c), v->g.orphan_bytes, u), u.name, eol);
	lines++;
	fprintf(out, "%-10s %-14s %8s %8s %8s %6s %8s %8s %8s%s", "handle", "name",
		"C", "Lua", "C+Lua", "blocks", "peak", "limit", "growth", eol);
	char unit_hdr[16];
	snprintf(unit_hdr, sizeof(unit_hdr), "(%s)", u.name);
	fprintf(out, "%-10s %-14s %8s %8s %8s %6s %8s %8s %8s%s", "", "", unit_hdr, unit_hdr, unit_hdr,
		"", unit_hdr, unit_hdr, unit_hdr, eol);
	lines += 2;
	size_t shown = v->n < opt->max_rows ? v->n : opt->max_rows;
	for (size_t i = 0; i < shown; i++) {
		const struct host_mem_row *r = rows[i];
		const struct host_mem_row *p = host_mem_find(prev, r->st.handle);
		double growth = prev == NULL ? 0
			: ((double)row_total(r) - (p ? (double)row_total(p) : 0)) / u.div;
		char name[15];
		snprintf(name, sizeof(name), "%.14s", r->name);
		for (char *q = name; *q; q++)   /* one line per service, whatever its name */
			if ((unsigned char)*q < 0x20)
				*q = '?';
		fprintf(out, ":%08x  %-14s %8s %8s %8s %6zu %8s %8s %+8.1f%s", r->st.handle, name,
			fig(a, sizeof(a), r->st.bytes, u), fig(b, sizeof(b), r->st.lua_bytes, u),
			fig(c, sizeof(c), row_total(r), u), r->st.blocks, fig(d, sizeof(d), r->st.peak, u),
			r->st.limit ? fig(e, sizeof(e), r->st.limit, u) : "-", growth, eol);
		lines++;
	}
	if (shown < v->n) {
		fprintf(out, "... and %zu smaller services%s", v->n - shown, eol);
		lines++;
	}
	free(rows);
	return lines;
}
