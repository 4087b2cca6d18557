#!/bin/sh
# Installs a build into a temporary prefix, then builds the consumer against it
# twice (pkg-config, and CMake's find_package) and runs both.
# Usage: run_install_test.sh BUILD_DIR SOURCE_DIR jemalloc|system
set -eu
build=$1
src=$2
kind=$3
owner=${4:-4}   # bytes of a block naming its owner (cookie 4, header 16)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libskynet-mem.so' -printf '%h\n' | head -n 1)
[ -n "$libdir" ] || { echo "FAIL: libskynet-mem.so not installed"; exit 1; }
extra=""
[ "$kind" = jemalloc ] && extra="-DHAVE_JEMALLOC -ljemalloc"

# pkg-config
PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --exists skynet-mem
cc -o "$prefix/consumer-pc" "$src/consumer.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs skynet-mem) \
	-lpthread $extra -Wl,-rpath,"$libdir"
"$prefix/consumer-pc" "$kind" "$owner"

# find_package
have=OFF
[ "$kind" = jemalloc ] && have=ON
cmake -S "$src" -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" -DHAVE_JEMALLOC=$have \
	-DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
"$prefix/consumer-build/consumer" "$kind" "$owner"
echo PASS
