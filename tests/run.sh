#!/usr/bin/env bash
# Runs every test binary and script, adds up their "N passed, N failed" lines and
# ends with the total on a line of its own. T=PATTERN filters test names.
set -u
OUTPUT=${OUTPUT:-.output}
total_pass=0
total_fail=0
failed_suites=()

run_one() {
	local name=$1
	shift
	local log
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^[A-Za-z0-9_. -]*:? ?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $rc): counted as 1 failure"
		total_fail=$((total_fail + 1))
		failed_suites+=("$name")
		return
	fi
	local p f
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "$name: exit $rc with no failed test: counted as 1 failure"
		total_fail=$((total_fail + 1))
	fi
	if [ "$rc" != 0 ] || [ "$f" != 0 ]; then
		failed_suites+=("$name")
	fi
}

for bin in "$OUTPUT"/tests/test_*; do
	[ -x "$bin" ] || continue
	run_one "$(basename "$bin")" "$bin"
done
for script in tests/e2e/test_*.sh tests/cli/test_*.sh; do
	[ -x "$script" ] || continue
	run_one "$(basename "$script" .sh)" "$script"
done

echo
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "failing suites: ${failed_suites[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
