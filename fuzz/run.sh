#!/usr/bin/env bash
# Runs the fuzzers. "full" (make fuzz): each libFuzzer target for FUZZ_TIME
# seconds over a working corpus kept in $OUTPUT/fuzz/work/ (seeded from the
# committed fuzz/corpus/, which it never writes), then the BPF packet fuzzer
# with FUZZ_PKTS packets. "smoke" (make test, via tests/cli/test_fuzz_smoke.sh):
# SMOKE_TIME seconds per target and SMOKE_PKTS packets, in a temporary corpus.
# Prints executions and crashes per target (one check each, tests/lib/test.sh)
# and ends with "fuzz_MODE: N passed, N failed, N skipped"; crash inputs are
# kept under $OUTPUT/fuzz/crashes/.
set -u
MODE=${1:-smoke}
OUTPUT=${OUTPUT:-.output}
cd "$(dirname "$0")/.." || exit 1
SUITE=fuzz_$MODE
. tests/lib/test.sh
F=$OUTPUT/fuzz
if [ "$MODE" = full ]; then
	TIME=${FUZZ_TIME:-120}
	PKTS=${FUZZ_PKTS:-1000000}
	WORK=$F/work
else
	TIME=${SMOKE_TIME:-3}
	PKTS=${SMOKE_PKTS:-50000}
	WORK=$(mktemp -d)
	track_file "$WORK"
fi
mkdir -p "$F/crashes"
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
		ok "fuzz $name: $execs executions in ${TIME}s, 0 crashes"
	else
		nok "fuzz $name: $execs executions, 1 crash (exit $rc); log $log"
		grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
	fi
done
echo "fuzz: $total libFuzzer executions in total"

pkt=$F/bpf_pktfuzz
if [ -x "$pkt" ]; then
	if [ "$(id -u)" != 0 ]; then
		skip env "fuzz bpf_pktfuzz: needs root (netns, bpffs and BPF_PROG_TEST_RUN)"
	elif "$pkt" -n "$PKTS" ${FUZZ_SEED:+-s "$FUZZ_SEED"} -r fuzz/corpus/pkt -w "$F/crashes"; then
		ok "fuzz bpf_pktfuzz: $PKTS packets, no violation"
	else
		nok "fuzz bpf_pktfuzz: $PKTS packets" "see above"
	fi
fi
finish
