/* skynet's malloc_hook.h names: figures, dumps and the jemalloc controls. */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "malloc_hook.h"
#include "skynet_malloc.h"
#include "test_util.h"

/* Runs fn with stderr captured into buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t size) {
	fflush(stderr);
	FILE *tmp = tmpfile();
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, size - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
}

static void *held;

static void dump_table(void) {
	dump_c_mem();
}

static void debug_memory(void) {
	skynet_debug_memory("probe");
}

static void dumps_name_services(void **state) {
	(void)state;
	skynet_mem_set_current(0x0300000au);
	held = skynet_malloc(5000);
	char out[8192];
	capture_stderr(dump_table, out, sizeof(out));
	assert_non_null(strstr(out, "dump all service mem:"));
	assert_non_null(strstr(out, ":0300000a -> "));
	assert_non_null(strstr(out, "+total: "));
	capture_stderr(debug_memory, out, sizeof(out));
	char expect[64];
	snprintf(expect, sizeof(expect), "[:0300000a] probe %zu", skynet_mem_block_charge(held));
	assert_non_null(strstr(out, expect));
	skynet_free(held);
	skynet_mem_set_current(0);
}

/* What a host registers with skynet_mem_set_log gets the lines, with its ud,
 * and stderr none; NULL gives them back to stderr. */
struct log_sink {
	char text[8192];
	size_t len;
	int calls;
};

static void sink_line(void *ud, const char *line) {
	struct log_sink *k = ud;
	k->calls++;
	int n = snprintf(k->text + k->len, sizeof(k->text) - k->len, "%s\n", line);
	if (n > 0)
		k->len += (size_t)n < sizeof(k->text) - k->len ? (size_t)n : sizeof(k->text) - k->len - 1;
}

static void logs_through_the_registered_function(void **state) {
	(void)state;
	static struct log_sink sink;
	skynet_mem_set_current(0x0300000cu);
	held = skynet_malloc(3000);
	skynet_mem_set_log(sink_line, &sink);
	char out[8192];
	capture_stderr(dump_table, out, sizeof(out));
	assert_string_equal(out, "");
	assert_true(sink.calls >= 3);
	assert_non_null(strstr(sink.text, "dump all service mem:\n"));
	assert_non_null(strstr(sink.text, ":0300000c -> "));
	skynet_mem_log("a line of %d", 42);
	assert_non_null(strstr(sink.text, "a line of 42\n"));
	int calls = sink.calls;
	skynet_mem_set_log(NULL, &sink);
	capture_stderr(dump_table, out, sizeof(out));
	assert_int_equal(sink.calls, calls);
	assert_non_null(strstr(out, ":0300000c -> "));
	skynet_free(held);
	skynet_mem_set_current(0);
}

/* skynet's meanings: malloc_used_memory and malloc_current_memory are C
 * bytes only; the Lua heap (lua_bytes) is snlua's to count. */
static void figures_are_c_only(void **state) {
	(void)state;
	const uint32_t h = 0x0300000bu;
	skynet_mem_set_current(h);
	void *c = skynet_malloc(3000);
	void *lua = skynet_mem_lua_alloc((void *)(uintptr_t)h, NULL, 0, 4 << 20);
	assert_non_null(c);
	assert_non_null(lua);
	skynet_mem_flush();
	struct skynet_mem_stat st;
	assert_int_equal(skynet_mem_stat(h, &st), 0);
	assert_true(st.lua_bytes >= 4 << 20);
	assert_int_equal(malloc_current_memory(), st.bytes);
	assert_true(malloc_current_memory() < 1 << 20);
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	assert_int_equal(malloc_used_memory(), t.bytes);
	skynet_mem_lua_alloc((void *)(uintptr_t)h, lua, 4 << 20, 0);
	skynet_free(c);
	skynet_mem_set_current(0);
}

static void info_dump(void) {
	memory_info_dump(NULL);
}

static void memory_info_dump_prints_allocator_stats(void **state) {
	(void)state;
	static char out[1 << 16];
	capture_stderr(info_dump, out, sizeof(out));
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_non_null(strstr(out, "jemalloc statistics"));
#else
	assert_non_null(strstr(out, "without jemalloc"));
#endif
	assert_int_equal(skynet_mem_has_check(),
#ifdef SKYNET_MEM_CHECK
		1
#else
		0
#endif
	);
}

static void mallctl_helpers(void **state) {
	(void)state;
#ifdef SKYNET_MEM_USE_JEMALLOC
	assert_int_equal(skynet_mem_has_jemalloc(), 1);
	assert_int_equal(mallctl_cmd("epoch"), 0);
	assert_true(mallctl_int64("arenas.page", NULL) >= 4096);
	int narenas = mallctl_opt("opt.narenas", NULL);
	assert_true(narenas >= 1);
	assert_true(mallctl_int64("stats.allocated", NULL) > 0);
	assert_true(mallctl_bool("config.stats", NULL));
	assert_int_not_equal(mallctl_cmd("no.such.name"), 0);
#else
	assert_int_equal(skynet_mem_has_jemalloc(), 0);
	assert_int_equal(mallctl_cmd("epoch"), -1);
	assert_int_equal(mallctl_int64("stats.allocated", NULL), 0);
#endif
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dumps_name_services),
		cmocka_unit_test(figures_are_c_only),
		cmocka_unit_test(logs_through_the_registered_function),
		cmocka_unit_test(mallctl_helpers),
		cmocka_unit_test(memory_info_dump_prints_allocator_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
