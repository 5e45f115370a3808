// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The body behind every case-table row: turn the row into an input frame for
 * its service, prime conntrack when the row asks, run the frame through one
 * program with counter snapshots around it, then check the return value, the
 * counter deltas and the output frame against a frame the builder makes from
 * the row's expectation (so every rewritten field and checksum is compared by
 * name, and every other byte must be unchanged).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "suite.h"

/* MSS 1460, SACK permitted, NOP, window scale 7: what a SYN usually carries. */
static const __u8 t_syn_opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7 };
/* Router alert, then a timestamp option with two empty slots: 16 bytes, ihl 9. */
static const __u8 t_ip_opts[] = { 0x94, 0x04, 0x00, 0x00, 0x44, 0x0c, 0x05, 0x00,
				  0,	0,    0,    0,	  0,	0,    0,    0 };

struct t_frame {
	struct xlb_pkt_spec spec;
	struct xlb_pkt_spec quote;
	__u8 payload[1400];
	__u8 buf[XLB_PKT_BUF];
	struct xlb_pkt_layout lay;
	size_t len;
	int ifindex;
};

static void t_addr(const char *s, union xlb_addr *a)
{
	if (xlb_pkt_addr(s, a) < 0)
		t_err("bad address literal %s (test bug)", s);
}

static int t_is_tcp(const struct t_svc_state *s)
{
	return s->key.proto == XLB_PROTO_TCP;
}

/* The opening packet of a client flow (SYN, or a datagram) towards the service. */
static void t_client_spec(struct xlb_pkt_spec *s, const struct t_svc_state *svc, __u16 cport,
			  __u8 *payload)
{
	int fam = svc->key.family;

	xlb_pkt_init(s, fam);
	memcpy(s->src_mac, t_client_mac, 6);
	memcpy(s->dst_mac, t_env.mac_c, 6);
	t_addr(fam == AF_INET ? T_CLIENT4 : T_CLIENT6, &s->saddr);
	s->daddr = svc->key.addr;
	s->sport = cport;
	s->dport = ntohs(svc->key.port);
	if (t_is_tcp(svc)) {
		s->l4 = XLB_PKT_L4_TCP;
		s->tcp_flags = XLB_PKT_TCP_SYN;
		s->seq = 1000000;
		s->tcp_opts = t_syn_opts;
		s->tcp_opts_len = sizeof(t_syn_opts);
	} else {
		s->l4 = XLB_PKT_L4_UDP;
		s->payload = payload;
		s->payload_len = 32;
	}
}

static void t_fill_payload(__u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (__u8)(i * 7 + 3);
}

/* The input frame a row describes. */
static void t_row_frame(const struct xlb_case *c, enum t_hook hook, __u16 cport, struct t_frame *f)
{
	const struct t_svc_state *svc = &t_env.svc[c->svc];
	struct xlb_pkt_spec *s = &f->spec, *q = &f->quote;
	int fam = svc->key.family, v4 = fam == AF_INET, icmp_err = 0;
	union xlb_addr client, other;
	__u16 vport = ntohs(svc->key.port);
	size_t cut = 0;
	int n;

	t_fill_payload(f->payload, sizeof(f->payload));
	t_addr(v4 ? T_CLIENT4 : T_CLIENT6, &client);
	t_addr(v4 ? T_OTHER4 : T_OTHER6, &other);
	t_client_spec(s, svc, cport, f->payload);
	f->ifindex = t_env.if_c;

	switch (c->flow) {
	case T_F_TO_VIP:
		break;
	case T_F_TO_VIP_ADDR:
		s->dport = vport + 1;
		break;
	case T_F_TO_OTHER:
		s->daddr = other;
		break;
	case T_F_REPLY:
		memcpy(s->src_mac, svc->be_mac, 6);
		memcpy(s->dst_mac, t_env.mac_b, 6);
		s->saddr = svc->be_addr;
		s->daddr = client;
		s->sport = svc->be_port;
		s->dport = cport;
		if (t_is_tcp(svc)) {
			s->tcp_flags = XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK;
			s->seq = 7000000;
			s->ack = 1000001;
		}
		f->ifindex = t_env.if_b;
		break;
	case T_F_ICMP_TO_VIP:
	case T_F_ICMP_TO_VIP_NOSVC:
		/* What we sent as the VIP (a SYN-ACK or a datagram), quoted back by a router. */
		t_client_spec(q, svc, cport, f->payload);
		q->saddr = svc->key.addr;
		q->daddr = client;
		q->sport = c->flow == T_F_ICMP_TO_VIP ? vport : vport + 1;
		q->dport = cport;
		q->ttl = 60;
		if (t_is_tcp(svc)) {
			q->tcp_flags = XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK;
			q->seq = 7000000;
			q->ack = 1000001;
		}
		t_addr(v4 ? T_ROUTER_C4 : T_ROUTER_C6, &s->saddr);
		memcpy(s->src_mac, t_router_mac, 6);
		s->daddr = svc->key.addr;
		s->icmp_type = v4 ? 3 : 2; /* fragmentation needed / packet too big */
		s->icmp_code = v4 ? 4 : 0;
		s->icmp_data = v4 ? 1400 : 1280;
		icmp_err = 1;
		break;
	case T_F_ICMP_FROM_BACKEND:
	case T_F_ICMP_FROM_ROUTER:
	case T_F_ICMP_OTHER:
		/* What we sent to the backend (already translated), quoted back to the client. */
		t_client_spec(q, svc, cport, f->payload);
		q->daddr = c->flow == T_F_ICMP_OTHER ? other : svc->be_addr;
		q->dport = c->flow == T_F_ICMP_OTHER ? vport : svc->be_port;
		q->ttl = c->flow == T_F_ICMP_FROM_ROUTER ? 1 : 63;
		s->daddr = client;
		if (c->flow == T_F_ICMP_FROM_BACKEND) {
			s->saddr = svc->be_addr;
			memcpy(s->src_mac, svc->be_mac, 6);
			s->icmp_type = v4 ? 3 : 1; /* port unreachable */
			s->icmp_code = v4 ? 3 : 4;
		} else {
			t_addr(v4 ? T_ROUTER_B4 : T_ROUTER_B6, &s->saddr);
			memcpy(s->src_mac, t_router_mac, 6);
			s->icmp_type = v4 ? 11 : 3; /* time exceeded */
			s->icmp_code = 0;
		}
		memcpy(s->dst_mac, t_env.mac_b, 6);
		f->ifindex = t_env.if_b;
		icmp_err = 1;
		break;
	case T_F_ECHO_VIP:
	case T_F_ECHO_OTHER:
		if (c->flow == T_F_ECHO_OTHER)
			s->daddr = other;
		s->l4 = XLB_PKT_L4_ICMP;
		s->icmp_type = v4 ? 8 : 128;
		s->icmp_code = 0;
		s->icmp_data = 0x12340001;
		s->payload = f->payload;
		s->payload_len = 56;
		s->tcp_opts = NULL;
		s->tcp_opts_len = 0;
		break;
	case T_F_ARP: {
		static __u8 arp[28];

		memcpy(arp, (const __u8[]){ 0, 1, 8, 0, 6, 4, 0, 1 }, 8);
		memcpy(arp + 8, t_client_mac, 6);
		memcpy(arp + 14, &client.v4, 4);
		memset(arp + 18, 0, 6);
		memcpy(arp + 24, &svc->key.addr.v4, 4);
		memset(s->dst_mac, 0xff, 6);
		s->ethertype = 0x0806;
		s->payload = arp;
		s->payload_len = sizeof(arp);
		break;
	}
	case T_F_ND: {
		static __u8 ns[24];

		memcpy(ns, svc->key.addr.bytes, 16);
		ns[16] = 1; /* source link-layer address option */
		ns[17] = 1;
		memcpy(ns + 18, t_client_mac, 6);
		t_addr("ff02::1:ff00:10", &s->daddr);
		memcpy(s->dst_mac, (const __u8[]){ 0x33, 0x33, 0xff, 0x00, 0x00, 0x10 }, 6);
		s->l4 = XLB_PKT_L4_ICMP;
		s->icmp_type = 135;
		s->icmp_data = 0;
		s->ttl = 255;
		s->payload = ns;
		s->payload_len = sizeof(ns);
		break;
	}
	}
	if (icmp_err) {
		s->l4 = XLB_PKT_L4_ICMP;
		s->quote = q;
		s->payload = NULL;
		s->payload_len = 0;
		s->tcp_opts = NULL;
		s->tcp_opts_len = 0;
		if (c->mods & T_M_QUOTE8)
			s->quote_len = (v4 ? 20 : 40) + 8;
	}

	/* Modifiers. */
	if (s->l4 == XLB_PKT_L4_TCP && c->tcp_flags) {
		s->tcp_flags = c->tcp_flags;
		if (c->tcp_flags & XLB_PKT_TCP_ACK)
			s->ack = c->flow == T_F_REPLY ? 1000001 : 7000001;
		if (!(c->tcp_flags & XLB_PKT_TCP_SYN)) {
			s->tcp_opts = NULL;
			s->tcp_opts_len = 0;
			if (c->flow != T_F_REPLY)
				s->seq = 1000001;
		}
	}
	if (c->mods & (T_M_VLAN | T_M_QINQ)) {
		s->vlan = 1;
		s->vlan_tci = 100;
	}
	if (c->mods & T_M_IPOPT) {
		s->ip_opts = t_ip_opts;
		s->ip_opts_len = sizeof(t_ip_opts);
	}
	if (c->mods & T_M_EXT3) {
		s->ext[s->n_ext++] = (struct xlb_pkt_ext){ .type = XLB_PKT_EXT_HOP };
		s->ext[s->n_ext++] = (struct xlb_pkt_ext){ .type = XLB_PKT_EXT_DEST };
		s->ext[s->n_ext++] = (struct xlb_pkt_ext){ .type = XLB_PKT_EXT_DEST, .len8 = 1 };
	}
	if (c->mods & T_M_HBH)
		s->ext[s->n_ext++] = (struct xlb_pkt_ext){ .type = XLB_PKT_EXT_HOP };
	if (c->mods & T_M_DSTOPT)
		s->ext[s->n_ext++] = (struct xlb_pkt_ext){ .type = XLB_PKT_EXT_DEST, .len8 = 1 };
	if (c->mods & T_M_FRAG6)
		s->ext[s->n_ext++] = (struct xlb_pkt_ext){
			.type = XLB_PKT_EXT_FRAGMENT, .more = 1, .frag_id = 0x1234
		};
	if (c->mods & T_M_MF)
		s->frag |= XLB_PKT_MF;
	if (c->mods & T_M_FRAGOFF)
		s->frag |= 185;
	if (c->mods & T_M_DF)
		s->frag |= XLB_PKT_DF;
	if (c->mods & T_M_UDP_NOCSUM)
		s->udp_no_csum = 1;
	if (c->mods & T_M_PAYLOAD) {
		s->payload = f->payload;
		s->payload_len = 100;
	}
	if (c->mods & T_M_BIG) {
		s->payload = f->payload;
		s->payload_len = 1200;
	}
	if (c->mods & T_M_TTL1)
		s->ttl = 1;
	if (c->mods & T_M_GRE) {
		s->l4 = XLB_PKT_L4_NONE;
		s->ip_proto = 47;
		s->payload = f->payload;
		s->payload_len = 8;
	}
	if (c->mods & T_M_BADVER)
		s->ip_version = v4 ? 5 : 7;
	if (c->mods & T_M_BADIHL)
		s->ihl = 4;
	if (c->mods & T_M_BADDOFF)
		s->tcp_doff = 4;
	if (c->mods & T_M_VIA_OTHER)
		f->ifindex = f->ifindex == t_env.if_c ? t_env.if_b : t_env.if_c;

	n = xlb_pkt_build(s, f->buf, sizeof(f->buf), &f->lay);
	if (n < 0) {
		t_err("build input frame: %d (test bug)", n);
		return;
	}
	switch (c->trunc) {
	case T_TR_NONE:
		break;
	case T_TR_L2:
		cut = f->lay.l3_off;
		break;
	case T_TR_VLAN:
		cut = 16;
		break;
	case T_TR_L3_HALF:
		cut = f->lay.l3_off + 10;
		break;
	case T_TR_L3:
		cut = f->lay.l3_off + (v4 ? 20 : 40);
		break;
	case T_TR_IPOPT:
		cut = f->lay.l3_off + 22;
		break;
	case T_TR_EXT:
		cut = f->lay.l3_off + 44;
		break;
	case T_TR_L4_HALF:
		cut = f->lay.l4_off + 4;
		break;
	case T_TR_L4_END:
		cut = f->lay.payload_off - 1;
		break;
	case T_TR_PAYLOAD:
		cut = f->lay.payload_off + s->payload_len / 2;
		break;
	}
	if (cut) {
		s->truncate = cut;
		s->truncate_fix_len = !!(c->mods & T_M_FIXLEN);
		n = xlb_pkt_build(s, f->buf, sizeof(f->buf), &f->lay);
		if (n < 0) {
			t_err("build truncated frame: %d (test bug)", n);
			return;
		}
	}
	f->len = (size_t)n;
	if (c->mods & T_M_QINQ) {
		/* A second 802.1Q tag inside the first: xlb parses one tag only. */
		memmove(f->buf + 20, f->buf + 16, f->len - 16);
		f->buf[16] = 0x81;
		f->buf[17] = 0x00;
		f->buf[18] = 0x00;
		f->buf[19] = 200;
		f->len += 4;
	}
}

/* The frame a row expects out; returns 0 when the output is not compared. */
static int t_row_want(const struct xlb_case *c, enum t_hook hook, enum t_out out,
		      const struct t_frame *in, struct t_frame *w)
{
	const struct t_svc_state *svc = &t_env.svc[c->svc];
	struct xlb_pkt_spec *s = &w->spec, *q = &w->quote;
	struct xlb_pkt_info pi;
	int fam = svc->key.family, v4 = fam == AF_INET, n, fwd = hook != T_TCE;

	*s = in->spec;
	*q = in->quote;
	s->truncate = 0;
	if (s->quote)
		s->quote = q;
	switch (out) {
	case T_O_SAME:
	case T_O_NONE:
		return 0;
	case T_O_DNAT:
	case T_O_DNAT_RAW:
	case T_O_DNAT_TTL:
		s->daddr = svc->be_addr;
		s->dport = svc->be_port;
		if (out != T_O_DNAT_RAW && fwd)
			s->ttl--;
		if (out == T_O_DNAT) {
			memcpy(s->src_mac, svc->out_mac, 6);
			memcpy(s->dst_mac, svc->be_mac, 6);
		}
		break;
	case T_O_SNAT:
		s->saddr = svc->key.addr;
		s->sport = ntohs(svc->key.port);
		if (fwd)
			s->ttl--;
		memcpy(s->src_mac, t_env.mac_c, 6);
		memcpy(s->dst_mac, t_client_mac, 6);
		break;
	case T_O_RST:
	case T_O_UNREACH: {
		const struct xlb_pkt_spec *o = &in->spec;
		struct xlb_pkt_info ii;

		xlb_pkt_init(s, fam);
		memcpy(s->dst_mac, o->src_mac, 6);
		memcpy(s->src_mac, o->dst_mac, 6);
		s->vlan = o->vlan;
		s->vlan_tci = o->vlan_tci;
		s->saddr = o->daddr;
		s->daddr = o->saddr;
		if (v4)
			s->frag = XLB_PKT_DF;
		if (xlb_pkt_parse(in->buf, in->len, &ii)) {
			t_err("input frame does not parse (test bug): %s", ii.err);
			return 0;
		}
		if (out == T_O_RST) {
			/* RFC 793, "Reset Generation", case 1 (no connection). */
			__u32 seg = (__u32)ii.ip.payload_len;

			s->l4 = XLB_PKT_L4_TCP;
			s->sport = o->dport;
			s->dport = o->sport;
			s->window = 0;
			if (o->tcp_flags & XLB_PKT_TCP_ACK) {
				s->tcp_flags = XLB_PKT_TCP_RST;
				s->seq = o->ack;
			} else {
				seg += !!(o->tcp_flags & XLB_PKT_TCP_SYN);
				seg += !!(o->tcp_flags & XLB_PKT_TCP_FIN);
				s->tcp_flags = XLB_PKT_TCP_RST | XLB_PKT_TCP_ACK;
				s->ack = o->seq + seg;
			}
		} else {
			/* RFC 792: IP header and 8 bytes; RFC 4443 allows more, xlb quotes 48. */
			*q = in->spec;
			q->vlan = 0;
			s->l4 = XLB_PKT_L4_ICMP;
			s->icmp_type = v4 ? 3 : 1;
			s->icmp_code = v4 ? 3 : 4;
			s->quote = q;
			s->quote_len = v4 ? ii.ip.hdr_len + 8 : 48;
		}
		break;
	}
	case T_O_ICMP_ORIG:
	case T_O_ICMP_REPLY:
		if (xlb_pkt_parse(in->buf, in->len, &pi) || !pi.has_quote) {
			t_err("input ICMP error does not parse (test bug): %s", pi.err);
			return 0;
		}
		if (pi.quote.l4_check_off) {
			/* The quoted L4 checksum stays what it was. */
			q->l4_csum_set = 1;
			q->l4_csum = pi.quote.l4_check;
		}
		if (fwd)
			s->ttl--;
		if (out == T_O_ICMP_ORIG) {
			s->daddr = svc->be_addr;
			q->saddr = svc->be_addr;
			q->sport = svc->be_port;
			memcpy(s->src_mac, svc->out_mac, 6);
			memcpy(s->dst_mac, svc->be_mac, 6);
		} else {
			if (!memcmp(&s->saddr, &svc->be_addr, sizeof(s->saddr)))
				s->saddr = svc->key.addr;
			q->daddr = svc->key.addr;
			q->dport = ntohs(svc->key.port);
			memcpy(s->src_mac, t_env.mac_c, 6);
			memcpy(s->dst_mac, t_client_mac, 6);
		}
		break;
	}
	n = xlb_pkt_build(s, w->buf, sizeof(w->buf), &w->lay);
	if (n < 0) {
		t_err("build expected frame: %d (test bug)", n);
		return 0;
	}
	w->len = (size_t)n;
	return 1;
}

/*
 * Makes the UDP payload's last word such that the translated datagram's
 * checksum computes to zero, which must go on the wire as 0xffff (RFC 768).
 */
static void t_csum_ffff(const struct xlb_case *c, enum t_hook hook, struct t_frame *in,
			struct t_frame *w)
{
	struct xlb_pkt_info pi;
	size_t last = in->spec.payload_len - 2;

	in->payload[last] = 0;
	in->payload[last + 1] = 0;
	if (!t_row_want(c, hook, T_O_DNAT, in, w) || xlb_pkt_parse(w->buf, w->len, &pi))
		return;
	in->payload[last] = (__u8)(ntohs(pi.ip.l4_check) >> 8);
	in->payload[last + 1] = (__u8)ntohs(pi.ip.l4_check);
	in->len = (size_t)xlb_pkt_build(&in->spec, in->buf, sizeof(in->buf), &in->lay);
	if (!t_row_want(c, hook, T_O_DNAT, in, w) || xlb_pkt_parse(w->buf, w->len, &pi))
		return;
	if (pi.ip.l4_check != 0xffff)
		t_err("crafted payload: translated UDP checksum 0x%04x, want 0xffff (test bug)",
		      ntohs(pi.ip.l4_check));
}

static void t_prime(const struct xlb_case *c, enum t_hook hook, __u16 cport)
{
	const struct t_svc_state *svc = &t_env.svc[c->svc];
	struct t_counters b, a;
	struct t_frame f;
	__u32 ret, out_len;
	__u8 out[XLB_PKT_BUF];
	int built, err;

	t_client_spec(&f.spec, svc, cport, f.payload);
	t_fill_payload(f.payload, sizeof(f.payload));
	built = xlb_pkt_build(&f.spec, f.buf, sizeof(f.buf), NULL);
	if (built < 0) {
		t_err("build priming frame: %d (test bug)", built);
		return;
	}
	t_counters_read(t_env.dp, &b);
	err = t_prog_run(t_env.dp, hook, t_env.if_c, f.buf, (size_t)built, out, &out_len, &ret);
	t_counters_read(t_env.dp, &a);
	if (err)
		t_err("priming run: %s", strerror(-err));
	t_eq("priming packet: event ct_new", a.g.c[XLB_CNT_CT_NEW] - b.g.c[XLB_CNT_CT_NEW], 1);
	t_eq("priming packet: event nat_orig", a.g.c[XLB_CNT_NAT_ORIG] - b.g.c[XLB_CNT_NAT_ORIG],
	     1);
}

void t_case_run(const struct xlb_case *c, enum t_hook hook)
{
	const struct t_svc_state *svc = &t_env.svc[c->svc];
	static struct t_frame in, want;
	struct t_counters before, after;
	struct t_delta d = {};
	__u8 out[XLB_PKT_BUF];
	enum t_out o = c->out;
	int reason = c->reason, err, cmp;
	__u16 cport = t_port();
	__u32 ret = 0, out_len = 0;

	if (hook & c->alt_hooks) {
		reason = c->alt_reason;
		o = c->alt_out;
	}
	memset(&in, 0, sizeof(in));
	memset(&want, 0, sizeof(want));
	t_row_frame(c, hook, cport, &in);
	if (c->mods & T_M_CSUM_FFFF)
		t_csum_ffff(c, hook, &in, &want);
	t_done("building the input frame");
	if (c->prime)
		t_prime(c, hook, cport);
	t_done("priming conntrack");
	cmp = t_row_want(c, hook, o, &in, &want);
	t_done("building the expected frame");

	t_counters_read(t_env.dp, &before);
	err = t_prog_run(t_env.dp, hook, in.ifindex, in.buf, in.len, out, &out_len, &ret);
	t_counters_read(t_env.dp, &after);
	if (err == -EINVAL && hook != T_XDP && !in.spec.vlan &&
	    in.len < in.lay.l3_off + (in.spec.family == AF_INET ? 20 : 40)) {
		/* The XDP run of the same row covers the data plane's side. */
		xlb_skip_kernel("the kernel's skb BPF_PROG_TEST_RUN refuses an untagged IP frame "
				"shorter than its IP header (EINVAL); XDP accepts it");
	}
	if (err) {
		t_err("BPF_PROG_TEST_RUN: %s", strerror(-err));
		t_done(c->name);
		return;
	}

	t_eq("program return value", ret, t_verdict_ret(hook, t_reason_verdict(reason)));
	d.reason = reason;
	d.events = c->events;
	if (in.spec.vlan && in.len >= 18)
		d.events |= T_EV(XLB_CNT_VLAN); /* counted once the tag is read */
	if (c->stats) {
		d.vip_id = svc->vip_id;
		if (c->stats & T_S_IN) {
			d.vip.pkts_in = 1;
			d.vip.bytes_in = in.len;
		}
		if (c->stats & T_S_NEW)
			d.vip.new_flows = 1;
		if (c->stats & T_S_OUT) {
			d.vip.pkts_out = 1;
			d.vip.bytes_out = in.len;
		}
		if (c->stats & T_S_REJ)
			d.vip.rejected = 1;
		if (c->stats & T_S_DNB)
			d.vip.drops[XLB_VIP_DROP_NO_BACKEND] = 1;
		if (c->stats & T_S_DFIB)
			d.vip.drops[XLB_VIP_DROP_FIB] = 1;
		if (svc->has_backend && (c->stats & (T_S_IN | T_S_OUT | T_S_NEW))) {
			d.be_id[0] = svc->be_id;
			d.be[0].pkts_in = d.vip.pkts_in;
			d.be[0].bytes_in = d.vip.bytes_in;
			d.be[0].pkts_out = d.vip.pkts_out;
			d.be[0].bytes_out = d.vip.bytes_out;
			d.be[0].new_flows = d.vip.new_flows;
		}
	}
	t_check_delta(&before, &after, &d);
	if (o == T_O_SAME)
		t_check_same(out, out_len, in.buf, in.len);
	else if (cmp)
		t_check_frame(out, out_len, want.buf, want.len);
	if (c->known_bug) {
		int n = t_errors;

		t_errors = 0;
		if (!n)
			fail_msg("%s: passes now: remove its known_bug mark", c->name);
		xlb_skip_bug("KNOWN BUG (%d checks fail as expected): %s", n, c->known_bug);
	}
	t_done(c->name);
}
