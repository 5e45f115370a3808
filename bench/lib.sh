#!/usr/bin/env bash
# What the end-to-end benchmarks (bench/e2e, bench/eastwest) measure with, the
# same way for both: whole-machine CPU from /proc/stat, the BPF run time of a
# set of programs, and the BPF statistics switch held open for the run by
# bench/e2e/bpf_stats.py. Sourced after tests/lib/test.sh, with PY (python3)
# and TMP set; STATS_PID is its own.

STATS_PID=

# cpu_now: "busy softirq" jiffies, all CPUs (user nice system idle iowait irq softirq steal;
# %.0f, as mawk would print a large sum as 1.2e+10).
cpu_now() {
	awk '/^cpu / { printf "%.0f %.0f\n", $2 + $3 + $4 + $7 + $8 + $9, $8; exit }' /proc/stat
}

# bpf_ns IDS...: sum of run_time_ns of these programs (%.0f: mawk's %d stops at 2^31).
bpf_ns() {
	local id
	for id in "$@"; do
		bpftool prog show id "$id" 2>/dev/null
	done | awk '{ for (i = 1; i < NF; i++) if ($i == "run_time_ns") s += $(i + 1) }
		END { printf "%.0f\n", s }'
}

# stats_on: BPF run-time statistics on while bench/e2e/bpf_stats.py runs (BPF_ENABLE_STATS,
# the fd-held form of kernel.bpf_stats_enabled=1: nothing another test could switch off).
stats_on() {
	"$PY" bench/e2e/bpf_stats.py >"$TMP/stats.out" 2>&1 &
	STATS_PID=$!
	track_pid $STATS_PID
	stats_up() { grep -q enabled "$TMP/stats.out" || ! kill -0 "$STATS_PID" 2>/dev/null; }
	wait_for 30 stats_up && grep -q enabled "$TMP/stats.out" && return 0
	echo "  BPF run time is not counted: $(cat "$TMP/stats.out")"
	stats_off
	return 1
}

stats_off() {
	[ -n "$STATS_PID" ] || return 0
	kill "$STATS_PID" 2>/dev/null
	wait "$STATS_PID" 2>/dev/null
	STATS_PID=
}

# nginx_conf DIR LISTEN: DIR/nginx.conf for Debian's nginx serving DIR/www on LISTEN ("ADDR:PORT"):
# two workers, no access log, sendfile, keep-alive without limit; its pid and logs in DIR.
nginx_conf() {
	local d=$1
	mkdir -p "$d/www" "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	default_type application/octet-stream;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 120s;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	server {
		listen $2 backlog=4096;
		root $d/www;
	}
}
EOF
}
