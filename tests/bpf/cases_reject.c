// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rows for VIPs without a backend: TCP gets a RST built per RFC 793 (seq from
 * the ACK field, or ACK of seq + segment length), UDP an ICMP / ICMPv6 port
 * unreachable quoting the offending header, both with MACs swapped and any VLAN
 * tag kept, sent back out (XDP_TX, TC redirect) or, from TC egress, redirected
 * to ingress for the local client; a RST is never answered; the drop policy
 * answers nothing. Per-VIP rejected/drops counters move accordingly.
 */
#include "cases.h"

#define ACK XLB_PKT_TCP_ACK
#define PSH_ACK (XLB_PKT_TCP_PSH | XLB_PKT_TCP_ACK)

/* Answers leave where the packet came from; on TC egress they go up to the local stack. */
#define REJECT                                                                                     \
	.reason = XLB_CNT_REJECT_TX, .stats = T_S_REJ, .alt_hooks = T_TCE,                         \
	.alt_reason = XLB_CNT_REJECT_REDIRECT

const struct xlb_case t_cases_reject[] = {
	{ "reject_tcp4_syn", T_ALL, T_SVC_REJ_TCP4, T_F_TO_VIP, .out = T_O_RST, .alt_out = T_O_RST,
	  REJECT },
	{ "reject_tcp6_syn", T_ALL, T_SVC_REJ_TCP6, T_F_TO_VIP, .out = T_O_RST, .alt_out = T_O_RST,
	  REJECT },
	/* A SYN carrying data: ACK = seq + 1 + data length. */
	{ "reject_tcp4_syn_with_data", T_XDP_TC, T_SVC_REJ_TCP4, T_F_TO_VIP, .mods = T_M_PAYLOAD,
	  .out = T_O_RST, REJECT },
	/* A segment with ACK: the RST's seq is that ACK, and it carries no ACK itself. */
	{ "reject_tcp4_ack", T_ALL, T_SVC_REJ_TCP4, T_F_TO_VIP, PSH_ACK, T_M_PAYLOAD,
	  .out = T_O_RST, .alt_out = T_O_RST, REJECT },
	{ "reject_tcp6_ack", T_XDP_TC, T_SVC_REJ_TCP6, T_F_TO_VIP, ACK, .out = T_O_RST, REJECT },
	/* A bare FIN occupies one sequence number, like a SYN. */
	{ "reject_tcp4_fin", T_XDP_TC, T_SVC_REJ_TCP4, T_F_TO_VIP, XLB_PKT_TCP_FIN, .out = T_O_RST,
	  REJECT },
	{ "reject_tcp4_vlan", T_XDP_TC, T_SVC_REJ_TCP4, T_F_TO_VIP, .mods = T_M_VLAN,
	  .out = T_O_RST, REJECT },
	{ "reject_tcp4_ip_options", T_XDP_TC, T_SVC_REJ_TCP4, T_F_TO_VIP, .mods = T_M_IPOPT,
	  .out = T_O_RST, REJECT },
	{ "reject_tcp6_hop_by_hop", T_XDP_TC, T_SVC_REJ_TCP6, T_F_TO_VIP, PSH_ACK,
	  T_M_HBH | T_M_PAYLOAD, .out = T_O_RST, REJECT },
	/* Never answer a RST (RFC 793): drop it. */
	{ "reject_rst_not_answered", T_ALL, T_SVC_REJ_TCP4, T_F_TO_VIP, XLB_PKT_TCP_RST,
	  .reason = XLB_CNT_DROP_NO_BACKEND, .out = T_O_NONE, .stats = T_S_DNB },
	{ "reject_rst_ack_not_answered", T_XDP_TC, T_SVC_REJ_TCP6, T_F_TO_VIP,
	  XLB_PKT_TCP_RST | XLB_PKT_TCP_ACK, .reason = XLB_CNT_DROP_NO_BACKEND, .out = T_O_NONE,
	  .stats = T_S_DNB },
	/* UDP: port unreachable quoting the IP header (with options) and 8 bytes. */
	{ "reject_udp4", T_ALL, T_SVC_REJ_UDP4, T_F_TO_VIP, .out = T_O_UNREACH,
	  .alt_out = T_O_UNREACH, REJECT },
	{ "reject_udp6", T_ALL, T_SVC_REJ_UDP6, T_F_TO_VIP, .out = T_O_UNREACH,
	  .alt_out = T_O_UNREACH, REJECT },
	{ "reject_udp4_ip_options", T_XDP_TC, T_SVC_REJ_UDP4, T_F_TO_VIP, .mods = T_M_IPOPT,
	  .out = T_O_UNREACH, REJECT },
	{ "reject_udp4_vlan", T_XDP_TC, T_SVC_REJ_UDP4, T_F_TO_VIP, .mods = T_M_VLAN,
	  .out = T_O_UNREACH, REJECT },
	{ "reject_udp6_vlan", T_XDP_TC, T_SVC_REJ_UDP6, T_F_TO_VIP, .mods = T_M_VLAN,
	  .out = T_O_UNREACH, REJECT },
	{ "reject_udp4_no_csum", T_XDP_TC, T_SVC_REJ_UDP4, T_F_TO_VIP, .mods = T_M_UDP_NOCSUM,
	  .out = T_O_UNREACH, REJECT },
	/* Policy drop: nothing sent back. */
	{ "drop_policy_tcp4", T_ALL, T_SVC_DROP_TCP4, T_F_TO_VIP, .reason = XLB_CNT_DROP_NO_BACKEND,
	  .out = T_O_NONE, .stats = T_S_DNB },
	{ "drop_policy_udp6", T_XDP_TC, T_SVC_DROP_UDP6, T_F_TO_VIP,
	  .reason = XLB_CNT_DROP_NO_BACKEND, .out = T_O_NONE, .stats = T_S_DNB },
};
const size_t t_cases_reject_n = sizeof(t_cases_reject) / sizeof(t_cases_reject[0]);
