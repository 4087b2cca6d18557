#ifndef SKYNET_LUA_MEMORY_H
#define SKYNET_LUA_MEMORY_H

/* Shared by the files of the skynet.memory module (not a public header). */

#include <lua.h>
#include <lauxlib.h>

#include "skynet_mem.h"

#define LMEM_HIDDEN __attribute__((visibility("hidden")))

/* A handle argument: an integer 0..0xffffffff, or skynet's ":%08x" text. */
LMEM_HIDDEN uint32_t lmem_checkhandle(lua_State *L, int arg);
/* Pushes a record as a table (the fields of struct skynet_mem_stat, and total). */
LMEM_HIDDEN void lmem_pushstat(lua_State *L, const struct skynet_mem_stat *st);

/* Every record, copied out of the table. The array lives in a userdata whose
 * __gc frees it, so a Lua error while pushing results leaks nothing. */
struct lmem_list {
	struct skynet_mem_stat *v;
	size_t n, cap;
};
/* Pushes the box userdata and fills it; raises "not enough memory" on failure. */
LMEM_HIDDEN struct lmem_list *lmem_collect(lua_State *L);
/* Frees the array early (the box stays, empty). */
LMEM_HIDDEN void lmem_release(struct lmem_list *list);

static inline size_t lmem_total(const struct skynet_mem_stat *st) {
	return st->bytes + st->lua_bytes;
}

/* One line to the host's logger: skynet_error inside skynet, host_log in this
 * project's host, else stderr. */
LMEM_HIDDEN void lmem_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* skynet's C name for info(): { [handle] = C bytes }. */
int dump_mem_lua(lua_State *L);

/* Each file registers its functions into the module table on the stack top. */
LMEM_HIDDEN void lmem_open_snapshot(lua_State *L);
LMEM_HIDDEN void lmem_open_guard(lua_State *L);
LMEM_HIDDEN void lmem_open_jemalloc(lua_State *L);

#endif
