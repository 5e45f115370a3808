#!/usr/bin/env bash
# xlb's cluster lab, sourced by the east-west scenarios (and runnable as a
# command for the agents' player, cluster_tasks.py: see the end). It
# builds, with network namespaces on this machine only, a top-of-rack router
# and CL_AGENTS Mesos agents on its LAN, and on each agent tasks of Marathon's
# three networking modes made the way Docker and the Mesos CNI plugins make
# them: a server in the agent itself (host), a container on a Linux bridge
# behind a DNAT-ed host port and masquerading (bridge), and a container on a
# VXLAN overlay at its own address (container). Each agent's processes,
# containers included, run in that agent's own cgroup v2 child, so a
# cgroup-attached program sees one agent only. docs/cluster.md has the
# picture; the address plan (198.18.0.0/15 only; IPv6 2001:db8:X::Y mirrors
# 198.18.X.Y) is:
#   VIPs 198.18.0.0/24, named VIPs 198.19.0.0/16 (as in lab.sh)
#   LAN 198.18.4.0/24: ToR .1, agent N .1N (N = 1..9), Marathon on the ToR at .1:8080
#   bridge subnets 198.18.16.0/20: agent N's docker0 is 198.18.(16+N).0/24, gateway .1,
#     bridge container K at .(1+K)
#   overlay 198.18.32.0/20: VTEPs 198.18.32.0/24 (agent N .1N), agent N's overlay subnet
#     198.18.(32+N).0/24 on its bridge ovl0, gateway .1, overlay container K at .(1+K)
# Everything cl_up and the task helpers make is removed by cl_down (processes,
# cgroups, namespaces and with them their links and nft tables); callers
# register it with tests/lib/test.sh: at_exit cl_down.

CL_ID_GIVEN=${CL_ID:-}
CL_ID=${CL_ID:-$$}
CL_AGENTS=${CL_AGENTS:-3}
CL_OUTPUT=${OUTPUT:-.output}
CL_LABNET=${CL_LABNET:-$(realpath -m "$CL_OUTPUT/labnet")}
CL_SELF=$(realpath -m "${BASH_SOURCE[0]}")
CL_NS_TOR=xcl-tor-$CL_ID
CL_VNI=42
CL_PIDS=() # what cl_spawn started
CL_MTU_OVERLAY=1450 # the LAN's 1500 less VXLAN's 50 bytes

# ---- names and addresses ----

cl_ns() { echo "xcl-a$1-$CL_ID"; }			   # cl_ns AGENT: the agent's namespace
cl_ns_br() { echo "xcl-a$1-br${2:-1}-$CL_ID"; }	   # cl_ns_br AGENT [K]: bridge container K
cl_ns_ov() { echo "xcl-a$1-ov${2:-1}-$CL_ID"; }	   # cl_ns_ov AGENT [K]: overlay container K
cl_ip() { echo "198.18.4.1$1"; }			   # cl_ip AGENT: the agent's LAN address
cl_vtep_ip() { echo "198.18.32.1$1"; }			   # cl_vtep_ip AGENT
cl_br_ip() { echo "198.18.$((16 + $1)).$((1 + ${2:-1}))"; } # cl_br_ip AGENT [K]: bridge container K
cl_ov_ip() { echo "198.18.$((32 + $1)).$((1 + ${2:-1}))"; } # cl_ov_ip AGENT [K]: overlay container K
cl_vtep_mac() { printf '02:00:c6:12:20:%02x' $((10 + $1)); }
CL_TOR_IP=198.18.4.1
CL_MARATHON=198.18.4.1:8080
# North-south (cl_outside_up): a client outside the cluster, on its own network behind the ToR.
CL_NS_OUT=xcl-out-$CL_ID
CL_TOR_OUT_IP=198.18.5.1
CL_OUT_IP=198.18.5.10

# cl_6 A.B.C.D: the IPv6 twin of a lab IPv4 address (2001:db8:C::D).
cl_6() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	echo "2001:db8:$3::$4"
}

# cl_cgroup_root: the cgroup v2 mount (/sys/fs/cgroup on unified hosts, .../unified on hybrid ones).
cl_cgroup_root() { awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts; }
CL_CG_BASE=${CL_CG_BASE:-$(cl_cgroup_root)/xlb-cluster-$CL_ID}
cl_cg() { echo "$CL_CG_BASE/a$1"; } # cl_cg AGENT: the agent's cgroup directory

cl_log() { [ -n "${CL_QUIET:-}" ] || echo "cluster: $*" >&2; }
cl_fail() {
	echo "cluster: $*" >&2
	return 1
}

# ---- running things in an agent ----

# cl_in NS CMD...: a configuration command in a namespace (no cgroup change).
cl_in() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# The one way lab processes start: the process joins the cgroup, then becomes
# CMD in the namespace. nsenter --net (not `ip netns exec`, which remounts /sys)
# keeps bpffs pins and the cgroup mount visible, as xlbd needs.
cl_exec_() { # cl_exec_ CGROUP NS CMD...: replaces the calling (sub)shell
	local cg=$1 ns=$2
	shift 2
	echo "$BASHPID" >"$cg/cgroup.procs" || exit 126
	exec nsenter --net="/run/netns/$ns" "$@"
}

# cl_run AGENT NS CMD...: CMD in namespace NS and AGENT's cgroup, in the foreground.
cl_run() {
	local a=$1
	shift
	(cl_exec_ "$(cl_cg "$a")" "$@")
}

# cl_spawn AGENT NS CMD...: the same in the background; CL_PID is the command's own pid
# (registered with track_pid when tests/lib/test.sh is loaded). Redirect the call's output.
cl_spawn() {
	local a=$1
	shift
	cl_exec_ "$(cl_cg "$a")" "$@" &
	CL_PID=$!
	CL_PIDS+=("$CL_PID")
	declare -F track_pid >/dev/null && track_pid "$CL_PID"
	return 0
}

# ---- the topology ----

cl_veth() { # cl_veth NS_A NAME_A NS_B NAME_B
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# An end host's NIC: full checksums on send and GRO on receive, as XDP in the lab needs.
cl_nic() { # cl_nic NS DEV
	cl_in "$1" ethtool -K "$2" tx off >/dev/null 2>&1
	cl_in "$1" ethtool -K "$2" gro on >/dev/null 2>&1
	return 0
}

cl_router_sysctls() { # cl_router_sysctls NS
	cl_in "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
}

# cl_addr NS DEV A.B.C.D/LEN: the address and its IPv6 twin (/64).
cl_addr() {
	ip -n "$1" addr add "$3" dev "$2" || return 1
	ip -n "$1" -6 addr add "$(cl_6 "${3%/*}")/64" dev "$2" nodad
}

cl_tor_up() {
	ip netns add "$CL_NS_TOR" || return 1
	ip -n "$CL_NS_TOR" link set lo up
	cl_router_sysctls "$CL_NS_TOR" || return 1
	ip -n "$CL_NS_TOR" link add lan0 type bridge || return 1
	ip -n "$CL_NS_TOR" link set lan0 up
	cl_addr "$CL_NS_TOR" lan0 "$CL_TOR_IP/24"
}

# The agent: eth0 on the ToR's LAN, docker0 (bridge networking), ovl0 and the
# VTEP (the overlay), forwarding on, and the NAT table of its port mappings.
cl_agent_up() { # cl_agent_up N
	local n=$1 ns
	ns=$(cl_ns "$n")
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	cl_router_sysctls "$ns" || return 1
	cl_veth "$CL_NS_TOR" "tor-a$n" "$ns" eth0 || return 1
	ip -n "$CL_NS_TOR" link set "tor-a$n" master lan0 || return 1
	cl_addr "$ns" eth0 "$(cl_ip "$n")/24" || return 1
	ip -n "$ns" route add default via "$CL_TOR_IP"
	ip -n "$ns" -6 route add default via "$(cl_6 "$CL_TOR_IP")"
	cl_nic "$ns" eth0

	# Bridge networking: Docker's docker0 (the Mesos CNI bridge is the same thing).
	ip -n "$ns" link add docker0 type bridge || return 1
	ip -n "$ns" link set docker0 up
	cl_addr "$ns" docker0 "198.18.$((16 + n)).1/24" || return 1

	# Container networking: each agent owns a /24 of the overlay on its bridge ovl0
	# and routes the others' through its VTEP; remote VTEPs' MACs and LAN addresses
	# are programmed, not learnt (static FDB and neighbours, no flooding).
	ip -n "$ns" link add ovl0 type bridge || return 1
	ip -n "$ns" link set ovl0 mtu "$CL_MTU_OVERLAY" up
	cl_addr "$ns" ovl0 "198.18.$((32 + n)).1/24" || return 1
	ip -n "$ns" link add vtep$CL_VNI type vxlan id $CL_VNI dstport 4789 local "$(cl_ip "$n")" \
		dev eth0 nolearning || return 1
	ip -n "$ns" link set vtep$CL_VNI address "$(cl_vtep_mac "$n")" mtu "$CL_MTU_OVERLAY" up
	cl_addr "$ns" vtep$CL_VNI "$(cl_vtep_ip "$n")/24" || return 1

	# NAT as Docker programs it: the host ports of bridge tasks DNAT-ed to their
	# containers (from outside and from the agent itself), bridge containers'
	# traffic leaving the bridge masqueraded, and DNAT-ed traffic from a bridge
	# container back into the bridge masqueraded too (the hairpin: without it the
	# reply would be bridged straight to the client, bypassing the agent's NAT).
	# Overlay containers are masqueraded only when they leave the overlay. Rules
	# match source subnets, as Docker's do: postrouting does not always know the
	# input device (not for a packet routed back out of the device it came in by).
	local br4=198.18.$((16 + n)).0/24 ov4=198.18.$((32 + n)).0/24 br6 ov6
	br6=$(cl_6 "${br4%/*}")/64
	ov6=$(cl_6 "${ov4%/*}")/64
	cl_in "$ns" nft -f - <<NFT || return 1
table inet lab {
	chain ports {
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump ports
	}
	chain output {
		type nat hook output priority -100; policy accept;
		jump ports
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr $br4 oifname != "docker0" masquerade
		ip6 saddr $br6 oifname != "docker0" masquerade
		ip saddr $br4 oifname "docker0" ct status dnat masquerade
		ip6 saddr $br6 oifname "docker0" ct status dnat masquerade
		ip saddr $ov4 oifname != { "ovl0", "vtep$CL_VNI" } masquerade
		ip6 saddr $ov6 oifname != { "ovl0", "vtep$CL_VNI" } masquerade
	}
}
NFT
	return 0
}

# The overlay's control plane, done once every agent exists: on each agent, for
# every other agent M, M's VTEP (FDB: its MAC at its LAN address; neighbours) and
# a route to M's overlay subnet through it.
cl_overlay_mesh() {
	local n m ns
	for n in $(seq 1 "$CL_AGENTS"); do
		ns=$(cl_ns "$n")
		for m in $(seq 1 "$CL_AGENTS"); do
			[ "$m" = "$n" ] && continue
			bridge -n "$ns" fdb add "$(cl_vtep_mac "$m")" dev vtep$CL_VNI dst "$(cl_ip "$m")" \
				self permanent || return 1
			ip -n "$ns" neigh add "$(cl_vtep_ip "$m")" lladdr "$(cl_vtep_mac "$m")" \
				dev vtep$CL_VNI nud permanent || return 1
			ip -n "$ns" -6 neigh add "$(cl_6 "$(cl_vtep_ip "$m")")" \
				lladdr "$(cl_vtep_mac "$m")" dev vtep$CL_VNI nud permanent || return 1
			ip -n "$ns" route add "198.18.$((32 + m)).0/24" via "$(cl_vtep_ip "$m")" \
				dev vtep$CL_VNI || return 1
			ip -n "$ns" -6 route add "$(cl_6 "198.18.$((32 + m)).0")/64" \
				via "$(cl_6 "$(cl_vtep_ip "$m")")" dev vtep$CL_VNI || return 1
		done
	done
}

# cl_up: the ToR, the agents, the overlay and the agents' cgroups (nothing runs yet).
cl_up() {
	local n root
	command -v nft >/dev/null || cl_fail "nft missing (make deps)" || return 1
	command -v ethtool >/dev/null || cl_fail "ethtool missing (make deps)" || return 1
	[ -x "$CL_LABNET" ] || cl_fail "$CL_LABNET missing (make)" || return 1
	root=$(cl_cgroup_root)
	[ -n "$root" ] || cl_fail "no cgroup v2 mount in /proc/self/mounts" || return 1
	CL_CG_BASE=$root/xlb-cluster-$CL_ID
	cl_log "building the cluster lab (id $CL_ID, $CL_AGENTS agents, cgroups in $CL_CG_BASE)"
	mkdir "$CL_CG_BASE" || return 1
	for n in $(seq 1 "$CL_AGENTS"); do
		mkdir "$(cl_cg "$n")" || return 1
	done
	cl_tor_up || return 1
	for n in $(seq 1 "$CL_AGENTS"); do
		cl_agent_up "$n" || cl_fail "agent $n" || return 1
	done
	cl_overlay_mesh || cl_fail "the overlay's FDB and routes" || return 1
	return 0
}

# cl_outside_up PUBLIC...: the outside world of north-south (issue 15): a client
# namespace on its own network (198.18.5.0/24 and its twin) behind the ToR, and
# the ToR routing the VIP ranges (198.18.0.0/24, named 198.19.0.0/16, and the
# IPv6 twin of the first) to the public agents given, ECMP per flow (L4 hash),
# as a router in front of marathon-lb's public agents would. The private agents'
# default route is the ToR, never a public agent.
cl_outside_up() {
	local n nh4=() nh6=()
	ip netns add "$CL_NS_OUT" || return 1
	ip -n "$CL_NS_OUT" link set lo up
	cl_in "$CL_NS_OUT" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	cl_veth "$CL_NS_TOR" out0 "$CL_NS_OUT" eth0 || return 1
	cl_addr "$CL_NS_TOR" out0 "$CL_TOR_OUT_IP/24" || return 1
	cl_addr "$CL_NS_OUT" eth0 "$CL_OUT_IP/24" || return 1
	ip -n "$CL_NS_OUT" route add default via "$CL_TOR_OUT_IP"
	ip -n "$CL_NS_OUT" -6 route add default via "$(cl_6 "$CL_TOR_OUT_IP")"
	cl_nic "$CL_NS_OUT" eth0
	cl_in "$CL_NS_TOR" sysctl -qw net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.fib_multipath_hash_policy=1 || return 1
	for n in "$@"; do
		# The public agents' XDP sends frames back out of eth0 (XDP_TX): a veth
		# delivers them only to a peer with XDP (GRO too, but it holds them back
		# for up to a second here), as a physical switch port would take them.
		cl_in "$CL_NS_TOR" "$CL_LABNET" xdp-pass "tor-a$n" >/dev/null || return 1
		nh4+=(nexthop via "$(cl_ip "$n")")
		nh6+=(nexthop via "$(cl_6 "$(cl_ip "$n")")")
	done
	ip -n "$CL_NS_TOR" route add 198.18.0.0/24 "${nh4[@]}" || return 1
	ip -n "$CL_NS_TOR" route add 198.19.0.0/16 "${nh4[@]}" || return 1
	ip -n "$CL_NS_TOR" -6 route add "$(cl_6 198.18.0.0)/64" "${nh6[@]}" || return 1
}

# ---- containers ----

# A container namespace on one of the agent's bridges: eth0 at IP/24 (and its
# twin), default routes through the bridge's .1, the agent's end a bridge port.
cl_container_up() { # cl_container_up AGENT NS BRIDGE HOSTDEV IP MTU
	local n=$1 ns=$2 br=$3 dev=$4 ip=$5 mtu=$6 an gw
	an=$(cl_ns "$n")
	gw=${ip%.*}.1
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	cl_in "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	cl_veth "$an" "$dev" "$ns" eth0 || return 1
	ip -n "$an" link set "$dev" mtu "$mtu" master "$br" || return 1
	# A container reaching its own published port comes back through its own port.
	ip -n "$an" link set "$dev" type bridge_slave hairpin on
	ip -n "$ns" link set eth0 mtu "$mtu"
	cl_addr "$ns" eth0 "$ip/24" || return 1
	ip -n "$ns" route add default via "$gw"
	ip -n "$ns" -6 route add default via "$(cl_6 "$gw")"
	cl_nic "$ns" eth0
}

# cl_bridge_ct AGENT [K]: bridge container K (made once).
cl_bridge_ct() {
	local k=${2:-1}
	[ -e "/run/netns/$(cl_ns_br "$1" "$k")" ] && return 0
	cl_container_up "$1" "$(cl_ns_br "$1" "$k")" docker0 "vbr$k" "$(cl_br_ip "$1" "$k")" 1500
}

# cl_overlay_ct AGENT [K]: overlay container K (made once).
cl_overlay_ct() {
	local k=${2:-1}
	[ -e "/run/netns/$(cl_ns_ov "$1" "$k")" ] && return 0
	cl_container_up "$1" "$(cl_ns_ov "$1" "$k")" ovl0 "vov$k" "$(cl_ov_ip "$1" "$k")" \
		"$CL_MTU_OVERLAY"
}

# ---- tasks: a labnet server named as Marathon's backend for it (ADDR:PORT) ----

# cl_serve AGENT NS NAME ADDR PORT: labnet on ADDR:PORT and its twin, TCP and UDP,
# in the agent's cgroup; CL_PID is its pid. Returns once it is listening.
cl_serve() {
	local a=$1 ns=$2 name=$3 addr=$4 port=$5 i log
	if [ -n "${CL_SERVE_PLAN:-}" ]; then # the caller starts it: what to start, where
		CL_SERVE="$(cl_cg "$a") $ns $addr:$port [$(cl_6 "$addr")]:$port"
		return 0
	fi
	log=${CL_LOGDIR:-/tmp}/serve-$CL_ID-$addr-$port.log
	cl_spawn "$a" "$ns" "$CL_LABNET" serve --name "$name" --listen "$addr:$port" \
		--listen "[$(cl_6 "$addr")]:$port" >"$log" 2>&1
	for i in $(seq 1 100); do
		grep -q ready "$log" 2>/dev/null && return 0
		kill -0 "$CL_PID" 2>/dev/null || break
		sleep 0.02
	done
	cl_fail "server $name in $ns did not start: $(cat "$log")"
}

# cl_host_task AGENT HOSTPORT: host networking; the server listens on the agent's
# own addresses. CL_EP: Marathon's backend (agent IP:host port), also its name.
cl_host_task() {
	local ep
	ep=$(cl_ip "$1"):$2
	cl_serve "$1" "$(cl_ns "$1")" "$ep" "$(cl_ip "$1")" "$2" || return 1
	CL_EP=$ep
}

# cl_port_map AGENT HOSTPORT CONTAINER_IP CONTAINERPORT: agent IP : host port DNAT-ed to
# the container (TCP and UDP, both families), as Docker's -p does; cl_port_unmap
# AGENT HOSTPORT removes it (the rules carry the host port in their comment).
cl_port_map() {
	local ns
	ns=$(cl_ns "$1")
	cl_in "$ns" nft add rule inet lab ports ip daddr "$(cl_ip "$1")" meta l4proto '{ tcp, udp }' \
		th dport "$2" dnat ip to "$3:$4" comment "\"hostport $2\"" || return 1
	cl_in "$ns" nft add rule inet lab ports ip6 daddr "$(cl_6 "$(cl_ip "$1")")" \
		meta l4proto '{ tcp, udp }' th dport "$2" dnat ip6 to "[$(cl_6 "$3")]:$4" \
		comment "\"hostport $2\""
}
cl_port_unmap() {
	local ns h
	ns=$(cl_ns "$1")
	for h in $(cl_in "$ns" nft -a list chain inet lab ports |
		awk -v c="comment \"hostport $2\"" 'index($0, c) {print $NF}'); do
		cl_in "$ns" nft delete rule inet lab ports handle "$h" || return 1
	done
}

# cl_bridge_task AGENT HOSTPORT CONTAINERPORT [K]: bridge networking; the server
# in bridge container K on the container port, the agent's host port DNAT-ed to
# it (TCP and UDP, both families). CL_EP: Marathon's backend (agent IP:host port).
cl_bridge_task() {
	local n=$1 hp=$2 cp=$3 k=${4:-1} ns ct ep
	ns=$(cl_ns "$n")
	ct=$(cl_br_ip "$n" "$k")
	ep=$(cl_ip "$n"):$hp
	cl_bridge_ct "$n" "$k" || return 1
	cl_port_map "$n" "$hp" "$ct" "$cp" || return 1
	cl_serve "$n" "$(cl_ns_br "$n" "$k")" "$ep" "$ct" "$cp" || return 1
	CL_EP=$ep
}

# cl_overlay_task AGENT CONTAINERPORT [K]: container networking; the server in
# overlay container K. CL_EP: Marathon's backend (the task's IP:container port).
cl_overlay_task() {
	local n=$1 cp=$2 k=${3:-1} ip
	ip=$(cl_ov_ip "$n" "$k")
	cl_overlay_ct "$n" "$k" || return 1
	cl_serve "$n" "$(cl_ns_ov "$n" "$k")" "$ip:$cp" "$ip" "$cp" || return 1
	CL_EP=$ip:$cp
}

# ---- teardown ----

# cl_tasks_start CONTROL_URL LOG: tests/e2e/cluster_tasks.py plays the agents,
# starting and stopping a server for every task marathon-sim runs (its log:
# "WALL_MS start|stop|fail TASK_ID ENDPOINT"); CL_TASKS_PID is its pid.
cl_tasks_start() {
	: >"$2"
	CL_TASKS_LOG=$2
	CL_LOGDIR=${CL_LOGDIR:-/tmp} nsenter --net="/run/netns/$CL_NS_TOR" "${CL_PY:-python3}" \
		"$(dirname "$CL_SELF")/cluster_tasks.py" "$1" "$CL_ID" "$CL_LABNET" "$2" 2>>"$2.err" &
	CL_TASKS_PID=$!
	declare -F track_pid >/dev/null && track_pid "$CL_TASKS_PID"
	return 0
}

# cl_tasks_started N: the agents' player (cl_tasks_start) has started N task servers.
cl_tasks_started() { [ "$(grep -c ' start ' "$CL_TASKS_LOG" 2>/dev/null)" -ge "$1" ]; }

# cl_sim_state: the Marathon stand-in's state (its control port on the ToR, cl_sim_start).
cl_sim_state() {
	nsenter --net="/run/netns/$CL_NS_TOR" curl -sf --noproxy '*' -m 5 "http://$CL_TOR_IP:8081/sim/state"
}

# cl_backends_now APP: APP's running tasks as Marathon's backends ("ADDR:PORT "), sorted.
cl_backends_now() {
	cl_sim_state | jq -r --arg app "/$1" '.apps[] | select(.id == $app) | (.networks[0].mode) as $m |
		.tasks[] | select(.state == "TASK_RUNNING") |
		if $m == "container" then "\(.ipAddresses[0]):8080" else "\(.host):\(.ports[0])" end' |
		sort | tr '\n' ' '
}

# cl_down: every process of the lab's namespaces and cgroups ended, the cgroups
# removed (children first), the namespaces deleted (their links, routes and nft
# tables go with them).
# shellcheck disable=SC2086 # pid lists are split on purpose
cl_down() {
	local ns pids cg i root=${CL_CG_BASE:-}
	[ -n "$root" ] || root=$(cl_cgroup_root)/xlb-cluster-$CL_ID
	# SIGTERM first (servers and xlbd end cleanly), SIGKILL for what is left after 1 s.
	pids=$(cat "$root"/a*/cgroup.procs 2>/dev/null)
	[ -n "$pids" ] && kill $pids 2>/dev/null
	for i in $(seq 1 50); do
		[ -z "$(cat "$root"/a*/cgroup.procs 2>/dev/null)" ] && break
		sleep 0.02
	done
	for cg in "$root"/a*; do
		[ -d "$cg" ] || continue
		echo 1 >"$cg/cgroup.kill" 2>/dev/null || {
			pids=$(cat "$cg/cgroup.procs" 2>/dev/null)
			[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		}
	done
	# reaped here, so that bash does not report their deaths
	[ ${#CL_PIDS[@]} -gt 0 ] && wait "${CL_PIDS[@]}" 2>/dev/null
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^xcl-.*-$CL_ID\$"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	done
	for cg in "$root"/a*; do
		[ -d "$cg" ] || continue
		for i in $(seq 1 100); do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.02
		done
	done
	[ -d "$root" ] && rmdir "$root" 2>/dev/null
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^xcl-.*-$CL_ID\$"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "${CL_LOGDIR:-/tmp}/serve-$CL_ID-"*.log 2>/dev/null
	return 0
}

# As a command (for agent players in other languages): `cluster.sh exec CGROUP
# NETNS CMD...` joins CGROUP, then runs CMD in NETNS; with CL_ID set to a lab's,
# `cluster.sh task ...` starts a task's server and `cluster.sh unmap ...` removes
# a bridge task's port mapping (see the case below).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	# for the agent player (cluster_tasks.py): CL_ID set, the lab up
	task | unmap)
		[ -n "${CL_ID_GIVEN:-}" ] || {
			echo "cluster.sh $1: set CL_ID to the lab's id" >&2
			exit 2
		}
		;;&
	task)
		# task host AGENT HOSTPORT | bridge AGENT HOSTPORT CONTAINERPORT K |
		# overlay AGENT CONTAINERPORT K: makes what the task needs (container, port
		# mapping) and prints "CGROUP NETNS LISTEN4 LISTEN6 ENDPOINT" for its server,
		# which the caller starts (with exec, below) and so reaps
		m=$2
		shift 2
		CL_SERVE_PLAN=1
		"cl_${m}_task" "$@" || exit 1
		echo "$CL_SERVE $CL_EP"
		;;
	unmap) cl_port_unmap "$2" "$3" ;; # unmap AGENT HOSTPORT
	exec)
		[ $# -ge 4 ] || {
			echo "usage: cluster.sh exec CGROUP NETNS CMD..." >&2
			exit 2
		}
		shift
		cl_exec_ "$@"
		;;
	*)
		echo "usage: cluster.sh exec CGROUP NETNS CMD... (or source it: see its top)" >&2
		exit 2
		;;
	esac
fi

# ---- what every cluster scenario starts with ----

# cl_suite_init: in a suite (tests/e2e/lib.sh sourced, TMP set, CL_ID chosen before
# this file was sourced), checks what a cluster suite needs (binaries, root,
# tools, a cgroup v2 mount; a missing one ends the suite), sends the lab's logs
# to $TMP and registers its teardown. Sets E2E_PY and CL_PY.
cl_suite_init() {
	need_bins "$E2E_LABNET" "$E2E_XLBD" "$E2E_SIM" "$E2E_LBSTAT" "$E2E_DUMP"
	need_root
	need_cmd ip nsenter ethtool nft bridge jq curl python3
	E2E_PY=$(command -v /usr/bin/python3 || command -v python3)
	CL_PY=$E2E_PY
	CL_QUIET=1
	CL_LOGDIR=$TMP
	at_exit cl_down
	[ -n "$(cl_cgroup_root)" ] || skip_suite env "no cgroup v2 mount"
}

# cl_sim_start FIXTURE: the Marathon stand-in on the ToR with FIXTURE (its control
# port on 8081), a failed check and the end when it does not start. Sets SIM_PID.
cl_sim_start() {
	nsenter --net="/run/netns/$CL_NS_TOR" "$E2E_SIM" --listen "$CL_MARATHON" \
		--control "$CL_TOR_IP:8081" --scenario "$1" --heartbeat-ms 500 \
		>"$TMP/sim.out" 2>"$TMP/sim.log" &
	SIM_PID=$!
	track_pid $SIM_PID
	wait_until 5 "marathon-sim starts on the ToR ($CL_MARATHON)" \
		grep -q '^control on ' "$TMP/sim.out" || finish
}
