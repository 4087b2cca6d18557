#ifndef SKYNET_HOST_PAGE_H
#define SKYNET_HOST_PAGE_H

/* What the live page at / shows besides /memory.json: a ring of samples
 * (history.c), the allocations refused at a service's limit (limit_hits.h),
 * and the page's files and JSON (page.c, page_json.c); the process's resident
 * memory is the renderer's (mem_views_resident). */

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "kernel.h"
#include "limit_hits.h"
#include "mem-history.h"

struct host_mem_view;
struct MHD_Connection;

/* history.c: one sample a second for ten minutes, totals plus the top
 * HISTORY_TOP services, so its memory is fixed whatever the services. A
 * sample (struct mem_history_sample) and its JSON are the views' renderer's
 * (lualib-src/mem-history.c), which skynet's memory_web uses too. */
#define HISTORY_SAMPLES 600
#define HISTORY_TOP MEM_HISTORY_TOP
#define HISTORY_INTERVAL_MS 1000

/* The sampling thread; 0, or -1. */
int history_start(void);
void history_stop(void);
/* Adds a sample of the running host taken at t_ms, from one pass over the
 * layer's records (the oldest sample goes when the ring is full). */
void history_sample(uint64_t t_ms);
/* The same from a view (tests). */
void history_add(const struct host_mem_view *v, uint64_t t_ms);
/* Copies the samples newer than since_ms, oldest first, into a malloc'd
 * array (*out; NULL when none); returns how many, or -1 out of memory. */
long history_copy(uint64_t since_ms, struct mem_history_sample **out);

/* page_json.c: /history.json (samples newer than since_ms, exit reports,
 * limit hits, exited services still owning memory); malloc'd, NULL out of memory. */
char *host_history_json(uint64_t since_ms);

/* page.c: the folder the page's files are read from, or NULL when none has index.html. */
const char *host_page_dir(void);
/* page.c: the page's routes (/, its files, /history.json). Returns the HTTP
 * status with a malloc'd *body (NULL: out of memory) and its *type, or 0
 * when url is not one of them. */
unsigned host_page_route(struct MHD_Connection *conn, const char *url, char **body, const char **type);

#endif
