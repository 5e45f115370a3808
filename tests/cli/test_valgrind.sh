#!/usr/bin/env bash
# xlbd and lbstat under valgrind's memcheck: xlbd --once against marathon-sim,
# a short xlbd daemon run (a sync, the event stream, an event that re-reads
# one app, SIGHUP, a /metrics scrape with its token, SIGTERM), lbstat -j once
# and with a rate interval, and xlbdump --check. Each must exit as usual with
# no memcheck error and no definitely or indirectly lost block
# (--error-exitcode=99). tests/valgrind/libbpf.supp hides valgrind 3.19's
# false positives about bpf() attribute fields libbpf does not use. Slow (a
# BPF object load takes ~10 s under valgrind). Runs as root; HTTP on
# 127.0.0.1 only; VIPs in 198.18.0.0/15; a private pin path, removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
XLBD=$OUTPUT/xlbd
SIM=$OUTPUT/marathon-sim
LBSTAT=$OUTPUT/lbstat
DUMP=$OUTPUT/xlbdump
CFG=tests/fixtures/xlbd/test.json
SCENARIO=tests/fixtures/sim/minitwit.json
PIN=/sys/fs/bpf/xlb-valgrind-$$
BEARER=$(cat tests/fixtures/xlbd/metrics.token)
T_START=$(date +%s)
VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --suppressions=tests/valgrind/libbpf.supp)

SUITE=valgrind
. tests/cli/lib.sh
t_tmpdir
track_pin "$PIN"

# vg_check LOG NAME RC WANT_RC: memcheck's verdict on a run whose log is $TMP/LOG.vg.
vg_check() {
	local log=$TMP/$1.vg name=$2 rc=$3 want=$4 errs
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
	if [ "$rc" = "$want" ] && [ "$errs" = 0 ]; then
		ok "$name: exit $rc, memcheck clean ($(grep -o 'suppressed: [0-9]*' "$log" | tail -1) bpf() false positives)"
	else
		nok "$name: exit $want and memcheck clean" "exit $rc, ${errs:-?} errors: $(grep -E 'Invalid|uninitialised|definitely|indirectly|Mismatched' "$log" | head -3)"
	fi
}

require_root_bins "$XLBD" "$SIM" "$LBSTAT" "$DUMP"
need_cmd valgrind curl
CURL=(curl -s --noproxy '*' --max-time 30)

"$SIM" --listen 127.0.0.1:0 --scenario "$SCENARIO" --heartbeat-ms 300 >"$TMP/sim.out" 2>"$TMP/sim.err" &
track_pid $!
sport() { SPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/sim.out"); [ -n "$SPORT" ]; }
if ! wait_for 5 sport; then
	nok "marathon-sim starts" "$(cat "$TMP/sim.err")"
	finish
fi
SIMURL=http://127.0.0.1:$SPORT

# ---- xlbd --once ----

"${VG[@]}" --log-file="$TMP/once.vg" "$XLBD" -c "$CFG" -p "$PIN" -m "$SIMURL" --once \
	>"$TMP/once.log" 2>&1
vg_check once "xlbd --once against the simulator" $? 0

# ---- a short daemon run ----

"${VG[@]}" --log-file="$TMP/daemon.vg" "$XLBD" -c "$CFG" -p "$PIN" -m "$SIMURL" >"$TMP/daemon.log" 2>&1 &
XPID=$!
track_pid $XPID
stream_up() { grep -q 'event stream connected' "$TMP/daemon.log"; }
mport() { MPORT=$(sed -n 's/.*metrics: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/daemon.log"); [ -n "$MPORT" ]; }
if wait_for 60 stream_up && mport; then
	"${CURL[@]}" -X POST "$SIMURL/sim/health?app=/minitwit&index=0&alive=false" >/dev/null
	updated() { grep -q 'marathon: update (1 app re-read)' "$TMP/daemon.log"; }
	wait_until 20 "under valgrind, an event re-reads its app" updated
	n=$(grep -c 'marathon: sync: ' "$TMP/daemon.log")
	kill -HUP "$XPID"
	resynced() { [ "$(grep -c 'marathon: sync: ' "$TMP/daemon.log")" -gt "$n" ]; }
	wait_until 30 "under valgrind, SIGHUP brings a full resync" resynced
	code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BEARER" \
		"http://127.0.0.1:$MPORT/metrics")
	[ "$code" = 200 ] || echo "# /metrics answered $code"
	"${CURL[@]}" -o /dev/null "http://127.0.0.1:$MPORT/metrics" # 401 path
else
	nok "xlbd under valgrind comes up (event stream, /metrics)" "$(tail -3 "$TMP/daemon.log")"
fi
kill -TERM "$XPID"
wait "$XPID"
vg_check daemon "xlbd daemon (sync, stream, event, SIGHUP, /metrics, SIGTERM)" $? 0

# ---- lbstat, xlbdump ----

"${VG[@]}" --log-file="$TMP/lbstat.vg" "$LBSTAT" --pin-path "$PIN" -j --no-rates >"$TMP/lbstat.json" 2>&1
vg_check lbstat "lbstat -j --no-rates" $? 0
"${VG[@]}" --log-file="$TMP/lbstat2.vg" "$LBSTAT" --pin-path "$PIN" -j -b -i 0.2 -c 2 >"$TMP/lbstat2.json" 2>&1
vg_check lbstat2 "lbstat -j -b with rates (two samples)" $? 0
"${VG[@]}" --log-file="$TMP/check.vg" "$DUMP" -p "$PIN" --check >"$TMP/check.txt" 2>&1
vg_check check "xlbdump --check" $? 0
finish
