/* The accounted Lua allocator from C: a real Lua program's heap is charged to
 * its service at size classes, exactly, and given back on lua_close; Lua 5.4's
 * contract (osize is a type tag when ptr is NULL); limits; heap warnings. */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#ifndef SKYNET_MEM_USE_JEMALLOC
#include <malloc.h>
#endif

#include "skynet_malloc.h"
#include "test_util.h"

#define HANDLE_UD(h) ((void *)(uintptr_t)(h))

/* The charge of a block Lua asked n bytes for, and that lives at p. */
static size_t class_of(void *p, size_t n) {
#ifdef SKYNET_MEM_USE_JEMALLOC
	(void)p;
	return nallocx(n, 0);
#else
	(void)n;
	return malloc_usable_size(p);
#endif
}

static size_t lua_bytes_of(uint32_t h) {
	return stat_of(h).lua_bytes;
}

/* Lua's own exact count of its heap. */
static size_t lua_count(lua_State *L) {
	return (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
}

/* Loads workload.lua and leaves its module table in the global M. */
static void load_workload(lua_State *L) {
	luaL_openlibs(L);
	if (luaL_dofile(L, WORKLOAD_LUA) != LUA_OK)
		fail_msg("workload.lua: %s", lua_tostring(L, -1));
	lua_setglobal(L, "M");
}

static void run(lua_State *L, const char *code) {
	if (luaL_dostring(L, code) != LUA_OK)
		fail_msg("%s: %s", code, lua_tostring(L, -1));
	lua_settop(L, 0);
}

/* --- lua_bytes follows collectgarbage("count") through a whole program --- */

struct follow {
	uint32_t handle;
	unsigned checks, below, above;
	double max_ratio;
};

static struct follow follow;

/* Runs every 1000 VM instructions: the reader flushes its own thread's
 * pending deltas, so the record is exact here. */
static void follow_hook(lua_State *L, lua_Debug *ar) {
	(void)ar;
	size_t asked = lua_count(L), charged = lua_bytes_of(follow.handle);
	double ratio = (double)charged / (double)asked;
	follow.checks++;
	follow.below += charged < asked;
	follow.above += ratio > 1.5;
	if (ratio > follow.max_ratio)
		follow.max_ratio = ratio;
}

static void heap_follows_lua_count(void **state) {
	(void)state;
	const uint32_t h = 0x0c000001u;
	memset(&follow, 0, sizeof(follow));
	follow.handle = h;
	lua_State *L = lua_newstate(skynet_mem_lua_alloc, HANDLE_UD(h));
	assert_non_null(L);
	load_workload(L);
	lua_sethook(L, follow_hook, LUA_MASKCOUNT, 1000);
	run(L, "assert(M.run(2) > 0)");
	run(L, "keep = {} for i = 1, 20000 do keep[i] = { tostring(i), i } end");
	lua_sethook(L, NULL, 0, 0);
	print_message("%u checkpoints, largest charge / count ratio %.3f\n", follow.checks, follow.max_ratio);
	assert_true(follow.checks > 100);
	assert_int_equal(follow.below, 0);   /* never under what Lua asked for */
	assert_int_equal(follow.above, 0);   /* within size-class rounding */
	assert_true(lua_bytes_of(h) >= lua_count(L));
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.blocks, 0);
	assert_true(st.peak >= st.lua_bytes);
	lua_close(L);
	st = stat_of(h);
	assert_int_equal(st.lua_bytes, 0);
	assert_int_equal(st.allocs, st.frees);
	assert_true(st.allocs > 100000);
}

/* --- exactness: the charge is the sum of the live blocks' classes --- */

struct tracker {
	uint32_t handle;
	size_t asked, charged;
	unsigned checks, mismatches, wrong_class;
};

static void *tracking_alloc(void *ud, void *p, size_t o, size_t n) {
	struct tracker *t = ud;
	size_t old = p ? class_of(p, o) : 0;
	void *q = skynet_mem_lua_alloc(HANDLE_UD(t->handle), p, o, n);
	if (n == 0 || q) {
		size_t now = q ? class_of(q, n) : 0;
#ifdef SKYNET_MEM_USE_JEMALLOC
		/* The block really is of its class: sized free will be right. */
		if (q && sallocx(q, 0) != now)
			t->wrong_class++;
#endif
		t->charged = t->charged - old + now;
		t->asked = t->asked - (p ? o : 0) + n;
	}
	return q;
}

static struct tracker *tracked;

static void exact_hook(lua_State *L, lua_Debug *ar) {
	(void)ar;
	tracked->checks++;
	if (lua_bytes_of(tracked->handle) != tracked->charged || lua_count(L) != tracked->asked)
		tracked->mismatches++;
}

static void heap_is_exact_sum_of_classes(void **state) {
	(void)state;
	struct tracker t = { .handle = 0x0c000002u };
	tracked = &t;
	lua_State *L = lua_newstate(tracking_alloc, &t);
	assert_non_null(L);
	load_workload(L);
	lua_sethook(L, exact_hook, LUA_MASKCOUNT, 1000);
	run(L, "assert(M.run(1) > 0)");
	lua_sethook(L, NULL, 0, 0);
	assert_true(t.checks > 50);
	assert_int_equal(t.mismatches, 0);
	assert_int_equal(t.wrong_class, 0);
	assert_int_equal(lua_bytes_of(t.handle), t.charged);
	lua_close(L);
	assert_int_equal(t.charged, 0);
	assert_int_equal(lua_bytes_of(t.handle), 0);
}

/* --- Lua 5.4's contract, call by call --- */

static void osize_is_a_type_tag_when_ptr_is_null(void **state) {
	(void)state;
	const uint32_t h = 0x0c000003u;
	void *ud = HANDLE_UD(h);
	/* A tag, a zero, and a huge garbage value: none of them is a size. */
	void *a = skynet_mem_lua_alloc(ud, NULL, LUA_TTABLE, 100);
	void *b = skynet_mem_lua_alloc(ud, NULL, 0, 100);
	void *c = skynet_mem_lua_alloc(ud, NULL, (size_t)1 << 40, 100);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(lua_bytes_of(h), class_of(a, 100) + class_of(b, 100) + class_of(c, 100));
	struct skynet_mem_stat st = stat_of(h);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.frees, 0);
	assert_int_equal(st.blocks, 0);   /* blocks counts C blocks only */
	/* NULL with nsize 0 is a no-op. */
	assert_null(skynet_mem_lua_alloc(ud, NULL, LUA_TSTRING, 0));
	/* Grow, shrink, free: each charge follows the class of the new size. */
	a = skynet_mem_lua_alloc(ud, a, 100, 5000);
	assert_non_null(a);
	memset(a, 1, 5000);
	size_t rest = class_of(b, 100) + class_of(c, 100);
	assert_int_equal(lua_bytes_of(h), rest + class_of(a, 5000));
	a = skynet_mem_lua_alloc(ud, a, 5000, 10);
	assert_non_null(a);
	assert_int_equal(lua_bytes_of(h), rest + class_of(a, 10));
	/* Same class: over jemalloc no call at all, so no move; glibc (and
	 * ASan's realloc, which always moves) may move it. */
	void *same = skynet_mem_lua_alloc(ud, a, 10, 11);
	assert_non_null(same);
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_ptr_equal(same, a);
#endif
	a = same;
	assert_int_equal(lua_bytes_of(h), rest + class_of(a, 11));
	/* Requests that can never be met fail cleanly; the old block survives. */
	assert_null(skynet_mem_lua_alloc(ud, NULL, LUA_TSTRING, SIZE_MAX));
	assert_null(skynet_mem_lua_alloc(ud, a, 11, SIZE_MAX));
	assert_null(skynet_mem_lua_alloc(ud, a, 11, (size_t)PTRDIFF_MAX + 1));
	assert_int_equal(lua_bytes_of(h), rest + class_of(a, 11));
	assert_null(skynet_mem_lua_alloc(ud, a, 11, 0));
	assert_null(skynet_mem_lua_alloc(ud, b, 100, 0));
	assert_null(skynet_mem_lua_alloc(ud, c, 100, 0));
	st = stat_of(h);
	assert_int_equal(st.lua_bytes, 0);
	assert_int_equal(st.allocs, st.frees);
	assert_int_equal(st.allocs, 3 + 3);   /* three resizes: one alloc and one free each */
}

static void limit_refuses_growth_only(void **state) {
	(void)state;
	const uint32_t h = 0x0c000004u;
	void *ud = HANDLE_UD(h);
	void *p = skynet_mem_lua_alloc(ud, NULL, LUA_TSTRING, 4000);
	assert_non_null(p);
	size_t used = lua_bytes_of(h);
	assert_int_equal(skynet_mem_set_limit(h, used + 1000), 0);
	assert_null(skynet_mem_lua_alloc(ud, NULL, LUA_TSTRING, 2000));
	assert_null(skynet_mem_lua_alloc(ud, p, 4000, 8000));   /* growth refused ... */
	assert_int_equal(lua_bytes_of(h), used);                 /* ... and nothing charged */
	void *q = skynet_mem_lua_alloc(ud, NULL, LUA_TSTRING, 500);
	assert_non_null(q);                                       /* what fits still works */
	/* A limit below current usage: shrinks and frees always proceed. */
	assert_int_equal(skynet_mem_set_limit(h, 1), 0);
	assert_null(skynet_mem_lua_alloc(ud, NULL, LUA_TSTRING, 8));
	p = skynet_mem_lua_alloc(ud, p, 4000, 100);
	assert_non_null(p);
	assert_null(skynet_mem_lua_alloc(ud, p, 100, 0));
	assert_null(skynet_mem_lua_alloc(ud, q, 500, 0));
	assert_int_equal(lua_bytes_of(h), 0);
	assert_int_equal(skynet_mem_set_limit(h, 0), 0);
}

/* A state that hits its limit gets "not enough memory" (after Lua's emergency
 * collection) through pcall, and keeps working. */
static void state_past_limit_gets_errmem_and_lives(void **state) {
	(void)state;
	const uint32_t h = 0x0c000005u;
	lua_State *L = lua_newstate(skynet_mem_lua_alloc, HANDLE_UD(h));
	assert_non_null(L);
	luaL_openlibs(L);
	size_t limit = stat_of(h).lua_bytes + (1 << 20);
	assert_int_equal(skynet_mem_set_limit(h, limit), 0);
	assert_int_equal(luaL_loadstring(L, "local t = {} for i = 1, 1e8 do t[i] = { i } end"), LUA_OK);
	assert_int_equal(lua_pcall(L, 0, 0, 0), LUA_ERRMEM);
	assert_string_equal(lua_tostring(L, -1), "not enough memory");
	lua_pop(L, 1);
	assert_true(stat_of(h).lua_bytes <= limit);
	/* Garbage the failed chunk left is collectable, and the state runs again. */
	run(L, "collectgarbage() local s = 0 for i = 1, 1000 do s = s + #tostring(i) end assert(s == 2893)");
	run(L, "local ok, e = pcall(string.rep, 'x', 1 << 24) assert(not ok and e == 'not enough memory')");
	assert_int_equal(skynet_mem_set_limit(h, 0), 0);
	run(L, "big = string.rep('x', 1 << 24)");
	lua_close(L);
	assert_int_equal(lua_bytes_of(h), 0);
}

/* --- warnings: 32 MiB, each doubling; a level re-arms below half of it --- */

static char *read_all(FILE *f) {
	long n = ftell(f);
	char *s = calloc(1, (size_t)n + 1);
	rewind(f);
	if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	return s;
}

static int count_of(const char *s, const char *what) {
	int n = 0;
	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

/* A Lua state of service h, with stderr captured until heap_watch_end. */
struct heap_watch {
	lua_State *L;
	FILE *log;
	int saved;
};

static void heap_watch_begin(struct heap_watch *w, uint32_t h) {
	w->L = lua_newstate(skynet_mem_lua_alloc, HANDLE_UD(h));
	assert_non_null(w->L);
	luaL_openlibs(w->L);
	w->log = tmpfile();
	assert_non_null(w->log);
	fflush(stderr);
	w->saved = dup(2);
	dup2(fileno(w->log), 2);
}

/* Closes the state; what stderr got meanwhile (free it). */
static char *heap_watch_end(struct heap_watch *w) {
	fflush(stderr);
	dup2(w->saved, 2);
	close(w->saved);
	lua_close(w->L);
	char *text = read_all(w->log);
	fclose(w->log);
	return text;
}

static void warnings_at_32mib_and_each_doubling(void **state) {
	(void)state;
	struct heap_watch w;
	heap_watch_begin(&w, 0x0c000006u);
	lua_State *L = w.L;
	/* Up to 70 MiB: warnings at 32 and 64. */
	run(L, "t = {} for i = 1, 70 do t[i] = string.rep('a', (1 << 20) + i) end");
	/* Down to 40 MiB and back up: 64 is not re-armed (40 >= 64 / 2). */
	run(L, "for i = 41, 70 do t[i] = nil end collectgarbage()");
	run(L, "for i = 41, 70 do t[i] = string.rep('b', (1 << 20) + i) end");
	/* Down to 24 MiB: 64 re-arms (24 < 64 / 2), 32 does not (24 >= 32 / 2). */
	run(L, "for i = 25, 70 do t[i] = nil end collectgarbage()");
	run(L, "for i = 25, 70 do t[i] = string.rep('c', (1 << 20) + i) end");
	/* Down to almost nothing: everything re-arms; 32 warns again. */
	run(L, "t = nil collectgarbage()");
	run(L, "t = {} for i = 1, 40 do t[i] = string.rep('d', (1 << 20) + i) end");
	char *text = heap_watch_end(&w);
	fprintf(stderr, "captured:\n%s", text);
	assert_int_equal(count_of(text, "[:0c000006] Memory warning: Lua heap "), 4);
	assert_int_equal(count_of(text, "passed 32 MiB"), 2);
	assert_int_equal(count_of(text, "passed 64 MiB"), 2);
	assert_int_equal(count_of(text, "passed 128 MiB"), 0);
	free(text);
}

/* skynet's glue turns the layer's warning off (snlua warns itself): none
 * then, and the next crossing after it is back on warns again. */
static void warnings_off_say_nothing(void **state) {
	(void)state;
	struct heap_watch w;
	heap_watch_begin(&w, 0x0c000007u);
	skynet_mem_lua_warnings(0);
	run(w.L, "t = {} for i = 1, 40 do t[i] = string.rep('a', (1 << 20) + i) end");
	run(w.L, "t = nil collectgarbage()");
	skynet_mem_lua_warnings(1);
	run(w.L, "t = {} for i = 1, 40 do t[i] = string.rep('b', (1 << 20) + i) end");
	char *text = heap_watch_end(&w);
	assert_int_equal(count_of(text, "[:0c000007] Memory warning: Lua heap "), 1);
	free(text);
}

/* --- a state created on one thread, closed on another --- */

struct job {
	uint32_t handle;
	lua_State *L;
};

static void *build_state(void *arg) {
	struct job *j = arg;
	j->L = lua_newstate(skynet_mem_lua_alloc, HANDLE_UD(j->handle));
	load_workload(j->L);
	run(j->L, "assert(M.run(1) > 0) keep = {} for i = 1, 10000 do keep[i] = {} end");
	return NULL;   /* thread exit publishes this thread's pending deltas */
}

static void state_closed_on_another_thread(void **state) {
	(void)state;
	struct job j = { .handle = 0x0c000007u };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, build_state, &j), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(lua_bytes_of(j.handle) >= lua_count(j.L));
	lua_close(j.L);
	assert_int_equal(lua_bytes_of(j.handle), 0);
}

/* --- skynet_lalloc: skynet's cookie-less Lua heap, charged as the current
 * service's lua_bytes (its C bytes, skynet's cmem, stay C only) --- */

static void *skynet_style_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
	(void)ud;
	return skynet_lalloc(ptr, osize, nsize);
}

static void skynet_lalloc_charges_lua_bytes(void **state) {
	(void)state;
	const uint32_t h = 0x0c000008u;
	skynet_mem_set_current(h);
	lua_State *L = lua_newstate(skynet_style_alloc, NULL);
	assert_non_null(L);
	load_workload(L);
	run(L, "keep = {} for i = 1, 1000 do keep[i] = {} end");
	struct skynet_mem_stat st = stat_of(h);
	assert_true(st.lua_bytes >= lua_count(L));
	assert_true(st.lua_bytes <= lua_count(L) * 3 / 2);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.blocks, 0);
	assert_true(st.allocs > 1000);
	lua_close(L);
	st = stat_of(h);
	assert_int_equal(st.lua_bytes, 0);
	assert_int_equal(st.allocs, st.frees);
	skynet_mem_set_current(0);
}

/* skynet builds a state on its creator's thread: the bytes move to the new
 * service, which then closes it under its own handle. */
static void lua_transfer_moves_a_state(void **state) {
	(void)state;
	const uint32_t creator = 0x0c000009u, child = 0x0c00000au;
	skynet_mem_set_current(creator);
	struct skynet_mem_stat st;
	size_t before = skynet_mem_stat(creator, &st) == 0 ? st.lua_bytes : 0;
	lua_State *L = lua_newstate(skynet_style_alloc, NULL);
	assert_non_null(L);
	size_t made = stat_of(creator).lua_bytes - before;
	assert_true(made >= lua_count(L));
	skynet_mem_lua_transfer(creator, child, made);
	assert_int_equal(stat_of(creator).lua_bytes, before);
	assert_int_equal(stat_of(child).lua_bytes, made);
	skynet_mem_set_current(child);
	lua_close(L);
	assert_int_equal(stat_of(child).lua_bytes, 0);
	skynet_mem_set_current(0);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_follows_lua_count),
		cmocka_unit_test(heap_is_exact_sum_of_classes),
		cmocka_unit_test(osize_is_a_type_tag_when_ptr_is_null),
		cmocka_unit_test(limit_refuses_growth_only),
		cmocka_unit_test(state_past_limit_gets_errmem_and_lives),
		cmocka_unit_test(warnings_at_32mib_and_each_doubling),
		cmocka_unit_test(warnings_off_say_nothing),
		cmocka_unit_test(state_closed_on_another_thread),
		cmocka_unit_test(skynet_lalloc_charges_lua_bytes),
		cmocka_unit_test(lua_transfer_moves_a_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
