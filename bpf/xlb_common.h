/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Common ground for the xlb BPF programs: includes, the hook abstraction that
 * lets one implementation serve XDP and TC (the hook is a compile-time constant
 * in each entry point, so the branches on it fold away), packet constants that
 * vmlinux.h lacks, and the per-packet state carried between the stages.
 */
#ifndef XLB_COMMON_H
#define XLB_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xlb/abi.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

enum xlb_hook {
	XLB_HOOK_XDP = 0,
	XLB_HOOK_TC_INGRESS = 1,
	XLB_HOOK_TC_EGRESS = 2,
};

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_HLEN 14
#define VLAN_HLEN 4
#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define IPV6_NEXTHDR_HOP 0
#define IPV6_NEXTHDR_ROUTING 43
#define IPV6_NEXTHDR_FRAGMENT 44
#define IPV6_NEXTHDR_DEST 60
#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PORT_UNREACH 4
#define AF_INET_ 2
#define AF_INET6_ 10
#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2
#define BPF_F_INGRESS_ 1
#define EEXIST_ 17 /* vmlinux.h has no errno values */

/* Longest L2 header we accept: Ethernet plus one 802.1Q tag. */
#define XLB_L2_MAX (ETH_HLEN + VLAN_HLEN)
/* Longest IPv4 header (ihl 15). */
#define XLB_IPV4_MAX 60
/* IPv6 extension headers we step over before giving up. */
#define XLB_IPV6_EXT_MAX 2

/* What the parser learnt about a packet; offsets are from the frame start. */
struct xlb_pkt {
	union {
		struct xlb_flow_key t; /* the packet's tuple: a VIP key and a conntrack key */
		struct {
			union xlb_addr daddr;
			__be16 dport;
			__u8 proto;
			__u8 family;
			union xlb_addr saddr;
			__be16 sport;
			__u8 dir;
			__u8 pad0;
		};
	};
	__u32 l3_off; /* 14, or 18 behind a VLAN tag */
	__u32 l4_off;
	__u32 l3_len; /* IP header + payload, from the IP header's length fields */
	__u32 frame_len; /* bytes on the wire, for counters */
	__u8 tcp_flags;
	__u8 frag; /* 1: an IP fragment (the L4 header may be absent) */
	__u8 ttl; /* TTL / hop limit */
	/* 1: an unresolved neighbour is the caller's (xlb_fib sets oif, does not act). */
	__u8 defer_neigh;
	__u8 pad;
	__u16 mtu; /* the FIB's MTU where the packet was too big for it (defer_neigh) */
	int act; /* the program's return value for TX/REDIRECT verdicts */
	__u32 oif; /* the FIB's egress interface where it had no neighbour (defer_neigh) */
};

static __always_inline void *xlb_data(void *ctx, const int hook)
{
	if (hook == XLB_HOOK_XDP)
		return (void *)(long)((struct xdp_md *)ctx)->data;
	return (void *)(long)((struct __sk_buff *)ctx)->data;
}

static __always_inline void *xlb_data_end(void *ctx, const int hook)
{
	if (hook == XLB_HOOK_XDP)
		return (void *)(long)((struct xdp_md *)ctx)->data_end;
	return (void *)(long)((struct __sk_buff *)ctx)->data_end;
}

/* Bytes in the frame (an skb's may extend past its linear part). */
static __always_inline __u32 xlb_frame_len(void *ctx, const int hook)
{
	__u32 len;

	if (hook != XLB_HOOK_XDP)
		return ((struct __sk_buff *)ctx)->len;
	len = xlb_data_end(ctx, hook) - xlb_data(ctx, hook);
	/* Keep the compiler from folding this into arithmetic on packet pointers. */
	asm volatile("" : "+r"(len));
	return len;
}

/* The interface the packet arrived on (XDP, TC ingress) or leaves by (TC egress). */
static __always_inline __u32 xlb_ifindex(void *ctx, const int hook)
{
	if (hook == XLB_HOOK_XDP)
		return ((struct xdp_md *)ctx)->ingress_ifindex;
	return ((struct __sk_buff *)ctx)->ifindex;
}

static __always_inline long xlb_load(void *ctx, const int hook, __u32 off, void *to, __u32 len)
{
	if (hook == XLB_HOOK_XDP)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline long xlb_store(void *ctx, const int hook, __u32 off, const void *from,
				      __u32 len)
{
	if (hook == XLB_HOOK_XDP)
		return bpf_xdp_store_bytes(ctx, off, (void *)from, len);
	return bpf_skb_store_bytes(ctx, off, from, len, 0);
}

static __always_inline int xlb_addr_eq(const union xlb_addr *a, const union xlb_addr *b)
{
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] && a->v6[2] == b->v6[2] &&
	       a->v6[3] == b->v6[3];
}

static __always_inline void xlb_addr_copy(union xlb_addr *to, const union xlb_addr *from)
{
	to->v6[0] = from->v6[0];
	to->v6[1] = from->v6[1];
	to->v6[2] = from->v6[2];
	to->v6[3] = from->v6[3];
}

#endif /* XLB_COMMON_H */
