/* skynet/memory.so for the stock lua5.4: a loader for skynet/memory_core.so,
 * the module itself (linked with libskynet-mem and jemalloc).
 *
 * Why a loader: Debian's libjemalloc.so.2 uses initial-exec TLS, larger than
 * the static TLS reserve glibc keeps for dlopen, so an interpreter that did not
 * start with jemalloc cannot load it. The loader turns the dynamic loader's
 * cryptic refusal into an error that says what to do, or better: it starts the
 * interpreter again, with the same arguments and glibc's tunable that makes
 * room (once; SKYNET_MEM_NO_REEXEC=1 turns this off). A script's effects before
 * its require then happen twice, so scripts should require the module first.
 * Hosts that embed Lua link the static library skynet-memory-lua instead and
 * never come here. */

#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>

#define CORE_FILE "memory_core.so"

static void locate_me(void) {
}

#define TLS_TUNABLE "glibc.rtld.optional_static_tls=4096"
#define MAX_ARGS 256

/* Runs this process's command again with room for jemalloc's TLS. Returns only
 * when that is not possible: already tried, turned off, or a command that read
 * its script from standard input (it cannot be read twice). */
static void restart_with_static_tls(void) {
	/* Both are listed in the layer's options table (skynet-mem/src/options.c);
	 * read here because the layer is not loaded yet. */
	if (getenv("SKYNET_MEM_REEXEC") || getenv("SKYNET_MEM_NO_REEXEC"))
		return;
	static char cmdline[65536];
	int fd = open("/proc/self/cmdline", O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof(cmdline) - 1)
		return;
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	for (ssize_t i = 0; i < n && argc < MAX_ARGS; i += (ssize_t)strlen(cmdline + i) + 1) {
		argv[argc++] = cmdline + i;
		if (strcmp(cmdline + i, "-") == 0 || strcmp(cmdline + i, "-i") == 0)
			return;   /* stdin or an interactive session */
	}
	argv[argc] = NULL;
	if (argc < 2)
		return;
	const char *old = getenv("GLIBC_TUNABLES");
	static char tunables[4096];
	snprintf(tunables, sizeof(tunables), "%s%s%s", old ? old : "", old ? ":" : "", TLS_TUNABLE);
	setenv("GLIBC_TUNABLES", tunables, 1);
	setenv("SKYNET_MEM_REEXEC", "1", 1);
	fflush(NULL);
	execv("/proc/self/exe", argv);
}

int luaopen_skynet_memory(lua_State *L) {
	Dl_info me;
	/* The address of a static function: always this file, never an interposer. */
	if (!dladdr((void *)(size_t)locate_me, &me) || me.dli_fname == NULL)
		return luaL_error(L, "skynet.memory: cannot find the folder of its own file");
	const char *slash = strrchr(me.dli_fname, '/');
	size_t dir = slash ? (size_t)(slash - me.dli_fname) + 1 : 0;
	lua_pushlstring(L, me.dli_fname, dir);
	lua_pushstring(L, CORE_FILE);
	lua_concat(L, 2);
	const char *path = lua_tostring(L, -1);
	void *core = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (core == NULL) {
		const char *err = dlerror();
		if (err && strstr(err, "static TLS"))
			restart_with_static_tls();
		if (err && strstr(err, "static TLS"))
			return luaL_error(L, "skynet.memory: %s\n"
				"\tjemalloc must be in the process from its start: run lua5.4 with\n"
				"\tLD_PRELOAD=libjemalloc.so.2, or GLIBC_TUNABLES=glibc.rtld.optional_static_tls=4096", err);
		return luaL_error(L, "skynet.memory: %s", err ? err : path);
	}
	lua_CFunction open = (lua_CFunction)(size_t)dlsym(core, "luaopen_skynet_memory");
	if (open == NULL)
		return luaL_error(L, "skynet.memory: %s has no luaopen_skynet_memory", path);
	lua_pop(L, 1);
	return open(L);
}
