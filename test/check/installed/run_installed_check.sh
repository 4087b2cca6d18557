#!/bin/sh
# Installs a MEMORY_CHECK build into a temporary prefix, builds bugs.c against it
# (pkg-config, and find_package), and checks that every bug class aborts with a
# report naming the owner (:0a000001) and the freeing service (:0a000002).
# Usage: run_installed_check.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libskynet-mem.so' -printf '%h\n' | head -n 1)
[ -n "$libdir" ] || { echo "FAIL: libskynet-mem.so not installed"; exit 1; }
pc="$libdir/pkgconfig"
cc -o "$prefix/bugs" "$src/bugs.c" $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs skynet-mem) \
	-lpthread -Wl,-rpath,"$libdir"

fail() { echo "FAIL: $*"; cat "$prefix/err"; exit 1; }

# kind, then the text its report must hold
check() {
	set +e
	"$prefix/bugs" "$1" 2>"$prefix/err" >/dev/null
	rc=$?
	set -e
	[ "$rc" -eq 134 ] || fail "$1: exit status $rc, expected 134 (abort)"
	grep -q "skynet-mem: MEMORY_CHECK: $2" "$prefix/err" || fail "$1: no \"$2\" report"
	grep -q "owner service :0a000001" "$prefix/err" || fail "$1: owner not named"
	grep -q "$3" "$prefix/err" || fail "$1: no \"$3\""
	grep -q "backtrace:" "$prefix/err" || fail "$1: no backtrace"
	echo "ok: $1"
}
check overflow "overflow by 1 bytes at offset 24" "freeing service :0a000002"
check underflow "underflow by 2 bytes" "freeing service :0a000002"
check double-free "double free" "freeing service :0a000002"
check write-after-free "write after free at offset 5" "freed by service :0a000002"
# no block, so no owner: the freeing service and the pointer are named
set +e
"$prefix/bugs" invalid-free 2>"$prefix/err" >/dev/null
rc=$?
set -e
[ "$rc" -eq 134 ] || fail "invalid-free: exit status $rc"
grep -q "MEMORY_CHECK: invalid free" "$prefix/err" || fail "invalid-free: no report"
grep -q "freeing service :0a000002" "$prefix/err" || fail "invalid-free: freer not named"
echo "ok: invalid-free"

# report-and-continue from the environment, in a find_package build
cmake -S "$src" -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
SKYNET_MEM_CHECK_CONTINUE=1 "$prefix/consumer-build/bugs" all 2>"$prefix/err" || fail "continue mode"
[ "$(grep -c '^skynet-mem: MEMORY_CHECK: continuing' "$prefix/err")" -eq 6 ] || fail "continue mode: not 6 reports"
echo PASS
