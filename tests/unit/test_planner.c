// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of xlbd's planner: normalising and sorting desired states, the
 * diff (nothing for equal states, and exactly the right op and counts for
 * each kind of change), held deletes, merging static VIPs over Marathon's,
 * the Marathon bridge, the safety guard, and, as root with bpffs, a round
 * trip through real pinned maps under a private pin path: apply, read back,
 * diff to zero, reopen (a restart) and diff to zero again, and two pin paths
 * given one state end with the same tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "check.h"
#include "dp.h"
#include "harness.h"
#include "log.h"
#include "maglev.h"
#include "mara_model.h"
#include "planner.h"

static struct xlb_vip_key vk(const char *addr, __u16 port, __u8 proto)
{
	struct xlb_vip_key k = {};

	k.family = XLB_AF_INET;
	expect_eq("inet_pton of a test VIP address", inet_pton(AF_INET, addr, &k.addr.v4), 1);
	k.port = htons(port);
	k.proto = proto;
	return k;
}

static struct xlb_plan_backend be(const char *addr, __u16 port, __u8 state, __u16 weight)
{
	struct xlb_plan_backend b = {};

	b.family = XLB_AF_INET;
	expect_eq("inet_pton of a test backend address", inet_pton(AF_INET, addr, &b.addr.v4), 1);
	b.port = htons(port);
	b.state = state;
	b.weight = weight;
	return b;
}

/* Adds a VIP with n backends 198.18.1.<first>..:8080, all active with weight 1. */
static void add_vip(struct xlb_plan_state *st, const char *addr, __u16 port, int first, int n,
		    const char *name)
{
	struct xlb_plan_backend b[64];
	struct xlb_plan_vip v = {};
	char a[32];
	int i;

	v.key = vk(addr, port, XLB_PROTO_TCP);
	v.source = XLB_PLAN_SRC_STATIC;
	snprintf(v.name, sizeof(v.name), "%s", name ? name : "");
	snprintf(v.app, sizeof(v.app), "test");
	for (i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "198.18.1.%d", first + i);
		b[i] = be(a, 8080, XLB_BE_ACTIVE, 1);
	}
	v.backends = b;
	v.nr_backends = n;
	expect_ok("xlb_plan_state_add", xlb_plan_state_add(st, &v));
}

static void finish(struct xlb_plan_state *st)
{
	char err[128];

	expect_ok("xlb_plan_state_finish", xlb_plan_state_finish(st, err, sizeof(err)));
}

static struct xlb_plan_vip *find_mut(struct xlb_plan_state *st, const char *addr, __u16 port)
{
	struct xlb_vip_key k = vk(addr, port, XLB_PROTO_TCP);

	return (struct xlb_plan_vip *)xlb_plan_state_find(st, &k);
}

static void test_finish(void **state)
{
	struct xlb_plan_state st;
	struct xlb_plan_backend b[3];
	struct xlb_plan_vip v = {};
	char err[128];

	(void)state;
	xlb_plan_state_init(&st);
	add_vip(&st, "198.18.0.20", 80, 1, 1, NULL);
	add_vip(&st, "198.18.0.10", 443, 1, 1, NULL);
	add_vip(&st, "198.18.0.10", 80, 1, 1, NULL);
	b[0] = be("198.18.1.9", 80, XLB_BE_ACTIVE, 0);	 /* weight 0: draining */
	b[1] = be("198.18.1.2", 80, XLB_BE_DRAINING, 7); /* draining: weight 0 */
	b[2] = be("198.18.1.2", 70, XLB_BE_ACTIVE, 3);
	v.key = vk("198.18.0.10", 80, XLB_PROTO_UDP);
	v.backends = b;
	v.nr_backends = 3;
	expect_ok("add the UDP VIP", xlb_plan_state_add(&st, &v));
	finish(&st);
	/* sorted by address, then port numerically, then protocol */
	expect_eq("port of VIP 0 (sorted by address, then port)", ntohs(st.vips[0].key.port), 80);
	expect_eq("protocol of VIP 0 (tcp before udp)", st.vips[0].key.proto, XLB_PROTO_TCP);
	expect_eq("protocol of VIP 1", st.vips[1].key.proto, XLB_PROTO_UDP);
	expect_eq("port of VIP 2 (80 before 443)", ntohs(st.vips[2].key.port), 443);
	expect_eq("address of VIP 3 (198.18.0.20 last)", st.vips[3].key.addr.v4,
		  vk("198.18.0.20", 1, 6).addr.v4);
	expect_eq("port of VIP 1's first backend (sorted by port)",
		  ntohs(st.vips[1].backends[0].port), 70);
	expect_eq("weight of VIP 1's first backend", st.vips[1].backends[0].weight, 3);
	expect_eq("state of VIP 1's backend 1 (weight 0 drains)", st.vips[1].backends[1].state,
		  XLB_BE_DRAINING);
	expect_eq("weight of VIP 1's backend 1 (draining)", st.vips[1].backends[1].weight, 0);
	expect_eq("state of VIP 1's backend 2", st.vips[1].backends[2].state, XLB_BE_DRAINING);
	expect_eq("backends in the state", xlb_plan_state_backends(&st), 6);
	/* duplicates are refused, with the key in the message */
	add_vip(&st, "198.18.0.20", 80, 5, 1, NULL);
	expect_rc("finish with a VIP listed twice", xlb_plan_state_finish(&st, err, sizeof(err)),
		  -EEXIST);
	expect_substr("message for a VIP listed twice", err, "198.18.0.20:80/tcp");
	xlb_plan_state_free(&st);
	xlb_plan_state_init(&st);
	b[0] = be("198.18.1.1", 80, XLB_BE_ACTIVE, 1);
	b[1] = be("198.18.1.1", 80, XLB_BE_DRAINING, 0);
	v.nr_backends = 2;
	expect_ok("add a VIP with one backend twice", xlb_plan_state_add(&st, &v));
	expect_rc("finish with a backend listed twice",
		  xlb_plan_state_finish(&st, err, sizeof(err)), -EEXIST);
	expect_substr("message for a backend listed twice", err, "198.18.1.1:80 listed twice");
	xlb_plan_state_free(&st);
}

/* Builds the base state used by the diff rows: three VIPs with 3 backends each. */
static void base(struct xlb_plan_state *st)
{
	xlb_plan_state_init(st);
	add_vip(st, "198.18.0.10", 80, 1, 3, "a");
	add_vip(st, "198.18.0.11", 80, 11, 3, "b");
	add_vip(st, "198.18.0.12", 80, 21, 3, "c");
	finish(st);
}

static void test_diff_equal(void **state)
{
	struct xlb_plan_state a, b;
	struct xlb_plan plan;

	(void)state;
	base(&a);
	base(&b);
	expect_ok("diff of equal states", xlb_plan_diff(&a, &b, true, &plan));
	expect_eq("ops for equal states", plan.nr_ops, 0);
	expect_eq("changes for equal states", xlb_plan_changes(&plan.counts), 0);
	xlb_plan_free(&plan);
	/* empty against empty */
	xlb_plan_state_free(&a);
	xlb_plan_state_free(&b);
	expect_ok("diff of two empty states", xlb_plan_diff(&a, &b, true, &plan));
	expect_eq("ops for two empty states", plan.nr_ops, 0);
	xlb_plan_free(&plan);
}

enum change {
	C_ADD_VIP,
	C_DEL_VIP,
	C_FLAGS,
	C_NAME,
	C_APP,
	C_BE_ADD,
	C_BE_DEL,
	C_BE_WEIGHT,
	C_BE_DRAIN,
	C_BE_DRAIN_WEIGHT, /* draining with another weight: no change after normalising */
	C_BE_REPLACE,
};

static const struct {
	const char *name;
	enum change c;
	enum xlb_plan_op_kind kind;
	unsigned int what;
	struct xlb_plan_counts counts;
	size_t ops;
} diff_rows[] = {
    {"new VIP",
     C_ADD_VIP,
     XLB_PLAN_OP_CREATE,
     XLB_PLAN_W_FLAGS | XLB_PLAN_W_BACKENDS | XLB_PLAN_W_META,
     {.vips_created = 1, .backends_added = 2, .vips_meta = 1},
     1},
    {"VIP gone", C_DEL_VIP, XLB_PLAN_OP_DELETE, 0, {.vips_deleted = 1, .backends_removed = 3}, 1},
    {"policy", C_FLAGS, XLB_PLAN_OP_UPDATE, XLB_PLAN_W_FLAGS, {.vips_flags = 1}, 1},
    {"name", C_NAME, XLB_PLAN_OP_UPDATE, XLB_PLAN_W_META, {.vips_meta = 1}, 1},
    {"app", C_APP, XLB_PLAN_OP_UPDATE, XLB_PLAN_W_META, {.vips_meta = 1}, 1},
    {"backend added", C_BE_ADD, XLB_PLAN_OP_UPDATE, XLB_PLAN_W_BACKENDS, {.backends_added = 1}, 1},
    {"backend removed",
     C_BE_DEL,
     XLB_PLAN_OP_UPDATE,
     XLB_PLAN_W_BACKENDS,
     {.backends_removed = 1},
     1},
    {"weight", C_BE_WEIGHT, XLB_PLAN_OP_UPDATE, XLB_PLAN_W_BACKENDS, {.backends_changed = 1}, 1},
    {"drain", C_BE_DRAIN, XLB_PLAN_OP_UPDATE, XLB_PLAN_W_BACKENDS, {.backends_changed = 1}, 1},
    {"drain weight only", C_BE_DRAIN_WEIGHT, XLB_PLAN_OP_UPDATE, 0, {}, 0},
    {"backend replaced",
     C_BE_REPLACE,
     XLB_PLAN_OP_UPDATE,
     XLB_PLAN_W_BACKENDS,
     {.backends_added = 1, .backends_removed = 1},
     1},
};

static void apply_change(struct xlb_plan_state *st, enum change c)
{
	struct xlb_plan_vip *v = find_mut(st, "198.18.0.11", 80);

	switch (c) {
	case C_ADD_VIP:
		add_vip(st, "198.18.0.5", 80, 31, 2, "new");
		break;
	case C_DEL_VIP:
		free(v->backends);
		*v = st->vips[--st->nr_vips];
		break;
	case C_FLAGS:
		v->flags = XLB_VIP_F_DROP_NO_BACKEND;
		break;
	case C_NAME:
		snprintf(v->name, sizeof(v->name), "renamed");
		break;
	case C_APP:
		snprintf(v->app, sizeof(v->app), "/other");
		break;
	case C_BE_ADD:
		v->backends = realloc(v->backends, 4 * sizeof(*v->backends));
		v->backends[v->nr_backends++] = be("198.18.1.99", 8080, XLB_BE_ACTIVE, 1);
		break;
	case C_BE_DEL:
		v->nr_backends--;
		break;
	case C_BE_WEIGHT:
		v->backends[1].weight = 5;
		break;
	case C_BE_DRAIN:
		v->backends[1].state = XLB_BE_DRAINING;
		break;
	case C_BE_DRAIN_WEIGHT:
		break;
	case C_BE_REPLACE:
		v->backends[2].port = htons(9090);
		break;
	}
	finish(st);
}

static void test_diff_rows(void **state)
{
	struct xlb_plan_state cur, want;
	struct xlb_plan plan;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(diff_rows); i++) {
		print_message("row: %s\n", diff_rows[i].name);
		base(&cur);
		base(&want);
		if (diff_rows[i].c == C_BE_DRAIN_WEIGHT) {
			/* both sides draining, one written with a stale weight */
			find_mut(&cur, "198.18.0.11", 80)->backends[0].state = XLB_BE_DRAINING;
			find_mut(&want, "198.18.0.11", 80)->backends[0].state = XLB_BE_DRAINING;
			find_mut(&want, "198.18.0.11", 80)->backends[0].weight = 9;
			finish(&cur);
		}
		apply_change(&want, diff_rows[i].c);
		expect_ok(xlb_whatf("row %s: diff", diff_rows[i].name),
			  xlb_plan_diff(&cur, &want, true, &plan));
		expect_eq(xlb_whatf("row %s: ops", diff_rows[i].name), plan.nr_ops,
			  diff_rows[i].ops);
		expect_mem_eq(xlb_whatf("row %s: counts", diff_rows[i].name), &plan.counts,
			      &diff_rows[i].counts, sizeof(plan.counts));
		if (plan.nr_ops) {
			expect_eq(xlb_whatf("row %s: op kind", diff_rows[i].name), plan.ops[0].kind,
				  diff_rows[i].kind);
			expect_eq(xlb_whatf("row %s: what the op changes", diff_rows[i].name),
				  plan.ops[0].what, diff_rows[i].what);
			if (plan.ops[0].kind != XLB_PLAN_OP_DELETE)
				expect_ptr_eq(
				    xlb_whatf("row %s: the op's wanted VIP", diff_rows[i].name),
				    xlb_plan_state_find(&want, &plan.ops[0].key), plan.ops[0].want);
		}
		xlb_plan_free(&plan);
		xlb_plan_state_free(&cur);
		xlb_plan_state_free(&want);
	}
}

static void test_diff_held_and_order(void **state)
{
	struct xlb_plan_state cur, want;
	struct xlb_plan plan;
	char buf[256];

	(void)state;
	base(&cur);
	xlb_plan_state_init(&want);
	add_vip(&want, "198.18.0.1", 80, 1, 1, NULL);
	add_vip(&want, "198.18.0.12", 80, 21, 3, "c");
	finish(&want);
	/* deletes not allowed: the two VIPs only in cur stay */
	expect_ok("diff with deletes held", xlb_plan_diff(&cur, &want, false, &plan));
	expect_eq("deletes held", plan.counts.deletes_held, 2);
	expect_eq("VIPs deleted with deletes held", plan.counts.vips_deleted, 0);
	expect_eq("ops with deletes held", plan.nr_ops, 1);
	expect_eq("kind of the one op with deletes held", plan.ops[0].kind, XLB_PLAN_OP_CREATE);
	expect_substr("summary with deletes held",
		      xlb_plan_counts_str(&plan.counts, buf, sizeof(buf)), "2 deletes held");
	xlb_plan_free(&plan);
	/* allowed: deletes come first even though the create sorts before them */
	expect_ok("diff with deletes allowed", xlb_plan_diff(&cur, &want, true, &plan));
	expect_eq("ops with deletes allowed", plan.nr_ops, 3);
	expect_eq("kind of op 0 (deletes first)", plan.ops[0].kind, XLB_PLAN_OP_DELETE);
	expect_eq("kind of op 1", plan.ops[1].kind, XLB_PLAN_OP_DELETE);
	expect_eq("kind of op 2 (the create last)", plan.ops[2].kind, XLB_PLAN_OP_CREATE);
	expect_eq("changes with deletes allowed", xlb_plan_changes(&plan.counts),
		  2 + 6 + 1 + 1 + 1);
	expect_str_eq("summary with deletes allowed",
		      xlb_plan_counts_str(&plan.counts, buf, sizeof(buf)),
		      "vips +1 ~0 -2, backends +1 ~0 -6, names 1");
	xlb_plan_free(&plan);
	xlb_plan_state_free(&cur);
	xlb_plan_state_free(&want);
}

/* A VIP read back from the maps whose table has the wrong size is repaired, once. */
static void test_diff_table_repair(void **state)
{
	struct xlb_plan_state cur, want;
	struct xlb_plan plan;
	size_t i;

	(void)state;
	base(&cur);
	base(&want);
	for (i = 0; i < cur.nr_vips; i++) {
		cur.vips[i].source = XLB_PLAN_SRC_MAPS;
		cur.vips[i].table_size = xlb_maglev_size(3);
	}
	expect_ok("diff of a read-back state with right table sizes",
		  xlb_plan_diff(&cur, &want, true, &plan));
	expect_eq("ops for right table sizes", plan.nr_ops, 0);
	xlb_plan_free(&plan);
	cur.vips[1].table_size = 0;
	expect_ok("diff with one table size 0", xlb_plan_diff(&cur, &want, true, &plan));
	expect_eq("ops for one table size 0", plan.nr_ops, 1);
	expect_eq("what the repair op changes", plan.ops[0].what, XLB_PLAN_W_TABLE);
	expect_eq("tables repaired", plan.counts.tables_repaired, 1);
	xlb_plan_free(&plan);
	/* a state we wrote ourselves carries no table size: never "repaired" */
	cur.vips[1].source = XLB_PLAN_SRC_STATIC;
	expect_ok("diff of our own state without table sizes",
		  xlb_plan_diff(&cur, &want, true, &plan));
	expect_eq("ops for our own state without table sizes", plan.nr_ops, 0);
	xlb_plan_free(&plan);
	xlb_plan_state_free(&cur);
	xlb_plan_state_free(&want);
}

static int warnings;

static void count_warn(void *ctx, const char *msg)
{
	(void)ctx;
	expect_substr("VIP in the merge warning", msg, "198.18.0.11:80/tcp");
	expect_substr("merge warning", msg, "config file wins");
	warnings++;
}

static void test_merge(void **state)
{
	struct xlb_plan_state st, mara, out;

	(void)state;
	xlb_plan_state_init(&st);
	xlb_plan_state_init(&mara);
	add_vip(&st, "198.18.0.11", 80, 1, 1, "static");
	add_vip(&st, "198.18.0.30", 80, 1, 1, "static2");
	finish(&st);
	add_vip(&mara, "198.18.0.10", 80, 5, 2, "m1");
	add_vip(&mara, "198.18.0.11", 80, 5, 2, "m2");
	finish(&mara);
	warnings = 0;
	expect_ok("merge static over Marathon VIPs",
		  xlb_plan_merge(&st, &mara, &out, count_warn, NULL));
	expect_eq("merge warnings", warnings, 1);
	expect_eq("VIPs after the merge", out.nr_vips, 3);
	expect_str_eq("name of merged VIP 0", out.vips[0].name, "m1");
	expect_str_eq("name of merged VIP 1 (the static one wins)", out.vips[1].name, "static");
	expect_eq("backends of merged VIP 1 (the static ones)", out.vips[1].nr_backends, 1);
	expect_str_eq("name of merged VIP 2", out.vips[2].name, "static2");
	xlb_plan_state_free(&out);
	xlb_plan_state_free(&st);
	xlb_plan_state_free(&mara);
}

static void test_from_marathon(void **state)
{
	struct xlb_mara_backend mb[2] = {};
	struct xlb_mara_origin orig[3] = {};
	struct xlb_mara_service svc[2] = {};
	struct xlb_mara_model model = {};
	struct xlb_plan_state out;
	char longid[200];

	(void)state;
	mb[0].family = mb[1].family = XLB_AF_INET;
	inet_pton(AF_INET, "198.18.2.11", &mb[0].addr.v4);
	inet_pton(AF_INET, "198.18.2.12", &mb[1].addr.v4);
	mb[0].port = mb[1].port = htons(31001);
	mb[0].state = XLB_BE_ACTIVE;
	mb[0].weight = 1;
	mb[1].state = XLB_BE_DRAINING;
	orig[0].run_id = "/group/a";
	orig[1].run_id = "/group/a"; /* a second port of the same app: listed once */
	orig[2].run_id = "/pod";
	svc[0].key = vk("198.19.0.7", 80, XLB_PROTO_TCP);
	svc[0].kind = XLB_SVC_NAMED_VIP;
	svc[0].mode = XLB_MARA_MODE_DEFAULT;
	svc[0].dns_name = "groupa.marathon.l4lb.thisdcos.directory";
	svc[0].origins = orig;
	svc[0].nr_origins = 3;
	svc[0].backends = mb;
	svc[0].nr_backends = 2;
	memset(longid, 'x', sizeof(longid) - 1);
	longid[0] = '/';
	longid[sizeof(longid) - 1] = '\0';
	svc[1].key = vk("198.19.0.8", 80, XLB_PROTO_TCP);
	svc[1].kind = XLB_SVC_IP_VIP;
	svc[1].mode = XLB_MODE_NAT; /* a label's choice beats datapath.mode */
	svc[1].origins = &(struct xlb_mara_origin){.run_id = longid};
	svc[1].nr_origins = 1;
	model.services = svc;
	model.nr_services = 2;
	expect_ok("state from the Marathon model",
		  xlb_plan_from_marathon(&model, XLB_VIP_F_DROP_NO_BACKEND, XLB_MODE_FULLNAT, &out));
	expect_eq("VIPs from the model", out.nr_vips, 2);
	expect_str_eq("name of VIP 0 (its DNS name)", out.vips[0].name,
		      "groupa.marathon.l4lb.thisdcos.directory");
	expect_str_eq("app of VIP 0 (each app once)", out.vips[0].app, "/group/a,/pod");
	expect_eq("flags of VIP 0", out.vips[0].flags, XLB_VIP_F_DROP_NO_BACKEND);
	expect_eq("mode of VIP 0 (datapath.mode)", out.vips[0].mode, XLB_MODE_FULLNAT);
	expect_eq("source of VIP 0", out.vips[0].source, XLB_PLAN_SRC_MARATHON);
	expect_eq("backends of VIP 0", out.vips[0].nr_backends, 2);
	expect_eq("state of VIP 0's backend 1", out.vips[0].backends[1].state, XLB_BE_DRAINING);
	expect_str_eq("name of VIP 1 (an IP VIP)", out.vips[1].name, "");
	expect_eq("mode of VIP 1 (its labels')", out.vips[1].mode, XLB_MODE_NAT);
	/* a cut list says so */
	expect_eq("length of VIP 1's cut app list", strlen(out.vips[1].app), XLB_META_APP_LEN - 1);
	expect_str_eq("end of VIP 1's cut app list", out.vips[1].app + XLB_META_APP_LEN - 4, "...");
	xlb_plan_state_free(&out);
}

static void test_guard(void **state)
{
	struct xlb_plan_guard_opts o = {
	    .max_remove_fraction = 0.5, .min_vips = 4, .confirm_syncs = 3};
	struct xlb_plan_guard g = {};
	struct xlb_plan_state cur, empty, some, tiny_cur, tiny_want;
	char why[160];

	(void)state;
	xlb_plan_state_init(&cur);
	xlb_plan_state_init(&empty);
	xlb_plan_state_init(&some);
	xlb_plan_state_init(&tiny_cur);
	xlb_plan_state_init(&tiny_want);
	for (int i = 0; i < 8; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.0.%d", 10 + i);
		add_vip(&cur, a, 80, 1, 1, NULL);
		if (i < 3)
			add_vip(&some, a, 80, 1, 1, NULL);
	}
	finish(&cur);
	finish(&some);
	add_vip(&tiny_cur, "198.18.0.10", 80, 1, 1, NULL);
	add_vip(&tiny_cur, "198.18.0.11", 80, 1, 1, NULL);
	add_vip(&tiny_want, "198.18.0.10", 80, 1, 1, NULL);
	finish(&tiny_cur);
	finish(&tiny_want);

	/* nothing at all: held twice, applied on the third in a row */
	expect_eq("guard, nothing at all, first time",
		  xlb_plan_guard_check(&g, &o, &cur, &empty, why, sizeof(why)), XLB_PLAN_HOLD);
	expect_substr("guard reason, nothing at all", why, "no services at all, while 8 VIPs");
	expect_eq("guard, nothing at all, second time",
		  xlb_plan_guard_check(&g, &o, &cur, &empty, why, sizeof(why)), XLB_PLAN_HOLD);
	expect_eq("guard, nothing at all, third time",
		  xlb_plan_guard_check(&g, &o, &cur, &empty, why, sizeof(why)),
		  XLB_PLAN_APPLY_CONFIRMED);
	/* a normal sync in between starts the count over */
	expect_eq("guard, nothing at all, after the confirmation",
		  xlb_plan_guard_check(&g, &o, &cur, &empty, why, sizeof(why)), XLB_PLAN_HOLD);
	expect_eq("guard, a normal sync",
		  xlb_plan_guard_check(&g, &o, &cur, &cur, why, sizeof(why)), XLB_PLAN_APPLY);
	expect_eq("guard streak after a normal sync", g.streak, 0);
	/* 5 of 8 removed is over half */
	expect_eq("guard, 5 of 8 VIPs removed",
		  xlb_plan_guard_check(&g, &o, &cur, &some, why, sizeof(why)), XLB_PLAN_HOLD);
	expect_substr("guard reason, 5 of 8 removed", why, "would remove 5 of 8 VIPs");
	g.streak = 0;
	/* below min_vips only "nothing at all" counts */
	expect_eq("guard, below min_vips, one of two removed",
		  xlb_plan_guard_check(&g, &o, &tiny_cur, &tiny_want, why, sizeof(why)),
		  XLB_PLAN_APPLY);
	expect_eq("guard, below min_vips, nothing at all",
		  xlb_plan_guard_check(&g, &o, &tiny_cur, &empty, why, sizeof(why)), XLB_PLAN_HOLD);
	g.streak = 0;
	/* nothing before, nothing now: fine */
	expect_eq("guard, nothing before and now",
		  xlb_plan_guard_check(&g, &o, &empty, &empty, why, sizeof(why)), XLB_PLAN_APPLY);
	/* confirm_syncs 1: applied at once, but still reported as suspicious */
	o.confirm_syncs = 1;
	expect_eq("guard, nothing at all, confirm_syncs 1",
		  xlb_plan_guard_check(&g, &o, &cur, &empty, why, sizeof(why)),
		  XLB_PLAN_APPLY_CONFIRMED);
	xlb_plan_state_free(&cur);
	xlb_plan_state_free(&some);
	xlb_plan_state_free(&tiny_cur);
	xlb_plan_state_free(&tiny_want);
}

/* ---- against real maps ---- */

static bool have_bpffs(void)
{
	struct statfs sf;

	return geteuid() == 0 && !statfs("/sys/fs/bpf", &sf) && sf.f_type == BPF_FS_MAGIC;
}

static void pin_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/sys/fs/bpf/xlb-test-planner-%d-%s", (int)getpid(), tag);
}

static struct xlb_dp *open_dp(const char *pin)
{
	struct xlb_dp_opts o = {
	    .pin_path = pin, .max_vips = 64, .max_backends = 512, .ct_size = 1024};
	struct xlb_dp *dp = NULL;

	expect_ok("xlb_dp_open", xlb_dp_open(&dp, &o));
	return dp;
}

/* Applies want to dp and checks that reading back diffs to nothing. */
static void apply_and_check(struct xlb_dp *dp, const struct xlb_plan_state *want,
			    __u32 expect_changes)
{
	struct xlb_plan_state cur;
	struct xlb_plan plan;

	expect_ok("read the maps", xlb_plan_state_read(dp, &cur));
	expect_ok("diff against the maps", xlb_plan_diff(&cur, want, true, &plan));
	expect_eq("changes to apply", xlb_plan_changes(&plan.counts), expect_changes);
	expect_ok("apply the plan", xlb_plan_apply(dp, &plan));
	xlb_plan_free(&plan);
	xlb_plan_state_free(&cur);
	expect_ok("read the maps after applying", xlb_plan_state_read(dp, &cur));
	expect_ok("diff after applying", xlb_plan_diff(&cur, want, true, &plan));
	expect_eq("ops after applying", plan.nr_ops, 0);
	xlb_plan_free(&plan);
	xlb_plan_state_free(&cur);
}

static void table_of(struct xlb_dp *dp, const char *addr, __u32 *out, __u32 *size)
{
	struct xlb_vip_key k = vk(addr, 80, XLB_PROTO_TCP);
	struct xlb_backend b;
	__u32 ids[XLB_MAGLEV_MAX_SIZE], i;
	int n = xlb_vip_table_read(dp, &k, ids, XLB_MAGLEV_MAX_SIZE);

	expect_cmp("slots in the table read back", n, >, 0);
	/* slots as backend addresses: ids are local to one node */
	for (i = 0; i < (__u32)n; i++) {
		expect_ok(xlb_whatf("backend of slot %u", i), xlb_backend_get(dp, ids[i], &b));
		out[i] = b.addr.v4 ^ b.port;
	}
	*size = n;
}

static int unpin_all(void **state)
{
	char pin[128];

	(void)state;
	pin_path(pin, sizeof(pin), "a");
	xlb_dp_unpin(pin);
	pin_path(pin, sizeof(pin), "b");
	xlb_dp_unpin(pin);
	return 0;
}

static void test_maps_round_trip(void **state)
{
	struct xlb_plan_state want;
	struct xlb_dp *dp, *dp2;
	char pin[128], pin2[128];
	static __u32 t1[XLB_MAGLEV_MAX_SIZE], t2[XLB_MAGLEV_MAX_SIZE];
	__u32 s1, s2;
	struct xlb_vip_meta meta;
	struct xlb_vip vip;
	struct xlb_vip_key k;

	(void)state;
	if (!have_bpffs())
		xlb_skip_env("needs root and bpffs at /sys/fs/bpf");
	pin_path(pin, sizeof(pin), "a");
	pin_path(pin2, sizeof(pin2), "b");
	xlb_dp_unpin(pin);
	xlb_dp_unpin(pin2);
	xlb_log_set_level(XLB_LOG_WARN);
	dp = open_dp(pin);
	base(&want);
	/* create: 3 VIPs + 9 backends + 3 names */
	apply_and_check(dp, &want, 15);
	k = vk("198.18.0.11", 80, XLB_PROTO_TCP);
	expect_ok("get VIP 198.18.0.11:80", xlb_vip_get(dp, &k, &vip));
	expect_eq("table size of 198.18.0.11:80", vip.table_size, xlb_maglev_size(3));
	expect_ok("get the meta of 198.18.0.11:80", xlb_vip_meta_get(dp, vip.vip_id, &meta));
	expect_str_eq("name of 198.18.0.11:80", meta.name, "b");
	expect_str_eq("app of 198.18.0.11:80", meta.app, "test");
	/* a restart: the same state again changes nothing */
	xlb_dp_close(dp);
	dp = open_dp(pin);
	apply_and_check(dp, &want, 0);
	/* a VIP left without its table (a crash mid-write) is repaired on the next start */
	vip.table_size = 0;
	expect_ok("zero the table size in the map",
		  bpf_map_update_elem(xlb_dp_map_fd(dp, XLB_MAP_VIPS), &k, &vip, BPF_EXIST));
	xlb_dp_close(dp);
	dp = open_dp(pin);
	apply_and_check(dp, &want, 1);
	expect_ok("get VIP 198.18.0.11:80 after the repair", xlb_vip_get(dp, &k, &vip));
	expect_eq("table size of 198.18.0.11:80 after the repair", vip.table_size,
		  xlb_maglev_size(3));
	/* drain one, remove a VIP, rename one */
	find_mut(&want, "198.18.0.10", 80)->backends[0].state = XLB_BE_DRAINING;
	snprintf(find_mut(&want, "198.18.0.12", 80)->name, XLB_META_NAME_LEN, "c2");
	free(find_mut(&want, "198.18.0.11", 80)->backends);
	*find_mut(&want, "198.18.0.11", 80) = want.vips[--want.nr_vips];
	finish(&want);
	apply_and_check(dp, &want, 1 + 1 + 1 + 3);
	/* a second node with the same state has the same tables, slot for slot */
	dp2 = open_dp(pin2);
	apply_and_check(dp2, &want, 2 + 6 + 2);
	table_of(dp, "198.18.0.10", t1, &s1);
	table_of(dp2, "198.18.0.10", t2, &s2);
	expect_eq("table sizes of two nodes with one state", s1, s2);
	expect_mem_eq("tables of two nodes with one state", t1, t2, s1 * sizeof(*t1));
	/* everything drained: no table, VIP still there (it rejects) */
	for (size_t i = 0; i < want.vips[0].nr_backends; i++)
		want.vips[0].backends[i].state = XLB_BE_DRAINING;
	finish(&want);
	apply_and_check(dp, &want, 2);
	k = vk("198.18.0.10", 80, XLB_PROTO_TCP);
	expect_ok("get VIP 198.18.0.10:80, every backend draining", xlb_vip_get(dp, &k, &vip));
	expect_eq("table size with every backend draining", vip.table_size, 0);
	xlb_plan_state_free(&want);
	xlb_dp_close(dp);
	xlb_dp_close(dp2);
	expect_ok("unpin the first pin path", xlb_dp_unpin(pin));
	expect_ok("unpin the second pin path", xlb_dp_unpin(pin2));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_finish),
    cmocka_unit_test(test_diff_equal),
    cmocka_unit_test(test_diff_rows),
    cmocka_unit_test(test_diff_held_and_order),
    cmocka_unit_test(test_diff_table_repair),
    cmocka_unit_test(test_merge),
    cmocka_unit_test(test_from_marathon),
    cmocka_unit_test(test_guard),
    cmocka_unit_test_teardown(test_maps_round_trip, unpin_all),
};

XLB_TEST_MAIN("planner", tests)
