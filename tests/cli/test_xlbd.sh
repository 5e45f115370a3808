#!/usr/bin/env bash
# xlbd end to end against marathon-sim, without attaching to any interface:
# the command line and --check; VIPs and backends reaching the pinned maps; a
# health flip, a kill and a leader's lost health results reaching them within
# bounded times; Marathon answering 502, closing, or going silent while the
# maps stay as they were; kill -9 and restart adopting the maps without a
# single write (dumps identical, ids and table maps included); a second xlbd
# on another pin path building the same Maglev tables; the safety guard
# holding back an empty app list; secrets kept out of the log; /metrics; and
# attach/detach on a dummy interface in a private network namespace. Runs as
# root; HTTP on 127.0.0.1 only; VIPs in 198.18.0.0/15; private pin paths;
# everything it starts or creates is removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
XLBD=$OUTPUT/xlbd
SIM=$OUTPUT/marathon-sim
DUMP=$OUTPUT/xlbdump
CFG=tests/fixtures/xlbd/test.json
SCENARIO=tests/fixtures/sim/minitwit.json
PIN=/sys/fs/bpf/xlb-xlbd-test-$$
PIN2=/sys/fs/bpf/xlb-xlbd-test2-$$
PIN3=/sys/fs/bpf/xlb-xlbd-test3-$$
NETNS=xlbd-test-$$
TOKEN=$(cut -d= -f2 tests/fixtures/xlbd/marathon.auth)
BEARER=$(cat tests/fixtures/xlbd/metrics.token)

SUITE=xlbd
. tests/cli/lib.sh
t_tmpdir
track_pin "$PIN" "$PIN2" "$PIN3"
track_netns "$NETNS"

require_root_bins "$XLBD" "$SIM" "$DUMP"
need_cmd curl jq
CURL=(curl -s --noproxy '*' --max-time 5)

# ---- command line and --check ----

"$XLBD" --help | grep -q -- '--detach-and-unpin'
check "--help lists every option" [ "${PIPESTATUS[1]}" = 0 ]
check "--version names xlbd" bash -c "'$XLBD' --version | grep -q '^xlbd '"
"$XLBD" --print-default-config >"$TMP/default.json"
check "the built-in configuration is etc/xlbd.json" cmp -s "$TMP/default.json" etc/xlbd.json
"$XLBD" --check >"$TMP/check.out" 2>&1
check "--check of the built-in configuration exits 0" [ $? = 0 ]
"$XLBD" --check -c etc/xlbd.json >/dev/null 2>&1
check "--check etc/xlbd.json exits 0" [ $? = 0 ]
sed "s|/etc/xlbd/|$TMP/|g" docs/xlbd.example.json >"$TMP/example.json"
echo "token=abc" >"$TMP/marathon.auth"
echo "t" >"$TMP/metrics.token"
: >"$TMP/dcos-ca.crt"
"$XLBD" --check -c "$TMP/example.json" >/dev/null 2>&1
check "--check docs/xlbd.example.json (its files present) exits 0" [ $? = 0 ]
"$XLBD" --check -c docs/xlbd.example.json >"$TMP/ex.err" 2>&1
check "--check names files that cannot be read, exits 2" \
	bash -c "[ $? = 2 ] && grep -q 'marathon.auth_file: cannot read /etc/xlbd/marathon.auth' '$TMP/ex.err'"
"$XLBD" --check -c "$CFG" >/dev/null 2>&1
check "--check the test configuration exits 0" [ $? = 0 ]
"$XLBD" --check -c tests/fixtures/xlbd/bad.json >"$TMP/bad.out" 2>&1
rc=$?
bad_ok() {
	local p
	[ "$rc" = 2 ] || return 1
	grep -q 'bad.json: 10 errors' "$TMP/bad.out" || return 1
	for p in '$.pin_path' '$.interfaces[0]' '$.metrics.listen' '$.marathon.urls[0]' \
		'$.marathon.safety.max_remove_fraction' '$.vips[0].backends[0].weight' \
		'$.vips[1]: VIP 198.18.0.10:80/tcp listed twice' '$.vips[2].polcy' '$.vips[2].vip' \
		'$.marathon.debounce_max_ms'; do
		grep -qF "config error: $p" "$TMP/bad.out" || { echo "# missing: $p"; return 1; }
	done
}
check "--check of a bad file lists all 10 errors with their paths, exits 2" bad_ok
"$XLBD" --check -c /nonexistent.json >/dev/null 2>&1
check "--check of a missing file exits 2" [ $? = 2 ]
"$XLBD" --iface eth0:bogus --check >/dev/null 2>&1
check "--iface with a bad mode exits 2" [ $? = 2 ]
"$XLBD" --marathon ftp://x --check >/dev/null 2>&1
check "--marathon with a bad URL exits 2" [ $? = 2 ]
"$XLBD" --metrics nowhere --check >/dev/null 2>&1
check "--metrics with a bad address exits 2" [ $? = 2 ]
"$XLBD" --bogus >/dev/null 2>&1
check "an unknown option exits 2" [ $? = 2 ]

# ---- the simulator ----

"$SIM" --listen 127.0.0.1:0 --scenario "$SCENARIO" --heartbeat-ms 300 \
	>"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
track_pid $SIM_PID
sim_port() { SPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/sim.out"); [ -n "$SPORT" ]; }
if ! wait_for 5 sim_port; then
	nok "marathon-sim starts" "$(cat "$TMP/sim.err")"
	finish
fi
SIMURL=http://127.0.0.1:$SPORT
sim() { "${CURL[@]}" -X POST "$SIMURL/sim/$1"; }
# task_of INDEX: "host:port" of the app's task at INDEX (oldest first).
task_of() {
	"${CURL[@]}" "$SIMURL/v2/apps/minitwit" | jq -r ".app.tasks[$1] | \"\(.host):\(.ports[0])\""
}

# ---- xlbd ----

# start_xlbd NAME PIN ARGS...: starts xlbd, sets XPID, waits for its metrics port (MPORT).
start_xlbd() {
	local name=$1 pin=$2
	shift 2
	"$XLBD" -c "$CFG" -p "$pin" -m "$SIMURL" "$@" >"$TMP/$name.log" 2>&1 &
	XPID=$!
	track_pid $XPID
	mport() { MPORT=$(sed -n 's/.*metrics: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/$name.log"); [ -n "$MPORT" ]; }
	wait_for 10 mport
}
# dump [OPTIONS [PIN]]: xlbdump of PIN (default the first xlbd's); OPTIONS word-split.
dump() { "$DUMP" -p "${2:-$PIN}" ${1:-} 2>/dev/null; }
minitwit_vip() { dump | sed -n 's/^vip \(198\.19\.[0-9.]*:80\/tcp\) .*minitwit.*/\1/p'; }
# backends_are STATE1 STATE2...: the minitwit VIP's backends have exactly these states (sorted).
minitwit_states() {
	dump | awk '/^vip 198\.19\./ {on = 1; next} /^vip / {on = 0} on && /backend/ {print $4}' |
		sort | tr '\n' ' '
}
backend_state() { dump | awk -v ep="$1" '$1 == "backend" && $2 == ep {print $4}' | head -1; }
log_has() { grep -q -- "$2" "$TMP/$1.log"; }
metrics() { "${CURL[@]}" -H "Authorization: Bearer $BEARER" "http://127.0.0.1:$MPORT/metrics"; }
metric() { metrics | awk -v m="$1" '$1 == m {print $2}'; }
# idle: neither the maps nor xlbd's log change over 0.3 s.
idle() {
	local a b
	a="$(metric xlbd_map_changes_total) $(wc -l <"$TMP/x1.log")"
	sleep 0.3
	b="$(metric xlbd_map_changes_total) $(wc -l <"$TMP/x1.log")"
	[ "$a" = "$b" ]
}

if ! start_xlbd x1 "$PIN"; then
	nok "xlbd starts and serves /metrics" "$(tail -5 "$TMP/x1.log")"
	finish
fi
X1=$XPID
ok "xlbd starts and serves /metrics"
three_active() { [ "$(minitwit_states)" = "active active active " ]; }
check "Marathon's named VIP reaches the maps with 3 active backends" wait_for 5 three_active
VIP=$(minitwit_vip)
check "the named VIP comes from 198.19.0.0/16" grep -q '^198\.19\.' <<<"$VIP"
check "its meta names the DNS name and the app" \
	bash -c "'$DUMP' -p '$PIN' | grep -q '^vip $VIP .*name \"minitwit.marathon.l4lb.thisdcos.directory\" app \"/minitwit\"'"
check "static VIP with its weights is in the maps" \
	bash -c "'$DUMP' -p '$PIN' | grep -A2 '^vip 198.18.0.10:80/tcp flags 0 .*name \"static-web\" app \"static\"' |
	grep -q 'backend 198.18.1.2:8080 state active weight 2'"
check "static VIP without backends, policy drop" \
	bash -c "'$DUMP' -p '$PIN' | grep -A1 '^vip 198.18.0.11:53/udp flags 1 ' | grep -q 'table none'"
check "the event stream is connected" wait_for 5 log_has x1 "event stream connected to http://127.0.0.1:$SPORT/v2/events"

# ---- health flip, kill ----

T0=$(task_of 0)
t=$(now_ms)
sim "health?app=/minitwit&index=0&alive=false" >/dev/null
drained() { [ "$(backend_state "$T0")" = draining ]; }
if wait_for 2 drained; then
	ok "health flip to failed drains $T0 within 2 s ($(($(now_ms) - t)) ms)"
else
	nok "health flip to failed drains $T0 within 2 s"
fi
t=$(now_ms)
sim "health?app=/minitwit&index=0&alive=true" >/dev/null
active() { [ "$(backend_state "$T0")" = active ]; }
if wait_for 2 active; then
	ok "health flip back makes $T0 active within 2 s ($(($(now_ms) - t)) ms)"
else
	nok "health flip back makes $T0 active within 2 s"
fi
T1=$(task_of 1)
sim "kill?app=/minitwit&index=1" >/dev/null
t1_draining() { [ "$(backend_state "$T1")" = draining ]; }
check "a killed task (TASK_KILLING) drains within 2 s" wait_for 2 t1_draining
t1_gone() { [ -z "$(backend_state "$T1")" ]; }
check "the killed task leaves the maps when it is gone" wait_for 5 t1_gone
check "its replacement becomes active: 3 active backends again" wait_for 8 three_active
check "an event re-reads only its app (small cluster: targeted fetch)" \
	log_has x1 "marathon: update (1 app re-read): 1 apps"
latency_seen() { metrics | grep -q '^xlbd_event_to_map_latency_seconds_count [1-9]'; }
check "/metrics has event-to-map latencies" latency_seen

# ---- /metrics ----

metrics >"$TMP/metrics.txt"
mcheck() { grep -q "$1" "$TMP/metrics.txt"; }
check "/metrics: xlbd_build_info" mcheck '^xlbd_build_info{version="[^"]*"} 1$'
check "/metrics: Marathon connected" mcheck '^xlbd_marathon_connected{url="http://127.0.0.1:[0-9]*/v2/events"} 1$'
check "/metrics: last sync timestamp" mcheck '^xlbd_marathon_last_sync_timestamp_seconds [1-9]'
check "/metrics: per-VIP packets with vip, name, app labels" \
	mcheck "^xlb_vip_packets_total{vip=\"$VIP\",name=\"minitwit.marathon.l4lb.thisdcos.directory\",app=\"/minitwit\",direction=\"in\"} 0$"
check "/metrics: per-VIP drops by reason" mcheck '^xlb_vip_drops_total{vip="198.18.0.10:80/tcp",.*reason="no_backend"} 0$'
check "/metrics: per-backend counters with the backend label" \
	mcheck '^xlb_backend_new_flows_total{vip="198.18.0.10:80/tcp",name="static-web",app="static",backend="198.18.1.1:8080"} 0$'
check "/metrics: each VIP's mode" mcheck "^xlb_vip_info{vip=\"$VIP\",.*,mode=\"nat\"} 1$"
check "/metrics: backends by state" mcheck "^xlb_vip_backends{vip=\"$VIP\",.*state=\"active\"} 3$"
check "/metrics: every global counter" bash -c "[ \$(grep -c '^xlb_datapath_' '$TMP/metrics.txt') -ge 30 ]"
check "/metrics: reason counters carry their verdict" mcheck '^xlb_datapath_reason_packets_total{reason="pass_not_vip",verdict="pass"} '
check "/metrics: latency histogram buckets" mcheck '^xlbd_event_to_map_latency_seconds_bucket{le="0.05"} '
fam_ok() {
	# each family's samples are contiguous, one TYPE line each (the text format's rule)
	awk '/^# TYPE/ {if (seen[$3]++) bad = 1; fam = $3; next}
	     /^#/ {next}
	     {n = $1; sub(/[{ ].*/, "", n); sub(/_(bucket|sum|count)$/, "", n);
	      if (n != fam && n != fam "_total") bad = 1}
	     END {exit bad}' "$TMP/metrics.txt"
}
check "/metrics: families are contiguous, one TYPE each" fam_ok
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics")
check "/metrics without the bearer token: 401" [ "$code" = 401 ]
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' \
	"http://127.0.0.1:$MPORT/metrics")
check "/metrics with a wrong token: 401" [ "$code" = 401 ]

# ---- leader failover: health results vanish, the cache holds them ----

sim "drop-health?ms=3000" >/dev/null
no_health() {
	"${CURL[@]}" "$SIMURL/v2/apps?embed=apps.tasks" |
		jq -e '[.apps[].tasks[] | select(has("healthCheckResults"))] == []' >/dev/null
}
wait_until 3 "the simulator drops every health result" no_health
kill -HUP "$X1"
cache_used() { metrics | grep -q '^xlbd_health_cache_used [1-9]'; }
check "results gone after a failover: health comes from the cache" wait_for 3 cache_used
check "and no backend was drained" three_active

# ---- Marathon down: 502, closed, silent ----

wait_until 10 "xlbd is idle before Marathon goes down" idle
dump "--raw" >"$TMP/before-down.txt"
sim "down?mode=502" >/dev/null
kill -HUP "$X1"
check "Marathon answering 502: one clear log line" \
	wait_for 3 log_has x1 "sync failed: GET $SIMURL/v2/apps?embed=apps.tasks: HTTP 502"
errors_counted() { metrics | grep -q '^xlbd_marathon_sync_errors_total [1-9]'; }
check "sync errors are counted" errors_counted
sim up >/dev/null
sim "down?mode=close" >/dev/null
check "Marathon closing: stream lost, reconnecting with backoff" \
	wait_for 3 log_has x1 "event stream lost: closed by"
sleep 1 # the outage lasts a second more: the maps must not move meanwhile
dump "--raw" >"$TMP/after-down.txt"
check "while Marathon is down the maps stay exactly as they were" \
	cmp -s "$TMP/before-down.txt" "$TMP/after-down.txt"
sim up >/dev/null 2>&1 || curl -s --noproxy '*' -X POST "$SIMURL/sim/up" >/dev/null
kill -USR1 "$SIM_PID" 2>/dev/null # the simulator's own way back up after close
reconnected() { [ "$(grep -c 'event stream connected' "$TMP/x1.log")" -ge 2 ]; }
check "back up: the stream reconnects" wait_for 5 reconnected
check "Marathon back: sync works again" wait_for 5 log_has x1 "sync works again after"
sim "silence?on=true" >/dev/null
check "a stream silent for stream_timeout_ms is dropped" wait_for 5 log_has x1 "silent for 1500 ms"
sim "silence?on=false" >/dev/null
check "maps still hold the VIPs" three_active

# ---- a new app and its removal ----

"${CURL[@]}" -X POST -H 'Content-Type: application/json' "$SIMURL/sim/add-app" -d '{"id": "/extra",
	"instances": 2, "portDefinitions": [{"port": 0, "protocol": "udp",
	"labels": {"VIP_0": "198.18.0.50:53"}}]}' >/dev/null
extra_up() {
	[ "$(dump | awk '/^vip 198\.18\.0\.50:53\/udp/ {on = 1; next} /^vip / {on = 0}
		on && /state active/' | wc -l)" = 2 ]
}
check "a new app's IP VIP appears with its 2 tasks active" wait_for 5 extra_up
sim "remove-app?app=/extra&grace_ms=0" >/dev/null
extra_gone() { ! dump | grep -q '^vip 198\.18\.0\.50:53/udp'; }
check "a removed app's VIP goes" wait_for 5 extra_gone
check "Marathon's other VIP is untouched" three_active

# ---- secrets ----

check "the DC/OS token never reaches the log" bash -c "! grep -q '$TOKEN' '$TMP/x1.log'"
check "the metrics token never reaches the log" bash -c "! grep -q '$BEARER' '$TMP/x1.log'"
check "the log says which auth file is used" log_has x1 "authenticating with the DC/OS token from"

# ---- kill -9 and restart: adopt, change nothing ----

stable() { three_active && [ "$(grep -c 'event stream connected' "$TMP/x1.log")" -ge 2 ] && idle; }
wait_until 15 "xlbd is connected and idle before the kill -9" stable
dump "--raw --slots" >"$TMP/before.txt"
kill -9 "$X1"
wait "$X1" 2>/dev/null
if start_xlbd x2 "$PIN"; then
	X2=$XPID
	check "restart adopts the pinned VIPs" wait_for 5 log_has x2 "adopted 3 VIPs and 5 backends from $PIN"
	check "restart: \"reconciled: 0 changes\" for Marathon's state" \
		wait_for 5 log_has x2 "reconciled: 0 changes (marathon"
	check "restart: the static reconcile before it wrote nothing either" \
		log_has x2 "reconciled: 0 changes (static config; 1 other VIPs kept until Marathon answers"
	dump "--raw --slots" >"$TMP/after.txt"
	check "restart: maps byte-identical (ids, generations, table maps, every slot)" \
		cmp -s "$TMP/before.txt" "$TMP/after.txt"
else
	nok "xlbd restarts" "$(tail -5 "$TMP/x2.log")"
	X2=
fi

# ---- two nodes, one state ----

"$XLBD" -c "$CFG" -p "$PIN2" -m "$SIMURL" --once >"$TMP/x3.log" 2>&1
check "a second xlbd (--once) on another pin path exits 0" [ $? = 0 ]
# The kernel empties a program array with no user-space reference left: pinned, the
# tail calls (ICMP, DSR) still have their programs after xlbd has gone.
jumps() { bpftool -j map dump pinned "$PIN2/$1" 2>/dev/null | jq length; }
check "after --once, the tail calls' program arrays are pinned and filled (XDP 3, TC 5)" \
	eval '[ "$(jumps xlb_jmp_xdp)" = 3 ] && [ "$(jumps xlb_jmp_tc)" = 5 ]'
dump "--slots" >"$TMP/node1.txt"
dump "--slots" "$PIN2" >"$TMP/node2.txt"
check "two xlbds given the same state build identical Maglev tables (every slot)" \
	cmp -s "$TMP/node1.txt" "$TMP/node2.txt"
check "the compared tables are not empty" grep -q "slot 0 198.18.2" "$TMP/node1.txt"

# ---- a standby Marathon behind a URL that refuses ----

"$SIM" --listen 127.0.0.1:0 --standby-of "$SIMURL" >"$TMP/standby.out" 2>"$TMP/standby.err" &
track_pid $!
standby_port() {
	SBPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/standby.out")
	[ -n "$SBPORT" ]
}
if wait_for 5 standby_port; then
	"$XLBD" -c "$CFG" -p "$PIN2" -m "http://127.0.0.1:1,http://127.0.0.1:$SBPORT" \
		--metrics none >"$TMP/x6.log" 2>&1 &
	X6=$!
	track_pid $X6
	check "a URL that refuses: one line, then the next URL" \
		wait_for 5 log_has x6 "sync failed: GET http://127.0.0.1:1/v2/apps.* with the next URL"
	check "the standby's 302 takes the event stream to the leader" \
		wait_for 5 log_has x6 "event stream connected to $SIMURL/v2/events"
	check "snapshots follow the standby's redirect: the second node has nothing to change" \
		wait_for 5 log_has x6 "reconciled: 0 changes (marathon"
	kill "$X6"
	wait "$X6" 2>/dev/null
else
	nok "a standby marathon-sim starts" "$(cat "$TMP/standby.err")"
fi

# ---- the safety guard ----

if [ -n "$X2" ]; then
	sim "remove-app?app=/minitwit&grace_ms=0" >/dev/null
	check "an empty app list is held back: loud SAFETY warning" \
		wait_for 3 log_has x2 "SAFETY: Marathon's answer no services at all"
	check "while held, the VIP stays" bash -c "'$DUMP' -p '$PIN' | grep -q '^vip $VIP'"
	vip_gone() { ! dump | grep -q "^vip $VIP"; }
	check "confirmed by 3 consecutive syncs, the VIP goes" wait_for 5 vip_gone
	check "the log says it was confirmed" log_has x2 "confirmed by 3 consecutive syncs: applying"
	check "static VIPs are untouched" bash -c "'$DUMP' -p '$PIN' | grep -q '^vip 198.18.0.10:80/tcp'"
	kill -TERM "$X2"
	wait "$X2"
	check "SIGTERM: exit 0" [ $? = 0 ]
	check "SIGTERM: says programs stay attached, maps stay pinned" log_has x2 "programs stay attached"
	check "after exit the maps are still pinned" [ -e "$PIN/xlb_vips" ]
fi

# ---- attach and detach on a veth in a private netns ----

# nsenter, not "ip netns exec": that remounts /sys, and with it bpffs, in a new mount namespace.
if command -v nsenter >/dev/null 2>&1 && ip netns add "$NETNS" 2>/dev/null &&
	ip -n "$NETNS" link add xlbd0 type veth peer name xlbd1 2>/dev/null &&
	ip -n "$NETNS" link set xlbd0 up && ip -n "$NETNS" link set xlbd1 up; then
	nsenter --net="/run/netns/$NETNS" "$XLBD" -c "$CFG" -p "$PIN3" --no-marathon -i xlbd0 -e xlbd0 \
		--once >"$TMP/x4.log" 2>&1
	check "--iface: xlbd attaches in a namespace and exits 0 (--once)" [ $? = 0 ]
	check "ingress attached (native XDP, or a logged fallback)" \
		log_has x4 "xlbd0: .*attached with"
	check "egress attached with TC" log_has x4 "xlbd0: attached TC egress"
	check "the program stays attached after exit" \
		bash -c "ip -n '$NETNS' link show xlbd0 | grep -q 'xdp'"
	nsenter --net="/run/netns/$NETNS" "$XLBD" -c "$CFG" -p "$PIN3" --no-marathon -i xlbd0 -e xlbd0 \
		--detach-and-unpin >"$TMP/x5.log" 2>&1
	check "--detach-and-unpin exits 0" [ $? = 0 ]
	check "--detach-and-unpin removes the XDP program" \
		bash -c "! ip -n '$NETNS' link show xlbd0 | grep -q 'xdp'"
	check "--detach-and-unpin removes the TC filters" \
		bash -c "[ -z \"\$(ip netns exec '$NETNS' tc filter show dev xlbd0 egress)\" ]"
	check "--detach-and-unpin removes the pins" [ ! -e "$PIN3" ]
else
	skip env "cannot create a network namespace with a veth pair (needs root, iproute2 and nsenter)"
fi

"$XLBD" --detach-and-unpin --no-marathon -p "$PIN" >/dev/null 2>&1
check "--detach-and-unpin without interfaces removes the pin path" [ ! -e "$PIN" ]
finish
