// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Multi-step scenarios that a single table row cannot express: flows that
 * must keep their backend while the Maglev table changes under them, draining,
 * a removed backend whose slot id is given to another, the per-CPU conntrack
 * insert budget, weights over thousands of flows, and a VIP whose table is
 * missing. Each predicts Maglev picks from the live table and the data plane's
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

#include "maglev.h"
#include "suite.h"

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

static void t_send(struct xlb_dp *dp, const struct xlb_pkt_spec *s, struct t_shot *r)
{
	__u8 in[XLB_PKT_BUF];
	int n = xlb_pkt_build(s, in, sizeof(in), NULL), err;
	__u32 i;

	memset(r, 0, sizeof(*r));
	r->reason = -1;
	if (n < 0) {
		t_err("build: %d (test bug)", n);
		return;
	}
	xlb_stats_read(dp, &r->before);
	err = t_prog_run(dp, T_XDP, t_env.if_c, in, (size_t)n, r->out, &r->out_len, &r->ret);
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

/* Empties the per-CPU insert budget, so the window starts with this test. */
static void t_budget_reset(void)
{
	int fd = xlb_dp_map_fd(t_env.dp, XLB_MAP_CT_BUDGET);
	int n = xlb_dp_ncpus(t_env.dp);
	void *zero = calloc((size_t)n, sizeof(struct xlb_ct_budget));
	__u32 key = 0;

	if (fd < 0 || !zero || bpf_map_update_elem(fd, &key, zero, BPF_ANY))
		t_err("reset xlb_ct_budget");
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

/*
 * Per-CPU conntrack insert limit 1/s: the first new flow passes, the second in
 * the same second is dropped (and counted per VIP), established flows go on.
 */
void t_ct_insert_limit(void **state)
{
	const struct t_svc_state *svc = &t_env.svc[T_SVC_TCP4];
	struct xlb_config cfg = { .ct_insert_limit = 1 };
	struct xlb_pkt_spec s;
	struct t_delta d;
	__u16 p1 = t_port(), p2 = t_port();
	__u32 len;

	t_budget_reset();
	t_done("resetting the budget");
	assert_int_equal(xlb_config_set(t_env.dp, &cfg), 0);

	t_spec(&s, &svc->key, p1, XLB_PKT_TCP_SYN);
	len = 14 + 20 + 20;
	d = (struct t_delta){ .reason = XLB_CNT_FWD_REDIRECT, .events = T_E_NEW,
			      .vip_id = svc->vip_id, .be_id = { svc->be_id } };
	d.vip.pkts_in = d.vip.new_flows = d.be[0].pkts_in = d.be[0].new_flows = 1;
	d.vip.bytes_in = d.be[0].bytes_in = len;
	t_run_delta(&s, &d, XDP_REDIRECT, "first new flow within the limit");

	t_spec(&s, &svc->key, p2, XLB_PKT_TCP_SYN);
	d = (struct t_delta){ .reason = XLB_CNT_DROP_CT_LIMIT, .vip_id = svc->vip_id };
	d.vip.drops[XLB_VIP_DROP_CT_LIMIT] = 1;
	t_run_delta(&s, &d, XDP_DROP, "second new flow in the same second");

	t_spec(&s, &svc->key, p1, XLB_PKT_TCP_ACK);
	d = (struct t_delta){ .reason = XLB_CNT_FWD_REDIRECT, .events = T_E_HIT,
			      .vip_id = svc->vip_id, .be_id = { svc->be_id } };
	d.vip.pkts_in = d.be[0].pkts_in = 1;
	d.vip.bytes_in = d.be[0].bytes_in = len;
	t_run_delta(&s, &d, XDP_REDIRECT, "established flow over the limit");

	cfg.ct_insert_limit = 0;
	assert_int_equal(xlb_config_set(t_env.dp, &cfg), 0);
	t_spec(&s, &svc->key, p2, XLB_PKT_TCP_SYN);
	d = (struct t_delta){ .reason = XLB_CNT_FWD_REDIRECT, .events = T_E_NEW,
			      .vip_id = svc->vip_id, .be_id = { svc->be_id } };
	d.vip.pkts_in = d.vip.new_flows = d.be[0].pkts_in = d.be[0].new_flows = 1;
	d.vip.bytes_in = d.be[0].bytes_in = len;
	t_run_delta(&s, &d, XDP_REDIRECT, "the dropped flow once the limit is lifted");
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
