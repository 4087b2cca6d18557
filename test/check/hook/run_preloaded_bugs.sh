#!/bin/sh
# Runs plain_bugs under the check build's interposer and checks each report.
# Usage: run_preloaded_bugs.sh HOOK_LIBRARY PLAIN_BUGS
set -u
hook=$1
prog=$2
err=$(mktemp)
trap 'rm -f "$err"' EXIT
fail() { echo "FAIL: $*"; cat "$err"; exit 1; }

LD_PRELOAD="$hook" "$prog" usable 2>"$err" || fail "usable"
LD_PRELOAD="$hook" "$prog" overflow 2>"$err"
[ $? -eq 134 ] || fail "overflow: no abort"
grep -q "MEMORY_CHECK: overflow by 4 bytes at offset 43" "$err" || fail "overflow: report"
grep -q "(requested 40 bytes" "$err" || fail "overflow: sizes"
grep -q "owner service :00000000, freeing service :00000000" "$err" || fail "overflow: services"
LD_PRELOAD="$hook" "$prog" double-free 2>"$err"
[ $? -eq 134 ] || fail "double free: no abort"
grep -q "MEMORY_CHECK: double free" "$err" || fail "double free: report"
echo PASS
