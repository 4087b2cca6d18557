# Sourced by the bench scripts that count instructions under callgrind
# (insns.sh, guard.sh, profile.sh): one way to run a command under it and
# read its count, so the scripts' figures are taken alike.

# callgrind_ready [PROGRAM]: exits with what is missing unless valgrind is
# installed and PROGRAM (when given) is built.
callgrind_ready() {
	command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/install-deps.sh bench installs it)"; exit 1; }
	[ -z "${1:-}" ] || [ -x "$1" ] || { echo "no $1 (a jemalloc build with SKYNET_MEM_BENCH=ON)"; exit 1; }
}

# callgrind_insns FUNCTION COMMAND...: prints the instructions callgrind
# collects while COMMAND runs: inside FUNCTION and what it calls, or the whole
# run when FUNCTION is "". COMMAND's own output is dropped. Fails, saying why
# on stderr, when COMMAND exits other than 0 (a count cut short) or callgrind
# gave no count. Optional: CALLGRIND_OUT keeps callgrind's file there (for
# callgrind_annotate), CALLGRIND_TIMEOUT stops the run after that many
# seconds (callgrind still prints a count then: the exit status tells).
callgrind_insns() {
	cg_fn=$1
	shift
	cg_rc=0
	cg_log=$(${CALLGRIND_TIMEOUT:+timeout "$CALLGRIND_TIMEOUT"} valgrind --tool=callgrind ${cg_fn:+"--toggle-collect=$cg_fn"} \
		--callgrind-out-file="${CALLGRIND_OUT:-/dev/null}" "$@" 2>&1 >/dev/null) || cg_rc=$?
	[ "$cg_rc" -eq 0 ] || { echo "exit status $cg_rc under callgrind${CALLGRIND_TIMEOUT:+ (124: past its ${CALLGRIND_TIMEOUT} s)}: $*" >&2; return 1; }
	printf '%s\n' "$cg_log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -n 1 | grep . ||
		{ echo "callgrind gave no instruction count for: $*" >&2; return 1; }
}
