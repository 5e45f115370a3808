// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The body behind every case-table row: turn the row into an input frame for
 * its service in the fixture's topology (cases.c builds it), prime conntrack
 * when the row asks, run the frame through one program with counter snapshots
 * around it, then check the return value, the counter deltas and the output
 * frame against a frame the builder makes from the row's expectation (so every
 * rewritten field and checksum is compared by name, and every other byte must
 * be unchanged).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "suite.h"

static void t_addr(const char *s, union xlb_addr *a)
{
	if (xlb_pkt_addr(s, a) < 0)
		t_err("bad address literal %s (test bug)", s);
}

/* The fixture's topology around a service, for the frame builder. */
static void t_env_of(const struct t_svc_state *svc, struct t_case_env *e)
{
	int v4 = svc->key.family == AF_INET;

	memset(e, 0, sizeof(*e));
	e->vip = svc->key;
	e->be_addr = svc->be_addr;
	e->be_port = svc->be_port;
	memcpy(e->be_mac, svc->be_mac, 6);
	t_addr(v4 ? T_CLIENT4 : T_CLIENT6, &e->client);
	t_addr(v4 ? T_OTHER4 : T_OTHER6, &e->other);
	t_addr(v4 ? T_ROUTER_C4 : T_ROUTER_C6, &e->router_c);
	t_addr(v4 ? T_ROUTER_B4 : T_ROUTER_B6, &e->router_b);
	memcpy(e->client_mac, t_client_mac, 6);
	memcpy(e->router_mac, t_router_mac, 6);
	memcpy(e->lb_mac_c, t_env.mac_c, 6);
	memcpy(e->lb_mac_b, t_env.mac_b, 6);
	e->if_c = t_env.if_c;
	e->if_b = t_env.if_b;
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
	struct t_case_env e;
	struct t_counters b, a;
	static struct t_frame f;
	__u32 ret, out_len;
	__u8 out[XLB_PKT_BUF];
	int err;

	t_env_of(&t_env.svc[c->svc], &e);
	memset(&f, 0, sizeof(f));
	err = t_case_opening(&e, cport, &f);
	if (err) {
		t_err("build priming frame: %d (test bug)", err);
		return;
	}
	t_counters_read(t_env.dp, &b);
	err = t_prog_run(t_env.dp, hook, t_env.if_c, f.buf, f.len, out, &out_len, &ret);
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
	struct t_case_env e;
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
	t_env_of(svc, &e);
	err = t_case_frame(c, &e, cport, &in);
	if (err)
		t_err("build input frame: %d (test bug)", err);
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
