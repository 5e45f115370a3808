// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * From a case-table row to its input frame: the packet the row's flow names
 * (client to VIP, a reply, an ICMP error quoting one of those, echo, ARP,
 * neighbour solicitation), then its modifiers (tags, options, extension
 * headers, fragment bits, damaged fields), then the cut. Addresses, MACs and
 * interfaces come from the caller's struct t_case_env, so the suite, the
 * benchmark and lbstat-testgen build the same packet in their own topologies.
 * Also the lookup of a row by name across the tables.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "cases.h"

/* MSS 1460, SACK permitted, NOP, window scale 7: what a SYN usually carries. */
static const __u8 t_syn_opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7 };
/* Router alert, then a timestamp option with two empty slots: 16 bytes, ihl 9. */
static const __u8 t_ip_opts[] = { 0x94, 0x04, 0x00, 0x00, 0x44, 0x0c, 0x05, 0x00,
				  0,	0,    0,    0,	  0,	0,    0,    0 };

const struct xlb_case *t_case_find(const char *name)
{
	static const struct {
		const struct xlb_case *rows;
		const size_t *n;
	} tables[] = {
		{ t_cases_nat, &t_cases_nat_n },
		{ t_cases_reject, &t_cases_reject_n },
		{ t_cases_icmp, &t_cases_icmp_n },
		{ t_cases_parse, &t_cases_parse_n },
	};
	size_t t, i;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (i = 0; i < *tables[t].n; i++)
			if (!strcmp(tables[t].rows[i].name, name))
				return &tables[t].rows[i];
	return NULL;
}

static int t_is_tcp(const struct t_case_env *e)
{
	return e->vip.proto == XLB_PROTO_TCP;
}

/* The opening packet of a client flow (SYN, or a datagram) towards the service. */
static void t_client_spec(struct xlb_pkt_spec *s, const struct t_case_env *e, __u16 cport,
			  __u8 *payload)
{
	xlb_pkt_init(s, e->vip.family);
	memcpy(s->src_mac, e->client_mac, 6);
	memcpy(s->dst_mac, e->lb_mac_c, 6);
	s->saddr = e->client;
	s->daddr = e->vip.addr;
	s->sport = cport;
	s->dport = ntohs(e->vip.port);
	if (t_is_tcp(e)) {
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

int t_case_opening(const struct t_case_env *e, __u16 cport, struct t_frame *f)
{
	int n;

	t_fill_payload(f->payload, sizeof(f->payload));
	t_client_spec(&f->spec, e, cport, f->payload);
	f->ifindex = e->if_c;
	n = xlb_pkt_build(&f->spec, f->buf, sizeof(f->buf), &f->lay);
	if (n < 0)
		return n;
	f->len = (size_t)n;
	return 0;
}

/* An ICMP error from a router near the client about what the VIP sent (SYN-ACK, datagram). */
static void t_flow_icmp_to_vip(const struct xlb_case *c, const struct t_case_env *e, __u16 cport,
			       struct t_frame *f)
{
	struct xlb_pkt_spec *s = &f->spec, *q = &f->quote;
	__u16 vport = ntohs(e->vip.port);
	int v4 = e->vip.family == AF_INET;

	t_client_spec(q, e, cport, f->payload);
	q->saddr = e->vip.addr;
	q->daddr = e->client;
	q->sport = c->flow == T_F_ICMP_TO_VIP ? vport : vport + 1;
	q->dport = cport;
	q->ttl = 60;
	if (t_is_tcp(e)) {
		q->tcp_flags = XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK;
		q->seq = 7000000;
		q->ack = 1000001;
	}
	s->saddr = e->router_c;
	memcpy(s->src_mac, e->router_mac, 6);
	s->daddr = e->vip.addr;
	s->icmp_type = v4 ? 3 : 2; /* fragmentation needed / packet too big */
	s->icmp_code = v4 ? 4 : 0;
	s->icmp_data = v4 ? 1400 : 1280;
}

/* An ICMP error back to the client about what it sent on (translated) to the backend. */
static void t_flow_icmp_to_client(const struct xlb_case *c, const struct t_case_env *e,
				  __u16 cport, struct t_frame *f)
{
	struct xlb_pkt_spec *s = &f->spec, *q = &f->quote;
	__u16 vport = ntohs(e->vip.port);
	int v4 = e->vip.family == AF_INET;

	t_client_spec(q, e, cport, f->payload);
	q->daddr = c->flow == T_F_ICMP_OTHER ? e->other : e->be_addr;
	q->dport = c->flow == T_F_ICMP_OTHER ? vport : e->be_port;
	q->ttl = c->flow == T_F_ICMP_FROM_ROUTER ? 1 : 63;
	s->daddr = e->client;
	if (c->flow == T_F_ICMP_FROM_BACKEND) {
		s->saddr = e->be_addr;
		memcpy(s->src_mac, e->be_mac, 6);
		s->icmp_type = v4 ? 3 : 1; /* port unreachable */
		s->icmp_code = v4 ? 3 : 4;
	} else {
		s->saddr = e->router_b;
		memcpy(s->src_mac, e->router_mac, 6);
		s->icmp_type = v4 ? 11 : 3; /* time exceeded */
		s->icmp_code = 0;
	}
	memcpy(s->dst_mac, e->lb_mac_b, 6);
	f->ifindex = e->if_b;
}

/* ARP request (IPv4) or neighbour solicitation (IPv6) for the VIP address. */
static void t_flow_resolve(const struct xlb_case *c, const struct t_case_env *e,
			   struct t_frame *f)
{
	struct xlb_pkt_spec *s = &f->spec;
	__u8 *b = f->l2_payload;

	if (c->flow == T_F_ARP) {
		memcpy(b, (const __u8[]){ 0, 1, 8, 0, 6, 4, 0, 1 }, 8);
		memcpy(b + 8, e->client_mac, 6);
		memcpy(b + 14, &e->client.v4, 4);
		memset(b + 18, 0, 6);
		memcpy(b + 24, &e->vip.addr.v4, 4);
		memset(s->dst_mac, 0xff, 6);
		s->ethertype = 0x0806;
		s->payload = b;
		s->payload_len = 28;
		return;
	}
	memcpy(b, e->vip.addr.bytes, 16);
	b[16] = 1; /* source link-layer address option */
	b[17] = 1;
	memcpy(b + 18, e->client_mac, 6);
	/* The target's solicited-node group ff02::1:ffXX:XXXX, and its MAC 33:33 + low 32 bits. */
	memset(&s->daddr, 0, sizeof(s->daddr));
	s->daddr.bytes[0] = 0xff;
	s->daddr.bytes[1] = 0x02;
	s->daddr.bytes[11] = 0x01;
	s->daddr.bytes[12] = 0xff;
	memcpy(&s->daddr.bytes[13], &e->vip.addr.bytes[13], 3);
	memcpy(s->dst_mac, (const __u8[]){ 0x33, 0x33 }, 2);
	memcpy(s->dst_mac + 2, &s->daddr.bytes[12], 4);
	s->l4 = XLB_PKT_L4_ICMP;
	s->icmp_type = 135;
	s->icmp_data = 0;
	s->ttl = 255;
	s->payload = b;
	s->payload_len = 24;
}

/* The packet the row's flow names, before modifiers. */
static void t_flow_spec(const struct xlb_case *c, const struct t_case_env *e, __u16 cport,
			struct t_frame *f)
{
	struct xlb_pkt_spec *s = &f->spec;
	int v4 = e->vip.family == AF_INET, icmp_err = 0;

	t_client_spec(s, e, cport, f->payload);
	f->ifindex = e->if_c;
	switch (c->flow) {
	case T_F_TO_VIP:
		break;
	case T_F_TO_VIP_ADDR:
		s->dport = ntohs(e->vip.port) + 1;
		break;
	case T_F_TO_OTHER:
		s->daddr = e->other;
		break;
	case T_F_REPLY:
		memcpy(s->src_mac, e->be_mac, 6);
		memcpy(s->dst_mac, e->lb_mac_b, 6);
		s->saddr = e->be_addr;
		s->daddr = e->client;
		s->sport = e->be_port;
		s->dport = cport;
		if (t_is_tcp(e)) {
			s->tcp_flags = XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK;
			s->seq = 7000000;
			s->ack = 1000001;
		}
		f->ifindex = e->if_b;
		break;
	case T_F_ICMP_TO_VIP:
	case T_F_ICMP_TO_VIP_NOSVC:
		t_flow_icmp_to_vip(c, e, cport, f);
		icmp_err = 1;
		break;
	case T_F_ICMP_FROM_BACKEND:
	case T_F_ICMP_FROM_ROUTER:
	case T_F_ICMP_OTHER:
		t_flow_icmp_to_client(c, e, cport, f);
		icmp_err = 1;
		break;
	case T_F_ECHO_VIP:
	case T_F_ECHO_OTHER:
		if (c->flow == T_F_ECHO_OTHER)
			s->daddr = e->other;
		s->l4 = XLB_PKT_L4_ICMP;
		s->icmp_type = v4 ? 8 : 128;
		s->icmp_code = 0;
		s->icmp_data = 0x12340001;
		s->payload = f->payload;
		s->payload_len = 56;
		s->tcp_opts = NULL;
		s->tcp_opts_len = 0;
		break;
	case T_F_ARP:
	case T_F_ND:
		t_flow_resolve(c, e, f);
		break;
	}
	if (icmp_err) {
		s->l4 = XLB_PKT_L4_ICMP;
		s->quote = &f->quote;
		s->payload = NULL;
		s->payload_len = 0;
		s->tcp_opts = NULL;
		s->tcp_opts_len = 0;
		if (c->mods & T_M_QUOTE8)
			s->quote_len = (v4 ? 20 : 40) + 8;
	}
}

/* The row's TCP flags and header modifiers, on top of the flow's packet. */
static void t_mods_spec(const struct xlb_case *c, const struct t_case_env *e, struct t_frame *f)
{
	struct xlb_pkt_spec *s = &f->spec;
	int v4 = e->vip.family == AF_INET;

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
	if (c->mods & T_M_NOOPT) {
		s->tcp_opts = NULL;
		s->tcp_opts_len = 0;
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
		f->ifindex = f->ifindex == e->if_c ? e->if_b : e->if_c;
}

/* Where the row cuts the built frame, in bytes from its start; 0: it does not. */
static size_t t_cut_at(const struct xlb_case *c, const struct t_frame *f, int v4)
{
	switch (c->trunc) {
	case T_TR_NONE:
		return 0;
	case T_TR_L2:
		return f->lay.l3_off;
	case T_TR_VLAN:
		return 16;
	case T_TR_L3_HALF:
		return f->lay.l3_off + 10;
	case T_TR_L3:
		return f->lay.l3_off + (v4 ? 20 : 40);
	case T_TR_IPOPT:
		return f->lay.l3_off + 22;
	case T_TR_EXT:
		return f->lay.l3_off + 44;
	case T_TR_L4_HALF:
		return f->lay.l4_off + 4;
	case T_TR_L4_END:
		return f->lay.payload_off - 1;
	case T_TR_PAYLOAD:
		return f->lay.payload_off + f->spec.payload_len / 2;
	}
	return 0;
}

int t_case_frame(const struct xlb_case *c, const struct t_case_env *e, __u16 cport,
		 struct t_frame *f)
{
	struct xlb_pkt_spec *s = &f->spec;
	size_t cut;
	int n;

	t_fill_payload(f->payload, sizeof(f->payload));
	t_flow_spec(c, e, cport, f);
	t_mods_spec(c, e, f);
	n = xlb_pkt_build(s, f->buf, sizeof(f->buf), &f->lay);
	if (n < 0)
		return n;
	cut = t_cut_at(c, f, e->vip.family == AF_INET);
	if (cut) {
		s->truncate = cut;
		s->truncate_fix_len = !!(c->mods & T_M_FIXLEN);
		n = xlb_pkt_build(s, f->buf, sizeof(f->buf), &f->lay);
		if (n < 0)
			return n;
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
	return 0;
}
