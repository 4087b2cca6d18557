#!/bin/sh
# Instructions per malloc+free pair under callgrind: bare jemalloc, skynet-mem,
# and the layer's own share (the difference), from one build's bench_insns.
# usage: bench/insns.sh [build folder (default build/release)] [pairs (default 1000000)]
set -eu
build=${1:-build/release}
pairs=${2:-1000000}
prog=$build/bench/bench_insns
[ -x "$prog" ] || { echo "no $prog (a jemalloc build with SKYNET_MEM_BENCH=ON)"; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/install-deps.sh bench installs it)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() {
	valgrind --tool=callgrind --toggle-collect="loop_$1" --callgrind-out-file="$out/$1" \
		"$prog" "$1" "$pairs" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
bare=$(count bare)
layer=$(count layer)
# The warm-up loop (256 pairs) is counted too: included in the pairs.
all=$((pairs + 256))
awk -v b="$bare" -v l="$layer" -v n="$all" -v d="$build" 'BEGIN {
	printf "instructions per malloc+free pair (%s, callgrind, %d pairs, window 64, 16..1024 B)\n", d, n
	printf "bare jemalloc  %8.1f\nskynet-mem     %8.1f   %.2fx\nlayer share    %8.1f\n", b / n, l / n, l / b, (l - b) / n
}'
