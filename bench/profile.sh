#!/bin/sh
# What the heap profile's sampling costs (docs/profile.md): instructions
# (callgrind, whole run) of each bench_programs shape and of bench_lua with
# sampling off (SKYNET_MEM_PROFILE_SAMPLE=0: the countdown and the free
# path's filter still run) and at the default rate, in the same build.
# With SKYNET=<a skynet tree built over this build's layer> (test/skynet's
# skynet_build leaves one in <build>/test/skynet/work/skynet), also skynet's
# Lua benchmark (bench/skynet/service/skynet_bench.lua lua): instructions per
# round, a 50-round run minus a 10-round run, so skynet's start-up cancels.
# skynet's timer and idle workers make whole runs move by a few percent from
# run to run (off against off too), so the row also gives the share of the
# 512K run spent in the profile's own code (block_sampled, profile_take:
# callgrind, inclusive).
# skynet under callgrind now and then stalls in its own spin locks (a worker
# spinning in skynet_mq_mark_release for minutes; seen with sampling off and
# at 512K, with and without --fair-sched): each run has 15 minutes, and the
# script says which one ran out (rerun it).
# Usage: bench/profile.sh [build dir (build/release)] [programs (all five;
# "skynet": only the skynet row)]
set -eu
build=${1:-build/release}
programs=${2:-"cfrac larson prodcons churn1 churn2"}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/callgrind_insns.sh"
callgrind_ready

# $1: SKYNET_MEM_PROFILE_SAMPLE, rest: the command; prints its instructions.
insns() {
	rate=$1
	shift
	SKYNET_MEM_PROFILE_SAMPLE=$rate callgrind_insns "" "$@"
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
if [ "$programs" != skynet ]; then
	for p in $programs; do
		row "$p" "$build/bench/bench_programs" --one "$p" layer
	done
	row "bench_lua 1 1" "$build/bench/bench_lua" 1 1
fi

[ -n "${SKYNET:-}" ] || exit 0
sk=$(cd "$SKYNET" && pwd)
[ -x "$sk/skynet" ] || { echo "SKYNET=$SKYNET: no skynet binary there"; exit 1; }
. "$here/../test/skynet/skynet_config.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# $1: SKYNET_MEM_PROFILE_SAMPLE, $2: rounds; prints the whole run's instructions.
skynet_insns() {
	skynet_config "$sk" 2 "$work/bench.log" "skynet_bench lua $2" "$here/skynet/service/?.lua" >"$work/config"
	(cd "$work" && SKYNET_MEM_PROFILE_SAMPLE=$1 CALLGRIND_OUT="$work/cg.$1.$2" CALLGRIND_TIMEOUT=900 \
		callgrind_insns "" "$sk/skynet" "$work/config") ||
		{ echo "skynet lua $2 at $1: no count (stalled past 15 minutes?)" >&2; exit 1; }
}
per_round() {
	a=$(skynet_insns "$1" 10)
	b=$(skynet_insns "$1" 50)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) / 40 }'
}
off=$(per_round 0)
on=$(per_round 512K)
awk -v a="$off" -v b="$on" 'BEGIN {
	printf "%-22s %15.0f %15.0f   %+.3f%%   (instructions per round)\n", "skynet lua", a, b, 100 * (b - a) / a }'
callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$work/cg.512K.50" 2>/dev/null | awk '
	/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
	/:(block_sampled|profile_take) \[/ { gsub(",", "", $1); own += $1 }
	END { printf "skynet lua 50 rounds at 512K: %.0f of %.0f instructions in the profile (%.4f%%)\n", own, total, 100 * own / total }'
