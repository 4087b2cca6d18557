/* The memory view as Prometheus text (exposition format 0.0.4) and as JSON.
 * Used by the project's host (formats) and by skynet's memory_web service
 * (through skynet.memory), so the two serve the same names and labels. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "malloc_hook.h"
#include "mem-views.h"

struct metric {
	const char *name, *type, *help;
	long long (*get)(const struct mem_views_row *r);   /* < 0: no sample */
	int summed;   /* has a "rest" series when /metrics keeps only the top N */
};

static long long get_c(const struct mem_views_row *r) { return (long long)r->st.bytes; }
static long long get_lua(const struct mem_views_row *r) { return (long long)r->st.lua_bytes; }
static long long get_lua_mem(const struct mem_views_row *r) { return r->lua_mem; }
static long long get_blocks(const struct mem_views_row *r) { return (long long)r->st.blocks; }
static long long get_peak(const struct mem_views_row *r) { return (long long)r->st.peak; }
static long long get_limit(const struct mem_views_row *r) { return (long long)r->st.limit; }
static long long get_allocs(const struct mem_views_row *r) { return (long long)r->st.allocs; }
static long long get_frees(const struct mem_views_row *r) { return (long long)r->st.frees; }
static long long get_limit_hits(const struct mem_views_row *r) { return (long long)r->st.limit_hits; }
static long long get_mailbox(const struct mem_views_row *r) { return (long long)r->mailbox; }

static const struct metric per_service[] = {
	{ "skynet_mem_service_c_bytes", "gauge", "Live C bytes charged to the service (usable sizes).", get_c, 1 },
	{ "skynet_mem_service_lua_bytes", "gauge", "Live Lua heap bytes of the service as the allocator charges them (size classes).", get_lua, 1 },
	{ "skynet_mem_service_lua_mem_bytes", "gauge", "Lua heap bytes of the service as its own Lua counts them (collectgarbage, snlua's mem; fewer than lua_bytes).", get_lua_mem, 1 },
	{ "skynet_mem_service_blocks", "gauge", "Live C blocks of the service.", get_blocks, 1 },
	{ "skynet_mem_service_peak_bytes", "gauge", "High-water mark of C + Lua bytes.", get_peak, 0 },
	{ "skynet_mem_service_limit_bytes", "gauge", "Limit on C + Lua bytes (0: none).", get_limit, 0 },
	{ "skynet_mem_service_limit_hits_total", "counter", "Times the service's C + Lua bytes went past its limit from under it (the allocation refused, or admitted where C code cannot take a NULL).", get_limit_hits, 1 },
	{ "skynet_mem_service_allocs_total", "counter", "Allocations (C blocks and Lua heap blocks) charged to the service; a resize counts one allocation and one free.", get_allocs, 1 },
	{ "skynet_mem_service_frees_total", "counter", "Frees (C blocks and Lua heap blocks) charged to the service.", get_frees, 1 },
	{ "skynet_mem_service_mailbox_messages", "gauge", "Messages waiting in the service's mailbox.", get_mailbox, 1 },
};
#define N_METRICS (sizeof(per_service) / sizeof(per_service[0]))

static size_t row_total(const struct mem_views_row *r) {
	return r->st.bytes + r->st.lua_bytes;
}

static int cmp_rank(const void *a, const void *b) {
	const struct mem_views_row *x = *(const struct mem_views_row *const *)a;
	const struct mem_views_row *y = *(const struct mem_views_row *const *)b;
	size_t tx = row_total(x), ty = row_total(y);
	return tx < ty ? 1 : tx > ty ? -1 : (x->st.handle > y->st.handle) - (x->st.handle < y->st.handle);
}

/* keep[i] = 1 for the top rows by C + Lua bytes; every row when top is 0 or
 * covers the view. NULL out of memory. */
static unsigned char *choose(const struct mem_views *v, size_t top) {
	unsigned char *keep = malloc(v->n + 1);
	const struct mem_views_row **idx = malloc((v->n + 1) * sizeof(*idx));
	if (keep == NULL || idx == NULL) {
		free(keep);
		free(idx);
		return NULL;
	}
	int all = top == 0 || top >= v->n;
	memset(keep, all, v->n + 1);
	if (!all) {
		for (size_t i = 0; i < v->n; i++)
			idx[i] = &v->rows[i];
		qsort(idx, v->n, sizeof(*idx), cmp_rank);
		for (size_t i = 0; i < top; i++)
			keep[idx[i] - v->rows] = 1;
	}
	free(idx);
	return keep;
}

static void gauge(FILE *f, const char *name, const char *help, size_t v) {
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %zu\n", name, help, name, name, v);
}

char *mem_views_metrics(const struct mem_views *v, size_t top) {
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
		int any = 0, rest_any = 0;
		long long sum = 0;
		for (size_t i = 0; i < v->n; i++) {
			long long x = mt->get(&v->rows[i]);
			if (x < 0)
				continue;
			if (!any++)
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name, mt->type);
			if (!keep[i]) {
				sum += x;
				rest_any = 1;
				continue;
			}
			fprintf(f, "%s{handle=\":%08x\",name=\"", mt->name, v->rows[i].st.handle);
			mem_utf8_write(f, v->rows[i].name, MEM_UTF8_LABEL);
			fprintf(f, "\"} %lld\n", x);
		}
		if (rest_any && mt->summed)
			fprintf(f, "%s{handle=\"rest\",name=\"rest\"} %lld\n", mt->name, sum);
	}
	free(keep);
	if (top)
		gauge(f, "skynet_mem_services_in_rest",
			"Services summed into the handle=\"rest\" series (only the top N by C + Lua bytes have their own).", rest);
	gauge(f, "skynet_mem_c_bytes", "Live C bytes of every service, exited ones included.", v->totals.bytes);
	gauge(f, "skynet_mem_lua_bytes", "Live Lua heap bytes of every service (the allocator's charge).", v->totals.lua_bytes);
	gauge(f, "skynet_mem_blocks", "Live C blocks of every service.", v->totals.blocks);
	gauge(f, "skynet_mem_services", "Live services.", v->services);
	gauge(f, "skynet_mem_orphan_bytes", "C bytes still owned by exited services (leaks).", v->orphan_bytes);
	gauge(f, "skynet_mem_orphan_blocks", "C blocks still owned by exited services (leaks).", v->orphan_blocks);
	gauge(f, "skynet_mem_process_resident_bytes", "Resident set size of the host process.", v->resident);
	if (v->has_refusals)
		fprintf(f, "# HELP skynet_mem_limit_refusals_total Allocations refused because a service was at its limit.\n"
			"# TYPE skynet_mem_limit_refusals_total counter\nskynet_mem_limit_refusals_total %llu\n",
			(unsigned long long)v->refusals);
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

void mem_views_json_string(FILE *f, const char *s) {
	fputc('"', f);
	mem_utf8_write(f, s, MEM_UTF8_JSON);
	fputc('"', f);
}

static void json_row(FILE *f, const struct mem_views_row *r) {
	const struct skynet_mem_stat *st = &r->st;
	fputs("  {\"name\": ", f);
	mem_views_json_string(f, r->name);
	fprintf(f, ", \"handle\": \":%08x\", \"id\": %u, \"c_bytes\": %zu, \"lua_bytes\": %zu",
		st->handle, st->handle, st->bytes, st->lua_bytes);
	if (r->lua_mem >= 0)
		fprintf(f, ", \"lua_mem\": %lld", r->lua_mem);
	fprintf(f, ", \"blocks\": %zu, \"peak\": %zu, \"limit\": %zu, \"allocs\": %llu, \"frees\": %llu"
		", \"mailbox\": %zu", st->blocks, st->peak, st->limit, (unsigned long long)st->allocs,
		(unsigned long long)st->frees, r->mailbox);
	if (r->messages >= 0)
		fprintf(f, ", \"messages\": %lld", r->messages);
	fputc('}', f);
}

char *mem_views_json(const struct mem_views *v) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	fputs("{\n \"services\": [\n", f);
	for (size_t i = 0; i < v->n; i++) {
		json_row(f, &v->rows[i]);
		fputs(i + 1 < v->n ? ",\n" : "\n", f);
	}
	fprintf(f, " ],\n \"totals\": {\"c_bytes\": %zu, \"lua_bytes\": %zu, \"blocks\": %zu, \"services\": %zu"
		", \"orphan_bytes\": %zu, \"orphan_blocks\": %zu, \"process_resident\": %zu},\n",
		v->totals.bytes, v->totals.lua_bytes, v->totals.blocks, v->services, v->orphan_bytes,
		v->orphan_blocks, v->resident);
	if (v->jemalloc)
		fprintf(f, " \"jemalloc\": {\"allocated\": %zu, \"active\": %zu, \"resident\": %zu, \"mapped\": %zu"
			", \"retained\": %zu}\n}\n", v->je_allocated, v->je_active, v->je_resident, v->je_mapped,
			v->je_retained);
	else
		fputs(" \"jemalloc\": null\n}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

size_t mem_views_resident(void) {
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	unsigned long size, resident;
	int ok = fscanf(f, "%lu %lu", &size, &resident) == 2;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return ok && page > 0 ? (size_t)resident * (size_t)page : 0;
}

void mem_views_globals(struct mem_views *v) {
	skynet_mem_totals(&v->totals);
	skynet_mem_orphans(&v->orphan_bytes, &v->orphan_blocks);
	v->resident = mem_views_resident();
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
}
