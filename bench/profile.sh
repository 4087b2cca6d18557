#!/bin/sh
# What the heap profile's sampling costs (docs/profile.md): instructions
# (callgrind, whole run) of each bench_programs shape and of bench_lua with
# sampling off (SKYNET_MEM_PROFILE_SAMPLE=0: the countdown and the free
# path's filter still run) and at the default rate, in the same build.
# Usage: bench/profile.sh [build dir (build/release)] [programs (all five)]
set -eu
build=${1:-build/release}
programs=${2:-"cfrac larson prodcons churn1 churn2"}
command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/install-deps.sh installs it)"; exit 1; }

# $1: SKYNET_MEM_PROFILE_SAMPLE, rest: the command; prints its instructions.
insns() {
	rate=$1
	shift
	SKYNET_MEM_PROFILE_SAMPLE=$rate valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}

row() {
	name=$1
	shift
	off=$(insns 0 "$@")
	on=$(insns 512K "$@")
	awk -v n="$name" -v a="$off" -v b="$on" 'BEGIN {
		printf "%-22s %15.0f %15.0f   %+.3f%%\n", n, a, b, 100 * (b - a) / a }'
}

printf "%-22s %15s %15s   %s\n" "program (layer)" "off" "512K (default)" "change"
for p in $programs; do
	row "$p" "$build/bench/bench_programs" --one "$p" layer
done
row "bench_lua 1 1" "$build/bench/bench_lua" 1 1
