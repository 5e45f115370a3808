// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMP rows. Errors about translated flows, both ways: a "fragmentation
 * needed" / "packet too big" from a router to the VIP, quoting what we sent as
 * the VIP, goes on to the flow's backend (outer destination, quoted source
 * address and port, quoted IPv4 checksum and the ICMP checksum rewritten); an
 * error from the backend or a router near it, quoting what we sent to the
 * backend, goes on to the client with the VIP restored. Everything else ICMP
 * (errors about nothing of ours, echo, neighbour discovery) passes untouched.
 */
#include "cases.h"

#define FWD XLB_CNT_FWD_REDIRECT
#define E_ORIG T_EV(XLB_CNT_ICMP_ORIG)
#define E_REPLY T_EV(XLB_CNT_ICMP_REPLY)

const struct xlb_case t_cases_icmp[] = {
	{ "icmp4_frag_needed_to_backend", T_ALL, T_SVC_TCP4, T_F_ICMP_TO_VIP, .prime = true,
	  .reason = FWD, .out = T_O_ICMP_ORIG, .events = E_ORIG },
	{ "icmp4_frag_needed_quote8", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_TO_VIP, .mods = T_M_QUOTE8,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_ORIG, .events = E_ORIG },
	{ "icmp4_frag_needed_udp", T_XDP_TC, T_SVC_UDP4, T_F_ICMP_TO_VIP, .mods = T_M_QUOTE8,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_ORIG, .events = E_ORIG },
	{ "icmp4_frag_needed_vlan", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_TO_VIP, .mods = T_M_VLAN,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_ORIG, .events = E_ORIG },
	/* No conntrack entry: the Maglev pick (here the only backend) still owns the flow. */
	{ "icmp4_frag_needed_unrecorded_flow", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_TO_VIP, .reason = FWD,
	  .out = T_O_ICMP_ORIG, .events = E_ORIG },
	{ "icmp6_packet_too_big_to_backend", T_ALL, T_SVC_TCP6, T_F_ICMP_TO_VIP, .prime = true,
	  .reason = FWD, .out = T_O_ICMP_ORIG, .events = E_ORIG },
	{ "icmp6_packet_too_big_udp", T_XDP_TC, T_SVC_UDP6, T_F_ICMP_TO_VIP, .prime = true,
	  .reason = FWD, .out = T_O_ICMP_ORIG, .events = E_ORIG },
	{ "icmp4_port_unreach_from_backend", T_ALL, T_SVC_TCP4, T_F_ICMP_FROM_BACKEND,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_REPLY, .events = E_REPLY },
	{ "icmp4_udp_port_unreach_from_backend", T_XDP_TC, T_SVC_UDP4, T_F_ICMP_FROM_BACKEND,
	  .mods = T_M_QUOTE8, .prime = true, .reason = FWD, .out = T_O_ICMP_REPLY,
	  .events = E_REPLY },
	{ "icmp4_time_exceeded_from_router", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_FROM_ROUTER,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_REPLY, .events = E_REPLY },
	{ "icmp6_port_unreach_from_backend", T_ALL, T_SVC_UDP6, T_F_ICMP_FROM_BACKEND,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_REPLY, .events = E_REPLY },
	{ "icmp6_time_exceeded_from_router", T_XDP_TC, T_SVC_TCP6, T_F_ICMP_FROM_ROUTER,
	  .prime = true, .reason = FWD, .out = T_O_ICMP_REPLY, .events = E_REPLY },
	/* Errors about nothing of ours. */
	{ "icmp4_error_about_unrecorded_backend_flow", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_FROM_BACKEND,
	  .reason = XLB_CNT_PASS_ICMP, .out = T_O_SAME },
	{ "icmp4_error_quoting_vip_addr_other_port", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_TO_VIP_NOSVC,
	  .reason = XLB_CNT_PASS_ICMP, .out = T_O_SAME },
	{ "icmp4_error_not_ours", T_XDP_TC, T_SVC_TCP4, T_F_ICMP_OTHER, .reason = XLB_CNT_PASS_ICMP,
	  .out = T_O_SAME },
	{ "icmp6_error_not_ours", T_XDP_TC, T_SVC_UDP6, T_F_ICMP_OTHER, .reason = XLB_CNT_PASS_ICMP,
	  .out = T_O_SAME },
	/* Not errors at all. */
	{ "icmp4_echo_to_vip_addr", T_ALL, T_SVC_TCP4, T_F_ECHO_VIP, .reason = XLB_CNT_PASS_ICMP,
	  .out = T_O_SAME },
	{ "icmp6_echo_to_vip_addr", T_XDP_TC, T_SVC_TCP6, T_F_ECHO_VIP, .reason = XLB_CNT_PASS_ICMP,
	  .out = T_O_SAME },
	{ "icmp4_echo_not_vip", T_XDP_TC, T_SVC_TCP4, T_F_ECHO_OTHER, .reason = XLB_CNT_PASS_ICMP,
	  .out = T_O_SAME },
	{ "icmp6_neighbour_solicitation", T_XDP_TC, T_SVC_TCP6, T_F_ND, .reason = XLB_CNT_PASS_ICMP,
	  .out = T_O_SAME },
};
const size_t t_cases_icmp_n = sizeof(t_cases_icmp) / sizeof(t_cases_icmp[0]);
