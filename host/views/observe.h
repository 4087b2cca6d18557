#ifndef SKYNET_HOST_OBSERVE_H
#define SKYNET_HOST_OBSERVE_H

/* The operator's views: a per-service table (memview.c), the debug console
 * (console.c), Prometheus /metrics and /memory.json over HTTP (http.c). */

#include <stdio.h>

#include "kernel.h"
#include "mem-views.h"
#include "skynet_mem.h"

struct host_mem_row {
	struct skynet_mem_stat st;
	char name[HOST_NAME_MAX_LEN];
	struct host_service_load load;   /* zero for handle 0 and exited services */
	int exited;                      /* an exited service still owning memory */
};

struct host_mem_view {
	struct host_mem_row *rows;   /* live services (and handle 0, "host"), by handle */
	size_t n;
	/* The process's figures (totals, orphans, resident, jemalloc's), read by
	 * the renderer's own reader: the host and skynet show the same ones. */
	struct mem_views g;
};

/* Fills a view of every live service; 0, or -1 out of memory (never a
 * partial view). */
int host_mem_view(struct host_mem_view *v);
/* As host_mem_view, with HOST_VIEW_EXITED: exited services that still own
 * memory too (named from the exit reports kept, else "(exited)"). */
#define HOST_VIEW_EXITED 1
int host_mem_view_ex(struct host_mem_view *v, int flags);
void host_mem_view_free(struct host_mem_view *v);
/* The row of handle in v, or NULL. */
const struct host_mem_row *host_mem_find(const struct host_mem_view *v, uint32_t handle);
/* The live table: a line of totals, then the largest services first, every
 * byte figure in one unit; growth since prev (may be NULL). Returns the lines. */
struct host_table {
	size_t max_rows;   /* services shown */
	const char *eol;   /* line end; NULL: "\n" */
};
size_t host_mem_print_table(FILE *out, const struct host_mem_view *v, const struct host_mem_view *prev,
	const struct host_table *opt);

/* Both return the port listened on, or -1. */
int console_start(int port);
void console_stop(void);
int http_start(int port);
void http_stop(void);

/* Text formats, in a malloc'd string (NULL out of memory). */
/* Only the top services by C + Lua bytes have their own series (0: all); the
 * others are summed into one handle="rest" series per metric. */
char *host_metrics_text_top(const struct host_mem_view *v, size_t top);
char *host_memory_json(const struct host_mem_view *v);

#endif
