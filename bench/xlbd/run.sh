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
RESULTS=$OUTPUT/bench/xlbd.json
. tests/lib/test.sh # cleanup on exit (processes, the pin path, $TMP) and bounded polling
t_tmpdir
track_pin "$PIN"
mkdir -p "$OUTPUT/bench"
: >"$RESULTS"

cat >"$TMP/xlbd.json" <<EOF
{
  "metrics": { "listen": "127.0.0.1:0" },
  "marathon": { "named_vip_range": "198.18.0.0/16", "request_timeout_ms": 60000,
                "resync_interval_s": 0 },
  "maps": { "max_vips": 16384, "max_backends": 131072 }
}
EOF

# start_sim SCENARIO: starts marathon-sim and sets SIMURL (loading 100,000 tasks takes a while).
start_sim() {
	"$SIM" --listen 127.0.0.1:0 --scenario "$1" --heartbeat-ms 10000 >"$TMP/sim.out" \
		2>"$TMP/sim.err" &
	SIM_PID=$!
	track_pid $SIM_PID
	sim_port() {
		SPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/sim.out")
		[ -n "$SPORT" ] || ! kill -0 "$SIM_PID" 2>/dev/null
	}
	wait_for 600 sim_port && [ -n "$SPORT" ] ||
		{ echo "marathon-sim did not start: $(tail -3 "$TMP/sim.err")"; exit 1; }
	SIMURL=http://127.0.0.1:$SPORT
}

# flips NAME SCENARIO APP: runs the flip benchmark against a running xlbd.
flips() {
	local name=$1 scen=$2 app=$3 xpid
	start_sim "$scen"
	"$XLBD" -c "$TMP/xlbd.json" -p "$PIN" -m "$SIMURL" >"$TMP/$name.log" 2>&1 &
	xpid=$!
	track_pid $xpid
	synced() {
		grep -q 'event stream connected' "$TMP/$name.log" &&
			grep -q 'reconciled: .*marathon' "$TMP/$name.log"
	}
	wait_for 60 synced || { echo "xlbd did not sync: $(tail -3 "$TMP/$name.log")"; exit 1; }
	sleep 0.5 # the first sync's events settle before the flips are timed
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
	local t0 t1
	t0=$(grep -m1 'starting:' "$log" | cut -c1-23)
	t1=$(grep -m1 'reconciled: .*static config' "$log" | cut -c1-23)
	startup=0
	[ -n "$t0" ] && [ -n "$t1" ] &&
		startup=$(($(date -ud "$t1" +%s%3N) - $(date -ud "$t0" +%s%3N)))
	echo "  phases: start-up (BPF load, adopt) $startup ms, fetch and parse ${fetch:-?} ms," \
		"model ${model:-?} ms, map writes ${apply:-?} ms"
	# the kernel's memory for every xlb map, Maglev tables (inner maps) included
	mem=$(python3 bench/xlbd/map_memory.py "$PIN" 2>"$TMP/mem.err")
	if [ -n "$mem" ]; then
		jq -r '"  kernel map memory (bpftool memlock): \(.map_memlock_bytes / 1048576 * 10 |
			round / 10) MiB, of which \(.maglev_tables) Maglev tables \(
			.maglev_tables_memlock_bytes / 1048576 * 10 | round / 10) MiB"' <<<"$mem"
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
track_pid $xpid
steady_up() {
	[ "$(grep -c 'reconciled: .*marathon' "$TMP/steady.log")" -ge 1 ] &&
		grep -q 'event stream connected' "$TMP/steady.log"
}
wait_for 60 steady_up || { echo "xlbd did not sync: $(tail -3 "$TMP/steady.log")"; exit 1; }
sleep 2 # the stream's own resync passes before the timed one
kill -HUP "$xpid"
resynced() { [ "$(grep -c 'marathon: sync:' "$TMP/steady.log")" -ge 3 ]; }
wait_for 60 resynced || { echo "no resync after SIGHUP: $(tail -3 "$TMP/steady.log")"; exit 1; }
echo "steady-state resync of a running xlbd (SIGHUP, nothing changed):"
grep -E 'marathon: sync:|reconciled:' "$TMP/steady.log" | tail -2 | sed 's/^[^ ]* xlbd: /  /'
stop_pid "$xpid"
grep 'peak RSS' "$TMP/steady.log" | sed 's/^[^ ]* xlbd: /  /'
echo
echo "JSON results: $RESULTS"
