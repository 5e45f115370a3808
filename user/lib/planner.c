// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The planner behind planner.h: sorted VIP sets, their merge and diff, the
 * writer that turns a diff into dp.h calls, the reader that rebuilds the
 * current set from the pinned maps, and the safety guard. Everything that
 * decides is here and pure; only xlb_plan_apply and xlb_plan_state_read touch
 * the maps, so a restart that finds the maps already right writes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dp.h"
#include "dp_read.h"
#include "log.h"
#include "maglev.h"
#include "planner.h"

void xlb_plan_state_init(struct xlb_plan_state *st)
{
	memset(st, 0, sizeof(*st));
}

void xlb_plan_state_free(struct xlb_plan_state *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nr_vips; i++)
		free(st->vips[i].backends);
	free(st->vips);
	memset(st, 0, sizeof(*st));
}

int xlb_plan_state_add(struct xlb_plan_state *st, const struct xlb_plan_vip *vip)
{
	struct xlb_plan_vip *v;

	if (st->nr_vips == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;

		v = realloc(st->vips, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		st->vips = v;
		st->cap = cap;
	}
	v = &st->vips[st->nr_vips];
	*v = *vip;
	v->backends = NULL;
	if (vip->nr_backends) {
		v->backends = malloc(vip->nr_backends * sizeof(*v->backends));
		if (!v->backends)
			return -ENOMEM;
		memcpy(v->backends, vip->backends, vip->nr_backends * sizeof(*v->backends));
	}
	st->nr_vips++;
	return 0;
}

int xlb_plan_backend_cmp(const struct xlb_plan_backend *a, const struct xlb_plan_backend *b)
{
	return xlb_endpoint_cmp(&a->addr, a->port, a->family, &b->addr, b->port, b->family);
}

static int vip_qcmp(const void *a, const void *b)
{
	return xlb_vip_key_cmp(&((const struct xlb_plan_vip *)a)->key,
				&((const struct xlb_plan_vip *)b)->key);
}

static int be_qcmp(const void *a, const void *b)
{
	return xlb_plan_backend_cmp(a, b);
}

/* The data plane's own rule (dp.c): only an active backend with a weight takes new flows. */
static void be_normalise(struct xlb_plan_backend *be)
{
	if (be->state != XLB_BE_ACTIVE || !be->weight) {
		be->state = XLB_BE_DRAINING;
		be->weight = 0;
	}
}

int xlb_plan_state_finish(struct xlb_plan_state *st, char *err, size_t errlen)
{
	char ks[80], es[64];
	size_t i, j;

	for (i = 0; i < st->nr_vips; i++) {
		struct xlb_plan_vip *v = &st->vips[i];

		for (j = 0; j < v->nr_backends; j++)
			be_normalise(&v->backends[j]);
		if (v->nr_backends > 1)
			qsort(v->backends, v->nr_backends, sizeof(*v->backends), be_qcmp);
		for (j = 1; j < v->nr_backends; j++) {
			if (xlb_plan_backend_cmp(&v->backends[j - 1], &v->backends[j]))
				continue;
			snprintf(err, errlen, "vip %s: backend %s listed twice",
				 xlb_vip_key_str(&v->key, ks, sizeof(ks)),
				 xlb_endpoint_str(&v->backends[j].addr, v->backends[j].port,
						  v->backends[j].family, es, sizeof(es)));
			return -EEXIST;
		}
	}
	if (st->nr_vips > 1)
		qsort(st->vips, st->nr_vips, sizeof(*st->vips), vip_qcmp);
	for (i = 1; i < st->nr_vips; i++) {
		if (xlb_vip_key_cmp(&st->vips[i - 1].key, &st->vips[i].key))
			continue;
		snprintf(err, errlen, "vip %s listed twice",
			 xlb_vip_key_str(&st->vips[i].key, ks, sizeof(ks)));
		return -EEXIST;
	}
	return 0;
}

int xlb_plan_state_copy(struct xlb_plan_state *dst, const struct xlb_plan_state *src)
{
	size_t i;
	int err;

	xlb_plan_state_init(dst);
	for (i = 0; i < src->nr_vips; i++) {
		err = xlb_plan_state_add(dst, &src->vips[i]);
		if (err) {
			xlb_plan_state_free(dst);
			return err;
		}
	}
	return 0;
}

const struct xlb_plan_vip *xlb_plan_state_find(const struct xlb_plan_state *st,
					       const struct xlb_vip_key *key)
{
	size_t lo = 0, hi = st->nr_vips;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = xlb_vip_key_cmp(&st->vips[mid].key, key);

		if (!r)
			return &st->vips[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t xlb_plan_state_backends(const struct xlb_plan_state *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->nr_vips; i++)
		n += st->vips[i].nr_backends;
	return n;
}

int xlb_plan_merge(const struct xlb_plan_state *statics, const struct xlb_plan_state *marathon,
		   struct xlb_plan_state *out, xlb_plan_warn_fn warn, void *ctx)
{
	size_t i = 0, j = 0;
	char ks[80], msg[256];
	int r, err = 0;

	xlb_plan_state_init(out);
	while (!err && (i < statics->nr_vips || j < marathon->nr_vips)) {
		if (i == statics->nr_vips)
			r = 1;
		else if (j == marathon->nr_vips)
			r = -1;
		else
			r = xlb_vip_key_cmp(&statics->vips[i].key, &marathon->vips[j].key);
		if (r <= 0) {
			err = xlb_plan_state_add(out, &statics->vips[i]);
			if (!r && warn) {
				snprintf(
				    msg, sizeof(msg),
				    "vip %s is both in the config file and claimed by Marathon "
				    "(%s): the config file wins",
				    xlb_vip_key_str(&statics->vips[i].key, ks, sizeof(ks)),
				    marathon->vips[j].app[0] ? marathon->vips[j].app : "?");
				warn(ctx, msg);
			}
			i++;
			if (!r)
				j++;
		} else {
			err = xlb_plan_state_add(out, &marathon->vips[j++]);
		}
	}
	if (err)
		xlb_plan_state_free(out);
	return err;
}

__u32 xlb_plan_changes(const struct xlb_plan_counts *c)
{
	return c->vips_created + c->vips_deleted + c->vips_flags + c->vips_meta +
	       c->backends_added + c->backends_changed + c->backends_removed + c->tables_repaired;
}

const char *xlb_plan_counts_str(const struct xlb_plan_counts *c, char *buf, size_t len)
{
	snprintf(buf, len, "vips +%u ~%u -%u, backends +%u ~%u -%u, names %u%s", c->vips_created,
		 c->vips_flags, c->vips_deleted, c->backends_added, c->backends_changed,
		 c->backends_removed, c->vips_meta, c->tables_repaired ? ", tables repaired" : "");
	if (c->tables_repaired)
		snprintf(buf + strlen(buf), len - strlen(buf), " %u", c->tables_repaired);
	if (c->deletes_held)
		snprintf(buf + strlen(buf), len - strlen(buf), ", %u deletes held",
			 c->deletes_held);
	return buf;
}

static __u32 active_count(const struct xlb_plan_vip *v)
{
	__u32 n = 0;
	size_t i;

	for (i = 0; i < v->nr_backends; i++)
		n += v->backends[i].state == XLB_BE_ACTIVE;
	return n;
}

/* Counts backends added, changed (state or weight) and removed between two sorted sets. */
static void be_diff(const struct xlb_plan_vip *cur, const struct xlb_plan_vip *want,
		    struct xlb_plan_op *op)
{
	size_t i = 0, j = 0;
	int r;

	while (i < cur->nr_backends || j < want->nr_backends) {
		if (i == cur->nr_backends)
			r = 1;
		else if (j == want->nr_backends)
			r = -1;
		else
			r = xlb_plan_backend_cmp(&cur->backends[i], &want->backends[j]);
		if (r < 0) {
			op->be_remove++;
			i++;
		} else if (r > 0) {
			op->be_add++;
			j++;
		} else {
			if (cur->backends[i].state != want->backends[j].state ||
			    cur->backends[i].weight != want->backends[j].weight ||
			    cur->backends[i].agent_family != want->backends[j].agent_family ||
			    memcmp(&cur->backends[i].agent, &want->backends[j].agent,
				   sizeof(cur->backends[i].agent)))
				op->be_change++;
			i++;
			j++;
		}
	}
}

static int op_push(struct xlb_plan *plan, size_t *cap, const struct xlb_plan_op *op)
{
	struct xlb_plan_op *n;

	if (plan->nr_ops == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		n = realloc(plan->ops, *cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		plan->ops = n;
	}
	plan->ops[plan->nr_ops++] = *op;
	return 0;
}

int xlb_plan_diff(const struct xlb_plan_state *cur, const struct xlb_plan_state *want,
		  bool allow_delete, struct xlb_plan *plan)
{
	struct xlb_plan_counts *c = &plan->counts;
	size_t i, j, cap = 0;
	int r, err = 0;

	memset(plan, 0, sizeof(*plan));
	/*
	 * Two passes over the merge: deletes first, so the backend slots and VIP ids
	 * they free are there for the creates that follow.
	 */
	for (int pass = 0; pass < 2 && !err; pass++) {
		i = j = 0;
		while (!err && (i < cur->nr_vips || j < want->nr_vips)) {
			struct xlb_plan_op op = {};

			if (i == cur->nr_vips)
				r = 1;
			else if (j == want->nr_vips)
				r = -1;
			else
				r = xlb_vip_key_cmp(&cur->vips[i].key, &want->vips[j].key);
			if (r < 0) {
				if (pass == 0 && allow_delete) {
					op.kind = XLB_PLAN_OP_DELETE;
					op.key = cur->vips[i].key;
					op.be_remove = cur->vips[i].nr_backends;
					c->vips_deleted++;
					c->backends_removed += op.be_remove;
					err = op_push(plan, &cap, &op);
				} else if (pass == 0) {
					c->deletes_held++;
				}
				i++;
				continue;
			}
			if (pass == 0) {
				i += r == 0;
				j++;
				continue;
			}
			op.key = want->vips[j].key;
			op.want = &want->vips[j];
			if (r > 0) {
				op.kind = XLB_PLAN_OP_CREATE;
				op.what = XLB_PLAN_W_FLAGS | XLB_PLAN_W_BACKENDS;
				op.be_add = want->vips[j].nr_backends;
				c->vips_created++;
				c->backends_added += op.be_add;
				/* A new VIP id starts with empty names: write only real ones. */
				if (want->vips[j].name[0] || want->vips[j].app[0]) {
					op.what |= XLB_PLAN_W_META;
					c->vips_meta++;
				}
				err = op_push(plan, &cap, &op);
				j++;
				continue;
			}
			op.kind = XLB_PLAN_OP_UPDATE;
			if (cur->vips[i].flags != want->vips[j].flags ||
			    cur->vips[i].mode != want->vips[j].mode) {
				op.what |= XLB_PLAN_W_FLAGS;
				c->vips_flags++;
			}
			if (strncmp(cur->vips[i].name, want->vips[j].name, XLB_META_NAME_LEN) ||
			    strncmp(cur->vips[i].app, want->vips[j].app, XLB_META_APP_LEN)) {
				op.what |= XLB_PLAN_W_META;
				c->vips_meta++;
			}
			be_diff(&cur->vips[i], &want->vips[j], &op);
			if (op.be_add || op.be_change || op.be_remove) {
				op.what |= XLB_PLAN_W_BACKENDS;
				c->backends_added += op.be_add;
				c->backends_changed += op.be_change;
				c->backends_removed += op.be_remove;
			} else if (cur->vips[i].source == XLB_PLAN_SRC_MAPS) {
				/*
				 * Same backends: the table is right unless a write was cut
				 * short. Its size is the cheap witness (reading every slot
				 * of every VIP on each start would cost millions of calls).
				 */
				__u32 nact = active_count(&want->vips[j]);
				__u32 size = nact ? xlb_maglev_size(nact) : 0;

				if (cur->vips[i].table_size != size) {
					op.what |= XLB_PLAN_W_TABLE;
					c->tables_repaired++;
				}
			}
			if (op.what)
				err = op_push(plan, &cap, &op);
			i++;
			j++;
		}
	}
	if (err)
		xlb_plan_free(plan);
	return err;
}

void xlb_plan_free(struct xlb_plan *plan)
{
	free(plan->ops);
	memset(plan, 0, sizeof(*plan));
}

static int apply_backends(struct xlb_dp *dp, const struct xlb_plan_vip *v)
{
	struct xlb_backend_spec *specs = NULL;
	size_t i;
	int err;

	if (v->nr_backends) {
		specs = calloc(v->nr_backends, sizeof(*specs));
		if (!specs)
			return -ENOMEM;
	}
	for (i = 0; i < v->nr_backends; i++) {
		specs[i].addr = v->backends[i].addr;
		specs[i].port = v->backends[i].port;
		specs[i].family = v->backends[i].family;
		specs[i].state = v->backends[i].state;
		specs[i].weight = v->backends[i].weight;
		specs[i].agent = v->backends[i].agent;
		specs[i].agent_family = v->backends[i].agent_family;
	}
	err = xlb_vip_set_backends(dp, &v->key, specs, v->nr_backends);
	free(specs);
	return err;
}

/*
 * A table of the wrong size behind the right backends (a write cut short):
 * dp.c compares the table it builds with the live one it reads back and swaps
 * only when they differ, so setting the same backends again is the repair, and
 * it keeps every backend id and flow.
 */
static int repair_table(struct xlb_dp *dp, const struct xlb_plan_vip *v)
{
	return apply_backends(dp, v);
}

int xlb_plan_apply(struct xlb_dp *dp, const struct xlb_plan *plan)
{
	char ks[80];
	int failed = 0, err;
	size_t i;

	/* New VIPs' first tables go live together at the end: one RCU grace period, not one each. */
	xlb_dp_batch_begin(dp);
	for (i = 0; i < plan->nr_ops; i++) {
		const struct xlb_plan_op *op = &plan->ops[i];
		const struct xlb_plan_vip *v = op->want;
		__u32 id;

		err = 0;
		switch (op->kind) {
		case XLB_PLAN_OP_DELETE:
			err = xlb_vip_delete(dp, &op->key);
			if (err == -ENOENT)
				err = 0;
			if (!err)
				pr_debug("vip %s: deleted",
					 xlb_vip_key_str(&op->key, ks, sizeof(ks)));
			break;
		case XLB_PLAN_OP_CREATE:
		case XLB_PLAN_OP_UPDATE:
			if (op->kind == XLB_PLAN_OP_CREATE || (op->what & XLB_PLAN_W_FLAGS) ||
			    (op->what & XLB_PLAN_W_META))
				err = xlb_vip_put(dp, &v->key, v->flags, &id);
			/* Before the backends: a new VIP's first flows are already in its mode. */
			if (!err && (op->kind == XLB_PLAN_OP_CREATE || (op->what & XLB_PLAN_W_FLAGS)))
				err = xlb_vip_set_mode(dp, &v->key, v->mode);
			if (!err && (op->what & XLB_PLAN_W_META)) {
				err = xlb_vip_meta_set(dp, id, v->name, v->app);
				if (err)
					pr_err("vip %s: write names: %s",
					       xlb_vip_key_str(&v->key, ks, sizeof(ks)),
					       strerror(-err));
			}
			if (!err && (op->what & XLB_PLAN_W_BACKENDS))
				err = apply_backends(dp, v);
			else if (!err && (op->what & XLB_PLAN_W_TABLE))
				err = repair_table(dp, v);
			if (!err)
				pr_debug("vip %s: %s (%zu backends: +%u ~%u -%u)",
					 xlb_vip_key_str(&v->key, ks, sizeof(ks)),
					 op->kind == XLB_PLAN_OP_CREATE ? "created" : "updated",
					 v->nr_backends, op->be_add, op->be_change, op->be_remove);
			break;
		}
		if (err)
			failed++;
		if (err == -ENOMEM) {
			xlb_dp_batch_end(dp);
			return err;
		}
	}
	if (xlb_dp_batch_end(dp))
		failed++;
	return failed;
}

/* The backends of the VIPs being read, tagged with their VIP's index. */
struct state_read {
	const struct xlb_reader *r;
	__u32 *pos; /* vip id -> index in vips + 1 */
	__u32 max_vips;
	struct state_be {
		size_t vip;
		struct xlb_plan_backend b;
	} *bes;
	size_t nbes, cap;
};

static int state_be_add(void *ctx, __u32 id, const struct xlb_backend *be)
{
	struct state_read *sr = ctx;
	struct xlb_dsr_agent ag;
	struct state_be *e;

	if (!id || be->vip_id >= sr->max_vips || !sr->pos[be->vip_id])
		return 0; /* its VIP is gone: adopting the maps frees it */
	if (sr->nbes == sr->cap) {
		size_t cap = sr->cap ? sr->cap * 2 : 256;

		e = realloc(sr->bes, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		sr->bes = e;
		sr->cap = cap;
	}
	e = &sr->bes[sr->nbes++];
	memset(e, 0, sizeof(*e));
	e->vip = sr->pos[be->vip_id] - 1;
	e->b.addr = be->addr;
	e->b.port = be->port;
	e->b.family = be->family;
	e->b.state = be->state;
	e->b.weight = be->weight;
	if (!xlb_reader_dsr_agent(sr->r, id, &ag) && ag.family) {
		e->b.agent = ag.addr;
		e->b.agent_family = ag.family;
	}
	return 0;
}

static int state_be_cmp(const void *a, const void *b)
{
	const struct state_be *x = a, *y = b;

	return x->vip < y->vip ? -1 : x->vip > y->vip;
}

/* A VIP as the planner sees it: key, flags, names, live table size, its backends. */
static int state_vip_add(struct state_read *sr, const struct xlb_vip_entry *e,
			 const struct state_be *bes, size_t n, struct xlb_plan_state *out)
{
	struct xlb_vip_meta meta;
	struct xlb_plan_vip v;
	size_t i;
	int err;

	memset(&v, 0, sizeof(v));
	v.key = e->key;
	v.flags = e->vip.flags;
	v.mode = e->vip.mode;
	v.table_size = e->vip.table_size;
	v.source = XLB_PLAN_SRC_MAPS;
	if (!xlb_reader_vip_meta(sr->r, e->vip.vip_id, &meta)) {
		memcpy(v.name, meta.name, sizeof(v.name));
		memcpy(v.app, meta.app, sizeof(v.app));
		v.name[sizeof(v.name) - 1] = '\0';
		v.app[sizeof(v.app) - 1] = '\0';
	}
	v.backends = calloc(n ? n : 1, sizeof(*v.backends));
	if (!v.backends)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v.backends[v.nr_backends++] = bes[i].b;
	err = xlb_plan_state_add(out, &v);
	free(v.backends);
	return err;
}

int xlb_plan_state_read(const struct xlb_dp *dp, struct xlb_plan_state *out)
{
	struct state_read sr = { .r = xlb_dp_reader(dp) };
	struct xlb_vip_entry *vips = NULL;
	size_t nv = 0, i, j = 0, k;
	char msg[160];
	int err;

	xlb_plan_state_init(out);
	sr.max_vips = xlb_reader_max_entries(sr.r, XLB_M_VIPS);
	err = xlb_reader_vips(sr.r, &vips, &nv);
	if (err)
		return err;
	sr.pos = calloc(sr.max_vips ? sr.max_vips : 1, sizeof(*sr.pos));
	if (!sr.pos) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < nv; i++)
		if (vips[i].vip.vip_id < sr.max_vips && !sr.pos[vips[i].vip.vip_id])
			sr.pos[vips[i].vip.vip_id] = i + 1;
	err = xlb_reader_backend_walk(sr.r, state_be_add, &sr);
	if (err)
		goto cleanup;
	if (sr.nbes)
		qsort(sr.bes, sr.nbes, sizeof(*sr.bes), state_be_cmp);
	for (i = 0; i < nv && !err; i++) {
		for (k = j; k < sr.nbes && sr.bes[k].vip == i; k++)
			;
		err = state_vip_add(&sr, &vips[i], sr.bes + j, k - j, out);
		j = k;
	}
	if (err)
		goto cleanup;
	err = xlb_plan_state_finish(out, msg, sizeof(msg));
	if (err) {
		/* Two slots for one endpoint cannot come from dp.c; say so and go on. */
		pr_warn("maps under %s: %s", xlb_dp_pin_path(dp), msg);
		err = 0;
	}
cleanup:
	free(vips);
	free(sr.pos);
	free(sr.bes);
	if (err)
		xlb_plan_state_free(out);
	return err;
}

static bool key_in(const struct xlb_plan_state *st, const struct xlb_vip_key *k)
{
	return xlb_plan_state_find(st, k) != NULL;
}

enum xlb_plan_verdict xlb_plan_guard_check(struct xlb_plan_guard *g,
					   const struct xlb_plan_guard_opts *o,
					   const struct xlb_plan_state *cur,
					   const struct xlb_plan_state *want, char *why,
					   size_t whylen)
{
	size_t i, removed = 0;
	bool suspicious = false;

	for (i = 0; i < cur->nr_vips; i++)
		removed += !key_in(want, &cur->vips[i].key);
	if (cur->nr_vips && !want->nr_vips) {
		snprintf(why, whylen, "no services at all, while %zu VIPs are programmed",
			 cur->nr_vips);
		suspicious = true;
	} else if (cur->nr_vips >= o->min_vips && cur->nr_vips &&
		   (double)removed > o->max_remove_fraction * (double)cur->nr_vips) {
		snprintf(why, whylen, "would remove %zu of %zu VIPs (%.0f%%, limit %.0f%%)",
			 removed, cur->nr_vips, 100.0 * (double)removed / (double)cur->nr_vips,
			 100.0 * o->max_remove_fraction);
		suspicious = true;
	}
	if (!suspicious) {
		g->streak = 0;
		return XLB_PLAN_APPLY;
	}
	g->streak++;
	if (g->streak >= (o->confirm_syncs ? o->confirm_syncs : 1)) {
		g->streak = 0;
		return XLB_PLAN_APPLY_CONFIRMED;
	}
	return XLB_PLAN_HOLD;
}
