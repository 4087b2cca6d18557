#!/bin/sh
# SKYNET_MEM_REPORT under programs that close stderr before exit, to a file,
# and with a thread still running at exit.
# Usage: report.sh HOOK_LIBRARY EXIT_RUNNING_PROGRAM EXIT_CLOSER_PROGRAM
set -u
hook=$1
running=$2
closer=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'b\na\n' > "$dir/in"
# coreutils close stdout and stderr in an atexit handler (the builtin true
# of the shell would not be preloaded: the program is named by its path).
for cmd in "sort $dir/in" "cat $dir/in" "head -n1 $dir/in" "/usr/bin/true" "ls $dir"; do
	LD_PRELOAD="$hook" SKYNET_MEM_REPORT=1 $cmd >/dev/null 2>"$dir/err" || fail "$cmd failed"
	grep -q '^skynet-mem: totals .*consistent=1$' "$dir/err" || fail "no consistent report from $cmd: $(cat "$dir/err")"
done

# A file named by the variable: the report goes there, not to stderr.
LD_PRELOAD="$hook" SKYNET_MEM_REPORT="$dir/report.txt" sort "$dir/in" >/dev/null 2>"$dir/err" || fail "sort failed"
grep -q '^skynet-mem: totals .*consistent=1$' "$dir/report.txt" || fail "no report in the file"
[ ! -s "$dir/err" ] || fail "stderr not empty: $(cat "$dir/err")"
# Appended: a second process adds its line.
LD_PRELOAD="$hook" SKYNET_MEM_REPORT="$dir/report.txt" /usr/bin/true || fail "true failed"
[ "$(grep -c '^skynet-mem: totals' "$dir/report.txt")" = 2 ] || fail "the file was not appended to"

# The program closes every descriptor it inherited and reuses the numbers for
# a file of its own: the report goes to stderr, never into that file.
: > "$dir/victim"
LD_PRELOAD="$hook" SKYNET_MEM_REPORT=1 "$closer" "$dir/victim" 2>"$dir/err" || fail "exit_closer failed"
[ ! -s "$dir/victim" ] || fail "the report was written into the program's own file: $(cat "$dir/victim")"
grep -q '^skynet-mem: totals .*consistent=1$' "$dir/err" || fail "no report after the descriptors were reused: $(cat "$dir/err")"

# Another thread still running at exit: consistent=1, or says what it cannot know.
for i in 1 2 3 4 5; do
	LD_PRELOAD="$hook" SKYNET_MEM_REPORT=1 "$running" 2>"$dir/err" || fail "exit_running failed"
	line=$(grep '^skynet-mem: totals' "$dir/err") || fail "no report with a thread running"
	case "$line" in
	*consistent=1|*"consistent=unknown ("*) ;;
	*) fail "with a thread running: $line" ;;
	esac
done
echo "PASS: $line"
