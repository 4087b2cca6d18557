#!/bin/sh
# glibc_shapes bare first (the test's expectations hold for glibc itself),
# then under the interposer with its exit report checked.
# Usage: glibc_shapes.sh HOOK_LIBRARY PROGRAM
set -u
hook=$1
prog=$2
"$prog" >/dev/null || { echo "FAIL: the bare run fails: the test is wrong about glibc"; exit 1; }
err=$(mktemp)
trap 'rm -f "$err"' EXIT
LD_PRELOAD="$hook" SKYNET_MEM_REPORT=1 "$prog" 2>"$err" || { cat "$err"; echo "FAIL: under the interposer"; exit 1; }
grep -q '^skynet-mem: totals .*consistent=1$' "$err" || { cat "$err"; echo "FAIL: no consistent report"; exit 1; }
echo "PASS"
