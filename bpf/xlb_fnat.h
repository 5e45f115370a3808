/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Full-NAT mode: a client's packet to a fullnat VIP leaves with the backend
 * as its destination and this node as its source (the address of the
 * interface the FIB sends it out of, xlb_if_addrs, and a source port from
 * xlb_config's range), so the backend answers this node whatever its own
 * routes are, and the answer goes back to the client as the VIP. A flow has
 * two entries (abi.h's xlb_fnat_entry): the client's tuple names the source
 * it was given, the backend's reply tuple names the client. The reply entry
 * is also what makes a source port taken: a new flow tries ports from a hash
 * of its tuple on, inserting the reply entry until one is free (or holds an
 * expired flow), and fails as exhausted (counted) after XLB_FNAT_PROBES,
 * never reusing a tuple in use. Ports come free when their entry expires.
 */
#ifndef XLB_FNAT_H
#define XLB_FNAT_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_hash.h"
#include "xlb_ct.h"
#include "xlb_nat.h"
#include "xlb_pick.h"
#include "xlb_tcpopt.h"

/*
 * A new flow's two tuples and entries, 160 bytes the 512-byte stack of the
 * inlined program has no room for: per CPU, used within one packet.
 */
struct xlb_fnat_scratch {
	struct xlb_flow_key orig; /* the client's tuple, before the NAT rewrites the packet's */
	struct xlb_flow_key rk;	  /* the reply's tuple: backend -> source address and port */
	struct xlb_fnat_entry oe, re;
	union xlb_addr baddr, snat; /* the backend's address, this node's */
	struct xlb_nh fresh;	    /* the FIB's next hop, where the cache has none */
	__u32 ts_off;		    /* the SYN's TSval offset, 0: none */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_fnat_scratch);
	__uint(max_entries, 1);
} xlb_fnat_scratch SEC(".maps");

/* Where the TCP timestamp option's TSval is in the packet, or 0. */
static __always_inline __u32 xlb_tcp_ts_off(void *ctx, const int hook, const struct xlb_pkt *p)
{
	__u32 off = xlb_tcp_opt(ctx, hook, p, 8, 10);

	return off ? off + 2 : 0;
}

/* Adds delta to the 32-bit timestamp at off (TSval, or TSecr at off + 4), checksum fixed. */
static __always_inline void xlb_tcp_ts_shift(void *ctx, const int hook, const struct xlb_pkt *p,
					     __u32 off, __u32 delta)
{
	__be32 v;

	if (off && !xlb_load(ctx, hook, off, &v, 4))
		xlb_tcp_rewrite(ctx, hook, p, off, v, bpf_htonl(bpf_ntohl(v) + delta), 4);
}

static __always_inline struct xlb_fnat_entry *xlb_fnat_lookup(const struct xlb_flow_key *t)
{
	return xlb_tuple_lookup(&xlb_fnat4, &xlb_fnat6, t);
}

static __always_inline long xlb_fnat_update(const struct xlb_flow_key *t,
					    const struct xlb_fnat_entry *e, __u64 flags)
{
	return xlb_tuple_update(&xlb_fnat4, &xlb_fnat6, t, e, flags);
}

static __always_inline void xlb_fnat_delete(const struct xlb_flow_key *t)
{
	struct xlb_ct4_key k;

	if (t->family == XLB_AF_INET) {
		xlb_ct4_key_of(&k, t);
		bpf_map_delete_elem(&xlb_fnat4, &k);
		return;
	}
	bpf_map_delete_elem(&xlb_fnat6, t);
}

/* This node's address of the packet's family on interface ifindex: 0, or -1 for none. */
static __always_inline int xlb_fnat_addr(__u32 ifindex, __u8 family, union xlb_addr *out)
{
	struct xlb_if_addr *a = bpf_map_lookup_elem(&xlb_if_addrs, &ifindex);

	if (!a)
		return -1;
	if (family == XLB_AF_INET) {
		out->v6[0] = a->v4;
		out->v6[1] = 0;
		out->v6[2] = 0;
		out->v6[3] = 0;
		return a->v4 ? 0 : -1;
	}
	xlb_addr_copy(out, &a->v6);
	return a->v6.v6[0] | a->v6.v6[1] | a->v6.v6[2] | a->v6.v6[3] ? 0 : -1;
}

/*
 * A new flow (its client tuple orig) to backend bid: DNAT, the next hop and
 * with it the source address, a free source port, both entries, SNAT, send.
 * Where the FIB knows the way but not the neighbour yet, the flow is
 * recorded all the same and the packet resolves it on the way out
 * (xlb_send_neigh): the kernel must not forward a packet from our address.
 */
static __always_inline int xlb_fnat_new(void *ctx, const int hook, struct xlb_pkt *p,
					struct xlb_stats *st, struct xlb_fnat_scratch *sc,
					__u32 bid, const struct xlb_backend *be,
					const struct xlb_config *cfg, __u32 now)
{
	struct xlb_fnat_entry *re = &sc->re, *oe = &sc->oe;
	struct xlb_flow_key *rk = &sc->rk, *orig = &sc->orig;
	__u32 vip_id = be->vip_id, len = p->frame_len, lo, n, seed, i, oif;
	__u8 state = xlb_ct_state_of(p);
	union xlb_addr *baddr = &sc->baddr, *snat = &sc->snat;
	struct xlb_fnat_entry *taken;
	const struct xlb_nh *nh;
	int r = 0;

	lo = cfg ? cfg->fnat_port_lo : 0;
	n = cfg && lo && cfg->fnat_port_hi >= lo ? cfg->fnat_port_hi - lo + 1 : 0;
	xlb_addr_copy(baddr, &be->addr);
	if (xlb_nat(ctx, hook, p, XLB_NAT_DST, baddr, be->port))
		return XLB_CNT_DROP_INTERNAL;
	p->defer_neigh = 1;
	nh = xlb_next_hop(ctx, hook, p, now, st, &sc->fresh, &r);
	p->defer_neigh = 0;
	if (nh)
		oif = nh->ifindex;
	else if (r == XLB_CNT_PASS_NO_NEIGH && p->oif)
		oif = p->oif;
	else
		return r;
	if (xlb_fnat_addr(oif, p->family, snat)) {
		xlb_vip_drop(vip_id, XLB_VIP_DROP_FNAT_NO_ADDR);
		return XLB_CNT_DROP_FNAT_NO_ADDR;
	}
	__builtin_memset(re, 0, sizeof(*re));
	xlb_ct_fill(&re->ct, bid, be, state, now, cfg);
	re->ct.flags = 0;
	/* Towards the backend the flow's timestamps start at this node's clock. */
	sc->ts_off = xlb_tcp_ts_off(ctx, hook, p);
	if (sc->ts_off) {
		__be32 tsval = 0;

		xlb_load(ctx, hook, sc->ts_off, &tsval, 4);
		re->ts_delta = now - bpf_ntohl(tsval);
	}
	xlb_addr_copy(&re->addr, &orig->saddr);
	re->port = orig->sport;
	__builtin_memset(rk, 0, sizeof(*rk));
	xlb_addr_copy(&rk->saddr, &p->daddr);
	rk->sport = p->dport;
	xlb_addr_copy(&rk->daddr, snat);
	rk->proto = p->proto;
	rk->family = p->family;
	rk->dir = XLB_DIR_REPLY;
	seed = xlb_hash_flow(orig);
	for (i = 0; i < XLB_FNAT_PROBES && n; i++) {
		long err;

		/*
		 * Each probe its own hash: consecutive ports would run into the
		 * clusters that flows opened together leave taken.
		 */
		rk->dport =
		    bpf_htons((__u16)(lo + ((seed ^ (i * 0x9e3779b9u)) * 0x85ebca6bu >> 8) % n));
		err = xlb_fnat_update(rk, re, BPF_NOEXIST);
		if (!err)
			break;
		if (err != -EEXIST_) {
			st->c[XLB_CNT_CT_INSERT_FAILED]++;
			i = XLB_FNAT_PROBES;
			break;
		}
		/* An expired flow's tuple is free now, not only once xlbd's sweep has run. */
		taken = xlb_fnat_lookup(rk);
		if (taken && xlb_tick_after(now, taken->ct.expires) &&
		    !xlb_fnat_update(rk, re, BPF_EXIST))
			break;
		st->c[XLB_CNT_FNAT_PORT_TAKEN]++;
	}
	if (!n || i >= XLB_FNAT_PROBES) {
		xlb_vip_drop(vip_id, XLB_VIP_DROP_FNAT_EXHAUSTED);
		return XLB_CNT_DROP_FNAT_EXHAUSTED;
	}
	__builtin_memcpy(oe, re, sizeof(*oe));
	xlb_addr_copy(&oe->addr, snat);
	oe->port = rk->dport;
	if (xlb_fnat_update(orig, oe, BPF_ANY)) {
		xlb_fnat_delete(rk);
		st->c[XLB_CNT_CT_INSERT_FAILED]++;
		return XLB_CNT_DROP_INTERNAL;
	}
	st->c[XLB_CNT_FNAT_NEW]++;
	if (xlb_nat(ctx, hook, p, XLB_NAT_SRC, snat, oe->port))
		return XLB_CNT_DROP_INTERNAL;
	if (oe->ts_delta)
		xlb_tcp_ts_shift(ctx, hook, p, sc->ts_off, oe->ts_delta);
	st->c[XLB_CNT_NAT_ORIG]++;
	xlb_count_in(vip_id, bid, len, 1);
	return nh ? xlb_send(ctx, hook, p, nh) : xlb_send_neigh(ctx, hook, p, oif);
}

/*
 * The timestamp shift of a full-NAT packet: TSval (+delta) towards the
 * backend, TSecr (echo) back. XDP rewrites Linux's usual layout (NOP, NOP,
 * timestamps first) in place, without a helper call per field: every segment
 * of a bulk transfer pays this.
 */
static __always_inline void xlb_fnat_ts(void *ctx, const int hook, const struct xlb_pkt *p,
					__u32 delta, int echo)
{
	__u32 off;

	if (hook == XLB_HOOK_XDP && p->proto == XLB_PROTO_TCP) {
		void *data = xlb_data(ctx, hook), *data_end = xlb_data_end(ctx, hook);
		__u32 l4 = p->l4_off;
		struct tcphdr *th;
		__be32 *o, v, nv;

		if (l4 > XLB_L2_MAX + 40 + 2 * 2048)
			return;
		th = data + l4;
		o = (void *)(th + 1);
		if ((void *)(o + 3) <= data_end && th->doff >= 8 && o[0] == bpf_htonl(0x0101080a)) {
			v = o[1 + echo];
			nv = bpf_htonl(bpf_ntohl(v) + (echo ? -delta : delta));
			o[1 + echo] = nv;
			th->check = xlb_csum_apply(th->check, xlb_csum_diff4(v, nv));
			return;
		}
	}
	off = xlb_tcp_ts_off(ctx, hook, p);
	if (off)
		xlb_tcp_ts_shift(ctx, hook, p, off + (echo ? 4 : 0), echo ? -delta : delta);
}

/*
 * A closed flow gives its source port back sooner than conntrack's closed
 * lifetime: the backend has seen the flow end, and a port held 10 s would
 * limit a node to 450 new connections a second per backend endpoint.
 */
static __always_inline void xlb_fnat_touch(struct xlb_ct_entry *e, const struct xlb_config *cfg,
					   __u32 now, const struct xlb_pkt *p, int reply)
{
	__u32 closed = cfg && cfg->fnat_closed
			   ? cfg->fnat_closed
			   : (__u32)((XLB_FNAT_CLOSED_MS_DEFAULT * 1000000ULL) >> XLB_TICK_SHIFT);

	xlb_ct_touch(e, cfg, now, p, reply);
	if (e->state == XLB_CTS_CLOSED && xlb_tick_after(e->expires, now + closed))
		e->expires = now + closed;
}

/*
 * A FIN or RST seen in one direction also moves the other direction's entry:
 * each entry sees only its own direction's packets, so without this neither
 * would see both FINs and close, and a finished flow would hold its source
 * port for the FIN lifetime instead of the closed one. p is the packet as
 * translated: the other entry's tuple is its reverse.
 */
static __always_inline void xlb_fnat_touch_peer(struct xlb_pkt *p, const struct xlb_config *cfg,
						__u32 now, int reply)
{
	struct xlb_fnat_scratch *sc;
	struct xlb_fnat_entry *e;
	__u32 zero = 0;

	if (p->proto != XLB_PROTO_TCP || !(p->tcp_flags & (TCP_F_FIN | TCP_F_RST)))
		return;
	sc = bpf_map_lookup_elem(&xlb_fnat_scratch, &zero);
	if (!sc)
		return;
	__builtin_memset(&sc->rk, 0, sizeof(sc->rk));
	xlb_addr_copy(&sc->rk.saddr, &p->daddr);
	xlb_addr_copy(&sc->rk.daddr, &p->saddr);
	sc->rk.sport = p->dport;
	sc->rk.dport = p->sport;
	sc->rk.proto = p->proto;
	sc->rk.family = p->family;
	sc->rk.dir = reply ? XLB_DIR_ORIG : XLB_DIR_REPLY;
	e = xlb_fnat_lookup(&sc->rk);
	if (e)
		xlb_fnat_touch(&e->ct, cfg, now, p, reply);
}

/*
 * Client -> fullnat VIP. A recorded flow keeps its backend and source while
 * the backend may carry it (a SYN only where it is still active and the flow
 * had not closed, as in NAT mode); anything else is a new flow.
 */
static __always_inline int xlb_fnat_to_backend(void *ctx, const int hook, struct xlb_pkt *p,
					       struct xlb_stats *st, const struct xlb_vip *vip,
					       const struct xlb_config *cfg, __u32 now, int syn)
{
	struct xlb_fnat_entry *oe = xlb_fnat_lookup(&p->t);
	struct xlb_backend *be = NULL;
	struct xlb_fnat_scratch *sc;
	union xlb_addr baddr, saddr;
	__u32 bid = 0, len = p->frame_len, zero = 0;
	struct xlb_nh fresh;
	__be16 sport;
	int r;

	if (oe) {
		r = xlb_ct_backend(&oe->ct, now, &be);
		if (r > 0 &&
		    (!syn || (oe->ct.state != XLB_CTS_CLOSED && be->state == XLB_BE_ACTIVE))) {
			st->c[XLB_CNT_FNAT_HIT]++;
			bid = oe->ct.backend_id;
			xlb_fnat_touch(&oe->ct, cfg, now, p, 0);
			xlb_addr_copy(&saddr, &oe->addr);
			sport = oe->port;
			xlb_addr_copy(&baddr, &be->addr);
			if (xlb_nat(ctx, hook, p, XLB_NAT_DST, &baddr, be->port) ||
			    xlb_nat(ctx, hook, p, XLB_NAT_SRC, &saddr, sport))
				return XLB_CNT_DROP_INTERNAL;
			if (oe->ts_delta)
				xlb_fnat_ts(ctx, hook, p, oe->ts_delta, 0);
			xlb_fnat_touch_peer(p, cfg, now, 0);
			st->c[XLB_CNT_NAT_ORIG]++;
			xlb_count_in(be->vip_id, bid, len, 0);
			r = xlb_forward_own(ctx, hook, p, now, st, &fresh);
			xlb_count_fib_drop(be->vip_id, r);
			return r;
		}
		st->c[r < 0 ? XLB_CNT_CT_EXPIRED : XLB_CNT_CT_REPICK]++;
	}
	r = xlb_pick_new(ctx, hook, p, vip, bpf_map_lookup_elem(&xlb_vip_stats, &vip->vip_id), &bid,
			 &be);
	if (r)
		return r;
	sc = bpf_map_lookup_elem(&xlb_fnat_scratch, &zero);
	if (!sc)
		return XLB_CNT_DROP_INTERNAL;
	__builtin_memcpy(&sc->orig, &p->t, sizeof(sc->orig));
	r = xlb_fnat_new(ctx, hook, p, st, sc, bid, be, cfg, now);
	xlb_count_fib_drop(vip->vip_id, r);
	return r;
}

/*
 * Backend -> this node's full-NAT source: the reply of the flow its entry
 * names goes back to that client, from the VIP. Returns 0 when the packet
 * belongs to no full-NAT flow.
 */
static __always_inline int xlb_fnat_to_client(void *ctx, const int hook, struct xlb_pkt *p,
					      struct xlb_stats *st, const struct xlb_config *cfg,
					      __u32 now)
{
	struct xlb_fnat_entry *re;
	struct xlb_backend *be = NULL;
	struct xlb_vip_key *k;
	union xlb_addr vaddr, caddr;
	__u32 vid, bid, len = p->frame_len;
	struct xlb_nh fresh;
	__be16 cport;

	p->dir = XLB_DIR_REPLY;
	re = xlb_fnat_lookup(&p->t);
	p->dir = XLB_DIR_ORIG;
	if (!re || xlb_ct_backend(&re->ct, now, &be) <= 0)
		return 0;
	bid = re->ct.backend_id;
	vid = be->vip_id;
	k = bpf_map_lookup_elem(&xlb_vip_keys, &vid);
	if (!k || !k->family)
		return 0;
	st->c[XLB_CNT_FNAT_HIT]++;
	xlb_fnat_touch(&re->ct, cfg, now, p, 1);
	xlb_addr_copy(&caddr, &re->addr);
	cport = re->port;
	xlb_addr_copy(&vaddr, &k->addr);
	if (xlb_nat(ctx, hook, p, XLB_NAT_SRC, &vaddr, k->port) ||
	    xlb_nat(ctx, hook, p, XLB_NAT_DST, &caddr, cport))
		return XLB_CNT_DROP_INTERNAL;
	/* The backend echoes the shifted TSval: the client gets its own back. */
	if (re->ts_delta)
		xlb_fnat_ts(ctx, hook, p, re->ts_delta, 1);
	xlb_fnat_touch_peer(p, cfg, now, 1);
	st->c[XLB_CNT_NAT_REPLY]++;
	xlb_count_out(vid, bid, len);
	return xlb_forward_own(ctx, hook, p, now, st, &fresh);
}

/* Whether a packet to port (network order) may be a full-NAT reply: the port is in the range. */
static __always_inline int xlb_fnat_port(const struct xlb_config *cfg, __be16 port)
{
	__u16 h = bpf_ntohs(port);

	return cfg && cfg->fnat_port_lo && h >= cfg->fnat_port_lo && h <= cfg->fnat_port_hi;
}

#endif /* XLB_FNAT_H */
