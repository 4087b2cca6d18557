/* skynet.memory's side of the sampled heap profile (docs/profile.md):
 *   profile(h [, path [, format]])  h: a handle, or "all"; format: "heap"
 *       (the default: the text jeprof and google-pprof read) or "folded"
 *       (flame graphs). With a path: writes it, returns true (or nil and the
 *       error, as io.open); without: returns the text.
 *   profile_sample([bytes])         the mean sampling distance; sets it when
 *       given (0: off); returns the previous one.
 *   profile_service_sample(h [, bytes])  a service's own (nil removes it);
 *       returns the previous one, or nil when it had none.
 *   profile_sites(h [, top])        the top allocation sites of h's live
 *       samples as one line (what an exit report prints). */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lua-memory.h"

/* h, or "all": fills *flags. */
static uint32_t check_target(lua_State *L, int arg, int *flags) {
	*flags = 0;
	if (lua_type(L, arg) == LUA_TSTRING && strcmp(lua_tostring(L, arg), "all") == 0) {
		*flags = SKYNET_MEM_PROFILE_ALL;
		return 0;
	}
	return lmem_checkhandle(L, arg);
}

/* The text written to a memory file, pushed as a string. */
static int push_text(lua_State *L, uint32_t h, int flags) {
	int fd = memfd_create("skynet-mem-profile", MFD_CLOEXEC);
	if (fd < 0)
		return luaL_error(L, "profile: memfd_create: %s", strerror(errno));
	if (skynet_mem_profile_write(fd, h, flags) != 0) {
		int e = errno;
		close(fd);
		return luaL_error(L, "profile: %s", strerror(e));
	}
	off_t size = lseek(fd, 0, SEEK_END);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (off_t at = 0; at < size;) {
		char *p = luaL_prepbuffer(&b);
		ssize_t r = pread(fd, p, LUAL_BUFFERSIZE, at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		luaL_addsize(&b, (size_t)r);
		at += r;
	}
	close(fd);
	luaL_pushresult(&b);
	return 1;
}

static int lprofile(lua_State *L) {
	int flags;
	uint32_t h = check_target(L, 1, &flags);
	const char *path = luaL_optstring(L, 2, NULL);
	static const char *const formats[] = { "heap", "folded", NULL };
	if (luaL_checkoption(L, 3, "heap", formats) == 1)
		flags |= SKYNET_MEM_PROFILE_COLLAPSED;
	if (path == NULL)
		return push_text(L, h, flags);
	luaL_argcheck(L, path[0] != 0, 2, "empty path");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || skynet_mem_profile_write(fd, h, flags) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		luaL_pushfail(L);
		lua_pushfstring(L, "%s: %s", path, strerror(e));
		return 2;
	}
	close(fd);
	lua_pushboolean(L, 1);
	return 1;
}

static int lprofile_sample(lua_State *L) {
	lua_Integer old = (lua_Integer)skynet_mem_profile_get_sample();
	if (!lua_isnoneornil(L, 1)) {
		lua_Integer v = luaL_checkinteger(L, 1);
		luaL_argcheck(L, v >= 0, 1, "bytes must be >= 0 (0 turns sampling off)");
		skynet_mem_profile_set_sample((size_t)v);
	}
	lua_pushinteger(L, old);
	return 1;
}

static int lprofile_service_sample(lua_State *L) {
	uint32_t h = lmem_checkhandle(L, 1);
	long long old = skynet_mem_profile_get_service_sample(h);
	if (lua_gettop(L) >= 2) {
		long long v = -1;
		if (!lua_isnil(L, 2)) {
			v = (long long)luaL_checkinteger(L, 2);
			luaL_argcheck(L, v >= 0, 2, "bytes must be >= 0 (0: never sampled; nil removes it)");
		}
		if (skynet_mem_profile_set_service_sample(h, v) != 0)
			return luaL_error(L, "profile_service_sample: %s (64 services have a rate of their own)",
				strerror(errno));
	}
	if (old < 0)
		luaL_pushfail(L);
	else
		lua_pushinteger(L, (lua_Integer)old);
	return 1;
}

static int lprofile_sites(lua_State *L) {
	uint32_t h = lmem_checkhandle(L, 1);
	lua_Integer top = luaL_optinteger(L, 2, 5);
	char line[1024];
	skynet_mem_profile_sites(h, line, sizeof(line), (int)(top > 64 ? 64 : top));
	lua_pushstring(L, line);
	return 1;
}

void lmem_open_profile(lua_State *L) {
	static const luaL_Reg fns[] = {
		{ "profile", lprofile },
		{ "profile_sample", lprofile_sample },
		{ "profile_service_sample", lprofile_service_sample },
		{ "profile_sites", lprofile_sites },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, fns, 0);
}
