#!/usr/bin/env bash
# Runs every benchmark, one after the other, and writes ONE results file:
#   dp      the data plane, ns/packet against a floor (BPF_PROG_TEST_RUN)
#   maglev  Maglev table build, M = 65537, 100 and 1,000 backends
#   xlbd    the control plane against the Marathon stand-in: event-to-map
#           latency, full syncs of 1,000 and 10,000 apps (time, RSS, map memory)
#   e2e     end to end in the netns lab: plain router, xlb XDP, xlb TC,
#           HAProxy and nftables DNAT side by side (wrk against nginx)
#   eastwest  in the cluster lab: a host process of an agent to nginx on other
#           agents through a VIP with socket balancing, with per-packet NAT, and
#           directly to one backend (wrk against nginx)
#   northsouth  in the cluster lab with an outside client: HAProxy, xlb full-NAT
#           and xlb DSR on a public agent in front of nginx on private agents
# Each prints its own table as it goes; at the end bench/report.py prints every
# table again with each ratio beside its target, from $OUTPUT/bench/results.json
# (one JSON document: machine, settings, and every result line). BENCHMARKS.md is
# regenerated from that file with `bench/report.py update FILE BENCHMARKS.md` (or
# one section of it: `bench/report.py update FILE BENCHMARKS.md eastwest`).
# QUICK=1: a short run (about 3 minutes on 2 CPUs with the east-west part): fewer iterations, 1,000 apps
# only, 1 s wrk runs (still 3 trials each). BENCHES="dp e2e" runs a subset.
# A benchmark that fails is said so and the others still run; the exit status is
# then 1. Missed targets are printed, not failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export OUTPUT=${OUTPUT:-.output}
BENCHES=${BENCHES:-dp maglev xlbd e2e eastwest northsouth}
results=$OUTPUT/bench/results.json
lines=$OUTPUT/bench/results.lines
mkdir -p "$OUTPUT/bench"
: >"$lines"
failed=()
start=$(date +%s)

quick=()
[ -n "${QUICK:-}" ] && quick=(--quick)

# run NAME CMD...: a benchmark binary whose JSON lines are tagged with "bench":NAME.
run() {
	local name=$1 log rc
	shift
	echo "=== $name: $*"
	log=$(mktemp)
	"$@" | tee "$log"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || failed+=("$name (exit $rc)")
	grep '^{' "$log" | sed "s/^{/{\"bench\":\"$name\",/" >>"$lines"
	rm -f "$log"
	echo
}

# script NAME SCRIPT JSON: a benchmark script that writes its own tagged JSON lines.
script() {
	local name=$1 rc
	echo "=== $name: $2"
	"$2"
	rc=$?
	[ "$rc" = 0 ] || failed+=("$name (exit $rc)")
	[ -f "$3" ] && cat "$3" >>"$lines"
	echo
}

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo
timings=()
for b in $BENCHES; do
	t=$(date +%s)
	case $b in
	dp) run dp "$OUTPUT/bench/dp" "${quick[@]}" ;;
	maglev) run maglev "$OUTPUT/bench/maglev" "${quick[@]}" ;;
	xlbd) script xlbd bench/xlbd/run.sh "$OUTPUT/bench/xlbd.json" ;;
	e2e) script e2e bench/e2e/run.sh "$OUTPUT/bench/e2e.json" ;;
	eastwest) script eastwest bench/eastwest/run.sh "$OUTPUT/bench/eastwest.json" ;;
	northsouth) script northsouth bench/northsouth/run.sh "$OUTPUT/bench/northsouth.json" ;;
	*) echo "unknown benchmark $b" >&2 && failed+=("$b (unknown)") ;;
	esac
	timings+=("seconds_$b=$(($(date +%s) - t))")
done

command="make bench${QUICK:+ QUICK=1}"
[ "$BENCHES" = "dp maglev xlbd e2e eastwest northsouth" ] || command="$command BENCHES=\"$BENCHES\""
python3 bench/report.py assemble "$lines" "$results" "command=$command" \
	"quick=${QUICK:+1}" "wall_s=$(($(date +%s) - start))" "${timings[@]}" &&
	rm -f "$lines"
echo "=== report (bench/report.py show $results)"
echo
python3 bench/report.py show "$results"
echo "JSON results: $results ($(($(date +%s) - start)) s: ${timings[*]//seconds_/})"
if [ ${#failed[@]} -gt 0 ]; then
	echo "benchmarks that failed: ${failed[*]}" >&2
	exit 1
fi
