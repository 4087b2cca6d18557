/* A consistent view of every live service's memory record, with names, for
 * the live table, the console and the HTTP endpoints. */

#include <stdlib.h>
#include <string.h>

#include "malloc_hook.h"
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
	skynet_mem_totals(&v->totals);
	skynet_mem_orphans(&v->orphan_bytes, &v->orphan_blocks);
	v->jemalloc = skynet_mem_has_jemalloc();
	if (v->jemalloc) {
		size_t epoch = 1;
		mallctl_int64("epoch", &epoch);   /* refreshes jemalloc's cached stats */
		v->je_allocated = mallctl_int64("stats.allocated", NULL);
		v->je_active = mallctl_int64("stats.active", NULL);
		v->je_resident = mallctl_int64("stats.resident", NULL);
		v->je_mapped = mallctl_int64("stats.mapped", NULL);
		v->je_retained = mallctl_int64("stats.retained", NULL);
	}
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

static void human(char *buf, size_t len, size_t n) {
	if (n >= 10u << 20)
		snprintf(buf, len, "%.1fM", n / 1048576.0);
	else if (n >= 10u << 10)
		snprintf(buf, len, "%.1fK", n / 1024.0);
	else
		snprintf(buf, len, "%zu", n);
}

void host_mem_print_table(FILE *out, const struct host_mem_view *v, const struct host_mem_view *prev) {
	fprintf(out, "%-10s %-14s %10s %10s %8s %10s %10s %10s\n",
		"handle", "name", "C bytes", "Lua bytes", "blocks", "peak", "limit", "growth");
	for (size_t i = 0; i < v->n; i++) {
		const struct host_mem_row *r = &v->rows[i];
		const struct host_mem_row *p = host_mem_find(prev, r->st.handle);
		long long now = (long long)(r->st.bytes + r->st.lua_bytes);
		long long before = p ? (long long)(p->st.bytes + p->st.lua_bytes) : 0;
		char c[16], l[16], pk[16], lim[16];
		human(c, sizeof(c), r->st.bytes);
		human(l, sizeof(l), r->st.lua_bytes);
		human(pk, sizeof(pk), r->st.peak);
		if (r->st.limit)
			human(lim, sizeof(lim), r->st.limit);
		else
			strcpy(lim, "-");
		fprintf(out, ":%08x  %-14s %10s %10s %8zu %10s %10s %+10lld\n", r->st.handle, r->name,
			c, l, r->st.blocks, pk, lim, p || !prev ? now - before : now);
	}
	fprintf(out, "total: C %zu bytes in %zu blocks, Lua %zu bytes, %zu services; exited services still own %zu bytes\n",
		v->totals.bytes, v->totals.blocks, v->totals.lua_bytes, v->n ? v->n - 1 : 0, v->orphan_bytes);
	if (v->jemalloc)
		fprintf(out, "jemalloc: allocated %zu, active %zu, resident %zu\n",
			v->je_allocated, v->je_active, v->je_resident);
	fflush(out);
}
