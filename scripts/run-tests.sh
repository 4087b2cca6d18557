#!/bin/sh
# Runs ctest in each build folder given, then prints one total line.
set -u
passed=0
failed=0
for dir in "$@"; do
	echo "=== ctest: $dir"
	log=$(mktemp)
	(cd "$dir" && ctest --output-on-failure -j2) 2>&1 | tee "$log"
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
