#!/usr/bin/env bash
# End-to-end checks of marathon-sim against what real Marathon does: the REST
# shapes (key sets compared with recorded Marathon payloads in ../shared/fixtures),
# the SSE wire format byte for byte, task life cycles (kill, health, scale,
# rolling deploy, leader failover), leaderless and closed listeners, and a
# standby's redirects. Talks to 127.0.0.1 only; every wait is bounded. JSON is
# read with jq.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
BIN=$OUTPUT/marathon-sim
SCENARIO=tests/fixtures/sim/minitwit.json
FIXTURES=${FIXTURES:-../shared/fixtures}

SUITE=marathon_sim
. tests/cli/lib.sh
t_tmpdir

need_cmd jq curl
need_bins "$BIN"

# q FILTER: jq FILTER over the JSON on stdin; true is success, false, null or bad JSON failure.
q() { jq -e "$1" >/dev/null; }
# qv FILTER: prints FILTER's value (strings raw, anything else as compact JSON).
qv() { jq -rc "$1"; }

# sse FILE FILTER: parses an event-stream capture strictly (every byte must be an event
# "event: N\r\ndata: J\r\n\r\n" whose J's eventType is N, or a heartbeat "\r\n"; a trailing
# lone "\r" is a heartbeat cut in half) and evaluates FILTER with $ev (the events, each
# {name, data}), $hb (the heartbeat count) and $buf (the capture); true is success.
cat >"$TMP/sse.jq" <<'JQ'
. as $buf |
(if endswith("\r") then .[:-1] else . end) as $b |
[$b | scan("\r\n|event: [a-z_]+\r\ndata: [^\r\n]*\r\n\r\n")] as $t |
if ($t | add // "") != $b then error("bad framing: the capture is not events and heartbeats")
else . end |
[$t[] | select(. != "\r\n") |
 capture("^event: (?<name>[a-z_]+)\r\ndata: (?<data>[^\r\n]*)") | .data |= fromjson] as $ev |
if any($ev[]; .data.eventType != .name) then error("an event carries another eventType")
else . end |
($t | map(select(. == "\r\n")) | length) as $hb |
JQ
sse() { jq -Rse "$(cat "$TMP/sse.jq") $2" "$1" >/dev/null; }

CURL=(curl -s --noproxy '*' --max-time 5)
get() { "${CURL[@]}" "$BASE$1"; }
post() {
	if [ $# -gt 1 ]; then
		"${CURL[@]}" -X POST -H 'Content-Type: application/json' -d "$2" "$BASE$1"
	else
		"${CURL[@]}" -X POST "$BASE$1"
	fi
}
code() { "${CURL[@]}" -o /dev/null -w '%{http_code}' "$@"; }

# qget PATH FILTER: GETs PATH and evaluates FILTER over its JSON.
qget() { get "$1" | q "$2"; }

# start_sim NAME ARGS...: starts a simulator on a free port and sets PORT.
start_sim() {
	local name=$1
	shift
	"$BIN" --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	LASTPID=$!
	track_pid $LASTPID
	PORT=
	sim_port() {
		PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")
		[ -n "$PORT" ] || ! kill -0 "$LASTPID" 2>/dev/null
	}
	wait_for 5 sim_port && [ -n "$PORT" ]
}

# stream_start NAME QUERY SECONDS: captures /v2/events in the background and
# returns once the response has started (the stream is then registered).
stream_start() {
	curl -sN --noproxy '*' -D "$TMP/$1.h" -H 'Accept: text/event-stream' --max-time "$3" \
		"$BASE/v2/events$2" >"$TMP/$1.sse" 2>/dev/null &
	track_pid $!
	eval "STREAM_$1=$!"
	wait_until 3 "the $1 event stream starts" grep -qs '^HTTP/1.1 200' "$TMP/$1.h"
}
stream_stop() {
	local pid
	eval "pid=\$STREAM_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# ---- command line ----

usage_ok() { "$BIN" --help | grep -q -- '--standby-of'; }
check "--help prints usage" usage_ok
version_ok() { "$BIN" --version | grep -q '^marathon-sim '; }
check "--version prints the name" version_ok
"$BIN" --bogus >/dev/null 2>&1
check "unknown option exits 2" [ $? = 2 ]

# ---- leader with the minitwit scenario ----

STATE=$TMP/state.json
if ! start_sim leader --scenario "$SCENARIO" --heartbeat-ms 200 --state-file "$STATE" \
	--control 127.0.0.1:0; then
	nok "leader starts on port 0 and prints its port" "$(cat "$TMP/leader.err")"
	finish
fi
ok "leader starts on port 0 and prints its port"
LEADER_PID=$LASTPID
LPORT=$PORT
BASE=http://127.0.0.1:$LPORT
CTL=http://127.0.0.1:$(sed -n 's/^control on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/leader.out")

check "GET /ping answers pong" [ "$(get /ping)" = pong ]
hdrs=$("${CURL[@]}" -D - -o /dev/null "$BASE/v2/apps")
check "leader sets X-Marathon-Leader" grep -qi "^X-Marathon-Leader: http://127.0.0.1:$LPORT" <<<"$hdrs"
check "JSON content type" grep -qi '^Content-Type: application/json' <<<"$hdrs"
check "GET /v2/info" qget /v2/info ".name == \"marathon\" and .elected == true
	and .leader == \"127.0.0.1:$LPORT\" and .marathon_config.local_port_min == 10000
	and has(\"frameworkId\") and .http_config.http_port == $LPORT"
check "GET /v2/leader" qget /v2/leader ". == {leader: \"127.0.0.1:$LPORT\"}"

get '/v2/apps?embed=apps.tasks' >"$TMP/apps.json"
check "/v2/apps?embed=apps.tasks: one app /minitwit, 3 running healthy tasks" q '
(.apps | length) == 1 and (.apps[0] | .id == "/minitwit" and .instances == 3
 and (.tasks | length) == 3 and all(.tasks[]; .state == "TASK_RUNNING")
 and .tasksRunning == 3 and .tasksHealthy == 3 and .deployments == [])' <"$TMP/apps.json"
check "tasks on 198.18.2.11..13 with their ports and ipAddresses" q '
([.apps[0].tasks[] | [.host, .ports[0], .ipAddresses[0].ipAddress]] | sort)
== [["198.18.2.11", 31001, "198.18.2.11"], ["198.18.2.12", 31002, "198.18.2.12"],
    ["198.18.2.13", 31003, "198.18.2.13"]]' <"$TMP/apps.json"
check "port 0 got a service port, VIP_0 label kept, servicePorts on tasks" q '
.apps[0] | .portDefinitions[0].port as $p | $p >= 10000 and $p <= 20000
 and .portDefinitions[0].labels == {VIP_0: "/minitwit:80"} and all(.tasks[]; .servicePorts == [$p])' \
	<"$TMP/apps.json"
check "instance-era task ids, healthCheckResults with instanceId" q '
all(.apps[0].tasks[]; (.id | startswith("minitwit.instance-") and endswith("._app.1"))
    and .healthCheckResults[0].instanceId == (.id | .[:-("._app.1" | length)])
    and .healthCheckResults[0].alive == true)' <"$TMP/apps.json"
check "/v2/apps without embed: counts, no tasks" qget /v2/apps \
	'(.apps[0] | has("tasks") | not) and .apps[0].tasksRunning == 3'
check "/v2/apps/minitwit: {app} with tasks" qget /v2/apps/minitwit \
	'.app.id == "/minitwit" and (.app.tasks | length) == 3'
check "/v2/apps/minitwit/tasks" qget /v2/apps/minitwit/tasks '(.tasks | length) == 3'
check "/v2/tasks" qget /v2/tasks '(.tasks | length) == 3'
check "/v2/tasks?status=staging" qget '/v2/tasks?status=staging' '.tasks == []'
check "unknown app -> 404" [ "$(code "$BASE/v2/apps/nope")" = 404 ]
check "unknown app: Marathon's message" qget /v2/apps/nope '.message == "App '\''/nope'\'' does not exist"'
check "/v2/pods/::status is an array" qget /v2/pods/::status '. == []'

# ---- key sets against recorded Marathon payloads ----

if [ -d "$FIXTURES/marathon-lb/tests" ] && [ -d "$FIXTURES/marathon/api-examples" ]; then
	key_files=(marathon-lb/tests/zdd_app_blue_marathon1.5.json marathon-lb/tests/marathon15_apps.json
		marathon-lb/tests/zdd_apps.json marathon-lb/tests/zdd_app_blue.json
		marathon/api-examples/app_tasks.json marathon/api-examples/tasks.json
		marathon/api-examples/app_task.json marathon/api-examples/app_list.json
		marathon/api-examples/app.json marathon/api-examples/group.json)
	# every app, task and health key the simulator sends must appear in some recorded
	# payload, and the keys xlbd reads must be there
	out=$(cd "$FIXTURES" && jq -rn --slurpfile sim "$TMP/apps.json" '
	[inputs as $d | input_filename as $f |
	 (if ($f | endswith("/app.json")) then [$d] else ($d.apps // []) end) as $apps |
	 {apps: $apps, tasks: (($d.tasks // []) + (if $d.task then [$d.task] else [] end)
			       + [$apps[] | (.tasks // [])[]])}] as $x |
	([$x[].apps[] | keys[]] | unique) as $ak |
	([$x[].tasks[] | keys[]] | unique) as $tk |
	([$x[].tasks[] | (.healthCheckResults // [])[] | keys[]] | unique) as $hk |
	$sim[0].apps as $sa | $sa[0].tasks[0] as $t0 |
	([$sa[] | keys[] | select(IN($ak[]) | not) | "app key \(.)"]
	 + [$sa[].tasks[] | keys[] | select(IN($tk[]) | not) | "task key \(.)"]
	 + [$sa[].tasks[] | (.healthCheckResults // [])[] | keys[] | select(IN($hk[]) | not) |
	    "health key \(.)"]
	 + (["id", "instances", "labels", "networks", "portDefinitions", "healthChecks", "version",
	     "taskKillGracePeriodSeconds", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
	     "tasksStaged", "deployments", "tasks"] - ($sa[0] | keys) | map("missing app key \(.)"))
	 + (["id", "appId", "host", "state", "ports", "ipAddresses", "slaveId", "version",
	     "healthCheckResults"] - ($t0 | keys) | map("missing task key \(.)"))
	 + (["alive", "instanceId"] - ($t0.healthCheckResults[0] | keys) |
	    map("missing health key \(.)"))) | unique | join("; ")' "${key_files[@]}" 2>&1 ||
		echo "jq failed")
	check "app/task/health keys all exist in real Marathon payloads, required ones present" \
		[ -z "$out" ]
	[ -n "$out" ] && echo "# $out"
else
	skip fixtures "$FIXTURES not found, key sets not compared with real payloads"
fi

# ---- event stream ----

check "/v2/events without Accept -> 405" [ "$(code "$BASE/v2/events")" = 405 ]
check "/v2/events with Accept: application/json -> 405" \
	[ "$(code -H 'Accept: application/json' "$BASE/v2/events")" = 405 ]
check "/v2/events with Accept: text/event-stream, */* -> 405 (exact match only)" \
	[ "$(code -H 'Accept: text/event-stream, */*' "$BASE/v2/events")" = 405 ]
check "405 body is Jetty's message" grep -q 'HTTP method GET is not supported by this URL' \
	<<<"$(get /v2/events)"

stream_start idle "" 2
wait "$STREAM_idle" 2>/dev/null
check "stream: 200 text/event-stream" grep -qi '^Content-Type: text/event-stream' "$TMP/idle.h"
check "stream: Connection: close, not chunked" grep -qi '^Connection: close' "$TMP/idle.h"
check "stream: no Transfer-Encoding" sh -c "! grep -qi '^Transfer-Encoding' '$TMP/idle.h'"
check "stream: starts with event_stream_attached, CRLF framed" sse "$TMP/idle.sse" '
($buf | startswith("event: event_stream_attached\r\ndata: {")) and $ev[0].name == "event_stream_attached"
and $ev[0].data.remoteAddress == "127.0.0.1" and ($ev[0].data | has("timestamp"))'
check "stream: heartbeats every 200 ms are bare CRLF lines" sse "$TMP/idle.sse" '($ev | length) == 1 and $hb >= 3'

# ---- kill: TASK_KILLING for the grace, then gone (and replaced) ----

stream_start all "" 30
stream_start filtered "?event_type=status_update_event&event_type=instance_health_changed_event" 30
# Snapshots first, checks after; the grace (2 s) outlasts them even on a loaded machine.
killed=$(post '/sim/kill?app=/minitwit&index=0&grace_ms=2000')
snap=$(get /v2/apps/minitwit)
sleep 0.2 # still within the grace
snap2=$(get /v2/tasks)
victim=$(qv .task <<<"$killed")
check "kill: task shows TASK_KILLING at once" q \
	"[.app.tasks[] | select(.id == \"$victim\") | .state] == [\"TASK_KILLING\"]" <<<"$snap"
check "kill: still listed within the grace" grep -q "$victim" <<<"$snap2"
gone() { ! get /v2/tasks | grep -q "$victim"; }
check "kill: gone after the grace" wait_for 6 gone
replaced() { qget /v2/apps/minitwit '(.app.tasks | length) == 3 and .app.tasksHealthy == 3'; }
check "kill: a replacement comes up healthy" wait_for 5 replaced
check "kill: TASK_KILLING then TASK_KILLED events for the task" sse "$TMP/all.sse" "
[\$ev[] | select(.name == \"status_update_event\" and .data.taskId == \"$victim\") | .data.taskStatus]
== [\"TASK_KILLING\", \"TASK_KILLED\"]"
check "status_update_event carries the fields Marathon sends" sse "$TMP/all.sse" '
all($ev[] | select(.name == "status_update_event"); (.data | keys) == (["slaveId", "taskId",
    "taskStatus", "message", "appId", "host", "ipAddresses", "ports", "version", "eventType",
    "timestamp"] | sort))'
check "instance_changed_event: Killing, Killed" sse "$TMP/all.sse" "
[\$ev[] | select(.name == \"instance_changed_event\") |
 select(.data.instanceId as \$i | \"$victim\" | startswith(\$i + \".\")) | .data.condition]
== [\"Killing\", \"Killed\"]"
check "replacement: TASK_STAGING, TASK_RUNNING, then healthy" sse "$TMP/all.sse" '
[$ev[] | select(.name == "status_update_event" and .data.taskStatus == "TASK_STAGING") |
 .data.taskId][0] as $new |
[$ev[] | select(.name == "status_update_event" and .data.taskId == $new) | .data.taskStatus]
== ["TASK_STAGING", "TASK_RUNNING"] and any($ev[]; .name == "instance_health_changed_event"
and .data.healthy == true and (.data.instanceId as $i | $new | startswith($i + ".")))'

# ---- health flips ----

target=$(get /v2/apps/minitwit | qv '.app.tasks[1].id')
post /sim/health "{\"task\":\"$target\",\"alive\":false,\"cause\":\"HTTP 503\"}" >/dev/null
check "health false: healthCheckResults alive=false in /v2/apps" qget '/v2/apps?embed=apps.tasks' "
[.apps[0].tasks[] | select(.id == \"$target\") | .healthCheckResults[] | [.alive, .lastFailureCause]]
== [[false, \"HTTP 503\"]] and .apps[0].tasksUnhealthy == 1"
ihc_false() {
	sse "$TMP/all.sse" "any(\$ev[]; .name == \"instance_health_changed_event\" and .data.healthy == false
	and (.data.instanceId as \$i | \"$target\" | startswith(\$i + \".\")))"
}
check "health false: instance_health_changed_event healthy=false" wait_for 2 ihc_false
check "health false: health_status_changed_event alive=false" sse "$TMP/all.sse" '
any($ev[]; .name == "health_status_changed_event" and .data.alive == false
    and (.data | keys) == (["appId", "instanceId", "version", "alive", "eventType", "timestamp"] | sort))'
post "/sim/health?task=$target&alive=true" >/dev/null
check "health true again" qget /v2/apps/minitwit \
	'.app.tasksHealthy == 3 and .app.tasksUnhealthy == 0'

# ---- scale ----

post /sim/scale '{"app":"/minitwit","instances":5}' >/dev/null
snap=$(get /v2/apps/minitwit)
check "scale up: new tasks staged, no health results yet, a deployment" q '
(.app.tasks | length) == 5 and .app.tasksStaged == 2 and (.app.deployments | length) == 1
and ([.app.tasks[] | select(has("healthCheckResults") | not)] | length) == 2' <<<"$snap"
scaled() { qget /v2/apps/minitwit '.app.tasksHealthy == 5 and .app.deployments == []'; }
check "scale up: 5 healthy, deployment finished" wait_for 5 scaled
check "scale up: tasks spread over the agents, host ports from 31000-32000" qget /v2/apps/minitwit '
all(.app.tasks[]; IN(.host; "198.18.2.11", "198.18.2.12", "198.18.2.13")
    and .ports[0] >= 31000 and .ports[0] < 32000) and ([.app.tasks[].host] | unique | length) == 3'
post '/sim/scale?app=/minitwit&instances=3&grace_ms=200' >/dev/null
scaled_down() { qget /v2/apps/minitwit '(.app.tasks | length) == 3 and .app.deployments == []'; }
check "scale down: back to 3 after the grace" wait_for 5 scaled_down
check "scale: deployment_info, deployment_success, api_post_event" sse "$TMP/all.sse" '
[$ev[] | select(.name == "deployment_success") | .data.plan.steps[0].actions[0].action]
== ["ScaleApplication", "ScaleApplication"]
and ([$ev[] | select(.name == "deployment_info")] | length) == 2 and any($ev[];
.name == "api_post_event" and .data.appDefinition.id == "/minitwit" and .data.uri == "/v2/apps/minitwit")'

# ---- rolling deployment ----

# watch_deploy OLD_IDS: polls /minitwit (every 20 ms, for at most 15 s) until the deployment
# is over and only new tasks run; prints {done, min_healthy, max_tasks} seen meanwhile.
watch_deploy() {
	local end=$(($(now_ms) + 15000)) min=99 max=0 done=false h n fin
	while [ "$(now_ms)" -lt "$end" ]; do
		read -r h n fin < <(get /v2/apps/minitwit | jq -r --arg old "$1" '.app |
			($old | split(",")) as $o | [.tasks[].id] as $ids |
			[([.tasks[] | select(.state == "TASK_RUNNING" and
				any((.healthCheckResults // [])[]; .alive))] | length),
			 ($ids | length),
			 (.deployments == [] and ([$ids[] | select(IN($o[]))] == []) and ($ids | length) == 3)] |
			@tsv')
		if [ -z "${fin:-}" ]; then
			min=-1 # an answer that is not the app: not a deployment to vouch for
			break
		fi
		[ "$h" -lt "$min" ] && min=$h
		[ "$n" -gt "$max" ] && max=$n
		if [ "$fin" = true ]; then
			done=true
			break
		fi
		sleep 0.02
	done
	echo "{\"done\": $done, \"min_healthy\": $min, \"max_tasks\": $max}"
}
old_ids=$(get /v2/apps/minitwit | qv '[.app.tasks[].id] | join(",")')
post /sim/deploy '{"app":"/minitwit","grace_ms":250,"patch":{"labels":{"HAPROXY_GROUP":"external","COLOUR":"blue"}}}' >/dev/null
res=$(watch_deploy "$old_ids")
check "rolling deploy: ends with all-new task ids" q '.done == true' <<<"$res"
check "rolling deploy: never fewer than 3 healthy, at most one extra task" \
	q '.min_healthy >= 3 and .max_tasks <= 4' <<<"$res"
check "rolling deploy: new config and version served" qget /v2/apps/minitwit '
.app.labels.COLOUR == "blue" and (.app.version as $v | all(.app.tasks[]; .version == $v))'
check "rolling deploy: RestartApplication deployment_success" sse "$TMP/all.sse" '
any($ev[]; .name == "deployment_success" and
    .data.plan.steps[0].actions[0].action == "RestartApplication")'
stream_stop filtered
check "event_type filters: only the asked-for types, no event_stream_attached" sse "$TMP/filtered.sse" '
($ev | length) > 0 and ([$ev[].name] | unique) == ["instance_health_changed_event", "status_update_event"]'

# ---- leader failover as seen through health: results dropped, then re-probed ----

post '/sim/drop-health?ms=500' >/dev/null
snap=$(get '/v2/apps?embed=apps.tasks')
check "drop-health: no task has healthCheckResults" q '
all(.apps[0].tasks[]; has("healthCheckResults") | not) and .apps[0].tasksHealthy == 0' <<<"$snap"
reprobed() { qget /v2/apps/minitwit '.app.tasksHealthy == 3'; }
check "drop-health: results come back after the delay" wait_for 3 reprobed

# ---- apps in container/bridge mode, added and removed at run time ----

post /sim/add-app '{"id":"/web","instances":2,"networks":[{"mode":"container/bridge"}],
 "container":{"type":"DOCKER","docker":{"image":"nginx"},"portMappings":[{"containerPort":80,
 "hostPort":0,"servicePort":0,"protocol":"tcp","name":"http","labels":{"VIP_0":"/web:80"}}]}}' >/dev/null
web_up() { qget /v2/apps/web '.app.tasksRunning == 2'; }
check "add-app: bridge app runs 2 tasks" wait_for 3 web_up
check "add-app: portMappings with labels and a servicePort, bridge IPs in 198.19.128.0/17" qget /v2/apps/web '
.app | .container.portMappings[0].labels == {VIP_0: "/web:80"}
 and .container.portMappings[0].servicePort >= 10000 and (has("portDefinitions") | not)
 and all(.tasks[]; (.ipAddresses[0].ipAddress | startswith("198.19.128.")) and (.ports | length) == 1)
 and (.tasks[0] | has("healthCheckResults") | not)'
post '/sim/remove-app?app=/web&grace_ms=200' >/dev/null
check "remove-app: gone from /v2/apps at once" [ "$(code "$BASE/v2/apps/web")" = 404 ]
terminated() { sse "$TMP/all.sse" 'any($ev[]; .name == "app_terminated_event" and .data.appId == "/web")'; }
check "remove-app: tasks killed, then app_terminated_event" wait_for 3 terminated

# ---- silence and cut ----

post /sim/silence >/dev/null
stream_start quiet "" 1
wait "$STREAM_quiet" 2>/dev/null
check "silence: no heartbeats" sse "$TMP/quiet.sse" '$hb == 0 and ($ev | length) == 1'
post '/sim/silence?on=false' >/dev/null

stream_start cut "" 10
t0=$(date +%s%N)
post /sim/cut-streams >/dev/null
wait "$STREAM_cut" 2>/dev/null
check "cut-streams: the client sees its stream end at once" \
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 2000 ]
all_ended() { ! kill -0 "$STREAM_all" 2>/dev/null; }
check "cut-streams: every stream ended" wait_for 2 all_ended

# ---- leaderless: 502, and a closed listener ----

post /sim/down '{"mode":"502"}' >/dev/null
check "down 502: REST answers 502" [ "$(code "$BASE/v2/apps")" = 502 ]
check "down 502: Could not determine the current leader" qget /v2/apps \
	'.message == "Could not determine the current leader"'
check "down 502: /v2/events 502 too" [ "$(code -H 'Accept: text/event-stream' "$BASE/v2/events")" = 502 ]
check "down 502: /ping still pong" [ "$(get /ping)" = pong ]
post /sim/up >/dev/null
check "up: REST answers again" [ "$(code "$BASE/v2/apps")" = 200 ]

post /sim/down '{"mode":"close"}' >/dev/null
refused() { curl -s --noproxy '*' --max-time 1 -o /dev/null "$BASE/ping"; [ $? = 7 ]; }
check "down close: connections refused" wait_for 2 refused
check "down close: control listener still answers" grep -q '"ok":true' \
	<<<"$("${CURL[@]}" -X POST "$CTL/sim/up")"
back() { [ "$(get /ping)" = pong ]; }
check "up via control listener: same port serves again" wait_for 3 back

post /sim/down '{"mode":"close","ms":600}' >/dev/null
check "down close for 600 ms: refused" wait_for 2 refused
check "down close for 600 ms: back on its own" wait_for 3 back

# ---- standby: redirects, then failover through the state file ----

if start_sim standby --standby-of "http://127.0.0.1:$LPORT" --heartbeat-ms 200 --state-file "$STATE"; then
	ok "standby starts"
	SBASE=http://127.0.0.1:$PORT
	check "standby: /v2/events -> 302 to the leader, same path and query" \
		[ "$(code -w '%{http_code} %{redirect_url}' -H 'Accept: text/event-stream' \
			"$SBASE/v2/events?event_type=status_update_event")" = \
		"302 http://127.0.0.1:$LPORT/v2/events?event_type=status_update_event" ]
	check "standby: REST -> 302 as well" [ "$(code "$SBASE/v2/apps")" = 302 ]
	check "standby: following the redirect reaches the leader" q '(.apps[0].tasks | length) == 3' \
		<<<"$("${CURL[@]}" -L "$SBASE/v2/apps?embed=apps.tasks")"
	check "standby: answers /ping itself" [ "$("${CURL[@]}" "$SBASE/ping")" = pong ]

	leader_ids=$(get /v2/apps/minitwit | qv '[.app.tasks[].id] | sort')
	"${CURL[@]}" -X POST "$SBASE/sim/promote" >/dev/null
	snap=$("${CURL[@]}" "$SBASE/v2/apps/minitwit")
	"${CURL[@]}" -X POST "$BASE/sim/demote?leader=$SBASE" >/dev/null
	check "promoted standby: same tasks (state file), no health results yet" q "
([.app.tasks[].id] | sort) == $leader_ids
and all(.app.tasks[]; has(\"healthCheckResults\") | not)" <<<"$snap"
	nb_healthy() { "${CURL[@]}" "$SBASE/v2/apps/minitwit" | q '.app.tasksHealthy == 3'; }
	check "promoted standby: health re-probed" wait_for 3 nb_healthy
	check "demoted leader: /v2/events -> 302 to the new leader" \
		[ "$(code -w '%{http_code} %{redirect_url}' -H 'Accept: text/event-stream' "$BASE/v2/events")" = \
		"302 $SBASE/v2/events" ]
else
	nok "standby starts" "$(cat "$TMP/standby.err")"
fi

# ---- network modes and pods (tests/fixtures/sim/modes.json) ----

if start_sim modes --scenario tests/fixtures/sim/modes.json; then
	ok "modes scenario loads"
	MBASE=http://127.0.0.1:$PORT
	mget() { "${CURL[@]}" "$MBASE$1"; }
	overlay_up() { mget /v2/apps/overlay | q '.app.tasksRunning == 2'; }
	check "modes: a TASK_STAGING task from the scenario starts running" wait_for 3 overlay_up
	mget '/v2/apps?embed=apps.tasks' >"$TMP/modes.json"
	check "host mode: fixed and allocated service ports, one host port per definition" q '
[.apps[] | select(.id == "/shop/cart")][0] | [.portDefinitions[].port] as $sp |
$sp[0] == 10100 and .portDefinitions[1].port >= 10000 and .portDefinitions[1].port <= 20000
and .portDefinitions[1].protocol == "udp,tcp"
and all(.tasks[]; (.ports | length) == 2 and .servicePorts == $sp
        and .ipAddresses[0].ipAddress == .host and has("healthCheckResults"))' <"$TMP/modes.json"
	check "container/bridge: hostPort 0 mapped per task, bridge IP, no portDefinitions" q '
[.apps[] | select(.id == "/bridged")][0] |
(has("portDefinitions") | not) and .container.portMappings[0].hostPort == 0
and .container.portMappings[0].servicePort >= 10000
and all(.tasks[]; (.ports | length) == 1 and (.ipAddresses[0].ipAddress | startswith("198.19.128.")))' \
		<"$TMP/modes.json"
	check "container: only mappings with hostPort take a host port, task IPs in 198.19.0.0/17" q '
[.apps[] | select(.id == "/overlay")][0] |
(.container.portMappings[0] | has("hostPort") | not)
and ([.tasks[].ipAddresses[0].ipAddress] | index("198.19.0.10")) != null
and all(.tasks[]; (.ports | length) == 1 and (.ipAddresses[0].ipAddress | startswith("198.19.")))' \
		<"$TMP/modes.json"
	mget /v2/pods/::status >"$TMP/pods.json"
	check "pods: ::status lists instances, containers, endpoints and network addresses" q '
.[0] | .id == "/web-pod" and [.instances[].status] == ["STABLE", "DEGRADED"]
and .instances[0].agentHostname == "198.18.3.21"
and (.instances[0].networks[0].addresses[0] | startswith("198.19."))
and [.instances[1].containers[0].endpoints[] | [.name, has("allocatedHostPort"), .healthy]]
    == [["http", false, false], ["admin", true, null]]' <"$TMP/pods.json"
	check "pods: /v2/pods/web-pod::status is one object" q '.id == "/web-pod"' \
		<<<"$(mget /v2/pods/web-pod::status)"
	cat "$TMP/apps.json" "$TMP/modes.json" "$TMP/pods.json" >"$TMP/all-out.txt"
	# every dotted quad in what it served: a valid address in 198.18.0.0/15, at least one
	in_lab_range() {
		grep -ohE '\b[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\b' "$1" | sort -u | awk -F. '
			{ n++ } $1 != 198 || ($2 != 18 && $2 != 19) || $3 > 255 || $4 > 255 {
				bad = bad " " $0 }
			END { if (bad != "") print "#" bad; exit (bad != "" || n == 0) }'
	}
	check "every address the simulator made up is in 198.18.0.0/15" in_lab_range "$TMP/all-out.txt"
else
	nok "modes scenario loads" "$(cat "$TMP/modes.err")"
fi

# ---- the cluster lab's scenario: agents' own subnets (tests/fixtures/sim/cluster.json) ----

if start_sim cluster --scenario tests/fixtures/sim/cluster.json; then
	ok "cluster scenario loads"
	CBASE=http://127.0.0.1:$PORT
	cget() { "${CURL[@]}" "$CBASE$1"; }
	cpost() { "${CURL[@]}" -X POST "$CBASE$1"; }
	check "cluster: pinned tasks keep their agents, host ports and addresses" q '
[.apps[] | select(.id == "/web-overlay")][0].tasks | map(.ipAddresses[0].ipAddress) | sort ==
["198.18.33.2", "198.18.34.2", "198.18.35.2"]' <<<"$(cget '/v2/apps?embed=apps.tasks')"
	cpost '/sim/scale?app=/web-overlay&instances=4' >/dev/null
	cpost '/sim/scale?app=/web-bridge&instances=4' >/dev/null
	four() { cget '/v2/apps?embed=apps.tasks' | q '[.apps[] | select(.id != "/web-host") |
		.tasksRunning] == [4, 4]'; }
	check "cluster: scaled to 4, the new tasks run" wait_for 5 four
	cget '/v2/apps?embed=apps.tasks' >"$TMP/cluster.json"
	check "cluster: a new container-network task takes the next address of its agent's subnet" q '
[.apps[] | select(.id == "/web-overlay")][0].tasks | map(select(.ipAddresses[0].ipAddress
 | IN("198.18.33.2", "198.18.34.2", "198.18.35.2") | not))[0] |
.host == "198.18.4.11" and .ipAddresses[0].ipAddress == "198.18.33.3"' <"$TMP/cluster.json"
	check "cluster: a new bridge task gets its agent's bridge subnet and a host port" q '
[.apps[] | select(.id == "/web-bridge")][0].tasks | map(select(.ipAddresses[0].ipAddress | IN("198.18.17.2", "198.18.18.2", "198.18.19.2")
 | not))[0] | .ports[0] >= 31000 and .ports[0] <= 32000 and
.host == "198.18.4.11" and .ipAddresses[0].ipAddress == "198.18.17.3"' <"$TMP/cluster.json"
	check "cluster: /sim/state keeps the subnets (a promoted standby gets them)" q '
.sim.subnets["198.18.4.12"].container == "198.18.34.0/24"' <<<"$(cget /sim/state)"
else
	nok "cluster scenario loads" "$(cat "$TMP/cluster.err")"
fi
jq '.sim.subnets["198.18.4.11"].container = "198.18.33.0"' tests/fixtures/sim/cluster.json \
	>"$TMP/bad-subnets.json"
"$BIN" --listen 127.0.0.1:0 --scenario "$TMP/bad-subnets.json" >/dev/null 2>"$TMP/bad-subnets.err"
rc=$?
check "cluster: a subnet without a prefix length is refused at load" \
	eval "[ $rc != 0 ] && grep -q 'sim.subnets.198.18.4.11' '$TMP/bad-subnets.err'"

# ---- clean exit ----

kill -TERM "$LEADER_PID"
exited() { ! kill -0 "$LEADER_PID" 2>/dev/null; }
check "SIGTERM: exits promptly" wait_for 3 exited
wait "$LEADER_PID"
check "SIGTERM: exit status 0" [ $? = 0 ]
check "logs one line per request to stderr" grep -q 'GET /v2/apps?embed=apps.tasks -> 200' "$TMP/leader.err"

finish
