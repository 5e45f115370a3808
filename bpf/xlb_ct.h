/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: one 16-byte entry per flow, in a table per family (xlb_ct4 keys
 * are 16 bytes, xlb_ct6 keys the parsed tuple itself). A reply carries no key
 * of its own: its source names a backend endpoint, whose primary backend
 * serves one VIP, and that VIP plus the reply's destination rebuild the
 * original direction's key. Only flows to a backend that shares its endpoint
 * with another VIP's backend record a second, reply-direction entry. Entries
 * know enough TCP to live as long as their state deserves (abi.h's
 * lifetimes); an expired entry counts as none here and is deleted by xlbd.
 * New flows draw on per-CPU and per-VIP budgets; over them a flow is
 * forwarded without an entry, and for a while after that, replies that find
 * no entry are checked against Maglev instead.
 */
#ifndef XLB_CT_H
#define XLB_CT_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_hash.h"

static __always_inline int xlb_tick_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

static __always_inline const struct xlb_config *xlb_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xlb_config, &zero);
}

/* Lifetime of a state in ticks: the configured one, or abi.h's default. */
static __always_inline __u32 xlb_ct_lifetime(const struct xlb_config *cfg, __u8 state)
{
	__u32 sec, i = state;

	/* The check on the very register that indexes: the verifier bounds the access by it. */
	asm volatile("" : "+r"(i));
	if (i >= XLB_CTS_MAX)
		i = XLB_CTS_EST;
	if (cfg && cfg->ct_timeout[i])
		return cfg->ct_timeout[i];
	state = i;
	switch (state) {
	case XLB_CTS_SYN:
		sec = XLB_CT_TIMEOUT_SYN_DEFAULT;
		break;
	case XLB_CTS_FIN:
		sec = XLB_CT_TIMEOUT_FIN_DEFAULT;
		break;
	case XLB_CTS_CLOSED:
		sec = XLB_CT_TIMEOUT_CLOSED_DEFAULT;
		break;
	case XLB_CTS_UDP:
		sec = XLB_CT_TIMEOUT_UDP_DEFAULT;
		break;
	default:
		sec = XLB_CT_TIMEOUT_EST_DEFAULT;
	}
	return sec * XLB_TICKS_PER_SEC;
}

/* The state a flow's first recorded packet puts it in. */
static __always_inline __u8 xlb_ct_state_of(const struct xlb_pkt *p)
{
	if (p->proto != XLB_PROTO_TCP)
		return XLB_CTS_UDP;
	if (p->tcp_flags & TCP_F_RST)
		return XLB_CTS_CLOSED;
	if ((p->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN)
		return XLB_CTS_SYN;
	return XLB_CTS_EST; /* picked up mid-flow */
}

/*
 * A packet of a recorded flow moves its state (a RST or the second FIN close
 * it; the client's first ACK ends the handshake) and pushes its expiry out.
 * The entry is written only when that changes something or a new
 * XLB_CT_TOUCH_SHIFT second has begun since its last write, so an established
 * flow writes about once a second, and its other packets stop at the first
 * test.
 */
static __always_inline void xlb_ct_touch(struct xlb_ct_entry *e, const struct xlb_config *cfg,
					 __u32 now, const struct xlb_pkt *p, int reply)
{
	__u8 state = e->state, flags = e->flags;
	__u16 stamp = now >> XLB_CT_TOUCH_SHIFT;
	int tcp = p->proto == XLB_PROTO_TCP;

	if (stamp == e->touched && state != XLB_CTS_SYN &&
	    !(tcp && (p->tcp_flags & (TCP_F_FIN | TCP_F_RST))))
		return;
	if (tcp) {
		if (p->tcp_flags & TCP_F_RST) {
			state = XLB_CTS_CLOSED;
		} else if (p->tcp_flags & TCP_F_FIN) {
			flags |= reply ? XLB_CT_F_FIN_REPLY : XLB_CT_F_FIN_ORIG;
			state = (flags & (XLB_CT_F_FIN_ORIG | XLB_CT_F_FIN_REPLY)) ==
						(XLB_CT_F_FIN_ORIG | XLB_CT_F_FIN_REPLY)
					? XLB_CTS_CLOSED
					: XLB_CTS_FIN;
		} else if (state == XLB_CTS_SYN && !reply &&
			   (p->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_ACK) {
			state = XLB_CTS_EST;
		}
	}
	if (state != e->state || flags != e->flags || stamp != e->touched) {
		e->state = state;
		e->flags = flags;
		e->expires = now + xlb_ct_lifetime(cfg, state);
		e->touched = stamp;
	}
}

/* An established DSR flow lives the DSR idle time past its client's last packet. */
static __always_inline void xlb_dsr_cap(struct xlb_ct_entry *e, const struct xlb_config *cfg,
					__u32 now)
{
	__u32 idle =
	    cfg && cfg->dsr_idle ? cfg->dsr_idle : XLB_DSR_IDLE_DEFAULT * XLB_TICKS_PER_SEC;

	if (e->state == XLB_CTS_EST && xlb_tick_after(e->expires, now + idle))
		e->expires = now + idle;
}

/*
 * A tuple's value in the table of its family: m4 keyed by struct
 * xlb_ct4_key, m6 by the flow key itself (conntrack's xlb_ct4/xlb_ct6,
 * full-NAT's xlb_fnat4/xlb_fnat6). The empty asm keeps the compiler from
 * sharing one call between the two tables: the verifier inlines a lookup
 * (and calls an update directly) only where a call site always sees the
 * same map, and otherwise goes through the generic helper and an indirect
 * call, which cost the established path about 20 ns.
 */
static __always_inline void *xlb_tuple_lookup(void *m4, void *m6, const struct xlb_flow_key *t)
{
	struct xlb_ct4_key k;
	void *v;

	if (t->family == XLB_AF_INET) {
		xlb_ct4_key_of(&k, t);
		v = bpf_map_lookup_elem(m4, &k);
		asm volatile("" : "+r"(v));
		return v;
	}
	return bpf_map_lookup_elem(m6, t);
}

static __always_inline long xlb_tuple_update(void *m4, void *m6, const struct xlb_flow_key *t,
					     const void *v, __u64 flags)
{
	struct xlb_ct4_key k;
	long err;

	if (t->family == XLB_AF_INET) {
		xlb_ct4_key_of(&k, t);
		err = bpf_map_update_elem(m4, &k, v, flags);
		asm volatile("" : "+r"(err));
		return err;
	}
	return bpf_map_update_elem(m6, t, v, flags);
}

/* The entry of a flow direction (t->dir). */
static __always_inline struct xlb_ct_entry *xlb_ct_lookup(const struct xlb_flow_key *t)
{
	return xlb_tuple_lookup(&xlb_ct4, &xlb_ct6, t);
}

static __always_inline long xlb_ct_update(const struct xlb_flow_key *t,
					  const struct xlb_ct_entry *e, __u64 flags)
{
	return xlb_tuple_update(&xlb_ct4, &xlb_ct6, t, e, flags);
}

/*
 * The backend a recorded flow is pinned to: 1 when it may still carry the
 * flow (same generation, not removed), 0 when the flow must be picked again,
 * -1 when the entry has expired.
 */
static __always_inline int xlb_ct_backend(const struct xlb_ct_entry *ct, __u32 now,
					  struct xlb_backend **bep)
{
	__u32 id = ct->backend_id;
	struct xlb_backend *be;

	if (xlb_tick_after(now, ct->expires))
		return -1;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!be || be->gen != ct->backend_gen || be->state == XLB_BE_REMOVED)
		return 0;
	*bep = be;
	return 1;
}

/* A flow's entry as recorded now: its backend, the state's lifetime, the reply-entry flag. */
static __always_inline void xlb_ct_fill(struct xlb_ct_entry *e, __u32 bid,
					const struct xlb_backend *be, __u8 state, __u32 now,
					const struct xlb_config *cfg)
{
	e->backend_id = bid;
	e->backend_gen = be->gen;
	e->expires = now + xlb_ct_lifetime(cfg, state);
	e->state = state;
	e->flags = be->flags & XLB_BE_F_REPLY_ENTRY ? XLB_CT_F_REPLY_ENTRY : 0;
	e->touched = now >> XLB_CT_TOUCH_SHIFT;
}

/*
 * The reply-direction entry of flow t (backend -> client), for a backend
 * that shares its endpoint: the same value as the flow's own entry.
 */
static __always_inline void xlb_ct_reply_record(const struct xlb_flow_key *t,
						const struct xlb_backend *be,
						const struct xlb_ct_entry *e, struct xlb_stats *st)
{
	struct xlb_flow_key rk = {};

	xlb_addr_copy(&rk.daddr, &t->saddr);
	xlb_addr_copy(&rk.saddr, &be->addr);
	rk.dport = t->sport;
	rk.sport = be->port;
	rk.proto = t->proto;
	rk.family = t->family;
	rk.dir = XLB_DIR_REPLY;
	if (xlb_ct_update(&rk, e, BPF_ANY)) {
		st->c[XLB_CNT_CT_INSERT_FAILED]++;
		return;
	}
	st->c[XLB_CNT_CT_REPLY_ENTRY]++;
}

/*
 * Records a new flow (t is its client -> VIP tuple). flags is BPF_NOEXIST for
 * a SYN, whose tuple is seldom recorded: the insert then doubles as the
 * lookup, and -EEXIST_ comes back when it was. A backend that shares its
 * endpoint also gets the reply-direction entry. Returns 0 or -errno.
 */
static __always_inline long xlb_ct_record(const struct xlb_flow_key *t, __u32 bid,
					  const struct xlb_backend *be, __u8 state, __u32 now,
					  const struct xlb_config *cfg, __u64 flags,
					  struct xlb_stats *st)
{
	struct xlb_ct_entry e = {};
	long err;

	xlb_ct_fill(&e, bid, be, state, now, cfg);
	err = xlb_ct_update(t, &e, flags);
	if (err) {
		if (err != -EEXIST_)
			st->c[XLB_CNT_CT_INSERT_FAILED]++;
		return err;
	}
	st->c[XLB_CNT_CT_NEW]++;
	if (e.flags & XLB_CT_F_REPLY_ENTRY)
		xlb_ct_reply_record(t, be, &e, st);
	return 0;
}

/* Opens a new second for a budget that is behind; returns whether it is used up. */
static __always_inline int xlb_budget_spent(struct xlb_budget *b, __u32 limit, __u32 now)
{
	if (now - b->window >= XLB_TICKS_PER_SEC) {
		b->window = now;
		b->used = 0;
	}
	return b->used >= limit;
}

/*
 * Whether a new flow of vip_id may be recorded: both the CPU's and the VIP's
 * budget of this second must have room, and only then are both charged, so
 * a flooded VIP spends its own budget and leaves the CPU's to the others.
 */
static __always_inline int xlb_may_record(const struct xlb_config *cfg, __u32 vip_id, __u32 now)
{
	struct xlb_budget *c = NULL, *v = NULL;
	__u32 zero = 0;

	if (!cfg)
		return 1;
	if (cfg->new_per_cpu) {
		c = bpf_map_lookup_elem(&xlb_ct_budget, &zero);
		if (c && xlb_budget_spent(c, cfg->new_per_cpu, now))
			return 0;
	}
	if (cfg->new_per_vip) {
		v = bpf_map_lookup_elem(&xlb_vip_budget, &vip_id);
		if (v && xlb_budget_spent(v, cfg->new_per_vip, now))
			return 0;
	}
	if (c)
		c->used++;
	if (v)
		v->used++;
	return 1;
}

/* A flow of vip_id went unrecorded: its replies will find no entry for a while. */
static __always_inline void xlb_flood_mark(__u32 vip_id, __u32 now)
{
	struct xlb_vip_flood *f = bpf_map_lookup_elem(&xlb_vip_flood, &vip_id);
	__u32 until = now + XLB_STATELESS_GRACE_SEC * XLB_TICKS_PER_SEC;

	/* Written about once a second, so CPUs do not fight over the line. */
	if (f && (__s32)(until - f->stateless_until) > (__s32)XLB_TICKS_PER_SEC)
		f->stateless_until = until;
}

static __always_inline int xlb_flooded(__u32 vip_id, __u32 now)
{
	struct xlb_vip_flood *f = bpf_map_lookup_elem(&xlb_vip_flood, &vip_id);

	return f && f->stateless_until && !xlb_tick_after(now, f->stateless_until);
}

#endif /* XLB_CT_H */
