#!/usr/bin/env bash
# xlb's network-namespace lab, sourced by the end-to-end tests, the demo and
# the benchmarks. It builds, on this machine only, a client host, the load
# balancer host (an agent running xlbd), three backend hosts running a server
# that names itself, and a "container" attached to the load balancer host by a
# veth. Addresses come from 198.18.0.0/15 (and 2001:db8::/32) only:
#   VIPs 198.18.0.0/24, named VIPs 198.19.0.0/16, clients 198.18.1.0/24,
#   backends 198.18.2.0/24, container 198.18.3.0/24.
# lab_down removes everything lab_up made; callers register it with
# tests/lib/test.sh (at_exit lab_down), whose trap runs it on any exit.
#
#   client (LAB_NS_C) eth0 198.18.1.2 ── lb-c 198.18.1.1 ┐
#   container (LAB_NS_CT) eth0 198.18.3.2 ── lb-ct 198.18.3.1 ├ LB host (LAB_NS_LB), xlb0: VIP routes
#   backend N (LAB_NS_BN) eth0 198.18.2.1N ── lb-bN 198.18.2.1/32 ┘

LAB_ID=${LAB_ID:-$$}
LAB_NS_C=xlab-c-$LAB_ID
LAB_NS_LB=xlab-lb-$LAB_ID
LAB_NS_CT=xlab-ct-$LAB_ID
LAB_BACKENDS=${LAB_BACKENDS:-3}
LAB_OUTPUT=${OUTPUT:-.output}
LAB_LABNET=${LAB_LABNET:-$LAB_OUTPUT/labnet}
LAB_PORT=${LAB_PORT:-8080}
# When set, backend N listens on LAB_PORT_BASE + N instead (Marathon host ports).
LAB_PORT_BASE=${LAB_PORT_BASE:-}

lab_port() { if [ -n "$LAB_PORT_BASE" ]; then echo $((LAB_PORT_BASE + $1)); else echo "$LAB_PORT"; fi; }

lab_ns_b() { echo "xlab-b$1-$LAB_ID"; }
lab_backend_ip() { echo "198.18.2.1$1"; }
lab_backend_ip6() { echo "2001:db8:2::1$1"; }

lab_in() { # lab_in NS CMD...: run in a lab namespace
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Like lab_in, but only the network namespace changes: `ip netns exec` also
# remounts /sys, which would hide the host's bpffs and its pins from xlbd.
lab_net() { # lab_net NS CMD...
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

lab_log() { [ -n "${LAB_QUIET:-}" ] || echo "lab: $*" >&2; }

lab_fail() {
	echo "lab: $*" >&2
	return 1
}

# A veth whose ends live in two namespaces.
lab_veth() { # lab_veth NS_A NAME_A NS_B NAME_B
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	lab_in "$1" ip link set "$2" up && lab_in "$3" ip link set "$4" up
}

# An end host's eth0: full checksums on send (XDP forwarding would deliver them
# unfilled otherwise) and GRO on receive (so native XDP redirects are delivered).
lab_endhost_nic() { # lab_endhost_nic NS
	lab_in "$1" ethtool -K eth0 tx off >/dev/null 2>&1
	lab_in "$1" ethtool -K eth0 gro on >/dev/null 2>&1
	return 0
}

lab_up() {
	local i ns
	command -v ethtool >/dev/null || lab_fail "ethtool missing (make deps)" || return 1
	[ -x "$LAB_LABNET" ] || lab_fail "$LAB_LABNET missing (make)" || return 1
	lab_log "building namespaces (id $LAB_ID)"
	ip netns add "$LAB_NS_LB" && ip netns add "$LAB_NS_C" && ip netns add "$LAB_NS_CT" || return 1
	for i in $(seq 1 "$LAB_BACKENDS"); do
		ip netns add "$(lab_ns_b "$i")" || return 1
	done
	for ns in "$LAB_NS_LB" "$LAB_NS_C" "$LAB_NS_CT"; do
		lab_in "$ns" ip link set lo up
	done

	# Load balancer host: a router whose VIP routes point at xlb0, where TC egress sees
	# what the host itself sends to a VIP. xlb0 is a dummy where the kernel has one,
	# else one end of a veth pair with ARP off (a VIP must not need a neighbour).
	lab_in "$LAB_NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1
	if ! lab_in "$LAB_NS_LB" ip link add xlb0 type dummy 2>/dev/null; then
		lab_in "$LAB_NS_LB" ip link add xlb0 type veth peer name xlb0p || return 1
		lab_in "$LAB_NS_LB" ip link set xlb0p up
	fi
	lab_in "$LAB_NS_LB" ip link set xlb0 arp off up || return 1

	lab_veth "$LAB_NS_LB" lb-c "$LAB_NS_C" eth0 || return 1
	lab_in "$LAB_NS_LB" ip addr add 198.18.1.1/24 dev lb-c
	lab_in "$LAB_NS_LB" ip -6 addr add 2001:db8:1::1/64 dev lb-c nodad
	lab_in "$LAB_NS_C" ip addr add 198.18.1.2/24 dev eth0
	lab_in "$LAB_NS_C" ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
	lab_in "$LAB_NS_C" ip route add default via 198.18.1.1
	lab_in "$LAB_NS_C" ip -6 route add default via 2001:db8:1::1
	lab_endhost_nic "$LAB_NS_C"

	lab_veth "$LAB_NS_LB" lb-ct "$LAB_NS_CT" eth0 || return 1
	lab_in "$LAB_NS_LB" ip addr add 198.18.3.1/24 dev lb-ct
	lab_in "$LAB_NS_LB" ip -6 addr add 2001:db8:3::1/64 dev lb-ct nodad
	lab_in "$LAB_NS_CT" ip addr add 198.18.3.2/24 dev eth0
	lab_in "$LAB_NS_CT" ip -6 addr add 2001:db8:3::2/64 dev eth0 nodad
	lab_in "$LAB_NS_CT" ip route add default via 198.18.3.1
	lab_in "$LAB_NS_CT" ip -6 route add default via 2001:db8:3::1
	lab_endhost_nic "$LAB_NS_CT"

	for i in $(seq 1 "$LAB_BACKENDS"); do
		ns=$(lab_ns_b "$i")
		lab_in "$ns" ip link set lo up
		lab_veth "$LAB_NS_LB" "lb-b$i" "$ns" eth0 || return 1
		lab_in "$LAB_NS_LB" ip addr add 198.18.2.1/32 dev "lb-b$i"
		lab_in "$LAB_NS_LB" ip route add "$(lab_backend_ip "$i")/32" dev "lb-b$i" src 198.18.2.1
		lab_in "$LAB_NS_LB" ip -6 addr add 2001:db8:2::1/128 dev "lb-b$i" nodad
		lab_in "$LAB_NS_LB" ip -6 route add "$(lab_backend_ip6 "$i")/128" dev "lb-b$i"
		lab_in "$ns" ip addr add "$(lab_backend_ip "$i")/24" dev eth0
		lab_in "$ns" ip -6 addr add "$(lab_backend_ip6 "$i")/64" dev eth0 nodad
		lab_in "$ns" ip route add default via 198.18.2.1
		lab_in "$ns" ip -6 route add 2001:db8:2::1/128 dev eth0
		lab_in "$ns" ip -6 route add default via 2001:db8:2::1
		lab_endhost_nic "$ns"
	done

	lab_in "$LAB_NS_LB" ip route add 198.18.0.0/24 dev xlb0 src 198.18.1.1
	lab_in "$LAB_NS_LB" ip route add 198.19.0.0/16 dev xlb0 src 198.18.1.1
	lab_in "$LAB_NS_LB" ip -6 route add 2001:db8::/64 dev xlb0 src 2001:db8:1::1
	return 0
}

# Starts the named server on every backend (TCP and UDP, IPv4 and IPv6, port LAB_PORT).
lab_servers_up() {
	local i ns
	for i in $(seq 1 "$LAB_BACKENDS"); do
		ns=$(lab_ns_b "$i")
		lab_in "$ns" "$LAB_LABNET" serve --name "backend-$i" \
			--listen "$(lab_backend_ip "$i"):$(lab_port "$i")" \
			--listen "[$(lab_backend_ip6 "$i")]:$(lab_port "$i")" >/dev/null 2>&1 &
	done
	# Wait until each answers directly from the LB host.
	for i in $(seq 1 "$LAB_BACKENDS"); do
		local ok=0 t
		for t in $(seq 1 50); do
			if lab_in "$LAB_NS_LB" "$LAB_LABNET" probe -q -n 1 --timeout 200 \
				"$(lab_backend_ip "$i"):$(lab_port "$i")" 2>/dev/null; then
				ok=1
				break
			fi
			sleep 0.1
		done
		[ "$ok" = 1 ] || lab_fail "backend $i does not answer" || return 1
	done
}

lab_down() {
	local ns pids
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^xlab-.*-$LAB_ID\$"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
		sleep 0.1
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
