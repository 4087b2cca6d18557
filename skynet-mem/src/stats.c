/* skynet's malloc_hook.h names: process figures, dumps and jemalloc controls. */

#include <stdio.h>

#include "malloc_hook.h"
#include "skynet_mem.h"

#ifdef SKYNET_MEM_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* skynet's meanings: these count C memory only. In skynet the Lua heap goes
 * through skynet_lalloc outside the C accounting (snlua counts it itself);
 * here it is each service's lua_bytes, shown by skynet_mem_stat. */
size_t malloc_used_memory(void) {
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	return t.bytes;
}

size_t malloc_memory_block(void) {
	struct skynet_mem_totals t;
	skynet_mem_totals(&t);
	return t.blocks;
}

size_t malloc_current_memory(void) {
	struct skynet_mem_stat st;
	if (skynet_mem_stat(skynet_current_handle(), &st) != 0)
		return 0;
	return st.bytes;
}

void skynet_debug_memory(const char *info) {
	fprintf(stderr, "[:%08x] %s %zu\n", skynet_current_handle(), info, malloc_current_memory());
}

/* dump_c_mem's lines go through the host's logger (skynet_mem_set_log), as
 * skynet's go through its logger service. */

static int dump_one(const struct skynet_mem_stat *st, void *ud) {
	size_t *total = ud;
	if (st->bytes == 0)
		return 0;
	*total += st->bytes;
	skynet_mem_log(":%08x -> %zukb %zub", st->handle, st->bytes >> 10, st->bytes);
	return 0;
}

/* C bytes per service, as skynet's (the Lua heap is snlua's to show). */
void dump_c_mem(void) {
	size_t total = 0;
	skynet_mem_log("dump all service mem:");
	skynet_mem_foreach(dump_one, &total);
	skynet_mem_log("+total: %zukb", total >> 10);
}

#ifdef SKYNET_MEM_USE_JEMALLOC

void memory_info_dump(const char *opts) {
	malloc_stats_print(NULL, NULL, opts);
}

/* The mallctl helpers read the value, optionally writing newval first, and
 * report an unknown name on stderr, as skynet's do. */
static void mallctl_rw(const char *name, void *v, size_t len, void *newval) {
	size_t oldlen = len;
	int err = mallctl(name, v, &oldlen, newval, newval ? len : 0);
	if (err)
		fprintf(stderr, "skynet-mem: mallctl %s failed: %d\n", name, err);
}

bool mallctl_bool(const char *name, bool *newval) {
	bool v = 0;
	mallctl_rw(name, &v, sizeof(v), newval);
	return v;
}

size_t mallctl_int64(const char *name, size_t *newval) {
	size_t v = 0;
	mallctl_rw(name, &v, sizeof(v), newval);
	return v;
}

int mallctl_opt(const char *name, int *newval) {
	int v = 0;
	mallctl_rw(name, &v, sizeof(v), newval);
	return v;
}

int mallctl_cmd(const char *name) {
	return mallctl(name, NULL, NULL, NULL, 0);
}

#else

void memory_info_dump(const char *opts) {
	(void)opts;
	fprintf(stderr, "skynet-mem: built without jemalloc, no allocator stats\n");
}

bool mallctl_bool(const char *name, bool *newval) {
	(void)name, (void)newval;
	return false;
}

size_t mallctl_int64(const char *name, size_t *newval) {
	(void)name, (void)newval;
	return 0;
}

int mallctl_opt(const char *name, int *newval) {
	(void)name, (void)newval;
	return 0;
}

int mallctl_cmd(const char *name) {
	(void)name;
	return -1;
}

#endif
