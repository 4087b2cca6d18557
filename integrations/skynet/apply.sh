#!/bin/sh
# apply.sh SKYNET_DIR [--check]: turns an unmodified skynet checkout into one
# built on skynet-mem; then `make linux` in SKYNET_DIR builds skynet over
# Debian's jemalloc and the layer's malloc interposer (libskynet-mem-hook).
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
	echo "usage: $0 SKYNET_DIR [--check]" >&2
	exit 2
}
die() {
	echo "apply.sh: $*" >&2
	exit 1
}

[ $# -ge 1 ] || usage
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
REPLACED="skynet-src/malloc_hook.c skynet-src/malloc_hook.h skynet-src/skynet_malloc.h lualib-src/lua-memory.c"

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
[ "$(sed -n '/^delete_context/,/^}/p' "$(src $S)" | grep -c '^	context_dec();$')" = 1 ] ||
	die "$SKYNET_DIR is not a skynet tree apply.sh knows: delete_context does not end in context_dec()"
[ "$(sed -n '/^dispatch_message/,/^}/p' "$(src $S)" | grep -c '^	CHECKCALLING_END(ctx)$')" = 1 ] ||
	die "$SKYNET_DIR is not a skynet tree apply.sh knows: dispatch_message does not end in CHECKCALLING_END"

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
	-e 's/^  lua-memory.c \\$/  lua-memory.c lua-memory-jemalloc.c lua-memory-snapshot.c lua-memory-log.c \\/' \
	"$ORIG/Makefile" >"$STAGE/Makefile"
printf '\n# skynet-mem (integrations/skynet/apply.sh)\ninclude skynet-mem.mk\n' >>"$STAGE/Makefile"
install_file "$STAGE/Makefile" Makefile

# skynet_server.c: every thread's current service is also the layer's (set at
# each dispatch); each dispatch ends with the thread's counters published, so
# reads are exact for every service not running; a service's Lua heap made at
# its birth is its own; its release runs charged to it, whatever thread kills
# it; then it is reported and retired.
sed -e 's/^#include "atomic.h"$/&\
#include "skynet_mem_skynet.h"/' \
	-e 's/^	void \*inst = skynet_module_instance_create(mod);$/	struct skynet_mem_birth mem_birth = skynet_mem_birth_begin();\
&/' \
	-e 's/^	ctx->handle = handle;$/&\
	skynet_mem_birth_end(\&mem_birth, handle);/' \
	-e 's/^	pthread_setspecific(G_NODE.handle_key, (void \*)(uintptr_t)(ctx->handle));$/&\
	skynet_mem_set_current(ctx->handle);/' \
	-e '/^dispatch_message(struct skynet_context \*ctx, struct skynet_message \*msg) {$/,/^}$/{
s/^	CHECKCALLING_END(ctx)$/	skynet_mem_flush();\
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
	skynet_mem_set_current(mem_handle);/
s/^	context_dec();$/	pthread_setspecific(G_NODE.handle_key, mem_caller);\
	skynet_mem_set_current((uint32_t)(uintptr_t)mem_caller);\
	skynet_mem_death(mem_handle);\
&/
}' "$ORIG/$S" >"$STAGE/skynet_server.c"
[ "$(grep -c 'mem_birth\|mem_caller\|mem_handle\|skynet_mem_skynet.h\|skynet_mem_set_current\|skynet_mem_thread_init\|skynet_mem_flush' "$STAGE/skynet_server.c")" = 13 ] ||
	die "internal: skynet_server.c was not patched as expected"
install_file "$STAGE/skynet_server.c" $S

# Files an older apply.sh changed and this one does not: skynet's own again.
(cd "$ORIG" && find . -type f | sed 's|^\./||') | while read -r f; do
	case " $PATCHED $REPLACED " in
	*" $f "*) ;;
	*) cmp -s "$ORIG/$f" "$SKYNET_DIR/$f" || cp "$ORIG/$f" "$SKYNET_DIR/$f" ;;
	esac
done

# The layer's headers, the glue, and the Lua module.
for h in skynet_malloc.h malloc_hook.h skynet_mem.h skynet_mem_api.h; do
	install_file "$INCDIR/$h" skynet-src/$h
done
install_file "$HERE/malloc_hook.c" skynet-src/malloc_hook.c
install_file "$HERE/skynet_mem_skynet.h" skynet-src/skynet_mem_skynet.h
for f in lua-memory.c lua-memory.h lua-memory-jemalloc.c lua-memory-snapshot.c lua-memory-log.c; do
	install_file "$REPO/lualib-src/$f" lualib-src/$f
done

# skynet-mem.mk: where the layer is. A new library path relinks everything.
cat >"$STAGE/skynet-mem.mk" <<EOF
# Written by skynet-mem's integrations/skynet/apply.sh ($VARIANT build).
SKYNET_MEM_LIBDIR := $LIBDIR
CFLAGS += -DSKYNET_MEM_USE_JEMALLOC
LDFLAGS += -L\$(SKYNET_MEM_LIBDIR) -Wl,-rpath,\$(SKYNET_MEM_LIBDIR) -lskynet-mem-hook
EOF
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
