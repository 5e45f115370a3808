#!/usr/bin/env bash
# Runs every test binary and script, adds up their "N passed, N failed, N skipped"
# lines, lists the suites that skipped something and why, and ends with the
# total alone on its last line. A skip of class env (the machine lacks what
# `make deps`, `make bpffs` or root provide) or with no class is counted as a
# failure: `make test` on a machine set up for it runs everything. Skips of
# the other classes (kernel, fixtures, slow, bug: tests/lib/test.sh) stay
# skips. ALLOW_ENV_SKIPS=1 keeps env skips as skips (a partial run without
# root). T=PATTERN filters test names.
set -u
OUTPUT=${OUTPUT:-.output}
total_pass=0
total_fail=0
total_skip=0
failed_suites=()
skip_lines=()

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
	local skips
	# "# SKIP(class): reason" (and the class-less "# SKIP: reason" of older scripts)
	skips=$(grep -E '^(# )?SKIP(\([a-z-]+\))?: ' "$log" | sed -E 's/^(# )?SKIP: /SKIP(unclassified): /; s/^# //')
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $rc): counted as 1 failure"
		total_fail=$((total_fail + 1))
		failed_suites+=("$name")
		return
	fi
	local p f s n_lines=0 fixable=0 cls l
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
	s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+')
	s=${s:-0}
	while IFS= read -r l; do
		[ -n "$l" ] || continue
		n_lines=$((n_lines + 1))
		cls=${l#SKIP(}
		cls=${cls%%)*}
		case $cls in
		kernel | fixtures | slow | bug) ;;
		env) [ -n "${ALLOW_ENV_SKIPS:-}" ] || fixable=$((fixable + 1)) ;;
		*) fixable=$((fixable + 1)) ;;
		esac
		skip_lines+=("$name: $l")
	done <<<"$skips"
	# skips the summary counts but no line explains: unclassified
	if [ "$s" -gt "$n_lines" ]; then
		fixable=$((fixable + s - n_lines))
		skip_lines+=("$name: SKIP(unclassified): $((s - n_lines)) skipped without a reason")
	fi
	[ "$n_lines" -gt "$s" ] && s=$n_lines
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f + fixable))
	total_skip=$((total_skip + s - fixable))
	if [ "$fixable" != 0 ]; then
		echo "$name: $fixable skip(s) the machine should not need (class env or none): counted as failures"
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "$name: exit $rc with no failed test: counted as 1 failure"
		total_fail=$((total_fail + 1))
	fi
	if [ "$rc" != 0 ] || [ "$f" != 0 ] || [ "$fixable" != 0 ]; then
		failed_suites+=("$name")
	fi
}

for bin in "$OUTPUT"/tests/test_*; do
	[ -x "$bin" ] || continue
	run_one "$(basename "$bin")" "$bin"
done
for script in tests/layers/test_*.sh tests/e2e/test_*.sh tests/cli/test_*.sh; do
	[ -x "$script" ] || continue
	run_one "$(basename "$script" .sh)" "$script"
done

echo
if [ ${#skip_lines[@]} -gt 0 ]; then
	echo "skips (env and unclassified ones count as failures${ALLOW_ENV_SKIPS:+, env allowed here}):"
	printf '  %s\n' "${skip_lines[@]}"
fi
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "failing suites: ${failed_suites[*]}"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
