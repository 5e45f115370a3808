#!/usr/bin/env bash
# End-to-end checks of marathon-sim against what real Marathon does: the REST
# shapes (key sets compared with recorded Marathon payloads in ../shared/fixtures),
# the SSE wire format byte for byte, task life cycles (kill, health, scale,
# rolling deploy, leader failover), leaderless and closed listeners, and a
# standby's redirects. Talks to 127.0.0.1 only; every wait is bounded.
set -u
cd "$(dirname "$0")/../.." || exit 1

OUTPUT=${OUTPUT:-.output}
BIN=$OUTPUT/marathon-sim
SCENARIO=tests/fixtures/sim/minitwit.json
FIXTURES=${FIXTURES:-../shared/fixtures}
PIDS=()
TMP=$(mktemp -d)

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

SUITE=marathon_sim
. tests/cli/lib.sh

if ! command -v python3 >/dev/null 2>&1; then
	echo "# SKIP: python3 not found; the JSON checks of this suite need it"
	finish
fi
if ! command -v curl >/dev/null 2>&1; then
	echo "# SKIP: curl not found"
	finish
fi
# The interpreter python3 names, resolved once: a pyenv shim costs ~0.4 s a call.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "$PY" ] || PY=python3
if [ ! -x "$BIN" ]; then
	nok "binary $BIN exists (build it first)"
	finish
fi

# q EXPR: evaluates a Python expression over the JSON on stdin (as d); a bool
# becomes the exit status, anything else is printed.
cat >"$TMP/q.py" <<'EOF'
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(2)
r = eval("(" + sys.argv[1].strip() + "\n)", {"d": d, "json": json})
if isinstance(r, bool):
    sys.exit(0 if r else 1)
print(r if isinstance(r, str) else json.dumps(r))
EOF
q() { "$PY" "$TMP/q.py" "$1"; }

# sse.py FILE EXPR: parses an event-stream capture strictly (every byte must be
# an event "event: N\r\ndata: J\r\n\r\n" or a heartbeat "\r\n"; a trailing lone
# "\r" is a heartbeat cut in half) and evaluates EXPR over ev (list of
# (name, data)) and hb (heartbeat count).
cat >"$TMP/sse.py" <<'EOF'
import json, re, sys
buf = open(sys.argv[1], "rb").read()
ev, hb, i = [], 0, 0
pat = re.compile(rb"event: ([a-z_]+)\r\ndata: ([^\r\n]*)\r\n\r\n")
while i < len(buf):
    if buf.startswith(b"\r\n", i):
        hb += 1
        i += 2
        continue
    if buf[i:] == b"\r":
        break
    m = pat.match(buf, i)
    if not m:
        print("bad framing at byte %d: %r" % (i, buf[i:i + 60]), file=sys.stderr)
        sys.exit(3)
    name, data = m.group(1).decode(), json.loads(m.group(2))
    if data.get("eventType") != name:
        print("event %s carries eventType %s" % (name, data.get("eventType")), file=sys.stderr)
        sys.exit(3)
    ev.append((name, data))
    i = m.end()
r = eval("(" + sys.argv[2].strip() + "\n)", {"ev": ev, "hb": hb, "buf": buf})
if isinstance(r, bool):
    sys.exit(0 if r else 1)
print(r if isinstance(r, str) else json.dumps(r))
EOF
sse() { "$PY" "$TMP/sse.py" "$@"; }

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

# qget PATH EXPR: GETs PATH and evaluates EXPR over its JSON.
qget() { get "$1" | q "$2"; }

# start_sim NAME ARGS...: starts a simulator on a free port and sets PORT.
start_sim() {
	local name=$1 i
	shift
	"$BIN" --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PIDS+=($!)
	LASTPID=$!
	PORT=
	for i in $(seq 100); do
		PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$name.out")
		[ -n "$PORT" ] && return 0
		kill -0 "$LASTPID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# stream_start NAME QUERY SECONDS: captures /v2/events in the background and
# returns once the response has started (the stream is then registered).
stream_start() {
	curl -sN --noproxy '*' -D "$TMP/$1.h" -H 'Accept: text/event-stream' --max-time "$3" \
		"$BASE/v2/events$2" >"$TMP/$1.sse" 2>/dev/null &
	PIDS+=($!)
	eval "STREAM_$1=$!"
	wait_for 3 grep -qs '^HTTP/1.1 200' "$TMP/$1.h"
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
check "GET /v2/info" qget /v2/info "d['name'] == 'marathon' and d['elected'] is True
	and d['leader'] == '127.0.0.1:$LPORT' and d['marathon_config']['local_port_min'] == 10000
	and 'frameworkId' in d and d['http_config']['http_port'] == $LPORT"
check "GET /v2/leader" qget /v2/leader "d == {'leader': '127.0.0.1:$LPORT'}"

get '/v2/apps?embed=apps.tasks' >"$TMP/apps.json"
check "/v2/apps?embed=apps.tasks: one app /minitwit, 3 running healthy tasks" q "
(lambda a: len(d['apps']) == 1 and a['id'] == '/minitwit' and a['instances'] == 3
 and len(a['tasks']) == 3 and all(t['state'] == 'TASK_RUNNING' for t in a['tasks'])
 and a['tasksRunning'] == 3 and a['tasksHealthy'] == 3 and a['deployments'] == [])(d['apps'][0])" \
	<"$TMP/apps.json"
check "tasks on 198.18.2.11..13 with their ports and ipAddresses" q "
sorted((t['host'], t['ports'][0], t['ipAddresses'][0]['ipAddress']) for t in d['apps'][0]['tasks'])
== [('198.18.2.11', 31001, '198.18.2.11'), ('198.18.2.12', 31002, '198.18.2.12'),
    ('198.18.2.13', 31003, '198.18.2.13')]" <"$TMP/apps.json"
check "port 0 got a service port, VIP_0 label kept, servicePorts on tasks" q "
(lambda a: 10000 <= a['portDefinitions'][0]['port'] <= 20000
 and a['portDefinitions'][0]['labels'] == {'VIP_0': '/minitwit:80'}
 and all(t['servicePorts'] == [a['portDefinitions'][0]['port']] for t in a['tasks']))(d['apps'][0])" \
	<"$TMP/apps.json"
check "instance-era task ids, healthCheckResults with instanceId" q "
all(t['id'].startswith('minitwit.instance-') and t['id'].endswith('._app.1')
    and t['healthCheckResults'][0]['instanceId'] == t['id'][:-len('._app.1')]
    and t['healthCheckResults'][0]['alive'] is True for t in d['apps'][0]['tasks'])" <"$TMP/apps.json"
check "/v2/apps without embed: counts, no tasks" qget /v2/apps \
	"'tasks' not in d['apps'][0] and d['apps'][0]['tasksRunning'] == 3"
check "/v2/apps/minitwit: {app} with tasks" qget /v2/apps/minitwit \
	"d['app']['id'] == '/minitwit' and len(d['app']['tasks']) == 3"
check "/v2/apps/minitwit/tasks" qget /v2/apps/minitwit/tasks "len(d['tasks']) == 3"
check "/v2/tasks" qget /v2/tasks "len(d['tasks']) == 3"
check "/v2/tasks?status=staging" qget '/v2/tasks?status=staging' "d['tasks'] == []"
check "unknown app -> 404" [ "$(code "$BASE/v2/apps/nope")" = 404 ]
check "unknown app: Marathon's message" qget /v2/apps/nope "d['message'] == \"App '/nope' does not exist\""
check "/v2/pods/::status is an array" qget /v2/pods/::status "d == []"

# ---- key sets against recorded Marathon payloads ----

if [ -d "$FIXTURES/marathon-lb/tests" ] && [ -d "$FIXTURES/marathon/api-examples" ]; then
	cat >"$TMP/keys.py" <<'EOF'
import json, os, sys
fx, sim = sys.argv[1], json.load(open(sys.argv[2]))
files = ["marathon-lb/tests/zdd_app_blue_marathon1.5.json", "marathon-lb/tests/marathon15_apps.json",
         "marathon-lb/tests/zdd_apps.json", "marathon-lb/tests/zdd_app_blue.json",
         "marathon/api-examples/app_tasks.json", "marathon/api-examples/tasks.json",
         "marathon/api-examples/app_task.json", "marathon/api-examples/app_list.json",
         "marathon/api-examples/app.json", "marathon/api-examples/group.json"]
tk, hk, ak = set(), set(), set()
for f in files:
    d = json.load(open(os.path.join(fx, f)))
    apps = [d] if f.endswith("/app.json") else d.get("apps", [])
    tasks = list(d.get("tasks", [])) + ([d["task"]] if "task" in d else [])
    for a in apps:
        ak |= set(a)
        tasks += a.get("tasks") or []
    for t in tasks:
        tk |= set(t)
        for r in t.get("healthCheckResults", []):
            hk |= set(r)
bad = []
for a in sim["apps"]:
    bad += ["app key %s" % k for k in set(a) - ak]
    for t in a["tasks"]:
        bad += ["task key %s" % k for k in set(t) - tk]
        for r in t.get("healthCheckResults", []):
            bad += ["health key %s" % k for k in set(r) - hk]
need_t = {"id", "appId", "host", "state", "ports", "ipAddresses", "slaveId", "version",
          "healthCheckResults"}
need_a = {"id", "instances", "labels", "networks", "portDefinitions", "healthChecks", "version",
          "taskKillGracePeriodSeconds", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
          "tasksStaged", "deployments", "tasks"}
t0 = sim["apps"][0]["tasks"][0]
bad += ["missing app key %s" % k for k in need_a - set(sim["apps"][0])]
bad += ["missing task key %s" % k for k in need_t - set(t0)]
bad += ["missing health key %s" % k
        for k in {"alive", "instanceId"} - set(t0["healthCheckResults"][0])]
print("; ".join(sorted(set(bad))))
sys.exit(1 if bad else 0)
EOF
	out=$("$PY" "$TMP/keys.py" "$FIXTURES" "$TMP/apps.json")
	check "app/task/health keys all exist in real Marathon payloads, required ones present" \
		[ -z "$out" ]
	[ -n "$out" ] && echo "# $out"
else
	echo "# SKIP: $FIXTURES not found, key sets not compared with real payloads"
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
check "stream: starts with event_stream_attached, CRLF framed" sse "$TMP/idle.sse" "
buf.startswith(b'event: event_stream_attached\r\ndata: {') and ev[0][0] == 'event_stream_attached'
and ev[0][1]['remoteAddress'] == '127.0.0.1' and 'timestamp' in ev[0][1]"
check "stream: heartbeats every 200 ms are bare CRLF lines" sse "$TMP/idle.sse" 'len(ev) == 1 and hb >= 3'

# ---- kill: TASK_KILLING for the grace, then gone (and replaced) ----

stream_start all "" 30
stream_start filtered "?event_type=status_update_event&event_type=instance_health_changed_event" 30
# Snapshots first, checks after; the grace (2 s) outlasts them even on a loaded machine.
killed=$(post '/sim/kill?app=/minitwit&index=0&grace_ms=2000')
snap=$(get /v2/apps/minitwit)
sleep 0.2
snap2=$(get /v2/tasks)
victim=$(q "d['task']" <<<"$killed")
check "kill: task shows TASK_KILLING at once" q \
	"[t['state'] for t in d['app']['tasks'] if t['id'] == '$victim'] == ['TASK_KILLING']" <<<"$snap"
check "kill: still listed within the grace" grep -q "$victim" <<<"$snap2"
gone() { ! get /v2/tasks | grep -q "$victim"; }
check "kill: gone after the grace" wait_for 6 gone
replaced() { qget /v2/apps/minitwit "len(d['app']['tasks']) == 3 and d['app']['tasksHealthy'] == 3"; }
check "kill: a replacement comes up healthy" wait_for 5 replaced
check "kill: TASK_KILLING then TASK_KILLED events for the task" sse "$TMP/all.sse" "
[e[1]['taskStatus'] for e in ev if e[0] == 'status_update_event' and e[1]['taskId'] == '$victim']
== ['TASK_KILLING', 'TASK_KILLED']"
check "status_update_event carries the fields Marathon sends" sse "$TMP/all.sse" "
all(set(e[1]) == {'slaveId', 'taskId', 'taskStatus', 'message', 'appId', 'host', 'ipAddresses',
                  'ports', 'version', 'eventType', 'timestamp'} for e in ev if e[0] == 'status_update_event')"
check "instance_changed_event: Killing, Killed" sse "$TMP/all.sse" "
[e[1]['condition'] for e in ev if e[0] == 'instance_changed_event'
 and '$victim'.startswith(e[1]['instanceId'] + '.')] == ['Killing', 'Killed']"
check "replacement: TASK_STAGING, TASK_RUNNING, then healthy" sse "$TMP/all.sse" "
(lambda new: [e[1]['taskStatus'] for e in ev if e[0] == 'status_update_event' and e[1]['taskId'] == new]
 == ['TASK_STAGING', 'TASK_RUNNING'] and any(e[0] == 'instance_health_changed_event'
 and e[1]['healthy'] is True and new.startswith(e[1]['instanceId'] + '.') for e in ev))(
 [e[1]['taskId'] for e in ev if e[0] == 'status_update_event' and e[1]['taskStatus'] == 'TASK_STAGING'][0])"

# ---- health flips ----

target=$(qget /v2/apps/minitwit "d['app']['tasks'][1]['id']")
post /sim/health "{\"task\":\"$target\",\"alive\":false,\"cause\":\"HTTP 503\"}" >/dev/null
check "health false: healthCheckResults alive=false in /v2/apps" qget '/v2/apps?embed=apps.tasks' "
[(r['alive'], r['lastFailureCause']) for t in d['apps'][0]['tasks'] if t['id'] == '$target'
 for r in t['healthCheckResults']] == [(False, 'HTTP 503')] and d['apps'][0]['tasksUnhealthy'] == 1"
ihc_false() {
	sse "$TMP/all.sse" "any(e[0] == 'instance_health_changed_event' and e[1]['healthy'] is False
	and '$target'.startswith(e[1]['instanceId'] + '.') for e in ev)"
}
check "health false: instance_health_changed_event healthy=false" wait_for 2 ihc_false
check "health false: health_status_changed_event alive=false" sse "$TMP/all.sse" "
any(e[0] == 'health_status_changed_event' and e[1]['alive'] is False
    and set(e[1]) == {'appId', 'instanceId', 'version', 'alive', 'eventType', 'timestamp'} for e in ev)"
post "/sim/health?task=$target&alive=true" >/dev/null
check "health true again" qget /v2/apps/minitwit \
	"d['app']['tasksHealthy'] == 3 and d['app']['tasksUnhealthy'] == 0"

# ---- scale ----

post /sim/scale '{"app":"/minitwit","instances":5}' >/dev/null
snap=$(get /v2/apps/minitwit)
check "scale up: new tasks staged, no health results yet, a deployment" q "
len(d['app']['tasks']) == 5 and d['app']['tasksStaged'] == 2 and len(d['app']['deployments']) == 1
and sum(1 for t in d['app']['tasks'] if 'healthCheckResults' not in t) == 2" <<<"$snap"
scaled() { qget /v2/apps/minitwit "d['app']['tasksHealthy'] == 5 and d['app']['deployments'] == []"; }
check "scale up: 5 healthy, deployment finished" wait_for 5 scaled
check "scale up: tasks spread over the agents, host ports from 31000-32000" qget /v2/apps/minitwit "
all(t['host'] in ('198.18.2.11', '198.18.2.12', '198.18.2.13') and 31000 <= t['ports'][0] < 32000
    for t in d['app']['tasks']) and len(set(t['host'] for t in d['app']['tasks'])) == 3"
post '/sim/scale?app=/minitwit&instances=3&grace_ms=200' >/dev/null
scaled_down() { qget /v2/apps/minitwit "len(d['app']['tasks']) == 3 and d['app']['deployments'] == []"; }
check "scale down: back to 3 after the grace" wait_for 5 scaled_down
check "scale: deployment_info, deployment_success, api_post_event" sse "$TMP/all.sse" "
[e[1]['plan']['steps'][0]['actions'][0]['action'] for e in ev if e[0] == 'deployment_success']
== ['ScaleApplication', 'ScaleApplication']
and sum(1 for e in ev if e[0] == 'deployment_info') == 2 and any(e[0] == 'api_post_event'
and e[1]['appDefinition']['id'] == '/minitwit' and e[1]['uri'] == '/v2/apps/minitwit' for e in ev)"

# ---- rolling deployment ----

old_ids=$(qget /v2/apps/minitwit "','.join(t['id'] for t in d['app']['tasks'])")
cat >"$TMP/watch.py" <<'EOF'
import json, sys, time, urllib.request
base, old = sys.argv[1], set(sys.argv[2].split(","))
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
end, min_healthy, max_tasks, done, ids = time.time() + 15, 99, 0, False, set()
while time.time() < end:
    a = json.load(opener.open(base + "/v2/apps/minitwit", timeout=5))["app"]
    ids = {t["id"] for t in a["tasks"]}
    healthy = sum(1 for t in a["tasks"] if t["state"] == "TASK_RUNNING"
                  and any(r["alive"] for r in t.get("healthCheckResults", [])))
    min_healthy, max_tasks = min(min_healthy, healthy), max(max_tasks, len(ids))
    if not a["deployments"] and not ids & old and len(ids) == 3:
        done = True
        break
    time.sleep(0.02)
print(json.dumps({"done": done, "min_healthy": min_healthy, "max_tasks": max_tasks,
                  "left": sorted(ids & old)}))
EOF
post /sim/deploy '{"app":"/minitwit","grace_ms":250,"patch":{"labels":{"HAPROXY_GROUP":"external","COLOUR":"blue"}}}' >/dev/null
res=$("$PY" "$TMP/watch.py" "$BASE" "$old_ids")
check "rolling deploy: ends with all-new task ids" q "d['done'] is True" <<<"$res"
check "rolling deploy: never fewer than 3 healthy, at most one extra task" \
	q "d['min_healthy'] >= 3 and d['max_tasks'] <= 4" <<<"$res"
check "rolling deploy: new config and version served" qget /v2/apps/minitwit "
d['app']['labels']['COLOUR'] == 'blue' and all(t['version'] == d['app']['version'] for t in d['app']['tasks'])"
check "rolling deploy: RestartApplication deployment_success" sse "$TMP/all.sse" "
any(e[0] == 'deployment_success' and e[1]['plan']['steps'][0]['actions'][0]['action'] == 'RestartApplication'
    for e in ev)"
stream_stop filtered
check "event_type filters: only the asked-for types, no event_stream_attached" sse "$TMP/filtered.sse" "
len(ev) > 0 and {e[0] for e in ev} == {'status_update_event', 'instance_health_changed_event'}"

# ---- leader failover as seen through health: results dropped, then re-probed ----

post '/sim/drop-health?ms=500' >/dev/null
snap=$(get '/v2/apps?embed=apps.tasks')
check "drop-health: no task has healthCheckResults" q "
all('healthCheckResults' not in t for t in d['apps'][0]['tasks']) and d['apps'][0]['tasksHealthy'] == 0" \
	<<<"$snap"
reprobed() { qget /v2/apps/minitwit "d['app']['tasksHealthy'] == 3"; }
check "drop-health: results come back after the delay" wait_for 3 reprobed

# ---- apps in container/bridge mode, added and removed at run time ----

post /sim/add-app '{"id":"/web","instances":2,"networks":[{"mode":"container/bridge"}],
 "container":{"type":"DOCKER","docker":{"image":"nginx"},"portMappings":[{"containerPort":80,
 "hostPort":0,"servicePort":0,"protocol":"tcp","name":"http","labels":{"VIP_0":"/web:80"}}]}}' >/dev/null
web_up() { qget /v2/apps/web "d['app']['tasksRunning'] == 2"; }
check "add-app: bridge app runs 2 tasks" wait_for 3 web_up
check "add-app: portMappings with labels and a servicePort, bridge IPs in 198.19.128.0/17" qget /v2/apps/web "
(lambda a: a['container']['portMappings'][0]['labels'] == {'VIP_0': '/web:80'}
 and a['container']['portMappings'][0]['servicePort'] >= 10000 and 'portDefinitions' not in a
 and all(t['ipAddresses'][0]['ipAddress'].startswith('198.19.128.') and len(t['ports']) == 1
         for t in a['tasks']) and 'healthCheckResults' not in a['tasks'][0])(d['app'])"
post '/sim/remove-app?app=/web&grace_ms=200' >/dev/null
check "remove-app: gone from /v2/apps at once" [ "$(code "$BASE/v2/apps/web")" = 404 ]
terminated() { sse "$TMP/all.sse" "any(e[0] == 'app_terminated_event' and e[1]['appId'] == '/web' for e in ev)"; }
check "remove-app: tasks killed, then app_terminated_event" wait_for 3 terminated

# ---- silence and cut ----

post /sim/silence >/dev/null
stream_start quiet "" 1
wait "$STREAM_quiet" 2>/dev/null
check "silence: no heartbeats" sse "$TMP/quiet.sse" 'hb == 0 and len(ev) == 1'
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
	"d['message'] == 'Could not determine the current leader'"
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
	check "standby: following the redirect reaches the leader" q "len(d['apps'][0]['tasks']) == 3" \
		<<<"$("${CURL[@]}" -L "$SBASE/v2/apps?embed=apps.tasks")"
	check "standby: answers /ping itself" [ "$("${CURL[@]}" "$SBASE/ping")" = pong ]

	leader_ids=$(qget /v2/apps/minitwit "sorted(t['id'] for t in d['app']['tasks'])")
	"${CURL[@]}" -X POST "$SBASE/sim/promote" >/dev/null
	snap=$("${CURL[@]}" "$SBASE/v2/apps/minitwit")
	"${CURL[@]}" -X POST "$BASE/sim/demote?leader=$SBASE" >/dev/null
	check "promoted standby: same tasks (state file), no health results yet" q "
sorted(t['id'] for t in d['app']['tasks']) == $leader_ids
and all('healthCheckResults' not in t for t in d['app']['tasks'])" <<<"$snap"
	nb_healthy() { "${CURL[@]}" "$SBASE/v2/apps/minitwit" | q "d['app']['tasksHealthy'] == 3"; }
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
	overlay_up() { mget /v2/apps/overlay | q "d['app']['tasksRunning'] == 2"; }
	check "modes: a TASK_STAGING task from the scenario starts running" wait_for 3 overlay_up
	mget '/v2/apps?embed=apps.tasks' >"$TMP/modes.json"
	check "host mode: fixed and allocated service ports, one host port per definition" q "
(lambda a: [p['port'] for p in a['portDefinitions']][0] == 10100
 and 10000 <= a['portDefinitions'][1]['port'] <= 20000 and a['portDefinitions'][1]['protocol'] == 'udp,tcp'
 and all(len(t['ports']) == 2 and t['servicePorts'] == [p['port'] for p in a['portDefinitions']]
         and t['ipAddresses'][0]['ipAddress'] == t['host'] and 'healthCheckResults' in t for t in a['tasks']))(
 [a for a in d['apps'] if a['id'] == '/shop/cart'][0])" <"$TMP/modes.json"
	check "container/bridge: hostPort 0 mapped per task, bridge IP, no portDefinitions" q "
(lambda a: 'portDefinitions' not in a and a['container']['portMappings'][0]['hostPort'] == 0
 and a['container']['portMappings'][0]['servicePort'] >= 10000
 and all(len(t['ports']) == 1 and t['ipAddresses'][0]['ipAddress'].startswith('198.19.128.')
         for t in a['tasks']))([a for a in d['apps'] if a['id'] == '/bridged'][0])" <"$TMP/modes.json"
	check "container: only mappings with hostPort take a host port, task IPs in 198.19.0.0/17" q "
(lambda a: 'hostPort' not in a['container']['portMappings'][0]
 and '198.19.0.10' in [t['ipAddresses'][0]['ipAddress'] for t in a['tasks']]
 and all(len(t['ports']) == 1 and t['ipAddresses'][0]['ipAddress'].startswith('198.19.')
         for t in a['tasks']))([a for a in d['apps'] if a['id'] == '/overlay'][0])" <"$TMP/modes.json"
	mget /v2/pods/::status >"$TMP/pods.json"
	check "pods: ::status lists instances, containers, endpoints and network addresses" q "
(lambda p: p['id'] == '/web-pod' and [i['status'] for i in p['instances']] == ['STABLE', 'DEGRADED']
 and p['instances'][0]['agentHostname'] == '198.18.3.21'
 and p['instances'][0]['networks'][0]['addresses'][0].startswith('198.19.')
 and [(e['name'], 'allocatedHostPort' in e, e.get('healthy')) for e in p['instances'][1]['containers'][0]['endpoints']]
     == [('http', False, False), ('admin', True, None)])(d[0])" <"$TMP/pods.json"
	check "pods: /v2/pods/web-pod::status is one object" q "d['id'] == '/web-pod'" \
		<<<"$(mget /v2/pods/web-pod::status)"
	cat "$TMP/apps.json" "$TMP/modes.json" "$TMP/pods.json" >"$TMP/all-out.txt"
	check "every address the simulator made up is in 198.18.0.0/15" "$PY" -c "
import ipaddress, re, sys
net = ipaddress.ip_network('198.18.0.0/15')
ips = set(re.findall(r'\b\d+\.\d+\.\d+\.\d+\b', open(sys.argv[1]).read()))
bad = [ip for ip in ips if ipaddress.ip_address(ip) not in net]
print(' '.join(bad)) if bad else None
sys.exit(1 if bad or not ips else 0)" "$TMP/all-out.txt"
else
	nok "modes scenario loads" "$(cat "$TMP/modes.err")"
fi

# ---- clean exit ----

kill -TERM "$LEADER_PID"
exited() { ! kill -0 "$LEADER_PID" 2>/dev/null; }
check "SIGTERM: exits promptly" wait_for 3 exited
wait "$LEADER_PID"
check "SIGTERM: exit status 0" [ $? = 0 ]
check "logs one line per request to stderr" grep -q 'GET /v2/apps?embed=apps.tasks -> 200' "$TMP/leader.err"

finish
