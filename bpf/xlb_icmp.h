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
 * (the quote is too short to verify it, and no stack does). Full-NAT flows
 * have both ends translated, so both quoted endpoints are, and the error to a
 * backend comes from this node's source address and port's point of view
 * (xlb_icmp_fnat_*). Rare path: built on load/store helpers, one
 * implementation for XDP and TC.
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

/* The flow key of the quoted packet's other direction: whose entry names its flow. */
static __always_inline void xlb_inner_reverse(struct xlb_flow_key *k, const struct xlb_inner *in,
					      __u8 family, __u8 dir)
{
	__builtin_memset(k, 0, sizeof(*k));
	xlb_addr_copy(&k->saddr, &in->daddr);
	xlb_addr_copy(&k->daddr, &in->saddr);
	k->sport = in->dport;
	k->dport = in->sport;
	k->proto = in->proto;
	k->family = family;
	k->dir = dir;
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
		oaddr_off =
		    outer_dst ? offsetof(struct ipv6hdr, daddr) : offsetof(struct ipv6hdr, saddr);
		iaddr_off =
		    inner_dst ? offsetof(struct ipv6hdr, daddr) : offsetof(struct ipv6hdr, saddr);
	} else {
		oaddr_off =
		    outer_dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr);
		iaddr_off =
		    inner_dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr);
	}
	if (outer_new) {
		d = xlb_csum_diff_addr(outer_old, outer_new, v6);
		if (xlb_store(ctx, hook, p->l3_off + oaddr_off, outer_new, alen))
			return -1;
		if (v6)
			d_icmp = xlb_csum_add(d_icmp, d);
		else if (xlb_csum_fix(ctx, hook, p->l3_off + offsetof(struct iphdr, check), d,
				      NULL))
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

/*
 * What to rewrite in an error: step 1 an outer address (destination or
 * source, or none) and a quoted endpoint; full-NAT flows, whose both ends
 * were translated, a step 2 with the outer source (or none) and the other
 * quoted endpoint. Built per case, applied in one place (xlb_icmp), so the
 * rewrite is inlined twice, not once per case.
 */
struct xlb_icmp_plan {
	union xlb_addr a1, a2;
	__be16 port1, port2;
	__u8 outer1; /* step 1 rewrites the outer address too */
	__u8 odst1;  /* ... the destination (else the source) */
	__u8 idst1;  /* step 1's quoted endpoint is the destination (else the source) */
	__u8 two;    /* there is a step 2 */
	__u8 outer2; /* step 2 rewrites the outer source to a2 */
	__u8 own;    /* the result has one of our addresses as a source: xlb_forward_own */
	__u8 orig;   /* about a client -> VIP flow (ICMP_ORIG), else its reply (ICMP_REPLY) */
};

/*
 * An error to a fullnat VIP about a reply we sent as the VIP (quoted: VIP ->
 * client): the backend saw that flow as backend -> this node's source, so
 * the quote becomes that, and the error goes to the backend. Only a recorded
 * flow can be named (its source port is nowhere else). 0, or -1: none.
 */
static __always_inline int xlb_icmp_fnat_orig(const struct xlb_pkt *p, const struct xlb_inner *in,
					      const struct xlb_flow_key *fk, __u32 now,
					      struct xlb_icmp_plan *pl)
{
	struct xlb_fnat_entry *oe = xlb_fnat_lookup(fk);
	struct xlb_backend *be = NULL;

	if (!oe || xlb_ct_backend(&oe->ct, now, &be) <= 0)
		return -1;
	xlb_addr_copy(&pl->a1, &be->addr);
	pl->port1 = be->port;
	pl->outer1 = xlb_addr_eq(&p->daddr, &in->saddr);
	pl->odst1 = 1;
	pl->idst1 = 0;
	xlb_addr_copy(&pl->a2, &oe->addr);
	pl->port2 = oe->port;
	pl->two = 1;
	pl->outer2 = 0;
	pl->own = 1;
	return 0;
}

/*
 * An error about a packet we sent to a backend from a full-NAT source
 * (quoted: source -> backend), from the backend or a router near it: it goes
 * to the client, quoting client -> VIP, from the VIP where the backend sent
 * it. 0, or -1 when the quote is no full-NAT flow's.
 */
static __always_inline int xlb_icmp_fnat_reply(const struct xlb_pkt *p, const struct xlb_inner *in,
					       __u32 now, struct xlb_icmp_plan *pl,
					       struct xlb_flow_key *rkp)
{
	struct xlb_fnat_entry *re;
	struct xlb_backend *be = NULL;
	struct xlb_vip_key *k;
	__u32 vid;

	xlb_inner_reverse(rkp, in, p->family, XLB_DIR_REPLY);
	re = xlb_fnat_lookup(rkp);
	if (!re || xlb_ct_backend(&re->ct, now, &be) <= 0)
		return -1;
	vid = be->vip_id;
	k = bpf_map_lookup_elem(&xlb_vip_keys, &vid);
	if (!k || !k->family)
		return -1;
	xlb_addr_copy(&pl->a1, &re->addr);
	pl->port1 = re->port;
	pl->outer1 = 1;
	pl->odst1 = 1;
	pl->idst1 = 0;
	xlb_addr_copy(&pl->a2, &k->addr);
	pl->port2 = k->port;
	pl->two = 1;
	pl->outer2 = xlb_addr_eq(&p->saddr, &in->daddr);
	pl->own = 1;
	return 0;
}

/* An error's working state, per CPU: the ICMP program's stack cannot hold it. */
struct xlb_icmp_scratch {
	struct xlb_inner in;
	struct xlb_flow_key fk, rk;
	struct xlb_vip_key vk;
	struct xlb_endpoint_key ek;
	struct xlb_icmp_plan pl;
	struct xlb_nh fresh;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_icmp_scratch);
	__uint(max_entries, 1);
} xlb_icmp_scratch SEC(".maps");

static __always_inline int xlb_icmp(void *ctx, const int hook, struct xlb_pkt *p,
				    struct xlb_stats *st)
{
	struct xlb_icmp_scratch *sc;
	struct xlb_inner *in;
	struct xlb_flow_key *fk;
	struct xlb_vip_key *vk;
	struct xlb_endpoint_key *ek;
	struct xlb_icmp_plan *pl;
	struct xlb_ct_entry *ct;
	struct xlb_vip *vip;
	__u32 bid = 0, vid = 0, now, zero = 0;

	if (!xlb_icmp_is_error(ctx, hook, p))
		return XLB_CNT_PASS_ICMP;
	sc = bpf_map_lookup_elem(&xlb_icmp_scratch, &zero);
	if (!sc)
		return XLB_CNT_DROP_INTERNAL;
	__builtin_memset(sc, 0, sizeof(*sc));
	in = &sc->in;
	fk = &sc->fk;
	vk = &sc->vk;
	ek = &sc->ek;
	pl = &sc->pl;
	if (xlb_icmp_inner(ctx, hook, p, in))
		return XLB_CNT_PASS_ICMP;
	now = xlb_now();

	/* A reply we sent as the VIP, quoted back to the VIP: the flow's backend must hear it. */
	xlb_addr_copy(&vk->addr, &in->saddr);
	vk->port = in->sport;
	vk->proto = in->proto;
	vk->family = p->family;
	vip = bpf_map_lookup_elem(&xlb_vips, vk);
	if (vip) {
		struct xlb_backend *be = NULL;

		xlb_inner_reverse(fk, in, p->family, XLB_DIR_ORIG);
		pl->orig = 1;
		if (vip->mode == XLB_MODE_FULLNAT) {
			if (xlb_icmp_fnat_orig(p, in, fk, now, pl))
				return XLB_CNT_PASS_ICMP;
		} else {
			ct = xlb_ct_lookup(fk);
			if (!ct || xlb_ct_backend(ct, now, &be) <= 0)
				be = NULL;
			if (!be && xlb_select(vip, fk, &bid, &be))
				return XLB_CNT_PASS_ICMP;
			xlb_addr_copy(&pl->a1, &be->addr);
			pl->port1 = be->port;
			pl->outer1 = xlb_addr_eq(&p->daddr, &in->saddr);
			pl->odst1 = 1;
		}
	} else if (!xlb_fnat_port(xlb_cfg(), in->sport) ||
		   xlb_icmp_fnat_reply(p, in, now, pl, &sc->rk)) {
		/* A packet we sent to a backend, quoted back to its client: restore the VIP. */
		xlb_addr_copy(&ek->addr, &in->daddr);
		ek->port = in->dport;
		ek->proto = in->proto;
		ek->family = p->family;
		if (!xlb_reply_flow(ek, &in->saddr, in->sport, now, p, 0, vk, &bid, &vid, xlb_cfg(),
				    st))
			return XLB_CNT_PASS_ICMP;
		xlb_addr_copy(&pl->a1, &vk->addr);
		pl->port1 = vk->port;
		pl->outer1 = xlb_addr_eq(&p->saddr, &in->daddr);
		pl->odst1 = 0;
		pl->idst1 = 1;
	}
	if (xlb_icmp_rewrite(ctx, hook, p, in, pl->odst1, pl->outer1 ? &pl->a1 : NULL, pl->idst1,
			     &pl->a1, pl->port1))
		return XLB_CNT_DROP_INTERNAL;
	if (pl->two && xlb_icmp_rewrite(ctx, hook, p, in, 0, pl->outer2 ? &pl->a2 : NULL,
					!pl->idst1, &pl->a2, pl->port2))
		return XLB_CNT_DROP_INTERNAL;
	st->c[pl->orig ? XLB_CNT_ICMP_ORIG : XLB_CNT_ICMP_REPLY]++;
	if (pl->own)
		return xlb_forward_own(ctx, hook, p, now, st, &sc->fresh);
	return xlb_forward(ctx, hook, p, now, st);
}

#endif /* XLB_ICMP_H */
