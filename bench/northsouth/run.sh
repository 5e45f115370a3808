#!/usr/bin/env bash
# North-south benchmark, in the cluster lab of tests/e2e/cluster.sh with the
# outside network of the north-south scenario: wrk on the outside client
# (198.18.5.10, behind the ToR) against a VIP the ToR routes to public agent 4,
# served by Debian's nginx as host tasks of the private agents 1-3
# (198.18.4.1N:80), whose default route is the ToR and never the public agent.
# The same client, VIP and backends for every setup; on the public agent:
#   haproxy     Debian's HAProxy, mode tcp, balance roundrobin, on the VIP
#               (marathon-lb's way: a proxy, two connections per request)
#   xlb_fnat    xlb, native XDP on eth0, full-NAT (the backends see agent 4)
#   xlb_dsr     xlb, native XDP on eth0, DSR: encapsulated to the backend's
#               agent, whose xlb (XDP on eth0, TC egress on eth0) delivers it
#               and answers the client directly
# Loads (wrk, bench/e2e/report.lua): short = `Connection: close`, a new TCP
# connection per request, a 10-byte page; keepalive = persistent connections,
# same page; bulk = keep-alive, a 1 MiB file. TRIALS rounds (default 3), each
# running every setup once, each load for DURATION seconds (default 10; QUICK=1:
# 1 s). Per trial: requests/s, MB/s, latency p50/p99, errors, whole-machine CPU
# (/proc/stat: client, balancer and backends share the CPUs) and the balancer's
# own CPU on the public agent: xlb's BPF run time (BPF_ENABLE_STATS, held by
# bench/e2e/bpf_stats.py; the DSR agents' run time is reported beside it) or
# HAProxy's utime+stime. JSON lines go to $OUTPUT/bench/northsouth.json;
# bench/report.py turns them into the north-south table of BENCHMARKS.md.
#
# Root, bpffs, cgroup v2. Everything it makes (the lab's namespaces and cgroups,
# nginx, haproxy, wrk, xlb's pins under /sys/fs/bpf/xlb-bench-ns-*, the BPF
# statistics switch) is removed on any exit.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-10}
[ -n "${QUICK:-}" ] && DURATION=${QUICK_DURATION:-1}
CONNS_SHORT=${CONNS_SHORT:-16}
CONNS_KA=${CONNS_KA:-16}
CONNS_BULK=${CONNS_BULK:-4}
SETUPS=${SETUPS:-haproxy xlb_fnat xlb_dsr}
RESULTS=$OUTPUT/bench/northsouth.json
PY=$(command -v /usr/bin/python3 || command -v python3)
VIP=198.18.0.30
. tests/lib/test.sh
. bench/lib.sh
t_tmpdir /tmp/xlb-bench-ns.XXXXXX
CL_ID=bns$$
CL_QUIET=1
CL_LOGDIR=$TMP
CL_AGENTS=4 # 1-3 private (the backends), 4 public (the balancer)
. tests/e2e/cluster.sh
at_exit cl_down
XLBD=$(realpath -m "$OUTPUT/xlbd")
LB=4
BACKENDS=(1 2 3)
pin() { echo "/sys/fs/bpf/xlb-bench-ns-$$-a$1"; }
for n in "$LB" "${BACKENDS[@]}"; do
	track_pin "$(pin "$n")"
done
LB_KIND=
PROG_IDS=
AGENT_IDS=
HAPROXY_PID=
ROUND=1

die() {
	echo "bench northsouth: $*" >&2
	exit 1
}

for tool in wrk nginx haproxy nft ethtool bpftool nsenter jq; do
	command -v "$tool" >/dev/null || die "$tool missing (make bench-deps)"
done
[ -x "$XLBD" ] || die "$XLBD missing (make)"
mkdir -p "$OUTPUT/bench"
jq -nc '$ARGS.positional as $a | {bench: "northsouth_settings", trials: ($a[0] | tonumber),
	duration_s: ($a[1] | tonumber), conns_short: ($a[2] | tonumber),
	conns_keepalive: ($a[3] | tonumber), conns_bulk: ($a[4] | tonumber), wrk: $a[5],
	nginx: $a[6], haproxy: $a[7], date: $a[8], git: $a[9], quick: ($a[10] == "1"),
	vip: $a[11]}' --args "$TRIALS" "$DURATION" "$CONNS_SHORT" "$CONNS_KA" "$CONNS_BULK" \
	"$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')" "$(nginx -v 2>&1 | sed 's,.*/,,')" \
	"$(haproxy -v | awk 'NR == 1 { print $3 }')" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	"$(git describe --always --dirty 2>/dev/null)" "${QUICK:+1}" "$VIP:80" >"$RESULTS"

# ---- the lab and the backends ----------------------------------------------------------------

cl_up || die "the cluster lab did not come up"
cl_outside_up "$LB" || die "the outside network did not come up"
out() { nsenter --net="/run/netns/$CL_NS_OUT" "$@"; }
out sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
for n in $(seq 1 "$CL_AGENTS"); do
	cl_in "$(cl_ns "$n")" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=5 2>/dev/null
done

# nginx_up N: nginx as a host task of agent N on its address, port 80: a small page at / and a
# 1 MiB file at /1m; two workers, as bench/e2e.
nginx_up() {
	local n=$1 d=$TMP/nginx$1
	nginx_conf "$d" "$(cl_ip "$n"):80"
	cl_ip "$n" >"$d/www/index.html"
	head -c 1048576 /dev/zero >"$d/www/1m"
	chmod -R a+rX "$TMP"
	cl_spawn "$n" "$(cl_ns "$n")" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" \
		>"$d/out.log" 2>&1
}
for b in "${BACKENDS[@]}"; do
	nginx_up "$b"
done
answers() { cl_run "$LB" "$(cl_ns "$LB")" curl -sf --noproxy '*' --max-time 1 -o /dev/null "http://$1/"; }
for b in "${BACKENDS[@]}"; do
	wait_for 10 answers "$(cl_ip "$b")" ||
		die "nginx on agent $b does not answer: $(cat "$TMP/nginx$b/error.log")"
done

# ---- measuring -------------------------------------------------------------------------------

prog_ids() { # prog_ids N: xlb's programs on agent N's interfaces
	cl_in "$(cl_ns "$1")" bpftool -j net show 2>/dev/null | jq -r '[.. | objects | to_entries[] |
		select((.key == "id" or .key == "prog_id") and (.value | type) == "number") | .value] |
		unique | map(tostring) | join(" ")'
}
proc_ticks() { awk '{ printf "%.0f\n", $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

# trial SETUP LOAD N URL [wrk args...]: one wrk run from the outside client with CPU
# accounting; one JSON line.
trial() {
	local setup=$1 load=$2 n=$3 url=$4
	shift 4
	local c0 c1 b0=0 b1=0 a0=0 a1=0 p0=0 p1=0 out lb_cpu=null agent_cpu=null line f
	# shellcheck disable=SC2086 # id lists
	[ -n "$PROG_IDS" ] && b0=$(bpf_ns $PROG_IDS)
	# shellcheck disable=SC2086
	[ -n "$AGENT_IDS" ] && a0=$(bpf_ns $AGENT_IDS)
	[ -n "$HAPROXY_PID" ] && p0=$(proc_ticks "$HAPROXY_PID")
	c0=$(cpu_now)
	out=$(timeout $((DURATION + 30)) nsenter --net="/run/netns/$CL_NS_OUT" wrk \
		-d "${DURATION}s" --timeout 5s -s bench/e2e/report.lua "$@" "$url" 2>&1)
	c1=$(cpu_now)
	# shellcheck disable=SC2086
	[ -n "$PROG_IDS" ] && b1=$(bpf_ns $PROG_IDS) &&
		lb_cpu=$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
	# shellcheck disable=SC2086
	[ -n "$AGENT_IDS" ] && a1=$(bpf_ns $AGENT_IDS) &&
		agent_cpu=$(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
	[ -n "$HAPROXY_PID" ] && p1=$(proc_ticks "$HAPROXY_PID") &&
		lb_cpu=$(awk -v a="$p0" -v b="$p1" -v hz="$HZ" 'BEGIN { printf "%.6f", (b - a) / hz }')
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
		--argjson hz "$HZ" --argjson lb_cpu "$lb_cpu" --argjson agent_cpu "$agent_cpu" \
		--arg lb_kind "$LB_KIND" '
		def r(k): . * k | round / k;
		(.duration_us / 1e6) as $d | . + {bench: "northsouth", setup: $setup, load: $load,
		trial: $n, duration_s: ($d | r(1000)), rps: (.requests / $d | r(10)),
		mbytes_per_s: (.bytes / $d / 1e6 | r(100)),
		errors: ([to_entries[] | select(.key | startswith("err_")) | .value] | add // 0),
		cpu_busy_s: (($busy1 - $busy0) / $hz | r(1000)),
		cpu_softirq_s: (($si1 - $si0) / $hz | r(1000)),
		lb_cpu_s: $lb_cpu, agent_cpu_s: $agent_cpu,
		lb_cpu_kind: (if $lb_kind == "" then null else $lb_kind end)}' <<<"$out")
	echo "$line" >>"$RESULTS"
	f=$(jq -r '[.trial, .rps, .mbytes_per_s, (.lat_p50_us // 0) / 1e3, (.lat_p99_us // 0) / 1e3,
		.errors, .cpu_busy_s, (if .requests > 0 and .lb_cpu_s != null then
		.lb_cpu_s / .requests * 1e6 else 0 end)] | @tsv' <<<"$line")
	local tr rps mb p50 p99 errs busy per
	IFS=$'\t' read -r tr rps mb p50 p99 errs busy per <<<"$f"
	printf '  %-9s %-9s #%d %8.0f req/s %7.1f MB/s  p50 %6.2f ms  p99 %6.2f ms  errors %d' \
		"$setup" "$load" "$tr" "$rps" "$mb" "$p50" "$p99" "$errs"
	printf '  cpu %.2f s, balancer %.2f us/req\n' "$busy" "$per"
}

# spread SETUP: 30 short requests from outside reach each of the 3 backends, else the setup
# is left out (and said so).
spread() {
	local body seen='' i
	for i in $(seq 30); do
		body=$(out curl -s --noproxy '*' --max-time 2 "http://$VIP/")
		case " $seen " in *" $body "*) ;; *) seen="$seen $body" ;; esac
	done
	seen=${seen# }
	if [ "$(wc -w <<<"$seen")" = "${#BACKENDS[@]}" ] && [[ $seen == 198.18.4.* ]]; then
		[ "$ROUND" = 1 ] && echo "  $1: the VIP answers from ${seen// /, }"
		return 0
	fi
	echo "  $1: the VIP does not reach its ${#BACKENDS[@]} backends (got '$seen'): left out"
	return 1
}

# ---- the setups ------------------------------------------------------------------------------

# xlbd_once N MODE PART: xlbd --once on agent N with the VIP in MODE and the 3 backends.
xlbd_once() {
	local n=$1 mode=$2 part=$3 b
	cat >"$TMP/xlbd-$n.json" <<EOF
{ "pin_path": "$(pin "$n")", "metrics": { "listen": null }, "marathon": { "urls": [] },
  "socket_lb": false, $part,
  "vips": [ { "vip": "$VIP:80/tcp", "name": "bench-ns", "app": "bench-ns", "mode": "$mode",
              "backends": [ $(for b in "${BACKENDS[@]}"; do printf '"%s:80"\n' "$(cl_ip "$b")"
	done | paste -sd,) ] } ] }
EOF
	cl_run "$n" "$(cl_ns "$n")" "$XLBD" -c "$TMP/xlbd-$n.json" --once >"$TMP/xlbd-$n.log" 2>&1 ||
		{
			echo "  xlbd on agent $n failed: $(tail -3 "$TMP/xlbd-$n.log")"
			return 1
		}
}

xlb_down() {
	local n
	for n in "$LB" "${BACKENDS[@]}"; do
		[ -e "$(pin "$n")" ] || continue
		cl_in "$(cl_ns "$n")" "$XLBD" -c "$TMP/xlbd-$n.json" --detach-and-unpin >/dev/null 2>&1
		rm -rf "$(pin "$n")"
	done
	PROG_IDS=
	AGENT_IDS=
}

setup_haproxy() {
	[ -n "${DESCRIBE:-}" ] && echo "HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), mode" \
		"tcp, balance roundrobin, on agent $LB (marathon-lb's way)" && return
	local b
	cl_in "$(cl_ns "$LB")" ip addr add "$VIP/32" dev lo
	cat >"$TMP/haproxy.cfg" <<EOF
global
	maxconn 8000
	pidfile $TMP/haproxy.pid
defaults
	mode tcp
	retries 3
	backlog 10000
	maxconn 10000
	timeout connect 3s
	timeout client 30s
	timeout server 30s
	timeout tunnel 3600s
	option dontlognull
	option redispatch
frontend bench_80
	bind $VIP:80
	use_backend bench_80
backend bench_80
	balance roundrobin
$(for b in "${BACKENDS[@]}"; do echo "	server a$b $(cl_ip "$b"):80"; done)
EOF
	ip netns exec "$(cl_ns "$LB")" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	track_pid $HAPROXY_PID
	vip_up() { out curl -s --noproxy '*' --max-time 1 -o /dev/null "http://$VIP/"; }
	wait_for 5 vip_up
	LB_KIND=process_cpu
	spread haproxy
}
down_haproxy() {
	[ -n "$HAPROXY_PID" ] || return 0
	kill "$HAPROXY_PID" 2>/dev/null
	wait "$HAPROXY_PID" 2>/dev/null
	HAPROXY_PID=
	cl_in "$(cl_ns "$LB")" ip addr del "$VIP/32" dev lo
}

setup_xlb_fnat() {
	[ -n "${DESCRIBE:-}" ] && echo "xlb on agent $LB, native XDP on eth0, full-NAT" && return
	xlbd_once "$LB" fullnat '"interfaces": [ "eth0" ]' || return 1
	PROG_IDS=$(prog_ids "$LB")
	LB_KIND=bpf_run_time
	spread xlb_fnat
}

setup_xlb_dsr() {
	[ -n "${DESCRIBE:-}" ] && echo "xlb on agent $LB, native XDP on eth0, DSR; xlb on agents" \
		"${BACKENDS[*]} (XDP and TC egress on eth0) takes the tunnel off and answers" && return
	local b
	for b in "${BACKENDS[@]}"; do
		xlbd_once "$b" dsr '"interfaces": [ "eth0" ], "egress_interfaces": [ "eth0" ]' ||
			return 1
		AGENT_IDS="$AGENT_IDS $(prog_ids "$b")"
	done
	xlbd_once "$LB" dsr '"interfaces": [ "eth0" ]' || return 1
	PROG_IDS=$(prog_ids "$LB")
	LB_KIND=bpf_run_time
	spread xlb_dsr
}

down() {
	down_haproxy
	xlb_down
	LB_KIND=
}

echo "northsouth: $TRIALS rounds, each setup once per round, ${DURATION} s per load; wrk" \
	"$(wrk -v 2>&1 | head -1 | awk '{print $2}') on the outside client ($CL_OUT_IP), nginx" \
	"$(nginx -v 2>&1 | sed 's,.*/,,') host tasks on agents ${BACKENDS[*]}; VIP $VIP:80 routed to" \
	"agent $LB; short: -t2 -c$CONNS_SHORT 'Connection: close'; keepalive: -t2 -c$CONNS_KA;" \
	"bulk: 1 MiB, -t1 -c$CONNS_BULK"
for s in $SETUPS; do
	printf '  %-10s %s\n' "$s" "$(DESCRIBE=1 "setup_$s")"
done
stats_on
declare -A LEFT_OUT
for ROUND in $(seq 1 "$TRIALS"); do
	echo "=== round $ROUND of $TRIALS"
	for s in $SETUPS; do
		[ -n "${LEFT_OUT[$s]:-}" ] && continue
		if ! "setup_$s"; then
			LEFT_OUT[$s]=1
			jq -nc --arg s "$s" --arg r "$ROUND" \
				'{bench: "northsouth", setup: $s, error: "the VIP does not answer, round \($r)"}' \
				>>"$RESULTS"
			down
			continue
		fi
		# warm-up (ARP, conntrack, nginx workers), not recorded
		[ "$ROUND" = 1 ] && out wrk -t1 -c4 -d1s "http://$VIP/" >/dev/null 2>&1
		trial "$s" short "$ROUND" "http://$VIP/" -t2 -c "$CONNS_SHORT" -H "Connection: close"
		trial "$s" keepalive "$ROUND" "http://$VIP/" -t2 -c "$CONNS_KA"
		trial "$s" bulk "$ROUND" "http://$VIP/1m" -t1 -c "$CONNS_BULK"
		down
	done
done
stats_off
echo "JSON lines: $RESULTS"
