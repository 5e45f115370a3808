#!/usr/bin/env bash
# North-south in the cluster lab (issue 15): xlb where marathon-lb runs, on two
# public agents in front of private ones, with a client outside the cluster.
# The ToR routes the VIP ranges to the public agents (ECMP, per flow); the
# private agents' default route is the ToR, so a backend's answer to the
# outside client would never pass a public agent again: only full-NAT works
# there: full-NAT or DSR. The public agents run xlbd with XDP on eth0 and TC
# on the overlay's VTEP (where overlay tasks' answers arrive), fed by the same
# Marathon as the agents (tests/fixtures/sim/north-south.json: the cluster
# fixture, /web-bridge also in HAPROXY_GROUP external on service port 10100).
# First with datapath.mode fullnat, then with dsr, where the private agents
# run xlbd too (XDP on eth0 takes the tunnel off, TC egress on eth0 and TC on
# the overlay bridge answer from the VIP). In each mode:
#  - both public xlbds program the named VIPs (in the mode) and the service
#    port (fullnat, as every external service port is by default);
#  - from the outside client, each of /web-host, /web-bridge and /web-overlay
#    (host, bridge and overlay tasks) answers 3,000 connections spread within
#    ±10% over its 3 tasks; the tasks see a public agent's address (fullnat)
#    or the client's own (dsr);
#  - both public agents carried flows (the ToR's ECMP spreads them); in dsr
#    they encapsulated and sent not one reply packet, and the private agents
#    decapsulated and clamped the MSS;
#  - the external service port answers on both public agents' addresses;
#  - 1 MiB downloads and uploads through each of the three VIPs (MTU 1500
#    everywhere: DSR's uploads fit only by the MSS clamp);
#  - a rolling upgrade of /web-bridge under load from outside: zero failed requests.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
SUITE=north_south
t_tmpdir
CL_ID=${CL_ID:-s$$}
CL_AGENTS=5 # 1-3 private (the fixture's agents), 4 and 5 public
. tests/e2e/cluster.sh
cl_suite_init
FIXTURE=tests/fixtures/sim/north-south.json
PUBLIC=(4 5)
N=${NS_CONNS:-3000}
SP=10100 # /web-bridge's HAPROXY_0_PORT

if ! cl_up; then
	nok "the cluster lab comes up"
	finish
fi
if ! cl_outside_up "${PUBLIC[@]}"; then
	nok "the outside network and the ToR's routes to the public agents"
	finish
fi
ok "the cluster lab with an outside client and 2 public agents (VIPs routed to them, ECMP)"

cl_sim_start "$FIXTURE"
CTL=http://$CL_TOR_IP:8081
tor() { nsenter --net="/run/netns/$CL_NS_TOR" "$@"; }
sim() { tor curl -sf --noproxy '*' -m 5 -X POST "$CTL/sim/$1"; }
cl_tasks_start "$CTL" "$TMP/agents.log"
if ! wait_for 10 cl_tasks_started 9; then
	nok "the agents start the 9 tasks" "$(tail -5 "$TMP/agents.log" "$TMP/agents.log.err")"
	finish
fi

pin() { echo "/sys/fs/bpf/xlb-e2e-ns-$$-a$1"; }
# xlbd_start N MODE: agent N's xlbd in datapath.mode MODE. Public agents (4, 5)
# balance: XDP on eth0, the VTEP by TC. Private ones are DSR's agents: XDP on
# eth0 (the tunnel), TC on ovl0 (overlay tasks' answers) and TC egress on eth0
# (host and bridge tasks' answers, once the node's own NAT has undone Docker's).
xlbd_start() {
	local n=$1 mode=$2 ifs='"eth0", "vtep'$CL_VNI'"' egress=''
	if [ "$n" -le 3 ]; then
		ifs='"eth0", "ovl0"'
		egress='"eth0"'
	fi
	track_pin "$(pin "$n")"
	cat >"$TMP/xlbd-$n.json" <<JSON
{ "pin_path": "$(pin "$n")", "log_level": "debug", "metrics": { "listen": null },
  "socket_lb": false,
  "interfaces": [ $ifs ], "egress_interfaces": [ $egress ],
  "datapath": { "mode": "$mode" },
  "marathon": { "urls": [ "http://$CL_MARATHON" ], "named_vip_range": "198.19.0.0/16",
    "haproxy_group": "external", "node_address": "$(cl_ip "$n")",
    "connect_timeout_ms": 500, "request_timeout_ms": 2000, "stream_timeout_ms": 3000,
    "backoff_min_ms": 100, "backoff_max_ms": 1000 },
  "maps": { "max_vips": 256, "max_backends": 4096, "ct_size": 65536 } }
JSON
	cl_spawn "$n" "$(cl_ns "$n")" "$E2E_XLBD" -c "$TMP/xlbd-$n.json" >"$TMP/xlbd-$n-$mode.log" 2>&1
	XLBD_PIDS[n]=$CL_PID
}
lbs() { "$E2E_LBSTAT" --pin-path "$(pin "$1")" --no-rates -j --ct-budget 1 "${@:2}" 2>/dev/null; }
# synced N MODE: agent N's xlbd has the 4 named VIPs (TCP and UDP) in MODE and
# the service port (in fullnat, the default of external service ports; a
# private agent has none: its node address is not the service's).
synced() {
	lbs "$1" | jq -e --arg sp "$(cl_ip "$1"):$SP" --arg mode "$2" --argjson pub "$(($1 > 3))" '
		([.vips[] | select(.name != null and .name != "") | "\(.name | split(".")[0]) \(.backends_active)"]
		 | sort) == (["minitwit 9", "minitwit 9", "web-bridge 3", "web-bridge 3",
			"web-host 3", "web-host 3", "web-overlay 3", "web-overlay 3"] | sort) and
		($pub == 0 or [.vips[] | select("\(.address):\(.port)" == $sp) | .backends_active] == [3, 3]) and
		all(.vips[]; .mode == (if .name != null and .name != "" then $mode else "fullnat" end))' \
		>/dev/null 2>&1
}
declare -A VIPADDR
# out CMD...: CMD on the outside client.
out() { nsenter --net="/run/netns/$CL_NS_OUT" "$@"; }
probe() { out "$CL_LABNET" probe -j --timeout 1000 --duration 60 "$@" 2>/dev/null; }
flows_of() { # flows_of N: new flows agent N's xlb gave to backends
	lbs "$1" | jq '[.vips[] | .new_flows // 0] | add'
}
counter() { # counter N NAME: agent N's global counter NAME
	lbs "$1" -g | jq ".counters.$2 // 0"
}
head -c 1048576 /dev/urandom >"$TMP/1m.bin"

# north_south MODE: the checks above, with the public agents' xlbds in MODE.
north_south() {
	local mode=$1 n app res want f4 f5 got peers
	for n in "${PUBLIC[@]}"; do
		xlbd_start "$n" "$mode"
	done
	for n in "${PUBLIC[@]}"; do
		if ! wait_for 15 synced "$n" "$mode"; then
			nok "$mode: public agent $n's xlbd programs the VIPs in $mode and the service port" \
				"$(lbs "$n" | jq -c '[.vips[] | [.name, .address, .port, .mode, .backends_active]]'; tail -3 "$TMP/xlbd-$n-$mode.log")"
			return 1
		fi
	done
	ok "$mode: both public agents' xlbds program the 4 named VIPs in $mode and service port $SP in fullnat"
	check "$mode: XDP on eth0 and TC on the VTEP of both public agents (no native XDP on VXLAN)" eval \
		"grep -q 'eth0: attached with' '$TMP/xlbd-4-$mode.log' && grep -q 'vtep$CL_VNI: .*attached with TC ingress' '$TMP/xlbd-4-$mode.log' &&
		 grep -q 'eth0: attached with' '$TMP/xlbd-5-$mode.log' && grep -q 'vtep$CL_VNI: .*attached with TC ingress' '$TMP/xlbd-5-$mode.log'"
	if [ "${NS_PAUSE_MODE:-}" = "$mode" ]; then echo "PAUSED" >&2; sleep "$NS_PAUSE"; fi
	while read -r name addr; do
		VIPADDR[${name%%.*}]=$addr
	done < <(lbs 4 | jq -r '.vips[] | select(.protocol == "tcp" and .name != null and .name != "") |
		"\(.name) \(.address)"')

	# ---- 3,000 connections per VIP, spread over its tasks, from outside ----
	OUT0_4=$(lbs 4 | jq '[.vips[] | select(.mode == "dsr") | .packets_out // 0] | add')
	OUT0_5=$(lbs 5 | jq '[.vips[] | select(.mode == "dsr") | .packets_out // 0] | add')
	REPLY0_4=$(counter 4 nat_reply)
	REPLY0_5=$(counter 5 nat_reply)
	if [ "$mode" = dsr ]; then
		peers='.ok == 20 and (.backends | keys | length) >= 1 and all(.backends | keys[]; test(" 198\\.18\\.5\\.10$"))'
		what="the tasks see the client's own address"
	else
		peers='.ok == 20 and all(.backends | keys[]; test(" 198\\.18\\.(4|32)\\.1[45]$"))'
		what="the tasks see a public agent's address, not the client's"
	fi
	for app in web-host web-bridge web-overlay; do
		res=$(probe -n "$N" "${VIPADDR[$app]}:80")
		want=$(cl_backends_now "$app")
		if printf '%s' "$res" | jq -e --argjson n "$N" --arg want "$want" '
			.ok == $n and ((.backends | keys | sort | join(" ")) + " ") == $want and
			all(.backends[]; . >= $n / 3 * 0.9 and . <= $n / 3 * 1.1)' >/dev/null 2>&1; then
			ok "$mode: outside -> /$app: $N of $N connections, per task $(printf '%s' "$res" | jq -c '.backends')"
		else
			nok "$mode: outside -> /$app: $N connections answered, within ±10% over $want" \
				"$(printf '%s' "$res" | jq -c '{ok, backends, failed: (. | del(.ok, .backends))}')"
		fi
		res=$(probe --peer -n 20 "${VIPADDR[$app]}:80")
		if printf '%s' "$res" | jq -e "$peers" >/dev/null 2>&1; then
			ok "$mode: outside -> /$app: $what"
		else
			nok "$mode: outside -> /$app: $what" "$(printf '%s' "$res" | jq -c '.backends')"
		fi
	done
	f4=$(flows_of 4)
	f5=$(flows_of 5)
	check "$mode: both public agents carried flows (ECMP): agent 4 $f4, agent 5 $f5" \
		eval "[ '${f4:-0}' -gt 0 ] && [ '${f5:-0}' -gt 0 ]"
	if [ "$mode" = dsr ]; then
		dsr_counters
	fi

	# ---- the external service port, on each public agent's address ----
	for n in "${PUBLIC[@]}"; do
		res=$(probe -n 300 "$(cl_ip "$n"):$SP")
		want=$(cl_backends_now web-bridge)
		check "$mode: outside -> $(cl_ip "$n"):$SP (/web-bridge's service port, fullnat): 300 answered by its 3 tasks" \
			eval "printf '%s' '$res' | jq -e --arg want '$want' '.ok == 300 and
				((.backends | keys | sort | join(\" \")) + \" \") == \$want' >/dev/null"
	done

	# ---- 1 MiB each way through each VIP (MTU 1500 everywhere, the overlay's 1450) ----
	for app in web-host web-bridge web-overlay; do
		got=$(out curl -s --noproxy '*' -m 10 -o /dev/null -w '%{http_code} %{size_download}' \
			"http://${VIPADDR[$app]}/bytes/1048576")
		check "$mode: outside -> /$app: a 1 MiB download ($got)" [ "$got" = "200 1048576" ]
		got=$(out curl -s --noproxy '*' -m 10 -H 'Expect:' -T "$TMP/1m.bin" \
			"http://${VIPADDR[$app]}/up")
		check "$mode: outside -> /$app: a 1 MiB upload (${got% *})" [ "${got% *}" = "got 1048576" ]
	done
	rolling_upgrade "$mode"
	for n in "${PUBLIC[@]}"; do
		stop_pid "${XLBD_PIDS[n]}"
	done
}

# dsr_counters: the public agents encapsulated and answered nothing themselves
# (no reply packet of a DSR VIP, no decapsulation); the private ones took the
# tunnel off, translated the replies and clamped the MSS of SYN-ACKs.
dsr_counters() {
	local n enc=0 dec=0 clamp=0 out4 out5
	for n in "${PUBLIC[@]}"; do
		enc=$((enc + $(counter "$n" dsr_encap)))
	done
	for n in 1 2 3; do
		dec=$((dec + $(counter "$n" dsr_decap)))
		clamp=$((clamp + $(counter "$n" mss_clamp)))
	done
	# Deltas: the counters of the pinned maps carry the full-NAT run's too.
	out4=$(($(lbs 4 | jq '[.vips[] | select(.mode == "dsr") | .packets_out // 0] | add') - OUT0_4))
	out5=$(($(lbs 5 | jq '[.vips[] | select(.mode == "dsr") | .packets_out // 0] | add') - OUT0_5))
	out4=$((out4 + $(counter 4 nat_reply) - REPLY0_4))
	out5=$((out5 + $(counter 5 nat_reply) - REPLY0_5))
	check "dsr: the public agents encapsulated ($enc) and translated no reply packet ($out4, $out5)" \
		eval "[ $enc -ge $((3 * N)) ] && [ $out4 = 0 ] && [ $out5 = 0 ]"
	check "dsr: the private agents decapsulated ($dec) and clamped SYN-ACKs' MSS ($clamp)" \
		eval "[ $dec -ge $((3 * N)) ] && [ $clamp -gt 0 ]"
}

# rolling_upgrade MODE: /web-bridge's tasks replaced under load from outside.
rolling_upgrade() {
	local mode=$1 n ROLL fails
	: >"$TMP/roll.log"
	out "$CL_LABNET" probe -j -n 100000 --interval 10 --timeout 1000 --duration 60 \
		--log "$TMP/roll.log" "${VIPADDR[web-bridge]}:80" >"$TMP/roll.out" 2>&1 &
	ROLL=$!
	track_pid $ROLL
	wait_until 10 "$mode: the load through /web-bridge runs before the upgrade" served 20
	OLD=$(cl_backends_now web-bridge)
	sim "deploy?app=/web-bridge&grace_ms=1000" >/dev/null
	if wait_for 40 upgraded; then
		ok "$mode: the rolling upgrade replaced /web-bridge's 3 tasks ($NEW); all xlbds have exactly them active"
	else
		nok "$mode: the rolling upgrade replaced /web-bridge's 3 tasks" "$(cl_backends_now web-bridge)"
	fi
	wait_until 10 "$mode: the new tasks take connections from outside" new_served
	kill -TERM $ROLL 2>/dev/null
	wait $ROLL 2>/dev/null
	fails=$(awk '$5 != "ok"' "$TMP/roll.log")
	check "$mode: outside -> /web-bridge during the upgrade: zero failed of $(grep -c . "$TMP/roll.log") requests" \
		eval "[ -z \"\$fails\" ] && served 100"
	[ -z "$fails" ] || printf '%s\n' "$fails" | head -5 >&2
}
served() { # served N [EP]: the load has N answers (from EP)
	[ "$(awk -v ep="${2:-}" '$5 == "ok" && (ep == "" || $6 == ep) {n++} END {print n + 0}' \
		"$TMP/roll.log" 2>/dev/null)" -ge "$1" ]
}
upgraded() { # 3 running tasks, none old, all 3 active on every running xlbd
	local now e n
	now=$(cl_backends_now web-bridge)
	[ "$(wc -w <<<"$now")" = 3 ] || return 1
	for e in $now; do
		case " $OLD" in *" $e "*) return 1 ;; esac
	done
	for n in "${!XLBD_PIDS[@]}"; do
		kill -0 "${XLBD_PIDS[n]}" 2>/dev/null || continue
		[ "$(lbs "$n" -b | jq -r '[.vips[] | select(.name != null and (.name | startswith("web-bridge."))) |
			.backends[] | select(.state == "active") | .backend] | unique | sort | join(" ")')" = \
			"$(tr ' ' '\n' <<<"$now" | grep . | sort | tr '\n' ' ' | sed 's/ $//')" ] || return 1
	done
	NEW=$now
}
new_served() {
	local e
	for e in ${NEW:-}; do served 5 "$e" || return 1; done
}

[ -n "${NS_SKIP_FULLNAT:-}" ] || north_south fullnat
# DSR: the private agents are DSR's agents; then the public ones balance in dsr.
for n in 1 2 3; do
	xlbd_start "$n" dsr
done
for n in 1 2 3; do
	if ! wait_for 15 synced "$n" dsr; then
		nok "dsr: private agent $n's xlbd programs the VIPs" \
			"$(lbs "$n" | jq -c '[.vips[] | [.name, .address, .port, .mode, .backends_active]]'; tail -3 "$TMP/xlbd-$n-dsr.log")"
	fi
done
north_south dsr

for n in 1 2 3; do
	stop_pid "${XLBD_PIDS[n]}"
done
stop_pid "$CL_TASKS_PID"
stop_pid "$SIM_PID"
cl_down
finish
