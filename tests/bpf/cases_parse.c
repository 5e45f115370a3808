// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Parser rows: traffic that is not ours passes byte-identical (other
 * ethertypes, a second VLAN tag, non-VIP TCP/UDP, a VIP address on a port with
 * no VIP, other protocols); fragments are dropped when addressed to a VIP
 * address and passed otherwise (IPv4 MF, IPv4 offset, IPv6 fragment header);
 * frames cut at every header boundary, or with impossible header fields, are
 * dropped when addressed to a VIP address and passed untouched otherwise. A
 * frame cut before its destination address cannot be "to a VIP": it passes.
 * tcp4_ack_not_vip is also the benchmark's non-VIP packet (bench/dp).
 */
#include "cases.h"

#define DROP_MAL XLB_CNT_DROP_MALFORMED_VIP
#define PASS_TR XLB_CNT_PASS_TRUNCATED

const struct xlb_case t_cases_parse[] = {
	{ "arp_passes", T_ALL, T_SVC_TCP4, T_F_ARP, .reason = XLB_CNT_PASS_NOT_IP,
	  .out = T_O_SAME },
	{ "two_vlan_tags_pass", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_QINQ,
	  .reason = XLB_CNT_PASS_NOT_IP, .out = T_O_SAME },
	{ "tcp4_not_vip", T_ALL, T_SVC_TCP4, T_F_TO_OTHER, .reason = XLB_CNT_PASS_NOT_VIP,
	  .out = T_O_SAME },
	{ "tcp4_ack_not_vip", T_ALL, T_SVC_TCP4, T_F_TO_OTHER, XLB_PKT_TCP_ACK,
	  .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	{ "udp4_not_vip", T_XDP_TC, T_SVC_UDP4, T_F_TO_OTHER, .reason = XLB_CNT_PASS_NOT_VIP,
	  .out = T_O_SAME },
	{ "tcp6_not_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_OTHER, .reason = XLB_CNT_PASS_NOT_VIP,
	  .out = T_O_SAME },
	{ "udp6_not_vip_vlan", T_XDP_TC, T_SVC_UDP6, T_F_TO_OTHER, .mods = T_M_VLAN,
	  .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	{ "tcp4_vip_addr_other_port", T_ALL, T_SVC_TCP4, T_F_TO_VIP_ADDR,
	  .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	{ "udp6_vip_addr_other_port", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP_ADDR,
	  .reason = XLB_CNT_PASS_NOT_VIP, .out = T_O_SAME },
	{ "gre_to_vip_addr", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_GRE,
	  .reason = XLB_CNT_PASS_PROTO, .out = T_O_SAME },

	/* Fragments. */
	{ "frag4_first_to_vip", T_ALL, T_SVC_UDP4, T_F_TO_VIP, .mods = T_M_MF,
	  .reason = XLB_CNT_DROP_FRAGMENT, .out = T_O_NONE },
	{ "frag4_later_to_vip", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP, .mods = T_M_FRAGOFF,
	  .reason = XLB_CNT_DROP_FRAGMENT, .out = T_O_NONE },
	{ "frag4_to_vip_addr_other_port", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP_ADDR, .mods = T_M_MF,
	  .reason = XLB_CNT_DROP_FRAGMENT, .out = T_O_NONE },
	{ "frag4_not_vip", T_XDP_TC, T_SVC_UDP4, T_F_TO_OTHER, .mods = T_M_MF,
	  .reason = XLB_CNT_PASS_FRAGMENT, .out = T_O_SAME },
	{ "frag6_to_vip", T_ALL, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_FRAG6,
	  .reason = XLB_CNT_DROP_FRAGMENT, .out = T_O_NONE },
	{ "frag6_after_hop_by_hop_to_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_VIP,
	  .mods = T_M_HBH | T_M_FRAG6, .reason = XLB_CNT_DROP_FRAGMENT, .out = T_O_NONE },
	{ "frag6_not_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_OTHER, .mods = T_M_FRAG6,
	  .reason = XLB_CNT_PASS_FRAGMENT, .out = T_O_SAME },

	/* More extension headers than the parser walks. */
	{ "ext3_to_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_VIP, .mods = T_M_EXT3, .reason = DROP_MAL,
	  .out = T_O_NONE },
	{ "ext3_not_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_OTHER, .mods = T_M_EXT3,
	  .reason = XLB_CNT_PASS_PROTO, .out = T_O_SAME },

	/* Impossible header fields. */
	{ "bad_ip_version_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_BADVER,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "bad_ip_version_not_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_OTHER, .mods = T_M_BADVER,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "bad_ip6_version_to_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_BADVER,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "bad_ihl_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_BADIHL,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "bad_tcp_doff_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_BADDOFF,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "bad_tcp_doff_not_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_OTHER, .mods = T_M_BADDOFF,
	  .reason = PASS_TR, .out = T_O_SAME },

	/* Truncation at every header boundary. */
	{ "trunc_ethernet_only", T_ALL, T_SVC_TCP4, T_F_TO_VIP, .trunc = T_TR_L2, .reason = PASS_TR,
	  .out = T_O_SAME },
	{ "trunc_in_vlan_tag", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_VLAN,
	  .trunc = T_TR_VLAN, .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_after_vlan_tag", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_VLAN,
	  .trunc = T_TR_L2, .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_in_ipv4_header_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .trunc = T_TR_L3_HALF,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_after_ipv4_header_to_vip", T_ALL, T_SVC_TCP4, T_F_TO_VIP, .trunc = T_TR_L3,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_after_ipv4_header_not_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_OTHER, .trunc = T_TR_L3,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_in_ipv4_options_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_IPOPT,
	  .trunc = T_TR_IPOPT, .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_ipv4_options_not_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_OTHER, .mods = T_M_IPOPT,
	  .trunc = T_TR_IPOPT, .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_in_ipv6_header_to_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_VIP, .trunc = T_TR_L3_HALF,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_after_ipv6_header_to_vip", T_ALL, T_SVC_TCP6, T_F_TO_VIP, .trunc = T_TR_L3,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_after_ipv6_header_not_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_OTHER, .trunc = T_TR_L3,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_in_ipv6_ext_header_to_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_HBH,
	  .trunc = T_TR_EXT, .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_tcp4_ports_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .trunc = T_TR_L4_HALF,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_tcp4_header_to_vip", T_ALL, T_SVC_TCP4, T_F_TO_VIP, .trunc = T_TR_L4_END,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_tcp4_header_not_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_OTHER, .trunc = T_TR_L4_END,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_in_tcp6_header_to_vip", T_XDP_TC, T_SVC_TCP6, T_F_TO_VIP, .trunc = T_TR_L4_END,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_udp4_header_to_vip", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP, .trunc = T_TR_L4_END,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_udp6_header_to_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .trunc = T_TR_L4_END,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_udp6_header_not_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_OTHER, .trunc = T_TR_L4_END,
	  .reason = PASS_TR, .out = T_O_SAME },
	{ "trunc_in_udp4_payload_to_vip", T_XDP_TC, T_SVC_UDP4, T_F_TO_VIP, .trunc = T_TR_PAYLOAD,
	  .reason = DROP_MAL, .out = T_O_NONE },
	{ "trunc_in_icmp4_header_to_vip_addr", T_XDP_TC, T_SVC_TCP4, T_F_ECHO_VIP,
	  .trunc = T_TR_L4_HALF, .reason = DROP_MAL, .out = T_O_NONE },
	/* Lengths that agree with the cut: the IP header is fine, the L4 header is short. */
	{ "short_tcp4_header_to_vip", T_XDP_TC, T_SVC_TCP4, T_F_TO_VIP, .mods = T_M_FIXLEN,
	  .trunc = T_TR_L4_HALF, .reason = DROP_MAL, .out = T_O_NONE },
	{ "short_udp6_header_to_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_VIP, .mods = T_M_FIXLEN,
	  .trunc = T_TR_L4_HALF, .reason = DROP_MAL, .out = T_O_NONE },
	{ "short_udp6_header_not_vip", T_XDP_TC, T_SVC_UDP6, T_F_TO_OTHER, .mods = T_M_FIXLEN,
	  .trunc = T_TR_L4_HALF, .reason = PASS_TR, .out = T_O_SAME },
};
const size_t t_cases_parse_n = sizeof(t_cases_parse) / sizeof(t_cases_parse[0]);
