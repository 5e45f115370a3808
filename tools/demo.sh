#!/usr/bin/env bash
# make demo: a three-instance app behind a named VIP, balanced by xlb. Builds
# the network-namespace lab, starts the Marathon stand-in with /minitwit
# (VIP_0 "/minitwit:80", health checks), runs xlbd on the load balancer host
# (XDP on its NICs), sends 30 requests from the client host, shows lbstat,
# flips one instance unhealthy and shows traffic move. Then the cluster
# (tests/e2e/cluster.sh): a ToR and three agents whose /minitwit tasks are of
# Marathon's three networking modes, one xlbd per agent balancing at the socket
# on its agent's cgroup; the same VIP from a bridge container on agent 1 and a
# host process on agent 2, each answer's backend printed, and lbstat on both
# agents. Everything is removed at the end (also on failure or Ctrl-C).
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
		jq -r 'first(.vips[]? | select(.port == 80 and .backends_active == 3) | .address) // empty')
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

# ---- the cluster: xlb on every agent, east-west ----

say "8. A cluster: a ToR router and 3 agents, on each /minitwit tasks of the 3 networking modes"
CL_ID=demo$$
CL_QUIET=1
CL_LOGDIR=$WORK
. tests/e2e/cluster.sh
at_exit cl_down
cl_up || { echo "the cluster lab did not come up"; exit 1; }
nsenter --net="/run/netns/$CL_NS_TOR" "$OUTPUT/marathon-sim" --listen "$CL_MARATHON" \
	--control "$CL_TOR_IP:8081" --scenario tests/fixtures/sim/cluster.json \
	>"$WORK/csim.out" 2>"$WORK/csim.log" &
track_pid $!
wait_for 5 grep -q '^control on ' "$WORK/csim.out" ||
	{ echo "marathon-sim did not start"; cat "$WORK/csim.log"; exit 1; }
CL_PY=$(command -v /usr/bin/python3 || command -v python3)
cl_tasks_start "http://$CL_TOR_IP:8081" "$WORK/agents.log"
started() { [ "$(grep -c ' start ' "$WORK/agents.log")" -ge 9 ]; }
wait_for 10 started ||
	{ echo "the agents did not start the tasks"; tail -3 "$WORK/agents.log"; exit 1; }
echo "Marathon at $CL_MARATHON on the ToR; agents 198.18.4.11-13, each in its own cgroup"
echo "/minitwit's 9 backends, as Marathon reports them (each server answers with its name):"
echo "  host tasks   198.18.4.1N:3110N   (agent N's address, host port)"
echo "  bridge tasks 198.18.4.1N:3120N   (host port DNAT-ed to a container on docker0)"
echo "  overlay      198.18.3(2+N).2:8080 (a container on the VXLAN overlay, its own address)"

say "9. xlbd on every agent: socket balancing on its agent's cgroup (no interfaces)"
cpin() { echo "$PIN-a$1"; }
for n in 1 2 3; do
	track_pin "$(cpin "$n")"
	cat >"$WORK/xlbd-a$n.json" <<JSON
{ "pin_path": "$(cpin "$n")", "metrics": { "listen": null }, "socket_lb": true,
  "cgroup": "$(cl_cg "$n")", "interfaces": [],
  "marathon": { "urls": ["http://$CL_MARATHON"], "named_vip_range": "198.19.0.0/16" } }
JSON
	cl_spawn "$n" "$(cl_ns "$n")" "$OUTPUT/xlbd" -c "$WORK/xlbd-a$n.json" \
		>"$WORK/xlbd-a$n.log" 2>&1
done
# minitwit_of N: agent N's xlbd has /minitwit (TCP) with its 9 backends; sets MVIP.
minitwit_of() {
	MVIP=$("$OUTPUT/lbstat" --pin-path "$(cpin "$1")" --no-rates -j 2>/dev/null |
		jq -r 'first(.vips[]? |
		select((.name // "" | startswith("minitwit.")) and .protocol == "tcp" and
		.backends_active == 9) | .address) // empty')
	[ -n "$MVIP" ]
}
for n in 1 2 3; do
	wait_for 10 minitwit_of "$n" ||
		{ echo "agent $n's xlbd did not program /minitwit"; tail -3 "$WORK/xlbd-a$n.log"; exit 1; }
done
grep -h "socket balancing: attached" "$WORK"/xlbd-a*.log | sed 's/^[^ ]* xlbd: info: /  /'
echo "every agent: minitwit.marathon.l4lb.thisdcos.directory -> $MVIP:80 (the same address)"

# requests AGENT NS WHAT: 12 requests to the VIP from NS (in AGENT's cgroup), each answer printed.
requests() {
	local i out
	for i in $(seq 12); do
		out=$(cl_run "$1" "$2" curl -s --noproxy '*' --max-time 2 "http://$MVIP/" | tr -d '\n')
		printf '%-20s' "${out:-FAIL}"
		[ $((i % 4)) = 0 ] && echo
	done
}
say "10. 12 requests to $MVIP:80 from a bridge container on agent 1 ($(cl_br_ip 1))"
requests 1 "$(cl_ns_br 1)"
say "11. 12 requests to $MVIP:80 from a host process on agent 2 ($(cl_ip 2))"
requests 2 "$(cl_ns 2)"
say "12. lbstat on agent 1 (Conns: connections its socket programs sent to each backend)"
"$OUTPUT/lbstat" --pin-path "$(cpin 1)" -b --no-rates --vip "$MVIP:80/tcp"
say "13. lbstat on agent 2"
"$OUTPUT/lbstat" --pin-path "$(cpin 2)" -b --no-rates --vip "$MVIP:80/tcp"
say "Done: removing the labs (namespaces, cgroups, pins, processes)"
