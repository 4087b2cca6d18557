#!/bin/sh
# apply.sh SKYNET_DIR [--check]: turns an unmodified skynet checkout into one
# built on skynet-mem; then `make linux` in SKYNET_DIR builds skynet over
# Debian's jemalloc and the layer's malloc interposer (libskynet-mem-hook).
# apply.sh --revert SKYNET_DIR: puts skynet's own files back (see revert()).
#
# Where the layer comes from (first that applies; written to SKYNET_DIR/skynet-mem.mk):
#   SKYNET_MEM_BUILD=dir    a CMake build folder of this repository (its lib);
#   SKYNET_MEM_PREFIX=dir   an installed skynet-mem (cmake --install; e.g.
#                           $(pkg-config --variable=prefix skynet-mem));
#   otherwise               built from this repository into SKYNET_DIR/.skynet-mem/.
# --check selects the MEMORY_CHECK build. Running it again is harmless: the
# originals are kept in SKYNET_DIR/.skynet-mem/orig and every file is
# rewritten from them, only where its content changes.
set -eu

usage() {
	echo "usage: $0 SKYNET_DIR [--check] | $0 --revert SKYNET_DIR" >&2
	exit 2
}
die() {
	echo "apply.sh: $*" >&2
	exit 1
}

[ $# -ge 1 ] || usage
MODE=apply
if [ "$1" = --revert ]; then
	MODE=revert
	shift
	[ $# = 1 ] || usage
fi
SKYNET_DIR=$1
shift
VARIANT=release
for a in "$@"; do
	case $a in
	--check) VARIANT=check ;;
	*) usage ;;
	esac
done
[ -d "$SKYNET_DIR" ] || die "$SKYNET_DIR: no such folder"
SKYNET_DIR=$(cd "$SKYNET_DIR" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=$SKYNET_DIR/.skynet-mem
ORIG=$STATE/orig

# Files apply.sh rewrites or replaces (relative to SKYNET_DIR).
PATCHED="Makefile skynet-src/skynet_server.c"
# The message flow (names, mailboxes, the owner following the message):
FLOW_PATCHED="skynet-src/skynet_mq.c skynet-src/skynet_socket.c skynet-src/skynet_handle.c skynet-src/skynet_env.c skynet-src/skynet_module.c skynet-src/skynet_timer.c 3rd/lua/lauxlib.c 3rd/lua/loadlib.c"
PATCHED="$PATCHED $FLOW_PATCHED"
REPLACED="skynet-src/malloc_hook.c skynet-src/malloc_hook.h skynet-src/skynet_malloc.h lualib-src/lua-memory.c"
# Files apply.sh adds (skynet has none of them); --revert removes them.
ADDED="skynet-src/skynet_mem.h skynet-src/skynet_mem_api.h skynet-src/skynet_mem_skynet.h
lualib-src/lua-memory.h lualib-src/lua-memory-records.c lualib-src/lua-memory-records.h lualib-src/lua-memory-jemalloc.c lualib-src/lua-memory-snapshot.c lualib-src/lua-memory-profile.c
lualib-src/lua-memory-guard.c
skynet-mem.mk libskynet-mem-hook.so.0"

# The operator's views (console commands, memory_web, the page): views.sh.
. "$HERE/views.sh"

# --- revert: skynet's own files back, apply.sh's own gone ---
revert() {
	[ -d "$ORIG" ] || die "$SKYNET_DIR has no $ORIG: apply.sh was not run there (nothing to revert)"
	(cd "$ORIG" && find . -type f | sed 's|^\./||') | while read -r f; do
		cmp -s "$ORIG/$f" "$SKYNET_DIR/$f" || cp -p "$ORIG/$f" "$SKYNET_DIR/$f"
	done
	for f in $ADDED; do
		rm -f "$SKYNET_DIR/$f"
	done
	views_revert
	# Built over the layer: make builds them again, over skynet's own hook.
	# The objects of every file apply.sh changed go too: cp -p gives the
	# restored source its old mtime, so make would keep the patched object.
	rm -f "$SKYNET_DIR/skynet" "$SKYNET_DIR"/cservice/*.so "$SKYNET_DIR"/luaclib/*.so \
		"$SKYNET_DIR/3rd/lua/liblua.a"
	for f in $PATCHED $REPLACED; do
		case $f in *.c) rm -f "$SKYNET_DIR/${f%.c}.o" ;; esac
	done
	rm -rf "$STATE"
	echo "apply.sh: $SKYNET_DIR has skynet's own files again: make -C $SKYNET_DIR linux"
}
[ $MODE = revert ] && { revert; exit 0; }

# --- recognise the tree (its pristine files) ---
src() {   # the pristine copy of a skynet file
	if [ -f "$ORIG/$1" ]; then echo "$ORIG/$1"; else echo "$SKYNET_DIR/$1"; fi
}
once() {   # once FILE REGEX WHAT: the pristine FILE has exactly one line matching
	n=$(grep -c -- "$2" "$(src "$1")" || true)
	[ "$n" = 1 ] || die "$SKYNET_DIR is not a skynet tree apply.sh knows: $1 has $n lines for $3 (expected 1)"
}
for f in $PATCHED $REPLACED skynet-src/skynet_imp.h service-src/service_snlua.c platform.mk; do
	[ -f "$(src "$f")" ] || die "$SKYNET_DIR is not a skynet checkout: $f is missing"
done
if [ ! -d "$ORIG" ] && grep -q skynet_mem "$SKYNET_DIR/skynet-src/skynet_server.c"; then
	die "$SKYNET_DIR mentions skynet-mem but has no $ORIG: restore skynet's files (git checkout) first"
fi
# A file changed since apply.sh wrote it (an edit, a git pull) would be lost
# by rewriting it from the old original: say so instead.
MANIFEST=$STATE/installed.sha256
if [ -f "$MANIFEST" ]; then
	changed=$(cd "$SKYNET_DIR" && sha256sum -c --quiet "$MANIFEST" 2>/dev/null | sed 's/: .*//' | paste -sd ' ') || true
	[ -z "$changed" ] || die "$changed changed since apply.sh wrote them: put skynet's own files back (git checkout) and remove $STATE, then apply again"
fi
once Makefile '^MALLOC_STATICLIB := \$(JEMALLOC_STATICLIB)$' "the jemalloc static library"
once Makefile '^  lua-memory.c \\$' "lua-memory.c in LUA_CLIB_SKYNET"
once Makefile '^include platform.mk$' "include platform.mk"
S=skynet-src/skynet_server.c
once $S '^skynet_current_handle(void) {$' "skynet_current_handle"
once $S '^	void \*inst = skynet_module_instance_create(mod);$' "the instance creation"
once $S '^	ctx->handle = handle;$' "the handle assignment"
once $S '^delete_context(struct skynet_context \*ctx) {$' "delete_context"
once $S '^	skynet_module_instance_release(ctx->mod, ctx->instance);$' "the instance release"
once $S '^#include "atomic.h"$' "the atomic.h include"
once $S '^	pthread_setspecific(G_NODE.handle_key, (void \*)(uintptr_t)(ctx->handle));$' "the dispatch's current handle"
once $S '^skynet_initthread(int m) {$' "skynet_initthread"
once $S '^	pthread_setspecific(G_NODE.handle_key, (void \*)v);$' "skynet_initthread's current handle"
once $S '^dispatch_message(struct skynet_context \*ctx, struct skynet_message \*msg) {$' "dispatch_message"
once $S 'pthread_getspecific(G_NODE.handle_key)' "the current handle's thread key"
once skynet-src/malloc_hook.c '^skynet_lalloc(void \*ptr, size_t osize, size_t nsize) {$' "skynet's hook"
once lualib-src/lua-memory.c '^luaopen_skynet_memory(lua_State \*L) {$' "skynet.memory"
# The message flow's lines (flow_patch below).
recognise_flow() {
	once $S '^	int r = skynet_module_instance_init(mod, inst, ctx, param);$' "the instance init"
	M=skynet-src/skynet_mq.c
	once $M '^#include "spinlock.h"$' "the spinlock.h include"
	once $M '^	struct message_queue \*next;$' "the queue's next field"
	once $M '^	q->next = NULL;$' "the queue's creation"
	once $M '^	assert(message);$' "the push"
	once $M '^	q->queue\[q->tail\] = \*message;$' "the push's store"
	once $M '^		\*message = q->queue\[q->head++\];$' "the pop"
	once $M '^	q->queue = new_queue;$' "the queue's growth"
	once $M '^	_release(q);$' "the queue's release"
	once skynet-src/skynet_socket.c '^#include "skynet_harbor.h"$' "the skynet_harbor.h include"
	once skynet-src/skynet_socket.c '^		sm->buffer = result->data;$' "the forwarded buffer"
	once skynet-src/skynet_socket.c '^	if (more) {$' "the end of a socket event"
	once skynet-src/skynet_handle.c '^#include "spinlock.h"$' "the spinlock.h include"
	once skynet-src/skynet_handle.c '^	const char \* ret = _insert_name(H, name, handle);$' "the name registration"
	once skynet-src/skynet_handle.c '^		s->slot = new_slot;$' "the handle table's growth"
	once skynet-src/skynet_handle.c '^		s->name = n;$' "the name table's growth"
	once skynet-src/skynet_env.c '^#include "spinlock.h"$' "the spinlock.h include"
	once skynet-src/skynet_env.c '^	E->L = luaL_newstate();$' "the environment's state"
	once skynet-src/skynet_module.c '^#include "spinlock.h"$' "the spinlock.h include"
	once skynet-src/skynet_module.c '^		dl = dlopen(tmp, RTLD_NOW | RTLD_GLOBAL);$' "a C service's dlopen"
	once skynet-src/skynet_timer.c '^#include "spinlock.h"$' "the spinlock.h include"
	once skynet-src/skynet_timer.c '^	struct timer_node \*node = (struct timer_node \*)skynet_malloc(sizeof(\*node)+sz);$' "a timer's node"
	once 3rd/lua/loadlib.c '^#include <dlfcn.h>$' "the dlfcn.h include"
	once 3rd/lua/loadlib.c '^  void \*lib = dlopen(path, RTLD_NOW | (seeglb ? RTLD_GLOBAL : RTLD_LOCAL));$' "a C library's dlopen"
	once 3rd/lua/lauxlib.c '^static struct codecache CC;$' "the code cache"
	once 3rd/lua/lauxlib.c '^  lua_State \*L = lua_newstate(luaL_alloc, NULL, G(fromL)->seed);$' "the code cache's states"
}
recognise_flow
[ "$(sed -n '/^delete_context/,/^}/p' "$(src $S)" | grep -c '^	skynet_mq_mark_release(ctx->queue);$')" = 1 ] ||
	die "$SKYNET_DIR is not a skynet tree apply.sh knows: delete_context has no skynet_mq_mark_release(ctx->queue)"
[ "$(sed -n '/^delete_context/,/^}/p' "$(src $S)" | grep -c '^	context_dec();$')" = 1 ] ||
	die "$SKYNET_DIR is not a skynet tree apply.sh knows: delete_context does not end in context_dec()"
[ "$(sed -n '/^drop_message/,/^}/p' "$(src $S)" | grep -c '^	skynet_free(msg->data);$')" = 1 ] ||
	die "$SKYNET_DIR is not a skynet tree apply.sh knows: drop_message does not free msg->data"
[ "$(sed -n '/^dispatch_message/,/^}/p' "$(src $S)" | grep -c '^	CHECKCALLING_END(ctx)$')" = 1 ] ||
	die "$SKYNET_DIR is not a skynet tree apply.sh knows: dispatch_message does not end in CHECKCALLING_END"
views_recognise

# --- find or build the layer ---
cache_flag() {   # cache_flag BUILD_DIR OPTION: ON or OFF, from CMakeCache.txt
	v=$(sed -n "s/^$2:BOOL=//p" "$1/CMakeCache.txt")
	case $v in ON|on|1|TRUE|true|YES|yes) echo ON ;; *) echo OFF ;; esac
}
want_check=OFF
[ $VARIANT = check ] && want_check=ON
if [ -n "${SKYNET_MEM_BUILD:-}" ]; then
	B=$(cd "$SKYNET_MEM_BUILD" && pwd) || die "SKYNET_MEM_BUILD=$SKYNET_MEM_BUILD: no such folder"
	[ -f "$B/CMakeCache.txt" ] || die "SKYNET_MEM_BUILD=$B is not a CMake build folder"
	[ "$(cache_flag "$B" SKYNET_MEM_CHECK)" = $want_check ] ||
		die "SKYNET_MEM_BUILD=$B has SKYNET_MEM_CHECK=$(cache_flag "$B" SKYNET_MEM_CHECK), the $VARIANT build wants $want_check"
	[ "$(cache_flag "$B" SKYNET_MEM_JEMALLOC)" = ON ] || die "SKYNET_MEM_BUILD=$B is built without jemalloc"
	cmake --build "$B" --target skynet-mem-hook -j"${JOBS:-2}" >/dev/null
	LIBDIR=$B/skynet-mem
	INCDIR=$REPO/skynet-mem/include
elif [ -n "${SKYNET_MEM_PREFIX:-}" ]; then
	INCDIR=$SKYNET_MEM_PREFIX/include/skynet-mem
	LIBDIR=
	for d in "$SKYNET_MEM_PREFIX"/lib/*-linux-gnu "$SKYNET_MEM_PREFIX"/lib64 "$SKYNET_MEM_PREFIX"/lib; do
		if [ -f "$d/libskynet-mem-hook.so" ]; then LIBDIR=$d; break; fi
	done
	[ -n "$LIBDIR" ] || die "SKYNET_MEM_PREFIX=$SKYNET_MEM_PREFIX has no lib*/libskynet-mem-hook.so"
	[ -f "$INCDIR/skynet_mem.h" ] || die "SKYNET_MEM_PREFIX=$SKYNET_MEM_PREFIX has no include/skynet-mem/skynet_mem.h"
else
	B=$STATE/build-$VARIANT
	mkdir -p "$B"
	echo "apply.sh: building skynet-mem ($VARIANT) in $B"
	cmake -S "$REPO" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKYNET_MEM_TESTS=OFF \
		-DSKYNET_MEM_BENCH=OFF -DSKYNET_MEM_CHECK=$want_check >/dev/null
	cmake --build "$B" --target skynet-mem-hook -j"${JOBS:-2}" >/dev/null
	LIBDIR=$B/skynet-mem
	INCDIR=$REPO/skynet-mem/include
fi
[ -f "$LIBDIR/libskynet-mem-hook.so" ] || die "no libskynet-mem-hook.so in $LIBDIR"

# --- the message flow: a message's payload is its receiver's from the moment
# it enters the mailbox (skynet_mq_push; the socket thread's read buffers
# too), what waits there is counted (skynet_mq_mem), the mailbox's growth is
# its owner's, a service's death is reported once its mailbox and the
# messages dropped with it are freed; registered names; the code cache ---
flow_patch() {
	sed -e 's/^#include "spinlock.h"$/&\
#include "skynet_mem_skynet.h"/' \
		-e 's/^	struct message_queue \*next;$/&\
	size_t mem_queued;   \/* skynet-mem: payload bytes waiting *\//' \
		-e 's/^	q->next = NULL;$/&\
	q->mem_queued = 0;/' \
		-e 's/^	assert(message);$/&\
	if (message->data)\
		skynet_mem_transfer(message->data, q->handle);/' \
		-e 's/^	q->queue\[q->tail\] = \*message;$/&\
	q->mem_queued += message->sz \& MESSAGE_TYPE_MASK;/' \
		-e 's/^		\*message = q->queue\[q->head++\];$/&\
		q->mem_queued -= message->sz \& MESSAGE_TYPE_MASK;/' \
		-e 's/^	q->queue = new_queue;$/&\
	skynet_mem_transfer(new_queue, q->handle);/' \
		-e 's/^	_release(q);$/	uint32_t mem_handle = q->handle;\
&\
	skynet_mem_death(mem_handle);/' \
		"$ORIG/skynet-src/skynet_mq.c" >"$STAGE/skynet_mq.c"
	cat >>"$STAGE/skynet_mq.c" <<'EOC'

/* skynet-mem: the payload bytes and messages waiting in q. */
void
skynet_mq_mem(struct message_queue *q, size_t *bytes, size_t *msgs) {
	SPIN_LOCK(q)
	*bytes = q->mem_queued;
	*msgs = (size_t)(q->head <= q->tail ? q->tail - q->head : q->tail + q->cap - q->head);
	SPIN_UNLOCK(q)
}
EOC
	[ "$(grep -c 'mem_queued\|skynet_mem_' "$STAGE/skynet_mq.c")" = 9 ] ||
		die "internal: skynet_mq.c was not patched as expected"
	install_file "$STAGE/skynet_mq.c" skynet-src/skynet_mq.c

	sed -e 's/^#include "skynet_harbor.h"$/&\
#include "skynet_mem_skynet.h"/' \
		-e 's/^		sm->buffer = result->data;$/&\
		if (sm->buffer \&\& (type == SKYNET_SOCKET_TYPE_DATA || type == SKYNET_SOCKET_TYPE_UDP))\
			skynet_mem_socket_data(sm->buffer, (uint32_t)result->opaque);/' \
		-e 's/^	if (more) {$/	skynet_mem_flush();\
&/' \
		"$ORIG/skynet-src/skynet_socket.c" >"$STAGE/skynet_socket.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/skynet_socket.c")" = 3 ] ||
		die "internal: skynet_socket.c was not patched as expected"
	install_file "$STAGE/skynet_socket.c" skynet-src/skynet_socket.c

	sed -e 's/^#include "spinlock.h"$/&\
#include "skynet_mem_skynet.h"/' \
		-e 's/^	const char \* ret = _insert_name(H, name, handle);$/&\
	if (ret)\
		skynet_mem_named(handle, ret);/' \
		-e 's/^		s->slot = new_slot;$/&\
		skynet_mem_transfer(new_slot, SKYNET_MEM_MAIN);/' \
		-e 's/^		s->name = n;$/&\
		skynet_mem_transfer(n, SKYNET_MEM_MAIN);/' \
		"$ORIG/skynet-src/skynet_handle.c" >"$STAGE/skynet_handle.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/skynet_handle.c")" = 4 ] ||
		die "internal: skynet_handle.c was not patched as expected"
	install_file "$STAGE/skynet_handle.c" skynet-src/skynet_handle.c

	# The handle table and the environment are the process's (the main
	# thread's row), not the service's that happened to grow them.
	sed -e 's/^#include "spinlock.h"$/&\
#include "skynet_mem_skynet.h"/' \
		-e 's/^	E->L = luaL_newstate();$/	E->L = lua_newstate(skynet_mem_lua_alloc, (void *)(size_t)SKYNET_MEM_MAIN, luaL_makeseed(NULL));/' \
		"$ORIG/skynet-src/skynet_env.c" >"$STAGE/skynet_env.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/skynet_env.c")" = 2 ] ||
		die "internal: skynet_env.c was not patched as expected"
	install_file "$STAGE/skynet_env.c" skynet-src/skynet_env.c

	# lauxlib.c is built into liblua.a for the skynet binary and for 3rd/lua's
	# own lua and luac, which do not link the layer: a weak reference.
	sed -e 's/^static struct codecache CC;$/&\
\
\/* skynet-mem: the cache'"'"'s states are charged to the pseudo-owner "code cache". *\/\
extern void *skynet_mem_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) __attribute__((weak));/' \
		-e 's/^  lua_State \*L = lua_newstate(luaL_alloc, NULL, G(fromL)->seed);$/  lua_State *L = skynet_mem_lua_alloc ?\
    lua_newstate(skynet_mem_lua_alloc, (void *)(size_t)0xfffffff0u, G(fromL)->seed) :\
    lua_newstate(luaL_alloc, NULL, G(fromL)->seed);/' \
		"$ORIG/3rd/lua/lauxlib.c" >"$STAGE/lauxlib.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/lauxlib.c")" = 3 ] ||
		die "internal: lauxlib.c was not patched as expected"
	# The dynamic loader's own records of a library (link maps, names) live
	# as long as the process: the main row's, not the first loader's.
	sed -e 's/^#include "spinlock.h"$/&\
#include "skynet_mem_skynet.h"/' \
		-e 's/^		dl = dlopen(tmp, RTLD_NOW | RTLD_GLOBAL);$/		uint32_t mem_owner = skynet_mem_get_current();\
		skynet_mem_set_current(SKYNET_MEM_MAIN);\
&\
		skynet_mem_set_current(mem_owner);/' \
		"$ORIG/skynet-src/skynet_module.c" >"$STAGE/skynet_module.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/skynet_module.c")" = 4 ] ||
		die "internal: skynet_module.c was not patched as expected"
	install_file "$STAGE/skynet_module.c" skynet-src/skynet_module.c

	# A pending timeout is the timer thread's until it fires (the thread
	# frees it then): a service killed meanwhile has not leaked it.
	sed -e 's/^#include "spinlock.h"$/&\
#include "skynet_mem_skynet.h"/' \
		-e 's/^	struct timer_node \*node = (struct timer_node \*)skynet_malloc(sizeof(\*node)+sz);$/&\
	skynet_mem_transfer(node, SKYNET_MEM_TIMER);/' \
		"$ORIG/skynet-src/skynet_timer.c" >"$STAGE/skynet_timer.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/skynet_timer.c")" = 2 ] ||
		die "internal: skynet_timer.c was not patched as expected"
	install_file "$STAGE/skynet_timer.c" skynet-src/skynet_timer.c
	sed -e 's/^#include <dlfcn.h>$/&\
\/* skynet-mem: what dlopen keeps is the main row'"'"'s (weak: lua and luac link without the layer). *\/\
extern unsigned int skynet_mem_get_current(void) __attribute__((weak));\
extern void skynet_mem_set_current(unsigned int handle) __attribute__((weak));/' \
		-e 's/^  void \*lib = dlopen(path, RTLD_NOW | (seeglb ? RTLD_GLOBAL : RTLD_LOCAL));$/  unsigned int mem_owner = skynet_mem_get_current ? skynet_mem_get_current() : 0;\
  if (skynet_mem_set_current) skynet_mem_set_current(0xffffffffu);\
&\
  if (skynet_mem_set_current) skynet_mem_set_current(mem_owner);/' \
		"$ORIG/3rd/lua/loadlib.c" >"$STAGE/loadlib.c"
	[ "$(grep -c 'skynet_mem_' "$STAGE/loadlib.c")" = 5 ] ||
		die "internal: loadlib.c was not patched as expected"

	for f in lauxlib.c loadlib.c; do   # no dependency in skynet's Makefile
		cmp -s "$STAGE/$f" "$SKYNET_DIR/3rd/lua/$f" ||
			rm -f "$SKYNET_DIR/3rd/lua/liblua.a" "$SKYNET_DIR/3rd/lua/${f%.c}.o"
		install_file "$STAGE/$f" 3rd/lua/$f
	done
}

# --- keep the originals, once each ---
for f in $PATCHED $REPLACED; do
	if [ ! -f "$ORIG/$f" ]; then
		mkdir -p "$ORIG/$(dirname "$f")"
		cp -p "$SKYNET_DIR/$f" "$ORIG/$f"
	fi
done

# --- write every file through a staging copy: only changed files are touched,
# so a second run changes nothing and make rebuilds nothing ---
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
CHANGED=0
NEW_MANIFEST=$STAGE/installed.sha256
install_file() {   # install_file STAGED DEST (relative to SKYNET_DIR)
	if ! cmp -s "$1" "$SKYNET_DIR/$2" 2>/dev/null; then
		cp "$1" "$SKYNET_DIR/$2"
		CHANGED=1
	fi
	(cd "$SKYNET_DIR" && sha256sum "$2") >>"$NEW_MANIFEST"
}

# Makefile: no 3rd/jemalloc; our Lua module's files; skynet-mem.mk for the link.
sed -e 's/^MALLOC_STATICLIB := \$(JEMALLOC_STATICLIB)$/# skynet-mem: Debian'"'"'s jemalloc, through libskynet-mem-hook (skynet-mem.mk)\
MALLOC_STATICLIB :=/' \
	-e 's/^  lua-memory.c \\$/  lua-memory.c lua-memory-records.c lua-memory-jemalloc.c lua-memory-snapshot.c lua-memory-views.c mem-views.c mem-history.c mem-utf8.c lua-memory-profile.c lua-memory-guard.c \\/' \
	"$ORIG/Makefile" >"$STAGE/Makefile"
printf '\n# skynet-mem (integrations/skynet/apply.sh)\ninclude skynet-mem.mk\n' >>"$STAGE/Makefile"
install_file "$STAGE/Makefile" Makefile

# skynet_server.c: every thread's current service is also the layer's (set at
# each dispatch); each dispatch ends with the thread's counters published, so
# reads are exact for every service not running; a service's Lua heap made at
# its birth is its own; its release runs charged to it, whatever thread kills
# it, and is published before its mailbox is marked for release (a worker
# then frees the mailbox and the messages dropped with it, and reports and
# retires the service: skynet_mq.c below).
sed -e 's/^#include "atomic.h"$/&\
#include "skynet_mem_skynet.h"/' \
	-e 's/^	void \*inst = skynet_module_instance_create(mod);$/	struct skynet_mem_birth mem_birth = skynet_mem_birth_begin();\
&/' \
	-e 's/^	ctx->handle = handle;$/&\
	skynet_mem_birth_end(\&mem_birth, handle, ctx, inst, name, param);/' \
	-e 's/^	int r = skynet_module_instance_init(mod, inst, ctx, param);$/&\
	skynet_mem_birth_done(\&mem_birth);/' \
	-e 's/^	pthread_setspecific(G_NODE.handle_key, (void \*)(uintptr_t)(ctx->handle));$/&\
	skynet_mem_set_current(ctx->handle);/' \
	-e '/^dispatch_message(struct skynet_context \*ctx, struct skynet_message \*msg) {$/,/^}$/{
s/^	CHECKCALLING_END(ctx)$/	skynet_mem_flush();\
	if (skynet_mem_limit_pending())\
		skynet_mem_log_limits();\
&/
}' \
	-e '/^drop_message(struct skynet_message \*msg, void \*ud) {$/,/^}$/{
s/^	skynet_free(msg->data);$/	skynet_mem_dropped(msg->data, msg->sz);\
&/
}' \
	-e '/^skynet_initthread(int m) {$/,/^}$/{
s/^	pthread_setspecific(G_NODE.handle_key, (void \*)v);$/&\
	skynet_mem_thread_init((uint32_t)v);/
}' \
	-e '/^delete_context(struct skynet_context \*ctx) {$/,/^}$/{
s/^delete_context(struct skynet_context \*ctx) {$/&\
	void *mem_caller = pthread_getspecific(G_NODE.handle_key);\
	uint32_t mem_handle = ctx->handle;\
	pthread_setspecific(G_NODE.handle_key, (void *)(uintptr_t)mem_handle);\
	skynet_mem_set_current(mem_handle);\
	struct message_queue *mem_queue = ctx->queue;/
/^	skynet_mq_mark_release(ctx->queue);$/d
s/^	context_dec();$/	pthread_setspecific(G_NODE.handle_key, mem_caller);\
	skynet_mem_set_current((uint32_t)(uintptr_t)mem_caller);\
	skynet_mem_flush();\
	skynet_mq_mark_release(mem_queue);\
&/
}' "$ORIG/$S" >"$STAGE/skynet_server.c"
[ "$(grep -c 'mem_birth\|mem_caller\|mem_handle\|skynet_mem_skynet.h\|skynet_mem_set_current\|skynet_mem_thread_init\|skynet_mem_flush\|skynet_mem_dropped' "$STAGE/skynet_server.c")" = 15 ] ||
	die "internal: skynet_server.c was not patched as expected"
cat >>"$STAGE/skynet_server.c" <<'EOC'

/* skynet-mem: what waits in a service's mailbox (the layer's queue reader). */
int
skynet_mem_skynet_queue(uint32_t handle, size_t *bytes, size_t *msgs) {
	struct skynet_context * ctx = skynet_handle_grab(handle);
	if (ctx == NULL)
		return -1;
	skynet_mq_mem(ctx->queue, bytes, msgs);
	skynet_context_release(ctx);
	return 0;
}
EOC
install_file "$STAGE/skynet_server.c" $S

flow_patch

# Files an older apply.sh changed and this one does not: skynet's own again.
(cd "$ORIG" && find . -type f | sed 's|^\./||') | while read -r f; do
	case " $PATCHED $REPLACED " in
	*" $f "*) ;;
	*) cmp -s "$ORIG/$f" "$SKYNET_DIR/$f" || cp "$ORIG/$f" "$SKYNET_DIR/$f" ;;
	esac
done

# The layer's headers, the glue, and the Lua module.
# skynet's Makefile knows no header dependencies: a changed header rebuilds all.
HEADERS_BEFORE=$CHANGED
CHANGED=0
for h in skynet_malloc.h malloc_hook.h skynet_mem.h skynet_mem_api.h; do
	install_file "$INCDIR/$h" skynet-src/$h
done
install_file "$HERE/skynet_mem_skynet.h" skynet-src/skynet_mem_skynet.h
[ $CHANGED = 1 ] && rm -f "$SKYNET_DIR/skynet" "$SKYNET_DIR"/cservice/*.so "$SKYNET_DIR"/luaclib/*.so
[ $HEADERS_BEFORE = 1 ] && CHANGED=1
install_file "$HERE/malloc_hook.c" skynet-src/malloc_hook.c
for f in lua-memory.c lua-memory.h lua-memory-records.c lua-memory-records.h lua-memory-jemalloc.c lua-memory-snapshot.c \
	lua-memory-views.c mem-views.c mem-views.h mem-history.c mem-history.h mem-utf8.c mem-utf8.h lua-memory-profile.c lua-memory-guard.c; do
	install_file "$REPO/lualib-src/$f" lualib-src/$f
done

# The library beside the binary, found through an $ORIGIN RPATH: the tree
# can be moved or copied to another machine as it is. (Rerun apply.sh after
# rebuilding the layer: it copies the library again.)
deploy_library() {
	cp -L "$LIBDIR/libskynet-mem-hook.so.0" "$STAGE/libskynet-mem-hook.so.0" 2>/dev/null ||
		cp -L "$LIBDIR/libskynet-mem-hook.so" "$STAGE/libskynet-mem-hook.so.0"
	install_file "$STAGE/libskynet-mem-hook.so.0" libskynet-mem-hook.so.0
}
deploy_library

views_install

# skynet-mem.mk: how the binary links the layer. A change relinks everything.
cat >"$STAGE/skynet-mem.mk" <<'EOF'
# Written by skynet-mem's integrations/skynet/apply.sh: the layer's
# libskynet-mem-hook.so.0 is in this folder, beside the skynet binary.
CFLAGS += -DSKYNET_MEM_USE_JEMALLOC
LDFLAGS += -L. -l:libskynet-mem-hook.so.0 -Wl,-rpath,'$$ORIGIN'
EOF
echo "# $VARIANT build, copied from $LIBDIR" >>"$STAGE/skynet-mem.mk"
if ! cmp -s "$STAGE/skynet-mem.mk" "$SKYNET_DIR/skynet-mem.mk" 2>/dev/null; then
	rm -f "$SKYNET_DIR/skynet" "$SKYNET_DIR"/cservice/*.so "$SKYNET_DIR"/luaclib/*.so
	cp "$STAGE/skynet-mem.mk" "$SKYNET_DIR/skynet-mem.mk"
	CHANGED=1
fi
echo "$VARIANT" >"$STATE/variant"
cp "$NEW_MANIFEST" "$MANIFEST"

if [ $CHANGED = 1 ]; then
	echo "apply.sh: $SKYNET_DIR now builds on skynet-mem ($VARIANT, $LIBDIR): make -C $SKYNET_DIR linux"
else
	echo "apply.sh: $SKYNET_DIR already builds on skynet-mem ($VARIANT): nothing changed"
fi
