/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about translated flows. Path MTU discovery breaks unless
 * "fragmentation needed" / "packet too big" reach the host that sent the big
 * packet, so: an error addressed to a VIP that quotes a VIP flow (a router
 * complaining about a reply we sent as the VIP) goes to the backend that owns
 * the flow, with the outer destination and the quoted source rewritten; an
 * error about a packet we sent to a backend (the backend or a router next to
 * it complaining) goes to the client with the quoted destination, and the
 * outer source if it is the backend itself, turned back into the VIP. Quoted
 * IPv4 headers get their checksum fixed; the quoted L4 checksum is left alone
 * (the quote is too short to verify it, and no stack does). Rare path: built
 * on load/store helpers, one implementation for XDP and TC.
 */
#ifndef XLB_ICMP_H
#define XLB_ICMP_H

#include "xlb_lb.h"

struct xlb_inner {
	union xlb_addr saddr;
	union xlb_addr daddr;
	__u32 l3;
	__u32 l4;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

static __always_inline int xlb_icmp_is_error(void *ctx, const int hook, const struct xlb_pkt *p)
{
	__u8 type;

	if (xlb_load(ctx, hook, p->l4_off, &type, 1))
		return 0;
	if (p->family == XLB_AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED;
}

static __always_inline int xlb_icmp_inner(void *ctx, const int hook, const struct xlb_pkt *p,
					  struct xlb_inner *in)
{
	__be16 ports[2];

	in->l3 = p->l4_off + 8;
	if (p->family == XLB_AF_INET) {
		struct iphdr ip;

		if (xlb_load(ctx, hook, in->l3, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
			return -1;
		in->proto = ip.protocol;
		in->saddr.v4 = ip.saddr;
		in->daddr.v4 = ip.daddr;
		in->l4 = in->l3 + ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (xlb_load(ctx, hook, in->l3, &ip6, sizeof(ip6)) || ip6.version != 6)
			return -1;
		in->proto = ip6.nexthdr;
		__builtin_memcpy(&in->saddr, &ip6.saddr, 16);
		__builtin_memcpy(&in->daddr, &ip6.daddr, 16);
		in->l4 = in->l3 + sizeof(ip6);
	}
	if (in->proto != XLB_PROTO_TCP && in->proto != XLB_PROTO_UDP)
		return -1;
	if (xlb_load(ctx, hook, in->l4, ports, sizeof(ports)))
		return -1;
	in->sport = ports[0];
	in->dport = ports[1];
	return 0;
}

/* Reads a 16-bit checksum at off, applies diff, writes it back. Returns the field's own diff. */
static __always_inline int xlb_csum_fix(void *ctx, const int hook, __u32 off, __u32 diff,
					__u32 *field_diff)
{
	__u16 old, new;

	if (xlb_load(ctx, hook, off, &old, 2))
		return -1;
	new = xlb_csum_apply(old, diff);
	if (field_diff)
		*field_diff = xlb_csum_diff2(old, new);
	return xlb_store(ctx, hook, off, &new, 2) ? -1 : 0;
}

/*
 * Rewrites one address of the outer header (the pseudo header of ICMPv6) and
 * one address+port of the quoted header, then the checksums that cover them.
 */
static __always_inline int xlb_icmp_rewrite(void *ctx, const int hook, struct xlb_pkt *p,
					    const struct xlb_inner *in, int outer_dst,
					    const union xlb_addr *outer_new, int inner_dst,
					    const union xlb_addr *inner_new, __be16 port_new)
{
	int v6 = p->family == XLB_AF_INET6;
	union xlb_addr *outer_old = outer_dst ? &p->daddr : &p->saddr;
	const union xlb_addr *inner_old = inner_dst ? &in->daddr : &in->saddr;
	__u32 alen = v6 ? 16 : 4, d, d_icmp = 0, d_field;
	__u32 oaddr_off, iaddr_off;

	if (v6) {
		oaddr_off = outer_dst ? offsetof(struct ipv6hdr, daddr) : offsetof(struct ipv6hdr, saddr);
		iaddr_off = inner_dst ? offsetof(struct ipv6hdr, daddr) : offsetof(struct ipv6hdr, saddr);
	} else {
		oaddr_off = outer_dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr);
		iaddr_off = inner_dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr);
	}
	if (outer_new) {
		d = xlb_csum_diff_addr(outer_old, outer_new, v6);
		if (xlb_store(ctx, hook, p->l3_off + oaddr_off, outer_new, alen))
			return -1;
		if (v6)
			d_icmp = xlb_csum_add(d_icmp, d);
		else if (xlb_csum_fix(ctx, hook, p->l3_off + offsetof(struct iphdr, check), d, NULL))
			return -1;
		xlb_addr_copy(outer_old, outer_new);
	}
	d = xlb_csum_diff_addr(inner_old, inner_new, v6);
	if (xlb_store(ctx, hook, in->l3 + iaddr_off, inner_new, alen))
		return -1;
	d_icmp = xlb_csum_add(d_icmp, d);
	if (!v6) {
		if (xlb_csum_fix(ctx, hook, in->l3 + offsetof(struct iphdr, check), d, &d_field))
			return -1;
		d_icmp = xlb_csum_add(d_icmp, d_field);
	}
	d_icmp = xlb_csum_add(d_icmp, xlb_csum_diff2(inner_dst ? in->dport : in->sport, port_new));
	if (xlb_store(ctx, hook, in->l4 + (inner_dst ? 2 : 0), &port_new, 2))
		return -1;
	return xlb_csum_fix(ctx, hook, p->l4_off + 2, d_icmp, NULL);
}

static __always_inline int xlb_icmp(void *ctx, const int hook, struct xlb_pkt *p,
				    struct xlb_stats *st)
{
	struct xlb_vip_key vk = {};
	struct xlb_endpoint_key ek = {};
	struct xlb_inner in = {};
	struct xlb_flow_key fk = {};
	struct xlb_ct_entry *ct;
	struct xlb_vip *vip;
	union xlb_addr na;
	__u32 bid = 0, vid = 0, now;
	__be16 np;

	if (!xlb_icmp_is_error(ctx, hook, p) || xlb_icmp_inner(ctx, hook, p, &in))
		return XLB_CNT_PASS_ICMP;
	now = xlb_now();

	/* A reply we sent as the VIP, quoted back to the VIP: the flow's backend must hear it. */
	xlb_addr_copy(&vk.addr, &in.saddr);
	vk.port = in.sport;
	vk.proto = in.proto;
	vk.family = p->family;
	vip = bpf_map_lookup_elem(&xlb_vips, &vk);
	if (vip) {
		struct xlb_backend *be = NULL;

		xlb_addr_copy(&fk.saddr, &in.daddr);
		xlb_addr_copy(&fk.daddr, &in.saddr);
		fk.sport = in.dport;
		fk.dport = in.sport;
		fk.proto = in.proto;
		fk.family = p->family;
		ct = xlb_ct_lookup(&fk);
		if (!ct || xlb_ct_backend(ct, now, &be) <= 0)
			be = NULL;
		if (!be && xlb_select(vip, &fk, &bid, &be))
			return XLB_CNT_PASS_ICMP;
		xlb_addr_copy(&na, &be->addr);
		np = be->port;
		if (xlb_icmp_rewrite(ctx, hook, p, &in, 1,
				     xlb_addr_eq(&p->daddr, &in.saddr) ? &na : NULL, 0, &na, np))
			return XLB_CNT_DROP_INTERNAL;
		st->c[XLB_CNT_ICMP_ORIG]++;
		return xlb_forward(ctx, hook, p, now, st);
	}

	/* A packet we sent to a backend, quoted back to its client: restore the VIP. */
	xlb_addr_copy(&ek.addr, &in.daddr);
	ek.port = in.dport;
	ek.proto = in.proto;
	ek.family = p->family;
	if (!xlb_reply_flow(&ek, &in.saddr, in.sport, now, p, 0, &vk, &bid, &vid, xlb_cfg(), st))
		return XLB_CNT_PASS_ICMP;
	xlb_addr_copy(&na, &vk.addr);
	np = vk.port;
	if (xlb_icmp_rewrite(ctx, hook, p, &in, 0,
			     xlb_addr_eq(&p->saddr, &in.daddr) ? &na : NULL, 1, &na, np))
		return XLB_CNT_DROP_INTERNAL;
	st->c[XLB_CNT_ICMP_REPLY]++;
	return xlb_forward(ctx, hook, p, now, st);
}

#endif /* XLB_ICMP_H */
