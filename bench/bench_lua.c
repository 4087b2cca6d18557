/* The Lua allocator benchmark: one allocation-heavy Lua program
 * (test/lua/workload.lua: binary trees and string building) run in a fresh
 * state under several lua_Alloc functions, interleaved, in one process:
 *   bare jemalloc      mallocx / rallocx / sdallocx, no accounting (the baseline)
 *   accounted          skynet_mem_lua_alloc (charges lua_bytes at size classes)
 *   accounted + limit  the same with a limit set, so every growth is checked
 *   lua default        luaL_newstate's realloc/free (jemalloc's in this process)
 *   glibc              realloc/free of glibc itself
 * Prints the median and best time per run and the ratios to bare jemalloc.
 * The interpreter's own work dilutes the allocator's share, so a second table
 * replays the program's recorded lua_Alloc calls alone against each allocator
 * (no Lua, no memory touched): the allocator's cost per call, undiluted.
 * Last, the cost of reading: skynet.memory's info/top/snapshot/diff over
 * 10,000 services, each holding one C block.
 * Usage: bench_lua [reps (15)] [scale (2)] */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jemalloc/jemalloc.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "skynet_malloc.h"
#include "skynet_mem.h"

int luaopen_skynet_memory(lua_State *L);

#define HANDLE 0x00000100u
#define LIMITED 0x00000101u

void *__libc_realloc(void *, size_t);
void __libc_free(void *);

static void *bare_jemalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud;
	if (nsize == 0) {
		if (ptr)
			sdallocx(ptr, osize, 0);
		return NULL;
	}
	return ptr ? rallocx(ptr, nsize, 0) : mallocx(nsize, 0);
}

static void *glibc_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud, (void)osize;
	if (nsize == 0) {
		__libc_free(ptr);
		return NULL;
	}
	return __libc_realloc(ptr, nsize);
}

/* What luaL_newstate installs (lauxlib's l_alloc): realloc and free. */
static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud, (void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}

struct variant {
	const char *name;
	lua_Alloc fn;           /* NULL: luaL_newstate */
	void *ud;
	double *t;
};

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One timed run: a fresh state, the workload, lua_close. Returns seconds. */
static double run_once(const struct variant *v, int scale, lua_Integer *sum) {
	double t0 = now();
	lua_State *L = v->fn ? lua_newstate(v->fn, v->ud) : luaL_newstate();
	if (L == NULL) {
		fprintf(stderr, "%s: no state\n", v->name);
		exit(1);
	}
	luaL_openlibs(L);
	if (luaL_dofile(L, WORKLOAD_LUA) != LUA_OK) {
		fprintf(stderr, "%s: %s\n", v->name, lua_tostring(L, -1));
		exit(1);
	}
	lua_getfield(L, -1, "run");
	lua_pushinteger(L, scale);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		fprintf(stderr, "%s: %s\n", v->name, lua_tostring(L, -1));
		exit(1);
	}
	*sum = lua_tointeger(L, -1);
	lua_close(L);
	return now() - t0;
}

/* --- the allocation trace: every lua_Alloc call of one run, replayable --- */

struct op {
	uint32_t id;            /* the block, numbered at its allocation */
	uint32_t has_ptr;
	size_t osize, nsize;    /* osize is Lua's type tag when !has_ptr */
};

struct trace {
	struct op *v;
	size_t n, cap;
	uint32_t blocks;
};

/* Records while allocating through glibc, the block's id kept in a 16-byte header. */
static void *record_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	struct trace *t = ud;
	char *base = ptr ? (char *)ptr - 16 : NULL;
	uint32_t id;
	if (ptr)
		memcpy(&id, base, sizeof(id));
	else if (nsize)
		id = t->blocks++;
	else
		return NULL;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1 << 16;
		t->v = __libc_realloc(t->v, t->cap * sizeof(*t->v));
		if (t->v == NULL)
			abort();
	}
	t->v[t->n++] = (struct op){ id, ptr != NULL, osize, nsize };
	if (nsize == 0) {
		__libc_free(base);
		return NULL;
	}
	char *q = __libc_realloc(base, nsize + 16);
	if (q == NULL)
		abort();
	memcpy(q, &id, sizeof(id));
	return q + 16;
}

/* Replays the trace through one allocator; returns seconds. */
static double replay(const struct trace *t, void **slot, lua_Alloc fn, void *ud) {
	double t0 = now();
	for (size_t i = 0; i < t->n; i++) {
		const struct op *o = &t->v[i];
		if (o->has_ptr)
			slot[o->id] = fn(ud, slot[o->id], o->osize, o->nsize);
		else
			slot[o->id] = fn(ud, NULL, o->osize, o->nsize);
	}
	return now() - t0;
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *t, int n) {
	qsort(t, n, sizeof(*t), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Times skynet.memory's reads over n services (one C block each), in a Lua
 * state that preloads the module as a host does. */
static void bench_reads(int n) {
	void **blocks = malloc(n * sizeof(void *));
	for (int i = 0; i < n; i++) {
		skynet_mem_set_current(0x01000000u + (uint32_t)i);
		blocks[i] = skynet_malloc(16 + (size_t)i);
	}
	skynet_mem_set_current(0);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "skynet.memory", luaopen_skynet_memory, 0);
	lua_pop(L, 1);
	static const char code[] =
		"local memory, clock = require 'skynet.memory', os.clock\n"
		"local function ms(f, ...) local t = clock() for _ = 1, 20 do f(...) end return (clock() - t) / 20 * 1e3 end\n"
		"local a = memory.snapshot()\n"
		"local n = 0 for _ in pairs(memory.info()) do n = n + 1 end\n"
		"return n, ms(memory.total), ms(memory.info), ms(memory.top, 10), ms(memory.snapshot), ms(memory.diff, a, memory.snapshot())\n";
	if (luaL_dostring(L, code) != LUA_OK) {
		fprintf(stderr, "reads: %s\n", lua_tostring(L, -1));
		exit(1);
	}
	printf("\nskynet.memory reads over %lld services (ms per call):\n", (long long)lua_tointeger(L, 1));
	printf("total() %.4f   info() %.2f   top(10) %.2f   snapshot() %.2f   diff() %.2f\n",
		lua_tonumber(L, 2), lua_tonumber(L, 3), lua_tonumber(L, 4), lua_tonumber(L, 5), lua_tonumber(L, 6));
	lua_close(L);
	for (int i = 0; i < n; i++)
		skynet_free(blocks[i]);
	free(blocks);
}

int main(int argc, char **argv) {
	int reps = argc > 1 ? atoi(argv[1]) : 15;
	int scale = argc > 2 ? atoi(argv[2]) : 2;
	if (reps < 1 || scale < 1) {
		fprintf(stderr, "usage: %s [reps >= 1] [scale >= 1]\n", argv[0]);
		return 2;
	}
	/* A limit far above the workload: never hit, but checked on every growth. */
	/* (limits need a live record: one block makes it) */
	skynet_mem_lua_alloc((void *)(uintptr_t)LIMITED, skynet_mem_lua_alloc((void *)(uintptr_t)LIMITED, NULL, 0, 16), 16, 0);
	if (skynet_mem_set_limit(LIMITED, (size_t)1 << 40) != 0) {
		perror("bench_lua: skynet_mem_set_limit");
		return 1;
	}
	struct variant v[] = {
		{ "bare jemalloc", bare_jemalloc, NULL, NULL },
		{ "accounted", skynet_mem_lua_alloc, (void *)(uintptr_t)HANDLE, NULL },
		{ "accounted + limit", skynet_mem_lua_alloc, (void *)(uintptr_t)LIMITED, NULL },
		{ "lua default", NULL, NULL, NULL },
		{ "glibc", glibc_alloc, NULL, NULL },
	};
	const int nv = sizeof(v) / sizeof(v[0]);
	for (int i = 0; i < nv; i++)
		v[i].t = calloc(reps, sizeof(double));
	lua_Integer want = 0, sum;
	for (int i = 0; i < nv; i++) {   /* warm-up, and every variant computes the same */
		run_once(&v[i], scale, &sum);
		if (i == 0)
			want = sum;
		else if (sum != want) {
			fprintf(stderr, "%s: checksum %lld, want %lld\n", v[i].name, (long long)sum, (long long)want);
			return 1;
		}
	}
	/* Interleaved, rotating the order, so drift and neighbours hit all alike. */
	for (int r = 0; r < reps; r++)
		for (int k = 0; k < nv; k++) {
			int i = (r + k) % nv;
			v[i].t[r] = run_once(&v[i], scale, &sum);
		}
	struct skynet_mem_stat st;
	skynet_mem_stat(HANDLE, &st);
	printf("bench_lua: workload.lua run(%d), %d interleaved reps; lua_bytes after close: %zu\n",
		scale, reps, st.lua_bytes);
	double best[8], med[8];
	for (int i = 0; i < nv; i++) {
		med[i] = median(v[i].t, reps);
		best[i] = v[i].t[0];
	}
	printf("%-20s %10s %10s %12s %12s\n", "allocator", "median ms", "best ms", "median/bare", "best/bare");
	for (int i = 0; i < nv; i++)
		printf("%-20s %10.2f %10.2f %12.3f %12.3f\n", v[i].name, med[i] * 1e3, best[i] * 1e3,
			med[i] / med[0], best[i] / best[0]);
	/* The allocator alone: replay one run's calls. */
	struct trace tr = { 0 };
	struct variant rec = { "record", record_alloc, &tr, NULL };
	run_once(&rec, scale, &sum);
	void **slot = calloc(tr.blocks, sizeof(void *));
	for (int r = 0; r < reps; r++)
		for (int k = 0; k < nv; k++) {
			int i = (r + k) % nv;
			v[i].t[r] = replay(&tr, slot, v[i].fn ? v[i].fn : default_alloc, v[i].ud);
		}
	printf("\nreplay of the %zu lua_Alloc calls of one run (%u blocks), allocator alone:\n", tr.n, tr.blocks);
	printf("%-20s %10s %10s %12s %12s\n", "allocator", "median ns", "best ns", "median/bare", "best/bare");
	for (int i = 0; i < nv; i++) {
		med[i] = median(v[i].t, reps);
		best[i] = v[i].t[0];
	}
	for (int i = 0; i < nv; i++)
		printf("%-20s %10.2f %10.2f %12.3f %12.3f\n", v[i].name, med[i] * 1e9 / tr.n, best[i] * 1e9 / tr.n,
			med[i] / med[0], best[i] / best[0]);
	free(slot);
	__libc_free(tr.v);
	bench_reads(10000);
	for (int i = 0; i < nv; i++)
		free(v[i].t);
	return 0;
}
