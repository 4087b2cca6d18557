#!/bin/sh
# Runs the entry-point probe bare (glibc) and under the interposer: every
# line (result, errno, alignment, contents) must be the same.
# Usage: compare_probe.sh HOOK_LIBRARY PROBE
set -u
hook=$1
probe=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$probe" >"$dir/glibc" || { echo "FAIL: bare probe failed"; exit 1; }
LD_PRELOAD="$hook" "$probe" >"$dir/hook" || { echo "FAIL: preloaded probe failed"; exit 1; }
[ "$(wc -l <"$dir/glibc")" -gt 60 ] || { echo "FAIL: probe output too short"; exit 1; }
if ! diff -u "$dir/glibc" "$dir/hook"; then
	echo "FAIL: the interposer differs from glibc (- glibc, + interposer)"
	exit 1
fi
echo "PASS: $(wc -l <"$dir/glibc") calls agree with glibc"
