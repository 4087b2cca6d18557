#!/bin/sh
# Guarded slots' cost, in instructions per malloc+free pair (callgrind), from
# one build's bench_guard: 100 services on one thread, 200 pairs per turn.
#   off: guarding never on;  on: service 1 guarded at every = EVERY.
# Prints the others' pairs and the guarded service's, off and on, and ratios.
# usage: bench/guard.sh [build folder (default build/release)] [rounds (default 100)] [every (default 1000)]
set -eu
build=${1:-build/release}
rounds=${2:-100}
every=${3:-1000}
prog=$build/bench/bench_guard
here=$(cd "$(dirname "$0")" && pwd)
. "$here/callgrind_insns.sh"
callgrind_ready "$prog"
# count MODE FUNCTION: instructions collected inside FUNCTION
count() {
	callgrind_insns "$2" "$prog" "$1" "$rounds" "$every"
}
off_plain=$(count off turn_plain)
off_guarded=$(count off turn_guarded)
on_plain=$(count on turn_plain)
on_guarded=$(count on turn_guarded)
awk -v a="$off_plain" -v b="$off_guarded" -v c="$on_plain" -v d="$on_guarded" -v r="$rounds" -v e="$every" -v dir="$build" 'BEGIN {
	others = 99 * r * 200; one = r * 200
	printf "instructions per malloc+free pair, service switch included (%s, callgrind, %d rounds x 100 services x 200 pairs)\n", dir, r
	printf "                    off      on (service 1 at every = %-5d)   ratio\n", e
	printf "other services  %8.1f  %8.1f                           %.3fx\n", a / others, c / others, c / a
	printf "service 1       %8.1f  %8.1f                           %.3fx\n", b / one, d / one, d / b
}'
