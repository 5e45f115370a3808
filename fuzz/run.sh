#!/usr/bin/env bash
# Runs the fuzzers. "full" (make fuzz): each libFuzzer target for FUZZ_TIME
# seconds over a working corpus kept in $OUTPUT/fuzz/work/ (seeded from the
# committed fuzz/corpus/, which it never writes), then the BPF packet fuzzer
# with FUZZ_PKTS packets. "smoke" (make test, via tests/cli/test_fuzz_smoke.sh):
# SMOKE_TIME seconds per target and SMOKE_PKTS packets, in a temporary corpus.
# Prints executions and crashes per target and ends with "N passed, N failed";
# crash inputs are kept under $OUTPUT/fuzz/crashes/.
set -u
MODE=${1:-smoke}
OUTPUT=${OUTPUT:-.output}
cd "$(dirname "$0")/.."
F=$OUTPUT/fuzz
if [ "$MODE" = full ]; then
	TIME=${FUZZ_TIME:-120}
	PKTS=${FUZZ_PKTS:-1000000}
	WORK=$F/work
else
	TIME=${SMOKE_TIME:-3}
	PKTS=${SMOKE_PKTS:-50000}
	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$F/crashes"
pass=0
fail=0
total=0

for bin in "$F"/*_fuzz; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" _fuzz)
	mkdir -p "$WORK/$name"
	log=$F/$name.log
	dict=()
	[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
	"$bin" -max_total_time="$TIME" -timeout=10 -print_final_stats=1 -error_exitcode=77 \
		"${dict[@]}" -artifact_prefix="$F/crashes/$name-" "$WORK/$name" "fuzz/corpus/$name" \
		>"$log" 2>&1
	rc=$?
	execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
	execs=${execs:-0}
	total=$((total + execs))
	if [ "$rc" = 0 ]; then
		echo "fuzz $name: $execs executions in ${TIME}s, 0 crashes"
		pass=$((pass + 1))
	else
		echo "fuzz $name: $execs executions, 1 crash (exit $rc); log $log:"
		grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "fuzz: $total libFuzzer executions in total"

pkt=$F/bpf_pktfuzz
if [ -x "$pkt" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "fuzz bpf_pktfuzz: SKIP (needs root for netns, bpffs and BPF_PROG_TEST_RUN)"
	elif "$pkt" -n "$PKTS" ${FUZZ_SEED:+-s "$FUZZ_SEED"} -r fuzz/corpus/pkt -w "$F/crashes"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
