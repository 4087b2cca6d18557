#!/bin/sh
# Runs a real program under the check build's interposer (LD_PRELOAD): it must
# exit as it does without it, and the checker must report nothing.
# Usage: run_real_program.sh HOOK_LIBRARY NAME [DEMO_SERVER]
set -u
hook=$1
name=$2
demo=${3:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
err=$dir/stderr
fail() { echo "FAIL: $name: $*"; tail -n 60 "$err"; exit 1; }

# check CMD...: bounded in time, preloaded, exit 0, no report
check() {
	LD_PRELOAD="$hook" timeout 120 "$@" >"$dir/stdout" 2>"$err"
	rc=$?
	[ "$rc" -eq 0 ] || fail "'$*' exit status $rc"
	! grep -q "MEMORY_CHECK: \(double free\|overflow\|underflow\|invalid free\|write after free\)" "$err" ||
		fail "'$*' reported"
}

. "$(dirname "$0")/../../real_workloads.sh"
cd "$dir" || exit 1
case $name in
perf)
	check perf --version
	check perf list sw
	;;
git)
	check git init -q repo
	for i in 1 2 3; do
		echo "line $i" >>repo/file
		check git -C repo add file
		check git -C repo -c user.name=t -c user.email=t@t commit -q -m "commit $i"
	done
	check git -C repo log --oneline
	check git -C repo gc -q
	check git -C repo fsck
	;;
gcc)
	printf '#include <stdio.h>\nint main(void) { printf("hi\\n"); return 0; }\n' >hi.c
	check gcc -O2 -g -o hi hi.c
	check ./hi
	;;
lua5.4)
	check lua5.4 -e 'local t = {} for i = 1, 100000 do t[i] = tostring(i) .. "x" end
		table.sort(t) print(#t, collectgarbage("count") > 0)'
	;;
demo)
	[ -n "$demo" ] || fail "no demo server given"
	DEMO_SECONDS=2 DEMO_CONSOLE_PORT=0 DEMO_HTTP_PORT=0 check "$demo"
	grep -q "services exited" "$dir/stdout" || fail "the demo did not shut down"
	# only the demo's leaker leaks (the host's own tables are nobody's)
	[ "$(grep -c 'exits owning' "$err")" -eq 1 ] || fail "leaks listed beyond the demo's leaker"
	;;
*)
	real_workload "$name" check || fail "unknown program"
	;;
esac
echo PASS
