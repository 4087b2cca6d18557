#!/bin/sh
# A real program under the interposer with every service's blocks guarded
# 1 in 50 (SKYNET_MEM_GUARD=50): the same output and exit status as a bare
# run, no guard report, blocks were guarded, and the exit totals agree.
# usage: run_guarded.sh HOOK_LIBRARY NAME
set -u
hook=$1
name=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $name: $*"; tail -n 40 "$dir/err"; exit 1; }

# run CMD...: bare, then guarded; both bounded in time
run() {
	timeout 120 "$@" >"$dir/bare.out" 2>/dev/null
	bare=$?
	timeout 120 env SKYNET_MEM_GUARD=50 SKYNET_MEM_REPORT=1 LD_PRELOAD="$hook" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	[ "$rc" -eq "$bare" ] || fail "'$*' exit status $rc, bare $bare"
	cmp -s "$dir/out" "$dir/bare.out" || { diff "$dir/bare.out" "$dir/out" | head; fail "'$*' output differs"; }
	! grep -q "skynet-mem: guard:" "$dir/err" || fail "'$*' reported"
	# one report per process (git runs others)
	grep -q "consistent=1" "$dir/err" && ! grep -q "consistent=0" "$dir/err" || fail "'$*' totals"
	g=$(sed -n 's/.*skynet-mem: guard slots=[0-9]* guarded=\([0-9]*\).*/\1/p' "$dir/err" | sort -n | tail -n 1)
	[ "${g:-0}" -gt 0 ] || fail "'$*' guarded no block"
	echo "$name: $1 ...: $(grep 'skynet-mem: guard slots' "$dir/err" | tail -n 1)"
}

. "$(dirname "$0")/../../real_workloads.sh"
cd "$dir" || exit 1
export GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
case $name in
git)
	git init -q repo || fail "git init"
	for i in 1 2 3; do
		echo "line $i" >>repo/file
		git -C repo add file && git -C repo -c user.name=t -c user.email=t@t commit -q -m "commit $i" ||
			fail "commit"
	done
	run git -C repo log --stat
	run git -C repo fsck --no-progress
	run git -C repo diff HEAD~2 HEAD
	;;
*)
	real_workload "$name" run || fail "unknown program"
	;;
esac
echo PASS
