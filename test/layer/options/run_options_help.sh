#!/bin/sh
# SKYNET_MEM_OPTIONS=help prints the options table (skynet-mem/src/options.c)
# on stderr when the library loads; every SKYNET_MEM_ variable any part of the
# project reads with getenv must be in it, the markdown form is a table, and
# README.md carries that table as printed.
# usage: run_options_help.sh <program linked with the layer, taking "noop"> <source root>
set -eu
prog=$1
root=$2
out=$(SKYNET_MEM_OPTIONS=help "$prog" noop 2>&1 >/dev/null)
names=$(grep -rhoE 'getenv\("SKYNET_MEM_[A-Z_]+"\)' "$root/skynet-mem/src" "$root/lualib-src" "$root/host" \
	| sed 's/getenv("\(.*\)")/\1/' | sort -u)
table=$(grep -oE '"SKYNET_MEM_[A-Z_]+"' "$root/skynet-mem/src/options.c" | tr -d '"' | sort -u)
[ -n "$table" ] || { echo "no names in options.c"; exit 1; }
for n in $names $table; do
	printf '%s\n' "$out" | grep -q "^  $n " || { echo "missing from SKYNET_MEM_OPTIONS=help: $n"; printf '%s\n' "$out"; exit 1; }
done
md=$(SKYNET_MEM_OPTIONS=markdown "$prog" noop 2>&1 >/dev/null)
printf '%s\n' "$md" | grep -q '^| Variable | Type | Default |' || { echo "no markdown table"; exit 1; }
[ "$(printf '%s\n' "$md" | grep -c '^| `SKYNET_MEM_')" -eq "$(printf '%s\n' "$table" | wc -l)" ] || { echo "markdown rows"; exit 1; }
# The README's options table is this table, row for row.
printf '%s\n' "$md" | grep '^| `SKYNET_MEM_' | while IFS= read -r row; do
	grep -qxF "$row" "$root/README.md" || { echo "README.md lacks the options row: $row"; exit 1; }
done
quiet=$("$prog" noop 2>&1 >/dev/null)
[ -z "$quiet" ] || { echo "prints without SKYNET_MEM_OPTIONS: $quiet"; exit 1; }
echo "options table: $(printf '%s\n' "$table" | wc -l) variables"
