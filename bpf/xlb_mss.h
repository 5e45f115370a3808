/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The MSS clamp of DSR's reply path (bpf/xlb_dsr.h): a SYN-ACK's MSS option
 * lowered in place, its checksum fixed up, as the hook requires.
 */
#ifndef XLB_MSS_H
#define XLB_MSS_H

#include "xlb_common.h"
#include "xlb_csum.h"

/*
 * A backend's SYN-ACK to a client of a DSR VIP, on the agent: the client's
 * segments will travel encapsulated, so the MSS it may send is lowered to
 * what fits (dsr_mss4 / dsr_mss6). Linux and most stacks put MSS first; a
 * few NOPs before it are stepped over.
 */
static __always_inline void xlb_mss_clamp(void *ctx, const int hook, const struct xlb_pkt *p,
					  const struct xlb_config *cfg, struct xlb_stats *st)
{
	__u16 want =
	    p->family == XLB_AF_INET
		? (cfg && cfg->dsr_mss4 ? cfg->dsr_mss4 : XLB_DSR_MSS(XLB_DSR_MTU_DEFAULT, 0))
		: (cfg && cfg->dsr_mss6 ? cfg->dsr_mss6 : XLB_DSR_MSS(XLB_DSR_MTU_DEFAULT, 1));
	__u32 l4 = p->l4_off, off, end;
	__be16 mss, nmss, check;
	__u8 b[2];
	int i;

	if (l4 > (XLB_L2_MAX + 40 + 2 * 2048) || xlb_load(ctx, hook, l4 + 12, b, 1))
		return;
	off = l4 + 20;
	end = l4 + (b[0] >> 4) * 4;
	for (i = 0; i < 8; i++) {
		if (off + 4 > end || xlb_load(ctx, hook, off, b, 2) || b[0] == 0)
			return;
		if (b[0] == 1) {
			off++;
			continue;
		}
		if (b[0] == 2)
			break;
		if (b[1] < 2)
			return;
		off += b[1];
	}
	if (i == 8 || b[1] != 4 || xlb_load(ctx, hook, off + 2, &mss, 2) || bpf_ntohs(mss) <= want)
		return;
	nmss = bpf_htons(want);
	if (hook == XLB_HOOK_XDP) {
		if (xlb_load(ctx, hook, l4 + 16, &check, 2))
			return;
		check = xlb_csum_apply(check, xlb_csum_diff2(mss, nmss));
		if (xlb_store(ctx, hook, l4 + 16, &check, 2))
			return;
	} else if (bpf_l4_csum_replace(ctx, l4 + 16, mss, nmss, 2)) {
		return;
	}
	if (xlb_store(ctx, hook, off + 2, &nmss, 2))
		return;
	st->c[XLB_CNT_MSS_CLAMP]++;
}

#endif /* XLB_MSS_H */
