/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow hash that indexes Maglev tables: Bob Jenkins' lookup3 mixing over
 * the 5-tuple with a fixed seed, so every node (and every CPU) maps a flow to
 * the same slot and nodes behind ECMP agree without sharing state.
 */
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include "xlb_common.h"

#define XLB_HASH_SEED 0x786c6231 /* "xlb1" */

static __always_inline __u32 xlb_rol32(__u32 w, int s)
{
	return (w << s) | (w >> (32 - s));
}

#define XLB_JMIX(a, b, c)                                                              \
	do {                                                                           \
		a -= c;                                                                \
		a ^= xlb_rol32(c, 4);                                                  \
		c += b;                                                                \
		b -= a;                                                                \
		b ^= xlb_rol32(a, 6);                                                  \
		a += c;                                                                \
		c -= b;                                                                \
		c ^= xlb_rol32(b, 8);                                                  \
		b += a;                                                                \
		a -= c;                                                                \
		a ^= xlb_rol32(c, 16);                                                 \
		c += b;                                                                \
		b -= a;                                                                \
		b ^= xlb_rol32(a, 19);                                                 \
		a += c;                                                                \
		c -= b;                                                                \
		c ^= xlb_rol32(b, 4);                                                  \
		b += a;                                                                \
	} while (0)

#define XLB_JFINAL(a, b, c)                                                            \
	do {                                                                           \
		c ^= b;                                                                \
		c -= xlb_rol32(b, 14);                                                 \
		a ^= c;                                                                \
		a -= xlb_rol32(c, 11);                                                 \
		b ^= a;                                                                \
		b -= xlb_rol32(a, 25);                                                 \
		c ^= b;                                                                \
		c -= xlb_rol32(b, 16);                                                 \
		a ^= c;                                                                \
		a -= xlb_rol32(c, 4);                                                  \
		b ^= a;                                                                \
		b -= xlb_rol32(a, 14);                                                 \
		c ^= b;                                                                \
		c -= xlb_rol32(b, 24);                                                 \
	} while (0)

static __always_inline __u32 xlb_hash_3words(__u32 a, __u32 b, __u32 c, __u32 seed)
{
	a += 0xdeadbeef + seed;
	b += 0xdeadbeef + seed;
	c += 0xdeadbeef + seed;
	XLB_JFINAL(a, b, c);
	return c;
}

/* Hash of the client side of a flow towards a VIP: (saddr, daddr, sport, dport, proto). */
static __always_inline __u32 xlb_hash_flow(const struct xlb_flow_key *k)
{
	__u32 ports = ((__u32)k->sport << 16) | k->dport;
	__u32 a, b, c;

	if (k->family == XLB_AF_INET)
		return xlb_hash_3words(k->saddr.v4, k->daddr.v4, ports, XLB_HASH_SEED ^ k->proto);

	a = k->saddr.v6[0] + 0xdeadbeef + XLB_HASH_SEED;
	b = k->saddr.v6[1] + 0xdeadbeef + XLB_HASH_SEED;
	c = k->saddr.v6[2] + 0xdeadbeef + XLB_HASH_SEED;
	XLB_JMIX(a, b, c);
	a += k->saddr.v6[3];
	b += k->daddr.v6[0];
	c += k->daddr.v6[1];
	XLB_JMIX(a, b, c);
	a += k->daddr.v6[2];
	b += k->daddr.v6[3];
	c += ports ^ k->proto;
	XLB_JFINAL(a, b, c);
	return c;
}

#endif /* XLB_HASH_H */
