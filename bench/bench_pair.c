/* The instruction-count harness for bench/callgrind.sh: runs one allocator's
 * malloc+free pairs (or Lua allocator calls) in run_pairs, the one function
 * callgrind collects (--toggle-collect=run_pairs --toggle-collect=run_lua).
 * Usage: bench_pair MODE [pairs (200000)] [size (0: mixed 16..1024 B)]
 *   bare      jemalloc's own malloc/free
 *   floor     the trailing cookie alone: nallocx(n + 4), the cookie, sallocx, sdallocx
 *   layer     skynet_malloc/skynet_free (the interposer's path)
 *   lua-bare  a bare jemalloc lua_Alloc (mallocx/rallocx/sdallocx, bench_lua's baseline)
 *   lua-libc  a bare lua_Alloc over jemalloc's malloc/realloc/free (fewer instructions here)
 *   lua-layer skynet_mem_lua_alloc
 * The Lua modes replay a Lua-like call mix: allocate (type tag in osize),
 * grow by doubling, free with the old size. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "bare_jemalloc.h"
#include "skynet_malloc.h"
#include "skynet_mem.h"

#define SIZES 4096
#define HANDLE 0x01000001u

static size_t sizes[SIZES];

static void *floor_alloc(size_t n) {
	size_t u = nallocx(n + 4, 0);
	void *p = je_malloc(u);
	uint32_t h = HANDLE;
	memcpy((void *)((uintptr_t)p + u - 4), &h, 4);
	return p;
}

static volatile uint32_t floor_sink;
static void floor_free(void *p) {
	size_t u = sallocx(p, 0);
	uint32_t h;
	memcpy(&h, (void *)((uintptr_t)p + u - 4), 4);
	sdallocx(p, u, 0);
	floor_sink += h;
}

static void *bare_lua(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud;
	if (nsize == 0) {
		if (ptr)
			sdallocx(ptr, osize, 0);
		return NULL;
	}
	return ptr ? rallocx(ptr, nsize, 0) : mallocx(nsize, 0);
}

static void *libc_lua(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud, (void)osize;
	if (nsize == 0) {
		je_free(ptr);
		return NULL;
	}
	return je_realloc(ptr, nsize);
}

typedef void *(*lua_alloc_fn)(void *, void *, size_t, size_t);

/* Each step: one block allocated and written, the block of 8 steps ago freed,
 * so jemalloc's thread cache serves every request (the common case). */
__attribute__((noipa)) static void run_pairs(void *(*alloc)(size_t), void (*release)(void *), size_t pairs) {
	void *window[8] = { 0 };
	for (size_t i = 0; i < pairs; i++) {
		size_t k = i & 7;
		if (window[k])
			release(window[k]);
		char *p = alloc(sizes[i & (SIZES - 1)]);
		p[0] = (char)i;
		window[k] = p;
	}
	for (size_t k = 0; k < 8; k++)
		if (window[k])
			release(window[k]);
}

/* Per step: a new object (tag 4, a string), half of them grown once, all freed
 * 8 steps later with the size Lua would pass. Three calls per two steps on average. */
__attribute__((noipa)) static size_t run_lua(lua_alloc_fn fn, void *ud, size_t steps) {
	void *window[8] = { 0 };
	size_t wsize[8] = { 0 }, calls = 0;
	for (size_t i = 0; i < steps; i++) {
		size_t k = i & 7;
		if (window[k]) {
			fn(ud, window[k], wsize[k], 0);
			calls++;
		}
		size_t n = sizes[i & (SIZES - 1)] / 4 + 8;
		char *p = fn(ud, NULL, 4, n);
		calls++;
		if (i & 1) {
			p = fn(ud, p, n, n * 2);
			n *= 2;
			calls++;
		}
		p[0] = (char)i;
		window[k] = p;
		wsize[k] = n;
	}
	for (size_t k = 0; k < 8; k++)
		if (window[k]) {
			fn(ud, window[k], wsize[k], 0);
			calls++;
		}
	return calls;
}

int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "layer";
	size_t pairs = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000;
	size_t fixed = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
	if (bare_jemalloc_find("bench_pair") != 0)
		return 1;
	srand(42);
	for (int i = 0; i < SIZES; i++)
		sizes[i] = fixed ? fixed : 16 + (size_t)(rand() % (1024 - 16 + 1));
	skynet_mem_set_current(HANDLE);
	/* Warm-up outside the collected function: first-touch slow paths. */
	if (strcmp(mode, "bare") == 0) {
		run_pairs(je_malloc, je_free, 1000);
		run_pairs(je_malloc, je_free, pairs);
	} else if (strcmp(mode, "floor") == 0) {
		run_pairs(floor_alloc, floor_free, 1000);
		run_pairs(floor_alloc, floor_free, pairs);
	} else if (strcmp(mode, "layer") == 0) {
		run_pairs(skynet_malloc, skynet_free, 1000);
		run_pairs(skynet_malloc, skynet_free, pairs);
	} else if (strncmp(mode, "lua-", 4) == 0) {
		lua_alloc_fn fn = strcmp(mode, "lua-bare") == 0 ? bare_lua
			: strcmp(mode, "lua-libc") == 0 ? libc_lua : skynet_mem_lua_alloc;
		void *ud = (void *)(uintptr_t)HANDLE;
		run_lua(fn, ud, 1000);
		skynet_mem_set_current(HANDLE);   /* a dispatch starts, as in a host */
		pairs = run_lua(fn, ud, pairs);
	} else {
		fprintf(stderr, "bench_pair: unknown mode %s\n", mode);
		return 2;
	}
	skynet_mem_set_current(0);
	/* Units of the measured call: the script runs two lengths and divides the
	 * difference in instructions by the difference in units, so the warm-up
	 * and every one-time path cancel out. */
	printf("%zu\n", pairs);
	return 0;
}
