// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Multi-step scenarios that a single table row cannot express: flows that
 * must keep their backend while the Maglev table changes under them, draining,
 * a removed backend whose slot id is given to another, the flood budgets and
 * stateless forwarding, an endpoint shared by two VIPs, conntrack lifetimes,
 * weights over thousands of flows, and a VIP whose table is missing. Each predicts Maglev picks from the live table and the data plane's
 * flow hash, so "the flow went elsewhere" and "the flow stayed" are both shown
 * to be possible before the test relies on one of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_read.h"
#include "maglev.h"
#include "suite.h"
#include "xlb.skel.h" /* struct xlb_bpf__bss: the endpoint cache's place */

#define T_FLOWS 64

/* One packet and what it did: the reason counter that moved, and where it went. */
struct t_shot {
	__u32 ret;
	int reason;
	struct xlb_stats before, after;
	union xlb_addr dst;
	__u16 dport;
	__u8 out[XLB_PKT_BUF];
	__u32 out_len;
};

static int t_moved(const struct xlb_stats *b, const struct xlb_stats *a, __u32 cnt)
{
	return (int)(a->c[cnt] - b->c[cnt]);
}

/* A client -> VIP TCP or UDP packet of flow (client, cport). */
static void t_spec(struct xlb_pkt_spec *s, const struct xlb_vip_key *k, __u16 cport, __u8 flags)
{
	static __u8 payload[16] = "xlb-test-payload";
	const char *client = k->family == AF_INET ? T_CLIENT4 : T_CLIENT6;

	xlb_pkt_init(s, k->family);
	memcpy(s->src_mac, t_client_mac, 6);
	memcpy(s->dst_mac, t_env.mac_c, 6);
	xlb_pkt_addr(client, &s->saddr);
	s->daddr = k->addr;
	s->sport = cport;
	s->dport = ntohs(k->port);
	if (k->proto == XLB_PROTO_TCP) {
		s->l4 = XLB_PKT_L4_TCP;
		s->tcp_flags = flags;
		s->seq = 1000;
		s->ack = flags & XLB_PKT_TCP_ACK ? 2000 : 0;
	} else {
		s->l4 = XLB_PKT_L4_UDP;
		s->payload = payload;
		s->payload_len = sizeof(payload);
	}
}

static void t_send_hook(struct xlb_dp *dp, enum t_hook hook, const struct xlb_pkt_spec *s,
			struct t_shot *r);

static void t_send(struct xlb_dp *dp, const struct xlb_pkt_spec *s, struct t_shot *r)
{
	t_send_hook(dp, T_XDP, s, r);
}

/* A raw frame through hook's program arriving on ifindex, counters around it. */
static void t_send_raw(struct xlb_dp *dp, enum t_hook hook, int ifindex, const __u8 *in, int n,
		       struct t_shot *r)
{
	int err;
	__u32 i;

	memset(r, 0, sizeof(*r));
	r->reason = -1;
	xlb_stats_read(dp, &r->before);
	err = t_prog_run(dp, hook, ifindex, in, (size_t)n, r->out, &r->out_len, &r->ret);
	xlb_stats_read(dp, &r->after);
	if (err) {
		t_err("BPF_PROG_TEST_RUN: %s", strerror(-err));
		return;
	}
	for (i = XLB_CNT_FIRST_REASON; i < XLB_CNT_FIRST_EVENT; i++)
		if (t_moved(&r->before, &r->after, i))
			r->reason = (int)i;
	if (t_frame_dst(r->out, r->out_len, &r->dst, &r->dport))
		memset(&r->dst, 0, sizeof(r->dst));
}

/* The frame s through hook's program (arriving on the client side), counters around it. */
static void t_send_hook(struct xlb_dp *dp, enum t_hook hook, const struct xlb_pkt_spec *s,
			struct t_shot *r)
{
	__u8 in[XLB_PKT_BUF];
	int n = xlb_pkt_build(s, in, sizeof(in), NULL);

	if (n < 0) {
		memset(r, 0, sizeof(*r));
		r->reason = -1;
		t_err("build: %d (test bug)", n);
		return;
	}
	t_send_raw(dp, hook, t_env.if_c, in, n, r);
}

/* The backend id Maglev gives a new flow under the VIP's live table. */
static __u32 t_predict(struct xlb_dp *dp, const struct xlb_vip_key *k, __u16 cport)
{
	static __u32 table[XLB_MAGLEV_MAX_SIZE];
	union xlb_addr client;
	int size = xlb_vip_table_read(dp, k, table, XLB_MAGLEV_MAX_SIZE);

	if (size <= 0) {
		t_err("read Maglev table: %d", size);
		return 0;
	}
	xlb_pkt_addr(k->family == AF_INET ? T_CLIENT4 : T_CLIENT6, &client);
	return table[t_hash_flow(k->family, &client, &k->addr, cport, ntohs(k->port), k->proto) %
		     (__u32)size];
}

static struct xlb_backend_spec t_be(const char *addr, __u16 port, __u8 state, __u16 weight)
{
	struct xlb_backend_spec b = {};

	b.family = (__u8)xlb_pkt_addr(addr, &b.addr);
	b.port = htons(port);
	b.state = state;
	b.weight = weight;
	return b;
}

static __u32 t_be_id(struct xlb_dp *dp, __u32 vip_id, const struct xlb_backend_spec *b)
{
	__u32 id = 0;

	if (xlb_backend_find(dp, vip_id, &b->addr, b->port, b->family, &id))
		t_err("backend not found in the VIP's set");
	return id;
}

/* Which of the specs the packet went to, by address and port; -1: none. */
static int t_which(const struct t_shot *r, const struct xlb_backend_spec *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!memcmp(&r->dst, &b[i].addr, sizeof(r->dst)) && htons(r->dport) == b[i].port)
			return i;
	return -1;
}

static void t_vip_new(struct xlb_dp *dp, const char *str, struct xlb_vip_key *k, __u32 *vip_id)
{
	char err[128];

	if (xlb_vip_key_parse(str, k, err, sizeof(err)))
		t_err("%s", err);
	else if (xlb_vip_put(dp, k, 0, vip_id))
		t_err("create VIP %s", str);
	t_done("creating the VIP");
}

/*
 * Stickiness: flows opened under one table keep their backend after the set
 * grows and the table changes, although the new table would send some of
 * them elsewhere; new flows follow the new table.
 */
void t_sticky_table_change(void **state)
{
	struct xlb_backend_spec be[4] = {
		t_be("198.18.2.10", 8080, XLB_BE_ACTIVE, 1),
		t_be("198.18.2.11", 8080, XLB_BE_ACTIVE, 1),
		t_be("198.18.2.12", 8080, XLB_BE_ACTIVE, 1),
		t_be("198.18.2.13", 8080, XLB_BE_ACTIVE, 1),
	};
	struct xlb_dp *dp = t_env.dp;
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct t_shot r;
	__u16 port[T_FLOWS];
	__u32 vip_id, ids[4], first[T_FLOWS];
	int i, j, moved = 0, on_new = 0;
	char what[96];

	t_vip_new(dp, "198.18.0.40:80/tcp", &k, &vip_id);
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 2), 0);
	for (j = 0; j < 2; j++)
		ids[j] = t_be_id(dp, vip_id, &be[j]);
	for (i = 0; i < T_FLOWS; i++) {
		port[i] = t_port();
		first[i] = t_predict(dp, &k, port[i]);
		t_spec(&s, &k, port[i], XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		j = t_which(&r, be, 2);
		snprintf(what, sizeof(what), "flow %u: SYN reason", port[i]);
		t_eq(what, r.reason, XLB_CNT_FWD_REDIRECT);
		snprintf(what, sizeof(what), "flow %u: SYN's backend id (predicted)", port[i]);
		t_eq(what, j >= 0 ? ids[j] : 0, first[i]);
	}
	t_done("opening flows under the first table");

	/* Four backends: a new table in which about half the slots changed owner. */
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 4), 0);
	for (j = 2; j < 4; j++)
		ids[j] = t_be_id(dp, vip_id, &be[j]);
	for (i = 0; i < T_FLOWS; i++) {
		__u32 now = t_predict(dp, &k, port[i]);

		moved += now != first[i];
		t_spec(&s, &k, port[i], XLB_PKT_TCP_ACK);
		t_send(dp, &s, &r);
		j = t_which(&r, be, 4);
		snprintf(what, sizeof(what), "flow %u: ACK after the change: backend id", port[i]);
		t_eq(what, j >= 0 ? ids[j] : 0, first[i]);
		snprintf(what, sizeof(what), "flow %u: event ct_hit", port[i]);
		t_eq(what, t_moved(&r.before, &r.after, XLB_CNT_CT_HIT), 1);
		snprintf(what, sizeof(what), "flow %u: event ct_new", port[i]);
		t_eq(what, t_moved(&r.before, &r.after, XLB_CNT_CT_NEW), 0);
	}
	if (!moved)
		t_err("no flow maps elsewhere under the new table: stickiness was not exercised");
	print_message("    %d of %d flows would map elsewhere under the new table; all stayed\n",
		      moved, T_FLOWS);
	t_done("established flows after the table change");

	for (i = 0; i < T_FLOWS; i++) {
		__u16 p = t_port();
		__u32 want = t_predict(dp, &k, p);

		t_spec(&s, &k, p, XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		j = t_which(&r, be, 4);
		snprintf(what, sizeof(what), "new flow %u: backend id", p);
		t_eq(what, j >= 0 ? ids[j] : 0, want);
		on_new += j >= 2;
	}
	if (!on_new)
		t_err("no new flow reached the added backends");
	t_done("new flows after the table change");
	assert_int_equal(xlb_vip_delete(dp, &k), 0);
}

/* Draining: the backend keeps its established flow, and takes no new one out of many. */
void t_draining(void **state)
{
	struct xlb_backend_spec be[2] = {
		t_be("198.18.2.10", 8080, XLB_BE_ACTIVE, 1),
		t_be("198.18.2.11", 8080, XLB_BE_ACTIVE, 1),
	};
	struct xlb_dp *dp = t_env.dp;
	struct xlb_backend_stats b0, b1, a0, a1;
	struct xlb_backend bstate;
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct t_shot r;
	__u32 vip_id, id0, id1;
	__u16 port = 0;
	int i, tries;

	t_vip_new(dp, "198.18.0.41:80/tcp", &k, &vip_id);
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 2), 0);
	id0 = t_be_id(dp, vip_id, &be[0]);
	id1 = t_be_id(dp, vip_id, &be[1]);
	for (tries = 0; tries < 100 && !port; tries++) {
		__u16 p = t_port();

		if (t_predict(dp, &k, p) == id1)
			port = p;
	}
	assert_true(port != 0);
	t_spec(&s, &k, port, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to the backend about to drain: reached it", t_which(&r, be, 2), 1);
	t_done("opening the flow");

	be[1].state = XLB_BE_DRAINING;
	be[1].weight = 0;
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 2), 0);
	assert_int_equal(xlb_backend_get(dp, id1, &bstate), 0);
	t_eq("backend state after set_backends", bstate.state, XLB_BE_DRAINING);
	t_eq("draining backend keeps its id", t_be_id(dp, vip_id, &be[1]), id1);

	t_spec(&s, &k, port, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_eq("established flow on the draining backend: reason", r.reason, XLB_CNT_FWD_REDIRECT);
	t_eq("established flow on the draining backend: still there", t_which(&r, be, 2), 1);
	t_eq("established flow on the draining backend: event ct_hit",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_HIT), 1);
	t_done("the established flow");

	xlb_backend_stats_read(dp, id0, &b0);
	xlb_backend_stats_read(dp, id1, &b1);
	for (i = 0; i < 256; i++) {
		t_spec(&s, &k, t_port(), XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		if (t_which(&r, be, 2) != 0) {
			t_err("new flow %u went to %s backend", s.sport,
			      t_which(&r, be, 2) == 1 ? "the draining" : "no");
			break;
		}
	}
	xlb_backend_stats_read(dp, id0, &a0);
	xlb_backend_stats_read(dp, id1, &a1);
	t_eq("active backend new_flows delta", a0.new_flows - b0.new_flows, 256);
	t_eq("draining backend new_flows delta", a1.new_flows - b1.new_flows, 0);
	t_done("new flows while draining");
	assert_int_equal(xlb_vip_delete(dp, &k), 0);
}

/*
 * Slot reuse: with three backend slots (ids 1 and 2), removing B and adding C
 * gives C B's id with the next generation. B's flows must then be picked again
 * from the new table, not follow the id to C; so some of them must be seen
 * landing on A, which the table (not the id) decides.
 */
void t_slot_reuse(void **state)
{
	struct xlb_backend_spec be[3] = {
		t_be("198.18.2.10", 8080, XLB_BE_ACTIVE, 1), /* A */
		t_be("198.18.2.11", 8080, XLB_BE_ACTIVE, 1), /* B */
		t_be("198.18.2.12", 8080, XLB_BE_ACTIVE, 1), /* C */
	};
	struct xlb_backend_spec ac[2];
	struct xlb_dp_opts o = { .max_vips = 4, .max_backends = 3, .ct_size = 4096 };
	struct xlb_backend bb, bc;
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct xlb_dp *dp;
	struct t_shot r;
	char pin[96], what[96];
	__u16 on_b[T_FLOWS];
	__u32 vip_id, id_a, id_b, id_c, gen_b;
	int i, n_b = 0, to_a = 0, to_c = 0, err;

	snprintf(pin, sizeof(pin), "%s-reuse", t_env.pin_path);
	t_pin_register(pin);
	o.pin_path = pin;
	err = xlb_dp_open(&dp, &o);
	if (err) {
		t_pin_release(pin);
		fail_msg("open a second instance at %s: %s", pin, strerror(-err));
	}
	t_vip_new(dp, "198.18.0.42:80/tcp", &k, &vip_id);
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 2), 0);
	id_a = t_be_id(dp, vip_id, &be[0]);
	id_b = t_be_id(dp, vip_id, &be[1]);
	assert_int_equal(xlb_backend_get(dp, id_b, &bb), 0);
	gen_b = bb.gen;
	for (i = 0; i < 4 * T_FLOWS && n_b < T_FLOWS; i++) {
		__u16 p = t_port();

		t_spec(&s, &k, p, XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		if (t_which(&r, be, 2) == 1)
			on_b[n_b++] = p;
	}
	if (n_b < 8)
		t_err("only %d flows landed on B", n_b);
	t_done("opening flows on B");

	/* Remove B, then add C: next-fit wraps around to B's freed slot. */
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 1), 0);
	ac[0] = be[0];
	ac[1] = be[2];
	assert_int_equal(xlb_vip_set_backends(dp, &k, ac, 2), 0);
	id_c = t_be_id(dp, vip_id, &be[2]);
	t_eq("C's backend id (B's reused slot)", id_c, id_b);
	assert_int_equal(xlb_backend_get(dp, id_c, &bc), 0);
	t_eq("C's generation", bc.gen, gen_b + 1);
	t_done("reusing B's slot for C");

	for (i = 0; i < n_b; i++) {
		__u32 want = t_predict(dp, &k, on_b[i]);
		int j;

		t_spec(&s, &k, on_b[i], XLB_PKT_TCP_ACK);
		t_send(dp, &s, &r);
		j = t_which(&r, ac, 2);
		snprintf(what, sizeof(what), "B's flow %u: event ct_repick", on_b[i]);
		t_eq(what, t_moved(&r.before, &r.after, XLB_CNT_CT_REPICK), 1);
		snprintf(what, sizeof(what), "B's flow %u: event ct_hit", on_b[i]);
		t_eq(what, t_moved(&r.before, &r.after, XLB_CNT_CT_HIT), 0);
		snprintf(what, sizeof(what), "B's flow %u: event ct_new (re-recorded)", on_b[i]);
		t_eq(what, t_moved(&r.before, &r.after, XLB_CNT_CT_NEW), 1);
		snprintf(what, sizeof(what), "B's flow %u: backend id (new table's pick)", on_b[i]);
		t_eq(what, j == 0 ? id_a : j == 1 ? id_c : 0, want);
		to_a += j == 0;
		to_c += j == 1;
	}
	print_message("    %d of B's flows re-picked: %d to A, %d to C\n", n_b, to_a, to_c);
	if (!to_a)
		t_err("no flow of B re-picked to A: cannot tell a re-pick from the slot id");
	t_done("B's flows after its slot went to C");

	/* B's address is no backend any more: its replies are not ours. */
	{
		struct xlb_pkt_spec rs;

		t_spec(&rs, &k, on_b[0], XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
		rs.saddr = be[1].addr;
		rs.sport = 8080;
		xlb_pkt_addr(T_CLIENT4, &rs.daddr);
		rs.dport = on_b[0];
		t_send(dp, &rs, &r);
		t_eq("reply from the removed backend: reason", r.reason, XLB_CNT_PASS_NOT_VIP);
	}
	t_done("replies of the removed backend");
	xlb_dp_close(dp);
	t_pin_release(pin);
}

/*
 * Empties both insert budgets (per CPU, per VIP) and every flood mark, so a
 * budget second starts with the test and no VIP counts as flooded.
 */
static void t_budget_reset(void)
{
	struct xlb_dp *dp = t_env.dp;
	int fc = xlb_dp_map_fd(dp, XLB_MAP_CT_BUDGET), fv = xlb_dp_map_fd(dp, XLB_MAP_VIP_BUDGET);
	int ff = xlb_dp_map_fd(dp, XLB_MAP_VIP_FLOOD), n = xlb_dp_ncpus(dp);
	void *zero = calloc((size_t)n, sizeof(struct xlb_budget));
	struct xlb_vip_flood none = {};
	__u32 key;

	if (fc < 0 || fv < 0 || ff < 0 || !zero) {
		t_err("budget maps missing");
		free(zero);
		return;
	}
	for (key = 0; key < T_MAX_VIPS; key++)
		if ((key == 0 && bpf_map_update_elem(fc, &key, zero, BPF_ANY)) ||
		    bpf_map_update_elem(fv, &key, zero, BPF_ANY) ||
		    bpf_map_update_elem(ff, &key, &none, BPF_ANY))
			t_err("reset budget %u: %s", key, strerror(errno));
	free(zero);
}

static void t_run_delta(const struct xlb_pkt_spec *s, const struct t_delta *d, __u32 want_ret,
			const char *what)
{
	struct t_counters b, a;
	__u8 in[XLB_PKT_BUF], out[XLB_PKT_BUF];
	__u32 ret = 0, out_len;
	int n = xlb_pkt_build(s, in, sizeof(in), NULL);

	t_counters_read(t_env.dp, &b);
	if (n < 0 || t_prog_run(t_env.dp, T_XDP, t_env.if_c, in, (size_t)n, out, &out_len, &ret))
		t_err("%s: run failed", what);
	t_counters_read(t_env.dp, &a);
	t_eq("program return value", ret, want_ret);
	t_check_delta(&b, &a, d);
	t_done(what);
}

/* Weights 3:1 over 4000 distinct flows: 75% +-5% to the heavy backend, each on its Maglev pick. */
void t_weights(void **state)
{
	struct xlb_backend_spec be[2] = {
		t_be("198.18.2.10", 5353, XLB_BE_ACTIVE, 3),
		t_be("198.18.2.11", 5353, XLB_BE_ACTIVE, 1),
	};
	struct xlb_backend_stats b[2], a[2];
	struct xlb_dp *dp = t_env.dp;
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct t_shot r;
	static __u32 table[XLB_MAGLEV_MAX_SIZE];
	union xlb_addr client;
	__u32 vip_id, ids[2];
	int i, j, n = 4000, cnt[2] = { 0, 0 }, wrong = 0, size;

	t_vip_new(dp, "198.18.0.43:53/udp", &k, &vip_id);
	assert_int_equal(xlb_vip_set_backends(dp, &k, be, 2), 0);
	for (j = 0; j < 2; j++) {
		ids[j] = t_be_id(dp, vip_id, &be[j]);
		xlb_backend_stats_read(dp, ids[j], &b[j]);
	}
	size = xlb_vip_table_read(dp, &k, table, XLB_MAGLEV_MAX_SIZE);
	assert_true(size > 0);
	xlb_pkt_addr(T_CLIENT4, &client);
	for (i = 0; i < n; i++) {
		__u16 p = t_port();
		__u32 want = table[t_hash_flow(AF_INET, &client, &k.addr, p, 53, XLB_PROTO_UDP) %
				   (__u32)size];

		t_spec(&s, &k, p, 0);
		t_send(dp, &s, &r);
		j = t_which(&r, be, 2);
		if (j < 0) {
			t_err("flow %u: not forwarded to a backend (reason %d)", p, r.reason);
			break;
		}
		cnt[j]++;
		if (ids[j] != want && wrong++ < 5)
			t_err("flow %u: backend id %u, Maglev pick %u", p, ids[j], want);
	}
	for (j = 0; j < 2; j++)
		xlb_backend_stats_read(dp, ids[j], &a[j]);
	print_message("    weights 3:1 over %d flows: %d / %d (%.1f%% to the heavy one)\n", n,
		      cnt[0], cnt[1], 100.0 * cnt[0] / n);
	t_eq("heavy backend new_flows delta", a[0].new_flows - b[0].new_flows, (unsigned)cnt[0]);
	t_eq("light backend new_flows delta", a[1].new_flows - b[1].new_flows, (unsigned)cnt[1]);
	if (cnt[0] * 100 < 70 * n || cnt[0] * 100 > 80 * n)
		t_err("heavy backend got %d of %d flows, want 75%% +-5%%", cnt[0], n);
	t_done("weighted distribution");
	assert_int_equal(xlb_vip_delete(dp, &k), 0);
}

/*
 * A VIP pointing at a table that does not exist (a writer bug or a race the
 * user-space API never produces, so the VIP is written raw): drop, count it.
 */
void t_no_table(void **state)
{
	struct xlb_dp *dp = t_env.dp;
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct xlb_vip v;
	struct t_delta d;
	__u32 vip_id;
	int fd = xlb_dp_map_fd(dp, XLB_MAP_VIPS);

	t_vip_new(dp, "198.18.0.44:80/tcp", &k, &vip_id);
	assert_int_equal(xlb_vip_get(dp, &k, &v), 0);
	v.table_size = XLB_MAGLEV_MIN_SIZE;
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_EXIST), 0);

	t_spec(&s, &k, t_port(), XLB_PKT_TCP_SYN);
	d = (struct t_delta){ .reason = XLB_CNT_DROP_NO_TABLE, .vip_id = vip_id };
	d.vip.drops[XLB_VIP_DROP_NO_TABLE] = 1;
	t_run_delta(&s, &d, XDP_DROP, "VIP without its table");
	xlb_vip_delete(dp, &k);
}

/*
 * A batch (a full sync): a new VIP's first table waits and goes live at the
 * end, all together; until then the VIP has no table and forwards nothing.
 * Writing a VIP again within the batch makes the waiting tables live first,
 * so the second write starts from what the data plane has.
 */
void t_batch_first_tables(void **state)
{
	struct xlb_backend_spec be[3] = {
	    t_be("198.18.2.14", 8080, XLB_BE_ACTIVE, 1),
	    t_be("198.18.2.15", 8080, XLB_BE_ACTIVE, 1),
	    t_be("198.18.2.16", 8080, XLB_BE_ACTIVE, 1),
	};
	struct xlb_dp *dp = t_env.dp;
	struct xlb_vip_key ka, kb;
	struct xlb_pkt_spec s;
	struct xlb_vip v;
	struct t_shot r;
	__u32 ida, idb;
	__u16 port;

	(void)state;
	assert_int_equal(xlb_dp_batch_begin(dp), 0);
	t_vip_new(dp, "198.18.0.45:80/tcp", &ka, &ida);
	t_vip_new(dp, "198.18.0.46:80/tcp", &kb, &idb);
	assert_int_equal(xlb_vip_set_backends(dp, &ka, be, 2), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &kb, be, 2), 0);
	assert_int_equal(xlb_vip_get(dp, &ka, &v), 0);
	t_eq("VIP A's live table size inside the batch", v.table_size, 0);
	port = t_port();
	t_spec(&s, &ka, port, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to VIP A inside the batch: forwarded to a backend", t_which(&r, be, 3) >= 0, 0);
	t_done("first tables waiting");

	/* B written again: the waiting tables go live first, then B's new one replaces its own. */
	assert_int_equal(xlb_vip_set_backends(dp, &kb, be, 3), 0);
	assert_int_equal(xlb_vip_get(dp, &ka, &v), 0);
	t_eq("VIP A's table size after B's second write", v.table_size, xlb_maglev_size(2));
	assert_int_equal(xlb_vip_get(dp, &kb, &v), 0);
	t_eq("VIP B's table size after its second write", v.table_size, xlb_maglev_size(3));
	assert_int_equal(xlb_dp_batch_end(dp), 0);

	port = t_port();
	t_spec(&s, &kb, port, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to VIP B after the batch: reason", r.reason, XLB_CNT_FWD_REDIRECT);
	t_eq("SYN to VIP B: backend id (predicted from the live table)",
	     t_which(&r, be, 3) >= 0 ? t_be_id(dp, idb, &be[t_which(&r, be, 3)]) : 0,
	     t_predict(dp, &kb, port));
	t_done("tables live after the batch");
	xlb_vip_delete(dp, &ka);
	xlb_vip_delete(dp, &kb);
}

/* A backend's packet to the client's port cport: a reply of the flow (client, cport) -> k. */
static void t_reply_spec(struct xlb_pkt_spec *s, const struct xlb_vip_key *k,
			 const struct xlb_backend_spec *b, __u16 cport, __u8 flags)
{
	t_spec(s, k, cport, flags);
	s->saddr = b->addr;
	s->sport = ntohs(b->port);
	xlb_pkt_addr(T_CLIENT4, &s->daddr);
	s->dport = cport;
}

/* The reply left translated, as VIP k: the source (and any ICMP quote's destination) is k. */
static void t_reply_as(const char *what, const struct t_shot *r, const struct xlb_vip_key *k,
		       int icmp)
{
	struct xlb_pkt_info pi;
	char a[64], want[64];
	const struct xlb_pkt_ip *ip;

	if (t_moved(&r->before, &r->after, icmp ? XLB_CNT_ICMP_REPLY : XLB_CNT_NAT_REPLY) != 1) {
		t_err("%s: not translated (reason %d)", what, r->reason);
		return;
	}
	if (xlb_pkt_parse(r->out, r->out_len, &pi) || (icmp && !pi.has_quote)) {
		t_err("%s: the frame sent does not parse", what);
		return;
	}
	ip = icmp ? &pi.quote : &pi.ip;
	if (memcmp(icmp ? &ip->daddr : &ip->saddr, &k->addr, sizeof(k->addr)) ||
	    (icmp ? ip->dport : ip->sport) != ntohs(k->port) ||
	    (icmp && memcmp(&pi.ip.saddr, &k->addr, sizeof(k->addr))))
		t_err("%s: leaves as %s:%u, want the VIP %s:%u", what,
		      xlb_pkt_addr_str(AF_INET, icmp ? &ip->daddr : &ip->saddr, a, sizeof(a)),
		      icmp ? ip->dport : ip->sport, xlb_pkt_addr_str(AF_INET, &k->addr, want,
								      sizeof(want)),
		      ntohs(k->port));
}

/* The configuration the suite runs with, to put back after a test changed it. */
static void t_config_saved(struct xlb_config *cfg)
{
	if (xlb_reader_config(xlb_dp_reader(t_env.dp), cfg))
		t_err("read xlb_config");
}

/*
 * Two new flows (k1, then k2) in one second of the budgets: the first is
 * recorded and the second is not. A second that ends between them (a loaded
 * machine) makes the attempt void, and it is made again with fresh budgets.
 */
static void t_budget_pair(const struct xlb_vip_key *k1, const struct xlb_vip_key *k2,
			  __u16 *p1, __u16 *p2, struct t_shot *r1, struct t_shot *r2)
{
	struct xlb_pkt_spec s;
	int attempt;

	for (attempt = 0; attempt < 5; attempt++) {
		__u32 t0;

		t_budget_reset();
		t0 = xlb_tick_now();
		*p1 = t_port();
		t_spec(&s, k1, *p1, XLB_PKT_TCP_SYN);
		t_send(t_env.dp, &s, r1);
		*p2 = t_port();
		t_spec(&s, k2, *p2, XLB_PKT_TCP_SYN);
		t_send(t_env.dp, &s, r2);
		if (xlb_tick_now() - t0 < XLB_TICKS_PER_SEC / 2)
			return;
		print_message("    two SYNs took over half a second: trying again\n");
	}
	t_err("five attempts at two SYNs within half a second: none made it");
}

/*
 * Flood budgets. Per VIP: with room for one new flow a second, the second
 * SYN to VIP A goes out unrecorded (Maglev's pick, counted stateless), its
 * next packets too, and its replies are translated by Maglev's verdict while
 * A counts as flooded, but only from the backend Maglev names; VIP B keeps
 * its own budget. Per CPU: one new flow a second in all, whichever VIP.
 * Flows recorded before go on as before.
 */
void t_flood_budget(void **state)
{
	struct xlb_backend_spec be[3] = {
		t_be("198.18.2.14", 8081, XLB_BE_ACTIVE, 1),
		t_be("198.18.2.15", 8081, XLB_BE_ACTIVE, 1),
		t_be("198.18.2.16", 8081, XLB_BE_ACTIVE, 1),
	};
	struct xlb_dp *dp = t_env.dp;
	struct xlb_config saved, cfg = {};
	struct xlb_vip_stats vb, va;
	struct xlb_vip_key ka, kb;
	struct xlb_pkt_spec s;
	struct t_shot r1, r2, r;
	__u32 ida, idb, ids[2];
	__u16 p1, p2, q = 0;
	int j, i;

	(void)state;
	t_config_saved(&saved);
	t_vip_new(dp, "198.18.0.47:80/tcp", &ka, &ida);
	t_vip_new(dp, "198.18.0.50:80/tcp", &kb, &idb);
	assert_int_equal(xlb_vip_set_backends(dp, &ka, be, 2), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &kb, &be[2], 1), 0);
	for (j = 0; j < 2; j++)
		ids[j] = t_be_id(dp, ida, &be[j]);

	cfg = saved;
	cfg.new_per_cpu = 0;
	cfg.new_per_vip = 1;
	assert_int_equal(xlb_config_set(dp, &cfg), 0);
	xlb_vip_stats_read(dp, ida, &vb);
	t_budget_pair(&ka, &ka, &p1, &p2, &r1, &r2);
	xlb_vip_stats_read(dp, ida, &va);
	t_eq("first SYN to A: event ct_new", t_moved(&r1.before, &r1.after, XLB_CNT_CT_NEW), 1);
	t_eq("first SYN to A: event ct_stateless",
	     t_moved(&r1.before, &r1.after, XLB_CNT_CT_STATELESS), 0);
	t_eq("second SYN to A: reason", r2.reason, XLB_CNT_FWD_REDIRECT);
	t_eq("second SYN to A: event ct_new", t_moved(&r2.before, &r2.after, XLB_CNT_CT_NEW), 0);
	t_eq("second SYN to A: event ct_stateless",
	     t_moved(&r2.before, &r2.after, XLB_CNT_CT_STATELESS), 1);
	j = t_which(&r2, be, 2);
	t_eq("second SYN to A: backend id (Maglev's pick)", j >= 0 ? ids[j] : 0,
	     t_predict(dp, &ka, p2));
	t_eq("VIP A: stateless counted", va.stateless - vb.stateless, 1);
	t_eq("VIP A: new flows counted (both)", va.new_flows - vb.new_flows, 2);
	t_done("the per-VIP budget");

	/* The unrecorded flow goes on to the same backend, still unrecorded. */
	t_spec(&s, &ka, p2, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_eq("ACK of the stateless flow: backend", t_which(&r, be, 2), j);
	t_eq("ACK of the stateless flow: event ct_stateless",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_STATELESS), 1);
	t_eq("ACK of the stateless flow: event ct_hit", t_moved(&r.before, &r.after, XLB_CNT_CT_HIT),
	     0);
	t_done("a stateless flow's next packet");

	/* Its reply, from Maglev's backend: translated as A, on Maglev's word. */
	if (j >= 0) {
		t_reply_spec(&s, &ka, &be[j], p2, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
		t_send(dp, &s, &r);
		t_reply_as("reply of the stateless flow", &r, &ka, 0);
		t_eq("reply of the stateless flow: event ct_stateless_reply",
		     t_moved(&r.before, &r.after, XLB_CNT_CT_STATELESS_REPLY), 1);
		/* A port Maglev gives the other backend: this backend's packet to it is not ours. */
		for (i = 0; i < 200 && !q; i++) {
			__u16 c = t_port();

			if (t_predict(dp, &ka, c) == ids[1 - j])
				q = c;
		}
		assert_true(q != 0);
		t_reply_spec(&s, &ka, &be[j], q, XLB_PKT_TCP_ACK);
		t_send(dp, &s, &r);
		t_eq("packet to a port Maglev gives the other backend: reason", r.reason,
		     XLB_CNT_PASS_NOT_VIP);
	}
	/* The recorded flow's reply: from conntrack, not Maglev. */
	i = t_predict(dp, &ka, p1) == ids[0] ? 0 : 1;
	t_reply_spec(&s, &ka, &be[i], p1, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply of the recorded flow", &r, &ka, 0);
	t_eq("reply of the recorded flow: event ct_stateless_reply",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_STATELESS_REPLY), 0);
	t_done("replies while A is flooded");

	/* VIP B has its own budget: recorded although A's is spent. */
	t_spec(&s, &kb, t_port(), XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to B while A's budget is spent: event ct_new",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_NEW), 1);
	t_eq("SYN to B: reached its backend", t_which(&r, &be[2], 1), 0);
	t_done("another VIP's budget");

	/* Per CPU: one new flow a second in all, so B's SYN after A's goes unrecorded. */
	cfg.new_per_cpu = 1;
	cfg.new_per_vip = 0;
	assert_int_equal(xlb_config_set(dp, &cfg), 0);
	xlb_vip_stats_read(dp, idb, &vb);
	t_budget_pair(&ka, &kb, &p1, &p2, &r1, &r2);
	xlb_vip_stats_read(dp, idb, &va);
	t_eq("SYN to A: event ct_new", t_moved(&r1.before, &r1.after, XLB_CNT_CT_NEW), 1);
	t_eq("SYN to B after it: event ct_stateless",
	     t_moved(&r2.before, &r2.after, XLB_CNT_CT_STATELESS), 1);
	t_eq("SYN to B after it: reached its backend", t_which(&r2, &be[2], 1), 0);
	t_eq("VIP B: stateless counted", va.stateless - vb.stateless, 1);
	t_done("the per-CPU budget");

	/* Limits lifted: the next new flow is recorded. */
	cfg.new_per_cpu = 0;
	assert_int_equal(xlb_config_set(dp, &cfg), 0);
	t_spec(&s, &kb, t_port(), XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to B without limits: event ct_new", t_moved(&r.before, &r.after, XLB_CNT_CT_NEW),
	     1);
	t_done("budgets lifted");

	assert_int_equal(xlb_config_set(dp, &saved), 0);
	t_budget_reset();
	xlb_vip_delete(dp, &ka);
	xlb_vip_delete(dp, &kb);
}

static int t_be_flagged(struct xlb_dp *dp, __u32 id)
{
	struct xlb_backend b = {};

	if (xlb_backend_get(dp, id, &b))
		t_err("read backend %u", id);
	return !!(b.flags & XLB_BE_F_REPLY_ENTRY);
}

/*
 * One endpoint behind two VIPs. Alone at its endpoint a backend's flows have
 * one entry, and replies are told from the primary's flow; once a second VIP
 * shares it, every backend there records reply entries, the latest flow of a
 * tuple decides which VIP its replies (and ICMP errors) leave as, a client
 * port reused across the VIPs follows the reuse, a draining backend keeps
 * its replies, and when the second VIP goes the primary's flows are found
 * again without reply entries.
 */
void t_shared_endpoint(void **state)
{
	struct xlb_backend_spec be = t_be("198.18.2.17", 8080, XLB_BE_ACTIVE, 1);
	struct xlb_dp *dp = t_env.dp;
	struct xlb_pkt_spec s, qs;
	struct xlb_vip_key ka, kb;
	struct t_shot r;
	__u32 ida, idb, bea, beb;
	__u16 p1 = t_port(), p2 = t_port();

	(void)state;
	t_vip_new(dp, "198.18.0.48:80/tcp", &ka, &ida);
	assert_int_equal(xlb_vip_set_backends(dp, &ka, &be, 1), 0);
	bea = t_be_id(dp, ida, &be);
	t_eq("alone at its endpoint: backend flagged for reply entries", t_be_flagged(dp, bea), 0);
	t_spec(&s, &ka, p1, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to A: event ct_new", t_moved(&r.before, &r.after, XLB_CNT_CT_NEW), 1);
	t_eq("SYN to A: event ct_reply_entry", t_moved(&r.before, &r.after, XLB_CNT_CT_REPLY_ENTRY),
	     0);
	t_done("a flow to an endpoint of one VIP");

	t_vip_new(dp, "198.18.0.49:80/tcp", &kb, &idb);
	assert_int_equal(xlb_vip_set_backends(dp, &kb, &be, 1), 0);
	beb = t_be_id(dp, idb, &be);
	t_eq("shared: A's backend flagged", t_be_flagged(dp, bea), 1);
	t_eq("shared: B's backend flagged", t_be_flagged(dp, beb), 1);
	/* Recorded before the sharing: no reply entry, the primary's flow tells. */
	t_reply_spec(&s, &ka, &be, p1, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply of A's flow from before the sharing", &r, &ka, 0);

	t_spec(&s, &kb, p2, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to B: event ct_reply_entry", t_moved(&r.before, &r.after, XLB_CNT_CT_REPLY_ENTRY),
	     1);
	t_reply_spec(&s, &kb, &be, p2, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply of B's flow", &r, &kb, 0);
	t_done("both VIPs' flows at the shared endpoint");

	/* The client reuses p2 for A: the backend sees the same tuple, now A's. */
	t_spec(&s, &ka, p2, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to A on B's client port: event ct_reply_entry",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_REPLY_ENTRY), 1);
	t_reply_spec(&s, &ka, &be, p2, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply after the port went to A", &r, &ka, 0);
	/* And back to B, whose entry is still there: the SYN rewrites the reply entry. */
	t_spec(&s, &kb, p2, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to B again: event ct_syn_recorded",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_SYN_RECORDED), 1);
	t_reply_spec(&s, &kb, &be, p2, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply after the port went back to B", &r, &kb, 0);
	t_done("a client port reused across the VIPs");

	/* ICMP errors, both ways, about the tuple B has now. */
	t_spec(&qs, &kb, p2, XLB_PKT_TCP_SYN);
	qs.daddr = be.addr;
	qs.dport = ntohs(be.port);
	qs.ttl = 63;
	t_reply_spec(&s, &kb, &be, p2, 0);
	s.l4 = XLB_PKT_L4_ICMP;
	s.icmp_type = 3;
	s.icmp_code = 3; /* port unreachable */
	s.payload = NULL;
	s.payload_len = 0;
	s.quote = &qs;
	t_send(dp, &s, &r);
	t_reply_as("port unreachable from the backend", &r, &kb, 1);

	t_spec(&qs, &kb, p2, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	qs.saddr = kb.addr;
	qs.sport = ntohs(kb.port);
	xlb_pkt_addr(T_CLIENT4, &qs.daddr);
	qs.dport = p2;
	t_spec(&s, &kb, 0, 0);
	xlb_pkt_addr(T_ROUTER_C4, &s.saddr);
	s.l4 = XLB_PKT_L4_ICMP;
	s.icmp_type = 3;
	s.icmp_code = 4; /* fragmentation needed */
	s.icmp_data = 1400;
	s.payload = NULL;
	s.payload_len = 0;
	s.quote = &qs;
	t_send(dp, &s, &r);
	t_eq("fragmentation needed to B: event icmp_orig",
	     t_moved(&r.before, &r.after, XLB_CNT_ICMP_ORIG), 1);
	t_eq("fragmentation needed to B: sent to the backend's address",
	     !memcmp(&r.dst, &be.addr, sizeof(be.addr)), 1);
	t_done("ICMP errors at the shared endpoint");

	/* B's backend drains: its flow's replies still leave as B. */
	be.state = XLB_BE_DRAINING;
	assert_int_equal(xlb_vip_set_backends(dp, &kb, &be, 1), 0);
	be.state = XLB_BE_ACTIVE;
	t_reply_spec(&s, &kb, &be, p2, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply of B's flow while its backend drains", &r, &kb, 0);
	t_done("draining at the shared endpoint");

	/* B goes: alone again, A's backend loses the flag and its flows are found by the primary. */
	assert_int_equal(xlb_vip_delete(dp, &kb), 0);
	t_eq("alone again: A's backend flagged", t_be_flagged(dp, bea), 0);
	t_reply_spec(&s, &ka, &be, p2, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply on the port A had last, after B went", &r, &ka, 0);
	t_reply_spec(&s, &ka, &be, p1, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("reply of A's first flow, after B went", &r, &ka, 0);
	t_spec(&s, &ka, t_port(), XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN to A alone again: event ct_reply_entry",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_REPLY_ENTRY), 0);
	t_done("the endpoint alone again");
	xlb_vip_delete(dp, &ka);
}

/* The flow (client, cport) -> k's entry in xlb_ct4; 0, or -errno when there is none. */
static int t_ct4_get(const struct xlb_vip_key *k, __u16 cport, struct xlb_ct_entry *e)
{
	int fd = xlb_dp_map_fd(t_env.dp, XLB_MAP_CT4);
	struct xlb_ct4_key ck = {};
	union xlb_addr client;

	xlb_pkt_addr(T_CLIENT4, &client);
	ck.daddr = k->addr.v4;
	ck.saddr = client.v4;
	ck.dport = k->port;
	ck.sport = htons(cport);
	ck.proto = k->proto;
	ck.dir = XLB_DIR_ORIG;
	return fd < 0 ? -EBADF : bpf_map_lookup_elem(fd, &ck, e) ? -errno : 0;
}

static void t_expires_near(const char *what, __u32 expires, __u32 ttl, __u32 t0, __u32 t1);

/* The flow's entry is in state, and expires about ttl ticks after t0 (no sooner, no much later). */
static void t_ct_state_is(const char *what, const struct xlb_vip_key *k, __u16 cport, __u8 state,
			  __u32 ttl, __u32 t0)
{
	struct xlb_ct_entry e;
	__u32 t1 = xlb_tick_now();
	char w[128];

	if (t_ct4_get(k, cport, &e)) {
		t_err("%s: no conntrack entry", what);
		return;
	}
	snprintf(w, sizeof(w), "%s: state", what);
	t_eq(w, e.state, state);
	t_expires_near(what, e.expires, ttl, t0, t1);
}

/*
 * An expiry of ttl ticks written between t0 and t1 (user space's ticks): the
 * programs' clock lags ours by less than two jiffies (the coarse clock by less
 * than one, of up to 10 ms), and never runs ahead.
 */
static void t_expires_near(const char *what, __u32 expires, __u32 ttl, __u32 t0, __u32 t1)
{
	__u64 jns = xlb_dp_clock_jiffy_ns(t_env.dp);
	__s32 lag = (__s32)(((jns ? 2 * jns : 10000000ull) >> XLB_TICK_SHIFT) + 2);

	if ((__s32)(expires - (t0 + ttl)) < -lag || (__s32)(expires - (t1 + ttl)) > 0)
		t_err("%s: expires %d ticks from now, want %u (at most %d less)", what,
		      (__s32)(expires - t1), ttl, lag);
}

/*
 * TCP-aware lifetimes, read from the entries themselves: a SYN's flow has the
 * handshake's lifetime, the client's ACK establishes it, a FIN each way
 * closes it, a RST closes it at once; a UDP flow has its own. An entry past
 * its lifetime counts as gone (the next packet re-records it), a SYN on a
 * closed tuple picks again, and the sweep deletes what expired.
 */
void t_ct_lifetimes(void **state)
{
	struct xlb_backend_spec be = t_be("198.18.2.18", 8080, XLB_BE_ACTIVE, 1);
	const struct t_svc_state *udp = &t_env.svc[T_SVC_UDP4];
	struct xlb_dp *dp = t_env.dp;
	struct xlb_config saved, cfg;
	struct xlb_ct_entry e;
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct xlb_ct_gc gc;
	struct t_shot r;
	__u32 vip_id, t0, T[XLB_CTS_MAX] = { 0 };
	__u16 p = t_port(), q = t_port(), x = t_port();
	int i;

	(void)state;
	t_config_saved(&saved);
	cfg = saved;
	T[XLB_CTS_SYN] = 5000;
	T[XLB_CTS_EST] = 60000;
	T[XLB_CTS_FIN] = 3000;
	T[XLB_CTS_CLOSED] = 2000;
	T[XLB_CTS_UDP] = 7000;
	memcpy(cfg.ct_timeout, T, sizeof(T));
	assert_int_equal(xlb_config_set(dp, &cfg), 0);
	t_vip_new(dp, "198.18.0.51:80/tcp", &k, &vip_id);
	assert_int_equal(xlb_vip_set_backends(dp, &k, &be, 1), 0);

	t0 = xlb_tick_now();
	t_spec(&s, &k, p, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_ct_state_is("after the SYN", &k, p, XLB_CTS_SYN, T[XLB_CTS_SYN], t0);
	t0 = xlb_tick_now();
	t_spec(&s, &k, p, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_ct_state_is("after the client's ACK", &k, p, XLB_CTS_EST, T[XLB_CTS_EST], t0);
	t0 = xlb_tick_now();
	t_spec(&s, &k, p, XLB_PKT_TCP_FIN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_ct_state_is("after the client's FIN", &k, p, XLB_CTS_FIN, T[XLB_CTS_FIN], t0);
	t0 = xlb_tick_now();
	t_reply_spec(&s, &k, &be, p, XLB_PKT_TCP_FIN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("the backend's FIN", &r, &k, 0);
	t_ct_state_is("after a FIN each way", &k, p, XLB_CTS_CLOSED, T[XLB_CTS_CLOSED], t0);
	if (!t_ct4_get(&k, p, &e))
		t_eq("after a FIN each way: both FIN flags", e.flags & (XLB_CT_F_FIN_ORIG |
									XLB_CT_F_FIN_REPLY),
		     XLB_CT_F_FIN_ORIG | XLB_CT_F_FIN_REPLY);
	t_done("a connection's life");

	t_spec(&s, &k, q, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t0 = xlb_tick_now();
	t_reply_spec(&s, &k, &be, q, XLB_PKT_TCP_RST | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_ct_state_is("after the backend's RST", &k, q, XLB_CTS_CLOSED, T[XLB_CTS_CLOSED], t0);
	t0 = xlb_tick_now();
	t_spec(&s, &udp->key, x, 0);
	t_send(dp, &s, &r);
	t_ct_state_is("a UDP flow", &udp->key, x, XLB_CTS_UDP, T[XLB_CTS_UDP], t0);
	t_done("a reset and a datagram");

	/* A SYN on the closed tuple: a new connection, recorded again from the handshake. */
	t0 = xlb_tick_now();
	t_spec(&s, &k, q, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("SYN on a closed tuple: event ct_syn_recorded",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_SYN_RECORDED), 1);
	t_ct_state_is("SYN on a closed tuple", &k, q, XLB_CTS_SYN, T[XLB_CTS_SYN], t0);
	t_done("a closed tuple reused");

	/* Closed flows live one tick: past it the entry is gone for the programs and the sweep. */
	T[XLB_CTS_CLOSED] = 1;
	memcpy(cfg.ct_timeout, T, sizeof(T));
	assert_int_equal(xlb_config_set(dp, &cfg), 0);
	t_spec(&s, &k, q, XLB_PKT_TCP_RST);
	t_send(dp, &s, &r);
	t0 = xlb_tick_now();
	while (xlb_tick_now() - t0 < 50)
		usleep(10000);
	t_spec(&s, &k, q, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_eq("ACK after the closed flow expired: event ct_expired",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_EXPIRED), 1);
	t_eq("ACK after the closed flow expired: event ct_new",
	     t_moved(&r.before, &r.after, XLB_CNT_CT_NEW), 1);
	t_eq("ACK after the closed flow expired: reached the backend", t_which(&r, &be, 1), 0);
	t_ct_state_is("picked up again mid-flow", &k, q, XLB_CTS_EST, T[XLB_CTS_EST], t0);
	t_spec(&s, &k, q, XLB_PKT_TCP_RST);
	t_send(dp, &s, &r);
	t0 = xlb_tick_now();
	while (xlb_tick_now() - t0 < 50)
		usleep(10000);
	memset(&gc, 0, sizeof(gc));
	for (i = 0; i < 16 && !gc.pass_done; i++)
		assert_int_equal(xlb_dp_ct_gc(dp, xlb_tick_now(), &gc), 0);
	t_eq("the sweep finished a pass", gc.pass_done, 1);
	t_eq("the expired entry after the sweep: gone", t_ct4_get(&k, q, &e), -ENOENT);
	t_eq("the live entry after the sweep: kept", t_ct4_get(&k, p, &e), 0);
	t_done("expiry and the sweep");

	assert_int_equal(xlb_config_set(dp, &saved), 0);
	xlb_vip_delete(dp, &k);
}

/*
 * The programs' clock: calibrated from jiffies at a HZ Linux builds with (the
 * measured HZ agrees with the kernel config's), recording expiries on user
 * space's clock; and the coarse clock helper, where calibration is off, on the
 * same clock.
 */
void t_clock(void **state)
{
	const struct t_svc_state *udp = &t_env.svc[T_SVC_UDP4];
	struct xlb_dp *dp = t_env.dp;
	__u64 jns = xlb_dp_clock_jiffy_ns(dp);
	struct xlb_config cfg;
	struct xlb_ct_entry e;
	struct xlb_pkt_spec s;
	struct t_shot r;
	__u32 ttl, t0;
	long hz;
	int i;

	(void)state;
	t_config_saved(&cfg);
	ttl = cfg.ct_timeout[XLB_CTS_UDP] ? cfg.ct_timeout[XLB_CTS_UDP]
					  : XLB_CT_TIMEOUT_UDP_DEFAULT * XLB_TICKS_PER_SEC;
	if (!jns) {
		t_err("the clock is not calibrated (syscall programs are in this kernel)");
		return;
	}
	hz = (long)((1000000000ull + jns / 2) / jns);
	if (hz != 100 && hz != 250 && hz != 300 && hz != 1000)
		t_err("calibrated at %llu ns per jiffy, HZ %ld: not one Linux builds with",
		      (unsigned long long)jns, hz);
	t_eq("measured HZ", xlb_dp_clock_measure_hz(dp), hz);
	t_done("calibrated from jiffies");

	for (i = 0; i < 2; i++) {
		__u16 port = t_port();

		assert_int_equal(xlb_dp_clock_calibrate(dp, i == 1), 0);
		t_eq(i ? "coarse: jiffy ns" : "calibrated: jiffy ns", xlb_dp_clock_jiffy_ns(dp) != 0,
		     i == 0);
		t0 = xlb_tick_now();
		t_spec(&s, &udp->key, port, 0);
		t_send(dp, &s, &r);
		if (t_ct4_get(&udp->key, port, &e)) {
			t_err("%s: no conntrack entry", i ? "coarse" : "calibrated");
			continue;
		}
		t_expires_near(i ? "coarse clock" : "calibrated clock", e.expires, ttl, t0,
			       xlb_tick_now());
	}
	assert_int_equal(xlb_dp_clock_calibrate(dp, false), 0);
	t_done("a UDP flow's expiry on either clock");
}

/* The programs' .bss (the clock and the endpoint cache), by the XDP program's maps. */
static int t_bss_fd(void)
{
	int pfd = xlb_dp_prog_fd(t_env.dp, XLB_PROG_XDP), fd;
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	__u32 ids[64], len = sizeof(pi), mlen, i;

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(pfd, &pi, &len))
		return -errno;
	for (i = 0; i < pi.nr_map_ids && i < 64; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		mlen = sizeof(mi);
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) && strstr(mi.name, ".bss") &&
		    mi.value_size == sizeof(struct xlb_bpf__bss))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* Every slot of the endpoint cache says backend id: what the worst collisions would leave. */
static void t_ep_cache_fill(__u32 id)
{
	struct xlb_bpf__bss *b = calloc(1, sizeof(*b));
	int fd = t_bss_fd(), zero = 0;
	size_t i;

	if (fd < 0 || !b || bpf_map_lookup_elem(fd, &zero, b)) {
		t_err("read the programs' .bss: %d", fd);
	} else {
		for (i = 0; i < sizeof(b->xlb_ep_cache) / sizeof(b->xlb_ep_cache[0]); i++)
			b->xlb_ep_cache[i] = id;
		if (bpf_map_update_elem(fd, &zero, b, BPF_ANY))
			t_err("write the programs' .bss: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	free(b);
}

/*
 * The reply path's endpoint cache only ever shortcuts xlb_backend_addrs: a
 * slot that names the wrong backend (the same address and port serving the
 * other protocol, a backend that came to share its endpoint, a removed one)
 * sends the reply down the full lookup, so each reply still leaves as the VIP
 * of its flow, or untranslated when it has none.
 */
void t_endpoint_cache(void **state)
{
	struct xlb_backend_spec be = t_be("198.18.2.19", 53, XLB_BE_ACTIVE, 1);
	struct xlb_dp *dp = t_env.dp;
	struct xlb_vip_key kt, ku, kv;
	struct xlb_pkt_spec s;
	struct t_shot r;
	__u32 idt, idu, idv, bet, beu;
	__u16 p1 = t_port(), p2 = t_port(), p3 = t_port();

	(void)state;
	t_vip_new(dp, "198.18.0.52:53/tcp", &kt, &idt);
	t_vip_new(dp, "198.18.0.52:53/udp", &ku, &idu);
	assert_int_equal(xlb_vip_set_backends(dp, &kt, &be, 1), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &ku, &be, 1), 0);
	bet = t_be_id(dp, idt, &be);
	beu = t_be_id(dp, idu, &be);
	t_spec(&s, &kt, p1, XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_spec(&s, &ku, p2, 0);
	t_send(dp, &s, &r);
	t_reply_spec(&s, &kt, &be, p1, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("TCP reply", &r, &kt, 0);
	t_reply_spec(&s, &ku, &be, p2, 0);
	t_send(dp, &s, &r);
	t_reply_as("UDP reply", &r, &ku, 0);
	t_done("one address and port, TCP and UDP, one VIP each");

	t_ep_cache_fill(bet);
	t_reply_spec(&s, &ku, &be, p2, 0);
	t_send(dp, &s, &r);
	t_reply_as("UDP reply, every slot naming the TCP backend", &r, &ku, 0);
	t_ep_cache_fill(beu);
	t_reply_spec(&s, &kt, &be, p1, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_reply_as("TCP reply, every slot naming the UDP backend", &r, &kt, 0);
	t_done("a slot naming the other protocol's backend");

	/* A second UDP VIP at the endpoint: its backends are flagged, the cache no longer counts. */
	t_vip_new(dp, "198.18.0.53:53/udp", &kv, &idv);
	assert_int_equal(xlb_vip_set_backends(dp, &kv, &be, 1), 0);
	t_ep_cache_fill(beu);
	t_spec(&s, &kv, p3, 0);
	t_send(dp, &s, &r);
	t_reply_spec(&s, &kv, &be, p3, 0);
	t_send(dp, &s, &r);
	t_reply_as("reply of the second UDP VIP's flow, slots naming the first's backend", &r, &kv,
		   0);
	t_reply_spec(&s, &ku, &be, p2, 0);
	t_send(dp, &s, &r);
	t_reply_as("reply of the first UDP VIP's flow while shared", &r, &ku, 0);
	xlb_vip_delete(dp, &kv);
	t_reply_spec(&s, &ku, &be, p2, 0);
	t_send(dp, &s, &r);
	t_reply_as("reply of the first UDP VIP's flow, alone again", &r, &ku, 0);
	t_done("an endpoint that is shared, then alone again");

	assert_int_equal(xlb_vip_set_backends(dp, &kt, NULL, 0), 0);
	t_ep_cache_fill(bet);
	t_reply_spec(&s, &kt, &be, p1, XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_eq("TCP reply from the removed backend, slots naming it: reason", r.reason,
	     XLB_CNT_PASS_NOT_VIP);
	t_ep_cache_fill(0);
	t_done("a slot naming a removed backend");

	xlb_vip_delete(dp, &kt);
	xlb_vip_delete(dp, &ku);
}

/* The frame a shot sent, parsed, with both checksums right; else an error and -1. */
static int t_out_ok(const char *what, const struct t_shot *r, struct xlb_pkt_info *pi)
{
	if (xlb_pkt_parse(r->out, r->out_len, pi) || !pi->ip.has_l4) {
		t_err("%s: the frame sent does not parse", what);
		return -1;
	}
	if ((pi->ip.family == AF_INET && pi->ip.ip_csum != XLB_PKT_CSUM_OK) ||
	    pi->ip.l4_csum != XLB_PKT_CSUM_OK) {
		t_err("%s: checksums IP %d L4 %d, want both right", what, pi->ip.ip_csum,
		      pi->ip.l4_csum);
		return -1;
	}
	return 0;
}

static void t_addr_is(const char *what, int family, const union xlb_addr *got, __u16 gport,
		      const union xlb_addr *want, __u16 wport)
{
	char a[64], b[64];

	if (memcmp(got, want, sizeof(*got)) || gport != wport)
		t_err("%s: %s:%u, want %s:%u", what, xlb_pkt_addr_str(family, got, a, sizeof(a)),
		      gport, xlb_pkt_addr_str(family, want, b, sizeof(b)), wport);
}

/* The xlb_ct4 (and xlb_fnat4) key of an IPv4 TCP tuple; ports in network order. */
static void t_tcp4_key(struct xlb_ct4_key *k, const union xlb_addr *saddr, __be16 sport,
		       const union xlb_addr *daddr, __be16 dport, __u8 dir)
{
	struct xlb_flow_key t = {};

	t.saddr = *saddr;
	t.sport = sport;
	t.daddr = *daddr;
	t.dport = dport;
	t.proto = XLB_PROTO_TCP;
	t.family = XLB_AF_INET;
	t.dir = dir;
	xlb_ct4_key_of(k, &t);
}

/* The handoff XDP noted for the tuple of the frame it passed: where TC is to send it. */
static void t_handoff_is(const char *what, const struct xlb_pkt_info *pi, __u32 ifindex,
			 __u32 flags)
{
	int fd = xlb_dp_map_fd(t_env.dp, XLB_MAP_HANDOFF);
	struct xlb_flow_key k = {};
	struct xlb_handoff h = {};

	k.family = pi->ip.family == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	k.proto = pi->ip.proto;
	k.saddr = pi->ip.saddr;
	k.daddr = pi->ip.daddr;
	k.sport = htons(pi->ip.sport);
	k.dport = htons(pi->ip.dport);
	if (fd < 0 || bpf_map_lookup_elem(fd, &k, &h)) {
		t_err("%s: no handoff noted for the translated tuple", what);
		return;
	}
	t_eq(what, h.ifindex, ifindex);
	t_eq(what, h.flags, flags);
}

/* Empties every CPU's next-hop cache, so the next packet asks the FIB. */
static void t_nh_cache_flush(void)
{
	int fd = xlb_dp_map_fd(t_env.dp, XLB_MAP_NH_CACHE), ncpu = libbpf_num_possible_cpus();
	size_t vsz = (sizeof(struct xlb_nh_slot) + 7) / 8 * 8;
	void *zero = calloc((size_t)(ncpu > 0 ? ncpu : 1), vsz);
	__u32 i;

	assert_non_null(zero);
	for (i = 0; i < XLB_NH_CACHE_SIZE; i++)
		assert_int_equal(bpf_map_update_elem(fd, &i, zero, BPF_ANY), 0);
	free(zero);
}

/*
 * One full-NAT flow of client port cport through VIP k to backend be, on
 * hook: the client's packets leave from this node's address on the backend
 * side (snat) and a port in [lo, hi], the same one for every packet of the
 * flow, and the backend's reply goes back to the client from the VIP, every
 * checksum right. Returns the source port given (0 when it failed).
 */
static __u16 t_fnat_flow(enum t_hook hook, const struct xlb_vip_key *k,
			 const struct xlb_backend_spec *be, const union xlb_addr *snat, __u16 cport,
			 __u16 lo, __u16 hi)
{
	int fam = k->family == XLB_AF_INET ? AF_INET : AF_INET6;
	const char *h = t_hook_name(hook);
	struct xlb_pkt_info pi;
	struct xlb_pkt_spec s;
	union xlb_addr client;
	struct t_shot r;
	__u16 port;
	char w[160];

	xlb_pkt_addr(fam == AF_INET ? T_CLIENT4 : T_CLIENT6, &client);
	t_spec(&s, k, cport, k->proto == XLB_PROTO_TCP ? XLB_PKT_TCP_SYN : 0);
	t_send_hook(t_env.dp, hook, &s, &r);
	snprintf(w, sizeof(w), "%s %s: first packet", h, k->family == XLB_AF_INET ? "v4" : "v6");
	if (t_moved(&r.before, &r.after, XLB_CNT_FNAT_NEW) != 1) {
		t_err("%s: not recorded (reason %d)", w, r.reason);
		return 0;
	}
	if (t_out_ok(w, &r, &pi))
		return 0;
	t_addr_is(w, fam, &pi.ip.daddr, pi.ip.dport, &be->addr, ntohs(be->port));
	port = pi.ip.sport;
	t_addr_is(w, fam, &pi.ip.saddr, port, snat, port);
	if (port < lo || port > hi)
		t_err("%s: source port %u outside %u-%u", w, port, lo, hi);

	t_spec(&s, k, cport, k->proto == XLB_PROTO_TCP ? XLB_PKT_TCP_ACK : 0);
	t_send_hook(t_env.dp, hook, &s, &r);
	snprintf(w, sizeof(w), "%s: next packet", h);
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_FNAT_HIT), 1);
	if (!t_out_ok(w, &r, &pi))
		t_addr_is(w, fam, &pi.ip.saddr, pi.ip.sport, snat, port);

	t_spec(&s, k, cport, k->proto == XLB_PROTO_TCP ? XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK : 0);
	s.saddr = be->addr;
	s.sport = ntohs(be->port);
	s.daddr = *snat;
	s.dport = port;
	t_send_hook(t_env.dp, hook, &s, &r);
	snprintf(w, sizeof(w), "%s: the backend's reply", h);
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_NAT_REPLY), 1);
	if (!t_out_ok(w, &r, &pi)) {
		t_addr_is(w, fam, &pi.ip.saddr, pi.ip.sport, &k->addr, ntohs(k->port));
		t_addr_is(w, fam, &pi.ip.daddr, pi.ip.dport, &client, cport);
	}
	return port;
}

/*
 * ICMP errors about full-NAT flow (cport, its source port sport) through VIP
 * k to backend be: a router's "fragmentation needed" / "packet too big" to
 * the VIP about a reply goes to the backend quoting what the backend sent
 * (backend -> our source); a "port unreachable" from the backend (or an
 * error from a router near it) about what we sent goes to the client quoting
 * client -> VIP, from the VIP when the backend sent it.
 */
static void t_fnat_icmp(enum t_hook hook, const struct xlb_vip_key *k,
			const struct xlb_backend_spec *be, const union xlb_addr *snat, __u16 cport,
			__u16 sport, int from_router)
{
	int fam = k->family == XLB_AF_INET ? AF_INET : AF_INET6, v4 = fam == AF_INET;
	const char *h = t_hook_name(hook);
	struct xlb_pkt_spec s, q;
	struct xlb_pkt_info pi;
	union xlb_addr client, router;
	struct t_shot r;
	char w[160];

	xlb_pkt_addr(v4 ? T_CLIENT4 : T_CLIENT6, &client);
	xlb_pkt_addr(v4 ? T_ROUTER_C4 : T_ROUTER_C6, &router);
	t_spec(&q, k, cport, k->proto == XLB_PROTO_TCP ? XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK : 0);
	q.saddr = k->addr;
	q.sport = ntohs(k->port);
	q.daddr = client;
	q.dport = cport;
	t_spec(&s, k, cport, 0);
	s.saddr = router;
	s.l4 = XLB_PKT_L4_ICMP;
	s.icmp_type = v4 ? 3 : 2;
	s.icmp_code = v4 ? 4 : 0;
	s.icmp_data = v4 ? 1400 : 1280;
	s.payload = NULL;
	s.payload_len = 0;
	s.quote = &q;
	t_send_hook(t_env.dp, hook, &s, &r);
	snprintf(w, sizeof(w), "%s %s: error to the VIP about a reply", h, v4 ? "v4" : "v6");
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_ICMP_ORIG), 1);
	if (!t_out_ok(w, &r, &pi)) {
		t_addr_is(w, fam, &pi.ip.daddr, 0, &be->addr, 0);
		t_addr_is(w, fam, &pi.ip.saddr, 0, &router, 0);
		if (!pi.has_quote || !pi.quote.has_l4) {
			t_err("%s: no quote in what was sent", w);
		} else {
			t_addr_is(w, fam, &pi.quote.saddr, pi.quote.sport, &be->addr,
				  ntohs(be->port));
			t_addr_is(w, fam, &pi.quote.daddr, pi.quote.dport, snat, sport);
			if (v4 && pi.quote.ip_csum != XLB_PKT_CSUM_OK)
				t_err("%s: quoted IPv4 checksum %d", w, pi.quote.ip_csum);
		}
	}

	t_spec(&q, k, cport, k->proto == XLB_PROTO_TCP ? XLB_PKT_TCP_SYN : 0);
	q.saddr = *snat;
	q.sport = sport;
	q.daddr = be->addr;
	q.dport = ntohs(be->port);
	t_spec(&s, k, cport, 0);
	if (from_router)
		xlb_pkt_addr(v4 ? T_ROUTER_B4 : T_ROUTER_B6, &s.saddr);
	else
		s.saddr = be->addr;
	s.daddr = *snat;
	s.l4 = XLB_PKT_L4_ICMP;
	s.icmp_type = from_router ? (v4 ? 11 : 3) : (v4 ? 3 : 1);
	s.icmp_code = from_router ? 0 : (v4 ? 3 : 4);
	s.icmp_data = 0;
	s.payload = NULL;
	s.payload_len = 0;
	s.quote = &q;
	t_send_hook(t_env.dp, hook, &s, &r);
	snprintf(w, sizeof(w), "%s %s: error from the %s about what we sent", h, v4 ? "v4" : "v6",
		 from_router ? "router" : "backend");
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_ICMP_REPLY), 1);
	if (!t_out_ok(w, &r, &pi)) {
		t_addr_is(w, fam, &pi.ip.daddr, 0, &client, 0);
		t_addr_is(w, fam, &pi.ip.saddr, 0, from_router ? &s.saddr : &k->addr, 0);
		if (!pi.has_quote || !pi.quote.has_l4) {
			t_err("%s: no quote in what was sent", w);
		} else {
			t_addr_is(w, fam, &pi.quote.saddr, pi.quote.sport, &client, cport);
			t_addr_is(w, fam, &pi.quote.daddr, pi.quote.dport, &k->addr,
				  ntohs(k->port));
			if (v4 && pi.quote.ip_csum != XLB_PKT_CSUM_OK)
				t_err("%s: quoted IPv4 checksum %d", w, pi.quote.ip_csum);
		}
	}
}

static void t_fnat_ports(__u16 lo, __u16 hi)
{
	struct xlb_config cfg;

	t_config_saved(&cfg);
	cfg.fnat_port_lo = lo;
	cfg.fnat_port_hi = hi;
	assert_int_equal(xlb_config_set(t_env.dp, &cfg), 0);
}

/*
 * Full-NAT: both families and protocols, XDP and TC; one source port per
 * flow, never two flows on one; a range used up fails new flows (counted)
 * and leaves the flows it has alone; no address of ours towards the backend
 * fails them too; and a reply to a range port that is no flow's is not
 * touched.
 */
void t_fullnat(void **state)
{
	struct xlb_backend_spec be4 = t_be("198.18.2.13", 8080, XLB_BE_ACTIVE, 1);
	struct xlb_backend_spec be6 = t_be("2001:db8:2::13", 8080, XLB_BE_ACTIVE, 1);
	struct xlb_dp *dp = t_env.dp;
	struct xlb_vip_key k4, k6, ku;
	union xlb_addr snat4, snat6;
	struct xlb_config saved;
	struct xlb_pkt_spec s;
	struct t_shot r;
	__u32 id4, id6, idu;
	__u16 p[4], a, b, c, d, u;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		p[i] = t_port();
	t_config_saved(&saved);
	xlb_pkt_addr("198.18.2.1", &snat4);
	xlb_pkt_addr("2001:db8:2::1", &snat6);
	assert_int_equal(xlb_dp_if_addrs_sync(dp), 0);
	t_fnat_ports(XLB_FNAT_PORT_LO_DEFAULT, XLB_FNAT_PORT_HI_DEFAULT);
	t_vip_new(dp, "198.18.0.54:80/tcp", &k4, &id4);
	t_vip_new(dp, "[2001:db8::54]:80/tcp", &k6, &id6);
	t_vip_new(dp, "198.18.0.54:53/udp", &ku, &idu);
	assert_int_equal(xlb_vip_set_mode(dp, &k4, XLB_MODE_FULLNAT), 0);
	assert_int_equal(xlb_vip_set_mode(dp, &k6, XLB_MODE_FULLNAT), 0);
	assert_int_equal(xlb_vip_set_mode(dp, &ku, XLB_MODE_FULLNAT), 0);
	t_eq("an unknown mode: refused", xlb_vip_set_mode(dp, &k4, XLB_MODE_MAX), -EINVAL);
	assert_int_equal(xlb_vip_set_backends(dp, &k4, &be4, 1), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &k6, &be6, 1), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &ku, &be4, 1), 0);

	a = t_fnat_flow(T_XDP, &k4, &be4, &snat4, p[0], XLB_FNAT_PORT_LO_DEFAULT,
			XLB_FNAT_PORT_HI_DEFAULT);
	b = t_fnat_flow(T_TCI, &k4, &be4, &snat4, p[1], XLB_FNAT_PORT_LO_DEFAULT,
			XLB_FNAT_PORT_HI_DEFAULT);
	if (a && a == b)
		t_err("two flows to one backend share source port %u", a);
	c = t_fnat_flow(T_XDP, &k6, &be6, &snat6, p[0], XLB_FNAT_PORT_LO_DEFAULT,
			XLB_FNAT_PORT_HI_DEFAULT);
	d = t_fnat_flow(T_TCI, &k6, &be6, &snat6, p[1], XLB_FNAT_PORT_LO_DEFAULT,
			XLB_FNAT_PORT_HI_DEFAULT);
	u = t_fnat_flow(T_XDP, &ku, &be4, &snat4, p[0], XLB_FNAT_PORT_LO_DEFAULT,
			XLB_FNAT_PORT_HI_DEFAULT);
	t_done("flows through full-NAT VIPs: IPv4, IPv6, UDP; XDP and TC");

	t_fnat_icmp(T_XDP, &k4, &be4, &snat4, p[0], a, 0);
	t_fnat_icmp(T_TCI, &k4, &be4, &snat4, p[1], b, 1);
	t_fnat_icmp(T_XDP, &k6, &be6, &snat6, p[0], c, 0);
	t_fnat_icmp(T_TCI, &k6, &be6, &snat6, p[1], d, 1);
	t_fnat_icmp(T_XDP, &ku, &be4, &snat4, p[0], u, 0);
	t_done("ICMP errors about full-NAT flows, both ways: IPv4, IPv6, UDP; XDP and TC");

	/* One port, which flow p[0] holds: it goes on, a new flow finds none free. */
	t_fnat_ports(a, a);
	t_spec(&s, &k4, p[2], XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("range used up: reason", r.reason, XLB_CNT_DROP_FNAT_EXHAUSTED);
	t_eq("range used up: port tried and found taken",
	     t_moved(&r.before, &r.after, XLB_CNT_FNAT_PORT_TAKEN) >= 1, 1);
	t_spec(&s, &k4, p[0], XLB_PKT_TCP_ACK);
	t_send(dp, &s, &r);
	t_eq("range used up: a flow that has its port goes on",
	     t_moved(&r.before, &r.after, XLB_CNT_FNAT_HIT), 1);
	{
		/* That flow's reply entry expired: its port is free for the next flow at once. */
		int fd = xlb_dp_map_fd(dp, XLB_MAP_FNAT4);
		struct xlb_fnat_entry er = {};
		struct xlb_ct4_key c4;

		t_tcp4_key(&c4, &be4.addr, be4.port, &snat4, htons(a), XLB_DIR_REPLY);
		assert_int_equal(bpf_map_lookup_elem(fd, &c4, &er), 0);
		er.ct.expires -= 1u << 30;
		assert_int_equal(bpf_map_update_elem(fd, &c4, &er, BPF_EXIST), 0);
		t_spec(&s, &k4, p[2], XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		t_eq("range used up, its one flow expired: the new flow takes the port",
		     t_moved(&r.before, &r.after, XLB_CNT_FNAT_NEW), 1);
	}
	t_fnat_ports(0, 0);
	t_spec(&s, &k4, p[3], XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("no range configured: reason", r.reason, XLB_CNT_DROP_FNAT_EXHAUSTED);
	t_done("source ports used up");

	t_fnat_ports(XLB_FNAT_PORT_LO_DEFAULT, XLB_FNAT_PORT_HI_DEFAULT);
	{
		int fd = xlb_dp_map_fd(dp, XLB_MAP_IF_ADDRS);
		__u32 ifb = (__u32)t_env.if_b;

		assert_int_equal(bpf_map_delete_elem(fd, &ifb), 0);
	}
	t_spec(&s, &k4, p[3], XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("no address of ours on the backend side: reason", r.reason,
	     XLB_CNT_DROP_FNAT_NO_ADDR);
	assert_int_equal(xlb_dp_if_addrs_sync(dp), 0);
	t_spec(&s, &k4, p[3], XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("the address back: event fnat_new", t_moved(&r.before, &r.after, XLB_CNT_FNAT_NEW),
	     1);
	t_done("no source address");

	t_spec(&s, &k4, 1, XLB_PKT_TCP_ACK);
	s.saddr = be4.addr;
	s.sport = ntohs(be4.port);
	s.daddr = snat4;
	s.dport = XLB_FNAT_PORT_HI_DEFAULT;
	t_send(dp, &s, &r);
	t_eq("a reply to a range port that is no flow's: reason", r.reason, XLB_CNT_PASS_NOT_VIP);
	t_done("a reply of no flow");

	/*
	 * A backend whose neighbour is not resolved: the flow is recorded and
	 * fully translated all the same, and leaves resolving it (TC by
	 * bpf_redirect_neigh, XDP through the handoff), never DNAT-ed only.
	 */
	{
		struct xlb_backend_spec bx = t_be("198.18.2.99", 8080, XLB_BE_ACTIVE, 1);
		struct xlb_pkt_info pi;
		__u16 px = t_port();

		assert_int_equal(xlb_vip_set_backends(dp, &k4, &bx, 1), 0);
		t_spec(&s, &k4, px, XLB_PKT_TCP_SYN);
		t_send_hook(dp, T_XDP, &s, &r);
		t_eq("no neighbour, XDP: reason", r.reason, XLB_CNT_FWD_HANDOFF);
		t_eq("no neighbour, XDP: recorded", t_moved(&r.before, &r.after, XLB_CNT_FNAT_NEW), 1);
		if (t_out_ok("no neighbour, XDP", &r, &pi)) {
		} else if (memcmp(&pi.ip.saddr, &snat4, sizeof(snat4)) ||
			   memcmp(&pi.ip.daddr, &bx.addr, sizeof(bx.addr))) {
			t_err("no neighbour, XDP: the frame is not fully translated");
		} else {
			t_handoff_is("no neighbour, XDP", &pi, (__u32)t_env.if_b,
				     XLB_HANDOFF_F_NEIGH);
		}
		t_spec(&s, &k4, t_port(), XLB_PKT_TCP_SYN);
		t_send_hook(dp, T_TCI, &s, &r);
		t_eq("no neighbour, TC: redirected (bpf_redirect_neigh)", r.reason,
		     XLB_CNT_FWD_REDIRECT);
		t_eq("no neighbour, TC: recorded", t_moved(&r.before, &r.after, XLB_CNT_FNAT_NEW),
		     1);
		if (!t_out_ok("no neighbour, TC", &r, &pi))
			t_addr_is("no neighbour, TC: source", AF_INET, &pi.ip.saddr, 0, &snat4, 0);
		assert_int_equal(xlb_vip_set_backends(dp, &k4, &be4, 1), 0);
	}
	t_done("a backend whose neighbour is not resolved yet");

	/*
	 * TCP timestamps: towards the backend a flow's TSvals start at this node's
	 * clock (a backend in TIME_WAIT on a reused source port takes a new SYN only
	 * with a newer one), the flow's own steps kept; the backend's echo is turned
	 * back into the client's, every checksum right.
	 */
	{
		static const __u8 syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10,
						0, 0, 0x03, 0xe8, 0, 0, 0, 0};
		static const __u8 ack_opts[] = {1, 1, 8, 10, 0, 0, 0x03, 0xed, 0, 0, 0, 0x4d};
		__u8 rep_opts[] = {1, 1, 8, 10, 0, 0, 0, 0x4d, 0, 0, 0, 0};
		struct xlb_pkt_info pi;
		__u32 tv_syn, tv_ack, te;
		__u16 pt, sp;
		int hk;

		for (hk = 0; hk < 2; hk++) {
			enum t_hook hook = hk ? T_TCI : T_XDP;

			pt = t_port();

			t_spec(&s, &k4, pt, XLB_PKT_TCP_SYN);
			s.tcp_opts = syn_opts;
			s.tcp_opts_len = sizeof(syn_opts);
			t_send_hook(dp, hook, &s, &r);
			if (t_out_ok("timestamps: SYN", &r, &pi))
				goto ts_done;
			sp = pi.ip.sport;
			memcpy(&tv_syn, r.out + pi.ip.l4_off + 20 + 8, 4);
			tv_syn = ntohl(tv_syn);
			t_eq("timestamps: the SYN's TSval is shifted", tv_syn != 1000, 1);
			t_spec(&s, &k4, pt, XLB_PKT_TCP_ACK);
			s.tcp_opts = ack_opts;
			s.tcp_opts_len = sizeof(ack_opts);
			t_send_hook(dp, hook, &s, &r);
			if (t_out_ok("timestamps: ACK", &r, &pi))
				goto ts_done;
			memcpy(&tv_ack, r.out + pi.ip.l4_off + 20 + 4, 4);
			t_eq("timestamps: the ACK's TSval keeps its step from the SYN's",
			     ntohl(tv_ack) - tv_syn, 5);
			te = htonl(ntohl(tv_ack));
			memcpy(rep_opts + 8, &te, 4);
			t_spec(&s, &k4, pt, XLB_PKT_TCP_ACK);
			s.saddr = be4.addr;
			s.sport = ntohs(be4.port);
			s.daddr = snat4;
			s.dport = sp;
			s.tcp_opts = rep_opts;
			s.tcp_opts_len = sizeof(rep_opts);
			t_send_hook(dp, hook, &s, &r);
			if (t_out_ok("timestamps: the backend's reply", &r, &pi))
				goto ts_done;
			memcpy(&te, r.out + pi.ip.l4_off + 20 + 8, 4);
			t_eq("timestamps: the reply echoes the client's own TSval", ntohl(te),
			     1005);
			memcpy(&te, r.out + pi.ip.l4_off + 20 + 4, 4);
			t_eq("timestamps: the backend's own TSval is left alone", ntohl(te), 77);
		}
	}
ts_done:
	t_done("full-NAT shifts the client's TCP timestamps towards the backend and back");

	/* A FIN each way closes both entries, though each sees one direction only. */
	{
		int fd = xlb_dp_map_fd(dp, XLB_MAP_FNAT4);
		struct xlb_fnat_entry eo = {}, er = {};
		union xlb_addr client;
		struct xlb_ct4_key c4;
		__u16 pf = t_port(), sp;
		__u32 t0;

		sp = t_fnat_flow(T_XDP, &k4, &be4, &snat4, pf, XLB_FNAT_PORT_LO_DEFAULT,
				 XLB_FNAT_PORT_HI_DEFAULT);
		t0 = xlb_tick_now();
		t_spec(&s, &k4, pf, XLB_PKT_TCP_FIN | XLB_PKT_TCP_ACK);
		t_send(dp, &s, &r);
		t_spec(&s, &k4, pf, XLB_PKT_TCP_FIN | XLB_PKT_TCP_ACK);
		s.saddr = be4.addr;
		s.sport = ntohs(be4.port);
		s.daddr = snat4;
		s.dport = sp;
		t_send(dp, &s, &r);
		xlb_pkt_addr(T_CLIENT4, &client);
		t_tcp4_key(&c4, &client, htons(pf), &k4.addr, k4.port, XLB_DIR_ORIG);
		t_eq("FIN each way: the client's entry", bpf_map_lookup_elem(fd, &c4, &eo), 0);
		t_eq("FIN each way: the client's entry is closed", eo.ct.state, XLB_CTS_CLOSED);
		t_tcp4_key(&c4, &be4.addr, be4.port, &snat4, htons(sp), XLB_DIR_REPLY);
		t_eq("FIN each way: the backend's entry", bpf_map_lookup_elem(fd, &c4, &er), 0);
		t_eq("FIN each way: the backend's entry (the port's) is closed", er.ct.state,
		     XLB_CTS_CLOSED);
		/* Not conntrack's 10 s: the port comes free after the full-NAT closed hold. */
		t_expires_near("FIN each way: the port's entry, closed",
			       er.ct.expires,
			       (__u32)((XLB_FNAT_CLOSED_MS_DEFAULT * 1000000ULL) >> XLB_TICK_SHIFT),
			       t0, xlb_tick_now());
		t_expires_near("FIN each way: the client's entry, closed", eo.ct.expires,
			       (__u32)((XLB_FNAT_CLOSED_MS_DEFAULT * 1000000ULL) >> XLB_TICK_SHIFT),
			       t0, xlb_tick_now());
	}
	t_done("a flow that ends frees its port after the full-NAT closed hold");

	assert_int_equal(xlb_config_set(dp, &saved), 0);
	xlb_vip_delete(dp, &k4);
	xlb_vip_delete(dp, &k6);
	xlb_vip_delete(dp, &ku);
}

/*
 * A next hop on a device native XDP cannot transmit into (the backend side
 * flagged so in xlb_if_addrs): XDP translates the packet and passes it with
 * the handoff in its metadata (xlb_tc_handoff redirects it; the lab proves
 * that half on a VXLAN overlay), TC redirects it itself, and a device that
 * can take XDP frames again gets them redirected.
 */
void t_handoff(void **state)
{
	struct xlb_backend_spec be = t_be("198.18.2.14", 8080, XLB_BE_ACTIVE, 1);
	struct xlb_dp *dp = t_env.dp;
	int fd = xlb_dp_map_fd(dp, XLB_MAP_IF_ADDRS);
	__u32 ifb = (__u32)t_env.if_b, id;
	struct xlb_if_addr ia = {};
	struct xlb_pkt_info pi;
	__u8 bmac[6];
	struct xlb_pkt_spec s;
	struct xlb_vip_key k;
	struct t_shot r;
	__u16 p = t_port();

	(void)state;
	assert_int_equal(xlb_dp_if_addrs_sync(dp), 0);
	t_eq("the fixture's veths take XDP frames: no flag",
	     !bpf_map_lookup_elem(fd, &ifb, &ia) && (ia.flags & XLB_IF_F_NO_XDP_XMIT), 0);
	t_eq("the fixture's veths are veths: sent back by redirect, not XDP_TX",
	     !bpf_map_lookup_elem(fd, &ifb, &ia) && (ia.flags & XLB_IF_F_TX_REDIRECT), 1);
	t_vip_new(dp, "198.18.0.55:80/tcp", &k, &id);
	assert_int_equal(xlb_vip_set_backends(dp, &k, &be, 1), 0);
	ia.flags |= XLB_IF_F_NO_XDP_XMIT;
	assert_int_equal(bpf_map_update_elem(fd, &ifb, &ia, BPF_ANY), 0);
	t_nh_cache_flush(); /* a next hop cached by an earlier test predates the flag */

	t_spec(&s, &k, p, XLB_PKT_TCP_SYN);
	t_send_hook(dp, T_XDP, &s, &r);
	t_eq("XDP: reason", r.reason, XLB_CNT_FWD_HANDOFF);
	t_eq("XDP: returns XDP_PASS", r.ret, XDP_PASS);
	t_backend_mac(AF_INET, &be.addr, bmac);
	if (t_out_ok("XDP: the frame passed", &r, &pi)) {
	} else if (memcmp(&pi.ip.daddr, &be.addr, sizeof(be.addr)) || pi.ip.dport != 8080 ||
		   memcmp(pi.dst_mac, bmac, 6)) {
		t_err("XDP: the frame passed is not the translated one, MACs set");
	} else {
		t_handoff_is("XDP", &pi, ifb, 0);
	}
	t_spec(&s, &k, p, XLB_PKT_TCP_ACK);
	t_send_hook(dp, T_TCI, &s, &r);
	t_eq("TC: redirects it itself", r.reason, XLB_CNT_FWD_REDIRECT);
	t_done("XDP hands a packet for a device it cannot send to over to TC");

	assert_int_equal(xlb_dp_if_addrs_sync(dp), 0);
	t_nh_cache_flush();
	t_spec(&s, &k, p, XLB_PKT_TCP_ACK);
	t_send_hook(dp, T_XDP, &s, &r);
	t_eq("XDP, the flag gone: reason", r.reason, XLB_CNT_FWD_REDIRECT);
	t_done("a device that takes XDP frames gets them redirected");
	xlb_vip_delete(dp, &k);
}

/* ---- DSR (bpf/xlb_dsr.h) ---- */

/* The frame in (Ethernet + IP) inside an outer header from src to dst carrying tag. */
static int t_encap(const __u8 *in, int n, int ofam, const union xlb_addr *src,
		   const union xlb_addr *dst, __u16 tag, __u8 *out)
{
	int ifam = (in[14] >> 4) == 4 ? AF_INET : AF_INET6, olen = ofam == AF_INET ? 20 : 40;
	__u8 *h = out + 14;

	memcpy(out, in, 12);
	out[12] = ofam == AF_INET ? 0x08 : 0x86;
	out[13] = ofam == AF_INET ? 0x00 : 0xdd;
	memset(h, 0, (size_t)olen);
	if (ofam == AF_INET) {
		__u16 tot = htons((__u16)(n - 14 + olen)), id = htons(tag), df = htons(0x4000), c;

		h[0] = 0x45;
		memcpy(h + 2, &tot, 2);
		memcpy(h + 4, &id, 2);
		memcpy(h + 6, &df, 2);
		h[8] = 64;
		h[9] = ifam == AF_INET ? 4 : 41;
		memcpy(h + 12, &src->v4, 4);
		memcpy(h + 16, &dst->v4, 4);
		c = htons(xlb_pkt_csum_fold(xlb_pkt_csum_add(0, h, 20)));
		memcpy(h + 10, &c, 2);
	} else {
		__u16 pl = htons((__u16)(n - 14));

		h[0] = 0x60;
		h[2] = tag >> 8;
		h[3] = tag & 0xff;
		memcpy(h + 4, &pl, 2);
		h[6] = ifam == AF_INET ? 4 : 41;
		h[7] = 64;
		memcpy(h + 8, src, 16);
		memcpy(h + 24, dst, 16);
	}
	memcpy(out + 14 + olen, in + 14, (size_t)(n - 14));
	return n + olen;
}

static __u16 t_dsr_tag(__u32 bid)
{
	struct xlb_dsr_agent ag = {};

	if (bpf_map_lookup_elem(xlb_dp_map_fd(t_env.dp, XLB_MAP_DSR_AGENTS), &bid, &ag) ||
	    !ag.pad)
		t_err("backend %u: no DSR agent written", bid);
	return ag.tag;
}

/*
 * What the balancer sent for input frame in (n bytes): the outer header from
 * src to agent with the tag, DF, protocol 4 or 41, its checksum right, the
 * next hop's MAC, and the client's IP packet inside, byte for byte.
 */
static void t_dsr_outer_is(const char *what, const struct t_shot *r, const __u8 *in, int n,
			   int ofam, const union xlb_addr *src, const union xlb_addr *agent,
			   __u16 tag, const __u8 *mac)
{
	int olen = ofam == AF_INET ? 20 : 40, ifam = (in[14] >> 4) == 4 ? AF_INET : AF_INET6;
	__u8 want[XLB_PKT_BUF];
	int m = t_encap(in, n, ofam, src, agent, tag, want);

	if ((int)r->out_len != m) {
		t_err("%s: %u bytes sent, want %d", what, r->out_len, m);
		return;
	}
	if (memcmp(r->out, mac, 6))
		t_err("%s: not to the agent's MAC", what);
	if (memcmp(r->out + 14 + olen, in + 14, (size_t)(n - 14)))
		t_err("%s: the inner packet was changed", what);
	/* The outer header as t_encap makes it, but one hop down: TTL 63. */
	if (ofam == AF_INET) {
		__u16 c;

		want[14 + 8] = 63;
		memset(want + 14 + 10, 0, 2);
		c = htons(xlb_pkt_csum_fold(xlb_pkt_csum_add(0, want + 14, 20)));
		memcpy(want + 14 + 10, &c, 2);
	} else {
		want[14 + 7] = 63;
	}
	if (memcmp(r->out + 12, want + 12, (size_t)(2 + olen))) {
		t_err("%s: outer header differs (%s in %s)", what, ifam == AF_INET ? "IPv4" : "IPv6",
		      ofam == AF_INET ? "IPv4" : "IPv6");
		xlb_pkt_hexdump(stderr, "  got  ", r->out, (size_t)(14 + olen));
		xlb_pkt_hexdump(stderr, "  want ", want, (size_t)(14 + olen));
	}
}

static void t_dsr_mode(const struct xlb_vip_key *k)
{
	assert_int_equal(xlb_vip_set_mode(t_env.dp, k, XLB_MODE_DSR), 0);
}

/* A SYN-ACK from be to the client with an MSS option of mss. */
static void t_synack_spec(struct xlb_pkt_spec *s, const struct xlb_vip_key *k,
			  const struct xlb_backend_spec *be, __u16 cport, const __u8 *opts,
			  size_t olen)
{
	t_spec(s, k, cport, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
	memcpy(s->src_mac, t_env.mac_b, 6); /* not looked at */
	s->daddr = s->saddr;
	s->dport = cport;
	s->saddr = be->addr;
	s->sport = ntohs(be->port);
	s->tcp_opts = opts;
	s->tcp_opts_len = olen;
}

/* The MSS option's value in a parsed frame's TCP header, or 0. */
static unsigned int t_mss_of(const struct t_shot *r, const struct xlb_pkt_info *pi)
{
	const __u8 *o = r->out + pi->ip.l4_off + 20, *end = r->out + pi->ip.l4_off +
							      (r->out[pi->ip.l4_off + 12] >> 4) * 4;

	while (o + 4 <= end && *o) {
		if (*o == 1) {
			o++;
			continue;
		}
		if (o[0] == 2 && o[1] == 4)
			return (unsigned int)(o[2] << 8 | o[3]);
		if (o[1] < 2)
			return 0;
		o += o[1];
	}
	return 0;
}

/*
 * One DSR flow through VIP k to be (agent at its own address) on hook, this
 * node as the balancer: the client's SYN and ACK leave encapsulated, as
 * t_dsr_outer_is says, and the flow is recorded flagged DSR. Then this node as
 * the agent: the same SYN encapsulated to us (if_b's address) with the tag
 * goes to be, translated, and be's SYN-ACK leaves from the VIP with its MSS
 * clamped to what fits the encapsulation.
 */
static void t_dsr_flow(enum t_hook hook, const struct xlb_vip_key *k,
		       const struct xlb_backend_spec *be, __u32 bid, const union xlb_addr *us,
		       __u16 cport)
{
	static const __u8 mss1460[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 1};
	int fam = k->family == XLB_AF_INET ? AF_INET : AF_INET6;
	const char *h = t_hook_name(hook);
	__u8 in[XLB_PKT_BUF], enc[XLB_PKT_BUF], mac[6];
	__u16 tag = t_dsr_tag(bid);
	struct xlb_ct_entry e = {};
	struct xlb_pkt_info pi;
	struct xlb_pkt_spec s;
	union xlb_addr client;
	struct t_shot r;
	char w[160];
	int n, m, i;

	xlb_pkt_addr(fam == AF_INET ? T_CLIENT4 : T_CLIENT6, &client);
	t_backend_mac(fam, &be->addr, mac);
	for (i = 0; i < 2; i++) {
		t_spec(&s, k, cport,
		       k->proto != XLB_PROTO_TCP ? 0 : i ? XLB_PKT_TCP_ACK : XLB_PKT_TCP_SYN);
		n = xlb_pkt_build(&s, in, sizeof(in), NULL);
		t_send_raw(t_env.dp, hook, t_env.if_c, in, n, &r);
		snprintf(w, sizeof(w), "%s %s %s, balancer: %s", h, fam == AF_INET ? "v4" : "v6",
			 k->proto == XLB_PROTO_TCP ? "TCP" : "UDP", i ? "next packet" : "first");
		t_eq(w, r.reason, XLB_CNT_FWD_REDIRECT);
		t_eq(w, r.ret, t_verdict_ret(hook, XLB_CNT_V_REDIRECT));
		t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_DSR_ENCAP), 1);
		t_eq(w, t_moved(&r.before, &r.after, i ? XLB_CNT_CT_HIT : XLB_CNT_CT_NEW), 1);
		t_dsr_outer_is(w, &r, in, n, fam, us, &be->addr, tag, mac);
	}
	if (fam == AF_INET && k->proto == XLB_PROTO_TCP) {
		struct xlb_ct4_key c4;

		t_tcp4_key(&c4, &client, htons(cport), &k->addr, k->port, XLB_DIR_ORIG);
		if (bpf_map_lookup_elem(xlb_dp_map_fd(t_env.dp, XLB_MAP_CT4), &c4, &e) ||
		    !(e.flags & XLB_CT_F_DSR))
			t_err("%s: the flow is not recorded flagged DSR", w);
	}

	/* The agent's half: the balancer's packet for us, with the tag. */
	t_spec(&s, k, cport, k->proto == XLB_PROTO_TCP ? XLB_PKT_TCP_SYN : 0);
	n = xlb_pkt_build(&s, in, sizeof(in), NULL);
	m = t_encap(in, n, fam, &be->addr, us, tag, enc);
	t_send_raw(t_env.dp, hook, t_env.if_b, enc, m, &r);
	snprintf(w, sizeof(w), "%s %s %s, agent", h, fam == AF_INET ? "v4" : "v6",
		 k->proto == XLB_PROTO_TCP ? "TCP" : "UDP");
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_DSR_DECAP), 1);
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_NAT_ORIG), 1);
	t_eq(w, r.reason, XLB_CNT_FWD_TX);
	/* Back out of a veth XDP redirects: XDP_TX frames would wait in its peer's queue. */
	t_eq(w, r.ret, hook == T_XDP ? XDP_REDIRECT : t_verdict_ret(hook, XLB_CNT_V_TX));
	if (!t_out_ok(w, &r, &pi)) {
		t_addr_is(w, fam, &pi.ip.daddr, pi.ip.dport, &be->addr, ntohs(be->port));
		t_addr_is(w, fam, &pi.ip.saddr, pi.ip.sport, &client, cport);
		if ((int)r.out_len != n)
			t_err("%s: %u bytes out, want the inner frame's %d", w, r.out_len, n);
	}
	if (k->proto != XLB_PROTO_TCP)
		return;
	t_synack_spec(&s, k, be, cport, mss1460, sizeof(mss1460));
	n = xlb_pkt_build(&s, in, sizeof(in), NULL);
	t_send_raw(t_env.dp, hook, t_env.if_b, in, n, &r);
	snprintf(w, sizeof(w), "%s %s, agent: the backend's SYN-ACK", h,
		 fam == AF_INET ? "v4" : "v6");
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_NAT_REPLY), 1);
	t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_MSS_CLAMP), 1);
	if (!t_out_ok(w, &r, &pi)) {
		t_addr_is(w, fam, &pi.ip.saddr, pi.ip.sport, &k->addr, ntohs(k->port));
		t_addr_is(w, fam, &pi.ip.daddr, pi.ip.dport, &client, cport);
		t_eq(w, t_mss_of(&r, &pi), XLB_DSR_MSS(XLB_DSR_MTU_DEFAULT, fam == AF_INET6));
	}
}

/*
 * DSR: the balancer's encapsulation (both families, TCP and UDP, XDP and TC),
 * the agent's decapsulation, delivery by tag and MSS clamp; a backend with no
 * known agent, or on this node, translated as in NAT mode; tunnels not for
 * us, not to a VIP, or with an unknown tag; a malformed inner packet; a path
 * too small for the encapsulated packet; the idle lifetime of DSR entries.
 */
void t_dsr(void **state)
{
	struct xlb_backend_spec be4 = t_be("198.18.2.15", 8080, XLB_BE_ACTIVE, 1);
	struct xlb_backend_spec be6 = t_be("2001:db8:2::12", 8080, XLB_BE_ACTIVE, 1);
	struct xlb_backend_spec bes[2];
	struct xlb_dp *dp = t_env.dp;
	struct xlb_vip_key k4, k6, ku, kn;
	union xlb_addr us4, us6, other, client;
	__u8 in[XLB_PKT_BUF], enc[XLB_PKT_BUF];
	struct xlb_pkt_spec s;
	struct xlb_config cfg;
	struct t_shot r;
	__u32 id4, id6, idu, idn, bid4, bid6, bidu;
	__u16 p[4];
	int i, n, m;

	(void)state;
	for (i = 0; i < 4; i++)
		p[i] = t_port();
	xlb_pkt_addr("198.18.2.1", &us4);
	xlb_pkt_addr("2001:db8:2::1", &us6);
	xlb_pkt_addr(T_CLIENT4, &client);
	assert_int_equal(xlb_dp_if_addrs_sync(dp), 0);
	be4.agent = be4.addr;
	be4.agent_family = XLB_AF_INET;
	be6.agent = be6.addr;
	be6.agent_family = XLB_AF_INET6;
	t_vip_new(dp, "198.18.0.56:80/tcp", &k4, &id4);
	t_vip_new(dp, "[2001:db8::56]:80/tcp", &k6, &id6);
	t_vip_new(dp, "198.18.0.56:53/udp", &ku, &idu);
	t_dsr_mode(&k4);
	t_dsr_mode(&k6);
	t_dsr_mode(&ku);
	assert_int_equal(xlb_vip_set_backends(dp, &k4, &be4, 1), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &k6, &be6, 1), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &ku, &be4, 1), 0);
	bid4 = t_be_id(dp, id4, &be4);
	bid6 = t_be_id(dp, id6, &be6);
	bidu = t_be_id(dp, idu, &be4);
	t_eq("a backend's tag is the same in every VIP it serves", t_dsr_tag(bid4),
	     t_dsr_tag(bidu));

	t_dsr_flow(T_XDP, &k4, &be4, bid4, &us4, p[0]);
	t_dsr_flow(T_TCI, &k4, &be4, bid4, &us4, p[1]);
	t_dsr_flow(T_XDP, &k6, &be6, bid6, &us6, p[0]);
	t_dsr_flow(T_TCI, &k6, &be6, bid6, &us6, p[1]);
	t_dsr_flow(T_XDP, &ku, &be4, bidu, &us4, p[0]);
	t_dsr_flow(T_TCI, &ku, &be4, bidu, &us4, p[1]);
	t_done("DSR flows, balancer and agent: IPv4, IPv6, UDP; XDP and TC");

	/*
	 * Two backends of the VIP on one agent: the agent delivers each flow to
	 * the backend the balancer chose (its tag), not to whichever it would
	 * pick itself. The balancer's packet is taken as it left, readdressed to
	 * this node as the agent.
	 */
	{
		struct xlb_backend_spec two[2] = {t_be("198.18.2.17", 8080, XLB_BE_ACTIVE, 1),
						  t_be("198.18.2.17", 8081, XLB_BE_ACTIVE, 1)};
		__u8 got[2] = {0, 0};
		__u32 ids[2];
		int f, which;

		for (i = 0; i < 2; i++) {
			two[i].agent = two[i].addr;
			two[i].agent_family = XLB_AF_INET;
		}
		assert_int_equal(xlb_vip_set_backends(dp, &k4, two, 2), 0);
		ids[0] = t_be_id(dp, id4, &two[0]);
		ids[1] = t_be_id(dp, id4, &two[1]);
		t_eq("two backends on one agent: tags differ", t_dsr_tag(ids[0]) != t_dsr_tag(ids[1]),
		     1);
		for (f = 0; f < 16; f++) {
			__u16 cp = t_port(), tag;
			__u32 want = t_predict(dp, &k4, cp);

			t_spec(&s, &k4, cp, XLB_PKT_TCP_SYN);
			n = xlb_pkt_build(&s, in, sizeof(in), NULL);
			t_send_raw(dp, T_XDP, t_env.if_c, in, n, &r);
			if (t_moved(&r.before, &r.after, XLB_CNT_DSR_ENCAP) != 1 || r.out_len < 34) {
				t_err("two backends on one agent: flow %d not encapsulated", f);
				continue;
			}
			tag = (__u16)(r.out[18] << 8 | r.out[19]);
			if (tag != t_dsr_tag(want))
				t_err("flow %d: tag %u, want the picked backend's %u", f, tag,
				      t_dsr_tag(want));
			/* A SYN: the agent goes by the tag, not by any entry of the tuple. */
			m = t_encap(in, n, AF_INET, &be4.addr, &us4, tag, enc);
			t_send_raw(dp, T_XDP, t_env.if_b, enc, m, &r);
			which = r.dport == 8080 ? 0 : r.dport == 8081 ? 1 : -1;
			if (which < 0 || ids[which] != want)
				t_err("flow %d: the agent delivered to port %u, the balancer chose "
				      "backend %u",
				      f, r.dport, want);
			else
				got[which] = 1;
		}
		t_eq("two backends on one agent: both were chosen (and honoured)", got[0] && got[1],
		     1);
		assert_int_equal(xlb_vip_set_backends(dp, &k4, &be4, 1), 0);
		bid4 = t_be_id(dp, id4, &be4); /* be4 was gone meanwhile: a new id */
	}
	t_done("the agent honours the balancer's choice among its own backends");

	/* A DSR flow's entry lives the DSR idle time, not the established one. */
	{
		struct xlb_ct4_key c4;
		struct xlb_ct_entry e = {};
		__u32 now;

		t_config_saved(&cfg);
		cfg.dsr_idle = 5 * XLB_TICKS_PER_SEC;
		assert_int_equal(xlb_config_set(dp, &cfg), 0);
		t_spec(&s, &k4, p[2], XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		now = xlb_tick_now();
		t_spec(&s, &k4, p[2], XLB_PKT_TCP_ACK);
		t_send(dp, &s, &r);
		t_tcp4_key(&c4, &client, htons(p[2]), &k4.addr, k4.port, XLB_DIR_ORIG);
		assert_int_equal(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_MAP_CT4), &c4, &e), 0);
		t_eq("DSR entry: established", e.state, XLB_CTS_EST);
		t_expires_near("DSR entry, established: the DSR idle time", e.expires,
			       5 * XLB_TICKS_PER_SEC, now, xlb_tick_now());
		cfg.dsr_idle = 0;
		assert_int_equal(xlb_config_set(dp, &cfg), 0);
	}
	t_done("an established DSR flow lives the DSR idle time");

	/*
	 * The balancer never sees a flow end: a SYN on a recorded tuple whose
	 * backend drains goes to one that takes new flows, encapsulated with its
	 * tag, and the entry follows.
	 */
	{
		struct xlb_backend_spec two[2] = {be4, t_be("198.18.2.16", 8080, XLB_BE_ACTIVE, 1)};
		__u32 first, other;
		__u8 enc2[XLB_PKT_BUF];
		int w;

		two[1].agent = two[1].addr;
		two[1].agent_family = XLB_AF_INET;
		assert_int_equal(xlb_vip_set_backends(dp, &k4, two, 2), 0);
		t_spec(&s, &k4, p[3], XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		first = memcmp(&r.out[14 + 16], &two[0].addr.v4, 4) ? 1 : 0;
		t_eq("two backends: the SYN leaves encapsulated to one of them",
		     t_moved(&r.before, &r.after, XLB_CNT_DSR_ENCAP), 1);
		two[first].state = XLB_BE_DRAINING;
		two[first].weight = 0;
		assert_int_equal(xlb_vip_set_backends(dp, &k4, two, 2), 0);
		other = t_be_id(dp, id4, &two[1 - first]);
		n = xlb_pkt_build(&s, in, sizeof(in), NULL);
		t_send_raw(t_env.dp, T_XDP, t_env.if_c, in, n, &r);
		t_eq("its backend drained, the client reuses the port: re-picked",
		     t_moved(&r.before, &r.after, XLB_CNT_CT_SYN_RECORDED), 1);
		w = t_encap(in, n, AF_INET, &us4, &two[1 - first].addr, t_dsr_tag(other), enc2);
		t_eq("re-picked: encapsulated to the backend that takes new flows, with its tag",
		     r.out_len == (__u32)w && !memcmp(r.out + 12, enc2 + 12, 8) &&
			 !memcmp(r.out + 14 + 12 + 4, enc2 + 14 + 12 + 4, 4),
		     1);
		assert_int_equal(xlb_vip_set_backends(dp, &k4, &be4, 1), 0);
	}
	t_done("a reused port of a DSR flow whose backend drained is re-picked");

	/*
	 * A router on the client's side about an answer (a "packet too big" for a
	 * download) is sent to the VIP: the balancer, which has the flow, gives it
	 * to the backend with the quote translated, as in NAT mode.
	 */
	{
		struct xlb_pkt_spec q;
		struct xlb_pkt_info pi;
		union xlb_addr router;
		__u16 cp = t_port();
		const char *w = "DSR: a router's error about an answer";

		t_spec(&s, &k4, cp, XLB_PKT_TCP_SYN);
		t_send(dp, &s, &r);
		t_eq("DSR: the flow for the ICMP error is recorded here",
		     t_moved(&r.before, &r.after, XLB_CNT_DSR_ENCAP), 1);
		xlb_pkt_addr(T_ROUTER_C4, &router);
		t_spec(&q, &k4, cp, XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK);
		q.saddr = k4.addr;
		q.sport = ntohs(k4.port);
		q.daddr = client;
		q.dport = cp;
		t_spec(&s, &k4, cp, 0);
		s.saddr = router;
		s.l4 = XLB_PKT_L4_ICMP;
		s.icmp_type = 3;
		s.icmp_code = 4;
		s.icmp_data = 1400;
		s.payload = NULL;
		s.payload_len = 0;
		s.quote = &q;
		t_send(dp, &s, &r);
		t_eq(w, t_moved(&r.before, &r.after, XLB_CNT_ICMP_ORIG), 1);
		if (!t_out_ok(w, &r, &pi)) {
			t_addr_is(w, AF_INET, &pi.ip.daddr, 0, &be4.addr, 0);
			if (!pi.has_quote || !pi.quote.has_l4)
				t_err("%s: no quote in what was sent", w);
			else
				t_addr_is(w, AF_INET, &pi.quote.saddr, pi.quote.sport, &be4.addr,
					  ntohs(be4.port));
		}
	}
	t_done("a router's ICMP error about a DSR answer reaches the backend");

	/* No agent known, or the agent is this node: NAT mode's translation. */
	kn = k4;
	kn.port = htons(81);
	assert_int_equal(xlb_vip_put(dp, &kn, 0, &idn), 0);
	t_dsr_mode(&kn);
	bes[0] = be4;
	bes[0].agent_family = 0;
	assert_int_equal(xlb_vip_set_backends(dp, &kn, bes, 1), 0);
	t_spec(&s, &kn, p[0], XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("no agent: translated here", t_moved(&r.before, &r.after, XLB_CNT_DSR_LOCAL), 1);
	t_eq("no agent: as NAT", t_moved(&r.before, &r.after, XLB_CNT_NAT_ORIG), 1);
	t_eq("no agent: to the backend", r.dport, 8080);
	bes[0].agent = us4;
	bes[0].agent_family = XLB_AF_INET;
	assert_int_equal(xlb_vip_set_backends(dp, &kn, bes, 1), 0);
	t_spec(&s, &kn, p[1], XLB_PKT_TCP_SYN);
	t_send(dp, &s, &r);
	t_eq("the agent is this node: translated here",
	     t_moved(&r.before, &r.after, XLB_CNT_DSR_LOCAL), 1);
	t_eq("the agent is this node: to the backend", r.dport, 8080);
	/*
	 * A path (MTU 1000) the encapsulated packet exceeds: with DF, the client
	 * is told "fragmentation needed" with the inner MTU, quoting its packet;
	 * without DF it is dropped and counted (this node cannot fragment it).
	 */
	xlb_pkt_addr("198.18.2.77", &bes[0].agent);
	assert_int_equal(xlb_vip_set_backends(dp, &kn, bes, 1), 0);
	t_nh_cache_flush();
	for (i = 0; i < 2; i++) {
		static __u8 big[980];
		struct xlb_pkt_info pi;
		const char *w = i ? "too big, no DF" : "too big for the path once encapsulated";

		t_spec(&s, &kn, p[2], XLB_PKT_TCP_ACK);
		s.payload = big;
		s.payload_len = sizeof(big);
		s.frag = i ? 0 : XLB_PKT_DF;
		t_send(dp, &s, &r);
		if (i) {
			t_eq(w, r.reason, XLB_CNT_DROP_DSR_NO_ROUTE);
			continue;
		}
		t_eq(w, r.reason, XLB_CNT_DSR_TOO_BIG);
		t_eq(w, r.ret, XDP_REDIRECT); /* back out of a veth: by redirect */
		if (xlb_pkt_parse(r.out, r.out_len, &pi) || pi.ip.proto != IPPROTO_ICMP ||
		    pi.ip.icmp_type != 3 || pi.ip.icmp_code != 4) {
			t_err("%s: no \"fragmentation needed\" sent back", w);
			continue;
		}
		t_eq("fragmentation needed: the MTU inside the tunnel", pi.ip.icmp_data & 0xffff,
		     1000 - 20);
		t_eq("fragmentation needed: ICMP checksum", pi.ip.l4_csum, XLB_PKT_CSUM_OK);
		t_addr_is("fragmentation needed: to the client", AF_INET, &pi.ip.daddr, 0, &client,
			  0);
		t_addr_is("fragmentation needed: from the VIP", AF_INET, &pi.ip.saddr, 0, &kn.addr,
			  0);
		if (!pi.has_quote || !pi.quote.has_l4)
			t_err("%s: no quote", w);
		else
			t_addr_is("fragmentation needed: quotes client -> VIP", AF_INET,
				  &pi.quote.daddr, pi.quote.dport, &kn.addr, ntohs(kn.port));
	}
	xlb_vip_delete(dp, &kn);
	t_done("DSR without an agent, to this node, and past the path's MTU");

	/* Tunnels that are not DSR's, and DSR packets that cannot be delivered. */
	xlb_pkt_addr("198.18.2.200", &other);
	t_spec(&s, &k4, p[3], XLB_PKT_TCP_SYN);
	n = xlb_pkt_build(&s, in, sizeof(in), NULL);
	m = t_encap(in, n, AF_INET, &be4.addr, &other, t_dsr_tag(bid4), enc);
	t_send_raw(t_env.dp, T_XDP, t_env.if_b, enc, m, &r);
	t_eq("IPIP to another address: passed", r.reason, XLB_CNT_PASS_TUNNEL);
	t_eq("IPIP to another address: untouched", r.out_len == (__u32)m && !memcmp(r.out, enc, m),
	     1);
	m = t_encap(in, n, AF_INET, &be4.addr, &us4, (__u16)(t_dsr_tag(bid4) + 1), enc);
	t_send_raw(t_env.dp, T_XDP, t_env.if_b, enc, m, &r);
	t_eq("IPIP to us, a tag no backend has: dropped", r.reason, XLB_CNT_DROP_DSR_UNKNOWN);
	xlb_pkt_addr("198.18.0.99", &s.daddr); /* no VIP */
	n = xlb_pkt_build(&s, in, sizeof(in), NULL);
	m = t_encap(in, n, AF_INET, &be4.addr, &us4, t_dsr_tag(bid4), enc);
	t_send_raw(t_env.dp, T_TCI, t_env.if_b, enc, m, &r);
	t_eq("IPIP to us, not to a VIP: passed", r.reason, XLB_CNT_PASS_TUNNEL);
	t_eq("IPIP to us, not to a VIP: untouched",
	     r.out_len == (__u32)m && !memcmp(r.out, enc, m), 1);
	t_spec(&s, &k4, p[3], XLB_PKT_TCP_SYN);
	s.tcp_doff = 15; /* options past the packet's end */
	n = xlb_pkt_build(&s, in, sizeof(in), NULL);
	m = t_encap(in, n, AF_INET, &be4.addr, &us4, t_dsr_tag(bid4), enc);
	t_send_raw(t_env.dp, T_XDP, t_env.if_b, enc, m, &r);
	t_eq("IPIP to us, a malformed packet to a VIP inside: dropped", r.reason,
	     XLB_CNT_DROP_DSR_MALFORMED);
	t_spec(&s, &k6, p[3], XLB_PKT_TCP_SYN);
	n = xlb_pkt_build(&s, in, sizeof(in), NULL);
	m = t_encap(in, n, AF_INET, &be4.addr, &us4, t_dsr_tag(bid6), enc);
	t_send_raw(t_env.dp, T_XDP, t_env.if_b, enc, m, &r);
	t_eq("IPv6 in IPv4 to us: decapsulated", t_moved(&r.before, &r.after, XLB_CNT_DSR_DECAP),
	     1);
	t_eq("IPv6 in IPv4 to us: to its backend", r.dport, 8080);
	t_done("tunnels not for DSR pass, undeliverable DSR packets are dropped");

	xlb_vip_delete(dp, &k4);
	xlb_vip_delete(dp, &k6);
	xlb_vip_delete(dp, &ku);
}
