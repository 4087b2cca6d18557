#!/bin/sh
# bench/skynet/run.sh [BUILD_DIR]: skynet built twice from the same source,
# with its own malloc hook (over Debian's jemalloc, through jemalloc.h here)
# and with skynet-mem (integrations/skynet/apply.sh over BUILD_DIR's
# libskynet-mem-hook), then the same workloads on each, interleaved, ROUNDS
# times; prints every run and the median ratio skynet-mem / skynet.
#   pingpong: PAIRS client/server service pairs, CALLS skynet.call each (calls/s)
#   lua:      one Lua allocation-heavy service, LUA_ROUNDS rounds (rounds/s)
# The source: SKYNET_SRC (a checkout) or SKYNET_FIXTURE (a tarball).
# Wall-clock figures: noisy on a loaded machine; the CPU column is the process's.
# Then instructions per operation under valgrind (cachegrind, IR=0 skips it):
# the difference between a short and a long run of each workload, so skynet's
# start-up cancels out; the steadiest figure on a shared machine.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$REPO/test/skynet/skynet_config.sh"
BUILD=$(cd "${1:-$REPO/build/release}" && pwd)
WORK=${SKYNET_BENCH_WORK:-$BUILD/bench-skynet}
ROUNDS=${ROUNDS:-5}
PAIRS=${PAIRS:-4}
CALLS=${CALLS:-20000}
LUA_ROUNDS=${LUA_ROUNDS:-300}
THREADS=${THREADS:-2}

fixture=${SKYNET_FIXTURE:-$REPO/../shared/fixtures/skynet-f19d160.tar.gz}
[ -f "$fixture" ] || fixture=/work/shared/fixtures/skynet-f19d160.tar.gz
unpack() {   # unpack DIR: a fresh skynet tree in DIR/skynet, once
	[ -f "$1/skynet/skynet-src/skynet_server.c" ] && return 0
	mkdir -p "$1"
	if [ -n "${SKYNET_SRC:-}" ]; then
		mkdir -p "$1/skynet"
		(cd "$SKYNET_SRC" && tar cf - --exclude=.git --exclude=.skynet-mem .) | (cd "$1/skynet" && tar xf -)
	elif [ -f "$fixture" ]; then
		tar xzf "$fixture" -C "$1"
	else
		echo "bench/skynet: no skynet source: set SKYNET_SRC=<checkout> or SKYNET_FIXTURE=<tarball>" >&2
		exit 1
	fi
}

echo "building skynet twice in $WORK (make -j2) ..."
unpack "$WORK/own"
make -C "$WORK/own/skynet" linux -j2 MALLOC_STATICLIB= JEMALLOC_INC="$HERE" LDFLAGS=-ljemalloc \
	>"$WORK/own/make.log" 2>&1 || { tail -n 20 "$WORK/own/make.log"; exit 1; }
unpack "$WORK/mem"
SKYNET_MEM_BUILD=$BUILD "$REPO/integrations/skynet/apply.sh" "$WORK/mem/skynet" >/dev/null
make -C "$WORK/mem/skynet" linux -j2 >"$WORK/mem/make.log" 2>&1 || { tail -n 20 "$WORK/mem/make.log"; exit 1; }

run_one() {   # run_one VARIANT ARGS...: prints "ops wall cpu"
	sk=$WORK/$1/skynet
	shift
	# skynet_bench reads its arguments from the start service's name line.
	skynet_config "$sk" "$THREADS" "$WORK/bench.log" "skynet_bench $*" "$HERE/service/?.lua" >"$WORK/config"
	out=$(cd "$WORK" && timeout 300 "$sk/skynet" "$WORK/config" 2>&1 | sed -n 's/^bench: [a-z]* //p')
	[ -n "$out" ] || { echo "bench/skynet: $sk gave no result" >&2; tail -n 20 "$WORK/bench.log" >&2; exit 1; }
	echo "$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for w in pingpong lua; do
	if [ $w = pingpong ]; then args="pingpong $PAIRS $CALLS"; else args="lua $LUA_ROUNDS"; fi
	: >"$WORK/$w.ratios"
	: >"$WORK/$w.cpu"
	echo "== $w ($args), $ROUNDS rounds, interleaved; ops/s by wall clock, CPU s per run"
	i=1
	while [ $i -le $ROUNDS ]; do
		# Alternate who goes first, so drift in the machine's load cancels out.
		if [ $((i % 2)) = 1 ]; then order="own mem"; else order="mem own"; fi
		for v in $order; do
			set -- $(run_one $v $args)
			eval "rate_$v=\$(awk -v n=$1 -v t=$2 'BEGIN { printf \"%.0f\", n / t }')"
			eval "cpu_$v=$3"
		done
		ratio=$(awk -v a="$rate_mem" -v b="$rate_own" 'BEGIN { printf "%.3f", a / b }')
		cpur=$(awk -v a="$cpu_mem" -v b="$cpu_own" 'BEGIN { printf "%.3f", a / b }')
		echo "$ratio" >>"$WORK/$w.ratios"
		echo "$cpur" >>"$WORK/$w.cpu"
		printf '  round %d: skynet %s/s (cpu %.2fs)  skynet-mem %s/s (cpu %.2fs)  ratio %s (cpu %s)\n' \
			$i "$rate_own" "$cpu_own" "$rate_mem" "$cpu_mem" "$ratio" "$cpur"
		i=$((i + 1))
	done
	echo "  $w: median throughput ratio skynet-mem/skynet = $(median <"$WORK/$w.ratios") (target >= 0.97), median CPU ratio = $(median <"$WORK/$w.cpu")"
done

[ "${IR:-1}" = 1 ] || exit 0
command -v valgrind >/dev/null || { echo "bench/skynet: valgrind missing (scripts/install-deps.sh bench), no instruction counts"; exit 0; }
ir_of() {   # ir_of VARIANT ARGS...: instructions of one whole run
	sk=$WORK/$1/skynet
	shift
	sed -e "s|^root = .*|root = \"$sk/\"|" -e "s|^start = .*|start = \"skynet_bench $*\"|" "$WORK/config" >"$WORK/config.ir"
	(cd "$WORK" && valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
		"$sk/skynet" "$WORK/config.ir" 2>&1) | sed -n 's/.*I *refs: *//p' | tr -d ,
}
per_op() {   # per_op VARIANT SHORT_ARGS LONG_ARGS OPS: instructions per op of the difference
	a=$(ir_of $1 $2)
	b=$(ir_of $1 $3)
	awk -v a="$a" -v b="$b" -v n="$4" 'BEGIN { printf "%.0f", (b - a) / n }'
}
echo "== instructions per operation (valgrind; long run minus short run)"
for w in pingpong lua; do
	if [ $w = pingpong ]; then short="pingpong 1 2000"; long="pingpong 1 6000"; n=4000; unit=call
	else short="lua 10"; long="lua 50"; n=40; unit=round; fi
	own=$(per_op own "$short" "$long" $n)
	mem=$(per_op mem "$short" "$long" $n)
	printf '  %s: skynet %s, skynet-mem %s instructions per %s: ratio %s (target <= %s)\n' $w "$own" "$mem" $unit \
		"$(awk -v a="$mem" -v b="$own" 'BEGIN { printf "%.3f", a / b }')" "$(awk 'BEGIN { printf "%.3f", 1 / 0.97 }')"
done
