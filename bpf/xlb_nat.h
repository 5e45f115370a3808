/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address translation and forwarding. The rewrite exists twice because the
 * hooks differ where it matters: XDP writes the frame directly and its
 * checksums are always complete; TC writes through helpers, which keep
 * skb->csum right and know CHECKSUM_PARTIAL (locally sent TCP/UDP carries only
 * the pseudo-header sum), and which never force a copy of a cloned skb the
 * way a direct write would. Forwarding asks the kernel's FIB for the next hop
 * and keeps its answer per CPU and destination (xlb_nh_cache).
 */
#ifndef XLB_NAT_H
#define XLB_NAT_H

#include "xlb_common.h"
#include "xlb_csum.h"
#include "xlb_maps.h"
#include "xlb_clock.h"

#define XLB_L4_OFF_MAX (XLB_L2_MAX + 40 + 2 * 2048)

enum { XLB_NAT_SRC = 0, XLB_NAT_DST = 1 };

/* Rewrites the source or destination address and port of the packet, XDP flavour. */
static __always_inline int xlb_nat_xdp(struct xdp_md *ctx, const struct xlb_pkt *p, const int dst,
				       const union xlb_addr *na, __be16 np)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3 = p->l3_off, l4 = p->l4_off;
	__u32 d_addr, d_port;

	if (l3 > XLB_L2_MAX || l4 > XLB_L4_OFF_MAX)
		return -1;
	if (p->family == XLB_AF_INET) {
		struct iphdr *ip = data + l3;
		__be32 *a;

		if ((void *)(ip + 1) > data_end)
			return -1;
		a = dst ? &ip->daddr : &ip->saddr;
		d_addr = xlb_csum_diff4(*a, na->v4);
		*a = na->v4;
		ip->check = xlb_csum_apply(ip->check, d_addr);
	} else {
		struct ipv6hdr *ip6 = data + l3;
		union xlb_addr *a;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		a = dst ? (void *)&ip6->daddr : (void *)&ip6->saddr;
		d_addr = xlb_csum_diff_addr(a, na, 1);
		xlb_addr_copy(a, na);
	}
	if (p->proto == XLB_PROTO_TCP) {
		struct tcphdr *th = data + l4;
		__be16 *port;

		if ((void *)(th + 1) > data_end)
			return -1;
		port = dst ? &th->dest : &th->source;
		d_port = xlb_csum_diff2(*port, np);
		*port = np;
		th->check = xlb_csum_apply(th->check, xlb_csum_add(d_addr, d_port));
	} else {
		struct udphdr *uh = data + l4;
		__be16 *port;

		if ((void *)(uh + 1) > data_end)
			return -1;
		port = dst ? &uh->dest : &uh->source;
		d_port = xlb_csum_diff2(*port, np);
		*port = np;
		/* A zero UDP checksum means "none" and stays zero. */
		if (uh->check)
			uh->check = xlb_csum_apply_udp(uh->check, xlb_csum_add(d_addr, d_port));
	}
	return 0;
}

/* The same rewrite, TC flavour: helpers only, so no direct-write prologue on every skb. */
static __always_inline int xlb_nat_tc(struct __sk_buff *skb, const struct xlb_pkt *p, const int dst,
				      const union xlb_addr *na, __be16 np)
{
	const union xlb_addr *old = dst ? &p->daddr : &p->saddr;
	__be16 oport = dst ? p->dport : p->sport;
	__u32 l3 = p->l3_off, l4 = p->l4_off;
	__u32 csum_off, flags = BPF_F_PSEUDO_HDR;
	int v4 = p->family == XLB_AF_INET;

	if (p->proto == XLB_PROTO_TCP) {
		csum_off = l4 + offsetof(struct tcphdr, check);
	} else {
		csum_off = l4 + offsetof(struct udphdr, check);
		flags |= BPF_F_MARK_MANGLED_0;
	}
	if (v4) {
		if (bpf_l4_csum_replace(skb, csum_off, old->v4, na->v4, flags | 4))
			return -1;
		if (bpf_l3_csum_replace(skb, l3 + offsetof(struct iphdr, check), old->v4, na->v4,
					4))
			return -1;
		if (bpf_skb_store_bytes(
			skb,
			l3 + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr)),
			&na->v4, 4, 0))
			return -1;
	} else {
		__s64 diff = bpf_csum_diff((__be32 *)old, 16, (__be32 *)na, 16, 0);

		if (diff < 0 || bpf_l4_csum_replace(skb, csum_off, 0, diff, flags))
			return -1;
		if (bpf_skb_store_bytes(skb,
					l3 + (dst ? offsetof(struct ipv6hdr, daddr)
						  : offsetof(struct ipv6hdr, saddr)),
					na, 16, 0))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, csum_off, oport, np, (flags & BPF_F_MARK_MANGLED_0) | 2))
		return -1;
	if (bpf_skb_store_bytes(skb, l4 + (dst ? 2 : 0), &np, 2, 0))
		return -1;
	return 0;
}

static __always_inline int xlb_nat(void *ctx, const int hook, struct xlb_pkt *p, const int dst,
				   const union xlb_addr *na, __be16 np)
{
	int err;

	if (hook == XLB_HOOK_XDP)
		err = xlb_nat_xdp(ctx, p, dst, na, np);
	else
		err = xlb_nat_tc(ctx, p, dst, na, np);
	if (err)
		return err;
	if (dst) {
		xlb_addr_copy(&p->daddr, na);
		p->dport = np;
	} else {
		xlb_addr_copy(&p->saddr, na);
		p->sport = np;
	}
	return 0;
}

/* TTL / hop limit minus one on an skb, IPv4 checksum included (the caller checked ttl > 1). */
static __always_inline int xlb_ttl_dec_tc(void *ctx, const struct xlb_pkt *p)
{
	__u32 l3 = p->l3_off;

	if (p->family == XLB_AF_INET) {
		__u8 w[2] = {p->ttl - 1, p->proto};
		__u16 old = ((__u16)p->proto << 8) | p->ttl;

		if (bpf_l3_csum_replace(ctx, l3 + offsetof(struct iphdr, check), old, *(__u16 *)w,
					2))
			return -1;
		return bpf_skb_store_bytes(ctx, l3 + offsetof(struct iphdr, ttl), w, 1, 0) ? -1 : 0;
	} else {
		__u8 hl = p->ttl - 1;

		return bpf_skb_store_bytes(ctx, l3 + offsetof(struct ipv6hdr, hop_limit), &hl, 1, 0)
			   ? -1
			   : 0;
	}
}

/* TTL / hop limit minus one in an XDP frame, IPv4 checksum included: 0, or -1. */
static __always_inline int xlb_ttl_dec_xdp(void *ctx, const struct xlb_pkt *p)
{
	void *data = xlb_data(ctx, XLB_HOOK_XDP), *data_end = xlb_data_end(ctx, XLB_HOOK_XDP);
	__u32 l3 = p->l3_off;

	if (l3 > XLB_L2_MAX)
		return -1;
	if (p->family == XLB_AF_INET) {
		struct iphdr *ip = data + l3;
		__u16 *w, old, new;

		if ((void *)(ip + 1) > data_end)
			return -1;
		/*
		 * Decrement through the 16-bit word the checksum diff reads: after a
		 * __u8 store to ip->ttl, clang may assume (strict aliasing) that *w
		 * still holds old, and the checksum was left unchanged. The TTL is
		 * the word's first byte: its high byte in network order.
		 */
		w = (__u16 *)&ip->ttl;
		old = *w;
		new = bpf_htons(bpf_ntohs(old) - 0x100);
		*w = new;
		ip->check = xlb_csum_apply(ip->check, xlb_csum_diff2(old, new));
	} else {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ip6->hop_limit--;
	}
	return 0;
}

/*
 * Sets the next hop's MACs and, when forwarding (not for packets this host
 * sends), decrements the TTL as any router would. Returns -1 when the TTL is
 * spent, so the kernel can answer with time exceeded.
 */
static __always_inline int xlb_fwd_rewrite(void *ctx, const int hook, const struct xlb_pkt *p,
					   const struct xlb_nh *nh)
{
	__u32 l3 = p->l3_off;
	__u8 macs[12];

	if (hook != XLB_HOOK_TC_EGRESS && p->ttl <= 1)
		return -1;
	__builtin_memcpy(macs, nh->dmac, 6);
	__builtin_memcpy(macs + 6, nh->smac, 6);
	if (hook == XLB_HOOK_XDP) {
		void *data = xlb_data(ctx, hook), *data_end = xlb_data_end(ctx, hook);

		if (data + 12 > data_end || l3 > XLB_L2_MAX)
			return -1;
		__builtin_memcpy(data, macs, 12);
		return xlb_ttl_dec_xdp(ctx, p);
	}
	if (bpf_skb_store_bytes(ctx, 0, macs, 12, 0))
		return -1;
	if (hook == XLB_HOOK_TC_EGRESS)
		return 0;
	return xlb_ttl_dec_tc(ctx, p);
}

#define XLB_NH_TTL_TICKS ((__u32)((XLB_NH_TTL_MS * 1000000ULL) >> XLB_TICK_SHIFT))

/* Asks the FIB for the next hop; on success fills nh. Returns 0 or the reason to stop. */
static __always_inline int xlb_fib(void *ctx, const int hook, struct xlb_pkt *p, struct xlb_nh *nh,
				   __u32 now)
{
	struct bpf_fib_lookup *fp;
	__u32 fib_in, zero = 0;
	long rc;

	/* Off the stack: the inlined main path has no 64 bytes to spare (see xlb_fib_scratch). */
	fp = bpf_map_lookup_elem(&xlb_fib_scratch, &zero);
	if (!fp)
		return XLB_CNT_PASS_FIB;
	__builtin_memset(fp, 0, sizeof(*fp));

	fp->l4_protocol = p->proto;
	fp->sport = p->sport;
	fp->dport = p->dport;
	fp->tot_len = p->l3_len;
	fp->ifindex = fib_in = xlb_ifindex(ctx, hook);
	if (p->family == XLB_AF_INET) {
		fp->family = AF_INET_;
		fp->ipv4_src = p->saddr.v4;
		fp->ipv4_dst = p->daddr.v4;
	} else {
		fp->family = AF_INET6_;
		__builtin_memcpy(fp->ipv6_src, &p->saddr, 16);
		__builtin_memcpy(fp->ipv6_dst, &p->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, fp, sizeof(*fp), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS: {
		__u32 out = fp->ifindex;
		struct xlb_if_addr *ia = bpf_map_lookup_elem(&xlb_if_addrs, &out);

		nh->stamp = now ? now : 1; /* 0 means "none" */
		nh->ifindex = out;
		nh->flags = 0;
		if (ia && out != fib_in && (ia->flags & XLB_IF_F_NO_XDP_XMIT))
			nh->flags = XLB_NH_F_HANDOFF;
		if (ia && out == fib_in && (ia->flags & XLB_IF_F_TX_REDIRECT))
			nh->flags = XLB_NH_F_TX_REDIRECT;
		/* tot_len was checked against the route's MTU (the device's without one). */
		nh->len_ok = p->l3_len;
		__builtin_memcpy(nh->dmac, fp->dmac, 6);
		__builtin_memcpy(nh->smac, fp->smac, 6);
		return 0;
	}
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		if (p->defer_neigh) {
			p->oif = fp->ifindex;
			return XLB_CNT_PASS_NO_NEIGH;
		}
		if (hook == XLB_HOOK_XDP)
			return XLB_CNT_PASS_NO_NEIGH;
		/*
		 * TC can let the kernel resolve the neighbour and queue the packet
		 * meanwhile. bpf_redirect_neigh skips the kernel's forwarding path and
		 * its TTL decrement, so a forwarded packet loses its hop here.
		 */
		if (hook == XLB_HOOK_TC_INGRESS && (p->ttl <= 1 || xlb_ttl_dec_tc(ctx, p)))
			return XLB_CNT_PASS_FIB;
		p->act = bpf_redirect_neigh(fp->ifindex, NULL, 0, 0);
		return XLB_CNT_FWD_REDIRECT;
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		return XLB_CNT_PASS_LOCAL;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		if (p->defer_neigh)
			p->mtu = fp->mtu_result;
		return XLB_CNT_PASS_FIB;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return XLB_CNT_DROP_FIB;
	default:
		return XLB_CNT_PASS_FIB;
	}
}

/*
 * The cache slot of a destination: a multiplicative hash of its address, so
 * flows to one backend (or replies to one client) share their slot.
 */
static __always_inline struct xlb_nh_slot *xlb_nh_slot_of(const struct xlb_pkt *p)
{
	__u32 x = p->daddr.v6[0], key;

	if (p->family == XLB_AF_INET6)
		x ^= p->daddr.v6[1] ^ p->daddr.v6[2] ^ p->daddr.v6[3];
	key = (x * 0x9e3779b1u) >> (32 - XLB_NH_CACHE_BITS);
	return bpf_map_lookup_elem(&xlb_nh_cache, &key);
}

/*
 * A cached next hop is used while it is for this destination and input
 * interface, younger than XLB_NH_TTL_MS, and approved for a packet this big:
 * the FIB checked an earlier, perhaps smaller, packet against the route's MTU
 * (the device's when the route has none). A bigger one goes back to the FIB,
 * whose FRAG_NEEDED leaves it to the kernel (fragment, or "fragmentation
 * needed" to the sender), where redirected it would be dropped without a word.
 */
static __always_inline bool xlb_nh_fresh(const struct xlb_nh_slot *s, const struct xlb_pkt *p,
					 __u32 ifindex, __u32 now)
{
	return s->nh.stamp && s->family == p->family && s->ifindex_in == ifindex &&
	       xlb_addr_eq(&s->dst, &p->daddr) && now - s->nh.stamp <= XLB_NH_TTL_TICKS &&
	       p->l3_len <= s->nh.len_ok;
}

/*
 * The next hop towards the packet's (new) destination, through the per-CPU
 * next-hop cache: the cached one, or the FIB's answer in *fresh. NULL when
 * the FIB gave none, with the reason in *r (the packet may then be on its way
 * already: TC's bpf_redirect_neigh).
 */
static __always_inline const struct xlb_nh *xlb_next_hop(void *ctx, const int hook,
							 struct xlb_pkt *p, __u32 now,
							 struct xlb_stats *st, struct xlb_nh *fresh,
							 int *r)
{
	__u32 ifindex = xlb_ifindex(ctx, hook);
	struct xlb_nh_slot *s = xlb_nh_slot_of(p);

	if (s && xlb_nh_fresh(s, p, ifindex, now))
		return &s->nh;
	st->c[XLB_CNT_NH_MISS]++;
	*r = xlb_fib(ctx, hook, p, fresh, now);
	if (*r)
		return NULL;
	if (s) {
		xlb_addr_copy(&s->dst, &p->daddr);
		s->family = p->family;
		s->ifindex_in = ifindex;
		s->nh = *fresh;
	}
	return fresh;
}

/*
 * XDP's way to a device it cannot transmit into: the packet, ready to go,
 * passes to the stack with where it goes noted by its tuple (xlb_handoff),
 * and xlb_tc_handoff on this interface's TC ingress redirects it before the
 * stack sees it (which would drop a packet from one of this node's own
 * addresses as a martian, and forward others a second time).
 */
static __always_inline int xlb_handoff_note(const struct xlb_pkt *p, __u32 ifindex, __u32 flags)
{
	struct xlb_handoff *h = bpf_map_lookup_elem(&xlb_handoff, &p->t), v = {};

	if (!xlb_handoff_used)
		xlb_handoff_used = 1;
	if (h && h->ifindex == ifindex && h->flags == flags)
		return XLB_CNT_FWD_HANDOFF;
	v.ifindex = ifindex;
	v.flags = flags;
	if (bpf_map_update_elem(&xlb_handoff, &p->t, &v, BPF_ANY))
		return XLB_CNT_PASS_FIB;
	return XLB_CNT_FWD_HANDOFF;
}

/*
 * A translated packet whose next hop on oif has no neighbour entry yet, when
 * the kernel must not forward it (its source is one of this node's own, a
 * martian to the stack): TC resolves the neighbour with bpf_redirect_neigh,
 * XDP through the handoff. The TTL goes down here, as forwarding would.
 */
static __always_inline int xlb_send_neigh(void *ctx, const int hook, struct xlb_pkt *p, __u32 oif)
{
	if (hook != XLB_HOOK_TC_EGRESS && p->ttl <= 1)
		return XLB_CNT_PASS_FIB;
	if (hook == XLB_HOOK_XDP) {
		if (xlb_ttl_dec_xdp(ctx, p))
			return XLB_CNT_PASS_FIB;
		return xlb_handoff_note(p, oif, XLB_HANDOFF_F_NEIGH);
	}
	if (hook == XLB_HOOK_TC_INGRESS && xlb_ttl_dec_tc(ctx, p))
		return XLB_CNT_PASS_FIB;
	p->act = bpf_redirect_neigh(oif, NULL, 0, 0);
	return XLB_CNT_FWD_REDIRECT;
}

/* Sends the packet to next hop nh. Returns the reason; p->act holds the return value. */
static __always_inline int xlb_send(void *ctx, const int hook, struct xlb_pkt *p,
				    const struct xlb_nh *nh)
{
	__u32 ifindex = xlb_ifindex(ctx, hook);

	if (xlb_fwd_rewrite(ctx, hook, p, nh))
		return XLB_CNT_PASS_FIB;
	if (hook == XLB_HOOK_XDP && (nh->flags & XLB_NH_F_HANDOFF))
		return xlb_handoff_note(p, nh->ifindex, 0);
	if (hook == XLB_HOOK_XDP && nh->ifindex == ifindex && !(nh->flags & XLB_NH_F_TX_REDIRECT)) {
		p->act = XDP_TX;
		return XLB_CNT_FWD_TX;
	}
	p->act = bpf_redirect(nh->ifindex, 0);
	return nh->ifindex == ifindex ? XLB_CNT_FWD_TX : XLB_CNT_FWD_REDIRECT;
}

/* Sends a translated packet towards its (new) destination. Returns the reason. */
static __always_inline int xlb_forward(void *ctx, const int hook, struct xlb_pkt *p, __u32 now,
				       struct xlb_stats *st)
{
	const struct xlb_nh *nh;
	struct xlb_nh fresh;
	int r = 0;

	nh = xlb_next_hop(ctx, hook, p, now, st, &fresh, &r);
	return nh ? xlb_send(ctx, hook, p, nh) : r;
}

/*
 * xlb_forward for a packet the kernel must not be given to forward (a
 * full-NAT source is this node's own address): an unresolved neighbour is
 * resolved on the way out (xlb_send_neigh) instead. fresh: room for the
 * FIB's answer.
 */
static __always_inline int xlb_forward_own(void *ctx, const int hook, struct xlb_pkt *p, __u32 now,
					   struct xlb_stats *st, struct xlb_nh *fresh)
{
	const struct xlb_nh *nh;
	int r = 0;

	p->defer_neigh = 1;
	nh = xlb_next_hop(ctx, hook, p, now, st, fresh, &r);
	p->defer_neigh = 0;
	if (nh)
		return xlb_send(ctx, hook, p, nh);
	if (r == XLB_CNT_PASS_NO_NEIGH && p->oif)
		return xlb_send_neigh(ctx, hook, p, p->oif);
	return r;
}

#endif /* XLB_NAT_H */
