// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlb's data plane: one implementation of the load balancer behind three entry
 * points, XDP (ingress on NICs and host-side container veths), TC ingress (the
 * same job where XDP would cost GRO/GSO and checksum offload) and TC egress
 * (traffic this host itself sends to a VIP, and replies of local backends).
 * The cgroup socket programs of xlb_sock.h share the same maps: local
 * sockets are balanced at connect()/sendmsg(), before a packet exists.
 * Each packet is parsed, classified (VIP traffic, a reply of a translated flow,
 * an ICMP error about one, or none of ours), handled, and counted: exactly one
 * reason and one verdict per packet in xlb_stats.
 */
#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_parse.h"
#include "xlb_lb.h"
#include "xlb_icmp.h"
#include "xlb_dsr.h"
#include "xlb_sock.h"

/* Enough linear bytes for Ethernet + VLAN + IPv4 with options + TCP with options. */
#define XLB_PULL_LEN (XLB_L2_MAX + XLB_IPV4_MAX + 60)

static __always_inline int xlb_verdict_of(int reason)
{
	switch (reason) {
#define XLB_X_REASON(r, v, h) \
	case XLB_CNT_##r:     \
		return XLB_CNT_V_##v;
		XLB_REASONS(XLB_X_REASON)
#undef XLB_X_REASON
	}
	return XLB_CNT_V_PASS;
}

static __always_inline int xlb_finish(const int hook, struct xlb_stats *st, int reason, int act)
{
	int verdict = xlb_verdict_of(reason);

	if ((unsigned int)reason < XLB_CNT_MAX)
		st->c[reason]++;
	switch (verdict) {
	case XLB_CNT_V_DROP:
		st->c[XLB_CNT_V_DROP]++;
		return hook == XLB_HOOK_XDP ? XDP_DROP : TC_ACT_SHOT_;
	case XLB_CNT_V_TX:
		st->c[XLB_CNT_V_TX]++;
		return act;
	case XLB_CNT_V_REDIRECT:
		st->c[XLB_CNT_V_REDIRECT]++;
		return act;
	default:
		st->c[XLB_CNT_V_PASS]++;
		return hook == XLB_HOOK_XDP ? XDP_PASS : TC_ACT_OK_;
	}
}

/* Parses the packet into p, pulling an skb's headers into its linear part where needed. */
static __always_inline int xlb_parse_pull(void *ctx, const int hook, struct xlb_pkt *p,
					  struct xlb_stats *st)
{
	int r = xlb_parse(ctx, hook, p, st);

	if (hook != XLB_HOOK_XDP &&
	    (r == XLB_CNT_PASS_TRUNCATED || r == XLB_CNT_DROP_MALFORMED_VIP)) {
		/* An skb may keep headers outside its linear part: pull and look again. */
		struct __sk_buff *skb = ctx;
		__u32 linear = skb->data_end - skb->data;

		if (skb->len > linear) {
			bpf_skb_pull_data(skb, skb->len < XLB_PULL_LEN ? skb->len : XLB_PULL_LEN);
			__builtin_memset(p, 0, sizeof(*p));
			r = xlb_parse(ctx, hook, p, st);
		}
	}
	return r;
}

/* The tail calls' targets: one slot each per hook's program array (below). */
enum { XLB_JMP_ICMP = 0, XLB_JMP_DSR = 1, XLB_JMP_DECAP = 2, XLB_JMP_HOOKS = 3 };

/*
 * ICMP errors (xlb_icmp.h) and DSR's two ends (xlb_dsr.h: the balancer's, for
 * a packet to a DSR VIP or of a DSR flow, the agent's, for IPIP/IP6IP6) run
 * as programs of their own, reached by a tail call: the inlined main path
 * uses nearly all of the 512-byte stack, and a tail call starts the next
 * program on a fresh one. They parse the packet again (it is unchanged) and
 * end it with its reason and verdict like the main path.
 */
static __always_inline int xlb_tail_prog(void *ctx, const int hook, const int which)
{
	struct xlb_pkt p = {};
	struct xlb_stats *st;
	__u32 zero = 0;
	int r;

	st = bpf_map_lookup_elem(&xlb_stats, &zero);
	if (!st)
		return hook == XLB_HOOK_XDP ? XDP_PASS : TC_ACT_OK_;
	if (which == XLB_JMP_DECAP && hook != XLB_HOOK_XDP) {
		/* Outer and inner headers, linear: more than the main path pulls. */
		__u32 len = xlb_frame_len(ctx, hook);

		if (len > XLB_PULL_LEN + 40)
			len = XLB_PULL_LEN + 40;
		bpf_skb_pull_data(ctx, len);
	}
	r = xlb_parse_pull(ctx, hook, &p, NULL);
	if (which == XLB_JMP_DECAP)
		r = r == XLB_CNT_PASS_PROTO && xlb_is_tunnel(p.proto) ? xlb_dsr_decap(ctx, hook, &p, st)
								      : r ?: XLB_CNT_PASS_TUNNEL;
	else if (!r)
		r = which == XLB_JMP_ICMP ? xlb_icmp(ctx, hook, &p, st)
					  : xlb_dsr_to_backend(ctx, hook, &p, st);
	return xlb_finish(hook, st, r, p.act);
}

SEC("xdp")
int xlb_icmp_xdp(struct xdp_md *ctx)
{
	return xlb_tail_prog(ctx, XLB_HOOK_XDP, XLB_JMP_ICMP);
}

SEC("tc")
int xlb_icmp_tci(struct __sk_buff *skb)
{
	return xlb_tail_prog(skb, XLB_HOOK_TC_INGRESS, XLB_JMP_ICMP);
}

SEC("tc")
int xlb_icmp_tce(struct __sk_buff *skb)
{
	return xlb_tail_prog(skb, XLB_HOOK_TC_EGRESS, XLB_JMP_ICMP);
}

SEC("xdp")
int xlb_dsr_xdp(struct xdp_md *ctx)
{
	return xlb_tail_prog(ctx, XLB_HOOK_XDP, XLB_JMP_DSR);
}

SEC("tc")
int xlb_dsr_tci(struct __sk_buff *skb)
{
	return xlb_tail_prog(skb, XLB_HOOK_TC_INGRESS, XLB_JMP_DSR);
}

SEC("tc")
int xlb_dsr_tce(struct __sk_buff *skb)
{
	return xlb_tail_prog(skb, XLB_HOOK_TC_EGRESS, XLB_JMP_DSR);
}

SEC("xdp")
int xlb_decap_xdp(struct xdp_md *ctx)
{
	return xlb_tail_prog(ctx, XLB_HOOK_XDP, XLB_JMP_DECAP);
}

SEC("tc")
int xlb_decap_tci(struct __sk_buff *skb)
{
	return xlb_tail_prog(skb, XLB_HOOK_TC_INGRESS, XLB_JMP_DECAP);
}

/* The tail calls' targets, filled by libbpf at load: one array per program type. */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, XLB_JMP_HOOKS);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} xlb_jmp_xdp SEC(".maps") = {
    .values =
	{
	    [XLB_JMP_ICMP] = (void *)&xlb_icmp_xdp,
	    [XLB_JMP_DSR] = (void *)&xlb_dsr_xdp,
	    [XLB_JMP_DECAP] = (void *)&xlb_decap_xdp,
	},
};

/* TC's: XLB_JMP_HOOKS slots per hook, ingress first. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2 * XLB_JMP_HOOKS);
	__type(key, __u32);
	__array(values, int(struct __sk_buff *));
} xlb_jmp_tc SEC(".maps") = {
    .values =
	{
	    [XLB_JMP_ICMP] = (void *)&xlb_icmp_tci,
	    [XLB_JMP_DSR] = (void *)&xlb_dsr_tci,
	    [XLB_JMP_DECAP] = (void *)&xlb_decap_tci,
	    [XLB_JMP_HOOKS + XLB_JMP_ICMP] = (void *)&xlb_icmp_tce,
	    [XLB_JMP_HOOKS + XLB_JMP_DSR] = (void *)&xlb_dsr_tce,
	},
};

/* Continues the packet in program which of the hook's array; returns only where it is missing. */
static __always_inline void xlb_jump(void *ctx, const int hook, __u32 which)
{
	if (hook == XLB_HOOK_XDP)
		bpf_tail_call(ctx, &xlb_jmp_xdp, which);
	else
		bpf_tail_call(ctx, &xlb_jmp_tc,
			      (hook == XLB_HOOK_TC_INGRESS ? 0 : XLB_JMP_HOOKS) + which);
}

static __always_inline int xlb_process(void *ctx, const int hook)
{
	struct xlb_pkt p = {};
	struct xlb_stats *st;
	__u32 zero = 0;
	int r;

	st = bpf_map_lookup_elem(&xlb_stats, &zero);
	if (!st)
		return hook == XLB_HOOK_XDP ? XDP_PASS : TC_ACT_OK_;

	r = xlb_parse_pull(ctx, hook, &p, st);
	if (r) {
		/* A tunnel's packet may be DSR's, to this node as a backend's agent. */
		if (r == XLB_CNT_PASS_PROTO && xlb_is_tunnel(p.proto) && hook != XLB_HOOK_TC_EGRESS)
			xlb_jump(ctx, hook, XLB_JMP_DECAP);
		return xlb_finish(hook, st, r, 0);
	}

	if (p.proto == IPPROTO_ICMP_ || p.proto == IPPROTO_ICMPV6_) {
		xlb_jump(ctx, hook, XLB_JMP_ICMP);
		/* Only where the target is missing (it never is once loaded): left alone. */
		return xlb_finish(hook, st, XLB_CNT_PASS_ICMP, 0);
	}

	if (xlb_filter_hit(XLB_FILTER_VIP, &p.daddr, p.family)) {
		r = xlb_to_backend(ctx, hook, &p, st);
		if (r == XLB_JUMP_DSR) {
			xlb_jump(ctx, hook, XLB_JMP_DSR);
			return xlb_finish(hook, st, XLB_CNT_DROP_INTERNAL, 0);
		}
		if (r)
			return xlb_finish(hook, st, r, p.act);
	}
	if (xlb_filter_hit(XLB_FILTER_BACKEND, &p.saddr, p.family)) {
		r = xlb_to_client(ctx, hook, &p, st);
		return xlb_finish(hook, st, r, p.act);
	}
	return xlb_finish(hook, st, XLB_CNT_PASS_NOT_VIP, 0);
}

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	return xlb_process(ctx, XLB_HOOK_XDP);
}

SEC("tc")
int xlb_tc_ingress(struct __sk_buff *skb)
{
	return xlb_process(skb, XLB_HOOK_TC_INGRESS);
}

SEC("tc")
int xlb_tc_egress(struct __sk_buff *skb)
{
	return xlb_process(skb, XLB_HOOK_TC_EGRESS);
}

/*
 * The second half of XDP's handoff (xlb_handoff in xlb_nat.h), on the TC
 * ingress of every interface with xlb's XDP: a packet XDP translated for a
 * device it cannot transmit into is sent there; anything else goes on.
 */
SEC("tc")
int xlb_tc_handoff(struct __sk_buff *skb)
{
	struct xlb_handoff *h;
	struct xlb_stats *st;
	struct xlb_pkt p = {};
	__u32 zero = 0;
	int r;

	if (!xlb_handoff_used)
		return TC_ACT_OK_;

	st = bpf_map_lookup_elem(&xlb_stats, &zero);
	if (!st)
		return TC_ACT_OK_;
	/* DSR's encapsulated packets too: their tuple is the outer header's, without ports. */
	r = xlb_parse(skb, XLB_HOOK_TC_INGRESS, &p, NULL);
	if (r && !(r == XLB_CNT_PASS_PROTO && xlb_is_tunnel(p.proto)))
		return TC_ACT_OK_;
	p.dir = 0;
	h = bpf_map_lookup_elem(&xlb_handoff, &p.t);
	if (!h)
		return TC_ACT_OK_;
	st->c[XLB_CNT_HANDOFF_SENT]++;
	if (h->flags & XLB_HANDOFF_F_NEIGH)
		return bpf_redirect_neigh(h->ifindex, NULL, 0, 0);
	return bpf_redirect(h->ifindex, 0);
}

/*
 * The clock's calibration sample (xlb_clock.h), run by user space with
 * BPF_PROG_TEST_RUN: jiffies and CLOCK_MONOTONIC read together, and the
 * kernel's HZ where libbpf found its config (0 where it did not).
 */
SEC("syscall")
int xlb_clock_read(struct xlb_clock_sample *s)
{
	s->jiffies = bpf_jiffies64();
	s->ns = bpf_ktime_get_ns();
	s->hz = CONFIG_HZ;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
