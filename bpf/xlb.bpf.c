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
#include "xlb_sock.h"

/* Enough linear bytes for Ethernet + VLAN + IPv4 with options + TCP with options. */
#define XLB_PULL_LEN (XLB_L2_MAX + XLB_IPV4_MAX + 60)

static __always_inline int xlb_verdict_of(int reason)
{
	switch (reason) {
#define XLB_X_REASON(r, v, h)                                                                      \
	case XLB_CNT_##r:                                                                          \
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

static __always_inline int xlb_process(void *ctx, const int hook)
{
	struct xlb_pkt p = {};
	struct xlb_stats *st;
	__u32 zero = 0;
	int r;

	st = bpf_map_lookup_elem(&xlb_stats, &zero);
	if (!st)
		return hook == XLB_HOOK_XDP ? XDP_PASS : TC_ACT_OK_;

	r = xlb_parse(ctx, hook, &p, st);
	if (hook != XLB_HOOK_XDP &&
	    (r == XLB_CNT_PASS_TRUNCATED || r == XLB_CNT_DROP_MALFORMED_VIP)) {
		/* An skb may keep headers outside its linear part: pull and look again. */
		struct __sk_buff *skb = ctx;
		__u32 linear = skb->data_end - skb->data;

		if (skb->len > linear) {
			bpf_skb_pull_data(skb, skb->len < XLB_PULL_LEN ? skb->len : XLB_PULL_LEN);
			__builtin_memset(&p, 0, sizeof(p));
			r = xlb_parse(ctx, hook, &p, st);
		}
	}
	if (r)
		return xlb_finish(hook, st, r, 0);

	if (p.proto == IPPROTO_ICMP_ || p.proto == IPPROTO_ICMPV6_) {
		r = xlb_icmp(ctx, hook, &p, st);
		return xlb_finish(hook, st, r, p.act);
	}

	if (xlb_filter_hit(XLB_FILTER_VIP, &p.daddr, p.family)) {
		r = xlb_to_backend(ctx, hook, &p, st);
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
