#!/usr/bin/env bash
# What the CLI test scripts share: TAP-like "ok"/"not ok" lines, the
# "SUITE: N passed, N failed" summary tests/run.sh adds up (with the run time
# when T_START is set), and polling instead of sleeping. Sourced after the
# script sets SUITE; pass and fail start at 0 here.
pass=0
fail=0

ok() {
	echo "ok - $1"
	pass=$((pass + 1))
}

nok() {
	echo "not ok - $1${2:+ ($2)}"
	fail=$((fail + 1))
}

check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}

finish() {
	[ -n "${T_START:-}" ] && echo "# $(($(date +%s) - T_START)) s"
	echo "$SUITE: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for SECONDS CMD...: retries CMD every 20 ms until it succeeds.
wait_for() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# require_root_bins BIN...: each binary is built (else one failed check and the
# end), and the script runs as root with bpffs mounted (else a SKIP and the end).
require_root_bins() {
	local b
	for b in "$@"; do
		if [ ! -x "$b" ]; then
			nok "binary $b exists (build it first)"
			finish
		fi
	done
	if [ "$(id -u)" != 0 ] || ! mountpoint -q /sys/fs/bpf; then
		echo "# SKIP: needs root and bpffs at /sys/fs/bpf"
		finish
	fi
}
