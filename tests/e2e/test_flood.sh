#!/usr/bin/env bash
# End-to-end: a SYN flood on one VIP (issue 14). In the lab of lab.sh, with a
# small conntrack table and small flood budgets, tests/doubles/synflood sends
# SYNs to VIP A from the container namespace, from random spoofed sources of
# 198.18.64.0/18 (bounded in count and time), while the client host holds
# long-lived connections to VIP A, exchanging a line every 100 ms through the
# whole flood, and keeps opening new connections to VIP B (other servers on the
# same backend hosts). The backends' SYN-ACKs to the spoofed sources go back
# through xlb to a sink namespace, the one route the LB host has for them,
# which drops them (no forwarding there). Checked:
#  - the flood went over VIP A's budget: xlb forwarded its excess without a
#    conntrack entry (VIP A's "stateless" counter, in lbstat and /metrics), and
#    recorded no more of its flows than new_per_vip per CPU and second allow;
#  - VIP B stayed within its budget: not one flow of it stateless, and >= 99%
#    of its new connections during the flood succeeded;
#  - every long-lived connection to VIP A survived, on its backend;
#  - the conntrack table never filled up;
# and prints the figures: SYNs sent and their rate, connections attempted and
# answered, stateless flows, conntrack fill, replies dropped in the sink.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
e2e_init flood
E2E_FLOOD=$(realpath -m "$OUTPUT/synflood")
need_bins "$E2E_FLOOD"
need_cmd bpftool

VA=198.18.0.40 # flooded
VB=198.18.0.41 # the other one
SPOOF=198.18.64.0/18
FLOOD_RATE=${E2E_FLOOD_RATE:-30000} # SYNs per second
FLOOD_S=${E2E_FLOOD_S:-6}
FLOOD_N=$((FLOOD_RATE * FLOOD_S))
NEW_PER_VIP=200 # recorded new flows per VIP, CPU and second
NEW_PER_CPU=2000
CT_SIZE=8192
N_LONG=30
B_INTERVAL_MS=20 # VIP B: at most 50 new flows a second, a quarter of its budget
NCPU=$(getconf _NPROCESSORS_ONLN)
METRICS=127.0.0.1:9464 # inside the LB host's namespace

e2e_lab_up
if ! lab_servers_up; then
	nok "backend servers answer"
	finish
fi
# VIP B's servers: other listening sockets on the same hosts (backend N on 3200N),
# so the SYN queues the flood fills are VIP A's only.
b_port() { echo $((32000 + $1)); }
for i in $(seq 1 "$LAB_BACKENDS"); do
	lab_in "$(lab_ns_b "$i")" "$E2E_LABNET" serve --name "other-$i" \
		--listen "$(lab_backend_ip "$i"):$(b_port "$i")" >/dev/null 2>&1 &
	track_pid $!
done
b_servers_up() {
	local i
	for i in $(seq 1 "$LAB_BACKENDS"); do
		lab_net "$LAB_NS_LB" "$E2E_LABNET" probe -q -n 1 --timeout 200 \
			"$(lab_backend_ip "$i"):$(b_port "$i")" 2>/dev/null || return 1
	done
}
wait_until 5 "VIP B's servers answer on the backend hosts" b_servers_up || finish

# The sink: the LB host routes the spoofed prefix to it, and it forwards nothing.
SINK=xlab-s-$LAB_ID # lab_down removes it with the rest
track_netns "$SINK"
if ! ip netns add "$SINK" || ! lab_veth "$LAB_NS_LB" lb-sink "$SINK" eth0; then
	nok "the sink namespace comes up"
	finish
fi
lab_in "$LAB_NS_LB" ip addr add 198.18.5.1/30 dev lb-sink
lab_in "$SINK" ip addr add 198.18.5.2/30 dev eth0
lab_in "$SINK" sysctl -qw net.ipv4.ip_forward=0
lab_endhost_nic "$SINK"
lab_in "$SINK" "$E2E_LABNET" xdp-pass eth0 # frames xlb redirects here (GRO would do too)
lab_in "$LAB_NS_LB" ip route add "$SPOOF" via 198.18.5.2 dev lb-sink
# a permanent neighbour: no resolution in the way of the first replies
lab_in "$LAB_NS_LB" ip neigh replace 198.18.5.2 dev lb-sink nud permanent \
	lladdr "$(lab_in "$SINK" cat /sys/class/net/eth0/address)"
sink_rx() { lab_in "$SINK" ip -j -s link show eth0 | jq -r '.[0].stats64.rx.packets'; }

be() { echo "\"$(lab_backend_ip "$1"):$2\""; }
xlbd_config "[
  { \"vip\": \"$VA:80/tcp\", \"name\": \"flooded\",
    \"backends\": [$(be 1 31001), $(be 2 31002), $(be 3 31003)] },
  { \"vip\": \"$VB:80/tcp\", \"name\": \"other\",
    \"backends\": [$(be 1 32001), $(be 2 32002), $(be 3 32003)] } ]"
jq --argjson ct "$CT_SIZE" --argjson v "$NEW_PER_VIP" --argjson c "$NEW_PER_CPU" --arg m "$METRICS" \
	'.maps.ct_size = $ct | .datapath.flood = {new_per_cpu: $c, new_per_vip: $v} |
	.metrics.listen = $m' "$TMP/xlbd.json" >"$TMP/xlbd-flood.json" &&
	mv "$TMP/xlbd-flood.json" "$TMP/xlbd.json"
nsenter --net="/run/netns/$LAB_NS_LB" "$E2E_XLBD" -c "$TMP/xlbd.json" --no-marathon \
	>"$TMP/xlbd.log" 2>&1 &
track_pid $!
both_ready() {
	[ "$(lbstat | jq -r '[.vips[]? | select(.backends_active == 3)] | length')" = 2 ]
}
if ! wait_for 15 both_ready; then
	nok "xlbd programs both VIPs with 3 active backends" "$(tail -5 "$TMP/xlbd.log")"
	finish
fi
ok "xlbd programs both VIPs with 3 active backends ($NCPU CPUs)"
budgets=$(lbstat | jq -r '.flood | "\(.new_per_cpu) \(.new_per_vip)"')
check "the programs use the configured budgets: new_per_cpu new_per_vip = $budgets" \
	[ "$budgets" = "$NEW_PER_CPU $NEW_PER_VIP" ]

out=$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 30 "$VA:80")
check "VIP A $VA:80 answers before the flood ($(jq -c .backends <<<"$out"))" \
	[ "$(jq -r .ok <<<"$out")" = 30 ]
out=$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 30 "$VB:80")
check "VIP B $VB:80 answers before the flood ($(jq -c .backends <<<"$out"))" \
	[ "$(jq -r .ok <<<"$out")" = 30 ]

# ct_fill: "ENTRIES MAX_ENTRIES" of the IPv4 table, fully counted.
ct_fill() {
	"$E2E_LBSTAT" --pin-path "$PIN" --no-rates -j -g --ct-budget 2000 2>/dev/null |
		jq -r '(.conntrack.ipv4 // .conntrack) | "\(.entries) \(.max_entries)"'
}
ip_bytes() { printf '["%02x","%02x","%02x","%02x"]' ${1//./ }; } # as bpftool -j prints a key
# long_entries: how many of the long-lived connections' flows (client host ->
# VIP A, their source ports from the load's log) have their conntrack entry.
long_entries() {
	awk '$5 == "up" {print $4}' "$TMP/long.log" | sort -u >"$TMP/long.ports"
	bpftool -j map dump pinned "$PIN/xlb_ct4" 2>/dev/null |
		jq -r --argjson vip "$(ip_bytes "$VA")" --argjson cl "$(ip_bytes 198.18.1.2)" '.[] |
		.key | map(ltrimstr("0x")) | select(.[0:4] == $vip and .[4:8] == $cl and
		.[8:10] == ["00", "50"]) |
		(.[10] + .[11]) | explode | map(if . >= 97 then . - 87 else . - 48 end) |
		reduce .[] as $d (0; . * 16 + $d)' | sort -u | comm -12 - "$TMP/long.ports" | wc -l
}
metric_stateless() { # metric_stateless VIP: xlb_vip_stateless_total of the VIP, from /metrics
	lab_net "$LAB_NS_LB" "${CURL[@]}" "http://$METRICS/metrics" |
		awk -v v="$1" '/^xlb_vip_stateless_total\{/ && index($0, "\"" v "\"") {print $NF}'
}

# ---- the flood ----

load_start long "$LAB_NS_C" "$VA:80" --long "$N_LONG" --interval 100 --duration $((FLOOD_S + 6))
LONG_PID=$LOAD_PID
if ! wait_for 5 long_up long "$N_LONG"; then
	nok "$N_LONG long-lived connections to VIP A are up" "$(cat "$TMP/long.out")"
	finish
fi
read -r ct0 ct_max <<<"$(ct_fill)"
long0=$(long_entries)
check "the $N_LONG long-lived connections' flows are in conntrack before the flood ($long0)" \
	[ "$long0" = "$N_LONG" ]
a_new0=$(vip_field "$VA:80/tcp" new_flows)
a_sl0=$(vip_field "$VA:80/tcp" stateless)
b_sl0=$(vip_field "$VB:80/tcp" stateless)
if [ -z "$a_sl0" ] || [ -z "$b_sl0" ]; then
	nok "lbstat -j counts each VIP's stateless flows" "$(lbstat --vip "$VA:80/tcp" | jq -c '.vips[0]')"
	finish
fi
sink0=$(sink_rx)
sleep 1 # a second of exchanges before the flood
load_start short "$LAB_NS_C" "$VB:80" -n 1000000 --interval "$B_INTERVAL_MS" --duration "$FLOOD_S"
SHORT_PID=$LOAD_PID
timeout $((FLOOD_S + 10)) ip netns exec "$LAB_NS_CT" "$E2E_FLOOD" --to "$VA:80" --from "$SPOOF" \
	--count "$FLOOD_N" --duration "$FLOOD_S" --rate "$FLOOD_RATE" -j >"$TMP/flood.json" 2>"$TMP/flood.err"
flood_rc=$?
read -r ct1 _ <<<"$(ct_fill)"
long1=$(long_entries)
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_until 10 "the new connections to VIP B end with the flood" gone "$SHORT_PID"
load_stop "$SHORT_PID"
wait_until $((FLOOD_S + 10)) "the long-lived connections end on time" gone "$LONG_PID"
load_stop "$LONG_PID"
sleep 0.5 # the last SYN-ACKs on their way to the sink
sink1=$(sink_rx)

sent=$(jq -r '.sent // 0' "$TMP/flood.json" 2>/dev/null)
secs=$(jq -r '.seconds // 0' "$TMP/flood.json" 2>/dev/null)
rate=$(jq -r '.rate_pps // 0' "$TMP/flood.json" 2>/dev/null)
check "synflood sent ${sent:-0} SYNs from $SPOOF to $VA:80 in $secs s ($rate/s)" \
	[ "$flood_rc" = 0 -a "${sent:-0}" -ge $((FLOOD_N * 9 / 10)) ]
[ "$flood_rc" = 0 ] || note "synflood: $(cat "$TMP/flood.err")"

a_new=$(($(vip_field "$VA:80/tcp" new_flows) - a_new0))
a_sl=$(($(vip_field "$VA:80/tcp" stateless) - a_sl0))
b_sl=$(($(vip_field "$VB:80/tcp" stateless) - b_sl0))
a_rec=$((a_new - a_sl))
# at most new_per_vip per CPU in each budget second the flood touched
a_cap=$((NEW_PER_VIP * NCPU * (${secs%.*} + 2)))
check "VIP A saw the flood: $a_new new flows (of $sent SYNs sent)" [ "$a_new" -ge $((sent * 9 / 10)) ]
check "VIP A went stateless over its budget: $a_sl flows forwarded without a conntrack entry" \
	[ "$a_sl" -gt 0 -a "$a_sl" -ge $((a_new - a_cap)) ]
check "VIP A recorded $a_rec of its new flows, within its budget ($a_cap: $NEW_PER_VIP per CPU and second)" \
	[ "$a_rec" -ge 0 -a "$a_rec" -le "$a_cap" ]
m_sl=$(metric_stateless "$VA:80/tcp")
metric_agrees() { [ -n "$m_sl" ] && [ "${m_sl%.*}" -ge "$a_sl" ]; }
check "/metrics: xlb_vip_stateless_total of VIP A is ${m_sl:-missing} (lbstat: $((a_sl + a_sl0)))" \
	metric_agrees
check "VIP B stayed within its budget: $b_sl stateless flows" [ "${b_sl:-x}" = 0 ]

b_ok=$(jq -r '.ok // 0' "$TMP/short.out" 2>/dev/null)
b_all=$(wc -l <"$TMP/short.log")
b_min=$((FLOOD_S * 1000 / B_INTERVAL_MS / 2))
check "VIP B during the flood: $b_ok of $b_all new connections answered ($(jq -c '{refused, timeout, reset, other}' "$TMP/short.out" 2>/dev/null)), >= 99% of at least $b_min" \
	[ "$b_all" -ge "$b_min" -a $((b_ok * 100)) -ge $((b_all * 99)) ]

long_alive=$(jq -r '.long_alive // 0' "$TMP/long.out" 2>/dev/null)
check "every long-lived connection to VIP A survived the flood on its backend: $long_alive of $N_LONG alive, none failed or moved" \
	[ -z "$(failures long)" -a "$long_alive" = "$N_LONG" ]

check "no long-lived connection's conntrack entry was evicted by the flood ($long1 of $N_LONG still there)" \
	[ "$long1" = "$N_LONG" ]
# What the budgets let in: VIP A's cap and each of VIP B's connections.
ct_within() { [ -n "$ct1" ] && [ "$ct1" != null ] && [ $((ct1 - ct0)) -le $((a_cap + b_all)) ]; }
check "conntrack grew by the budgets only: $ct0 entries before the flood, $ct1 after (at most $((ct0 + a_cap + b_all))), of $ct_max" \
	ct_within
check "the backends' answers to spoofed sources stayed in the lab: $((sink1 - sink0)) dropped in the sink" \
	[ $((sink1 - sink0)) -gt 0 ]

note "data plane counters: $("$E2E_LBSTAT" --pin-path "$PIN" --no-rates -j -g --ct-budget 1 2>/dev/null |
	jq -c '.counters | with_entries(select(.key | test("stateless|ct_new|insert")))')"
note "figures: flood $sent SYNs in $secs s ($rate/s) from $SPOOF; VIP A $a_new new flows, $a_rec recorded, $a_sl stateless; VIP B $b_ok/$b_all connections answered, $b_sl stateless; $long_alive/$N_LONG long-lived alive; conntrack $ct0 -> $ct1 of $ct_max entries (an unprotected flood would have tried to record $a_new); sink $((sink1 - sink0)) packets"
finish
