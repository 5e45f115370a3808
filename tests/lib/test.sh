#!/usr/bin/env bash
# The one shell library of the test, e2e, bench and demo scripts: checks and the
# summary line tests/run.sh adds up ("SUITE: N passed, N failed, N skipped"),
# classified skips, bounded polling that says so when it gives up, and cleanup
# registration: whatever a script registers (processes, network namespaces,
# links, pins, files, commands) is undone by one trap on EXIT, on success,
# failure or Ctrl-C. Sourced after the script sets SUITE; pass, fail and skipped
# start at 0 here.
#
# Skip classes (the word in "# SKIP(class): reason", which tests/run.sh reads):
#   env       the machine lacks what `make deps`/`make bpffs` or running as root
#             provide (a tool, root, bpffs, network namespaces): a failure in run.sh
#   kernel    this kernel lacks a feature, or behaves in a way the test cannot get past
#   fixtures  ../shared/fixtures is absent (the project's own fixtures still run)
#   slow      left out unless asked for (SLOW=1)
#   bug       a known bug or limitation of xlb, named where its check would stand
# Anything else is unclassified, and run.sh counts it as a failure too.

pass=0
fail=0
skipped=0
T_PIDS=()
T_NETNS=()
T_LINKS=()
T_PINS=()
T_FILES=()
T_ATEXIT=()
T_POLL=${T_POLL:-0.02}

# ---- checks and the summary ----

ok() {
	echo "ok - $1${T_TIMES:+ [$(($(now_ms) - T_T0_MS)) ms]}"
	pass=$((pass + 1))
}

# nok NAME [DETAIL]: a failed check.
nok() {
	echo "not ok - $1${2:+ ($2)}${T_TIMES:+ [$(($(now_ms) - T_T0_MS)) ms]}"
	fail=$((fail + 1))
}

# check NAME CMD...: ok if CMD succeeds, else not ok.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}

# note TEXT: a line for the log that is not a check.
note() { echo "# $*"; }

# skip CLASS REASON: a check (or a group of them) not run, and why.
skip() {
	echo "# SKIP($1): $2"
	skipped=$((skipped + 1))
}

# skip_suite CLASS REASON: the rest of the suite cannot run here; a skip and the end.
skip_suite() {
	skip "$1" "$2"
	finish
}

# finish: the summary line; exits 0 when nothing failed.
finish() {
	[ -n "${T_START:-}" ] && echo "# $(($(date +%s) - T_START)) s"
	echo "$SUITE: $pass passed, $fail failed, $skipped skipped"
	[ "$fail" = 0 ]
	exit
}

# ---- what a suite needs ----

# need_cmd CMD...: each command is installed, else a skip (env: make deps installs them) and the end.
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_suite env "needs $c (make deps)"
	done
}

# need_root: root with bpffs mounted at /sys/fs/bpf, else a skip (env) and the end.
need_root() {
	[ "$(id -u)" = 0 ] || skip_suite env "needs root"
	mountpoint -q /sys/fs/bpf || skip_suite env "needs bpffs at /sys/fs/bpf (make bpffs)"
}

# need_bins BIN...: each binary is built, else one failed check and the end.
need_bins() {
	local b
	for b in "$@"; do
		if [ ! -x "$b" ]; then
			nok "binary $b exists (build it first)"
			finish
		fi
	done
}

# require_root_bins BIN...: need_bins, then need_root.
require_root_bins() {
	need_bins "$@"
	need_root
}

# ---- time and polling ----

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# t_ms SECONDS: SECONDS (may have a fraction: "1.5") in milliseconds.
t_ms() {
	local s=${1%%.*} f=
	[ "$1" != "${1#*.}" ] && f=${1#*.}
	f=${f}000
	echo $((10#${s:-0} * 1000 + 10#${f:0:3}))
}

# wait_for SECONDS CMD...: retries CMD every T_POLL seconds until it succeeds; past
# SECONDS it says what it waited for ("# timed out ...") and returns 1.
wait_for() {
	local secs=$1 end
	end=$(($(now_ms) + $(t_ms "$1")))
	shift
	while :; do
		"$@" && return 0
		if [ "$(now_ms)" -ge "$end" ]; then
			echo "# timed out after $secs s waiting for: $*"
			return 1
		fi
		sleep "$T_POLL"
	done
}

# wait_until SECONDS WHAT CMD...: a wait the next checks rely on: when it times out
# it is a failed check "WHAT" (and returns 1); when it succeeds it is not a check.
wait_until() {
	local secs=$1 what=$2
	shift 2
	wait_for "$secs" "$@" && return 0
	nok "$what" "not within $secs s"
	return 1
}

# ---- cleanup registration, undone by one trap on EXIT ----

# track_pid PID...: processes to end (SIGTERM, then SIGKILL after 3 s) on exit.
track_pid() { T_PIDS+=("$@"); }
# track_netns NS...: network namespaces to delete on exit.
track_netns() { T_NETNS+=("$@"); }
# track_link DEV...: links in this namespace to delete on exit.
track_link() { T_LINKS+=("$@"); }
# track_pin PATH...: pin paths to detach and unpin (with $XLBD when set) and remove on exit.
track_pin() { T_PINS+=("$@"); }
# track_file PATH...: files or directories to remove on exit (KEEP=1 keeps them).
track_file() { T_FILES+=("$@"); }
# at_exit CMD...: a command to run on exit (after the processes end, before the rest),
# the last registered first; CMD is one word list, run as is.
at_exit() { T_ATEXIT+=("$(printf '%q ' "$@")"); }

# t_tmpdir: a temporary directory removed on exit; sets TMP.
t_tmpdir() {
	TMP=$(mktemp -d "${1:-${TMPDIR:-/tmp}/xlb-test.XXXXXX}")
	track_file "$TMP"
}

# stop_pid PID: SIGTERM, a bounded wait (3 s), then SIGKILL; reaps a child.
stop_pid() {
	local p=$1 i
	kill "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
	for i in $(seq 150); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.02
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

t_cleanup() {
	local i p
	trap - INT TERM
	[ -n "$T_PREV_EXIT" ] && eval "$T_PREV_EXIT"
	for p in "${T_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${T_PIDS[@]}"; do
		stop_pid "$p"
	done
	for ((i = ${#T_ATEXIT[@]} - 1; i >= 0; i--)); do
		eval "${T_ATEXIT[$i]}" >/dev/null 2>&1
	done
	for p in "${T_LINKS[@]}"; do
		ip link del "$p" 2>/dev/null
	done
	for p in "${T_NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	for p in "${T_PINS[@]}"; do
		if [ -d "$p" ] && [ -n "${XLBD:-}" ] && [ -x "$XLBD" ]; then
			"$XLBD" --detach-and-unpin --no-marathon -p "$p" >/dev/null 2>&1
		fi
		rm -rf "$p" 2>/dev/null
	done
	for p in "${T_FILES[@]}"; do
		if [ -n "${KEEP:-}" ]; then echo "# kept $p"; else rm -rf "$p"; fi
	done
	return 0
}
# A script that set its own EXIT trap before sourcing this keeps it: it runs first, as it was.
T_PREV_EXIT=$(trap -p EXIT)
T_PREV_EXIT=${T_PREV_EXIT#trap -- \'}
T_PREV_EXIT=${T_PREV_EXIT%\' EXIT}
[ "$T_PREV_EXIT" = t_cleanup ] && T_PREV_EXIT= # sourced twice
trap t_cleanup EXIT
trap 'exit 130' INT TERM
T_T0_MS=$(now_ms)
