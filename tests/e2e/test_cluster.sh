#!/usr/bin/env bash
# East-west through xlb's socket balancing, in the cluster lab of
# tests/e2e/cluster.sh (issue 13, scenarios 1, 3 and 4): three agents, each
# with its own xlbd hooked to its own agent's cgroup, all fed by one Marathon
# stand-in on the ToR, and tasks of the three networking modes (host, bridge
# behind a DNAT-ed host port, overlay) on every agent, played by
# tests/e2e/cluster_tasks.py. No xlbd has an interface: a VIP is reachable
# only through the socket programs, so every answer below proves them.
#  1. From every kind of client (the agent's own process, its bridge container,
#     its overlay container) on every agent, to every VIP (/web-host,
#     /web-bridge, /web-overlay: 3 tasks of one kind on 3 agents; /minitwit: all
#     9), TCP and UDP: every connection answered by one of the VIP's tasks, each
#     client reaching every task (its own agent's: the hairpin), and per VIP
#     the tasks' shares within +-10% of even (3,000+ connections per VIP and
#     protocol; 13,500 for /minitwit's nine, so that +-10% is 4 standard
#     deviations). Marathon's VIPs are IPv4 (task hosts are IPv4 literals), so
#     IPv6 is a static VIP of the configuration over the 9 tasks' IPv6 twins,
#     checked the same way; and dual-stack IPv6 sockets to an IPv4 VIP
#     (::ffff:a.b.c.d). Each agent's hooks count exactly its own clients.
#  3. A rolling upgrade of /web-bridge (new containers, new host ports) under
#     load from all three agents to its VIP and /minitwit, TCP and UDP: zero
#     failed requests, the new tasks serving.
#  4. Agent 3 dies (its link to the ToR goes down, the stand-in reports its
#     tasks TASK_UNREACHABLE): 1 s after Marathon's events no connection from
#     agents 1 and 2 goes to agent 3's tasks and none fails; the other tasks
#     keep answering throughout; the two survivors' tables stay identical and
#     the spread over the six tasks left stays even.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
SUITE=cluster
t_tmpdir
CL_ID=${CL_ID:-w$$}
. tests/e2e/cluster.sh
cl_suite_init
# The fixture, with first health results 1.5 s after a task runs: the agents
# start a server when a task is staged, a real health check would wait for it.
jq '.sim.health_delay_ms = 1500' tests/fixtures/sim/cluster.json >"$TMP/cluster.json"
FIXTURE=$TMP/cluster.json

if ! cl_up; then
	nok "the cluster lab comes up"
	finish
fi

# ---- Marathon, the agents' tasks, one xlbd per agent ----

cl_sim_start "$FIXTURE"
CTL=http://$CL_TOR_IP:8081
tor() { nsenter --net="/run/netns/$CL_NS_TOR" "$@"; }
sim() { tor "${CURL[@]}" -X POST "$CTL/sim/$1"; }
sim_state() { tor "${CURL[@]}" "$CTL/sim/state"; }
# the event stream, recorded (Marathon's clock on every event)
tor curl -sN --noproxy '*' -H 'Accept: text/event-stream' "http://$CL_MARATHON/v2/events" \
	>>"$TMP/events.txt" 2>/dev/null &
track_pid $!
events_up() { grep -q event_stream_attached "$TMP/events.txt"; }
wait_until 5 "the recorder of Marathon's event stream is attached" events_up
cl_tasks_start "$CTL" "$TMP/agents.log"
started() { [ "$(grep -c ' start ' "$TMP/agents.log")" -ge "$1" ]; }
if ! wait_for 10 started 9; then
	nok "the agents start the 9 tasks" "$(tail -5 "$TMP/agents.log" "$TMP/agents.log.err")"
	finish
fi

pin() { echo "/sys/fs/bpf/xlb-e2e-cluster-ew-$$-a$1"; }
# Marathon's backends are IPv4 (task hosts are IPv4 literals): IPv6 VIPs come from
# the configuration, a static VIP whose backends are the IPv6 twins of the 9 tasks.
V6VIP=$(cl_6 198.18.0.10)
v6_backends() {
	local n
	for n in 1 2 3; do
		echo "[$(cl_6 "$(cl_ip "$n")")]:3110$n [$(cl_6 "$(cl_ip "$n")")]:3120$n [$(cl_6 "$(cl_ov_ip "$n")")]:8080"
	done | tr ' ' '\n' | jq -R '{address: .}' | jq -cs .
}
V6BES=$(v6_backends)
for n in 1 2 3; do
	track_pin "$(pin "$n")"
	cat >"$TMP/xlbd-$n.json" <<JSON
{ "pin_path": "$(pin "$n")", "log_level": "debug", "metrics": { "listen": null },
  "cgroup": "$(cl_cg "$n")", "socket_lb": true,
  "interfaces": [], "egress_interfaces": [],
  "marathon": { "urls": [ "http://$CL_MARATHON" ], "named_vip_range": "198.19.0.0/16",
    "connect_timeout_ms": 500, "request_timeout_ms": 2000, "stream_timeout_ms": 3000,
    "backoff_min_ms": 100, "backoff_max_ms": 1000 },
  "maps": { "max_vips": 256, "max_backends": 4096, "ct_size": 65536 },
  "vips": [ { "vip": "[$V6VIP]:80/tcp", "name": "v6.static", "backends": $V6BES },
            { "vip": "[$V6VIP]:80/udp", "name": "v6.static", "backends": $V6BES } ] }
JSON
	cl_spawn "$n" "$(cl_ns "$n")" "$E2E_XLBD" -c "$TMP/xlbd-$n.json" >"$TMP/xlbd-$n.log" 2>&1
	XLBD_PIDS[n]=$CL_PID
done
lbs() { "$E2E_LBSTAT" --pin-path "$(pin "$1")" --no-rates -j --ct-budget 1 "${@:2}" 2>/dev/null; }
# synced N: agent N's xlbd has /minitwit with its 9 tasks and each app's VIP with its 3.
synced() {
	lbs "$1" | jq -e '([.vips[]? | "\(.name | split(".")[0]) \(.backends_active)"] | sort) ==
		(["minitwit 9", "minitwit 9", "web-bridge 3", "web-bridge 3", "web-host 3",
		 "web-host 3", "web-overlay 3", "web-overlay 3", "v6 9", "v6 9"] | sort)' 2>/dev/null >/dev/null
}
for n in 1 2 3; do
	if ! wait_for 15 synced "$n"; then
		nok "agent $n's xlbd programs the 4 VIPs and the IPv6 one" "$(tail -3 "$TMP/xlbd-$n.log")"
		finish
	fi
done
ok "3 agents, 9 tasks (host, bridge, overlay on each), each agent's xlbd on its cgroup with the 4 VIPs (and the IPv6 one)"
attached_own() { # each xlbd says it attached the socket programs to its agent's cgroup
	local n
	for n in 1 2 3; do
		grep -q "socket balancing: attached to cgroup $(cl_cg "$n") " "$TMP/xlbd-$n.log" || return 1
	done
}
check "each xlbd attached its socket programs to its own agent's cgroup" attached_own

# VIPADDR[app]: the named VIP's address (the same on every agent: one named_vip_range);
# VIPEP[app]: ADDR:80 (IPv6 in brackets)
declare -A VIPADDR VIPEP
while read -r name addr; do
	VIPADDR[${name%%.*}]=$addr
	case $addr in *:*) VIPEP[${name%%.*}]="[$addr]:80" ;; *) VIPEP[${name%%.*}]=$addr:80 ;; esac
done < <(lbs 1 | jq -r '.vips[] | select(.protocol == "tcp") | "\(.name) \(.address)"')
same_vips() {
	[ "$(lbs 1 | jq -c '[.vips[] | [.name, .address]] | sort')" = \
		"$(lbs "$1" | jq -c '[.vips[] | [.name, .address]] | sort')" ]
}
check "the 3 agents give the named VIPs the same addresses (${VIPADDR[*]})" \
	eval "same_vips 2 && same_vips 3"

# BACKENDS[app]: its tasks as Marathon's backends (= the servers' names), sorted
declare -A BACKENDS
for app in web-host web-bridge web-overlay; do
	BACKENDS[$app]=$(cl_backends_now "$app")
done
BACKENDS[minitwit]=$(printf '%s\n' ${BACKENDS[web-host]} ${BACKENDS[web-bridge]} \
	${BACKENDS[web-overlay]} | sort | tr '\n' ' ')
BACKENDS[v6]=${BACKENDS[minitwit]} # the same servers, named by their IPv4 endpoints
APPS=(web-host web-bridge web-overlay minitwit v6)

# client_ns N KIND: the namespace of agent N's client of that kind.
client_ns() {
	case $2 in
	host) cl_ns "$1" ;;
	bridge) cl_ns_br "$1" ;;
	overlay) cl_ns_ov "$1" ;;
	esac
}

# ---- 1. every client, every VIP, TCP and UDP ----

# burst N KIND OUT "VIP:PORT PROTO COUNT"...: in agent N's client of KIND (and its
# cgroup), one labnet probe per target, back to back; a line "TARGET PROTO JSON" each.
burst() {
	local n=$1 kind=$2 out=$3
	shift 3
	# shellcheck disable=SC2016
	cl_run "$n" "$(client_ns "$n" "$kind")" bash -c '
		labnet=$1
		shift
		for t in "$@"; do
			set -- $t
			u=
			[ "$2" = udp ] && u=--udp
			echo "$1 $2 $("$labnet" probe $u -j -n "$3" --timeout 1000 "$1" 2>&1 | tail -n 1)"
		done' _ "$CL_LABNET" "$@" >"$out"
}

N_WEB=${N_WEB:-350}       # per client, VIP and protocol: 9 x 350 = 3,150 per VIP
N_MINITWIT=${N_MINITWIT:-1500} # 9 x 1,500 = 13,500 over 9 tasks (1,500 each expected)
T1=$(now_ms)
pids=()
for n in 1 2 3; do
	for kind in host bridge overlay; do
		targets=()
		for app in "${APPS[@]}"; do
			c=$N_WEB
			case $app in minitwit | v6) c=$N_MINITWIT ;; esac
			targets+=("${VIPEP[$app]} tcp $c" "${VIPEP[$app]} udp $c")
		done
		targets+=("[::ffff:${VIPADDR[minitwit]}]:80 tcp 90" "[::ffff:${VIPADDR[minitwit]}]:80 udp 90")
		burst "$n" "$kind" "$TMP/s1-$n-$kind.txt" "${targets[@]}" &
		pids+=($!)
	done
done
wait "${pids[@]}"
note "1. $(cat "$TMP"/s1-*.txt | awk '{print $3}' | jq -s 'map(.ok) | add') connections in $(($(now_ms) - T1)) ms"

# Per client: everything answered, by the VIP's tasks only, every one of them reached.
for n in 1 2 3; do
	for kind in host bridge overlay; do
		bad=$(while read -r tgt proto js; do
			app=
			for a in "${APPS[@]}"; do
				case $tgt in "${VIPEP[$a]}") app=$a ;; "[::ffff:${VIPADDR[$a]}]:80") app=$a ;; esac
			done
			want=${BACKENDS[$app]}
			got=$(jq -r '.backends | keys | sort | join(" ")' <<<"$js" 2>/dev/null)
			fails=$(jq -r '.refused + .timeout + .reset + .other' <<<"$js" 2>/dev/null)
			if [ "${fails:-x}" != 0 ] || [ "$got " != "$want" ]; then
				echo "$app/$proto${tgt%%:*}: $fails failed, answered by $got"
			fi
		done <"$TMP/s1-$n-$kind.txt")
		lines=$(wc -l <"$TMP/s1-$n-$kind.txt")
		if [ "$lines" = 12 ] && [ -z "$bad" ]; then
			ok "1. agent $n, $kind client: 5 VIPs (4 IPv4, 1 IPv6; and IPv4 ones from dual-stack sockets), TCP+UDP: every connection answered, every task reached (its own agent's too)"
		else
			nok "1. agent $n, $kind client: every connection answered by every task" \
				"$lines probes; $(echo "$bad" | head -4 | tr '\n' ';')"
		fi
	done
done

# Per VIP and protocol, over all 9 clients: each task's share within +-10% of even.
for app in "${APPS[@]}"; do
	for proto in tcp udp; do
		tally=$(cat "$TMP"/s1-*.txt | awk -v t="${VIPEP[$app]}" -v p="$proto" \
			'$1 == t && $2 == p {print $3}' | jq -s -r \
			'map(.backends | to_entries) | add | group_by(.key) |
			 map("\(.[0].key)=\(map(.value) | add)") | join(" ")')
		total=0
		k=0
		for kv in $tally; do
			total=$((total + ${kv#*=}))
			k=$((k + 1))
		done
		even=$(jq -n "$total / ($(wc -w <<<"${BACKENDS[$app]}"))")
		spread_ok=$(jq -n --arg t "$tally" --argjson e "$even" '[$t | split(" ")[] |
			split("=")[1] | tonumber | (. - $e) / $e | fabs <= 0.10] | all')
		if [ "$spread_ok" = true ] && [ "$k" = "$(wc -w <<<"${BACKENDS[$app]}")" ] &&
			[ "$total" -ge 3000 ]; then
			ok "1. /$app $proto: $total connections, each of its $k tasks within 10% of $even ($tally)"
		else
			nok "1. /$app $proto: each task within 10% of even over 3,000+" "$total: $tally"
		fi
	done
done
# Each agent's hooks saw exactly its own 3 clients' connect()s (UDP probes connect too).
for n in 1 2 3; do
	sc=$(lbs "$n" -g | jq -r '.counters.sock_connect')
	want=$((3 * 2 * (3 * N_WEB + 2 * N_MINITWIT + 90)))
	check "1. agent $n's xlbd translated exactly its own 3 clients' sockets ($sc of $want connect())" \
		[ "$sc" = "$want" ]
done
note "1. Marathon's VIPs are IPv4 (the stand-in, like Marathon, reports tasks at IPv4 hosts): IPv6 is the static VIP $V6VIP over the tasks' IPv6 twins"

# ---- 3. a rolling upgrade under east-west load from all three agents ----

# load NAME N KIND TARGET PROTO: a request every 10 ms from agent N's client of KIND,
# logged (WALL_MS conn|dgram IDX SPORT ok|KIND BACKEND); bounded by --duration.
load() {
	local name=$1 n=$2 kind=$3 tgt=$4 u=
	[ "$5" = udp ] && u=--udp
	cl_spawn "$n" "$(client_ns "$n" "$kind")" "$CL_LABNET" probe $u -j -n 100000 --interval 10 \
		--timeout "${LOAD_TIMEOUT:-1000}" --duration "${LOAD_S:-60}" --log "$TMP/$name.log" "$tgt" \
		>"$TMP/$name.out" 2>&1
	LOADS+=("$CL_PID")
}
loads_stop() {
	local p
	for p in "${LOADS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${LOADS[@]}"; do
		wait "$p" 2>/dev/null
	done
	LOADS=()
}
served() { # served NAME N [EP]: the load has N answers (from EP)
	[ -e "$TMP/$1.log" ] || return 1
	[ "$(awk -v ep="${3:-}" '$5 == "ok" && (ep == "" || $6 == ep) {n++} END {print n + 0}' \
		"$TMP/$1.log" 2>/dev/null)" -ge "$2" ]
}
fails() { awk '$5 != "ok"' "$TMP/$1.log" 2>/dev/null; }
event_ms() {
	sed -n 's/^data: //p' "$TMP/events.txt" | jq -r "select($1) | .timestamp |
		(.[0:19] + \"Z\" | fromdateiso8601) * 1000 + (.[20:23] | tonumber)" | tail -n 1
}

LOADS=()
S3=(u1h:1:host:web-bridge:tcp u2b:2:bridge:web-bridge:tcp u3o:3:overlay:web-bridge:tcp
	u1b:1:bridge:minitwit:udp u2o:2:overlay:minitwit:tcp u3h:3:host:web-bridge:udp)
for l in "${S3[@]}"; do
	IFS=: read -r name n kind app proto <<<"$l"
	load "$name" "$n" "$kind" "${VIPADDR[$app]}:80" "$proto"
done
all_served() { # all_served N NAME...: each load has N answers
	local c=$1 x
	shift
	for x in "$@"; do served "$x" "$c" || return 1; done
}
wait_until 10 "3. the loads run before the upgrade" all_served 20 u1h u2b u3o u1b u2o u3h
OLD_BRIDGE=${BACKENDS[web-bridge]}
sim "deploy?app=/web-bridge&grace_ms=1000" >/dev/null
T3=$(now_ms)
upgraded() { # 3 running tasks, none old, all 3 active on every agent
	local now e n
	now=$(cl_backends_now web-bridge)
	[ "$(wc -w <<<"$now")" = 3 ] || return 1
	for e in $now; do
		case " $OLD_BRIDGE" in *" $e "*) return 1 ;; esac
	done
	for n in 1 2 3; do
		[ "$(lbs "$n" -b | jq -r '[.vips[] | select(.name | startswith("web-bridge.")) |
			.backends[] | select(.state == "active") | .backend] | unique | sort | join(" ")')" = \
			"$(tr ' ' '\n' <<<"$now" | grep . | sort | tr '\n' ' ' | sed 's/ $//')" ] || return 1
	done
	NEW_BRIDGE=$now
}
if wait_for 40 upgraded; then
	ok "3. the rolling upgrade replaced /web-bridge's 3 tasks in $(($(now_ms) - T3)) ms ($NEW_BRIDGE); every agent has exactly the new ones active"
else
	nok "3. the rolling upgrade replaced /web-bridge's 3 tasks" "$(cl_backends_now web-bridge)"
fi
new_served() {
	local e
	for e in ${NEW_BRIDGE:-}; do
		served u1h 5 "$e" && served u2b 5 "$e" && served u3o 5 "$e" || return 1
	done
}
wait_until 10 "3. the new tasks take connections from the 3 agents" new_served
loads_stop
for l in "${S3[@]}"; do
	IFS=: read -r name n kind app proto <<<"$l"
	check "3. agent $n's $kind client -> /$app $proto: zero failed of $(grep -c . "$TMP/$name.log") requests during the upgrade" \
		eval "[ -z \"\$(fails $name)\" ] && served $name 100"
done
check "3. each new /web-bridge task was served from all 3 agents" new_served
BACKENDS[web-bridge]=${NEW_BRIDGE:-}

# ---- 4. agent 3 dies ----

# the tasks on agent 3, from the stand-in: "ID ENDPOINT"
dead_tasks() {
	sim_state | jq -r --arg h "$(cl_ip 3)" '.apps[] | (.networks[0].mode) as $m | .tasks[] |
		select(.host == $h and .state == "TASK_RUNNING") | "\(.id) " +
		(if $m == "container" then "\(.ipAddresses[0]):8080" else "\(.host):\(.ports[0])" end)'
}
dead_tasks >"$TMP/dead"
DEAD=$(awk '{print $2}' "$TMP/dead" | sort | tr '\n' ' ')
ALIVE=$(cl_backends_now web-host; cl_backends_now web-bridge; cl_backends_now web-overlay)
ALIVE=$(for e in $ALIVE; do case " $DEAD" in *" $e "*) ;; *) echo "$e" ;; esac; done | sort)
N_ALIVE=$(wc -w <<<"$ALIVE")
LOAD_TIMEOUT=300
S4=(d1h:1:host d1b:1:bridge d1o:1:overlay d2h:2:host d2b:2:bridge d2o:2:overlay)
for l in "${S4[@]}"; do
	IFS=: read -r name n kind <<<"$l"
	load "$name" "$n" "$kind" "${VIPADDR[minitwit]}:80" tcp
done
wait_until 10 "4. the loads from agents 1 and 2 to /minitwit run" all_served 30 d1h d1b d1o d2h d2b d2o
T_DOWN=$(now_ms)
ip -n "$CL_NS_TOR" link set tor-a3 down
sleep 1 # the agent is gone before Marathon says so: connections to it time out meanwhile
while read -r id _; do
	sim "task-state?task=$id&state=TASK_UNREACHABLE" >/dev/null
done <"$TMP/dead"
unreach_seen() { [ -n "$(event_ms '.eventType == "status_update_event" and .taskStatus == "TASK_UNREACHABLE"')" ]; }
wait_until 5 "4. Marathon's events report agent 3's $(wc -l <"$TMP/dead") tasks unreachable" unreach_seen
T_EV=0
while read -r id _; do
	e=$(event_ms ".eventType == \"status_update_event\" and .taskId == \"$id\" and .taskStatus == \"TASK_UNREACHABLE\"")
	[ "${e%.*}" -gt "$T_EV" ] 2>/dev/null && T_EV=${e%.*}
done <"$TMP/dead"
gone() { # agents 1 and 2 have /minitwit with the tasks left, none of agent 3's
	local n
	for n in 1 2; do
		[ "$(lbs "$n" -b | jq -r '[.vips[] | select(.name | startswith("minitwit.")) |
			.backends[] | select(.state == "active") | .backend] | unique | sort | join(" ")')" = \
			"$(echo "$ALIVE" | tr '\n' ' ' | sed 's/ $//')" ] || return 1
	done
}
wait_until 5 "4. agents 1 and 2 dropped agent 3's tasks from their tables" gone
sleep 3 # the load goes on after Marathon's events
loads_stop
dead_after() { # dead_after NAME T: connections started at or after T that went to a dead task or failed
	awk -v t="$2" -v dead=" $DEAD" '$1 >= t && ($5 != "ok" || index(dead, " " $6 " "))' "$TMP/$1.log"
}
for l in "${S4[@]}"; do
	IFS=: read -r name n kind <<<"$l"
	after=$(awk -v t=$((T_EV + 1000)) '$1 >= t' "$TMP/$name.log" | wc -l)
	check "4. agent $n's $kind client: of $after connections started 1 s after Marathon's events, none to agent 3's tasks, none failed" \
		eval "[ $after -ge 100 ] && [ -z \"\$(dead_after $name $((T_EV + 1000)))\" ]"
	# no failure before the link went down; afterwards each failure is one timeout (a dead task)
	check "4. agent $n's $kind client: no failure before agent 3 died, and every later one a timeout" \
		eval "[ -z \"\$(awk -v t=$T_DOWN '\$1 < t && \$5 != \"ok\"' '$TMP/$name.log')\" ] &&
			[ -z \"\$(awk '\$5 != \"ok\" && \$5 != \"timeout\"' '$TMP/$name.log')\" ]"
done
# every other task kept answering throughout: connections to it all through the outage
alive_answered() {
	local e
	for e in $ALIVE; do
		[ "$(cat "$TMP"/d[12]?.log | awk -v e="$e" -v a="$T_DOWN" -v b=$((T_EV + 1000)) \
			'$5 == "ok" && $6 == e && $1 >= a && $1 < b' | wc -l)" -ge 1 ] || return 1
	done
}
dead_served() { # agent 3's tasks took connections from agents 1 and 2 before it died
	local e
	for e in $DEAD; do
		[ "$(cat "$TMP"/d[12]?.log | awk -v e="$e" -v a="$T_DOWN" '$5 == "ok" && $6 == e && $1 < a' |
			wc -l)" -ge 1 ] || return 1
	done
}
check "4. before it died, agent 3's tasks ($DEAD) took connections from agents 1 and 2" dead_served
check "4. the $N_ALIVE tasks of agents 1 and 2 kept answering between the death and Marathon's events" alive_answered
for n in 1 2; do
	"$E2E_DUMP" -p "$(pin "$n")" --slots >"$TMP/dump4-$n.txt" 2>&1
done
check "4. agents 1 and 2 still build byte-identical tables" cmp -s "$TMP/dump4-1.txt" "$TMP/dump4-2.txt"
# the spread over the tasks left (the upgrade placed /web-bridge's anew: 7 or so), from agents 1 and 2
pids=()
for n in 1 2; do
	burst "$n" host "$TMP/s4-$n-host.txt" "${VIPADDR[minitwit]}:80 tcp 4500" &
	pids+=($!)
done
wait "${pids[@]}"
tally=$(cat "$TMP"/s4-*.txt | awk '{print $3}' | jq -s -r 'map(.backends | to_entries) | add |
	group_by(.key) | map("\(.[0].key)=\(map(.value) | add)") | join(" ")')
spread4() {
	jq -n --arg t "$tally" --arg alive "$(echo "$ALIVE" | tr '\n' ' ')" '
		($t | split(" ") | map(split("="))) as $kv | ($kv | map(.[1] | tonumber) | add) as $n |
		($kv | length) as $k |
		($kv | map(.[0]) | sort) == ($alive | split(" ") | map(select(. != "")) | sort) and
		($kv | all(.[1] | tonumber | (. - $n / $k) / ($n / $k) | fabs <= 0.10))' | grep -qx true
}
check "4. 9,000 new connections from agents 1 and 2: the $N_ALIVE tasks left, each within 10% of even ($tally)" \
	spread4
check "4. none of them failed" eval "[ \"\$(cat '$TMP'/s4-*.txt | awk '{print \$3}' |
	jq -s 'map(.refused + .timeout + .reset + .other) | add')\" = 0 ]"

# ---- teardown ----

for n in 1 2 3; do
	stop_pid "${XLBD_PIDS[n]}"
done
stop_pid "$CL_TASKS_PID"
stop_pid "$SIM_PID"
cl_down
check "the teardown leaves no namespace and no cgroup" \
	eval "[ \$(ip netns list | grep -c -- '-$CL_ID\$') = 0 ] && [ ! -e '$CL_CG_BASE' ]"
finish
