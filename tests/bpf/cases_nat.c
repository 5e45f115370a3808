// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NAT-mode forwarding rows: client -> VIP translated to the backend (new and
 * established flows, TCP and UDP, IPv4 and IPv6, with VLAN tags, IPv4 options
 * and IPv6 extension headers, UDP with and without checksum, the computed-zero
 * UDP checksum), backend -> client translated back to the VIP, and every FIB
 * answer that changes the outcome (another or the same interface, missing
 * neighbour, blackhole/unreachable, local backend, TTL 1, MTU).
 * Some rows are also the packets the data plane benchmark (bench/dp) and
 * lbstat-testgen send, looked up by name (t_case_find): a rename goes there too.
 */
#include "cases.h"

#define SYN_ACK (XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK)
#define PSH_ACK (XLB_PKT_TCP_PSH | XLB_PKT_TCP_ACK)
#define FWD XLB_CNT_FWD_REDIRECT

const struct xlb_case t_cases_nat[] = {
	/* Client -> VIP, new flows: DNAT, MACs of the backend, TTL-1 (not on egress). */
	{ "nat_tcp4_syn", T_ALL, T_SVC_TCP4, T_F_TO_VIP, .reason = FWD, .out = T_O_DNAT,
	  .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp6_syn", T_ALL, T_SVC_TCP6, T_F_TO_VIP, .reason = FWD, .out = T_O_DNAT,
	  .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp4", T_ALL, T_SVC_UDP4, T_F_TO_VIP, .reason = FWD, .out = T_O_DNAT,
	  .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp6", T_ALL, T_SVC_UDP6, T_F_TO_VIP, .reason = FWD, .out = T_O_DNAT,
	  .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	/* The bare SYN (no TCP options) that the benchmark and lbstat-testgen send. */
	{ "nat_tcp4_syn_no_options", T_ALL, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_NOOPT,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	/* Established flows: conntrack hit, no new flow counted. */
	{ "nat_tcp4_ack", T_ALL, T_SVC_TCP4, T_F_TO_VIP, XLB_PKT_TCP_ACK, .prime = true,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_HIT, .stats = T_S_IN },
	/*
	 * A SYN on a recorded, established tuple (a retransmit, a reused port): the
	 * failed insert says so, the entry is rewritten in place, not inserted.
	 */
	{ "nat_tcp4_syn_recorded", T_ALL, T_SVC_TCP4, T_F_TO_VIP, XLB_PKT_TCP_SYN, T_M_NOOPT,
	  .prime = true, .reason = FWD, .out = T_O_DNAT,
	  .events = T_EV(XLB_CNT_CT_SYN_RECORDED) | T_EV(XLB_CNT_NAT_ORIG),
	  .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_established", T_ALL, T_SVC_TCP4, T_F_TO_VIP, PSH_ACK, T_M_PAYLOAD,
	  .prime = true, .reason = FWD, .out = T_O_DNAT, .events = T_E_HIT, .stats = T_S_IN },
	{ "nat_tcp6_established", T_ALL, T_SVC_TCP6, T_F_TO_VIP, PSH_ACK, T_M_PAYLOAD,
	  .prime = true, .reason = FWD, .out = T_O_DNAT, .events = T_E_HIT, .stats = T_S_IN },
	{ "nat_udp4_established", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP, .prime = true, .reason = FWD,
	  .out = T_O_DNAT, .events = T_E_HIT, .stats = T_S_IN },
	/* UDP checksum: absent stays absent; a computed zero goes out as 0xffff. */
	{ "nat_udp4_no_csum", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP, .mods = T_M_UDP_NOCSUM,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp4_csum_computes_zero", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP, .mods = T_M_CSUM_FFFF,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp6_csum_computes_zero", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_CSUM_FFFF,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	/* Header variants: offsets must follow the tag, the options, the extension headers. */
	{ "nat_tcp4_vlan", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_VLAN, .reason = FWD,
	  .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp6_vlan", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_VLAN, .reason = FWD,
	  .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_ip_options", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_IPOPT, .reason = FWD,
	  .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp4_ip_options_vlan", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP,
	  .mods = T_M_IPOPT | T_M_VLAN,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_dont_fragment", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_DF, .reason = FWD,
	  .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp6_hop_by_hop", T_XDP_TC, T_SVC_TCP6, T_F_TO_VIP, .mods = T_M_HBH, .reason = FWD,
	  .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp6_two_ext_headers", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP,
	  .mods = T_M_HBH | T_M_DSTOPT,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	/* One-armed: in and out of the backend-side interface, XDP_TX. */
	{ "nat_tcp4_one_arm_tx", T_ALL, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_VIA_OTHER,
	  .reason = XLB_CNT_FWD_TX, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_udp6_one_arm_tx", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_VIA_OTHER,
	  .reason = XLB_CNT_FWD_TX, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	/*
	 * Next hop not resolved: XDP translates and leaves the packet to the kernel;
	 * TC hands it to bpf_redirect_neigh, which fills the MACs but, unlike the
	 * kernel's forwarding path, does not touch the TTL: xlb must decrement it.
	 */
	{ "nat_tcp4_no_neigh", T_XDP_TC, T_SVC_NONEIGH4, T_F_TO_VIP,
	  .reason = XLB_CNT_PASS_NO_NEIGH,
	  .out = T_O_DNAT_RAW, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW, .alt_hooks = T_TCI,
	  .alt_reason = FWD, .alt_out = T_O_DNAT_TTL },
	{ "nat_tcp6_no_neigh", T_XDP_TC, T_SVC_NONEIGH6, T_F_TO_VIP,
	  .reason = XLB_CNT_PASS_NO_NEIGH,
	  .out = T_O_DNAT_RAW, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW, .alt_hooks = T_TCI,
	  .alt_reason = FWD, .alt_out = T_O_DNAT_TTL },
	{ "nat_tcp4_no_neigh_egress", T_TCE, T_SVC_NONEIGH4, T_F_TO_VIP, .reason = FWD,
	  .out = T_O_DNAT_RAW, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	/* Routes that refuse: translated and counted, then dropped. */
	{ "nat_tcp4_blackhole", T_ALL, T_SVC_BLACKHOLE4, T_F_TO_VIP, .reason = XLB_CNT_DROP_FIB,
	  .out = T_O_NONE, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW | T_S_DFIB },
	{ "nat_tcp4_unreachable", T_XDP_TC, T_SVC_UNREACH4, T_F_TO_VIP, .reason = XLB_CNT_DROP_FIB,
	  .out = T_O_NONE, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW | T_S_DFIB },
	{ "nat_tcp6_blackhole", T_XDP_TC, T_SVC_BLACKHOLE6, T_F_TO_VIP, .reason = XLB_CNT_DROP_FIB,
	  .out = T_O_NONE, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW | T_S_DFIB },
	/* Answers the kernel must finish: local backend, TTL spent, MTU exceeded. */
	{ "nat_tcp4_local_backend", T_ALL, T_SVC_LOCAL4, T_F_TO_VIP, .reason = XLB_CNT_PASS_LOCAL,
	  .out = T_O_DNAT_RAW, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_ttl1", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_TTL1,
	  .reason = XLB_CNT_PASS_FIB, .out = T_O_DNAT_RAW, .events = T_E_NEW,
	  .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp6_hop_limit1", T_XDP_TC, T_SVC_TCP6, T_F_TO_VIP, .mods = T_M_TTL1,
	  .reason = XLB_CNT_PASS_FIB, .out = T_O_DNAT_RAW, .events = T_E_NEW,
	  .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_ttl1_local_sender", T_TCE, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_TTL1,
	  .reason = FWD, .out = T_O_DNAT, .events = T_E_NEW, .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_mtu_exceeded", T_XDP_TC, T_SVC_MTU4, T_F_TO_VIP, PSH_ACK, T_M_BIG,
	  .reason = XLB_CNT_PASS_FIB, .out = T_O_DNAT_RAW, .events = T_E_NEW,
	  .stats = T_S_IN | T_S_NEW },
	{ "nat_tcp4_device_mtu_exceeded", T_XDP_TC, T_SVC_DEVMTU4, T_F_TO_VIP, PSH_ACK, T_M_BIG,
	  .reason = XLB_CNT_PASS_FIB, .out = T_O_DNAT_RAW, .events = T_E_NEW,
	  .stats = T_S_IN | T_S_NEW },
	/*
	 * The same on established flows, whose small SYN left a cached next hop:
	 * the kernel must still see the big packet (fragment it, or answer
	 * "fragmentation needed"); redirected past the device MTU it is dropped.
	 */
	{ "nat_tcp4_device_mtu_exceeded_established", T_XDP_TC, T_SVC_DEVMTU4, T_F_TO_VIP, PSH_ACK,
	  T_M_BIG, .prime = true, .reason = XLB_CNT_PASS_FIB, .out = T_O_DNAT_RAW,
	  .events = T_E_HIT, .stats = T_S_IN },
	{ "nat_tcp4_route_mtu_exceeded_established", T_XDP_TC, T_SVC_MTU4, T_F_TO_VIP, PSH_ACK,
	  T_M_BIG, .prime = true, .reason = XLB_CNT_PASS_FIB, .out = T_O_DNAT_RAW,
	  .events = T_E_HIT, .stats = T_S_IN },
	{ "nat_tcp4_device_mtu_fits_established", T_XDP_TC, T_SVC_DEVMTU4, T_F_TO_VIP, PSH_ACK,
	  T_M_PAYLOAD, .prime = true, .reason = XLB_CNT_FWD_REDIRECT, .out = T_O_DNAT,
	  .events = T_E_HIT, .stats = T_S_IN },

	/* Backend -> client of a recorded flow: SNAT back to the VIP. */
	{ "reply_tcp4", T_ALL, T_SVC_TCP4, T_F_REPLY, .prime = true, .reason = FWD,
	  .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_tcp4_ack", T_ALL, T_SVC_TCP4, T_F_REPLY, XLB_PKT_TCP_ACK, .prime = true,
	  .reason = FWD, .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_tcp6", T_ALL, T_SVC_TCP6, T_F_REPLY, .prime = true, .reason = FWD,
	  .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_udp4", T_ALL, T_SVC_UDP4, T_F_REPLY, .prime = true, .reason = FWD,
	  .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_udp4_no_csum", T_XDP_TC, T_SVC_UDP4, T_F_REPLY, .mods = T_M_UDP_NOCSUM,
	  .prime = true, .reason = FWD, .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_udp6", T_ALL, T_SVC_UDP6, T_F_REPLY, .prime = true, .reason = FWD,
	  .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_tcp4_vlan_ip_options", T_XDP_TC, T_SVC_TCP4, T_F_REPLY, PSH_ACK,
	  T_M_VLAN | T_M_IPOPT | T_M_PAYLOAD, .prime = true, .reason = FWD, .out = T_O_SNAT,
	  .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_tcp6_hop_by_hop", T_XDP_TC, T_SVC_TCP6, T_F_REPLY, .mods = T_M_HBH, .prime = true,
	  .reason = FWD, .out = T_O_SNAT, .events = T_E_REPLY, .stats = T_S_OUT },
	{ "reply_tcp4_one_arm_tx", T_XDP_TC, T_SVC_TCP4, T_F_REPLY, .mods = T_M_VIA_OTHER,
	  .prime = true, .reason = XLB_CNT_FWD_TX, .out = T_O_SNAT, .events = T_E_REPLY,
	  .stats = T_S_OUT },
	/* From a backend address and port, but no flow xlb made: not ours, untouched. */
	{ "reply_tcp4_without_flow", T_ALL, T_SVC_TCP4, T_F_REPLY, .reason = XLB_CNT_PASS_NOT_VIP,
	  .out = T_O_SAME },
	{ "reply_udp6_without_flow", T_XDP_TC, T_SVC_UDP6, T_F_REPLY,
	  .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	/*
	 * A socket the cgroup hooks translated talks to its backend directly: its
	 * SYN-ACKs and datagrams from the backend have no flow here and must pass.
	 */
	{ "reply_tcp4_synack_socket_lb", T_ALL, T_SVC_TCP4, T_F_REPLY,
	  XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK, .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	{ "reply_tcp6_synack_socket_lb", T_ALL, T_SVC_TCP6, T_F_REPLY,
	  XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK, .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	{ "reply_udp4_socket_lb", T_ALL, T_SVC_UDP4, T_F_REPLY, .reason = XLB_CNT_PASS_NOT_VIP,
	  .out = T_O_SAME },
};
const size_t t_cases_nat_n = sizeof(t_cases_nat) / sizeof(t_cases_nat[0]);
