#!/bin/bash
# The demo's live table: under a pseudo-terminal (tmux) it redraws in place,
# one table on the screen and nothing scrolling away; with output to a file
# it prints plain lines without terminal codes.
# Usage: demo_screen.sh DEMO_SERVER
set -u
DEMO=$1
DEADLINE=40   # seconds for the whole test

command -v tmux >/dev/null || { echo "FAIL: tmux not installed (scripts/install-deps.sh test installs it)"; exit 1; }
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
cleanup() {
	tmux -S "$sock" kill-server 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
end=$((SECONDS + DEADLINE))
fail() { echo "FAIL: $*"; [ -f "$tmp/screen" ] && { echo "--- screen"; cat "$tmp/screen"; }; exit 1; }
export DEMO_HTTP_PORT=0 DEMO_CONSOLE_PORT=0 DEMO_THREADS=2

# plain: no escape sequences, a line of totals a second
DEMO_SECONDS=3 "$DEMO" >"$tmp/plain" 2>&1 || fail "demo failed: $(tail -5 "$tmp/plain")"
grep -q $'\033' "$tmp/plain" && fail "terminal codes in plain output"
grep -q '^t=2s services ' "$tmp/plain" || fail "no plain totals line: $(head -20 "$tmp/plain")"
grep -q '^demo: page     http://127.0.0.1:[0-9]*/' "$tmp/plain" || fail "no page URL printed"

# terminal: 100 columns, 30 rows
tmux -S "$sock" new-session -d -x 100 -y 30 "DEMO_SECONDS=9 $DEMO; sleep 30" || fail "tmux did not start"
screen() { tmux -S "$sock" capture-pane -p >"$tmp/screen"; }
history() { tmux -S "$sock" display -p '#{history_size}'; }
# wait for a frame at t >= 3 s, note the scrollback, wait for t >= 6 s
wait_frame() {
	while :; do
		[ $SECONDS -lt $end ] || fail "no frame with t>=$1 s"
		screen
		t=$(sed -n 's/^skynet-mem top   t=\([0-9]*\)s.*/\1/p' "$tmp/screen")
		[ -n "$t" ] && [ "$t" -ge "$1" ] && return
		sleep 0.2
	done
}
wait_frame 3
h1=$(history)
wait_frame 7
h2=$(history)
[ "$h1" = "$h2" ] || fail "the screen scrolled ($h1 -> $h2 lines of scrollback): a log, not a redrawn table"
n=$(grep -c '^handle  *name  *C  *Lua  *C+Lua  *blocks  *peak  *limit  *growth' "$tmp/screen")
[ "$n" = 1 ] || fail "$n table headers on the screen, want 1"
grep -c '^skynet-mem top ' "$tmp/screen" | grep -qx 1 || fail "not one title line"
grep -q 'page http://127.0.0.1:[0-9]*/' "$tmp/screen" || fail "no page URL in the title"
grep -q '^services [0-9]*   C .* KiB in [0-9]* blocks' "$tmp/screen" || fail "no totals header"
grep -q '^t=[0-9]*s services' "$tmp/screen" && fail "plain lines on the terminal"
rows=$(grep -c '^:[0-9a-f]\{8\} ' "$tmp/screen")
[ "$rows" -ge 5 ] || fail "only $rows service rows"
# rows sorted by C+Lua, largest first (column 5 of each service row)
grep '^:[0-9a-f]\{8\} ' "$tmp/screen" | awk '{ print $(NF-4) }' >"$tmp/col"
sort -rn "$tmp/col" | cmp -s - "$tmp/col" || fail "rows not sorted by C+Lua: $(tr '\n' ' ' <"$tmp/col")"
echo "PASS: one table redrawn in place ($rows rows, scrollback steady at $h2 lines)"
