#ifndef SKYNET_MEM_VIEWS_H
#define SKYNET_MEM_VIEWS_H

/* The operator's views as text: Prometheus /metrics and /memory.json, written
 * once for both hosts that serve them: the project's host (C, its own HTTP
 * server) and skynet (the memory_web service, through skynet.memory). Names
 * are bytes from scripts: every view makes them valid UTF-8 first. Pure C:
 * no Lua, no HTTP, no JSON library. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mem-utf8.h"
#include "skynet_mem.h"

struct mem_views_row {
	struct skynet_mem_stat st;
	const char *name;          /* any bytes; NULL: "" */
	size_t mailbox;            /* messages waiting */
	long long messages;        /* messages handled; < 0: unknown (left out) */
	long long lua_mem;         /* the service's own count of its Lua heap (snlua's
	                            * collectgarbage), bytes; < 0: unknown (left out) */
};

struct mem_views {
	const struct mem_views_row *rows;   /* live services */
	size_t n;
	size_t services;                    /* live services (rows less handle 0) */
	struct skynet_mem_totals totals;
	size_t orphan_bytes, orphan_blocks;
	size_t resident;                    /* the process's resident set */
	int has_refusals;                   /* the host counts allocations refused at a limit */
	uint64_t refusals;
	int jemalloc;
	size_t je_allocated, je_active, je_resident, je_mapped, je_retained;
};

/* Fills totals, orphans, resident and jemalloc's figures from the layer. */
MEM_VIEWS_HIDDEN void mem_views_globals(struct mem_views *v);

/* Prometheus text format 0.0.4; only the top services by C + Lua bytes have
 * their own series (0: all), the others are summed into handle="rest".
 * malloc'd; NULL out of memory. */
MEM_VIEWS_HIDDEN char *mem_views_metrics(const struct mem_views *v, size_t top);
/* /memory.json; malloc'd, NULL out of memory. */
MEM_VIEWS_HIDDEN char *mem_views_json(const struct mem_views *v);

/* A JSON string (quotes included) of any bytes, valid UTF-8. */
MEM_VIEWS_HIDDEN void mem_views_json_string(FILE *f, const char *s);

/* The process's resident memory in bytes (0: unknown). */
MEM_VIEWS_HIDDEN size_t mem_views_resident(void);

#endif
