#!/bin/sh
# Instructions per malloc+free pair under callgrind: bare jemalloc, skynet-mem,
# and the layer's own share (the difference), from one build's bench_insns.
# usage: bench/insns.sh [build folder (default build/release)] [pairs (default 1000000)]
set -eu
build=${1:-build/release}
pairs=${2:-1000000}
prog=$build/bench/bench_insns
here=$(cd "$(dirname "$0")" && pwd)
. "$here/callgrind_insns.sh"
callgrind_ready "$prog"
bare=$(callgrind_insns loop_bare "$prog" bare "$pairs")
layer=$(callgrind_insns loop_layer "$prog" layer "$pairs")
# The warm-up loop (256 pairs) is counted too: included in the pairs.
all=$((pairs + 256))
awk -v b="$bare" -v l="$layer" -v n="$all" -v d="$build" 'BEGIN {
	printf "instructions per malloc+free pair (%s, callgrind, %d pairs, window 64, 16..1024 B)\n", d, n
	printf "bare jemalloc  %8.1f\nskynet-mem     %8.1f   %.2fx\nlayer share    %8.1f\n", b / n, l / n, l / b, (l - b) / n
}'
