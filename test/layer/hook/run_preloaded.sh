#!/bin/sh
# Runs a real program with and without the interposer preloaded: its output
# must not change, and the totals the interposer prints at exit must agree
# with its records and with its allocation count.
# Usage: run_preloaded.sh HOOK_LIBRARY PROGRAM [ARGS...]
set -u
hook=$1
shift
expected=$("$@") || { echo "FAIL: plain run of $* failed"; exit 1; }
err=$(mktemp)
got=$(LD_PRELOAD="$hook" SKYNET_MEM_REPORT=1 "$@" 2>"$err") || {
	echo "FAIL: preloaded run of $* failed:"; cat "$err"; rm -f "$err"; exit 1; }
report=$(grep '^skynet-mem: totals' "$err")
rm -f "$err"
echo "output: $got"
echo "$report"
[ "$got" = "$expected" ] || { echo "FAIL: output differs: '$got' vs '$expected'"; exit 1; }
echo "$report" | grep -q 'consistent=1' || { echo "FAIL: totals inconsistent"; exit 1; }
allocs=$(echo "$report" | sed -n 's/.*allocs=\([0-9]*\).*/\1/p')
[ "${allocs:-0}" -gt 10000 ] || { echo "FAIL: only ${allocs:-0} allocations seen: not interposed?"; exit 1; }
echo "PASS"
