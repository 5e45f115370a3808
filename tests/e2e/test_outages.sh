#!/usr/bin/env bash
# End-to-end: the control plane fails while clients keep using the data plane
# (issue 5, scenarios 6 and 7). marathon-sim's /minitwit tasks are served by
# labnet servers that live with their tasks (tests/e2e/tasks.py), xlbd balances
# the named VIP, and one client load runs through both scenarios: a short
# connection every 10 ms (each logged) and 10 long-lived connections.
#  6. kill -9 of xlbd, 2 s without it, restart: zero failed requests, and the
#     restarted xlbd adopts the maps and leaves them byte-identical;
#  7. Marathon down (listener closed) for 30 s, really: zero failed requests,
#     the maps untouched meanwhile; a health change and a scale-up made during
#     the outage are in the maps within seconds of Marathon's return.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
e2e_init outages

DOWN_MS=30000
e2e_lab_up
sim_start "$(sim_scenario tests/fixtures/sim/minitwit.json)"
minitwit_up
stream_up() { [ "$(grep -c 'event stream connected' "$TMP/$1.log")" -ge "${2:-1}" ]; }
check "xlbd follows Marathon's event stream" wait_for 5 stream_up xlbd

load_start long "$LAB_NS_C" "$VIP" --long 10 --interval 100 --duration 120
LONG=$LOAD_PID
if ! wait_for 5 long_up long 10; then
	nok "10 long-lived connections are up" "$(cat "$TMP/long.out")"
	finish
fi
load_start short "$LAB_NS_C" "$VIP" -n 12000 --interval 10 --duration 120
SHORT=$LOAD_PID
wait_until 10 "the short load runs before xlbd is killed" load_served short 100

# failed_between FROM_MS TO_MS: failed short requests started in that window.
failed_between() { failures short | awk -v a="$1" -v b="$2" '$1 >= a && $1 < b' | wc -l; }
# started_between FROM_MS TO_MS: short requests started in that window.
started_between() { awk -v a="$1" -v b="$2" '$1 >= a && $1 < b' "$TMP/short.log" | wc -l; }

# ---- 6. kill -9 of xlbd under load, restart ----

"$E2E_DUMP" -p "$PIN" --raw --slots >"$TMP/before.dump" 2>&1
T_KILL=$(now_ms)
kill -9 "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null
check "6. xlbd killed with SIGKILL" bash -c "! kill -0 $XLBD_PID 2>/dev/null"
sleep 2 # 2 s without xlbd
xlbd_start xlbd2
check "6. restarted xlbd adopts the pinned maps" wait_for 10 log_has xlbd2 "adopted 1 VIPs and 3 backends"
if wait_for 10 log_has xlbd2 "reconciled: 0 changes (marathon"; then
	ok "6. ... and, once Marathon answers, writes nothing: \"reconciled: 0 changes\""
else
	nok "6. ... and, once Marathon answers, writes nothing" "$(grep reconciled "$TMP/xlbd2.log")"
fi
T_UP=$(now_ms)
"$E2E_DUMP" -p "$PIN" --raw --slots >"$TMP/after.dump" 2>&1
check "6. maps after the restart byte-identical to before the kill (ids, generations, every slot; $(wc -l <"$TMP/after.dump") lines)" \
	cmp -s "$TMP/before.dump" "$TMP/after.dump"
# the window ends 1 s after the restart: wait for requests started after it
started_after() { [ "$(awk -v a="$1" '$1 >= a' "$TMP/short.log" | wc -l)" -gt 0 ]; }
wait_until 10 "6. requests are logged after the window" started_after $((T_UP + 1000))
n=$(started_between "$T_KILL" "$((T_UP + 1000))")
check "6. zero failed of the $n requests from the kill to 1 s after the restart" \
	[ "$(failed_between "$T_KILL" "$((T_UP + 1000))")" = 0 -a "$n" -gt 100 ]
check "6. all 10 long-lived connections still answer" \
	[ -z "$(failures long)" ]
check "6. the restarted xlbd follows the event stream" wait_for 5 stream_up xlbd2

# ---- 7. Marathon down for 30 s ----

read -r _ EP1 _ < <(tasks /minitwit | sed -n 2p)
T_DOWN=$(now_ms)
sim "down?mode=close&ms=$DOWN_MS" >/dev/null
marathon_refuses() {
	! nsenter --net="/run/netns/$LAB_NS_LB" curl -s --noproxy '*' --max-time 1 -o /dev/null \
		"$SIMURL/ping"
}
check "7. Marathon is down: its port refuses" wait_for 3 marathon_refuses
check "7. xlbd says it lost Marathon" wait_for 5 log_has xlbd2 "event stream lost"
"$E2E_DUMP" -p "$PIN" --raw --slots >"$TMP/down.dump" 2>&1
sleep 3 # 3 s of the outage before Marathon changes anything
# changes Marathon makes while xlbd cannot see it
sim "health?app=/minitwit&index=1&alive=false" >/dev/null
sim "scale?app=/minitwit&instances=4" >/dev/null
four_tasks() { [ "$(tasks /minitwit | grep -c ' TASK_RUNNING true$')" = 3 ] &&
	[ "$(tasks /minitwit | wc -l)" = 4 ]; }
check "7. meanwhile Marathon marks $EP1 unhealthy and runs a 4th task" wait_for 5 four_tasks
NEW_EP=$(tasks /minitwit | sed -n 4p | awk '{print $2}')
# stays down: checked every 3 s for 22 s, then the maps are compared while it
# still is (slack for a loaded machine)
still_down=1
while [ "$(now_ms)" -lt $((T_DOWN + 22000)) ]; do
	marathon_refuses || still_down=0
	sleep 3
done
marathon_refuses || still_down=0
"$E2E_DUMP" -p "$PIN" --raw --slots >"$TMP/late.dump" 2>&1
T_LATE=$(now_ms)
check "7. Marathon stayed unreachable (checked every 3 s, last $((T_LATE - T_DOWN)) ms after its fall)" \
	[ "$still_down" = 1 -a "$T_LATE" -lt $((T_DOWN + DOWN_MS)) ]
check "7. the maps were not touched while Marathon was down" cmp -s "$TMP/down.dump" "$TMP/late.dump"
marathon_answers() { ! marathon_refuses; }
wait_until 15 "7. Marathon answers again" marathon_answers
T_BACK=$(now_ms)
check "7. Marathon was down for $((T_BACK - T_DOWN)) ms (at least $DOWN_MS)" \
	[ $((T_BACK - T_DOWN)) -ge "$DOWN_MS" ]
applied() {
	local b
	b=$(backends_of "$VIP/tcp")
	grep -q "^$EP1 draining$" <<<"$b" && grep -q "^$NEW_EP active$" <<<"$b" &&
		[ "$(wc -l <<<"$b")" = 4 ]
}
if wait_for 15 applied; then
	ok "7. back: the changes made meanwhile are applied ($EP1 draining, $NEW_EP active) $(($(now_ms) - T_BACK)) ms after Marathon answers again"
else
	nok "7. back: the changes made meanwhile are applied" "$(backends_of "$VIP/tcp" | tr '\n' ';')"
fi
check "7. xlbd follows the event stream again" wait_for 5 stream_up xlbd2 2
sleep 1 # a second more of load with everything back
T_END=$(now_ms)
load_stop "$SHORT"
load_stop "$LONG"
n=$(started_between "$T_DOWN" "$T_END")
check "7. zero failed of the $n requests from Marathon's fall to the end" \
	[ "$(failed_between "$T_DOWN" "$T_END")" = 0 -a "$n" -gt 1000 ]
check "7. the 4th task took new connections" \
	awk -v ep="$NEW_EP" '$5 == "ok" && $6 == ep {n++} END {exit n < 10}' "$TMP/short.log"
check "6+7. short requests overall: zero failed ($(jq -c '{ok, refused, timeout, reset, other}' "$TMP/short.out"))" \
	[ -z "$(failures short)" ]
check "6+7. long-lived: none failed, 10 of 10 alive at the end ($(jq -c '{long_alive, reset, timeout, other}' "$TMP/long.out"))" \
	[ -z "$(failures long)" -a "$(jq -r .long_alive "$TMP/long.out")" = 10 ]

finish
