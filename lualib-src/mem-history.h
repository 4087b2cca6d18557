#ifndef SKYNET_MEM_HISTORY_H
#define SKYNET_MEM_HISTORY_H

/* The page's history (mem-history.c), for both hosts: samples of the totals
 * and the MEM_HISTORY_TOP largest services, so a ring's size does not depend
 * on how many services run. The ring is the caller's (its lock too). */

#include <stdint.h>
#include <stdio.h>

#include "mem-views.h"

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

/* An exit that left memory behind, or a clean one (the host keeps both). */
struct mem_history_exit {
	uint32_t handle;
	const char *name, *sites;   /* any bytes; sites: the top sampled allocation sites, or "" */
	uint64_t t_ms;
	size_t bytes, blocks, lua_bytes;
};

/* A service's limit hit: a burst of one kind from one service is one hit. */
struct mem_history_hit {
	uint32_t handle;
	const char *name;
	const char *kind;           /* "C" or "Lua" */
	int refused;                /* 0: admitted past the limit (skynet's C allocations) */
	size_t request, used, limit;
	uint64_t first_ms, last_ms, count;
};

/* ,"exits":[...] of e (n, oldest first), written newest first. */
MEM_VIEWS_HIDDEN void mem_history_write_exits(FILE *f, const struct mem_history_exit *e, size_t n);
/* ,"limit_refusals":N,"limit_hits":[...] of h (n, oldest first), newest first. */
MEM_VIEWS_HIDDEN void mem_history_write_hits(FILE *f, uint64_t refusals, const struct mem_history_hit *h, size_t n);

#endif
