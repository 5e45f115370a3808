#!/usr/bin/env bash
# End-to-end benchmarks, side by side, on the e2e lab's topology (client, load
# balancer host, three backends, all network namespaces on this machine): the
# same client, backends and VIP 198.18.0.10:80 for every setup, one after the
# other:
#   router          the LB host as a plain router, client to backend 1 directly
#                   (the ceiling); its bulk load is also run with the veths'
#                   default offloads (router_default_offload)
#   xlb_xdp         xlb, native XDP on the LB host's veths, NAT to 3 backends
#   xlb_tc          xlb attached at TC ingress instead
#   xlb_fnat        xlb, native XDP, full-NAT (the backends see the LB host's address)
#   haproxy         Debian's HAProxy, mode tcp, balance roundrobin, on the VIP
#   nft_dnat        nftables DNAT, numgen random mod 3 (IPVS is not in this kernel)
# Loads (wrk from the client host against Debian's nginx on the backends):
#   short   Connection: close, a small page    keepalive  keep-alive, same page
#   bulk    keep-alive, a 1 MiB file
# Each load runs TRIALS times (default 3) for DURATION seconds (default 10;
# QUICK=1: 1 s). Per trial: requests/s, MB/s, latency p50/p99, errors, and CPU
# time: system-wide busy and softirq seconds from /proc/stat (the whole VM:
# namespaces share the CPUs), and the balancer's own CPU: xlb's BPF program run
# time (BPF_ENABLE_STATS, the fd-held kernel.bpf_stats_enabled) and HAProxy's
# utime+stime. JSON lines go to $OUTPUT/bench/e2e.json; bench/report.py turns
# them into tables.
#
# Root, bpffs. Traffic stays between the lab's namespaces (198.18.0.0/15);
# namespaces, processes (nginx, haproxy, wrk), nft tables, pins under
# /sys/fs/bpf/xlb-bench-* and BPF statistics are undone on any exit.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
TRIALS=${TRIALS:-3}
DURATION=${DURATION:-10}
[ -n "${QUICK:-}" ] && DURATION=${QUICK_DURATION:-1}
# wrk: threads and connections per load
CONNS_SHORT=${CONNS_SHORT:-16}
CONNS_KA=${CONNS_KA:-16}
CONNS_BULK=${CONNS_BULK:-4}
SETUPS=${SETUPS:-router xlb_xdp xlb_tc xlb_fnat haproxy nft_dnat}
RESULTS=$OUTPUT/bench/e2e.json
# Debian's python3 (make deps) when there is one: a version manager's shim in PATH can take a
# second to start (bench/e2e/bpf_stats.py).
PY=$(command -v /usr/bin/python3 || command -v python3)
VIP=198.18.0.10
LAB_ID=bench$$
LAB_QUIET=1
# tests/lib/test.sh: bounded polling, and cleanup on any exit of what is registered here
. tests/lib/test.sh
. bench/lib.sh
. tests/e2e/lab.sh
at_exit lab_down # kills nginx and anything else left in the namespaces
PIN=/sys/fs/bpf/xlb-bench-$$
t_tmpdir /tmp/xlb-bench-e2e.XXXXXX
track_pin "$PIN"
HAPROXY_PID=
LB_KIND=

# bench_undo: what the setups leave inside the lab's namespaces (run before lab_down; the
# processes, haproxy and bpf_stats.py, have ended by then).
bench_undo() {
	if [ -e "$PIN" ] && [ -f "$TMP/xlbd.json" ]; then
		lab_net "$LAB_NS_LB" "$OUTPUT/xlbd" -c "$TMP/xlbd.json" --detach-and-unpin \
			>/dev/null 2>&1
	fi
	ip netns list 2>/dev/null | grep -q "^$LAB_NS_LB" &&
		lab_in "$LAB_NS_LB" nft delete table ip xlb_bench 2>/dev/null
	return 0
}
at_exit bench_undo

die() {
	echo "bench e2e: $*" >&2
	exit 1
}

for tool in wrk nginx haproxy nft ethtool bpftool; do
	command -v "$tool" >/dev/null || die "$tool missing (make deps)"
done
[ -x "$OUTPUT/xlbd" ] || die "$OUTPUT/xlbd missing (make)"
mkdir -p "$OUTPUT/bench"
jq -nc '$ARGS.positional as $a | {bench: "e2e_settings"} +
	([["trials", "duration_s", "conns_short", "conns_keepalive", "conns_bulk"], $a[0:5]] |
	 transpose | map({(.[0]): (.[1] | tonumber)}) | add) +
	([["wrk", "nginx", "haproxy", "nft"], $a[5:]] | transpose | map({(.[0]): .[1]}) | add)' \
	--args "$TRIALS" "$DURATION" "$CONNS_SHORT" \
	"$CONNS_KA" "$CONNS_BULK" "$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')" \
	"$(nginx -v 2>&1 | sed 's,.*/,,')" "$(haproxy -v | awk 'NR == 1 { print $3 }')" \
	"$(nft --version | awk '{ print $2 }')" >"$RESULTS"

# ---- the lab and the backends ----------------------------------------------------------------

lab_up || die "lab_up failed"
lab_in "$LAB_NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
for i in $(seq 1 "$LAB_BACKENDS"); do
	lab_in "$(lab_ns_b "$i")" sysctl -qw net.ipv4.tcp_tw_reuse=1
done

# nginx_up N: Debian's nginx on backend N, port 80, with a private prefix: a small page at /
# and a 1 MiB file at /1m. Two workers each, so that backend 1 alone (the router setup) can
# use both CPUs, as the three backends together can.
nginx_up() {
	local i=$1 d=$TMP/nginx$1 ns
	ns=$(lab_ns_b "$i")
	nginx_conf "$d" "$(lab_backend_ip "$i"):80"
	printf 'backend-%s\n' "$i" >"$d/www/index.html"
	head -c 1048576 /dev/zero >"$d/www/1m"
	chmod -R a+rX "$d" "$TMP"
	lab_in "$ns" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" &
}

for i in $(seq 1 "$LAB_BACKENDS"); do
	nginx_up "$i"
done
nginx_answers() { lab_in "$LAB_NS_C" curl -sf --max-time 1 -o /dev/null "http://$(lab_backend_ip "$1")/"; }
for i in $(seq 1 "$LAB_BACKENDS"); do
	wait_for 10 nginx_answers "$i" ||
		die "nginx on backend $i does not answer: $(cat "$TMP/nginx$i/error.log")"
done

# ---- measuring -------------------------------------------------------------------------------

# xlb_prog_ids: ids of the BPF programs attached on the LB host (XDP and TC).
xlb_prog_ids() {
	lab_net "$LAB_NS_LB" bpftool -j net show 2>/dev/null | jq -r '[.. | objects | to_entries[] |
		select((.key == "id" or .key == "prog_id") and (.value | type) == "number") | .value] |
		unique | map(tostring) | join(" ")'
}

# proc_ticks PID: utime+stime of a process, all its threads, in clock ticks.
proc_ticks() { awk '{ printf "%.0f\n", $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

HZ=$(getconf CLK_TCK)
PROG_IDS=

# trial SETUP LOAD N URL [wrk args...]: one wrk run with CPU accounting; one JSON line.
trial() {
	local setup=$1 load=$2 n=$3 url=$4
	shift 4
	local c0 c1 b0=0 b1=0 p0=0 p1=0 out lb_cpu=null
	# counters read as close to the run as possible: the slow BPF reads outside the window
	[ -n "$PROG_IDS" ] && b0=$(bpf_ns $PROG_IDS)
	[ -n "$HAPROXY_PID" ] && p0=$(proc_ticks "$HAPROXY_PID")
	c0=$(cpu_now)
	out=$(timeout $((DURATION + 30)) ip netns exec "$LAB_NS_C" wrk -d "${DURATION}s" \
		--timeout 5s -s bench/e2e/report.lua "$@" "$url" 2>&1 | grep '^{')
	c1=$(cpu_now)
	[ -n "$PROG_IDS" ] && b1=$(bpf_ns $PROG_IDS) && lb_cpu=$(awk -v a="$b0" -v b="$b1" \
		'BEGIN { printf "%.6f", (b - a) / 1e9 }')
	[ -n "$HAPROXY_PID" ] && p1=$(proc_ticks "$HAPROXY_PID") && lb_cpu=$(awk -v a="$p0" \
		-v b="$p1" -v hz="$HZ" 'BEGIN { printf "%.6f", (b - a) / hz }')
	[ -n "$out" ] ||
		out='{"requests":0,"duration_us":1,"bytes":0,"error":"wrk printed nothing"}'
	set -- $c0 $c1
	local line f
	# the wrk result with the trial's own fields (rounded as the report shows them)
	line=$(jq -c --arg setup "$setup" --arg load "$load" --argjson n "$n" \
		--argjson busy0 "$1" --argjson si0 "$2" --argjson busy1 "$3" --argjson si1 "$4" \
		--argjson hz "$HZ" --argjson lb_cpu "$lb_cpu" --arg lb_kind "$LB_KIND" '
		def r(k): . * k | round / k;
		(.duration_us / 1e6) as $d | . + {bench: "e2e", setup: $setup, load: $load, trial: $n,
		duration_s: ($d | r(1000)), rps: (.requests / $d | r(10)),
		mbytes_per_s: (.bytes / $d / 1e6 | r(100)),
		errors: ([to_entries[] | select(.key | startswith("err_")) | .value] | add // 0),
		cpu_busy_s: (($busy1 - $busy0) / $hz | r(1000)),
		cpu_softirq_s: (($si1 - $si0) / $hz | r(1000)),
		lb_cpu_s: $lb_cpu, lb_cpu_kind: (if $lb_kind == "" then null else $lb_kind end)}' \
		<<<"$out")
	echo "$line" >>"$RESULTS"
	f=$(jq -r '[.trial, .rps, .mbytes_per_s, (.lat_p50_us // 0) / 1e3, (.lat_p99_us // 0) / 1e3,
		.errors, .cpu_busy_s, .cpu_softirq_s, (.lb_cpu_s // "")] | @tsv' <<<"$line")
	local tr rps mb p50 p99 errs busy si lb
	IFS=$'\t' read -r tr rps mb p50 p99 errs busy si lb <<<"$f"
	[ -n "$lb" ] && lb=$(printf '  balancer %.3f s' "$lb")
	printf '  %-22s %-9s #%d %9.0f req/s %8.1f MB/s  p50 %6.2f ms  p99 %6.2f ms  errors %d' \
		"$setup" "$load" "$tr" "$rps" "$mb" "$p50" "$p99" "$errs"
	printf '  cpu %.2f s (softirq %.2f)%s\n' "$busy" "$si" "$lb"
}

# loads SETUP HOST [LOADS]: every load, TRIALS times, against http://HOST/.
loads() {
	local setup=$1 host=$2 which=${3:-short keepalive bulk} load n
	# warm up (ARP, conntrack, nginx workers), not recorded
	ip netns exec "$LAB_NS_C" wrk -t1 -c4 -d1s "http://$host/" >/dev/null 2>&1
	for load in $which; do
		for n in $(seq 1 "$TRIALS"); do
			case $load in
			short) trial "$setup" short "$n" "http://$host/" -t2 -c "$CONNS_SHORT" \
				-H "Connection: close" ;;
			keepalive) trial "$setup" keepalive "$n" "http://$host/" -t2 \
				-c "$CONNS_KA" ;;
			bulk) trial "$setup" bulk "$n" "http://$host/1m" -t1 -c "$CONNS_BULK" ;;
			esac
		done
	done
}

# check_vip SETUP: the VIP answers from the client, else the setup is skipped (and said so).
check_vip() {
	local body
	body=$(lab_in "$LAB_NS_C" curl -s --max-time 2 "http://$VIP/")
	case $body in
	backend-*) return 0 ;;
	esac
	echo "  $1: the VIP does not answer (got '${body}'): skipped"
	echo "{\"bench\":\"e2e\",\"setup\":\"$1\",\"error\":\"VIP does not answer\"}" >>"$RESULTS"
	return 1
}

offloads() { # offloads on|off: TX checksum (and with it TSO/GSO) on the client and backends
	local ns
	for ns in "$LAB_NS_C" $(for i in $(seq 1 "$LAB_BACKENDS"); do lab_ns_b "$i"; done); do
		if [ "$1" = on ]; then
			lab_in "$ns" ethtool -K eth0 tx on sg on tso on gso on >/dev/null 2>&1
		else
			lab_in "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
		fi
	done
}

# ---- the setups ------------------------------------------------------------------------------

setup_router() {
	echo "=== router: the LB host forwards, client to backend 1 ($(lab_backend_ip 1)) directly"
	LB_KIND=
	loads router "$(lab_backend_ip 1)"
	echo "    bulk again with the veths' default offloads (TX checksum, TSO, GSO on)"
	offloads on
	loads router_default_offload "$(lab_backend_ip 1)" bulk
	offloads off
}

xlb_setup() { # xlb_setup SETUP MODE [FWD]: FWD nat (default) or fullnat
	local setup=$1 mode=$2 fwd=${3:-nat} i ifs
	ifs="{\"name\": \"lb-c\", \"mode\": \"$mode\"}"
	for i in $(seq 1 "$LAB_BACKENDS"); do
		ifs="$ifs, {\"name\": \"lb-b$i\", \"mode\": \"$mode\"}"
	done
	cat >"$TMP/xlbd.json" <<EOF
{ "pin_path": "$PIN", "metrics": { "listen": null }, "marathon": { "urls": [] },
  "socket_lb": false, "interfaces": [ $ifs ], "datapath": { "mode": "$fwd" },
  "vips": [ { "vip": "$VIP:80/tcp", "name": "bench", "app": "bench",
              "backends": [ $(for i in $(seq 1 "$LAB_BACKENDS"); do
	printf '"%s:80"%s' "$(lab_backend_ip "$i")" "$([ "$i" -lt "$LAB_BACKENDS" ] && echo ,)"
done) ] } ] }
EOF
	echo "=== $setup: xlbd --once, $mode on lb-c and lb-b1..$LAB_BACKENDS," \
		"$fwd to $LAB_BACKENDS backends"
	if ! lab_net "$LAB_NS_LB" "$OUTPUT/xlbd" -c "$TMP/xlbd.json" --once >"$TMP/$setup.log" \
		2>&1; then
		echo "  xlbd failed: $(tail -3 "$TMP/$setup.log")"
		echo "{\"bench\":\"e2e\",\"setup\":\"$setup\",\"error\":\"xlbd failed\"}" \
			>>"$RESULTS"
		return
	fi
	grep -E 'attached' "$TMP/$setup.log" | sed 's/^[^ ]* xlbd: /  /'
	if stats_on; then
		PROG_IDS=$(xlb_prog_ids)
		LB_KIND=bpf_run_time
		echo "  programs (ids $PROG_IDS), BPF run time counted (BPF_ENABLE_STATS)"
	fi
	check_vip "$setup" && loads "$setup" "$VIP"
	stats_off
	PROG_IDS=
	LB_KIND=
	lab_net "$LAB_NS_LB" "$OUTPUT/xlbd" -c "$TMP/xlbd.json" --detach-and-unpin >/dev/null 2>&1
	rm -rf "$PIN"
}

setup_xlb_xdp() { xlb_setup xlb_xdp xdp; }
setup_xlb_tc() { xlb_setup xlb_tc tc; }
setup_xlb_fnat() { xlb_setup xlb_fnat xdp fullnat; }

setup_haproxy() {
	local i
	echo "=== haproxy: $(haproxy -v | head -1 | cut -d' ' -f1-3), mode tcp," \
		"balance roundrobin," \
		"on $VIP:80 (local on the LB host's lo)"
	lab_in "$LAB_NS_LB" ip addr add "$VIP/32" dev lo
	# marathon-lb's defaults for a tcp-mode app, less logging and health checks, and a global
	# maxconn that fits this machine's open files limit (marathon-lb has 50000)
	cat >"$TMP/haproxy.cfg" <<EOF
global
	maxconn 8000
	pidfile $TMP/haproxy.pid
	stats socket $TMP/haproxy.sock mode 600 level admin
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
	mode tcp
	use_backend bench_80
backend bench_80
	balance roundrobin
	mode tcp
$(for i in $(seq 1 "$LAB_BACKENDS"); do echo "	server b$i $(lab_backend_ip "$i"):80"; done)
EOF
	# ip netns exec execs haproxy: $! is haproxy's pid, whose CPU time is counted
	ip netns exec "$LAB_NS_LB" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	track_pid $HAPROXY_PID
	vip_answers() { lab_in "$LAB_NS_C" curl -s --max-time 1 -o /dev/null "http://$VIP/"; }
	wait_for 5 vip_answers
	echo "  haproxy pid $HAPROXY_PID," \
		"$(ls "/proc/$HAPROXY_PID/task" 2>/dev/null | wc -l) threads"
	LB_KIND=process_cpu
	if check_vip haproxy; then
		loads haproxy "$VIP"
	else
		sed 's/^/  haproxy: /' "$TMP/haproxy.log"
	fi
	kill "$HAPROXY_PID" 2>/dev/null
	wait "$HAPROXY_PID" 2>/dev/null
	HAPROXY_PID=
	LB_KIND=
	lab_in "$LAB_NS_LB" ip addr del "$VIP/32" dev lo
}

setup_nft_dnat() {
	local i map=
	for i in $(seq 1 "$LAB_BACKENDS"); do
		map="$map${map:+, }$((i - 1)) : $(lab_backend_ip "$i")"
	done
	echo "=== nft_dnat: nftables $(nft --version | awk '{print $2}'), prerouting dnat to" \
		"numgen random mod $LAB_BACKENDS"
	lab_in "$LAB_NS_LB" nft -f - <<EOF || { echo "  nft failed: skipped"; return; }
table ip xlb_bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP tcp dport 80 dnat to numgen random mod $LAB_BACKENDS map { $map }
	}
}
EOF
	LB_KIND=
	check_vip nft_dnat && loads nft_dnat "$VIP"
	lab_in "$LAB_NS_LB" nft delete table ip xlb_bench
}

echo "e2e: $TRIALS trials of ${DURATION} s per load;" \
	"wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')," \
	"nginx $(nginx -v 2>&1 | sed 's,.*/,,'); short: -t2 -c$CONNS_SHORT 'Connection: close';" \
	"keepalive: -t2 -c$CONNS_KA; bulk: 1 MiB, -t1 -c$CONNS_BULK"
echo "offloads: TX checksum off on the client and backends (XDP on veth needs it; this also" \
	"turns TSO/GSO off) in every setup, except router_default_offload"
for s in $SETUPS; do
	"setup_$s"
done
echo "JSON lines: $RESULTS"
