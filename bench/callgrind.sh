#!/bin/sh
# Instructions per operation under callgrind (exact, unaffected by the load of
# the machine): the layer's malloc+free pair beside bare jemalloc's, the Lua
# allocator beside a bare jemalloc lua_Alloc, and a dispatch with 1 / 10,000 /
# 2 colliding / 2 apart services per worker. Each figure is
# (Ir(2N) - Ir(N)) / N over the collected function only, so start-up and
# one-time paths cancel out; "own" counts the instructions executed in
# libskynet-mem itself (its PLT stubs included), "jemalloc" those in libjemalloc.
# Usage: bench/callgrind.sh [build dir (build/release)]
set -eu
build=${1:-build/release}
pair=$build/bench/bench_pair
services=$build/bench/bench_services
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# $1: function to collect, rest: the command.
# Prints "total jemalloc own units".
count() {
	fn=$1
	shift
	units=$(valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$tmp/out" "$@" 2>/dev/null)
	awk -v units="$units" '
		/^c?ob=/ {
			id = $1; sub(/^c?ob=/, "", id)
			if (NF > 1) name[id] = $2
			if ($0 ~ /^ob=/) cur = id
			next
		}
		/^calls=/ { skip = 1; next }
		/^[0-9+*-]/ {
			if (skip) { skip = 0; next }
			self[cur] += $2
		}
		END {
			for (id in self) {
				total += self[id]
				if (name[id] ~ /libjemalloc/) je += self[id]
				if (name[id] ~ /libskynet-mem/) own += self[id]
			}
			print total + 0, je + 0, own + 0, units
		}' "$tmp/out"
}

# $1: function, $2: N, $3...: command; extra arguments after N in $extra.
# Sets per-unit figures: u_total, u_je, u_own.
per_unit() {
	fn=$1
	n=$2
	shift 2
	a=$(count "$fn" "$@" "$n" $extra)
	b=$(count "$fn" "$@" $((n * 2)) $extra)
	set -- $a $b
	u_total=$(awk -v a="$1" -v b="$5" -v ua="$4" -v ub="$8" 'BEGIN { printf "%.1f", (b - a) / (ub - ua) }')
	u_je=$(awk -v a="$2" -v b="$6" -v ua="$4" -v ub="$8" 'BEGIN { printf "%.1f", (b - a) / (ub - ua) }')
	u_own=$(awk -v a="$3" -v b="$7" -v ua="$4" -v ub="$8" 'BEGIN { printf "%.1f", (b - a) / (ub - ua) }')
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}
minus() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'
}

echo "instructions per operation (callgrind, $build)"
printf '\n%-28s %8s %8s %8s %8s %8s\n' "malloc+free pair" "bare" "layer" "+total" "own" "+jemalloc"
for size in mixed 64 4096 16384 65536; do
	if [ "$size" = mixed ]; then extra=""; label="16..1024 B"; else extra=$size; label="$size B"; fi
	per_unit run_pairs 100000 "$pair" bare
	bare=$u_total
	bare_je=$u_je
	per_unit run_pairs 100000 "$pair" layer
	printf '%-28s %8s %8s %8s %8s %8s\n' "$label" "$bare" "$u_total" "$(minus "$u_total" "$bare")" \
		"$u_own" "$(minus "$u_je" "$bare_je")"
done
echo "(+total: layer - bare; own: in libskynet-mem, target <= 60; +jemalloc: extra work inside jemalloc)"

extra=""
per_unit run_lua 100000 "$pair" lua-bare
lb=$u_total
per_unit run_lua 100000 "$pair" lua-libc
lc=$u_total
per_unit run_lua 100000 "$pair" lua-layer
printf '\nlua_Alloc call: bare mallocx/rallocx/sdallocx %s, bare malloc/realloc/free %s, skynet_mem_lua_alloc %s (own %s)\n' \
	"$lb" "$lc" "$u_total" "$u_own"
printf '  ratio to the mallocx one %sx, to the malloc one %sx (target <= 1.02x)\n' \
	"$(ratio "$u_total" "$lb")" "$(ratio "$u_total" "$lc")"
printf '\ndispatch (set_current, 3 mallocs, 3 frees, 1 transfer), 2 workers, per dispatch:\n'
for c in bare one many colliding apart; do
	per_unit worker_loop 50000 "$services" --one "$c"
	eval "d_$c=$u_total"
	printf '  %-10s %8s (own %s)\n' "$c" "$u_total" "$u_own"
done
printf '  many / one %sx (target <= 1.15x), colliding / apart %sx (target <= 1.10x)\n' \
	"$(ratio "$d_many" "$d_one")" "$(ratio "$d_colliding" "$d_apart")"
