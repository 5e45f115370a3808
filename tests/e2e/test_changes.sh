#!/usr/bin/env bash
# End-to-end: Marathon changes under load (issue 5, scenarios 4 and 5). The
# /minitwit tasks of marathon-sim are served by labnet servers that live and
# die with their tasks (tests/e2e/tasks.py); xlbd balances the named VIP; a
# client keeps opening short connections (one every 5 ms, each logged with its
# start time and the task that answered) and holds 30 long-lived ones.
#  4. a task turns unhealthy in Marathon: no connection started later than 1 s
#     after Marathon's event (its own timestamp) reaches it, nothing fails, and
#     its long-lived connections keep working while it drains;
#  5. a rolling restart replaces every task one by one (new task healthy, then
#     an old one TASK_KILLING for its grace period, then gone): zero failed
#     requests, and the only long-lived connections that end are those on a
#     removed task, after its grace period.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
e2e_init changes

GRACE_MS=1500
e2e_lab_up
sim_start "$(sim_scenario tests/fixtures/sim/minitwit.json)"
events_start
minitwit_up
out=$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 60 "$VIP")
check "the named VIP $VIP answers, from all 3 tasks ($(jq -c .backends <<<"$out"))" \
	[ "$(jq -r '"\(.ok) \(.backends | length)"' <<<"$out")" = "60 3" ]

# ---- 4. a task turns unhealthy ----

load_start long4 "$LAB_NS_C" "$VIP" --long 30 --interval 100 --duration 40
LONG=$LOAD_PID
if ! wait_for 5 long_up long4 30; then
	nok "4. 30 long-lived connections are up" "$(cat "$TMP/long4.out")"
	finish
fi
load_start short4 "$LAB_NS_C" "$VIP" -n 20000 --interval 5 --duration 40
SHORT=$LOAD_PID
read -r ID0 EP0 _ < <(tasks /minitwit | head -n 1)
INST0=${ID0%._app.1}
# a source port whose connection reached EP0 (closed with a RST: reusable at once)
REUSE=
for p in $(seq 20001 20060); do # below the ephemeral range: no TIME_WAIT there
	if [ "$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 1 --rst --sport "$p" "$VIP" |
		jq -r '.backends | keys[0]')" = "$EP0" ]; then
		REUSE=$p
		break
	fi
done
wait_until 10 "4. the short load reaches $EP0 before the event" load_served short4 20 "$EP0"
sim "health?app=/minitwit&index=0&alive=false" >/dev/null
ev_of_flip() {
	EV=$(event_ms ".eventType == \"health_status_changed_event\" and .alive == false and
		.instanceId == \"$INST0\"")
	[ -n "$EV" ]
}
if ! wait_for 5 ev_of_flip; then
	nok "4. Marathon announces the health change of $EP0"
	finish
fi
drained() { backends_of "$VIP/tcp" | grep -q "^$EP0 draining$"; }
check "4. $EP0 is draining in the maps" wait_for 3 drained
if [ -n "$REUSE" ]; then
	out=$(lab_in "$LAB_NS_C" "$E2E_LABNET" probe -j -n 1 --rst --sport "$REUSE" "$VIP")
	check "4. a new connection from port $REUSE, which had reached $EP0, goes elsewhere ($(jq -c .backends <<<"$out"))" \
		[ "$(jq -r '"\(.ok) \(.backends | has("'"$EP0"'"))"' <<<"$out")" = "1 false" ]
else
	nok "4. a source port that reaches $EP0 is found among 60"
fi
# keep the load on for 3 s after the event, then end the short requests
until [ "$(now_ms)" -ge $((EV + 3000)) ]; do sleep 0.1; done
load_stop "$SHORT"
sleep 0.5 # the long-lived connections' last round of pings after the short load ends
load_stop "$LONG"
check "4. short requests: zero failed ($(jq -c '{ok, refused, timeout, reset, other}' "$TMP/short4.out"))" \
	[ -z "$(failures short4)" ]
before=$(awk -v ev="$EV" -v ep="$EP0" '$5 == "ok" && $6 == ep && $1 < ev' "$TMP/short4.log" | wc -l)
late=$(awk -v ev="$EV" -v ep="$EP0" '$5 == "ok" && $6 == ep && $1 >= ev + 1000' "$TMP/short4.log" | wc -l)
after=$(awk -v ev="$EV" '$5 == "ok" && $1 >= ev + 1000' "$TMP/short4.log" | wc -l)
last=$(awk -v ev="$EV" -v ep="$EP0" '$5 == "ok" && $6 == ep {t = $1} END {printf "%d", t - ev}' \
	"$TMP/short4.log")
check "4. $EP0 took new connections before the event ($before)" [ "$before" -gt 0 ]
check "4. none of the $after connections started 1 s after the event or later reached $EP0 (last one started ${last} ms after it)" \
	[ "$late" = 0 -a "$after" -ge 100 ]
on0=$(awk -v ep="$EP0" '$5 == "up" && $6 == ep' "$TMP/long4.log" | wc -l)
alive0=$(awk -v ep="$EP0" '$5 == "alive" && $6 == ep' "$TMP/long4.log" | wc -l)
check "4. long-lived connections on $EP0 ($on0) kept working while it drained ($alive0 alive at the end)" \
	[ "$on0" -gt 0 -a "$alive0" = "$on0" ]
check "4. no long-lived connection failed or moved ($(jq -c '{long_alive, reset, timeout, other}' "$TMP/long4.out"))" \
	[ -z "$(failures long4)" -a "$(jq -r .long_alive "$TMP/long4.out")" = 30 ]

sim "health?app=/minitwit&index=0&alive=true" >/dev/null
three_active() { [ "$(backends_of "$VIP/tcp" | grep -c ' active$')" = 3 ]; }
check "4. healthy again: 3 active backends" wait_for 5 three_active

# ---- 5. rolling restart under load ----

tasks /minitwit >"$TMP/old-tasks"
load_start long5 "$LAB_NS_C" "$VIP" --long 30 --interval 100 --duration 90
LONG=$LOAD_PID
if ! wait_for 5 long_up long5 30; then
	nok "5. 30 long-lived connections are up" "$(cat "$TMP/long5.out")"
	finish
fi
load_start short5 "$LAB_NS_C" "$VIP" -n 100000 --interval 5 --duration 90
SHORT=$LOAD_PID
wait_until 10 "5. the short load runs before the restart" load_served short5 100
sim "deploy?app=/minitwit&grace_ms=$GRACE_MS" >/dev/null
T_DEPLOY=$(now_ms)
# done: 3 running, healthy tasks, none of the old ones, and exactly those active in the maps
replaced() {
	local now
	now=$(tasks /minitwit)
	[ "$(grep -c ' TASK_RUNNING true$' <<<"$now")" = 3 ] && [ "$(wc -l <<<"$now")" = 3 ] || return 1
	NEW_EPS=$(awk '{print $2}' <<<"$now" | sort | tr '\n' ' ')
	while read -r id _; do
		grep -q "^$id " "$TMP/old-tasks" && return 1
	done <<<"$now"
	[ "$(backends_of "$VIP/tcp" | awk '{print $1 " " $2}' | tr '\n' ' ')" = \
		"$(for e in $NEW_EPS; do echo "$e active"; done | sort | tr '\n' ' ')" ]
}
if wait_for 60 replaced; then
	ok "5. the restart replaced all 3 tasks in $(($(now_ms) - T_DEPLOY)) ms; the maps hold exactly the new ones, active"
else
	nok "5. the restart replaced all 3 tasks; the maps hold exactly the new ones" \
		"$(tasks /minitwit | tr '\n' ';') maps: $(backends_of "$VIP/tcp" | tr '\n' ';')"
fi
served_new() {
	local e
	for e in $NEW_EPS; do
		load_served short5 10 "$e" || return 1
	done
}
# the load goes on until each new task has taken its share (checked below)
wait_for 10 served_new
load_stop "$SHORT"
load_stop "$LONG"

# the sim's account: each old task was killed after a new one turned healthy, one at a time
evs=$(sed -n 's/^data: //p' "$TMP/events.txt" | jq -r 'select(
	(.eventType == "status_update_event" and .taskStatus == "TASK_KILLING")
	or (.eventType == "health_status_changed_event" and .alive == true))
	| "\(.taskStatus // "HEALTHY") \(.taskId // .instanceId)"')
order_ok() {
	local healthy=0 killing=0 e id
	while read -r e id; do
		case $e in
		HEALTHY) grep -q "^${id}\." "$TMP/old-tasks" || healthy=$((healthy + 1)) ;;
		TASK_KILLING)
			grep -q "^$id " "$TMP/old-tasks" || return 1
			killing=$((killing + 1))
			[ "$healthy" -ge "$killing" ] || return 1
			;;
		esac
	done <<<"$evs"
	[ "$killing" = 3 ]
}
check "5. Marathon's events: each of the 3 old tasks went TASK_KILLING only after a new task was healthy" order_ok
check "5. short requests: zero failed ($(jq -c '{ok, refused, timeout, reset, other}' "$TMP/short5.out"))" \
	[ -z "$(failures short5)" ]
check "5. the new tasks took the new connections (each at least 10)" served_new

# every long-lived connection that ended was on a removed task, after that task's grace
declare -A KILLED # endpoint of an old task -> Marathon's time of its TASK_KILLED
while read -r id ep _; do
	KILLED[$ep]=$(event_ms ".eventType == \"status_update_event\" and .taskId == \"$id\" and
		.taskStatus == \"TASK_KILLED\"")
done <"$TMP/old-tasks"
long_ok() {
	local t what idx n ep k bad=0
	while read -r t what idx _ n ep; do
		k=${KILLED[$ep]:-}
		if [ -z "$k" ] || [ "${t%.*}" -lt "$k" ]; then
			echo "# long-lived connection $idx on $ep: $n at $t, task killed at ${k:-never}"
			bad=1
		fi
	done < <(failures long5)
	return $bad
}
ended=$(failures long5 | wc -l)
check "5. long-lived: the $ended that ended were on removed tasks, after their grace; $(jq -r .long_alive "$TMP/long5.out") of 30 alive" \
	long_ok

finish
