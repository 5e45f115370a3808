// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The test packet builder and parser (see pkt.h). Both are written from the
 * RFCs (791, 793, 768, 792, 8200, 4443) without sharing code with the data
 * plane, so a checksum or offset mistake there cannot hide behind the same
 * mistake here. The parser is strict about the outer packet, lenient about a
 * quoted one (quotes are cut short by design), and never fails on a checksum.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"

#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86dd
#define ETH_P_8021Q_ 0x8100
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 get32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

__u32 xlb_pkt_csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;
	size_t i;

	/* Big-endian 16-bit words; an odd last byte is the high half of a word. */
	for (i = 0; i + 1 < len; i += 2) {
		sum += get16(p + i);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1) {
		sum += (__u32)p[len - 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

__u16 xlb_pkt_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 pseudo_sum(int family, const union xlb_addr *s, const union xlb_addr *d, __u8 proto,
			size_t len)
{
	__u8 tail[8] = {};
	__u32 sum;

	if (family == AF_INET) {
		sum = xlb_pkt_csum_add(0, &s->v4, 4);
		sum = xlb_pkt_csum_add(sum, &d->v4, 4);
		tail[1] = proto;
		put16(tail + 2, (__u16)len);
		return xlb_pkt_csum_add(sum, tail, 4);
	}
	sum = xlb_pkt_csum_add(0, s->bytes, 16);
	sum = xlb_pkt_csum_add(sum, d->bytes, 16);
	put32(tail, (__u32)len);
	tail[7] = proto;
	return xlb_pkt_csum_add(sum, tail, 8);
}

void xlb_pkt_init(struct xlb_pkt_spec *s, int family)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->ttl = 64;
	s->window = 65535;
}

static __u8 l4_proto(const struct xlb_pkt_spec *s)
{
	switch (s->l4) {
	case XLB_PKT_L4_TCP:
		return PROTO_TCP;
	case XLB_PKT_L4_UDP:
		return PROTO_UDP;
	case XLB_PKT_L4_ICMP:
		return s->family == AF_INET6 ? PROTO_ICMPV6 : PROTO_ICMP;
	default:
		return s->ip_proto;
	}
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t ext_len(const struct xlb_pkt_ext *e)
{
	return e->type == XLB_PKT_EXT_FRAGMENT ? 8 : 8 * ((size_t)e->len8 + 1);
}

/* Builds the IP packet (no L2) at buf; returns its length or -errno. */
static int build_ip(const struct xlb_pkt_spec *s, __u8 *buf, size_t cap, size_t *l4_rel,
		    size_t *payload_rel)
{
	__u8 quote[XLB_PKT_BUF];
	size_t hlen, l4len = 0, l4hdr = 0, i, off;
	__u8 proto = l4_proto(s);
	__u8 *l4;
	int qlen = 0;

	if (s->family != AF_INET && s->family != AF_INET6)
		return -EINVAL;
	if (s->family == AF_INET) {
		if (s->ip_opts_len > 40)
			return -EINVAL;
		hlen = 20 + pad4(s->ip_opts_len);
	} else {
		if (s->n_ext < 0 || s->n_ext > XLB_PKT_EXT_MAX)
			return -EINVAL;
		hlen = 40;
		for (i = 0; i < (size_t)s->n_ext; i++)
			hlen += ext_len(&s->ext[i]);
	}
	if (s->l4 == XLB_PKT_L4_ICMP && s->quote) {
		qlen = build_ip(s->quote, quote, sizeof(quote), NULL, NULL);
		if (qlen < 0)
			return qlen;
		if (s->quote_len && s->quote_len < (size_t)qlen)
			qlen = (int)s->quote_len;
	}
	switch (s->l4) {
	case XLB_PKT_L4_TCP:
		if (s->tcp_opts_len > 40)
			return -EINVAL;
		l4hdr = 20 + pad4(s->tcp_opts_len);
		break;
	case XLB_PKT_L4_UDP:
	case XLB_PKT_L4_ICMP:
		l4hdr = 8;
		break;
	default:
		l4hdr = 0;
	}
	l4len = l4hdr + (s->l4 == XLB_PKT_L4_ICMP && s->quote ? (size_t)qlen : s->payload_len);
	if (hlen + l4len > cap || hlen + l4len > 0xffff)
		return -ENOSPC;
	memset(buf, 0, hlen + l4len);
	l4 = buf + hlen;

	/* L4 header and data, checksum last. */
	switch (s->l4) {
	case XLB_PKT_L4_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (__u8)((s->tcp_doff ? s->tcp_doff : (int)(l4hdr / 4)) << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, s->window);
		if (s->tcp_opts_len)
			memcpy(l4 + 20, s->tcp_opts, s->tcp_opts_len);
		break;
	case XLB_PKT_L4_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (__u16)l4len);
		break;
	case XLB_PKT_L4_ICMP:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put32(l4 + 4, s->icmp_data);
		break;
	default:
		break;
	}
	if (s->l4 == XLB_PKT_L4_ICMP && s->quote)
		memcpy(l4 + l4hdr, quote, (size_t)qlen);
	else if (s->payload_len)
		memcpy(l4 + l4hdr, s->payload, s->payload_len);
	if (s->l4 != XLB_PKT_L4_NONE) {
		size_t coff = s->l4 == XLB_PKT_L4_TCP ? 16 : s->l4 == XLB_PKT_L4_UDP ? 6 : 2;
		__u32 sum = 0;
		__u16 c;

		/* Everything but ICMPv4 covers a pseudo header. */
		if (s->l4 != XLB_PKT_L4_ICMP || s->family == AF_INET6)
			sum = pseudo_sum(s->family, &s->saddr, &s->daddr, l4_proto(s), l4len);
		c = xlb_pkt_csum_fold(xlb_pkt_csum_add(sum, l4, l4len));
		if (s->l4 == XLB_PKT_L4_UDP && c == 0)
			c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
		if (s->l4 == XLB_PKT_L4_UDP && s->udp_no_csum)
			c = 0;
		if (s->l4_csum_set)
			c = ntohs(s->l4_csum);
		put16(l4 + coff, c);
	}

	/* IP header. */
	if (s->family == AF_INET) {
		buf[0] = (__u8)((s->ip_version ? s->ip_version : 4) << 4 |
				((s->ihl ? s->ihl : (int)(hlen / 4)) & 0xf));
		buf[1] = s->tos;
		put16(buf + 2, (__u16)(hlen + l4len));
		put16(buf + 4, s->ip_id);
		put16(buf + 6, s->frag);
		buf[8] = s->ttl;
		buf[9] = s->ip_proto ? s->ip_proto : proto;
		memcpy(buf + 12, &s->saddr.v4, 4);
		memcpy(buf + 16, &s->daddr.v4, 4);
		if (s->ip_opts_len)
			memcpy(buf + 20, s->ip_opts, s->ip_opts_len);
		put16(buf + 10, xlb_pkt_csum_fold(xlb_pkt_csum_add(0, buf, hlen)));
	} else {
		__u8 last = s->ip_proto ? s->ip_proto : proto;

		put32(buf, (__u32)(s->ip_version ? s->ip_version : 6) << 28 | (__u32)s->tos << 20 |
				   (s->flow_label & 0xfffff));
		put16(buf + 4, (__u16)(hlen - 40 + l4len));
		buf[6] = s->n_ext ? s->ext[0].type : last;
		buf[7] = s->ttl;
		memcpy(buf + 8, s->saddr.bytes, 16);
		memcpy(buf + 24, s->daddr.bytes, 16);
		for (i = 0, off = 40; i < (size_t)s->n_ext; i++) {
			const struct xlb_pkt_ext *e = &s->ext[i];
			__u8 *h = buf + off;
			size_t n = ext_len(e);

			h[0] = i + 1 < (size_t)s->n_ext ? s->ext[i + 1].type : last;
			if (e->type == XLB_PKT_EXT_FRAGMENT) {
				put16(h + 2, (__u16)(e->frag_offset << 3 | (e->more ? 1 : 0)));
				put32(h + 4, e->frag_id);
			} else if (e->type == XLB_PKT_EXT_ROUTING) {
				h[1] = e->len8;
				h[2] = 253; /* experimental type (RFC 4727), segments left 0 */
			} else {
				h[1] = e->len8;
				h[2] = 1; /* PadN over the rest */
				h[3] = (__u8)(n - 4);
			}
			off += n;
		}
	}
	if (l4_rel)
		*l4_rel = hlen;
	if (payload_rel)
		*payload_rel = hlen + l4hdr;
	return (int)(hlen + l4len);
}

int xlb_pkt_build(const struct xlb_pkt_spec *s, void *out, size_t cap, struct xlb_pkt_layout *lay)
{
	struct xlb_pkt_layout l = {};
	__u8 *buf = out;
	size_t l2 = ETH_HLEN_ + (s->vlan ? VLAN_HLEN_ : 0), l4_rel = 0, pl_rel = 0;
	int n;

	if (cap < l2)
		return -ENOSPC;
	memcpy(buf, s->dst_mac, 6);
	memcpy(buf + 6, s->src_mac, 6);
	if (s->vlan) {
		put16(buf + 12, s->vlan_tpid ? s->vlan_tpid : ETH_P_8021Q_);
		put16(buf + 14, s->vlan_tci);
	}
	l.l3_off = l2;
	if (s->ethertype) {
		put16(buf + l2 - 2, s->ethertype);
		if (l2 + s->payload_len > cap)
			return -ENOSPC;
		if (s->payload_len)
			memcpy(buf + l2, s->payload, s->payload_len);
		l.len = l2 + s->payload_len;
		l.payload_off = l2;
	} else {
		put16(buf + l2 - 2, s->family == AF_INET6 ? ETH_P_IPV6_ : ETH_P_IP_);
		n = build_ip(s, buf + l2, cap - l2, &l4_rel, &pl_rel);
		if (n < 0)
			return n;
		l.len = l2 + (size_t)n;
		l.l4_off = l2 + l4_rel;
		l.payload_off = l2 + pl_rel;
	}
	if (s->truncate && s->truncate < l.len) {
		l.len = s->truncate;
		if (s->truncate_fix_len && !s->ethertype) {
			__u8 *ip = buf + l2;
			size_t have = l.len > l2 ? l.len - l2 : 0;

			if (s->family == AF_INET && have >= 4)
				put16(ip + 2, (__u16)have);
			if (s->family == AF_INET && have >= 20) {
				size_t hlen = (size_t)(ip[0] & 0xf) * 4;

				if (hlen <= have) {
					put16(ip + 10, 0);
					__u32 sum = xlb_pkt_csum_add(0, ip, hlen);

					put16(ip + 10, xlb_pkt_csum_fold(sum));
				}
			}
			if (s->family == AF_INET6 && have >= 6)
				put16(ip + 4, (__u16)(have > 40 ? have - 40 : 0));
		}
	}
	if (lay)
		*lay = l;
	return (int)l.len;
}

static int perr(struct xlb_pkt_info *info, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(info->err, sizeof(info->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int is_icmp_error(int family, __u8 type)
{
	if (family == AF_INET)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

static enum xlb_pkt_csum verify(__u32 sum)
{
	return xlb_pkt_csum_fold(sum) == 0 ? XLB_PKT_CSUM_OK : XLB_PKT_CSUM_BAD;
}

static int parse_l4(const __u8 *f, struct xlb_pkt_ip *ip, int quote, struct xlb_pkt_info *info)
{
	size_t off = ip->l3_off + ip->hdr_len, have = ip->avail - ip->hdr_len;
	size_t want = ip->ip_len - ip->hdr_len, hdr;
	const __u8 *l4 = f + off;
	int complete = have >= want && !ip->is_frag;

	if (ip->proto != PROTO_TCP && ip->proto != PROTO_UDP &&
	    ip->proto != (ip->family == AF_INET ? PROTO_ICMP : PROTO_ICMPV6))
		return 0;
	ip->l4_off = off;
	if (ip->proto == PROTO_TCP) {
		hdr = have >= 13 ? (size_t)(l4[12] >> 4) * 4 : 20;
		if (!quote && (have < 20 || hdr < 20 || hdr > want))
			return perr(info, "TCP header: %zu bytes, offset %zu, L4 length %zu",
				    have, hdr, want);
		if (have < 4)
			return 0;
		ip->has_l4 = 1;
		ip->sport = get16(l4);
		ip->dport = get16(l4 + 2);
		if (have >= 16) {
			ip->seq = get32(l4 + 4);
			ip->ack = get32(l4 + 8);
			ip->doff = (__u8)hdr;
			ip->tcp_flags = l4[13];
			ip->window = get16(l4 + 14);
		}
		if (have >= 18) {
			ip->l4_check = htons(get16(l4 + 16));
			ip->l4_check_off = off + 16;
		}
		ip->payload_off = off + hdr;
		ip->payload_len = want > hdr ? want - hdr : 0;
	} else if (ip->proto == PROTO_UDP) {
		hdr = 8;
		if (!quote && (have < 8 || want < 8))
			return perr(info, "UDP header: %zu bytes present, L4 length %zu", have,
				    want);
		if (have < 4)
			return 0;
		ip->has_l4 = 1;
		ip->sport = get16(l4);
		ip->dport = get16(l4 + 2);
		if (have >= 8) {
			ip->udp_len = get16(l4 + 4);
			ip->l4_check = htons(get16(l4 + 6));
			ip->l4_check_off = off + 6;
		}
		ip->payload_off = off + 8;
		ip->payload_len = want > 8 ? want - 8 : 0;
		if (!quote && ip->udp_len != want)
			return perr(info, "UDP length %u, IP says %zu", ip->udp_len, want);
	} else {
		hdr = 8;
		if (!quote && (have < 8 || want < 8))
			return perr(info, "ICMP header: %zu bytes present", have);
		if (have < 8)
			return 0;
		ip->has_l4 = 1;
		ip->icmp_type = l4[0];
		ip->icmp_code = l4[1];
		ip->l4_check = htons(get16(l4 + 2));
		ip->l4_check_off = off + 2;
		ip->icmp_data = get32(l4 + 4);
		ip->payload_off = off + 8;
		ip->payload_len = want - 8;
	}
	if (!ip->l4_check_off) {
		ip->l4_csum = XLB_PKT_CSUM_PARTIAL;
	} else if (ip->proto == PROTO_UDP && !ip->l4_check) {
		ip->l4_csum = XLB_PKT_CSUM_NONE;
	} else if (!complete) {
		ip->l4_csum = XLB_PKT_CSUM_PARTIAL;
	} else {
		__u32 sum = 0;

		if (ip->proto != PROTO_ICMP)
			sum = pseudo_sum(ip->family, &ip->saddr, &ip->daddr, ip->proto, want);
		ip->l4_csum = verify(xlb_pkt_csum_add(sum, l4, want));
	}
	return 0;
}

/* Parses the IP packet at off; quote: one quoted by an ICMP error, cut anywhere after its header */
static int parse_ip(const __u8 *f, size_t flen, size_t off, int quote, struct xlb_pkt_ip *ip,
		    struct xlb_pkt_info *info)
{
	size_t have = flen > off ? flen - off : 0;
	const __u8 *h = f + off;

	memset(ip, 0, sizeof(*ip));
	ip->l3_off = off;
	if (have < 1)
		return perr(info, "IP header missing");
	ip->version = h[0] >> 4;
	if (ip->version == 4) {
		if (have < 20)
			return perr(info, "IPv4 header cut at %zu bytes", have);
		ip->family = AF_INET;
		ip->hdr_len = (size_t)(h[0] & 0xf) * 4;
		ip->ip_len = get16(h + 2);
		if (ip->hdr_len < 20 || ip->hdr_len > have)
			return perr(info, "IPv4 ihl %zu bytes, %zu present", ip->hdr_len, have);
		if (ip->ip_len < ip->hdr_len || (!quote && ip->ip_len > have))
			return perr(info, "IPv4 total length %zu, header %zu, %zu present",
				    ip->ip_len, ip->hdr_len, have);
		ip->avail = ip->ip_len < have ? ip->ip_len : have;
		ip->tos = h[1];
		ip->ip_id = get16(h + 4);
		ip->frag = get16(h + 6);
		ip->ttl = h[8];
		ip->proto = h[9];
		ip->ip_check = htons(get16(h + 10));
		memcpy(&ip->saddr.v4, h + 12, 4);
		memcpy(&ip->daddr.v4, h + 16, 4);
		ip->ip_csum = verify(xlb_pkt_csum_add(0, h, ip->hdr_len));
		ip->is_frag = (ip->frag & (XLB_PKT_MF | XLB_PKT_OFFSET_MASK)) != 0;
		if (ip->frag & XLB_PKT_OFFSET_MASK)
			return 0;
		return parse_l4(f, ip, quote, info);
	}
	if (ip->version == 6) {
		__u8 nh;

		if (have < 40)
			return perr(info, "IPv6 header cut at %zu bytes", have);
		ip->family = AF_INET6;
		ip->tos = (__u8)(get16(h) >> 4);
		ip->flow_label = get32(h) & 0xfffff;
		ip->ip_len = 40 + (size_t)get16(h + 4);
		if (!quote && ip->ip_len > have)
			return perr(info, "IPv6 payload length %zu, %zu present", ip->ip_len - 40,
				    have - 40);
		ip->avail = ip->ip_len < have ? ip->ip_len : have;
		nh = h[6];
		ip->ttl = h[7];
		memcpy(ip->saddr.bytes, h + 8, 16);
		memcpy(ip->daddr.bytes, h + 24, 16);
		ip->hdr_len = 40;
		while (nh == XLB_PKT_EXT_HOP || nh == XLB_PKT_EXT_ROUTING ||
		       nh == XLB_PKT_EXT_DEST || nh == XLB_PKT_EXT_FRAGMENT) {
			const __u8 *e = h + ip->hdr_len;
			size_t n;

			if (ip->hdr_len + 8 > ip->avail)
				return quote ? 0 : perr(info, "IPv6 extension header %u cut", nh);
			n = nh == XLB_PKT_EXT_FRAGMENT ? 8 : 8 * ((size_t)e[1] + 1);
			if (ip->hdr_len + n > ip->avail)
				return quote ? 0 : perr(info, "IPv6 extension header %u cut", nh);
			if (nh == XLB_PKT_EXT_FRAGMENT) {
				ip->is_frag = 1;
				ip->frag = get16(e + 2);
			}
			ip->n_ext++;
			ip->hdr_len += n;
			nh = e[0];
		}
		ip->proto = nh;
		if (ip->frag & 0xfff8)
			return 0; /* not the first fragment: no L4 header */
		return parse_l4(f, ip, quote, info);
	}
	return perr(info, "IP version %u", ip->version);
}

int xlb_pkt_parse(const void *buf, size_t len, struct xlb_pkt_info *info)
{
	const __u8 *f = buf;
	size_t l3 = ETH_HLEN_;
	int err;

	memset(info, 0, sizeof(*info));
	info->len = len;
	if (len < ETH_HLEN_)
		return perr(info, "Ethernet header cut at %zu bytes", len);
	memcpy(info->dst_mac, f, 6);
	memcpy(info->src_mac, f + 6, 6);
	info->ethertype = get16(f + 12);
	if (info->ethertype == ETH_P_8021Q_) {
		if (len < ETH_HLEN_ + VLAN_HLEN_)
			return perr(info, "VLAN tag cut");
		info->vlan = 1;
		info->vlan_tci = get16(f + 14);
		info->ethertype = get16(f + 16);
		l3 += VLAN_HLEN_;
	}
	if (info->ethertype != ETH_P_IP_ && info->ethertype != ETH_P_IPV6_)
		return 0;
	err = parse_ip(f, len, l3, 0, &info->ip, info);
	if (err)
		return err;
	if ((info->ethertype == ETH_P_IP_) != (info->ip.family == AF_INET))
		return perr(info, "ethertype 0x%04x carries IP version %u", info->ethertype,
			    info->ip.version);
	if (info->ip.has_l4 && info->ip.l4_check_off && info->ip.proto != PROTO_TCP &&
	    info->ip.proto != PROTO_UDP && is_icmp_error(info->ip.family, info->ip.icmp_type)) {
		char saved[sizeof(info->err)];

		memcpy(saved, info->err, sizeof(saved));
		/* A quote that does not parse is reported as absent, not as a broken frame. */
		if (!parse_ip(f, info->ip.l3_off + info->ip.avail, info->ip.payload_off, 1,
			      &info->quote, info))
			info->has_quote = 1;
		memcpy(info->err, saved, sizeof(saved));
	}
	return 0;
}

int xlb_pkt_addr(const char *s, union xlb_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr->bytes) == 1)
		return AF_INET6;
	return -EINVAL;
}

char *xlb_pkt_addr_str(int family, const union xlb_addr *addr, char *buf, size_t len)
{
	const void *a = family == AF_INET6 ? (const void *)addr->bytes : (const void *)&addr->v4;

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

char *xlb_pkt_mac_str(const __u8 *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

void xlb_pkt_hexdump(FILE *f, const char *prefix, const void *buf, size_t len)
{
	const __u8 *p = buf;
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(f, "%s%04zx:", prefix, i);
		for (j = i; j < i + 16 && j < len; j++)
			fprintf(f, "%s%02x", (j - i) % 8 ? " " : "  ", p[j]);
		fputc('\n', f);
	}
}
