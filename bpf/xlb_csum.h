/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum arithmetic (RFC 1071, incremental update per RFC 1624
 * eqn. 3: HC' = ~(~HC + ~m + m')). Differences are carried as 32-bit
 * one's-complement sums and folded once, when a checksum field is written.
 */
#ifndef XLB_CSUM_H
#define XLB_CSUM_H

#include "xlb_common.h"

static __always_inline __u32 xlb_csum_add(__u32 a, __u32 b)
{
	a += b;
	return a + (a < b);
}

static __always_inline __u16 xlb_csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* The difference of replacing a 32-bit word. */
static __always_inline __u32 xlb_csum_diff4(__be32 from, __be32 to)
{
	return xlb_csum_add(~from, to);
}

/* The difference of replacing a 16-bit word. */
static __always_inline __u32 xlb_csum_diff2(__be16 from, __be16 to)
{
	return xlb_csum_add((__u16)~from, to);
}

static __always_inline __u32 xlb_csum_diff_addr(const union xlb_addr *from,
						const union xlb_addr *to, int v6)
{
	__u32 d = xlb_csum_diff4(from->v6[0], to->v6[0]);

	if (v6) {
		d = xlb_csum_add(d, xlb_csum_diff4(from->v6[1], to->v6[1]));
		d = xlb_csum_add(d, xlb_csum_diff4(from->v6[2], to->v6[2]));
		d = xlb_csum_add(d, xlb_csum_diff4(from->v6[3], to->v6[3]));
	}
	return d;
}

/* Applies a difference to a checksum field (complemented, as stored on the wire). */
static __always_inline __u16 xlb_csum_apply(__u16 check, __u32 diff)
{
	return ~xlb_csum_fold(xlb_csum_add((__u16)~check, diff));
}

/* UDP sends a computed zero as all ones (RFC 768); zero on the wire means "no checksum". */
static __always_inline __u16 xlb_csum_apply_udp(__u16 check, __u32 diff)
{
	__u16 c = xlb_csum_apply(check, diff);

	return c ? c : 0xffff;
}

#endif /* XLB_CSUM_H */
