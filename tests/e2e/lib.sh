#!/usr/bin/env bash
# Shared by the end-to-end scenario scripts (tests/e2e/test_*.sh), sourced after
# `cd` to the repository root: the check/summary idiom, polling, and the pieces
# each scenario starts in the lab of tests/e2e/lab.sh: marathon-sim (with a
# control listener that stays up while "Marathon" is down), a recorder of its
# event stream (event times are the reference for latency checks), the agents
# (tests/e2e/tasks.py: a labnet server per task), xlbd on the load balancer host
# with a private pin path, and background load (labnet probe with --log).
# The checks, the summary, polling and cleanup are tests/lib/test.sh's: e2e_init
# registers every namespace, pin, file and process the script makes, removed by
# its trap on success, failure or Ctrl-C. Background processes are
# started as plain commands (nsenter and `ip netns exec` exec what they run), so
# that $! is the process itself: kill -9 of xlbd must hit xlbd.

OUTPUT=${OUTPUT:-.output}
E2E_LABNET=$(realpath -m "$OUTPUT/labnet")
E2E_XLBD=$(realpath -m "$OUTPUT/xlbd")
E2E_SIM=$(realpath -m "$OUTPUT/marathon-sim")
E2E_LBSTAT=$(realpath -m "$OUTPUT/lbstat")
E2E_DUMP=$(realpath -m "$OUTPUT/xlbdump")
XLBD=$E2E_XLBD # the pins the library removes on exit are detached with it
CURL=(curl -s --noproxy '*' --max-time 5)
T_POLL=0.05
T_TIMES=${E2E_TIMES:-} # E2E_TIMES=1: each check with its time since the start
T_START=$(date +%s)
. tests/lib/test.sh

# e2e_init NAME: temp dir, pin path, lab id; the cleanup trap; skips (with a
# summary line) where the machine cannot run the lab.
e2e_init() {
	SUITE=$1
	E2E_NAME=$1
	t_tmpdir
	PIN=/sys/fs/bpf/xlb-e2e-$1-$$
	track_pin "$PIN" "$PIN-2"
	LAB_ID=${LAB_ID:-e$$}
	LAB_PORT_BASE=31000 # backend N serves on 3100N, as Marathon host ports
	LAB_QUIET=1
	. tests/e2e/lab.sh
	at_exit lab_down
	need_bins "$E2E_LABNET" "$E2E_XLBD" "$E2E_SIM" "$E2E_LBSTAT" "$E2E_DUMP"
	need_root
	need_cmd ip nsenter ethtool curl jq python3
	# the interpreter itself, not a version manager's shim (a second per call)
	E2E_PY=$(command -v /usr/bin/python3 || command -v python3)
	track_netns "xlab-probe-$LAB_ID"
	ip netns add "xlab-probe-$LAB_ID" 2>/dev/null ||
		skip_suite env "cannot create network namespaces"
	ip netns del "xlab-probe-$LAB_ID"
}

# e2e_lab_up: the lab, and an XDP program on the client host's NIC. A physical
# NIC takes frames the load balancer sends back with XDP_TX (RST / ICMP
# unreachable); a veth only delivers them to a peer that has XDP.
e2e_lab_up() {
	if ! lab_up; then
		nok "the lab comes up"
		finish
	fi
	lab_in "$LAB_NS_C" "$E2E_LABNET" xdp-pass eth0 ||
		skip_suite kernel "native XDP on a veth is not available"
}

# ---- marathon-sim ----

# sim_start SCENARIO: the simulator on the load balancer host (127.0.0.1), with
# a control listener; sets SIMURL and CTLURL.
sim_start() {
	nsenter --net="/run/netns/$LAB_NS_LB" "$E2E_SIM" --listen 127.0.0.1:0 --control 127.0.0.1:0 \
		--scenario "$1" --heartbeat-ms 500 >"$TMP/sim.out" 2>"$TMP/sim.log" &
	track_pid $!
	SIM_PID=$!
	sim_ports() { grep -q '^control on ' "$TMP/sim.out"; }
	if ! wait_for 5 sim_ports; then
		nok "marathon-sim starts" "$(tail -3 "$TMP/sim.log")"
		finish
	fi
	SIMURL=http://$(sed -n 's/^listening on //p' "$TMP/sim.out")
	CTLURL=http://$(sed -n 's/^control on //p' "$TMP/sim.out")
}

# sim CMD [CURL ARGS]: POST /sim/CMD on the control listener.
sim() {
	local cmd=$1
	shift
	lab_net "$LAB_NS_LB" "${CURL[@]}" -X POST "$@" "$CTLURL/sim/$cmd"
}

sim_state() { lab_net "$LAB_NS_LB" "${CURL[@]}" "$CTLURL/sim/state"; }

# tasks APP: "ID HOST:PORT STATE HEALTHY" per task of APP, oldest first.
tasks() {
	sim_state | jq -r --arg app "$1" '.apps[] | select(.id == $app) | .tasks[] |
		"\(.id) \(.host):\(.ports[0]) \(.state) \(.healthy)"'
}

# events_start: records the event stream (Marathon's own clock on every event).
events_start() {
	nsenter --net="/run/netns/$LAB_NS_LB" curl -sN --noproxy '*' -H 'Accept: text/event-stream' \
		"$SIMURL/v2/events" >>"$TMP/events.txt" 2>/dev/null &
	track_pid $!
	EVENTS_PID=$!
	events_up() { grep -q event_stream_attached "$TMP/events.txt"; }
	wait_until 5 "the recorder of Marathon's event stream is attached" events_up
}

# event_ms JQ_FILTER: wall-clock ms of the last event matching the filter.
event_ms() {
	sed -n 's/^data: //p' "$TMP/events.txt" | jq -r "select($1) | .timestamp |
		(.[0:19] + \"Z\" | fromdateiso8601) * 1000 + (.[20:23] | tonumber)" | tail -n 1
}

# sim_scenario SRC: a copy of scenario SRC in $TMP whose tasks report their
# first health result 1.5 s after they run (the agents start a server when a
# task is staged: a real health check would wait for it; the sim does not).
sim_scenario() {
	jq '.sim.health_delay_ms = 1500' "$1" >"$TMP/scenario.json" && echo "$TMP/scenario.json"
}

# agents_ready N: N servers started, each answering on its host:port.
agents_ready() {
	local ep
	[ "$(grep -c ' start ' "$TMP/agents.log")" -ge "$1" ] || return 1
	for ep in $(awk '$2 == "start" {print $4}' "$TMP/agents.log"); do
		lab_net "$LAB_NS_LB" "$E2E_LABNET" probe -q -n 1 --timeout 300 "$ep" || return 1
	done
}

# agents_start: a labnet server for every task, for as long as it lives.
agents_start() {
	: >"$TMP/agents.log"
	nsenter --net="/run/netns/$LAB_NS_LB" "$E2E_PY" tests/e2e/tasks.py "$CTLURL" "$LAB_ID" "$E2E_LABNET" \
		"$TMP/agents.log" 2>>"$TMP/agents.err" &
	track_pid $!
}

# ---- xlbd ----

# xlbd_config VIPS_JSON: xlbd's configuration for the lab: XDP on every LB
# interface, TC egress on xlb0, Marathon at SIMURL (if set), short timers. No
# socket balancing: the lab's hosts are namespaces in one cgroup, and this lab
# proves the per-packet path (tests/cli/test_sock.sh proves the socket one).
xlbd_config() {
	local urls=
	[ -n "${SIMURL:-}" ] && urls="\"$SIMURL\""
	cat >"$TMP/xlbd.json" <<JSON
{ "pin_path": "$PIN", "log_level": "debug", "metrics": { "listen": null },
  "socket_lb": false,
  "interfaces": [ "lb-c", "lb-ct", "lb-b1", "lb-b2", "lb-b3" ],
  "egress_interfaces": [ "xlb0" ],
  "marathon": { "urls": [ $urls ], "named_vip_range": "198.19.0.0/16",
    "connect_timeout_ms": 500, "request_timeout_ms": 2000, "stream_timeout_ms": 3000,
    "backoff_min_ms": 100, "backoff_max_ms": 1000 },
  "maps": { "max_vips": 256, "max_backends": 4096, "ct_size": 65536 },
  "vips": ${1:-[]} }
JSON
}

# named_ready: xlbd has /minitwit's named VIP with 3 active backends; sets NAMED (its address).
named_ready() {
	NAMED=$(lbstat | jq -r '.vips[]? | select(.name == "minitwit.marathon.l4lb.thisdcos.directory"
		and .backends_active == 3) | .address')
	[ -n "$NAMED" ]
}

# minitwit_up: after sim_start, a server for each task and xlbd (log "xlbd") balancing
# /minitwit; sets VIP to its named address:80, or fails a check and finishes.
minitwit_up() {
	agents_start
	if ! wait_for 10 agents_ready 3; then
		nok "a labnet server runs for every task" "$(cat "$TMP/agents.err")"
		finish
	fi
	xlbd_config
	xlbd_start xlbd
	if ! wait_for 15 named_ready; then
		nok "xlbd programs /minitwit with 3 active tasks" "$(tail -5 "$TMP/xlbd.log")"
		finish
	fi
	VIP=$NAMED:80
}

# xlbd_start LOGNAME: xlbd in the load balancer host; sets XLBD_PID.
xlbd_start() {
	nsenter --net="/run/netns/$LAB_NS_LB" "$E2E_XLBD" -c "$TMP/xlbd.json" >"$TMP/$1.log" 2>&1 &
	XLBD_PID=$!
	track_pid $!
}

log_has() { grep -q -- "$2" "$TMP/$1.log"; }

# lbstat ARGS...: lbstat of the test's pins (JSON, totals; the conntrack count,
# which the checks do not read, cut short).
lbstat() { "$E2E_LBSTAT" --pin-path "$PIN" --no-rates -j --ct-budget 1 "$@" 2>/dev/null; }

# vip_field VIP FIELD: one number of a VIP ("198.18.0.10:80/tcp").
vip_field() { lbstat --vip "$1" | jq -r ".vips[0].$2 // empty"; }

# backends_of VIP: "ADDR:PORT STATE" per backend, sorted.
backends_of() {
	lbstat -b --vip "$1" | jq -r '.vips[0].backends[]? | "\(.backend) \(.state)"' | sort
}

# ---- load ----

# load_start NAME NS ADDR:PORT ARGS...: labnet probe in the background, logging
# to $TMP/NAME.log, its summary (JSON) in $TMP/NAME.out; sets LOAD_PID.
load_start() {
	local name=$1 ns=$2 ep=$3
	shift 3
	ip netns exec "$ns" "$E2E_LABNET" probe -j --log "$TMP/$name.log" "$@" "$ep" \
		>"$TMP/$name.out" 2>&1 &
	LOAD_PID=$!
	track_pid $!
}

# load_stop PID: ends a load early (it prints its summary) and waits for it.
load_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# long_up NAME N: the long-lived load NAME has N connections answered.
long_up() {
	local n
	n=$(grep -c ' up ' "$TMP/$1.log" 2>/dev/null)
	[ "${n:-0}" -ge "$2" ]
}

# load_served NAME N [EP]: the load NAME has N requests answered (by EP, if given).
load_served() {
	[ "$(awk -v ep="${3:-}" '$5 == "ok" && (ep == "" || $6 == ep) {n++} END {print n + 0}' \
		"$TMP/$1.log" 2>/dev/null)" -ge "$2" ]
}

# failures NAME: the failed requests in a load's log.
failures() { awk '$5 != "ok" && $5 != "up" && $5 != "alive"' "$TMP/$1.log"; }
