#!/usr/bin/env bash
# make demo: a three-instance app behind a named VIP, balanced by xlb. Builds
# the network-namespace lab, starts the Marathon stand-in with /minitwit
# (VIP_0 "/minitwit:80", health checks), runs xlbd on the load balancer host
# (XDP on its NICs), sends 30 requests from the client host, shows lbstat,
# flips one instance unhealthy and shows traffic move, then removes it all.
set -u
cd "$(dirname "$0")/.." || exit 1
OUTPUT=${OUTPUT:-.output}
LAB_ID=demo$$
LAB_PORT_BASE=31000
. tests/lib/test.sh # cleanup on exit and bounded polling
. tests/e2e/lab.sh
at_exit lab_down
PIN=/sys/fs/bpf/xlb-demo-$$
XLBD=$OUTPUT/xlbd
track_pin "$PIN"
t_tmpdir
WORK=$TMP
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. A lab on this machine: client, load balancer, 3 backends (network namespaces)"
LAB_QUIET=1 lab_up || exit 1
lab_servers_up || exit 1
echo "backends backend-1..3 listen on 198.18.2.11:31001, 198.18.2.12:31002, 198.18.2.13:31003"

say "2. Marathon (stand-in) runs /minitwit: 3 tasks, label VIP_0=/minitwit:80, health checks"
lab_net "$LAB_NS_LB" "$OUTPUT/marathon-sim" --listen 127.0.0.1:0 \
	--scenario tests/fixtures/sim/minitwit.json >"$WORK/sim.out" 2>"$WORK/sim.log" &
track_pid $!
wait_for 5 grep -q listening "$WORK/sim.out" || { echo "marathon-sim did not start"; cat "$WORK/sim.log"; exit 1; }
SIM=http://$(sed -n 's/^listening on //p' "$WORK/sim.out")
echo "Marathon at $SIM"

say "3. xlbd on the load balancer: XDP on lb-c/lb-b1..3, named VIPs from 198.19.0.0/16 (the per-packet path: socket balancing off)"
cat >"$WORK/xlbd.json" <<JSON
{ "pin_path": "$PIN", "metrics": { "listen": "127.0.0.1:0" }, "socket_lb": false,
  "interfaces": [ {"name": "lb-c"}, {"name": "lb-ct"}, {"name": "lb-b1"}, {"name": "lb-b2"}, {"name": "lb-b3"} ],
  "marathon": { "urls": ["$SIM"], "named_vip_range": "198.19.0.0/16" } }
JSON
lab_net "$LAB_NS_LB" "$OUTPUT/xlbd" --config "$WORK/xlbd.json" 2>"$WORK/xlbd.log" &
track_pid $!
# vip_ready: the VIP on port 80 with 3 active backends is in the maps; sets VIP.
vip_ready() {
	VIP=$("$OUTPUT/lbstat" --pin-path "$PIN" --no-rates -j 2>/dev/null |
		jq -r 'first(.vips[] | select(.port == 80 and .backends_active == 3) | .address) // empty')
	[ -n "$VIP" ]
}
wait_for 10 vip_ready || { echo "xlbd did not program the VIP"; cat "$WORK/xlbd.log"; exit 1; }
grep -E "attached|reconciled" "$WORK/xlbd.log" | head -8
echo "minitwit.marathon.l4lb.thisdcos.directory -> $VIP:80"

say "4. 30 requests from the client host to $VIP:80"
for i in $(seq 30); do
	printf '%s ' "$(lab_in "$LAB_NS_C" curl -s --max-time 2 "http://$VIP/" || echo FAIL)"
	[ $((i % 10)) = 0 ] && echo
done

say "5. lbstat (per-backend view)"
"$OUTPUT/lbstat" --pin-path "$PIN" -b -i 1 -c 1

say "6. backend-1 turns unhealthy in Marathon"
lab_net "$LAB_NS_LB" curl -s -X POST "$SIM/sim/health?app=/minitwit&index=0&alive=false" >/dev/null
drained() {
	"$OUTPUT/lbstat" --pin-path "$PIN" --no-rates -j 2>/dev/null |
		jq -e --arg vip "$VIP" '.vips[] | select(.address == $vip and .port == 80) |
			.backends_draining == 1' >/dev/null
}
wait_for 5 drained || echo "(backend-1 is not draining yet)"
"$OUTPUT/lbstat" --pin-path "$PIN" -b --no-rates | sed -n '1,12p'
say "7. 30 more requests: backend-1 gets none"
for i in $(seq 30); do
	printf '%s ' "$(lab_in "$LAB_NS_C" curl -s --max-time 2 "http://$VIP/" || echo FAIL)"
	[ $((i % 10)) = 0 ] && echo
done
say "Done: removing the lab (namespaces, pins, processes)"
