/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Answers for a VIP that has no backend able to take a new flow: TCP gets a
 * RST (RFC 793 rules for seq/ack), UDP gets ICMP port unreachable (ICMPv6 for
 * IPv6) quoting the offending header, so a client fails at once with
 * "connection refused" instead of timing out. The answer is built in place of
 * the packet, keeping its L2 header (and VLAN tag) with the MACs swapped, and
 * goes back where the packet came from. Built with load/store helpers, so one
 * implementation serves XDP and TC; this path is rare and not speed-critical.
 */
#ifndef XLB_REJECT_H
#define XLB_REJECT_H

#include "xlb_common.h"
#include "xlb_csum.h"
#include "xlb_maps.h"

#define XLB_ANSWER_TTL 64

static __always_inline int xlb_resize_tail(void *ctx, const int hook, __u32 cur, __u32 want)
{
	if (hook == XLB_HOOK_XDP)
		return bpf_xdp_adjust_tail(ctx, (int)want - (int)cur);
	return bpf_skb_change_tail(ctx, want, 0);
}

static __always_inline int xlb_grow_head(void *ctx, const int hook, __u32 delta)
{
	if (hook == XLB_HOOK_XDP)
		return bpf_xdp_adjust_head(ctx, -(int)delta);
	return bpf_skb_change_head(ctx, delta, 0);
}

/* One's-complement sum of a buffer whose length is a multiple of 4. */
static __always_inline __u32 xlb_csum_buf(void *buf, __u32 len, __u32 seed)
{
	__s64 s = bpf_csum_diff(NULL, 0, buf, len, seed);

	return s < 0 ? 0 : (__u32)s;
}

static __always_inline __u32 xlb_pseudo_sum(const struct xlb_pkt *p, const union xlb_addr *src,
					     const union xlb_addr *dst, __u8 proto, __u32 len)
{
	__u32 s;

	if (p->family == XLB_AF_INET)
		return xlb_csum_add(xlb_csum_add(src->v4, dst->v4),
				    xlb_csum_add(bpf_htons(proto), bpf_htons(len)));
	/*
	 * "{}" would initialize only the union's first member (v4): clang takes
	 * v6[1..3] as undefined and drops them from the sum. Zero all four words.
	 */
	s = xlb_csum_diff_addr(&(union xlb_addr){ .v6 = { 0, 0, 0, 0 } }, src, 1);
	s = xlb_csum_add(s, xlb_csum_diff_addr(&(union xlb_addr){ .v6 = { 0, 0, 0, 0 } }, dst, 1));
	return xlb_csum_add(s, xlb_csum_add(bpf_htonl(len), bpf_htonl(proto)));
}

/* Copies the L2 header to the frame start with source and destination MAC swapped. */
static __always_inline int xlb_answer_l2(void *ctx, const int hook, const struct xlb_pkt *p,
					 __u32 from)
{
	__u8 l2[XLB_L2_MAX], mac[6];
	__u32 len = p->l3_off;

	if (len != ETH_HLEN && len != XLB_L2_MAX)
		return -1;
	if (xlb_load(ctx, hook, from, l2, len))
		return -1;
	__builtin_memcpy(mac, l2, 6);
	__builtin_memcpy(l2, l2 + 6, 6);
	__builtin_memcpy(l2 + 6, mac, 6);
	return xlb_store(ctx, hook, 0, l2, len) ? -1 : 0;
}

static __always_inline void xlb_answer_ip4(struct iphdr *ip, const struct xlb_pkt *p, __u8 proto,
					   __u16 tot)
{
	__builtin_memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(tot);
	ip->frag_off = bpf_htons(0x4000); /* DF */
	ip->ttl = XLB_ANSWER_TTL;
	ip->protocol = proto;
	ip->saddr = p->daddr.v4;
	ip->daddr = p->saddr.v4;
	ip->check = ~xlb_csum_fold(xlb_csum_buf(ip, sizeof(*ip), 0));
}

static __always_inline void xlb_answer_ip6(struct ipv6hdr *ip6, const struct xlb_pkt *p,
					   __u8 proto, __u16 payload)
{
	__builtin_memset(ip6, 0, sizeof(*ip6));
	ip6->version = 6;
	ip6->payload_len = bpf_htons(payload);
	ip6->nexthdr = proto;
	ip6->hop_limit = XLB_ANSWER_TTL;
	__builtin_memcpy(&ip6->saddr, &p->daddr, 16);
	__builtin_memcpy(&ip6->daddr, &p->saddr, 16);
}

struct xlb_rst4 {
	struct iphdr ip;
	struct tcphdr th;
};

struct xlb_rst6 {
	struct ipv6hdr ip6;
	struct tcphdr th;
};

struct xlb_unreach4 {
	struct iphdr ip;
	__u8 icmp[8];
};

struct xlb_unreach6 {
	struct ipv6hdr ip6;
	__u8 icmp[8];
};

static __always_inline int xlb_rst_fill(void *ctx, const int hook, const struct xlb_pkt *p,
					struct tcphdr *th)
{
	__u32 l3 = p->l3_off, l4 = p->l4_off, seg_len;
	__be32 seqack[2];
	__u8 doff;

	if (xlb_load(ctx, hook, l4 + 4, seqack, sizeof(seqack)) ||
	    xlb_load(ctx, hook, l4 + 12, &doff, 1))
		return -1;
	seg_len = p->l3_len - (l4 - l3) - (doff >> 4) * 4;
	if (p->tcp_flags & TCP_F_SYN)
		seg_len++;
	if (p->tcp_flags & TCP_F_FIN)
		seg_len++;
	__builtin_memset(th, 0, sizeof(*th));
	th->source = p->dport;
	th->dest = p->sport;
	th->doff = 5;
	th->rst = 1;
	if (p->tcp_flags & TCP_F_ACK) {
		th->seq = seqack[1];
	} else {
		th->ack_seq = bpf_htonl(bpf_ntohl(seqack[0]) + seg_len);
		th->ack = 1;
	}
	th->check = ~xlb_csum_fold(xlb_csum_buf(
		th, sizeof(*th), xlb_pseudo_sum(p, &p->daddr, &p->saddr, XLB_PROTO_TCP, sizeof(*th))));
	return 0;
}

static __always_inline int xlb_reject_tcp(void *ctx, const int hook, struct xlb_pkt *p)
{
	__u32 l3 = p->l3_off;

	if (xlb_answer_l2(ctx, hook, p, 0))
		return -1;
	if (p->family == XLB_AF_INET) {
		struct xlb_rst4 h;

		if (xlb_rst_fill(ctx, hook, p, &h.th))
			return -1;
		xlb_answer_ip4(&h.ip, p, XLB_PROTO_TCP, sizeof(h));
		if (xlb_resize_tail(ctx, hook, xlb_frame_len(ctx, hook), l3 + sizeof(h)))
			return -1;
		return xlb_store(ctx, hook, l3, &h, sizeof(h)) ? -1 : 0;
	} else {
		struct xlb_rst6 h;

		if (xlb_rst_fill(ctx, hook, p, &h.th))
			return -1;
		xlb_answer_ip6(&h.ip6, p, XLB_PROTO_TCP, sizeof(h.th));
		if (xlb_resize_tail(ctx, hook, xlb_frame_len(ctx, hook), l3 + sizeof(h)))
			return -1;
		return xlb_store(ctx, hook, l3, &h, sizeof(h)) ? -1 : 0;
	}
}

/* Quote: the offending IP header and the first 8 bytes of its payload (RFC 792 / 4443). */
#define XLB_QUOTE_MAX (XLB_IPV4_MAX + 8)

/*
 * Grows the frame at the front by the new IP + ICMP headers, so the original IP
 * header becomes the quote in place, then cuts the tail after the quote.
 */
static __always_inline int xlb_unreach_place(void *ctx, const int hook, const struct xlb_pkt *p,
					     const void *h, __u32 hlen, __u32 qlen)
{
	__u32 l3 = p->l3_off;

	if (xlb_grow_head(ctx, hook, hlen))
		return -1;
	if (xlb_answer_l2(ctx, hook, p, hlen))
		return -1;
	if (xlb_resize_tail(ctx, hook, xlb_frame_len(ctx, hook), l3 + hlen + qlen))
		return -1;
	return xlb_store(ctx, hook, l3, h, hlen) ? -1 : 0;
}

/*
 * An ICMP error about p back to its sender, from the address it was sent to:
 * "port unreachable" (mtu 0), or "fragmentation needed" / "packet too big"
 * with the MTU the sender must keep to.
 */
static __always_inline int xlb_reject_icmp(void *ctx, const int hook, struct xlb_pkt *p,
					   __u32 mtu)
{
	__u8 quote[XLB_QUOTE_MAX];
	__u32 l3 = p->l3_off, qlen, sum;

	if (p->family == XLB_AF_INET) {
		struct xlb_unreach4 h = {};

		qlen = p->l4_off - l3 + 8;
		/* One register for the check and the uses, or the verifier loses the bound. */
		asm volatile("" : "+r"(qlen));
		if (qlen > XLB_QUOTE_MAX || qlen < 28 || (qlen & 3))
			return -1;
		if (xlb_load(ctx, hook, l3, quote, qlen))
			return -1;
		h.icmp[0] = ICMP_DEST_UNREACH;
		h.icmp[1] = mtu ? ICMP_FRAG_NEEDED : ICMP_PORT_UNREACH;
		*(__be16 *)&h.icmp[6] = bpf_htons((__u16)mtu);
		sum = xlb_csum_buf(h.icmp, sizeof(h.icmp), xlb_csum_buf(quote, qlen, 0));
		*(__u16 *)&h.icmp[2] = ~xlb_csum_fold(sum);
		xlb_answer_ip4(&h.ip, p, IPPROTO_ICMP_, sizeof(h) + qlen);
		return xlb_unreach_place(ctx, hook, p, &h, sizeof(h), qlen);
	} else {
		struct xlb_unreach6 h = {};

		qlen = sizeof(struct ipv6hdr) + 8;
		if (xlb_load(ctx, hook, l3, quote, qlen))
			return -1;
		h.icmp[0] = mtu ? ICMPV6_PKT_TOOBIG : ICMPV6_DEST_UNREACH;
		h.icmp[1] = mtu ? 0 : ICMPV6_PORT_UNREACH;
		*(__be32 *)&h.icmp[4] = bpf_htonl(mtu);
		sum = xlb_pseudo_sum(p, &p->daddr, &p->saddr, IPPROTO_ICMPV6_, 8 + qlen);
		sum = xlb_csum_buf(h.icmp, sizeof(h.icmp), xlb_csum_buf(quote, qlen, sum));
		*(__u16 *)&h.icmp[2] = ~xlb_csum_fold(sum);
		xlb_answer_ip6(&h.ip6, p, IPPROTO_ICMPV6_, 8 + qlen);
		return xlb_unreach_place(ctx, hook, p, &h, sizeof(h), qlen);
	}
}

/*
 * Sends the answer built in place of p back: XDP and TC ingress out of the
 * interface it came in by (reason tx), TC egress (a local sender) to the local
 * stack (reason local).
 */
static __always_inline int xlb_answer_send(void *ctx, const int hook, struct xlb_pkt *p, int tx,
					   int local)
{
	__u32 ifindex = xlb_ifindex(ctx, hook);

	if (hook == XLB_HOOK_XDP) {
		struct xlb_if_addr *ia = bpf_map_lookup_elem(&xlb_if_addrs, &ifindex);

		/* A veth delivers XDP_TX frames late (XLB_IF_F_TX_REDIRECT). */
		p->act = ia && (ia->flags & XLB_IF_F_TX_REDIRECT) ? bpf_redirect(ifindex, 0) : XDP_TX;
		return tx;
	}
	if (hook == XLB_HOOK_TC_EGRESS) {
		p->act = bpf_redirect(ifindex, BPF_F_INGRESS_);
		return local;
	}
	p->act = bpf_redirect(ifindex, 0);
	return tx;
}

/* No backend: a RST, or ICMP port unreachable, back to the sender. */
static __always_inline int xlb_reject(void *ctx, const int hook, struct xlb_pkt *p)
{
	int err;

	if (p->proto == XLB_PROTO_TCP)
		err = xlb_reject_tcp(ctx, hook, p);
	else
		err = xlb_reject_icmp(ctx, hook, p, 0);
	if (err)
		return XLB_CNT_DROP_REJECT_FAILED;
	return xlb_answer_send(ctx, hook, p, XLB_CNT_REJECT_TX, XLB_CNT_REJECT_REDIRECT);
}

#endif /* XLB_REJECT_H */
