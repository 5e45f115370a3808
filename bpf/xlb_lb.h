/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Load balancing proper: conntrack lookups and inserts, the Maglev pick for a
 * new flow, and the two directions of NAT mode. A flow keeps its backend while
 * that backend is active or draining and still has the generation the flow
 * was recorded with; otherwise it is picked again, so flows of a removed
 * backend never reach whatever later takes over its slot.
 */
#ifndef XLB_LB_H
#define XLB_LB_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_hash.h"
#include "xlb_nat.h"
#include "xlb_reject.h"

#define XLB_NSEC_PER_SEC 1000000000ULL

/* The backend a recorded flow is pinned to, if it may still carry the flow. */
static __always_inline struct xlb_backend *xlb_ct_backend(const struct xlb_ct_entry *ct,
							   __u32 vip_id)
{
	__u32 id = ct->backend_id;
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &id);

	if (!be || be->gen != ct->backend_gen || be->state == XLB_BE_REMOVED ||
	    be->vip_id != vip_id)
		return NULL;
	return be;
}

/*
 * Maglev pick for a flow without a usable conntrack entry. Returns 0, or
 * DROP_NO_BACKEND when the VIP has no backend for new flows, or DROP_NO_TABLE
 * when the maps disagree (a table missing or pointing at a dead slot).
 */
static __always_inline int xlb_select(const struct xlb_vip *vip, const struct xlb_flow_key *fk,
				      __u32 *bid, struct xlb_backend **bep)
{
	__u32 size = vip->table_size, tid = vip->table_id, idx, eidx;
	__u32 *e;
	struct xlb_backend *be;
	void *tbl;

	if (!size)
		return XLB_CNT_DROP_NO_BACKEND;
	tbl = bpf_map_lookup_elem(&xlb_tables, &tid);
	if (!tbl)
		return XLB_CNT_DROP_NO_TABLE;
	idx = xlb_hash_flow(fk) % size;
	eidx = idx / XLB_TABLE_SLOTS;
	e = bpf_map_lookup_elem(tbl, &eidx);
	if (!e)
		return XLB_CNT_DROP_NO_TABLE;
	*bid = e[idx % XLB_TABLE_SLOTS];
	be = bpf_map_lookup_elem(&xlb_backends, bid);
	/* Draining is tolerated: the writer swaps the table before it marks the backend. */
	if (!be || be->state == XLB_BE_REMOVED || be->vip_id != vip->vip_id)
		return XLB_CNT_DROP_NO_TABLE;
	*bep = be;
	return 0;
}

/* Per-CPU new-flow budget: a flood of new flows must not evict established ones. */
static __always_inline int xlb_ct_may_insert(void)
{
	__u32 zero = 0;
	struct xlb_config *cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	struct xlb_ct_budget *b;
	__u64 now;

	if (!cfg || !cfg->ct_insert_limit)
		return 1;
	b = bpf_map_lookup_elem(&xlb_ct_budget, &zero);
	if (!b)
		return 1;
	now = bpf_ktime_get_ns();
	if (now - b->window_start_ns >= XLB_NSEC_PER_SEC) {
		b->window_start_ns = now;
		b->inserts = 0;
	}
	if (b->inserts >= cfg->ct_insert_limit)
		return 0;
	b->inserts++;
	return 1;
}

/* Records both directions of a new flow; nh is the next hop towards the backend. */
static __always_inline void xlb_ct_record(const struct xlb_flow_key *fk, __u32 bid,
					  const struct xlb_backend *be, __u32 vip_id,
					  const struct xlb_nh *nh, struct xlb_stats *st)
{
	struct xlb_ct_entry e = {};
	struct xlb_flow_key rk = {};

	xlb_addr_copy(&e.nat_addr, &be->addr);
	e.nat_port = be->port;
	e.backend_id = bid;
	e.backend_gen = be->gen;
	e.vip_id = vip_id;
	e.nh = *nh;
	if (bpf_map_update_elem(&xlb_ct, fk, &e, BPF_ANY)) {
		st->c[XLB_CNT_CT_INSERT_FAILED]++;
		return;
	}
	xlb_addr_copy(&rk.saddr, &be->addr);
	xlb_addr_copy(&rk.daddr, &fk->saddr);
	rk.sport = be->port;
	rk.dport = fk->sport;
	rk.proto = fk->proto;
	rk.family = fk->family;
	rk.dir = XLB_DIR_REPLY;
	xlb_addr_copy(&e.nat_addr, &fk->daddr);
	e.nat_port = fk->dport;
	e.nh.stamp = 0; /* the way back to the client is learnt from the first reply */
	if (bpf_map_update_elem(&xlb_ct, &rk, &e, BPF_ANY)) {
		st->c[XLB_CNT_CT_INSERT_FAILED]++;
		return;
	}
	st->c[XLB_CNT_CT_NEW]++;
}

static __always_inline int xlb_no_backend(void *ctx, const int hook, struct xlb_pkt *p,
					  const struct xlb_vip *vip, struct xlb_vip_stats *vs)
{
	int r;

	/* Never answer a RST with a RST. */
	if ((vip->flags & XLB_VIP_F_DROP_NO_BACKEND) ||
	    (p->proto == XLB_PROTO_TCP && (p->tcp_flags & TCP_F_RST))) {
		if (vs)
			vs->drops[XLB_VIP_DROP_NO_BACKEND]++;
		return XLB_CNT_DROP_NO_BACKEND;
	}
	r = xlb_reject(ctx, hook, p);
	if (vs) {
		if (r == XLB_CNT_DROP_REJECT_FAILED)
			vs->drops[XLB_VIP_DROP_REJECT_FAILED]++;
		else
			vs->rejected++;
	}
	return r;
}

static __always_inline void xlb_count_in(__u32 vip_id, __u32 bid, __u32 len, int new_flow)
{
	struct xlb_backend_stats *bs;
	struct xlb_vip_stats *vs;

	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	if (vs) {
		vs->pkts_in++;
		vs->bytes_in += len;
		vs->new_flows += new_flow;
	}
	bs = bpf_map_lookup_elem(&xlb_backend_stats, &bid);
	if (bs) {
		bs->pkts_in++;
		bs->bytes_in += len;
		bs->new_flows += new_flow;
	}
}

static __always_inline void xlb_count_fib_drop(__u32 vip_id, int r)
{
	struct xlb_vip_stats *vs;

	if (r != XLB_CNT_DROP_FIB)
		return;
	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	if (vs)
		vs->drops[XLB_VIP_DROP_FIB]++;
}

/*
 * Client -> VIP. Conntrack first: an established flow needs neither the VIP
 * lookup nor Maglev, and carries its next hop. The packet's own tuple is the
 * key of both lookups. Returns 0 when the packet is not for a VIP after all
 * (the address filter only says "maybe").
 */
static __always_inline int xlb_to_backend(void *ctx, const int hook, struct xlb_pkt *p,
					  struct xlb_stats *st)
{
	__u32 vip_id, bid = 0, len = p->frame_len;
	struct xlb_backend *be = NULL;
	struct xlb_vip_stats *vs;
	struct xlb_flow_key fk;
	struct xlb_ct_entry *ct;
	struct xlb_nh nh = {};
	struct xlb_vip *vip;
	union xlb_addr baddr;
	__be16 bport;
	int r;

	/*
	 * A SYN on a recorded tuple opens a new connection (the client reused its
	 * port): a draining backend takes none, so it is picked again; and another
	 * VIP sharing the backend may have taken the reply entry since (the backend
	 * sees one tuple), so the flow is recorded again and its replies leave as
	 * this VIP.
	 */
	int syn = p->proto == XLB_PROTO_TCP &&
		  (p->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN;

	ct = bpf_map_lookup_elem(&xlb_ct, &p->t);
	if (ct) {
		vip_id = ct->vip_id;
		be = xlb_ct_backend(ct, vip_id);
		if (be && syn && be->state != XLB_BE_ACTIVE)
			be = NULL;
		if (be) {
			st->c[XLB_CNT_CT_HIT]++;
			bid = ct->backend_id;
			fk = p->t;
			xlb_addr_copy(&baddr, &be->addr);
			if (xlb_nat(ctx, hook, p, XLB_NAT_DST, &baddr, be->port))
				return XLB_CNT_DROP_INTERNAL;
			st->c[XLB_CNT_NAT_ORIG]++;
			xlb_count_in(vip_id, bid, len, syn);
			r = xlb_forward(ctx, hook, p, &ct->nh);
			if (syn) {
				nh = ct->nh;
				xlb_ct_record(&fk, bid, be, vip_id, &nh, st);
			}
			xlb_count_fib_drop(vip_id, r);
			return r;
		}
	}

	vip = bpf_map_lookup_elem(&xlb_vips, &p->t);
	if (!vip)
		return 0;
	if (ct)
		st->c[XLB_CNT_CT_REPICK]++;
	vip_id = vip->vip_id;
	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	r = xlb_select(vip, &p->t, &bid, &be);
	if (r == XLB_CNT_DROP_NO_BACKEND)
		return xlb_no_backend(ctx, hook, p, vip, vs);
	if (r) {
		if (vs)
			vs->drops[XLB_VIP_DROP_NO_TABLE]++;
		return r;
	}
	if (!xlb_ct_may_insert()) {
		if (vs)
			vs->drops[XLB_VIP_DROP_CT_LIMIT]++;
		return XLB_CNT_DROP_CT_LIMIT;
	}
	fk = p->t; /* the NAT below rewrites the tuple */
	xlb_addr_copy(&baddr, &be->addr);
	bport = be->port;
	if (xlb_nat(ctx, hook, p, XLB_NAT_DST, &baddr, bport))
		return XLB_CNT_DROP_INTERNAL;
	st->c[XLB_CNT_NAT_ORIG]++;
	xlb_count_in(vip_id, bid, len, 1);
	r = xlb_forward(ctx, hook, p, &nh);
	xlb_ct_record(&fk, bid, be, vip_id, &nh, st);
	xlb_count_fib_drop(vip_id, r);
	return r;
}

/* Backend -> client of a flow xlb recorded: SNAT back to the VIP, forward. */
static __always_inline int xlb_to_client(void *ctx, const int hook, struct xlb_pkt *p,
					 struct xlb_stats *st)
{
	struct xlb_backend_stats *bs;
	struct xlb_vip_stats *vs;
	struct xlb_ct_entry *ct;
	union xlb_addr vaddr;
	__u32 vip_id, bid, len = p->frame_len;
	__be16 vport;

	/* A reply's own tuple is the REPLY key its flow recorded. */
	p->dir = XLB_DIR_REPLY;
	ct = bpf_map_lookup_elem(&xlb_ct, &p->t);
	p->dir = XLB_DIR_ORIG;
	if (!ct)
		return XLB_CNT_PASS_NOT_VIP;
	xlb_addr_copy(&vaddr, &ct->nat_addr);
	vport = ct->nat_port;
	vip_id = ct->vip_id;
	bid = ct->backend_id;
	if (xlb_nat(ctx, hook, p, XLB_NAT_SRC, &vaddr, vport))
		return XLB_CNT_DROP_INTERNAL;
	st->c[XLB_CNT_NAT_REPLY]++;
	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	if (vs) {
		vs->pkts_out++;
		vs->bytes_out += len;
	}
	bs = bpf_map_lookup_elem(&xlb_backend_stats, &bid);
	if (bs) {
		bs->pkts_out++;
		bs->bytes_out += len;
	}
	return xlb_forward(ctx, hook, p, &ct->nh);
}

#endif /* XLB_LB_H */
