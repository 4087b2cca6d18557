#!/bin/sh
# Runs one case of check_cases in its own process and checks its exit status
# and its report on stderr.
# Usage: run_check_cases.sh CHECK_CASES CASE
set -u
prog=$1
case=$2
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail() { echo "FAIL: $case: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }
has() { grep -q -- "$1" "$err" || fail "report lacks: $1"; }
lacks() { ! grep -q -- "$1" "$err" || fail "report has: $1"; }
# run [ENV=VALUE ...]: the case, bounded in time; sets rc
run() { env "$@" timeout 60 "$prog" "$case" >"$out" 2>"$err"; rc=$?; }
aborts() { [ "$rc" -eq 134 ] || fail "exit status $rc, expected an abort (134)"; }
clean() { [ "$rc" -eq 0 ] || fail "exit status $rc"; lacks "MEMORY_CHECK: \(double free\|overflow\|underflow\|invalid free\|write after free\)"; }

case $case in
service-exit-overflow)
	run
	aborts
	has "MEMORY_CHECK: overflow by 1 bytes at offset 40"
	has "service exit of block 0x"
	has "(requested 40 bytes"
	has "owner service :0a000001"
	;;
process-exit-underflow)
	run
	aborts
	grep -q "leaving main" "$out" || fail "main did not return"
	has "MEMORY_CHECK: underflow by 2 bytes before the block"
	has "process exit of block 0x"
	has "(requested 100 bytes"
	has "owner service :0a000001"
	;;
thread-exit-overflow)
	run
	aborts
	grep -q "thread joined" "$out" && fail "the thread's exit did not report"
	has "MEMORY_CHECK: overflow by 6 bytes at offset 69"
	has "thread exit of block 0x"
	has "owner service :0a000002"
	;;
check-all)
	run
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	has "MEMORY_CHECK: overflow by 4 bytes at offset 27"
	has "MEMORY_CHECK: underflow by 1 bytes before the block"
	has "check of block 0x"
	;;
main-write-after-free)
	run
	aborts
	has "MEMORY_CHECK: write after free at offset 7 (1 bytes)"
	has "(requested 48 bytes"
	has "owner service :0a000001, freed by service :0a000001"
	;;
redzone-overflow)
	run SKYNET_MEM_REDZONE=32
	aborts
	has "MEMORY_CHECK: overflow by 24 bytes at offset 63"
	# the default red zone is 16 bytes: the byte lies past it
	run
	[ "$rc" -eq 1 ] || fail "default red zone: exit status $rc, expected 1 (not found)"
	grep -q "overflow 24 bytes past the end not found" "$err" || fail "default red zone"
	;;
site-after-overflow)
	run
	aborts
	has "MEMORY_CHECK: overflow by at least 16 bytes at offset 40"
	line=$(sed -n 's/^site line //p' "$out")
	lacks "0x4343434343434343"
	has "allocated at: .*check_cases.c:$line"
	;;
wild-pointers)
	run
	[ "$rc" -eq 0 ] || fail "exit status $rc (a crash is 139)"
	has "MEMORY_CHECK: invalid free"
	grep -q "wild ok" "$out" || fail "not every pointer reported"
	;;
race-free-transfer|race-double-free|race-free-realloc)
	run
	[ "$rc" -eq 0 ] || fail "exit status $rc (124: hung)"
	grep -q "race ok" "$out" || fail "race"
	;;
exit-null-lists-leaks)
	run
	clean
	has "service :0a000001 exits owning 1 blocks"
	has "(requested 77 bytes"
	;;
double-free-after-reuse)
	run
	[ "$rc" -eq 77 ] && { echo "SKIP: reuse not reached"; exit 0; }
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	has "MEMORY_CHECK: double free"
	;;
*)
	fail "unknown case"
	;;
esac
echo PASS
