#!/usr/bin/env bash
# The cluster lab of tests/e2e/cluster.sh proves itself, without xlb in any
# path (issue 13): a ToR and three agents, each running a task of each of
# Marathon's networking modes (host; bridge behind a DNAT-ed host port; overlay
# container at its own address), started by the agents' player
# (tests/e2e/cluster_tasks.py) from what the Marathon stand-in runs, which is
# what tests/fixtures/sim/cluster.json pins to the lab's addresses.
#  - from every kind of client (an agent's own process, its bridge container,
#    its overlay container) on every agent, every task on every agent answers
#    at the address Marathon gives for it (agent IP : host port for host and
#    bridge tasks, task IP : container port for overlay ones), TCP and UDP,
#    IPv4 and IPv6, and it is the task the address names;
#  - traffic leaving an agent from a container is masqueraded where Docker and
#    the overlay do it (the server sees the agent's address), routed otherwise;
#  - every process of an agent, containers included, is in that agent's cgroup;
#  - scenario 2: one xlbd per agent (own pins, no interfaces) fed by one
#    marathon-sim builds byte-identical VIPs and Maglev tables (xlbdump --slots);
#  - Marathon scales a bridge and an overlay app up: the agents start the new
#    tasks in new containers at the addresses Marathon gives them, the three
#    tables change and are byte-identical again; scaled down, the bridge task's
#    server and port mapping go;
#  - the teardown leaves no namespace or cgroup behind.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
SUITE=cluster_lab
t_tmpdir
CL_ID=${CL_ID:-c$$}
. tests/e2e/cluster.sh
cl_suite_init
FIXTURE=tests/fixtures/sim/cluster.json
PORT=8080 # every container task's port (the fixture's containerPort)

if ! cl_up; then
	nok "the cluster lab comes up"
	finish
fi
ok "the cluster lab comes up (ToR, 3 agents, docker0 and the VXLAN overlay on each)"

# Marathon on the ToR, and the agents' player starting the tasks it runs.
cl_sim_start "$FIXTURE"
CTL=http://$CL_TOR_IP:8081
cl_tasks_start "$CTL" "$TMP/agents.log"
started() { [ "$(grep -c ' start ' "$TMP/agents.log")" -ge "$1" ]; }
if ! wait_for 10 started 9; then
	nok "the agents start a server for each of the 9 tasks" \
		"$(cat "$TMP/agents.log" "$TMP/agents.log.err" | tail -5)"
	finish
fi
# EPS: Marathon's backends, as the agents started them; KIND and AGENT: what and where.
mapfile -t EPS < <(awk '$2 == "start" {print $4}' "$TMP/agents.log" | sort)
declare -A KIND AGENT
while read -r ep kind host; do
	KIND[$ep]=$kind
	AGENT[$ep]=${host##*.1}
done < <(jq -r '.apps[] | (.networks[0].mode) as $m | .tasks[] |
	if $m == "container" then "\(.ipAddresses[0]):8080 overlay \(.host)"
	elif $m == "host" then "\(.host):\(.ports[0]) host \(.host)"
	else "\(.host):\(.ports[0]) bridge \(.host)" end' "$FIXTURE")
ok "the agents start a server for each of the 9 tasks (${EPS[*]})"

# The fixture's view of the same tasks: what Marathon reports is what the lab built.
fixture_eps() {
	jq -r '.apps[] | (.networks[0].mode) as $m | .tasks[] |
		if $m == "container" then "\(.ipAddresses[0]):8080" else "\(.host):\(.ports[0])" end' \
		"$FIXTURE" | sort
}
check "the fixture's tasks are the lab's (backends as Marathon gives them)" \
	[ "$(fixture_eps)" = "$(printf '%s\n' "${EPS[@]}" | sort)" ]
check "the fixture's bridge tasks report their container's bridge address" [ "$(jq -r \
	'.apps[] | select(.id == "/web-bridge") | .tasks[].ipAddresses[0]' "$FIXTURE" |
	tr '\n' ' ')" = "$(cl_br_ip 1) $(cl_br_ip 2) $(cl_br_ip 3) " ]

# ---- every client to every task ----

ep6() { # the IPv6 twin of ADDR:PORT
	echo "[$(cl_6 "${1%:*}")]:${1##*:}"
}

# probe_all AGENT NS: from that namespace (and the agent's cgroup), one TCP
# connection and one datagram to every task in both families; a line
# "TARGET_V4_EP FAMILY PROTO ANSWER" each (ANSWER "NAME PEER", or "-").
probe_all() {
	local targets=() ep
	for ep in "${EPS[@]}"; do
		targets+=("$ep" "$(ep6 "$ep")")
	done
	# shellcheck disable=SC2016
	cl_run "$1" "$2" bash -c '
		labnet=$1
		shift
		for ep in "$@"; do
			case $ep in "["*) fam=6 ;; *) fam=4 ;; esac
			for proto in tcp udp; do
				u=
				[ $proto = udp ] && u=--udp
				out=$("$labnet" probe $u --peer -j -n 1 --timeout 1000 "$ep" 2>/dev/null)
				ans=$(printf "%s" "$out" | sed -n "s/.*\"backends\":{\"\([^\"]*\)\".*/\1/p")
				echo "$ep $fam $proto ${ans:--}"
			done
		done' _ "$CL_LABNET" "${targets[@]}"
}

# peer_expected CLIENT_KIND N TARGET_EP FAMILY: where a server on another agent
# sees a client of agent N: masqueraded containers and agent processes at the
# agent's LAN address (its VTEP's on the overlay), an overlay container reaching
# the overlay at its own address.
peer_expected() {
	local kind=$1 n=$2 tgt=$3 fam=$4 a
	if [ "${KIND[$tgt]}" = overlay ]; then
		if [ "$kind" = overlay ]; then a=$(cl_ov_ip "$n"); else a=$(cl_vtep_ip "$n"); fi
	else
		a=$(cl_ip "$n")
	fi
	if [ "$fam" = 6 ]; then cl_6 "$a"; else echo "$a"; fi
}

declare -A V4OF # each target address (either family) -> the task's name
for ep in "${EPS[@]}"; do
	V4OF[$ep]=$ep
	V4OF[$(ep6 "$ep")]=$ep
done
SEEN="seen from other agents where expected"
for n in 1 2 3; do
	for kind in host bridge overlay; do
		case $kind in
		host) ns=$(cl_ns "$n") ;;
		bridge) ns=$(cl_ns_br "$n") ;;
		overlay) ns=$(cl_ns_ov "$n") ;;
		esac
		probe_all "$n" "$ns" >"$TMP/from-$n-$kind.txt"
		bad=$(while read -r ep fam proto name peer; do
			want=${V4OF[$ep]}
			if [ "$name" != "$want" ]; then
				echo "$ep/$proto: $name"
			elif [ "${AGENT[$want]}" != "$n" ] &&
				[ "$peer" != "$(peer_expected "$kind" "$n" "$want" "$fam")" ]; then
				echo "$ep/$proto: seen from $peer"
			fi
		done <"$TMP/from-$n-$kind.txt")
		total=$(wc -l <"$TMP/from-$n-$kind.txt")
		if [ "$total" = 36 ] && [ -z "$bad" ]; then
			ok "agent $n, $kind client: the 9 tasks answer directly, TCP+UDP, v4+v6 (36), $SEEN"
		else
			nok "agent $n, $kind client: all 9 tasks answer directly" \
				"$total probes; $(echo "$bad" | head -5 | tr '\n' ';')"
		fi
	done
done

# What NAT did, named: a bridge container reaching another agent is seen at its
# agent's address (Docker's masquerading); on the overlay an overlay container
# is seen at its own address; its own published port answers it (the hairpin).
saw() { # saw N KIND TARGET_EP FAMILY PROTO: the peer the target saw
	awk -v ep="$3" -v f="$4" -v p="$5" '$1 == ep && $2 == f && $3 == p {print $5}' \
		"$TMP/from-$1-$2.txt"
}
check "bridge container of agent 1 -> host task of agent 2: seen at agent 1's address (masqueraded)" \
	[ "$(saw 1 bridge "$(cl_ip 2):$(jq -r '.apps[0].tasks[1].ports[0]' "$FIXTURE")" 4 tcp)" = \
	"$(cl_ip 1)" ]
check "overlay container of agent 1 -> overlay task of agent 3: seen at its own overlay address" \
	[ "$(saw 1 overlay "$(ep6 "$(cl_ov_ip 3):$PORT")" 6 udp)" = "$(cl_6 "$(cl_ov_ip 1)")" ]
check "bridge container of agent 2 -> its own host port: answered through the hairpin NAT" \
	[ "$(saw 2 bridge "$(cl_ip 2):$(jq -r '.apps[1].tasks[1].ports[0]' "$FIXTURE")" 4 udp)" = \
	"198.18.18.1" ]

# ---- cgroups ----

cg_rel() { echo "0::${1#"$(cl_cgroup_root)"}"; }
in_cgroup() { # in_cgroup N: every process of agent N's namespaces is in its cgroup
	local ns p cnt=0
	for ns in $(cl_ns "$1") $(cl_ns_br "$1") $(cl_ns_ov "$1"); do
		for p in $(ip netns pids "$ns"); do
			grep -qx "$(cg_rel "$(cl_cg "$1")")" "/proc/$p/cgroup" 2>/dev/null || return 1
			cnt=$((cnt + 1))
		done
	done
	[ "$cnt" -ge 3 ]
}
for n in 1 2 3; do
	check "agent $n's cgroup $(cl_cg "$n") exists and holds its 3 servers, containers' included" \
		eval "[ -d '$(cl_cg "$n")' ] && in_cgroup $n && [ \$(wc -l <'$(cl_cg "$n")/cgroup.procs') -ge 3 ]"
done
check "a client started in agent 2's bridge container runs in agent 2's cgroup" \
	[ "$(cl_run 2 "$(cl_ns_br 2)" grep '^0::' /proc/self/cgroup)" = "$(cg_rel "$(cl_cg 2)")" ]
check "the test itself stays out of the agents' cgroups" \
	eval "! grep -q xlb-cluster- /proc/$$/cgroup"

# ---- scenario 2: three xlbd's, one Marathon, identical tables ----


pin() { echo "/sys/fs/bpf/xlb-e2e-cluster-$$-a$1"; }
for n in 1 2 3; do
	track_pin "$(pin "$n")"
	cat >"$TMP/xlbd-$n.json" <<JSON
{ "pin_path": "$(pin "$n")", "log_level": "debug", "metrics": { "listen": null },
  "cgroup": "$(cl_cg "$n")",
  "interfaces": [], "egress_interfaces": [],
  "marathon": { "urls": [ "http://$CL_MARATHON" ], "named_vip_range": "198.19.0.0/16",
    "connect_timeout_ms": 500, "request_timeout_ms": 2000, "stream_timeout_ms": 3000,
    "backoff_min_ms": 100, "backoff_max_ms": 1000 },
  "maps": { "max_vips": 256, "max_backends": 4096, "ct_size": 65536 } }
JSON
	cl_spawn "$n" "$(cl_ns "$n")" "$E2E_XLBD" -c "$TMP/xlbd-$n.json" >"$TMP/xlbd-$n.log" 2>&1
	XLBD_PIDS[n]=$CL_PID
done

# synced N: agent N's xlbd has /minitwit with all 9 tasks and each app's VIP with its 3.
synced() {
	"$E2E_LBSTAT" --pin-path "$(pin "$1")" --no-rates -j --ct-budget 1 2>/dev/null | jq -e '
		[.vips[]? | select(.name != null) | {n: .name, a: .backends_active}] as $v |
		([$v[] | select(.n | startswith("minitwit.")) | .a] | length == 2 and all(. == 9)) and
		([$v[] | select(.n | test("^web-(host|bridge|overlay)\\.")) | .a] |
			length == 6 and all(. == 3))' >/dev/null
}
vips_of() { # vips_of N: "NAME ADDRESS ACTIVE" per VIP of agent N's xlbd
	"$E2E_LBSTAT" --pin-path "$(pin "$1")" --no-rates -j --ct-budget 1 2>/dev/null |
		jq -r '.vips[]? | "\(.name) \(.address) \(.backends_active)"'
}
for n in 1 2 3; do
	if wait_for 15 synced "$n"; then
		ok "agent $n's xlbd programs the stand-in's VIPs (/minitwit: 9 tasks of 3 kinds)"
	else
		nok "agent $n's xlbd programs the stand-in's VIPs" \
			"$(vips_of "$n" | tr '\n' ';') $(tail -3 "$TMP/xlbd-$n.log")"
	fi
done
check "each xlbd runs in its agent's cgroup" eval \
	"grep -qx '$(cg_rel "$(cl_cg 1)")' /proc/${XLBD_PIDS[1]}/cgroup &&
	 grep -qx '$(cg_rel "$(cl_cg 3)")' /proc/${XLBD_PIDS[3]}/cgroup"
for n in 1 2 3; do
	"$E2E_DUMP" -p "$(pin "$n")" --slots >"$TMP/dump-$n.txt" 2>&1
done
check "the dumps hold the 8 VIPs (4 named, TCP and UDP) and their Maglev slots" eval \
	"[ \$(grep -c '^vip ' '$TMP/dump-1.txt') = 8 ] && [ \$(grep -c '^  slot ' '$TMP/dump-1.txt') -gt 1000 ]"
check "agents 1 and 2 build byte-identical VIPs and Maglev tables" cmp -s "$TMP/dump-1.txt" "$TMP/dump-2.txt"
check "agents 1 and 3 build byte-identical VIPs and Maglev tables" cmp -s "$TMP/dump-1.txt" "$TMP/dump-3.txt"

# ---- Marathon launches and kills tasks: the agents follow, the tables stay equal ----

sim() { nsenter --net="/run/netns/$CL_NS_TOR" "${CURL[@]}" -X POST "$CTL/sim/$1"; }
sim 'scale?app=/web-overlay&instances=4' >/dev/null
sim 'scale?app=/web-bridge&instances=4' >/dev/null
if wait_for 10 started 11; then
	NEWB=$(awk '$2 == "start" {print $4}' "$TMP/agents.log" | tail -n 2 | grep '^198\.18\.4\.')
	NEWO=$(awk '$2 == "start" {print $4}' "$TMP/agents.log" | tail -n 2 | grep -v '^198\.18\.4\.')
	ok "scaled up: the agents start the 2 new tasks (bridge $NEWB, overlay $NEWO)"
	answers() { # answers EP: one TCP connection from agent 2 answered by EP's server
		[ "$(cl_run 2 "$(cl_ns 2)" "$CL_LABNET" probe -j -n 1 --timeout 1000 "$1" 2>/dev/null |
			sed -n 's/.*"backends":{"\([^"]*\)".*/\1/p')" = "$1" ]
	}
	check "the new tasks (a second bridge and overlay container on agent 1) answer from agent 2" \
		eval "answers $NEWB && answers $NEWO"
	# counts N: agent N's xlbd has every VIP's tasks active (/minitwit 11, bridge and overlay 4)
	counts() {
		"$E2E_LBSTAT" --pin-path "$(pin "$1")" --no-rates -j --ct-budget 1 2>/dev/null | jq -e '
			[.vips[]? | "\(.name | split(".")[0]) \(.backends_active)"] | sort | unique ==
			["minitwit 11", "web-bridge 4", "web-host 3", "web-overlay 4"]' >/dev/null
	}
	wait_until 10 "every xlbd has the 2 new tasks active" eval "counts 1 && counts 2 && counts 3"
	dumps_equal() {
		for n in 1 2 3; do
			"$E2E_DUMP" -p "$(pin "$n")" --slots >"$TMP/dump4-$n.txt" 2>&1
		done
		cmp -s "$TMP/dump4-1.txt" "$TMP/dump4-2.txt" && cmp -s "$TMP/dump4-1.txt" "$TMP/dump4-3.txt"
	}
	check "after the change, the 3 agents' tables are byte-identical again (and changed)" eval \
		"wait_for 5 dumps_equal && ! cmp -s '$TMP/dump-1.txt' '$TMP/dump4-1.txt'"
	sim 'scale?app=/web-bridge&instances=3&grace_ms=100' >/dev/null
	stopped() { grep -q " stop .* $NEWB\$" "$TMP/agents.log"; }
	if wait_until 10 "scaled down: the agent stops the bridge task's server" stopped; then
		ok "scaled down: the agent stops the bridge task's server"
		check "its host port no longer answers (the port mapping is gone)" eval "! answers $NEWB"
		check "the agent's other bridge task still answers" answers "$(cl_ip 1):31201"
	fi
else
	nok "scaled up: the agents start the 2 new tasks" "$(tail -3 "$TMP/agents.log")"
fi

# ---- teardown ----

for n in 1 2 3; do
	stop_pid "${XLBD_PIDS[n]}"
done
stop_pid "$CL_TASKS_PID"
stop_pid "$SIM_PID"
cl_down
left() { ip netns list | grep -c -- "-$CL_ID\$"; }
check "the teardown leaves no namespace and no cgroup" \
	eval "[ \$(left) = 0 ] && [ ! -e '$CL_CG_BASE' ]"
finish
