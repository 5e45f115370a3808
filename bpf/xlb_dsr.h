/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DSR, both ends. The balancer picks a backend as in NAT mode and records the
 * flow, then sends the client's packet, untouched, inside an outer IPv4 or
 * IPv6 header (IPIP, IP6IP6: protocol 4 for an IPv4 packet inside, 41 for an
 * IPv6 one) to the agent that runs the backend, with the backend's tag in the
 * outer IPv4 ID or IPv6 flow label. The agent's xlb takes such a packet off
 * its own address, delivers it to the tagged backend with NAT mode's
 * translation and records the flow there, so the backend's answer is turned
 * back into VIP:port by the agent's ordinary reply path and goes straight to
 * the client. The balancer never sees a reply: its entries move on the
 * client's packets alone and an established one lives the DSR idle time. A
 * backend that runs on the balancer itself, or whose agent is unknown, is
 * translated there as in NAT mode. Both ends run as tail-called programs
 * (xlb.bpf.c): the main path has no stack left for a second packet's state.
 */
#ifndef XLB_DSR_H
#define XLB_DSR_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_parse.h"
#include "xlb_lb.h"
#include "xlb_reject.h"

#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IP_DF 0x4000
#define XLB_DSR_TTL 64

static __always_inline int xlb_is_tunnel(__u8 proto)
{
	return proto == IPPROTO_IPIP_ || proto == IPPROTO_IPV6_;
}

/*
 * Makes olen bytes of room between the L2 header and the IP header, the
 * ethertype now the outer family's. 0, or -1 (the packet is then as it was,
 * or unusable: the caller drops it).
 */
static __always_inline int xlb_dsr_push(void *ctx, const int hook, __u32 l3, const __u32 olen,
					__u8 ofamily)
{
	__be16 et = bpf_htons(ofamily == XLB_AF_INET ? ETH_P_IP : ETH_P_IPV6);

	if (l3 > XLB_L2_MAX || l3 < ETH_HLEN)
		return -1;
	if (hook == XLB_HOOK_XDP) {
		void *data, *data_end;

		if (bpf_xdp_adjust_head(ctx, -(int)olen))
			return -1;
		data = xlb_data(ctx, hook);
		data_end = xlb_data_end(ctx, hook);
		if (data + olen + XLB_L2_MAX > data_end)
			return -1;
		__builtin_memcpy(data, data + olen, 12);
		/* Constant offsets: a variable one loses the packet range checked above. */
		if (l3 == ETH_HLEN + VLAN_HLEN) {
			__builtin_memcpy(data + 12, data + olen + 12, 4);
			*(__be16 *)(data + 16) = et;
		} else {
			*(__be16 *)(data + 12) = et;
		}
		return 0;
	}
	if (bpf_skb_adjust_room(ctx, olen, BPF_ADJ_ROOM_MAC,
				ofamily == XLB_AF_INET ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
						       : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6))
		return -1;
	return bpf_skb_store_bytes(ctx, l3 - 2, &et, 2, 0) ? -1 : 0;
}

/* The outer header: from src to the agent, the tag in the IPv4 ID or the IPv6 flow label. */
static __always_inline int xlb_dsr_outer(void *ctx, const int hook, const struct xlb_pkt *p,
					 const struct xlb_pkt *o, __u16 tag)
{
	__u8 inner = p->family == XLB_AF_INET ? IPPROTO_IPIP_ : IPPROTO_IPV6_;

	if (o->family == XLB_AF_INET) {
		struct iphdr h = {};
		__u32 sum;

		h.version = 4;
		h.ihl = 5;
		h.tot_len = bpf_htons(p->l3_len + sizeof(h));
		h.id = bpf_htons(tag);
		h.frag_off = bpf_htons(IP_DF);
		h.ttl = XLB_DSR_TTL;
		h.protocol = inner;
		h.saddr = o->saddr.v4;
		h.daddr = o->daddr.v4;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&h, sizeof(h), 0);
		h.check = ~xlb_csum_fold(sum);
		if (xlb_dsr_push(ctx, hook, p->l3_off, sizeof(h), XLB_AF_INET))
			return -1;
		return xlb_store(ctx, hook, p->l3_off, &h, sizeof(h)) ? -1 : 0;
	} else {
		struct ipv6hdr h = {};

		h.version = 6;
		h.flow_lbl[1] = tag >> 8;
		h.flow_lbl[2] = tag & 0xff;
		h.payload_len = bpf_htons(p->l3_len);
		h.nexthdr = inner;
		h.hop_limit = XLB_DSR_TTL;
		__builtin_memcpy(&h.saddr, &o->saddr, 16);
		__builtin_memcpy(&h.daddr, &o->daddr, 16);
		if (xlb_dsr_push(ctx, hook, p->l3_off, sizeof(h), XLB_AF_INET6))
			return -1;
		return xlb_store(ctx, hook, p->l3_off, &h, sizeof(h)) ? -1 : 0;
	}
}

/*
 * A client's packet too big for the path once encapsulated: as a router
 * would, "fragmentation needed" (IPv4 with DF; without, it is dropped: a
 * router could fragment it, this node cannot once it is inside a tunnel) or
 * "packet too big" (IPv6) back to the client with the inner MTU, from the
 * VIP. The client's stack lowers its path MTU towards the VIP and sends
 * again; TCP seldom needs this, thanks to the agent's MSS clamp.
 */
static __always_inline int xlb_dsr_too_big(void *ctx, const int hook, struct xlb_pkt *p, __u32 mtu)
{
	__be16 frag = 0;

	if (p->family == XLB_AF_INET && (xlb_load(ctx, hook, p->l3_off + 6, &frag, 2) ||
					 !(frag & bpf_htons(IP_DF)) || mtu < 68))
		return XLB_CNT_DROP_DSR_NO_ROUTE;
	if (p->family == XLB_AF_INET6 && mtu < 1280)
		mtu = 1280;
	if (xlb_reject_icmp(ctx, hook, p, mtu))
		return XLB_CNT_DROP_REJECT_FAILED;
	return xlb_answer_send(ctx, hook, p, XLB_CNT_DSR_TOO_BIG, XLB_CNT_DSR_TOO_BIG_LOCAL);
}

/*
 * Sends a client's packet of a DSR flow to backend bid: encapsulated to its
 * agent, or translated here where the agent is this node or unknown. The
 * route to the agent is asked for before anything changes, with the outer
 * header's size, so an encapsulated packet too big for the path is never
 * sent: it is dropped and counted (the agent clamps TCP's MSS so that none
 * is).
 */
static __always_inline int xlb_dsr_send(void *ctx, const int hook, struct xlb_pkt *p,
					struct xlb_stats *st, const struct xlb_backend *be,
					__u32 bid, int new_flow, __u32 now)
{
	struct xlb_dsr_agent *ag = bpf_map_lookup_elem(&xlb_dsr_agents, &bid);
	__u32 vip_id = be->vip_id, len = p->frame_len, oif;
	const struct xlb_nh *nh;
	struct xlb_if_addr *ia;
	struct xlb_nh fresh;
	struct xlb_pkt o;
	__u16 tag;
	__u8 ofam;
	int r = 0;

	if (!ag)
		goto local;
	/* Read once: the writer may change the entry under us. */
	ofam = ag->family;
	tag = ag->tag;
	if (ofam != XLB_AF_INET && ofam != XLB_AF_INET6)
		goto local;
	/* o: the packet as it will leave, for the route, the next hop and the header. */
	__builtin_memcpy(&o, p, sizeof(o));
	__builtin_memset(&o.t, 0, sizeof(o.t));
	o.family = ofam;
	xlb_addr_copy(&o.daddr, &ag->addr);
	o.proto = p->family == XLB_AF_INET ? IPPROTO_IPIP_ : IPPROTO_IPV6_;
	o.l3_len = p->l3_len + (ofam == XLB_AF_INET ? 20 : 40);
	o.ttl = XLB_DSR_TTL;
	o.defer_neigh = 1;
	nh = xlb_next_hop(ctx, hook, &o, now, st, &fresh, &r);
	o.defer_neigh = 0;
	if (nh) {
		oif = nh->ifindex;
	} else if (r == XLB_CNT_PASS_NO_NEIGH && o.oif) {
		oif = o.oif;
	} else if (r == XLB_CNT_PASS_LOCAL) {
		goto local; /* the agent is this node */
	} else if (r == XLB_CNT_PASS_FIB && o.mtu) {
		r = xlb_dsr_too_big(ctx, hook, p, o.mtu - (ofam == XLB_AF_INET ? 20 : 40));
		goto out;
	} else {
		r = r == XLB_CNT_DROP_FIB ? r : XLB_CNT_DROP_DSR_NO_ROUTE;
		goto out;
	}
	/* The outer source: our address on the way out. */
	ia = bpf_map_lookup_elem(&xlb_if_addrs, &oif);
	if (!ia ||
	    (ofam == XLB_AF_INET ? !ia->v4
				 : !(ia->v6.v6[0] | ia->v6.v6[1] | ia->v6.v6[2] | ia->v6.v6[3]))) {
		r = XLB_CNT_DROP_DSR_NO_ADDR;
		goto out;
	}
	if (ofam == XLB_AF_INET)
		o.saddr.v4 = ia->v4;
	else
		xlb_addr_copy(&o.saddr, &ia->v6);
	if (xlb_dsr_outer(ctx, hook, p, &o, tag)) {
		r = XLB_CNT_DROP_INTERNAL;
		goto out;
	}
	st->c[XLB_CNT_DSR_ENCAP]++;
	xlb_count_in(vip_id, bid, len, new_flow);
	r = nh ? xlb_send(ctx, hook, &o, nh) : xlb_send_neigh(ctx, hook, &o, oif);
	p->act = o.act; /* the program's return value is the caller's p's */
out:
	xlb_count_fib_drop(vip_id, r);
	return r;
local:
	st->c[XLB_CNT_DSR_LOCAL]++;
	return xlb_send_to(ctx, hook, p, st, be, bid, new_flow, now);
}

/*
 * Client -> DSR VIP, on the balancer. A recorded flow's backend comes from
 * the main path, which found and touched its entry (xlb_dsr_jump); a SYN
 * keeps a recorded backend only while it is active and the flow had not
 * closed; anything else is picked by Maglev and recorded, flagged DSR, with
 * no reply entry: replies never come this way.
 */
static __always_inline int xlb_dsr_to_backend(void *ctx, const int hook, struct xlb_pkt *p,
					      struct xlb_stats *st)
{
	const struct xlb_config *cfg = xlb_cfg();
	struct xlb_backend *be = NULL, *old = NULL;
	struct xlb_ct_entry *ct, e = {};
	struct xlb_vip_stats *vs;
	struct xlb_vip *vip;
	__u32 vip_id, bid = 0, zero = 0, *arg, now = xlb_now();
	long err;
	int r, syn = p->proto == XLB_PROTO_TCP &&
		     (p->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;

	arg = bpf_map_lookup_elem(&xlb_dsr_jump, &zero);
	if (arg && *arg) {
		bid = *arg;
		*arg = 0;
		be = bpf_map_lookup_elem(&xlb_backends, &bid);
		if (!be)
			return XLB_CNT_DROP_INTERNAL;
		return xlb_dsr_send(ctx, hook, p, st, be, bid, 0, now);
	}
	vip = bpf_map_lookup_elem(&xlb_vips, &p->t);
	if (!vip)
		return XLB_CNT_PASS_NOT_VIP;
	vip_id = vip->vip_id;
	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	r = xlb_pick_new(ctx, hook, p, vip, vs, &bid, &be);
	if (r)
		return r;
	if (!xlb_may_record(cfg, vip_id, now)) {
		st->c[XLB_CNT_CT_STATELESS]++;
		if (vs)
			vs->stateless++;
		xlb_flood_mark(vip_id, now);
		return xlb_dsr_send(ctx, hook, p, st, be, bid, 1, now);
	}
	xlb_ct_fill(&e, bid, be, xlb_ct_state_of(p), now, cfg);
	e.flags = XLB_CT_F_DSR;
	xlb_dsr_cap(&e, cfg, now);
	err = xlb_ct_update(&p->t, &e, syn ? BPF_NOEXIST : BPF_ANY);
	if (!err) {
		st->c[XLB_CNT_CT_NEW]++;
	} else if (err == -EEXIST_) {
		/* A retransmit or a reused port: as xlb_syn_recorded, the DSR flag kept. */
		st->c[XLB_CNT_CT_SYN_RECORDED]++;
		ct = xlb_ct_lookup(&p->t);
		if (ct) {
			if (ct->state != XLB_CTS_CLOSED && xlb_ct_backend(ct, now, &old) > 0 &&
			    old->state == XLB_BE_ACTIVE) {
				bid = ct->backend_id;
				be = old;
			}
			xlb_ct_fill(ct, bid, be, XLB_CTS_SYN, now, cfg);
			ct->flags = XLB_CT_F_DSR;
		}
	} else {
		st->c[XLB_CNT_CT_INSERT_FAILED]++;
	}
	return xlb_dsr_send(ctx, hook, p, st, be, bid, 1, now);
}

/*
 * Takes the outer olen bytes off: the L2 header moves up to the inner IP
 * header, its ethertype the inner family's. 0 or -1.
 */
static __always_inline int xlb_dsr_pop(void *ctx, const int hook, __u32 l3, const __u32 olen,
				       __u8 ofamily, __u8 ifamily)
{
	__be16 et = bpf_htons(ifamily == XLB_AF_INET ? ETH_P_IP : ETH_P_IPV6);

	if (l3 > XLB_L2_MAX || l3 < ETH_HLEN)
		return -1;
	if (hook == XLB_HOOK_XDP) {
		void *data = xlb_data(ctx, hook), *data_end = xlb_data_end(ctx, hook);

		if (data + olen + XLB_L2_MAX > data_end)
			return -1;
		__builtin_memcpy(data + olen, data, 12);
		if (l3 == ETH_HLEN + VLAN_HLEN) {
			__builtin_memcpy(data + olen + 12, data + 12, 4);
			*(__be16 *)(data + olen + 16) = et;
		} else {
			*(__be16 *)(data + olen + 12) = et;
		}
		return bpf_xdp_adjust_head(ctx, olen) ? -1 : 0;
	}
	if (bpf_skb_adjust_room(ctx, -(__s32)olen, BPF_ADJ_ROOM_MAC,
				ofamily == ifamily	 ? 0
				: ifamily == XLB_AF_INET ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4
							 : BPF_F_ADJ_ROOM_DECAP_L3_IPV6))
		return -1;
	if (ofamily == ifamily)
		return 0;
	return bpf_skb_store_bytes(ctx, l3 - 2, &et, 2, 0) ? -1 : 0;
}

/*
 * IPIP / IP6IP6 on the agent. Only what a balancer sends is taken: addressed
 * to this node's address on the interface it came in by, a plain outer
 * header (no IPv4 options or IPv6 extension headers), and inside a TCP or UDP
 * packet to a VIP. Anything else is some other tunnel's and passes untouched;
 * an inner packet to a VIP that does not parse is dropped and counted. The
 * backend is the flow's recorded one, else the one the outer header's tag
 * names; the flow is recorded as NAT mode records it, so the backend's
 * replies leave from the VIP by the reply path, straight to the client.
 */
static __always_inline int xlb_dsr_decap(void *ctx, const int hook, struct xlb_pkt *p,
					 struct xlb_stats *st)
{
	const struct xlb_config *cfg = xlb_cfg();
	void *data = xlb_data(ctx, hook), *data_end = xlb_data_end(ctx, hook);
	__u32 ifindex = xlb_ifindex(ctx, hook), l3 = p->l3_off, olen, bid = 0, *bidp;
	__u32 now = xlb_now();
	struct xlb_dsr_tag_key tk = {};
	struct xlb_backend *be = NULL;
	struct xlb_if_addr *ia;
	struct xlb_ct_entry *ct;
	struct xlb_pkt q = {};
	struct xlb_vip *vip;
	__be16 w = 0;
	int r, syn, fresh = 0;

	ia = bpf_map_lookup_elem(&xlb_if_addrs, &ifindex);
	if (!ia || l3 > XLB_L2_MAX)
		return XLB_CNT_PASS_TUNNEL;
	if (p->family == XLB_AF_INET) {
		if (ia->v4 != p->daddr.v4 || p->l4_off != l3 + 20)
			return XLB_CNT_PASS_TUNNEL;
		olen = 20;
		xlb_load(ctx, hook, l3 + offsetof(struct iphdr, id), &w, 2);
	} else {
		if (!xlb_addr_eq(&ia->v6, &p->daddr) || p->l4_off != l3 + 40)
			return XLB_CNT_PASS_TUNNEL;
		olen = 40;
		xlb_load(ctx, hook, l3 + 2, &w, 2); /* the flow label's low 16 bits */
	}
	q.frame_len = p->frame_len;
	q.l3_off = l3 + olen;
	if (p->proto == IPPROTO_IPIP_)
		r = xlb_parse_v4(data, data_end, &q, l3 + olen);
	else
		r = xlb_parse_v6(data, data_end, &q, l3 + olen);
	if (r)
		return r == XLB_CNT_DROP_MALFORMED_VIP || r == XLB_CNT_DROP_FRAGMENT
			   ? XLB_CNT_DROP_DSR_MALFORMED
			   : XLB_CNT_PASS_TUNNEL;
	if (q.proto != XLB_PROTO_TCP && q.proto != XLB_PROTO_UDP)
		return XLB_CNT_PASS_TUNNEL;
	vip = bpf_map_lookup_elem(&xlb_vips, &q.t);
	if (!vip)
		return XLB_CNT_PASS_TUNNEL;
	syn = q.proto == XLB_PROTO_TCP && (q.tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;
	ct = syn ? NULL : xlb_ct_lookup(&q.t);
	if (ct && xlb_ct_backend(ct, now, &be) > 0) {
		st->c[XLB_CNT_CT_HIT]++;
		bid = ct->backend_id;
		xlb_ct_touch(ct, cfg, now, &q, 0);
	} else {
		__builtin_memcpy(&tk.vip, &q.t, sizeof(tk.vip));
		tk.tag = bpf_ntohs(w);
		bidp = bpf_map_lookup_elem(&xlb_dsr_tags, &tk);
		if (!bidp)
			return XLB_CNT_DROP_DSR_UNKNOWN;
		bid = *bidp;
		be = bpf_map_lookup_elem(&xlb_backends, &bid);
		if (!be || be->state == XLB_BE_REMOVED || be->vip_id != vip->vip_id)
			return XLB_CNT_DROP_DSR_UNKNOWN;
		/* The balancer's choice stands, also over a tuple recorded before. */
		xlb_ct_record(&q.t, bid, be, xlb_ct_state_of(&q), now, cfg, BPF_ANY, st);
		fresh = 1;
	}
	if (xlb_dsr_pop(ctx, hook, l3, olen, p->family, q.family))
		return XLB_CNT_DROP_INTERNAL;
	st->c[XLB_CNT_DSR_DECAP]++;
	q.l3_off = l3;
	q.l4_off -= olen;
	q.frame_len -= olen;
	r = xlb_send_to(ctx, hook, &q, st, be, bid, fresh, now);
	p->act = q.act;
	return r;
}

#endif /* XLB_DSR_H */
