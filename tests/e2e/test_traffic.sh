#!/usr/bin/env bash
# End-to-end traffic through xlb in the netns lab (issue 5, scenarios 1, 2, 3,
# 8 and 9): xlbd on the load balancer host with XDP on its NICs and on the
# host-side container veth, TC egress on xlb0; static VIPs and Marathon's
# /minitwit (marathon-sim) on three backend hosts.
#  1. client host -> VIP, TCP and UDP, IPv4 and IPv6: 4,500 new flows each, all
#     answered, each of 3 equal backends within +-10% of a third;
#  2. the same from the container namespace and from the LB host itself;
#  3. the named VIP /minitwit:80 at the address allocated for it (198.19/16,
#     the same from a second xlbd), reachable and balanced;
#  8. a VIP without backends (static; then /minitwit scaled to 0): connect and
#     send fail at once with "connection refused";
#  9. weights 3:1: new connections split 75/25 +-5 points.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
e2e_init traffic

N=${E2E_FLOWS:-4500}
V4=198.18.0.10
V6=2001:db8::10
NOB4=198.18.0.20
NOB6=2001:db8::20
W4=198.18.0.30

e2e_lab_up
if ! lab_servers_up; then
	nok "backend servers answer"
	finish
fi
sim_start tests/fixtures/sim/minitwit.json

be4() { echo "\"198.18.2.1$1:3100$1\""; }
be6() { echo "\"[2001:db8:2::1$1]:3100$1\""; }
three4="[$(be4 1), $(be4 2), $(be4 3)]"
three6="[$(be6 1), $(be6 2), $(be6 3)]"
xlbd_config "[
  { \"vip\": \"$V4:80/tcp\", \"name\": \"three\", \"backends\": $three4 },
  { \"vip\": \"$V4:80/udp\", \"name\": \"three\", \"backends\": $three4 },
  { \"vip\": \"[$V6]:80/tcp\", \"name\": \"three\", \"backends\": $three6 },
  { \"vip\": \"[$V6]:80/udp\", \"name\": \"three\", \"backends\": $three6 },
  { \"vip\": \"$NOB4:80/tcp\", \"backends\": [] },
  { \"vip\": \"$NOB4:80/udp\", \"backends\": [] },
  { \"vip\": \"[$NOB6]:80/tcp\", \"backends\": [] },
  { \"vip\": \"[$NOB6]:80/udp\", \"backends\": [] },
  { \"vip\": \"$W4:80/tcp\", \"name\": \"weighted\", \"backends\": [
      { \"address\": \"198.18.2.11:31001\", \"weight\": 3 },
      { \"address\": \"198.18.2.12:31002\", \"weight\": 1 } ] } ]"
xlbd_start xlbd
if ! wait_for 15 named_ready; then
	nok "xlbd programs the static VIPs and Marathon's /minitwit" "$(tail -5 "$TMP/xlbd.log")"
	finish
fi
ok "xlbd programs the static VIPs and Marathon's /minitwit"
XDP_MODE=$(sed -n 's/.*lb-c: \(.*attached with [a-zA-Z ]*\).*/\1/p' "$TMP/xlbd.log" | head -1)
check "XDP on the client-side NIC lb-c (${XDP_MODE:-not attached})" \
	grep -q "lb-c: .*attached with .*XDP" "$TMP/xlbd.log"
check "XDP on the host-side container veth lb-ct" \
	grep -q "lb-ct: .*attached with .*XDP" "$TMP/xlbd.log"
check "TC egress on xlb0 (the VIP routes' device)" grep -q "xlb0: attached TC egress" "$TMP/xlbd.log"

# spread NAME ADDR:PORT NS PROTO: N new flows from NS, every one answered, each
# backend within +-10% of N/3, and at least N packets counted on the VIP.
spread() {
	local what=$1 ep=$2 ns=$3 proto=$4 vip out before after
	local udp= vip=$ep/$proto
	[ "$proto" = udp ] && udp=--udp
	before=$(vip_field "$vip" packets_in)
	out=$(lab_in "$ns" "$E2E_LABNET" probe $udp -j -n "$N" "$ep")
	after=$(vip_field "$vip" packets_in)
	local okn names lo hi bad
	okn=$(jq -r .ok <<<"$out")
	names=$(jq -r '.backends | to_entries | map("\(.key)=\(.value)") | sort | join(" ")' <<<"$out")
	lo=$((N * 9 / 30))
	hi=$((N * 11 / 30))
	bad=$(jq -r --argjson lo "$lo" --argjson hi "$hi" \
		'[.backends[] | select(. < $lo or . > $hi)] | length' <<<"$out")
	if [ "$okn" = "$N" ]; then
		ok "$what: $N of $N answered ($(jq -c '{refused, timeout, reset, other, seconds}' <<<"$out"))"
	else
		nok "$what: $N of $N answered" "$(jq -c . <<<"$out")"
	fi
	if [ "$(jq '.backends | length' <<<"$out")" = 3 ] && [ "$bad" = 0 ]; then
		ok "$what: 3 backends, each within $lo..$hi ($names)"
	else
		nok "$what: 3 backends, each within $lo..$hi" "$names"
	fi
	check "$what: the packets went through xlb (VIP counted $((after - before)))" \
		[ $((after - before)) -ge "$N" ]
}

# ---- 1. client host -> VIP through the LB's NIC (XDP) ----
spread "1. client, TCP/IPv4" "$V4:80" "$LAB_NS_C" tcp
spread "1. client, UDP/IPv4" "$V4:80" "$LAB_NS_C" udp
spread "1. client, TCP/IPv6" "[$V6]:80" "$LAB_NS_C" tcp
spread "1. client, UDP/IPv6" "[$V6]:80" "$LAB_NS_C" udp

# ---- 2. from the container (XDP on lb-ct) and from the LB host (TC egress) ----
spread "2. container, TCP/IPv4" "$V4:80" "$LAB_NS_CT" tcp
spread "2. container, UDP/IPv4" "$V4:80" "$LAB_NS_CT" udp
spread "2. container, TCP/IPv6" "[$V6]:80" "$LAB_NS_CT" tcp
spread "2. container, UDP/IPv6" "[$V6]:80" "$LAB_NS_CT" udp
spread "2. LB host, TCP/IPv4" "$V4:80" "$LAB_NS_LB" tcp
spread "2. LB host, UDP/IPv4" "$V4:80" "$LAB_NS_LB" udp
spread "2. LB host, TCP/IPv6" "[$V6]:80" "$LAB_NS_LB" tcp
spread "2. LB host, UDP/IPv6" "[$V6]:80" "$LAB_NS_LB" udp

# ---- 3. the named VIP /minitwit:80 ----
check "3. /minitwit:80 got an address in the named range 198.19.0.0/16 ($NAMED)" \
	grep -qE '^198\.19\.[0-9]+\.[0-9]+$' <<<"$NAMED"
cat >"$TMP/xlbd-2.json" <<JSON
{ "pin_path": "$PIN-2", "metrics": { "listen": null }, "socket_lb": false,
  "marathon": { "urls": [ "$SIMURL" ], "named_vip_range": "198.19.0.0/16" } }
JSON
lab_net "$LAB_NS_LB" "$E2E_XLBD" -c "$TMP/xlbd-2.json" --once >"$TMP/xlbd-2.log" 2>&1
other=$("$E2E_LBSTAT" --pin-path "$PIN-2" --no-rates -j 2>/dev/null |
	jq -r '.vips[] | select(.name == "minitwit.marathon.l4lb.thisdcos.directory") | .address')
check "3. a second xlbd given the same Marathon allocates the same address ($other)" \
	[ "$other" = "$NAMED" ]
out=$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 300 "$NAMED:80")
check "3. client -> $NAMED:80: 300 of 300 answered, by all 3 tasks ($(jq -c .backends <<<"$out"))" \
	[ "$(jq -r '"\(.ok) \(.backends | length)"' <<<"$out")" = "300 3" ]
out=$(lab_in "$LAB_NS_C" curl -s --max-time 2 "http://$NAMED/")
check "3. an HTTP GET of http://$NAMED/ is answered by a task ($out)" \
	grep -qE '^backend-[123]$' <<<"$out"

# ---- 9. weights 3:1 ----
out=$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 2000 "$W4:80")
share=$(jq -r '(.backends["backend-1"] // 0) * 1000 / 2000 | floor' <<<"$out")
check "9. weights 3:1: all 2000 answered, only the two weighted backends ($(jq -c .backends <<<"$out"))" \
	[ "$(jq -r '"\(.ok) \(.backends | length)"' <<<"$out")" = "2000 2" ]
check "9. weight 3 takes $((share / 10)).$((share % 10))% of new connections (70-80%)" \
	[ "$share" -ge 700 -a "$share" -le 800 ]

# ---- a client port reused towards two VIPs that share a backend ----
# The backend sees one tuple for both flows; the VIP the port went to first must
# still answer it afterwards (closes send a RST, so the port is free at once).
one_name() { # one_name PORT ADDR:PORT: the backend that answers one request from PORT
	lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 1 --rst --sport "$1" "$2" |
		jq -r '.backends | keys[0] // "FAIL"'
}
reuse_ok() {
	local p a b c shared=0
	for p in $(seq 20001 20020); do # below the ephemeral range: no TIME_WAIT there
		a=$(one_name "$p" "$V4:80")
		b=$(one_name "$p" "$W4:80")
		c=$(one_name "$p" "$V4:80")
		[ "$a" = "$b" ] && shared=$((shared + 1))
		if [ "$c" != "$a" ] || [ "$a" = FAIL ] || [ "$b" = FAIL ]; then
			echo "# port $p: $V4:80 -> $a, $W4:80 -> $b, $V4:80 again -> $c"
			return 1
		fi
	done
	echo "# $shared of 20 ports reached the same backend through both VIPs"
	[ "$shared" -gt 0 ]
}
check "reused client ports: 20 ports to $V4:80, then $W4:80, then $V4:80 again, every one answered by its first backend" \
	reuse_ok

# ---- 8. a VIP without backends refuses at once ----
# refused NS ADDR:PORT [--udp]: 5 tries, every one refused, in well under a timeout.
refused() {
	local out
	out=$(lab_in "$1" "$E2E_LABNET" probe -j -n 5 --timeout 3000 ${3:-} "$2")
	[ "$(jq -r '"\(.refused) \(.seconds < 1)"' <<<"$out")" = "5 true" ] || {
		echo "# $out"
		return 1
	}
}
rej_before=$(vip_field "$NOB4:80/tcp" rejected)
check "8. static VIP without backends: TCP/IPv4 connect refused at once (client)" \
	refused "$LAB_NS_C" "$NOB4:80"
check "8. ... UDP/IPv4: ICMP port unreachable, refused at once (client)" \
	refused "$LAB_NS_C" "$NOB4:80" --udp
check "8. ... TCP/IPv6 refused at once (client)" refused "$LAB_NS_C" "[$NOB6]:80"
check "8. ... UDP/IPv6 refused at once (client)" refused "$LAB_NS_C" "[$NOB6]:80" --udp
check "8. ... TCP/IPv4 refused at once (LB host, TC egress)" refused "$LAB_NS_LB" "$NOB4:80"
check "8. ... UDP/IPv6 refused at once (LB host, TC egress)" refused "$LAB_NS_LB" "[$NOB6]:80" --udp
# From the container: lb-ct is a veth whose peer (the container's eth0) has neither
# XDP nor GRO, so an XDP_TX frame would wait there for the container's next packet;
# xlb sees that in the kernel's xdp-features and has TC send the answer (the handoff).
check "8. ... TCP/IPv4 refused at once (container, the answer sent by TC)" \
	refused "$LAB_NS_CT" "$NOB4:80"
check "8. ... UDP/IPv4 refused at once (container)" refused "$LAB_NS_CT" "$NOB4:80" --udp
rej_after=$(vip_field "$NOB4:80/tcp" rejected)
check "8. xlb counted the rejections ($((rej_after - rej_before)) on $NOB4:80/tcp)" \
	[ $((rej_after - rej_before)) -ge 10 ]

sim "scale?app=/minitwit&instances=0&grace_ms=300" >/dev/null
no_backends() { [ "$(lbstat -b --vip "$NAMED:80/tcp" | jq -r '.vips[0].backends | length')" = 0 ]; }
check "8. /minitwit scaled to 0: its VIP stays, every backend goes" wait_for 10 no_backends
check "8. ... and a client's connect to $NAMED:80 is refused at once" refused "$LAB_NS_C" "$NAMED:80"

finish
