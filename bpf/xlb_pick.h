/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every forwarding mode shares on the way to a backend: Maglev's pick
 * for a flow without a usable entry, the answer when a VIP has no backend, and
 * the per-VIP and per-backend counters.
 */
#ifndef XLB_PICK_H
#define XLB_PICK_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_hash.h"
#include "xlb_reject.h"

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

/*
 * A new flow's backend by Maglev, or the packet's answer when there is none
 * (the VIP's no-backend policy) or the tables disagree, counted on the VIP.
 * Returns 0 with *bid and *bep set, else the reason.
 */
static __always_inline int xlb_pick_new(void *ctx, const int hook, struct xlb_pkt *p,
					const struct xlb_vip *vip, struct xlb_vip_stats *vs,
					__u32 *bid, struct xlb_backend **bep)
{
	int r = xlb_select(vip, &p->t, bid, bep);

	if (r == XLB_CNT_DROP_NO_BACKEND)
		return xlb_no_backend(ctx, hook, p, vip, vs);
	if (r && vs)
		vs->drops[XLB_VIP_DROP_NO_TABLE]++;
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

static __always_inline void xlb_count_out(__u32 vip_id, __u32 bid, __u32 len)
{
	struct xlb_backend_stats *bs;
	struct xlb_vip_stats *vs;

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
}

static __always_inline void xlb_vip_drop(__u32 vip_id, int which)
{
	struct xlb_vip_stats *vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);

	if (vs && (unsigned int)which < XLB_VIP_DROP_MAX)
		vs->drops[which]++;
}

#endif /* XLB_PICK_H */
