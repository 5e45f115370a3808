/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Load balancing proper: the Maglev pick for a new flow and the two
 * directions of NAT mode, on top of conntrack (xlb_ct.h). A flow keeps its
 * backend while that backend is active or draining and still has the
 * generation the flow was recorded with; otherwise it is picked again, so
 * flows of a removed backend never reach whatever later takes over its slot.
 */
#ifndef XLB_LB_H
#define XLB_LB_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_hash.h"
#include "xlb_ct.h"
#include "xlb_nat.h"
#include "xlb_reject.h"
#include "xlb_pick.h"
#include "xlb_fnat.h"
#include "xlb_tcpopt.h"

/* xlb_to_backend's answer for a DSR flow: the caller tail-calls the DSR program. */
#define XLB_JUMP_DSR 0x10000

/* Leaves the DSR program the flow's backend (0: none recorded), then says jump. */
static __always_inline int xlb_dsr_jump_arg(__u32 bid)
{
	__u32 zero = 0, *arg = bpf_map_lookup_elem(&xlb_dsr_jump, &zero);

	if (!arg)
		return XLB_CNT_DROP_INTERNAL;
	*arg = bid;
	return XLB_JUMP_DSR;
}

/* NATs a client's packet to its backend, counts it and sends it on. */
static __always_inline int xlb_send_to(void *ctx, const int hook, struct xlb_pkt *p,
				       struct xlb_stats *st, const struct xlb_backend *be, __u32 bid,
				       int new_flow, __u32 now)
{
	__u32 vip_id = be->vip_id, len = p->frame_len;
	union xlb_addr baddr;
	int r;

	xlb_addr_copy(&baddr, &be->addr);
	if (xlb_nat(ctx, hook, p, XLB_NAT_DST, &baddr, be->port))
		return XLB_CNT_DROP_INTERNAL;
	st->c[XLB_CNT_NAT_ORIG]++;
	xlb_count_in(vip_id, bid, len, new_flow);
	r = xlb_forward(ctx, hook, p, now, st);
	xlb_count_fib_drop(vip_id, r);
	return r;
}

/*
 * A SYN whose tuple is recorded: a retransmit, or a client that reused its
 * port. The recorded backend keeps it while it is active (a draining one takes
 * no new connection, and a closed flow is over), else the new pick does. The
 * entry is rewritten in place (an update would take a fresh LRU node only to
 * free the old one), and the reply entry again where the backend has one:
 * another VIP sharing the backend may have taken it since, and its replies
 * must leave as this VIP.
 */
static __always_inline void xlb_syn_recorded(const struct xlb_flow_key *t, __u32 *bid,
					     struct xlb_backend **bep, __u32 now,
					     const struct xlb_config *cfg, struct xlb_stats *st)
{
	struct xlb_ct_entry *ct = xlb_ct_lookup(t);
	struct xlb_backend *old = NULL;

	st->c[XLB_CNT_CT_SYN_RECORDED]++;
	if (!ct) {
		/* Evicted since the insert failed: record it afresh. */
		xlb_ct_record(t, *bid, *bep, XLB_CTS_SYN, now, cfg, BPF_ANY, st);
		return;
	}
	if (ct->state != XLB_CTS_CLOSED && xlb_ct_backend(ct, now, &old) > 0 &&
	    old->state == XLB_BE_ACTIVE) {
		*bid = ct->backend_id;
		*bep = old;
	}
	xlb_ct_fill(ct, *bid, *bep, XLB_CTS_SYN, now, cfg);
	if (ct->flags & XLB_CT_F_REPLY_ENTRY)
		xlb_ct_reply_record(t, *bep, ct, st);
}

/*
 * Client -> VIP. Any packet but a SYN looks up conntrack first: an
 * established flow needs neither the VIP lookup nor Maglev. A SYN goes
 * straight to the pick, and its insert tells whether the tuple was recorded.
 * Returns 0 when the packet is not for a VIP after all (the address filter
 * only says "maybe").
 */
static __always_inline int xlb_to_backend(void *ctx, const int hook, struct xlb_pkt *p,
					  struct xlb_stats *st)
{
	const struct xlb_config *cfg = xlb_cfg();
	struct xlb_backend *be = NULL;
	struct xlb_vip_stats *vs;
	struct xlb_ct_entry *ct;
	struct xlb_vip *vip;
	__u32 vip_id, bid = 0, now = xlb_now();
	int r, repick = 0;
	int syn = p->proto == XLB_PROTO_TCP &&
		  (p->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;

	if (!syn) {
		ct = xlb_ct_lookup(&p->t);
		if (ct) {
			r = xlb_ct_backend(ct, now, &be);
			if (r > 0) {
				st->c[XLB_CNT_CT_HIT]++;
				bid = ct->backend_id;
				xlb_ct_touch(ct, cfg, now, p, 0);
				if (ct->flags & XLB_CT_F_DSR) {
					xlb_dsr_cap(ct, cfg, now);
					return xlb_dsr_jump_arg(bid);
				}
				return xlb_send_to(ctx, hook, p, st, be, bid, 0, now);
			}
			if (r < 0)
				st->c[XLB_CNT_CT_EXPIRED]++;
			else
				repick = 1;
		}
	}

	vip = bpf_map_lookup_elem(&xlb_vips, &p->t);
	if (!vip)
		return 0;
	if (repick)
		st->c[XLB_CNT_CT_REPICK]++;
	if (vip->mode == XLB_MODE_DSR)
		return xlb_dsr_jump_arg(0);
	if (vip->mode == XLB_MODE_FULLNAT)
		return xlb_fnat_to_backend(ctx, hook, p, st, vip, cfg, now, syn);
	vip_id = vip->vip_id;
	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	r = xlb_pick_new(ctx, hook, p, vip, vs, &bid, &be);
	if (r)
		return r;
	/*
	 * Over a budget the flow goes unrecorded. Not a backend that shares its
	 * endpoint: only a reply entry tells its replies' VIP.
	 */
	if (!(be->flags & XLB_BE_F_REPLY_ENTRY) && !xlb_may_record(cfg, vip_id, now)) {
		st->c[XLB_CNT_CT_STATELESS]++;
		if (vs)
			vs->stateless++;
		xlb_flood_mark(vip_id, now);
		return xlb_send_to(ctx, hook, p, st, be, bid, 1, now);
	}
	if (xlb_ct_record(&p->t, bid, be, xlb_ct_state_of(p), now, cfg,
			  syn ? BPF_NOEXIST : BPF_ANY, st) == -EEXIST_)
		xlb_syn_recorded(&p->t, &bid, &be, now, cfg, st);
	return xlb_send_to(ctx, hook, p, st, be, bid, 1, now);
}

/*
 * The endpoint cache of the reply path: the endpoint's hash lookup cost as
 * much as all the rest of a reply. An endpoint with a single backend (the
 * usual case) is remembered here as that backend's id, in a direct-mapped
 * array shared by the CPUs and written only on a miss. A hit is proved by the
 * backend itself: its address and port are the endpoint's, its VIP has the
 * endpoint's protocol, it is not removed, and it is not flagged as sharing
 * its endpoint (the writer flags a backend before its endpoint gets a second
 * one and clears the flag only once it is alone again), so such a backend is
 * the endpoint's primary and the writer never has to touch the cache.
 */
#define XLB_EP_CACHE_BITS 12
__u32 xlb_ep_cache[1u << XLB_EP_CACHE_BITS];

static __always_inline __u32 xlb_ep_cache_idx(const struct xlb_endpoint_key *ek)
{
	__u32 x = ek->addr.v6[0] ^ ek->addr.v6[1] ^ ek->addr.v6[2] ^ ek->addr.v6[3];

	x ^= ((__u32)ek->port << 16) ^ ek->proto;
	return ((x * 0x9e3779b1u) >> (32 - XLB_EP_CACHE_BITS)) & ((1u << XLB_EP_CACHE_BITS) - 1);
}

/*
 * The endpoint's only backend by the cache, with its VIP in *k, or NULL: then
 * xlb_backend_addrs decides (a slot another endpoint took, or a backend at
 * the same address and port serving the other protocol).
 */
static __always_inline struct xlb_backend *xlb_ep_cached(const struct xlb_endpoint_key *ek,
							 __u32 slot, __u32 *id,
							 struct xlb_vip_key **k)
{
	struct xlb_backend *be;
	__u32 vid;

	*id = xlb_ep_cache[slot];
	if (!*id)
		return NULL;
	be = bpf_map_lookup_elem(&xlb_backends, id);
	if (!be || be->state == XLB_BE_REMOVED || (be->flags & XLB_BE_F_REPLY_ENTRY) ||
	    be->port != ek->port || be->family != ek->family || !xlb_addr_eq(&be->addr, &ek->addr))
		return NULL;
	vid = be->vip_id;
	*k = bpf_map_lookup_elem(&xlb_vip_keys, &vid);
	if (!*k || (*k)->proto != ek->proto || !(*k)->family)
		return NULL;
	return be;
}

/*
 * The flow a backend's packet to a client belongs to. ek is the backend's
 * endpoint (the packet's source), client:cport its destination. Tried in
 * turn: the reply entry, where the endpoint is shared; the primary backend's
 * flow, rebuilt from the VIP it serves; during a flood of the primary's VIP,
 * Maglev's pick for the rebuilt tuple. touch moves the entry's state (a
 * reply, not an ICMP error about one). Returns 1 with the VIP to restore in
 * vk, the backend in bid and its VIP's id in vip_id, else 0.
 */
static __always_inline int xlb_reply_flow(const struct xlb_endpoint_key *ek,
					  const union xlb_addr *client, __be16 cport, __u32 now,
					  const struct xlb_pkt *p, int touch,
					  struct xlb_vip_key *vk, __u32 *bid, __u32 *vip_id,
					  const struct xlb_config *cfg, struct xlb_stats *st)
{
	struct xlb_backend *be, *rbe = NULL;
	struct xlb_flow_key fk = {};
	struct xlb_endpoint *ep;
	struct xlb_ct_entry *ct;
	struct xlb_vip_key *k;
	struct xlb_vip *vip;
	__u32 id, vid, slot, sbid = 0;

	slot = xlb_ep_cache_idx(ek);
	be = xlb_ep_cached(ek, slot, &id, &k);
	if (be) {
		vid = be->vip_id;
		goto primary;
	}
	ep = bpf_map_lookup_elem(&xlb_backend_addrs, ek);
	if (!ep)
		return 0;
	/* A reply entry, where there is one, was written by the tuple's latest flow. */
	if (ep->refs > 1) {
		struct xlb_flow_key rk = {};

		xlb_addr_copy(&rk.daddr, client);
		rk.dport = cport;
		xlb_addr_copy(&rk.saddr, &ek->addr);
		rk.sport = ek->port;
		rk.proto = ek->proto;
		rk.family = ek->family;
		rk.dir = XLB_DIR_REPLY;
		ct = xlb_ct_lookup(&rk);
		if (ct && xlb_ct_backend(ct, now, &rbe) > 0) {
			vid = rbe->vip_id;
			k = bpf_map_lookup_elem(&xlb_vip_keys, &vid);
			if (k && k->family) {
				if (touch)
					xlb_ct_touch(ct, cfg, now, p, 1);
				id = ct->backend_id;
				goto found;
			}
		}
	}
	id = ep->backend_id;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!be || be->state == XLB_BE_REMOVED)
		return 0;
	vid = be->vip_id;
	k = bpf_map_lookup_elem(&xlb_vip_keys, &vid);
	if (!k || !k->family)
		return 0;
	if (ep->refs == 1)
		xlb_ep_cache[slot] = id;
primary:
	xlb_addr_copy(&fk.daddr, &k->addr);
	fk.dport = k->port;
	fk.proto = ek->proto;
	fk.family = ek->family;
	xlb_addr_copy(&fk.saddr, client);
	fk.sport = cport;
	ct = xlb_ct_lookup(&fk);
	if (ct && ct->backend_id == id && ct->backend_gen == be->gen &&
	    !xlb_tick_after(now, ct->expires)) {
		if (touch)
			xlb_ct_touch(ct, cfg, now, p, 1);
		goto found;
	}
	if (!xlb_flooded(vid, now))
		return 0;
	vip = bpf_map_lookup_elem(&xlb_vips, k);
	if (!vip || xlb_select(vip, &fk, &sbid, &rbe) || sbid != id)
		return 0;
	st->c[XLB_CNT_CT_STATELESS_REPLY]++;
found:
	__builtin_memcpy(vk, k, sizeof(*vk));
	*bid = id;
	*vip_id = vid;
	return 1;
}

/* Backend -> client of a flow xlb made: SNAT back to the VIP, forward. */
static __always_inline int xlb_to_client(void *ctx, const int hook, struct xlb_pkt *p,
					 struct xlb_stats *st)
{
	struct xlb_endpoint_key ek = {};
	struct xlb_vip_key vk;
	union xlb_addr vaddr;
	__u32 vip_id, bid, len = p->frame_len, now = xlb_now();
	const struct xlb_config *cfg = xlb_cfg();
	int r;

	/* A full-NAT flow's reply comes to one of this node's source ports. */
	if (xlb_fnat_port(cfg, p->dport)) {
		r = xlb_fnat_to_client(ctx, hook, p, st, cfg, now);
		if (r)
			return r;
	}
	xlb_addr_copy(&ek.addr, &p->saddr);
	ek.port = p->sport;
	ek.proto = p->proto;
	ek.family = p->family;
	if (!xlb_reply_flow(&ek, &p->daddr, p->dport, now, p, 1, &vk, &bid, &vip_id, cfg, st))
		return XLB_CNT_PASS_NOT_VIP;
	xlb_addr_copy(&vaddr, &vk.addr);
	if (xlb_nat(ctx, hook, p, XLB_NAT_SRC, &vaddr, vk.port))
		return XLB_CNT_DROP_INTERNAL;
	if (p->proto == XLB_PROTO_TCP && (p->tcp_flags & TCP_F_SYN)) {
		struct xlb_vip *vip = bpf_map_lookup_elem(&xlb_vips, &vk);

		if (vip && vip->mode == XLB_MODE_DSR)
			xlb_mss_clamp(ctx, hook, p, cfg, st);
	}
	st->c[XLB_CNT_NAT_REPLY]++;
	xlb_count_out(vip_id, bid, len);
	return xlb_forward(ctx, hook, p, now, st);
}

#endif /* XLB_LB_H */
