#!/bin/sh
# Every path the layout tables of docs/design.md name exists. The tables are
# those under "## Layout"; a path is a backticked name in a row's first
# column, relative to the folder a "###" heading names in backticks (the root
# when it names none). "a.c/.h" names a.c and a.h; "x/*" names x/.
# usage: layout_paths.sh <source root>
set -euf   # -f: a name such as check/* is not a glob here
root=$1
doc=$root/docs/design.md
[ -f "$doc" ] || { echo "FAIL: no $doc"; exit 1; }
sed -n '/^## Layout/,/^## /p' "$doc" >"${TMPDIR:-/tmp}/layout.$$"
trap 'rm -f "${TMPDIR:-/tmp}/layout.$$"' EXIT
base= checked=0 missing=0
while IFS= read -r line; do
	case $line in
	'### '*)
		base=$(printf '%s\n' "$line" | sed -n 's/.*(`\([^`]*\/\)`).*/\1/p')
		continue ;;
	'| path |'*|'| file |'*|'| --- |'*) continue ;;
	'| '*) ;;
	*) continue ;;
	esac
	cell=$(printf '%s\n' "$line" | cut -d'|' -f2)
	for tok in $(printf '%s\n' "$cell" | grep -o '`[^`]*`' | tr -d '`'); do
		case $tok in
		*/\*) set -- "${tok%\*}" ;;
		*.c/.h) set -- "${tok%/.h}" "${tok%.c/.h}.h" ;;
		*) set -- "$tok" ;;
		esac
		for p in "$@"; do
			checked=$((checked + 1))
			if [ ! -e "$root/$base$p" ]; then
				echo "docs/design.md names $base$p, which does not exist"
				missing=$((missing + 1))
			fi
		done
	done
done <"${TMPDIR:-/tmp}/layout.$$"
[ "$checked" -ge 40 ] || { echo "FAIL: only $checked paths read from the layout tables"; exit 1; }
[ "$missing" -eq 0 ] || { echo "FAIL: $missing of $checked paths missing"; exit 1; }
echo "PASS: $checked paths of docs/design.md's layout exist"
