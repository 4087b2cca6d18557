#!/bin/sh
# Runs ctest in each build folder given, then prints one total line.
# Usage: run-tests.sh DIR... [--exclude REGEX DIR...]
#   --exclude REGEX: the folders after it skip the tests whose names match.
set -u
passed=0
failed=0
exclude=
while [ $# -gt 0 ]; do
	if [ "$1" = --exclude ]; then
		exclude=$2
		shift 2
		continue
	fi
	dir=$1
	shift
	echo "=== ctest: $dir${exclude:+ (all but $exclude)}"
	log=$(mktemp)
	(cd "$dir" && ctest --output-on-failure -j2 ${exclude:+-E "$exclude"}) 2>&1 | tee "$log"
	total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log")
	bad=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log")
	if [ -z "$total" ]; then
		echo "no ctest summary for $dir"
		failed=$((failed + 1))
	else
		passed=$((passed + total - bad))
		failed=$((failed + bad))
	fi
	rm -f "$log"
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
