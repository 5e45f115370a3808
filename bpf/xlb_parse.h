/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet, one 802.1Q tag, IPv4 with options, IPv6 with up to
 * XLB_IPV6_EXT_MAX extension headers, then TCP, UDP or ICMP. Reads only, with a
 * bounds check before every access, and returns either 0 (go on) or the reason
 * that ends the packet's journey: anything not parseable is handed to the
 * kernel untouched, unless it is addressed to a VIP address, where it is dropped.
 */
#ifndef XLB_PARSE_H
#define XLB_PARSE_H

#include "xlb_common.h"
#include "xlb_maps.h"

/* Is the destination address one that carries VIPs (whatever the port)? */
static __always_inline int xlb_is_vip_addr(const struct xlb_pkt *p)
{
	struct xlb_addr_key k = {};

	xlb_addr_copy(&k.addr, &p->daddr);
	k.family = p->family;
	return bpf_map_lookup_elem(&xlb_vip_addrs, &k) != NULL;
}

static __always_inline int xlb_unparseable(const struct xlb_pkt *p)
{
	return xlb_is_vip_addr(p) ? XLB_CNT_DROP_MALFORMED_VIP : XLB_CNT_PASS_TRUNCATED;
}

static __always_inline int xlb_parse_l4(void *data, void *data_end, struct xlb_pkt *p, __u32 off)
{
	__u32 l4_len = p->l3_len - (off - p->l3_off);

	if (off > XLB_L2_MAX + 40 + 2 * 2048)
		return xlb_unparseable(p);
	p->l4_off = off;
	if (p->proto == XLB_PROTO_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end || th->doff < 5 || th->doff * 4 > l4_len)
			return xlb_unparseable(p);
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return 0;
	}
	if (p->proto == XLB_PROTO_UDP) {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end || l4_len < sizeof(*uh))
			return xlb_unparseable(p);
		p->sport = uh->source;
		p->dport = uh->dest;
		return 0;
	}
	if ((p->family == XLB_AF_INET && p->proto == IPPROTO_ICMP_) ||
	    (p->family == XLB_AF_INET6 && p->proto == IPPROTO_ICMPV6_)) {
		if (data + off + 8 > data_end || l4_len < 8)
			return xlb_unparseable(p);
		return 0;
	}
	return XLB_CNT_PASS_PROTO;
}

static __always_inline int xlb_parse_v4(void *data, void *data_end, struct xlb_pkt *p, __u32 l3)
{
	struct iphdr *ip = data + l3;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > data_end)
		return XLB_CNT_PASS_TRUNCATED;
	p->family = XLB_AF_INET;
	p->saddr.v4 = ip->saddr;
	p->daddr.v4 = ip->daddr;
	p->proto = ip->protocol;
	p->ttl = ip->ttl;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || hlen < sizeof(*ip) || tot < hlen || tot > p->frame_len - l3)
		return xlb_unparseable(p);
	p->l3_len = tot;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		p->frag = 1;
		return xlb_is_vip_addr(p) ? XLB_CNT_DROP_FRAGMENT : XLB_CNT_PASS_FRAGMENT;
	}
	return xlb_parse_l4(data, data_end, p, l3 + hlen);
}

static __always_inline int xlb_parse_v6(void *data, void *data_end, struct xlb_pkt *p, __u32 l3)
{
	struct ipv6hdr *ip6 = data + l3;
	__u32 off = l3 + sizeof(*ip6);
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return XLB_CNT_PASS_TRUNCATED;
	p->family = XLB_AF_INET6;
	__builtin_memcpy(&p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(&p->daddr, &ip6->daddr, 16);
	p->ttl = ip6->hop_limit;
	p->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (ip6->version != 6 || p->l3_len > p->frame_len - l3)
		return xlb_unparseable(p);
	nh = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < XLB_IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *eh = data + off;

		if (nh == IPV6_NEXTHDR_FRAGMENT) {
			p->frag = 1;
			p->proto = nh;
			return xlb_is_vip_addr(p) ? XLB_CNT_DROP_FRAGMENT : XLB_CNT_PASS_FRAGMENT;
		}
		if (nh != IPV6_NEXTHDR_HOP && nh != IPV6_NEXTHDR_ROUTING && nh != IPV6_NEXTHDR_DEST)
			break;
		if ((void *)(eh + 1) > data_end)
			return xlb_unparseable(p);
		nh = eh->nexthdr;
		off += (eh->hdrlen + 1) * 8;
	}
	p->proto = nh;
	if (nh == IPV6_NEXTHDR_HOP || nh == IPV6_NEXTHDR_ROUTING || nh == IPV6_NEXTHDR_DEST ||
	    nh == IPV6_NEXTHDR_FRAGMENT)
		return xlb_is_vip_addr(p) ? XLB_CNT_DROP_MALFORMED_VIP : XLB_CNT_PASS_PROTO;
	if (off - l3 > p->l3_len)
		return xlb_unparseable(p);
	return xlb_parse_l4(data, data_end, p, off);
}

static __always_inline int xlb_parse(void *ctx, const int hook, struct xlb_pkt *p,
				     struct xlb_stats *st)
{
	void *data = xlb_data(ctx, hook);
	void *data_end = xlb_data_end(ctx, hook);
	struct ethhdr *eth = data;
	__u32 l3 = ETH_HLEN;
	__be16 proto;

	p->frame_len = xlb_frame_len(ctx, hook);
	if ((void *)(eth + 1) > data_end)
		return XLB_CNT_PASS_TRUNCATED;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = data + ETH_HLEN;

		if ((void *)(vh + 1) > data_end)
			return XLB_CNT_PASS_TRUNCATED;
		proto = vh->h_vlan_encapsulated_proto;
		l3 += VLAN_HLEN;
		if (st) /* NULL: a second look at a packet already counted */
			st->c[XLB_CNT_VLAN]++;
	}
	p->l3_off = l3;
	if (proto == bpf_htons(ETH_P_IP))
		return xlb_parse_v4(data, data_end, p, l3);
	if (proto == bpf_htons(ETH_P_IPV6))
		return xlb_parse_v6(data, data_end, p, l3);
	return XLB_CNT_PASS_NOT_IP;
}

#endif /* XLB_PARSE_H */
