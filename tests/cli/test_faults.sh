#!/usr/bin/env bash
# xlbd against a Marathon that misbehaves (marathon-sim's /sim/fault): answers
# of HTTP 500, 502 "Could not determine the current leader", not JSON, cut
# short, 100 MiB, one byte per second, redirected in a loop, empty; an event
# stream cut at once, silent, or redirected to nowhere; health results gone for
# every task at once; a task host that does not resolve. For each: the maps
# stay exactly as they were (xlbdump --raw --slots, byte for byte), one
# warning says what happened however often xlbd retries, a change made in
# Marathon during the fault reaches the maps once it is over, and the log says
# so. Then xlbd killed -9 at random moments of big syncs (300 apps x 10 tasks,
# bounded): after every kill xlbdump --check finds the maps consistent, and a
# final run converges to what a fresh xlbd builds. Runs as root; HTTP on
# 127.0.0.1 only; VIPs in 198.18.0.0/15; private pin paths, removed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
XLBD=$OUTPUT/xlbd
SIM=$OUTPUT/marathon-sim
DUMP=$OUTPUT/xlbdump
CFG=tests/fixtures/xlbd/faults.json
SCENARIO=tests/fixtures/sim/minitwit.json
PIN=/sys/fs/bpf/xlb-faults-$$
PIN2=/sys/fs/bpf/xlb-faults2-$$
PIN3=/sys/fs/bpf/xlb-faults3-$$
KILLS=${KILLS:-12}
T_START=$(date +%s)

SUITE=faults
. tests/cli/lib.sh
t_tmpdir
track_pin "$PIN" "$PIN2" "$PIN3"

require_root_bins "$XLBD" "$SIM" "$DUMP"
need_cmd curl jq python3 # python3: bench/xlbd/gen_scenario.py makes the 300-app scenario
CURL=(curl -s --noproxy '*' --max-time 5)

# start_sim NAME SCENARIO: a simulator; sets SIMURL.
start_sim() {
	"$SIM" --listen 127.0.0.1:0 --scenario "$2" --heartbeat-ms 300 \
		>"$TMP/$1.out" 2>"$TMP/$1.err" &
	track_pid $!
	sport() { SPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$1.out"); [ -n "$SPORT" ]; }
	wait_for 5 sport "$1" || return 1
	SIMURL=http://127.0.0.1:$SPORT
}
sim() { "${CURL[@]}" -X POST "$SIMURL/sim/$1" >/dev/null; }
fault() { sim "fault?$1"; }
sim_state() { "${CURL[@]}" "$SIMURL/sim/state"; }
# fault_hits: the answers the simulator's current fault has spoiled so far.
fault_hits() { sim_state | jq '[.faults[].hits] | add // 0'; }
hits_at_least() { [ "$(fault_hits)" -ge "$1" ]; }
no_faults() { sim_state | jq -e '.faults == []' >/dev/null; }

if ! start_sim sim "$SCENARIO"; then
	nok "marathon-sim starts" "$(cat "$TMP/sim.err")"
	finish
fi
task_of() {
	"${CURL[@]}" "$SIMURL/v2/apps/minitwit" | jq -r ".app.tasks[$1] | \"\\(.host):\\(.ports[0])\""
}

LOG=$TMP/xlbd.log
"$XLBD" -c "$CFG" -p "$PIN" -m "$SIMURL" >"$LOG" 2>&1 &
XPID=$!
track_pid $XPID
dump() { "$DUMP" -p "${2:-$PIN}" ${1:-} 2>/dev/null; }
minitwit_states() {
	dump | awk '/^vip 198\.19\./ {on = 1; next} /^vip / {on = 0} on && /backend/ {print $4}' |
		sort | tr '\n' ' '
}
backend_state() { dump | awk -v ep="$1" '$1 == "backend" && $2 == ep {print $4}' | head -1; }
three_active() { [ "$(minitwit_states)" = "active active active " ]; }
stream_up() { grep -q 'event stream connected' "$LOG"; }
mport() { MPORT=$(sed -n 's/.*metrics: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG"); [ -n "$MPORT" ]; }
if ! wait_for 10 three_active || ! wait_for 5 stream_up || ! mport; then
	nok "xlbd programs Marathon's VIP" "$(tail -5 "$LOG")"
	finish
fi
ok "xlbd programs Marathon's VIP with 3 active backends"
T0=$(task_of 0)
# metric NAME: one of xlbd's own counters.
metric() { "${CURL[@]}" "http://127.0.0.1:$MPORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# idle: neither the maps nor xlbd's log change over 0.3 s.
idle() {
	local a b
	a="$(metric xlbd_map_changes_total) $(wc -l <"$LOG")"
	sleep 0.3
	b="$(metric xlbd_map_changes_total) $(wc -l <"$LOG")"
	[ "$a" = "$b" ]
}
# settled: the last fault is over in the simulator, $T0 is back to active, xlbd is idle.
settled() { no_faults && [ "$(backend_state "$T0")" = active ] && idle; }
wait_until 20 "xlbd settles after its first syncs" settled

# since: the log after line $MARK. count_warn PATTERN: warnings after the mark matching it.
mark() { MARK=$(wc -l <"$LOG"); }
since() { tail -n +$((MARK + 1)) "$LOG"; }
count_warn() { since | grep ' warning: ' | grep -c -- "$1"; }
has_since() { since | grep -q -- "$1"; }
state_is() { [ "$(backend_state "$T0")" = "$1" ]; }
same_maps() { dump "--raw --slots" | cmp -s - "$TMP/before.txt"; }
syncs_at_least() { [ "$(metric xlbd_marathon_syncs_total)" -ge "$1" ]; }

# ---- snapshots: every way a GET /v2/apps can go wrong ----

# snapshot_fault MODE EXPECTED [EXTRA_QUERY]: the fault, a change during it, recovery.
snapshot_fault() {
	local mode=$1 want=$2 extra=${3:-} n h
	wait_until 20 "$mode: the last fault is over and xlbd is idle before this one" settled
	mark
	dump "--raw --slots" >"$TMP/before.txt"
	fault "path=/v2/apps&mode=$mode$extra"
	kill -HUP "$XPID"
	if ! wait_for 6 has_since "sync failed: GET $SIMURL/v2/apps"; then
		nok "$mode: a sync failure is logged" "$(since | tail -3)"
		fault "mode=off"
		return
	fi
	# a change in Marathon during the fault, and two retries after it, both spoiled
	h=$(fault_hits)
	sim "health?app=/minitwit&index=0&alive=false"
	wait_until 20 "$mode: xlbd retries during the fault" hits_at_least $((h + 2))
	check "$mode: the maps are byte-identical during the fault" same_maps
	n=$(count_warn "sync failed")
	if [ "$n" = 1 ] && count_warn "sync failed: GET $SIMURL/v2/apps.*$want" >/dev/null; then
		ok "$mode: one warning, however many retries: $(since | grep -m1 'sync failed' |
			sed 's/.*sync failed: //' | cut -c1-150)"
	else
		nok "$mode: one warning saying \"$want\"" "$n warnings: $(since | grep 'sync failed' | head -3)"
	fi
	fault "mode=off"
	wait_until 5 "$mode: the simulator ends the fault" no_faults
	check "$mode: recovery is logged" wait_for 10 has_since "sync works again after"
	check "$mode: the change made during the fault reaches the maps" wait_for 5 state_is draining
	sim "health?app=/minitwit&index=0&alive=true"
	wait_until 10 "$mode: the health flip back reaches the maps" state_is active
}

snapshot_fault 500 "HTTP 500: {\"message\":\"An unexpected server error occurred\"}"
snapshot_fault 502 "HTTP 502: {\"message\":\"Could not determine the current leader\"}"
snapshot_fault badjson "invalid JSON"
snapshot_fault truncate "transfer closed with [0-9]* bytes remaining"
snapshot_fault huge "body larger than max_body_bytes (1048576)"
snapshot_fault slow "timed out after"
snapshot_fault redirect "Maximum (2) redirects followed"
snapshot_fault empty "empty body"
check "the 100 MiB answer was streamed, not buffered: xlbd stays small" \
	bash -c "[ \$(awk '/VmHWM/ {print \$2}' /proc/$XPID/status) -lt 200000 ]"

# ---- the event stream: cut at once, silent, redirected to nowhere ----

# stream_fault MODE WARNING_PATTERN [EXTRA_QUERY] [WAIT_S]
stream_fault() {
	local mode=$1 want=$2 extra=${3:-} n
	wait_until 20 "stream $mode: the last fault is over and xlbd is idle before this one" settled
	mark
	dump "--raw --slots" >"$TMP/before.txt"
	fault "path=/v2/events&mode=$mode$extra"
	sim cut-streams
	# xlbd has seen the fault, and its reconnections ran into it twice more
	wait_for 15 has_since "$want"
	wait_until 20 "stream $mode: xlbd retries during the fault" hits_at_least 3
	check "stream $mode: the maps are byte-identical during the fault" same_maps
	n=$(count_warn "$want")
	if [ "$n" = 1 ]; then
		ok "stream $mode: one warning: $(since | grep -m1 -- "$want" | sed 's/.*warning: //' | cut -c1-150)"
	else
		nok "stream $mode: one warning matching \"$want\"" "$n: $(since | grep ' warning: ' | head -4)"
	fi
	# a change in Marathon while the stream is broken: a resync brings it (cut), or later
	sim "health?app=/minitwit&index=0&alive=false"
	fault "mode=off"
	wait_until 5 "stream $mode: the simulator ends the fault" no_faults
	check "stream $mode: recovery is logged" wait_for 10 has_since "event stream works again after"
	check "stream $mode: the change made during the fault reaches the maps" \
		wait_for 5 state_is draining
	sim "health?app=/minitwit&index=0&alive=true"
	wait_until 10 "stream $mode: the health flip back reaches the maps" state_is active
}

stream_fault cut "event stream lost: closed by $SIMURL/v2/events"
stream_fault silent "event stream lost: silent for 1500 ms"
stream_fault redirect "event stream failed: GET $SIMURL/v2/events: Failed to connect to 127.0.0.1 port 1" \
	"&location=http://127.0.0.1:1/v2/events"

# ---- health results vanish for every task (a leader failover) ----

wait_until 20 "the last fault is over and xlbd is idle before health goes" settled
mark
dump "--raw --slots" >"$TMP/before.txt"
sim "drop-health?ms=2500"
s0=$(metric xlbd_marathon_syncs_total)
kill -HUP "$XPID"
check "health gone: one warning says the cache stands in" \
	wait_for 5 has_since "warning: marathon: 3 tasks came without health results"
wait_until 10 "health gone: the sync without health results is applied" syncs_at_least $((s0 + 1))
check "health gone: the maps are byte-identical (no backend drained)" same_maps
check "health back: said once" wait_for 10 has_since "no task relies on a remembered health verdict"
check "health gone: exactly one warning" [ "$(count_warn 'without health results')" = 1 ]
check "health back: the maps are still byte-identical" same_maps

# ---- a task host that does not resolve ----

wait_until 20 "xlbd is idle before the unresolvable host" settled
mark
dump "--raw --slots" >"$TMP/before.txt"
"${CURL[@]}" -X POST -H 'Content-Type: application/json' "$SIMURL/sim/add-app" -d '{"id": "/ghost",
	"instances": 2, "portDefinitions": [{"port": 0, "protocol": "tcp",
	"labels": {"VIP_0": "198.18.0.60:80"}}], "sim": {"hosts": ["no-such-host.invalid"],
	"staging_ms": 50}}' >/dev/null
ghost_vip() { dump | grep -A1 '^vip 198\.18\.0\.60:80/tcp' | grep -q 'table none'; }
check "unresolvable host: the app's VIP is there, without backends" wait_for 5 ghost_vip
check "unresolvable host: one warning names the host" \
	wait_for 3 has_since 'host "no-such-host.invalid" does not resolve (no such host)'
minitwit_block() { dump "--raw --slots" "${1:-$PIN}" | awk '/^vip 198\.19\./ {on = 1; print; next} /^vip / {on = 0} on'; }
minitwit_block >"$TMP/mt-after.txt"
awk '/^vip 198\.19\./ {on = 1; print; next} /^vip / {on = 0} on' "$TMP/before.txt" >"$TMP/mt-before.txt"
check "unresolvable host: every other VIP is untouched" cmp -s "$TMP/mt-before.txt" "$TMP/mt-after.txt"
s0=$(metric xlbd_marathon_syncs_total)
kill -HUP "$XPID"
wait_until 10 "unresolvable host: a second sync" syncs_at_least $((s0 + 1))
kill -HUP "$XPID"
wait_until 10 "unresolvable host: a third sync" syncs_at_least $((s0 + 2))
check "unresolvable host: still one warning after more syncs" \
	[ "$(count_warn 'does not resolve')" = 1 ]
sim "remove-app?app=/ghost&grace_ms=0"
ghost_gone() { ! dump | grep -q '^vip 198\.18\.0\.60:80/tcp'; }
check "unresolvable host: the app goes with its VIP" wait_for 5 ghost_gone
check "xlbd is still running" kill -0 "$XPID"
kill "$XPID"
wait "$XPID"
check "xlbd exits 0 after all that" [ $? = 0 ]

# ---- an agent name that stops resolving (SLOW=1: xlbd re-resolves a name once a minute) ----

if [ -n "${SLOW:-}" ] && command -v unshare >/dev/null 2>&1; then
	# xlbd alone sees a private /etc/hosts, bind-mounted in its own mount namespace
	echo "198.18.2.50 agent-x.xlbtest" >"$TMP/hosts"
	unshare -m sh -c "mount --bind '$TMP/hosts' /etc/hosts && exec '$XLBD' -c '$CFG' -p '$PIN3' \
		-m '$SIMURL' --metrics none" >"$TMP/dns.log" 2>&1 &
	DPID=$!
	track_pid $DPID
	"${CURL[@]}" -X POST -H 'Content-Type: application/json' "$SIMURL/sim/add-app" -d '{"id": "/dns",
		"instances": 2, "portDefinitions": [{"port": 0, "protocol": "tcp",
		"labels": {"VIP_0": "198.18.0.61:80"}}], "sim": {"hosts": ["agent-x.xlbtest"],
		"staging_ms": 50, "health_delay_ms": 50}}' >/dev/null
	dns_two() { [ "$(dump "" "$PIN3" | grep -c 'backend 198\.18\.2\.50:.* state active')" = 2 ]; }
	check "agent name: its tasks are backends while it resolves" wait_for 10 dns_two
	: >"$TMP/hosts"
	sleep 62
	kill -HUP "$DPID"
	check "agent name gone from the resolver: one warning, the last address stands" \
		wait_for 5 grep -q 'agent name "agent-x.xlbtest" no longer resolves (no such host): its tasks keep its last address 198.18.2.50' "$TMP/dns.log"
	check "agent name gone from the resolver: its backends stay" dns_two
	echo "198.18.2.50 agent-x.xlbtest" >"$TMP/hosts"
	sleep 6
	kill -HUP "$DPID"
	check "agent name back: said" wait_for 3 grep -q 'agent name "agent-x.xlbtest" resolves again' "$TMP/dns.log"
	kill "$DPID"
	wait "$DPID"
	sim "remove-app?app=/dns&grace_ms=0"
	"$XLBD" --detach-and-unpin --no-marathon -p "$PIN3" >/dev/null 2>&1
elif [ -n "${SLOW:-}" ]; then
	skip env "an agent name that stops resolving: needs unshare (make deps)"
else
	skip slow "an agent name that stops resolving (SLOW=1; takes 70 s)"
fi

# ---- kill -9 at random moments of big syncs ----

python3 bench/xlbd/gen_scenario.py 300 10 >"$TMP/big.json"
if ! start_sim big "$TMP/big.json"; then
	nok "marathon-sim starts with 300 apps" "$(cat "$TMP/big.err")"
	finish
fi
# Two named VIP ranges: each start re-addresses all 300 VIPs, so every run writes thousands
# of entries (deletes, creates, backends, tables) and a kill lands in the middle of them.
# (the 300-app snapshot is 2.2 MB: a 64 MiB body limit)
for r in a b; do
	jq --arg range "$([ $r = a ] && echo 198.18.128.0/18 || echo 198.18.192.0/18)" \
		'.marathon.named_vip_range = $range | .marathon.safety.confirm_syncs = 1 |
		 .marathon.max_body_bytes = 67108864 | .log_level = "info"' "$CFG" >"$TMP/kill-$r.json"
done
# How long one uninterrupted start takes here (load, fetch, thousands of writes, exit): the
# kills land between 40% and 110% of it, whatever the machine's speed or a sanitizer's cost.
t0=$(now_ms)
"$XLBD" -c "$TMP/kill-a.json" -p "$PIN2" -m "$SIMURL" --once --metrics none >"$TMP/first.log" 2>&1
T_RUN=$(($(now_ms) - t0))
echo "# an uninterrupted xlbd start and full sync takes $T_RUN ms"
bad_checks=0
early=0
n_before=0
n_during=0
n_after=0
# The delay steers itself into the writes: later after a kill before them, sooner after one
# that came too late, with some jitter either way.
delay=$((T_RUN * 6 / 10))
step=$((T_RUN / 8 + 1))
for i in $(seq 1 "$KILLS"); do
	r=$([ $((i % 2)) = 0 ] && echo a || echo b)
	"$XLBD" -c "$TMP/kill-$r.json" -p "$PIN2" -m "$SIMURL" --metrics none >"$TMP/kill-$i.log" 2>&1 &
	k=$!
	track_pid $k
	ms=$((delay - step / 2 + RANDOM % (step + 1)))
	[ "$ms" -gt 50 ] || ms=50
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -9 "$k" 2>/dev/null
	wait "$k" 2>/dev/null
	if grep -q 'reconciled: .*(marathon' "$TMP/kill-$i.log"; then
		n_after=$((n_after + 1))
		delay=$((delay - step))
	elif grep -q 'marathon: sync: ' "$TMP/kill-$i.log"; then
		n_during=$((n_during + 1)) # the snapshot was in, its writes were not done
	else
		n_before=$((n_before + 1))
		delay=$((delay + step))
	fi
	# Marathon moves on meanwhile: health flips and a killed task
	sim "health?app=/bench/app$((RANDOM % 300))&index=$((RANDOM % 10))&alive=false"
	sim "health?app=/bench/app$((RANDOM % 300))&index=$((RANDOM % 10))&alive=true"
	sim "kill?app=/bench/app$((RANDOM % 300))&index=0&grace_ms=0"
	"$DUMP" -p "$PIN2" --check >"$TMP/check-$i.txt" 2>&1
	rc=$?
	if [ "$rc" = 2 ] && [ "$i" -le "$((early + 1))" ] &&
		grep -q 'No such file or directory' "$TMP/check-$i.txt"; then
		# killed before the first xlbd had pinned every map: nothing to check yet
		early=$i
	elif [ "$rc" != 0 ]; then
		bad_checks=$((bad_checks + 1))
		echo "# kill $i: $(head -5 "$TMP/check-$i.txt")"
	fi
done
[ "$early" = 0 ] || echo "# the first $early kills came before every map was pinned"
check "kill -9 x$KILLS mid-sync: the maps are consistent after every kill" [ "$bad_checks" = 0 ]
echo "# kills: $n_before before the writes (load, adopt, fetch), $n_during during them," \
	"$n_after after; leftovers after $(cat "$TMP"/check-*.txt | grep '^check' |
	grep -vc ' 0 leftovers') of them"
echo "# last check: $(tail -1 "$TMP/check-$KILLS.txt")"
# the simulator's replacement tasks start and report health
replaced() {
	"${CURL[@]}" --max-time 20 "$SIMURL/v2/apps?embed=apps.tasks" | jq -e '[.apps[] |
		select((.tasks | length) != .instances or any(.tasks[];
			.state != "TASK_RUNNING" or (has("healthCheckResults") | not)))] == []' >/dev/null
}
wait_until 30 "the simulator's replacement tasks run and report health" replaced
"$XLBD" -c "$TMP/kill-a.json" -p "$PIN2" -m "$SIMURL" --once --metrics none >"$TMP/final.log" 2>&1
check "after the kills, a restart converges (--once exits 0)" [ $? = 0 ]
check "after the restart, no leftovers either (--check --strict)" \
	bash -c "'$DUMP' -p '$PIN2' --check --strict >'$TMP/strict.txt' 2>&1"
"$XLBD" -c "$TMP/kill-a.json" -p "$PIN3" -m "$SIMURL" --once --metrics none >"$TMP/fresh.log" 2>&1
dump "--slots" "$PIN2" >"$TMP/survivor.txt"
dump "--slots" "$PIN3" >"$TMP/fresh.txt"
check "the survivor's maps equal a fresh xlbd's (every VIP, backend and table slot)" \
	cmp -s "$TMP/survivor.txt" "$TMP/fresh.txt"
check "and they hold all 300 VIPs" [ "$(grep -c '^vip 198\.18\.1[2-9][0-9]\.' "$TMP/survivor.txt")" = 300 ]
finish
