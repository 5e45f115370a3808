#!/usr/bin/env bash
# Runs every benchmark: the data plane (ns/packet against a floor, via
# BPF_PROG_TEST_RUN) and the Maglev table build. Prints each one's table and
# collects their JSON lines into $OUTPUT/bench/results.json. QUICK=1 runs
# fewer iterations (still the median of 5 trials).
set -euo pipefail
OUTPUT=${OUTPUT:-.output}
results=$OUTPUT/bench/results.json
mkdir -p "$OUTPUT/bench"
: >"$results"

quick=()
[ -n "${QUICK:-}" ] && quick=(--quick)

run() {
	local name=$1
	shift
	echo "=== $name: $*"
	local log
	log=$(mktemp)
	"$@" | tee "$log"
	grep '^{' "$log" | sed "s/^{/{\"bench\":\"$name\",/" >>"$results" || true
	rm -f "$log"
	echo
}

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo
run dp "$OUTPUT/bench/dp" "${quick[@]}"
run maglev "$OUTPUT/bench/maglev" "${quick[@]}"
echo "JSON results: $results"
