#!/bin/sh
# Both block layouts side by side against bare jemalloc (make bench-hotpath):
# the trailing cookie (the default build) and -DSKYNET_MEM_LAYOUT=header.
# Every bench binary runs bare jemalloc and its layer in the same process,
# interleaved, and prints ratios to bare; this script runs each binary once per
# layout, alternating the layouts' order from round to round, and tags every
# line with its layout. Instruction counts (callgrind) and memory are exact:
# one run per layout.
# Usage: bench/layouts.sh [cookie build (build/release)] [header build (build/header)] [rounds (2)]
set -eu
cookie=${1:-build/release}
header=${2:-build/header}
rounds=${3:-2}

# $1: layout name, rest: the command. Each line of its output tagged.
tagged() {
	name=$1
	shift
	"$@" 2>&1 | sed "s/^/$name  /"
}

build_of() {
	if [ "$1" = cookie ]; then echo "$cookie"; else echo "$header"; fi
}

echo "### instructions per operation (callgrind)"
for layout in cookie header; do
	tagged "$layout" bench/callgrind.sh "$(build_of "$layout")"
done

echo
echo "### power-of-two memory (bench_pow2)"
for layout in cookie header; do
	tagged "$layout" "$(build_of "$layout")/bench/bench_pow2"
done

echo
echo "### time: many services (bench_services), real-program shapes (bench_programs); $rounds rounds"
r=1
while [ "$r" -le "$rounds" ]; do
	if [ $((r % 2)) -eq 1 ]; then order="cookie header"; else order="header cookie"; fi
	for layout in $order; do
		echo "-- round $r, $layout"
		tagged "$layout" "$(build_of "$layout")/bench/bench_services"
		tagged "$layout" "$(build_of "$layout")/bench/bench_programs"
	done
	r=$((r + 1))
done
