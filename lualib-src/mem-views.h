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

#include "skynet_mem.h"

#define MEM_VIEWS_HIDDEN __attribute__((visibility("hidden")))

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

/* The page's history (mem-history.c): samples of the totals and the
 * MEM_HISTORY_TOP largest services, so a ring's size does not depend on how
 * many services run. The ring is the caller's (its lock too). */
#define MEM_HISTORY_TOP 8
#define MEM_NAME_MAX 64   /* with the NUL; longer names are cut at a UTF-8 boundary */

struct mem_history_service {
	uint32_t handle;
	size_t c_bytes, lua_bytes;
	char name[MEM_NAME_MAX];
};

struct mem_history_sample {
	uint64_t t_ms;
	size_t c_bytes, lua_bytes, orphan_bytes, resident, services;
	size_t ntop;
	struct mem_history_service top[MEM_HISTORY_TOP];   /* by C + Lua bytes, largest first */
};

/* Keeps handle in s->top when it is among the largest (names filled later). */
MEM_VIEWS_HIDDEN void mem_history_consider(struct mem_history_sample *s, uint32_t handle, size_t c, size_t lua);
/* A sample of the layer now: totals and the largest live records, named by
 * their records ("" when a record has none: the caller names them). */
MEM_VIEWS_HIDDEN void mem_history_take(struct mem_history_sample *s, uint64_t t_ms);

/* The members of /history.json that both hosts write alike: interval_ms,
 * capacity, top_k, now, samples (n, oldest first) and names (of the services
 * in them). The caller writes the braces and its own members. */
MEM_VIEWS_HIDDEN void mem_history_write(FILE *f, const struct mem_history_sample *s, size_t n,
	unsigned interval_ms, size_t capacity, uint64_t now_ms);

/* UTF-8 (mem-utf8.c). */
enum mem_utf8_escape {
	MEM_UTF8_RAW,     /* as is */
	MEM_UTF8_LABEL,   /* a Prometheus label value: \\ \" \n */
	MEM_UTF8_LINE,    /* one console line: control characters become '?' */
	MEM_UTF8_JSON,    /* inside a JSON string: \" \\ and \u00XX for controls */
};
/* Copies src into dst (cap bytes, NUL included), cut before a character
 * that would not fit whole. Returns the bytes copied. */
MEM_VIEWS_HIDDEN size_t mem_utf8_cut(char *dst, size_t cap, const char *src);
/* Writes s as valid UTF-8: each byte that starts no valid sequence becomes
 * U+FFFD (overlong forms, surrogates and values past U+10FFFF included). */
MEM_VIEWS_HIDDEN void mem_utf8_write(FILE *f, const char *s, enum mem_utf8_escape esc);
/* The same into a malloc'd string; NULL out of memory. */
MEM_VIEWS_HIDDEN char *mem_utf8_clean(const char *s, enum mem_utf8_escape esc);

#endif
