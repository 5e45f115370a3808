#!/usr/bin/env bash
# East-west benchmark, in the cluster lab of tests/e2e/cluster.sh (a ToR and
# three agents, network namespaces on this machine): a host process on agent 1
# (wrk, in agent 1's cgroup and namespace) against Debian's nginx running as
# host-networking tasks on agents 2 and 3 (198.18.4.12:31102, 198.18.4.13:31103),
# the same client and backends for every setup:
#   direct       no xlb anywhere: the client talks to agent 2's backend directly
#                (the ceiling)
#   sock_lb      xlbd on agent 1 with socket balancing on its agent's cgroup, no
#                interfaces: connect() to the VIP 198.18.0.20:80 gets one of the
#                two backends, translated at the socket
#   sock_lb_one  the same with agent 2's backend alone behind the VIP: the client
#                ends up where direct's does, so only the translation differs
#   pkt_tc       socket balancing off; the per-packet path on agent 1: TC egress
#                on eth0 translates what the agent sends to the VIP, TC ingress on
#                eth0 translates the replies back
#   pkt_xdp      the same with native XDP instead of TC ingress for the replies
# The per-packet setups serve a host process of the agent (its traffic crosses TC
# egress); bridge containers behind the agent's masquerading are the east-west
# scenarios' business (tests/e2e/test_cluster_pkt.sh), not measured here.
# Loads (wrk, bench/e2e/report.lua): short = `Connection: close`, a new TCP
# connection per request; keepalive = persistent connections; same 10-byte page.
# TRIALS rounds (default 3), each running every setup once, each load for DURATION
# seconds (default 10; QUICK=1: 1 s). Per trial: requests/s, latency p50/p99, errors, whole-machine
# CPU (busy and softirq seconds from /proc/stat: client, balancer and backends
# share the CPUs) and xlb's own CPU: the run time of its BPF programs
# (BPF_ENABLE_STATS, held by bench/e2e/bpf_stats.py for the run).
# JSON lines go to $OUTPUT/bench/eastwest.json; bench/report.py turns them into
# the east-west table of BENCHMARKS.md.
#
# Root, bpffs, cgroup v2. Everything it makes (the lab's namespaces and cgroups,
# nginx, wrk, xlb's pins and links under /sys/fs/bpf/xlb-bench-ew-*, the BPF
# statistics switch) is removed on any exit.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-10}
[ -n "${QUICK:-}" ] && DURATION=${QUICK_DURATION:-1}
CONNS_SHORT=${CONNS_SHORT:-16}
CONNS_KA=${CONNS_KA:-16}
SETUPS=${SETUPS:-direct sock_lb sock_lb_one pkt_tc pkt_xdp}
RESULTS=$OUTPUT/bench/eastwest.json
PY=$(command -v /usr/bin/python3 || command -v python3)
VIP=198.18.0.20
# tests/lib/test.sh: bounded polling, and cleanup on any exit of what is registered here
. tests/lib/test.sh
. bench/lib.sh
t_tmpdir /tmp/xlb-bench-ew.XXXXXX
CL_ID=bew$$
CL_QUIET=1
CL_LOGDIR=$TMP
. tests/e2e/cluster.sh
at_exit cl_down # every process of the agents' cgroups (nginx, wrk), namespaces, cgroups
PIN=/sys/fs/bpf/xlb-bench-ew-$$
XLBD=$(realpath -m "$OUTPUT/xlbd") # track_pin detaches with it
track_pin "$PIN"
CLIENT=1
BACKENDS=(2 3)
hostport() { echo $((31100 + $1)); }	   # agent N's nginx: host port 3110N
backend_ep() { echo "$(cl_ip "$1"):$(hostport "$1")"; }
DIRECT=$(backend_ep "${BACKENDS[0]}")
VIP_BACKENDS=("${BACKENDS[@]}") # the VIP's, per setup
LB_KIND=
PROG_IDS=
ROUND=1
EP=

die() {
	echo "bench eastwest: $*" >&2
	exit 1
}

for tool in wrk nginx nft ethtool bpftool nsenter jq; do
	command -v "$tool" >/dev/null || die "$tool missing (make bench-deps)"
done
[ -x "$XLBD" ] || die "$XLBD missing (make)"
[ -n "$(cl_cgroup_root)" ] || die "no cgroup v2 mount"
mkdir -p "$OUTPUT/bench"
jq -nc '$ARGS.positional as $a | {bench: "eastwest_settings", trials: ($a[0] | tonumber),
	duration_s: ($a[1] | tonumber), conns_short: ($a[2] | tonumber),
	conns_keepalive: ($a[3] | tonumber), wrk: $a[4], nginx: $a[5], date: $a[6], git: $a[7],
	quick: ($a[8] == "1"), client: $a[9], backends: ($a[10] | split(" ")), direct: $a[11],
	vip: $a[12]}' --args "$TRIALS" "$DURATION" "$CONNS_SHORT" "$CONNS_KA" \
	"$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')" "$(nginx -v 2>&1 | sed 's,.*/,,')" \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git describe --always --dirty 2>/dev/null)" \
	"${QUICK:+1}" "host process on agent $CLIENT ($(cl_ip "$CLIENT"))" \
	"$(for b in "${BACKENDS[@]}"; do backend_ep "$b"; done | tr '\n' ' ' | sed 's/ $//')" \
	"$DIRECT" "$VIP:80" >"$RESULTS"

# ---- the lab and the backends ----------------------------------------------------------------

cl_up || die "the cluster lab did not come up"
# The agents' NAT tables make every agent track connections; short connections
# leave many in TIME_WAIT: a shorter wait there keeps the table from filling
# (nf_conntrack_max is the machine's), in the lab's namespaces only.
for n in $(seq 1 "$CL_AGENTS"); do
	cl_in "$(cl_ns "$n")" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=5 2>/dev/null
done

# nginx_up N: Debian's nginx as a host task of agent N (its cgroup and namespace), on the
# agent's address and host port, a small page at /; two workers, as bench/e2e.
nginx_up() {
	local n=$1 d=$TMP/nginx$1
	mkdir -p "$d/www" "$d/tmp"
	backend_ep "$n" >"$d/www/index.html"
	cat >"$d/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	default_type text/plain;
	keepalive_requests 10000000;
	keepalive_timeout 120s;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	server {
		listen $(backend_ep "$n") backlog=4096;
		root $d/www;
	}
}
EOF
	chmod -R a+rX "$TMP"
	cl_spawn "$n" "$(cl_ns "$n")" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
		>"$d/out.log" 2>&1
}

for b in "${BACKENDS[@]}"; do
	nginx_up "$b"
done
answers() { # answers EP: a process of the client's agent (its cgroup) gets a page from http://EP/
	cl_run "$CLIENT" "$(cl_ns "$CLIENT")" curl -sf --noproxy '*' --max-time 1 -o /dev/null "http://$1/"
}
for b in "${BACKENDS[@]}"; do
	wait_for 10 answers "$(backend_ep "$b")" ||
		die "nginx on agent $b does not answer: $(cat "$TMP/nginx$b/error.log")"
done

# ---- measuring -------------------------------------------------------------------------------

# xlb_prog_ids: ids of xlb's programs on the client's agent: on its cgroup and its interfaces.
xlb_prog_ids() {
	{
		bpftool -j cgroup show "$(cl_cg "$CLIENT")" 2>/dev/null | jq -r '.[]?.id'
		cl_in "$(cl_ns "$CLIENT")" bpftool -j net show 2>/dev/null | jq -r '.. | objects |
			to_entries[] | select((.key == "id" or .key == "prog_id") and
			(.value | type) == "number") | .value'
	} | sort -un | tr '\n' ' '
}

HZ=$(getconf CLK_TCK)

# wrk_in_client ARGS...: wrk as a host process of the client agent (its cgroup: the socket
# programs see it), bounded.
wrk_in_client() {
	timeout $((DURATION + 30)) bash "$CL_SELF" exec "$(cl_cg "$CLIENT")" "$(cl_ns "$CLIENT")" \
		wrk "$@"
}

# trial SETUP LOAD N URL [wrk args...]: one wrk run with CPU accounting; one JSON line.
trial() {
	local setup=$1 load=$2 n=$3 url=$4
	shift 4
	local c0 c1 b0=0 b1=0 out lb_cpu=null line f
	# shellcheck disable=SC2086 # id lists
	[ -n "$PROG_IDS" ] && b0=$(bpf_ns $PROG_IDS)
	c0=$(cpu_now)
	out=$(wrk_in_client -d "${DURATION}s" --timeout 5s -s bench/e2e/report.lua "$@" "$url" \
		2>&1)
	c1=$(cpu_now)
	# shellcheck disable=SC2086
	[ -n "$PROG_IDS" ] && b1=$(bpf_ns $PROG_IDS) &&
		lb_cpu=$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
	if grep -q '^{' <<<"$out"; then
		out=$(grep -m1 '^{' <<<"$out")
	else
		out=$(jq -nc --arg e "wrk: $(tail -2 <<<"$out" | tr '\n' ' ')" \
			'{requests: 0, duration_us: 1, bytes: 0, error: $e}')
	fi
	# shellcheck disable=SC2086
	set -- $c0 $c1
	line=$(jq -c --arg setup "$setup" --arg load "$load" --argjson n "$n" \
		--argjson busy0 "$1" --argjson si0 "$2" --argjson busy1 "$3" --argjson si1 "$4" \
		--argjson hz "$HZ" --argjson lb_cpu "$lb_cpu" --arg lb_kind "$LB_KIND" '
		def r(k): . * k | round / k;
		(.duration_us / 1e6) as $d | . + {bench: "eastwest", setup: $setup, load: $load,
		trial: $n, duration_s: ($d | r(1000)), rps: (.requests / $d | r(10)),
		errors: ([to_entries[] | select(.key | startswith("err_")) | .value] | add // 0),
		cpu_busy_s: (($busy1 - $busy0) / $hz | r(1000)),
		cpu_softirq_s: (($si1 - $si0) / $hz | r(1000)),
		lb_cpu_s: $lb_cpu, lb_cpu_kind: (if $lb_kind == "" then null else $lb_kind end)}' \
		<<<"$out")
	echo "$line" >>"$RESULTS"
	f=$(jq -r '[.trial, .rps, (.lat_p50_us // 0) / 1e3, (.lat_p99_us // 0) / 1e3, .errors,
		.cpu_busy_s, .cpu_softirq_s, (if .requests > 0 then .cpu_busy_s / .requests * 1e6
		else 0 end), (.lb_cpu_s // "")] | @tsv' <<<"$line")
	local tr rps p50 p99 errs busy si per lb
	IFS=$'\t' read -r tr rps p50 p99 errs busy si per lb <<<"$f"
	[ -n "$lb" ] && lb=$(printf '  xlb %.3f s' "$lb")
	printf '  %-11s %-9s #%d %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d' \
		"$setup" "$load" "$tr" "$rps" "$p50" "$p99" "$errs"
	printf '  cpu %.2f s (softirq %.2f, %.1f us/req)%s\n' "$busy" "$si" "$per" "$lb"
}

# ports SETUP: the client's own range of source ports for SETUP. Backends keep short
# connections in TIME_WAIT (nginx closes first) and accept a new SYN on such a tuple only
# when its sequence number and timestamp are newer. A client's ISN and timestamp offset
# are hashed from the tuple its socket connected to: the VIP for the per-packet setups,
# the backend for the others. So the same wire tuple reused by another setup would meet a
# TIME_WAIT that refuses it half the time (a SYN retransmitted after 1 s); disjoint
# ranges keep the setups from meeting each other's TIME_WAITs.
ports() {
	local i=0 s
	for s in direct sock_lb sock_lb_one pkt_tc pkt_xdp; do
		[ "$s" = "$1" ] && break
		i=$((i + 1))
	done
	cl_in "$(cl_ns "$CLIENT")" sysctl -qw \
		net.ipv4.ip_local_port_range="$((1024 + i * 12800)) $((1024 + i * 12800 + 12799))"
}

# spread SETUP: 40 short requests from the client to the VIP reach each of its backends,
# else the setup is left out (and said so).
spread() {
	local body seen='' i
	for i in $(seq 40); do
		body=$(cl_run "$CLIENT" "$(cl_ns "$CLIENT")" curl -s --noproxy '*' --max-time 2 \
			"http://$VIP/")
		case " $seen " in *" $body "*) ;; *) seen="$seen $body" ;; esac
	done
	seen=${seen# }
	if [ "$(wc -w <<<"$seen")" = "${#VIP_BACKENDS[@]}" ] && [[ $seen == 198.18.4.* ]]; then
		[ "$ROUND" = 1 ] && echo "  $1: the VIP answers from ${seen// /, }"
		return 0
	fi
	echo "  $1: the VIP does not reach its ${#VIP_BACKENDS[@]} backend(s) (got '$seen'): left out"
	return 1
}

# ---- the setups ------------------------------------------------------------------------------
# Each round runs every setup once (both loads, one trial each), so that a machine whose
# speed drifts (other work on a shared VM) shifts every setup alike: setup_SETUP makes it
# (or only says what it is, with DESCRIBE=1), the trials run, down_xlb undoes it.

sock_part() {
	echo "\"socket_lb\": true, \"cgroup\": \"$(cl_cg "$CLIENT")\", \"interfaces\": [],
  \"egress_interfaces\": []"
}
pkt_part() { # pkt_part MODE
	echo "\"socket_lb\": false, \"interfaces\": [ {\"name\": \"eth0\", \"mode\": \"$1\"} ],
  \"egress_interfaces\": [ \"eth0\" ]"
}

# xlb_up SETUP CONFIG-PART: xlbd --once on the client's agent, with the VIP and its
# VIP_BACKENDS, BPF statistics on; the VIP reaches them.
xlb_up() {
	local setup=$1 part=$2 b
	cat >"$TMP/xlbd.json" <<EOF
{ "pin_path": "$PIN", "metrics": { "listen": null }, "marathon": { "urls": [] },
  $part,
  "vips": [ { "vip": "$VIP:80/tcp", "name": "bench-ew", "app": "bench-ew",
              "backends": [ $(for b in "${VIP_BACKENDS[@]}"; do printf '"%s"\n' "$(backend_ep "$b")"
	done | paste -sd,) ] } ] }
EOF
	if ! cl_run "$CLIENT" "$(cl_ns "$CLIENT")" "$XLBD" -c "$TMP/xlbd.json" --once \
		>"$TMP/$setup.log" 2>&1; then
		echo "  $setup: xlbd failed: $(tail -3 "$TMP/$setup.log")"
		return 1
	fi
	[ "$ROUND" = 1 ] && grep -E 'attached|cgroup' "$TMP/$setup.log" |
		sed "s/^[^ ]* xlbd: /  $setup: /" | head -4
	if [ -n "$STATS_PID" ]; then
		PROG_IDS=$(xlb_prog_ids)
		LB_KIND=bpf_run_time
	fi
	ports "$setup"
	if [ "$ROUND" = 1 ]; then spread "$setup"; else answers "$VIP:80"; fi
}

down_xlb() {
	PROG_IDS=
	LB_KIND=
	[ -e "$PIN" ] || return 0
	cl_in "$(cl_ns "$CLIENT")" "$XLBD" -c "$TMP/xlbd.json" --detach-and-unpin >/dev/null 2>&1
	rm -rf "$PIN"
}

# setup_SETUP: says what it is (DESCRIBE=1) or makes it; EP is where the client goes.
setup_direct() {
	[ -n "${DESCRIBE:-}" ] && echo "agent $CLIENT's host process to agent ${BACKENDS[0]}'s" \
		"backend ($DIRECT) directly, no xlb (the ceiling)" && return
	EP=$DIRECT
}
setup_sock_lb() {
	[ -n "${DESCRIBE:-}" ] && echo "socket balancing on agent $CLIENT's cgroup (no" \
		"interfaces), VIP $VIP:80 to ${#BACKENDS[@]} backends" && return
	EP=$VIP:80
	xlb_up sock_lb "$(sock_part)"
}
setup_sock_lb_one() {
	[ -n "${DESCRIBE:-}" ] && echo "the same, the VIP with one backend (direct's): the" \
		"translation alone" && return
	local rc
	EP=$VIP:80
	VIP_BACKENDS=("${BACKENDS[0]}")
	xlb_up sock_lb_one "$(sock_part)"
	rc=$?
	VIP_BACKENDS=("${BACKENDS[@]}")
	return $rc
}
setup_pkt_tc() {
	[ -n "${DESCRIBE:-}" ] && echo "socket balancing off; per-packet NAT on agent $CLIENT's" \
		"eth0: TC egress (its requests) and TC ingress (the replies)" && return
	EP=$VIP:80
	xlb_up pkt_tc "$(pkt_part tc)"
}
setup_pkt_xdp() {
	[ -n "${DESCRIBE:-}" ] && echo "the same with native XDP for the replies" && return
	EP=$VIP:80
	xlb_up pkt_xdp "$(pkt_part xdp)"
}

echo "eastwest: $TRIALS rounds, each setup once per round, ${DURATION} s per load; wrk" \
	"$(wrk -v 2>&1 | head -1 | awk '{print $2}'), nginx $(nginx -v 2>&1 | sed 's,.*/,,');" \
	"short: -t2 -c$CONNS_SHORT 'Connection: close'; keepalive: -t2 -c$CONNS_KA"
echo "client: a host process on agent $CLIENT ($(cl_ip "$CLIENT")), in its cgroup;" \
	"backends: nginx host tasks $(for b in "${BACKENDS[@]}"; do backend_ep "$b"; done |
		paste -sd' ')"
for s in $SETUPS; do
	printf '  %-12s %s\n' "$s" "$(DESCRIBE=1 "setup_$s")"
done
# BPF run-time statistics on for the whole run: no xlb program runs in direct's path
stats_on
declare -A LEFT_OUT
for ROUND in $(seq 1 "$TRIALS"); do
	echo "=== round $ROUND of $TRIALS"
	for s in $SETUPS; do
		[ -n "${LEFT_OUT[$s]:-}" ] && continue
		LB_KIND=
		if ! "setup_$s"; then
			LEFT_OUT[$s]=1
			jq -nc --arg s "$s" --arg r "$ROUND" \
				'{bench: "eastwest", setup: $s, error: "the VIP does not answer, round \($r)"}' \
				>>"$RESULTS"
			down_xlb
			continue
		fi
		ports "$s"
		# warm-up (ARP, conntrack, nginx workers), not recorded
		[ "$ROUND" = 1 ] && wrk_in_client -t1 -c4 -d1s "http://$EP/" >/dev/null 2>&1
		trial "$s" short "$ROUND" "http://$EP/" -t2 -c "$CONNS_SHORT" -H "Connection: close"
		trial "$s" keepalive "$ROUND" "http://$EP/" -t2 -c "$CONNS_KA"
		down_xlb
	done
done
stats_off
echo "JSON lines: $RESULTS"
