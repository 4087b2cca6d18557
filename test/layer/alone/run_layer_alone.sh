#!/bin/sh
# The layer alone: configured with SKYNET_MEM_LUA and SKYNET_MEM_HOST OFF where
# pkg-config sees jemalloc and nothing else (no Lua, cmocka, libmicrohttpd,
# jansson), it configures, lists the layer's tests and none of the others,
# builds the library, the interposer and three of the tests (cmocka_lite
# standing in for cmocka; the whole build takes about 25 s of CPU), and those
# pass.
# usage: run_layer_alone.sh <source root> <work folder>
set -eu
src=$1
work=$2
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work"
mkdir -p "$work/pc"
# Only jemalloc's .pc file where pkg-config looks (when there is a pkg-config).
if pc=$(pkg-config --variable=pcfiledir jemalloc 2>/dev/null); then
	ln -s "$pc/jemalloc.pc" "$work/pc/jemalloc.pc"
fi
export PKG_CONFIG_LIBDIR="$work/pc" PKG_CONFIG_PATH=
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSKYNET_MEM_LUA=OFF -DSKYNET_MEM_HOST=OFF -DSKYNET_MEM_BENCH=OFF >"$work/configure.log" 2>&1 \
	|| { cat "$work/configure.log"; fail "configure"; }
grep -q "cmocka not found: the tests use test/cmocka_lite" "$work/configure.log" \
	|| fail "cmocka was found: pkg-config saw more than jemalloc"
! grep -qE '^(LUA|MICROHTTPD|JANSSON)_FOUND' "$work/build/CMakeCache.txt" || fail "looked for Lua or the host's libraries"
tests="test_accounting test_entry_points test_hook_api"
cmake --build "$work/build" -j2 --target skynet-mem skynet-mem-hook $tests >"$work/build.log" 2>&1 \
	|| { tail -n 30 "$work/build.log"; fail "build"; }
for t in libskynet-mem.so libskynet-mem-hook.so; do
	[ -n "$(find "$work/build" -name "$t")" ] || fail "$t not built"
done
[ -z "$(find "$work/build" -name 'memory_core.so' -o -name 'skynet-host' -type f)" ] || fail "built the Lua module or the host"
cd "$work/build"
listed=$(ctest -N)
echo "$listed" | grep -q 'test_accounting' || fail "no layer tests"
! echo "$listed" | grep -qE 'lua_|test_host|prometheus' || fail "lists tests of the Lua module or the host"
ctest -R "^($(echo $tests | tr ' ' '|'))\$" --output-on-failure || fail "layer tests"
echo "PASS: the layer configured, built and tested with jemalloc alone ($(echo "$listed" | grep -c 'Test *#') tests listed)"
rm -rf "$work"
