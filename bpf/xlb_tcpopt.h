/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP options in place: finding one, and rewriting a field of the TCP header
 * with its checksum fixed up as the hook requires. Full-NAT shifts timestamps
 * with them (bpf/xlb_fnat.h); DSR's reply path clamps the MSS (below).
 */
#ifndef XLB_TCPOPT_H
#define XLB_TCPOPT_H

#include "xlb_common.h"
#include "xlb_csum.h"

/*
 * Where option kind, of length len, is in p's TCP header, or 0. A few options
 * deep, NOPs stepped over: stacks put MSS first on a SYN and timestamps after
 * two NOPs on other segments.
 */
static __always_inline __u32 xlb_tcp_opt(void *ctx, const int hook, const struct xlb_pkt *p,
					 __u8 kind, __u8 len)
{
	__u32 l4 = p->l4_off, off, end;
	__u8 b[2];
	int i;

	if (p->proto != XLB_PROTO_TCP || l4 > XLB_L2_MAX + 40 + 2 * 2048 ||
	    xlb_load(ctx, hook, l4 + 12, b, 1))
		return 0;
	end = l4 + (b[0] >> 4) * 4;
	off = l4 + 20;
	for (i = 0; i < 8; i++) {
		if (off + len > end || xlb_load(ctx, hook, off, b, 2) || b[0] == 0)
			return 0;
		if (b[0] == 1) {
			off++;
			continue;
		}
		if (b[0] == kind)
			return b[1] == len ? off : 0;
		if (b[1] < 2)
			return 0;
		off += b[1];
	}
	return 0;
}

/*
 * Replaces size (2 or 4) bytes of the TCP header at off, old by new (network
 * order, a 2-byte value in the low half), and fixes the checksum: XDP's is
 * complete, TC's helper knows CHECKSUM_PARTIAL. 0, or -1.
 */
static __always_inline int xlb_tcp_rewrite(void *ctx, const int hook, const struct xlb_pkt *p,
					   __u32 off, __be32 old, __be32 new, const __u32 size)
{
	__u32 csum_off = p->l4_off + 16;
	__be16 check, v = (__be16) new;

	if (hook == XLB_HOOK_XDP) {
		if (xlb_load(ctx, hook, csum_off, &check, 2))
			return -1;
		check = xlb_csum_apply(check, size == 2 ? xlb_csum_diff2((__be16)old, v)
							: xlb_csum_diff4(old, new));
		if (xlb_store(ctx, hook, csum_off, &check, 2))
			return -1;
	} else if (bpf_l4_csum_replace(ctx, csum_off, old, new, size)) {
		return -1;
	}
	if (size == 2)
		return xlb_store(ctx, hook, off, &v, 2) ? -1 : 0;
	return xlb_store(ctx, hook, off, &new, 4) ? -1 : 0;
}

/*
 * A backend's SYN-ACK to a client of a DSR VIP, on the agent: the client's
 * segments will travel encapsulated, so the MSS it may send is lowered to
 * what fits (dsr_mss4 / dsr_mss6).
 */
static __always_inline void xlb_mss_clamp(void *ctx, const int hook, const struct xlb_pkt *p,
					  const struct xlb_config *cfg, struct xlb_stats *st)
{
	__u16 want =
	    p->family == XLB_AF_INET
		? (cfg && cfg->dsr_mss4 ? cfg->dsr_mss4 : XLB_DSR_MSS(XLB_DSR_MTU_DEFAULT, 0))
		: (cfg && cfg->dsr_mss6 ? cfg->dsr_mss6 : XLB_DSR_MSS(XLB_DSR_MTU_DEFAULT, 1));
	__u32 off = xlb_tcp_opt(ctx, hook, p, 2, 4);
	__be16 mss;

	if (!off || xlb_load(ctx, hook, off + 2, &mss, 2) || bpf_ntohs(mss) <= want)
		return;
	if (!xlb_tcp_rewrite(ctx, hook, p, off + 2, mss, bpf_htons(want), 2))
		st->c[XLB_CNT_MSS_CLAMP]++;
}

#endif /* XLB_TCPOPT_H */
