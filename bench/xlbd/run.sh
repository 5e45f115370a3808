#!/usr/bin/env bash
# xlbd benchmarks against marathon-sim (not tests: they print figures, they do
# not judge them):
#  1. event-to-map latency over FLIPS health flips (default 1000), with the
#     small minitwit scenario and with MID_APPS apps x 10 tasks (each event
#     costs a full refetch, so the cluster size is part of the latency);
#  2. for each size in APPS (default "1000 10000") x TASKS (10): a full sync
#     into empty maps with xlbd --once: time per phase, wall time, peak RSS
#     and the kernel memory of the maps (bpftool's memlock, Maglev tables
#     included: map_memory.py); then the same state again on the same maps (a
#     restart: nothing to write); after the last size, a steady-state resync
#     of a running xlbd (SIGHUP).
# Root, bpffs, loopback only, private pin paths; everything is removed on
# exit. QUICK=1: 200 flips, 1,000 apps. Results as JSON lines in
# $OUTPUT/bench/xlbd.json.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
XLBD=$OUTPUT/xlbd
SIM=$OUTPUT/marathon-sim
BENCH=$OUTPUT/bench/xlbd
FLIPS=${FLIPS:-1000}
APPS=${APPS:-1000 10000}
TASKS=${TASKS:-10}
MID_APPS=${MID_APPS:-1000}
if [ -n "${QUICK:-}" ]; then
	FLIPS=200
	APPS=1000
	MID_APPS=200
fi
PIN=/sys/fs/bpf/xlb-xlbd-bench-$$
TMP=$(mktemp -d)
RESULTS=$OUTPUT/bench/xlbd.json
PIDS=()
mkdir -p "$OUTPUT/bench"
: >"$RESULTS"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	"$XLBD" --detach-and-unpin --no-marathon -p "$PIN" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/xlbd.json" <<EOF
{
  "metrics": { "listen": "127.0.0.1:0" },
  "marathon": { "named_vip_range": "198.18.0.0/16", "request_timeout_ms": 60000,
                "resync_interval_s": 0 },
  "maps": { "max_vips": 16384, "max_backends": 131072 }
}
EOF

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_sim SCENARIO: starts marathon-sim and sets SIMURL (loading 100,000 tasks takes a while).
start_sim() {
	local port i
	"$SIM" --listen 127.0.0.1:0 --scenario "$1" --heartbeat-ms 10000 >"$TMP/sim.out" \
		2>"$TMP/sim.err" &
	SIM_PID=$!
	PIDS+=($SIM_PID)
	for i in $(seq 6000); do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/sim.out")
		[ -n "$port" ] && break
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] || { echo "marathon-sim did not start: $(tail -3 "$TMP/sim.err")"; exit 1; }
	SIMURL=http://127.0.0.1:$port
}

stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# flips NAME SCENARIO APP: runs the flip benchmark against a running xlbd.
flips() {
	local name=$1 scen=$2 app=$3 xpid t
	start_sim "$scen"
	"$XLBD" -c "$TMP/xlbd.json" -p "$PIN" -m "$SIMURL" >"$TMP/$name.log" 2>&1 &
	xpid=$!
	PIDS+=($xpid)
	for t in $(seq 600); do
		grep -q 'event stream connected' "$TMP/$name.log" &&
			grep -q 'reconciled: .*marathon' "$TMP/$name.log" && break
		sleep 0.1
	done
	sleep 0.5
	echo "=== event-to-map: $name ($(grep -o 'sync: [^;]*' "$TMP/$name.log" | tail -1))"
	"$BENCH" --sim "$SIMURL" --pin "$PIN" --app "$app" --count "$FLIPS" | tee "$TMP/$name.out"
	grep '^{' "$TMP/$name.out" | sed "s/^{/{\"bench\":\"xlbd_flips_$name\",/" >>"$RESULTS"
	local mport
	mport=$(sed -n 's/.*metrics: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/$name.log")
	echo "xlbd's own histogram (event received -> map written):"
	curl -s --noproxy '*' "http://127.0.0.1:$mport/metrics" |
		grep '^xlbd_event_to_map_latency_seconds' | sed 's/^/  /'
	stop_pid "$xpid"
	stop_pid "$SIM_PID"
	"$XLBD" --detach-and-unpin --no-marathon -p "$PIN" >/dev/null 2>&1
	echo
}

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
	"kernel $(uname -r)"
echo

flips minitwit tests/fixtures/sim/minitwit.json /minitwit
python3 bench/xlbd/gen_scenario.py "$MID_APPS" 10 >"$TMP/mid.json"
flips "${MID_APPS}x10" "$TMP/mid.json" /bench/app0

# sync_round APPS ROUND: xlbd --once against the running marathon-sim, into empty maps or
# into the maps the previous round left (a restart: adopt, nothing to write).
sync_round() {
	local apps=$1 round=$2 log=$TMP/once-$2.log t rc wall rss fetch model apply startup mem
	t=$(now_ms)
	"$XLBD" -c "$TMP/xlbd.json" -p "$PIN" -m "$SIMURL" --once >"$log" 2>&1
	rc=$?
	wall=$(($(now_ms) - t))
	echo "xlbd --once into $round maps: exit $rc, wall $wall ms (BPF load included)"
	grep -E 'marathon: sync:|reconciled: .*marathon|adopted|peak RSS' "$log" |
		sed 's/^[^ ]* xlbd: /  /'
	rss=$(sed -n 's/.*peak RSS \([0-9]*\) MiB.*/\1/p' "$log")
	fetch=$(sed -n 's/.*fetch and parse \([0-9.]*\) ms.*/\1/p' "$log" | head -1)
	model=$(sed -n 's/.*, model \([0-9.]*\) ms.*/\1/p' "$log" | head -1)
	apply=$(sed -n 's/.*reconciled: .*(marathon.* in \([0-9.]*\) ms$/\1/p' "$log")
	# start-up: from "starting" to the first reconcile (BPF load, adopting pinned maps)
	startup=$(python3 -c '
import re, sys, datetime
ts = [datetime.datetime.strptime(l[:23], "%Y-%m-%dT%H:%M:%S.%f") for l in open(sys.argv[1])
      if re.search(r"starting:|reconciled: .*static config", l)]
print(int((ts[1] - ts[0]).total_seconds() * 1000) if len(ts) > 1 else 0)' "$log")
	echo "  phases: start-up (BPF load, adopt) $startup ms, fetch and parse ${fetch:-?} ms," \
		"model ${model:-?} ms, map writes ${apply:-?} ms"
	# the kernel's memory for every xlb map, Maglev tables (inner maps) included
	mem=$(python3 bench/xlbd/map_memory.py "$PIN" 2>"$TMP/mem.err")
	if [ -n "$mem" ]; then
		echo "$mem" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print("  kernel map memory (bpftool memlock): %.1f MiB, of which %d Maglev tables %.1f MiB" % (
    m["map_memlock_bytes"] / 2**20, m["maglev_tables"], m["maglev_tables_memlock_bytes"] / 2**20))'
		mem=${mem#\{}
		mem=,${mem%\}}
	else
		echo "  kernel map memory: bpftool failed: $(tail -1 "$TMP/mem.err")"
	fi
	echo "{\"bench\":\"xlbd_full_sync_$round\",\"apps\":$apps,\"tasks\":$TASKS," \
		"\"wall_ms\":$wall,\"startup_ms\":$startup,\"fetch_parse_ms\":${fetch:-0}," \
		"\"model_ms\":${model:-0},\"apply_ms\":${apply:-0},\"peak_rss_mib\":${rss:-0}" \
		"$mem}" >>"$RESULTS"
}

for apps in $APPS; do
	# each size starts from empty maps and its own marathon-sim
	if [ -n "${SIM_PID:-}" ]; then
		stop_pid "$SIM_PID"
		"$XLBD" --detach-and-unpin --no-marathon -p "$PIN" >/dev/null 2>&1
	fi
	echo "=== full sync: $apps apps x $TASKS tasks"
	python3 bench/xlbd/gen_scenario.py "$apps" "$TASKS" >"$TMP/big.json"
	t=$(now_ms)
	start_sim "$TMP/big.json"
	echo "marathon-sim loaded the scenario in $(($(now_ms) - t)) ms"
	bytes=$(curl -s --noproxy '*' -o /dev/null -w '%{size_download}' \
		"$SIMURL/v2/apps?embed=apps.tasks")
	echo "GET /v2/apps?embed=apps.tasks: $((bytes / 1048576)) MiB"
	sync_round "$apps" empty
	sync_round "$apps" adopt
done
"$XLBD" -c "$TMP/xlbd.json" -p "$PIN" -m "$SIMURL" >"$TMP/steady.log" 2>&1 &
xpid=$!
PIDS+=($xpid)
for t in $(seq 600); do
	[ "$(grep -c 'reconciled: .*marathon' "$TMP/steady.log")" -ge 1 ] &&
		grep -q 'event stream connected' "$TMP/steady.log" && break
	sleep 0.1
done
sleep 2
kill -HUP "$xpid"
for t in $(seq 600); do
	[ "$(grep -c 'marathon: sync:' "$TMP/steady.log")" -ge 3 ] && break
	sleep 0.1
done
echo "steady-state resync of a running xlbd (SIGHUP, nothing changed):"
grep -E 'marathon: sync:|reconciled:' "$TMP/steady.log" | tail -2 | sed 's/^[^ ]* xlbd: /  /'
stop_pid "$xpid"
grep 'peak RSS' "$TMP/steady.log" | sed 's/^[^ ]* xlbd: /  /'
echo
echo "JSON results: $RESULTS"
