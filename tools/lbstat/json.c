// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The JSON views: one object per sample, compact on one line (-j, so watch
 * mode is newline-delimited JSON) or indented (-p), built once and printed by
 * one call so the two can only differ in whitespace. Keys are snake_case with
 * the unit in the name; counters are raw integers; rates ("rate_*_per_s") and
 * shares ("*_percent") are the only non-integers, rounded to 3 decimals, and
 * appear only when there is a previous sample to measure against.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "addr.h"
#include "lbstat.h"
#include "names.h"

static size_t dump_flags(bool pretty)
{
	/* 15 significant digits: enough for any counter rate, no binary noise (0.1 stays 0.1). */
	return (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(15);
}

static void set_u64(json_t *o, const char *k, __u64 v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

static json_t *real3(double v)
{
	return json_real(round(v * 1000) / 1000);
}

/* "rate_<key>_per_s", only when the rate is known. */
static void set_rate(json_t *o, const char *key, double r)
{
	char k[64];

	if (r < 0)
		return;
	snprintf(k, sizeof(k), "rate_%s_per_s", key);
	json_object_set_new(o, k, real3(r));
}

static void set_addr(json_t *o, const union xlb_addr *a, __u8 family, __be16 port)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family == XLB_AF_INET6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf));
	set_str(o, "address", buf);
	set_u64(o, "port", ntohs(port));
	set_str(o, "family", family == XLB_AF_INET6 ? "ipv6" : "ipv4");
}

static json_t *backend_obj(const struct lbs_sample *s, const struct lbs_be *b)
{
	json_t *o = json_object();
	char ep[INET6_ADDRSTRLEN + 16];
	double share = lbs_be_share(s, b);
	unsigned int i;

	set_str(o, "backend", xlb_endpoint_str(&b->be.addr, b->be.port, b->be.family, ep,
					       sizeof(ep)));
	set_addr(o, &b->be.addr, b->be.family, b->be.port);
	set_u64(o, "backend_id", b->id);
	set_u64(o, "generation", b->be.gen);
	set_str(o, "state", xlb_backend_state_name(b->be.state));
	set_u64(o, "weight", b->be.weight);
	if (share >= 0)
		json_object_set_new(o, "share_new_flows_percent", real3(share));
	for (i = 0; i < LBS_C_BACKEND_MAX; i++)
		set_u64(o, lbs_ctr_key[i], b->c[i]);
	for (i = 0; i < LBS_C_BACKEND_MAX; i++)
		set_rate(o, lbs_ctr_key[i], lbs_be_rate(s, b, i));
	return o;
}

static json_t *vip_obj(const struct lbs_sample *s, const struct lbs_vip *v,
		       const struct lbs_opts *o, size_t *bo)
{
	json_t *j = json_object(), *drops, *rdrops, *bes;
	char name[INET6_ADDRSTRLEN + 24];
	unsigned int i;
	size_t k;

	set_str(j, "vip", xlb_vip_key_str(&v->key, name, sizeof(name)));
	set_addr(j, &v->key.addr, v->key.family, v->key.port);
	set_str(j, "protocol", lbs_proto_name(v->key.proto));
	set_u64(j, "vip_id", v->vip.vip_id);
	set_str(j, "mode", xlb_mode_name(v->vip.mode));
	set_str(j, "no_backend_policy",
		v->vip.flags & XLB_VIP_F_DROP_NO_BACKEND ? "drop" : "reject");
	set_u64(j, "table_size", v->vip.table_size);
	set_str(j, "name", v->meta.name);
	set_str(j, "app", v->meta.app);
	set_u64(j, "backends_active", v->n_active);
	set_u64(j, "backends_draining", v->n_draining);
	for (i = 0; i < LBS_C_DROPS; i++)
		set_u64(j, lbs_ctr_key[i], v->c[i]);
	drops = json_object();
	for (i = 0; i < XLB_VIP_DROP_MAX; i++)
		set_u64(drops, xlb_vip_drop_name(i), v->c[LBS_C_DROPS + i]);
	json_object_set_new(j, "drops", drops);
	set_u64(j, "drops_total", v->drops);
	for (i = 0; i < LBS_C_DROPS; i++)
		set_rate(j, lbs_ctr_key[i], lbs_vip_rate(s, v, i));
	if (lbs_vip_drop_rate(s, v) >= 0) {
		rdrops = json_object();
		for (i = 0; i < XLB_VIP_DROP_MAX; i++)
			json_object_set_new(rdrops, xlb_vip_drop_name(i),
					    real3(lbs_vip_rate(s, v, LBS_C_DROPS + i)));
		json_object_set_new(j, "rate_drops_per_s", rdrops);
		set_rate(j, "drops_total", lbs_vip_drop_rate(s, v));
	}
	if (o->view == LBS_VIEW_BACKENDS) {
		bes = json_array();
		lbs_be_order(s, v, o, bo);
		for (k = 0; k < v->n_be; k++)
			json_array_append_new(bes, backend_obj(s, &s->bes[bo[k]]));
		json_object_set_new(j, "backends", bes);
	}
	return j;
}

static void add_global(json_t *root, const struct lbs_sample *s)
{
	json_t *c = json_object(), *r = json_object(), *ct;
	unsigned int i;

	for (i = 0; i < XLB_CNT_MAX; i++)
		set_u64(c, xlb_counter_name(i), s->global.c[i]);
	json_object_set_new(root, "counters", c);
	if (s->prev) {
		for (i = 0; i < XLB_CNT_MAX; i++)
			if (lbs_global_rate(s, i) >= 0)
				json_object_set_new(r, xlb_counter_name(i),
						    real3(lbs_global_rate(s, i)));
		json_object_set_new(root, "rate_counters_per_s", r);
	} else {
		json_decref(r);
	}
	if (s->ct.counted) {
		ct = json_object();
		for (i = 0; i < LBS_FAMILIES; i++) {
			const struct lbs_ct_table *t = &s->ct.t[i];
			json_t *tj = json_object();

			set_u64(tj, "entries", t->entries);
			set_u64(tj, "flows", t->flows);
			set_u64(tj, "max_entries", t->max_entries);
			set_u64(tj, "memory_bytes", t->memlock);
			json_object_set_new(ct, lbs_family_key[i], tj);
		}
		set_u64(ct, "entries", s->ct.entries);
		set_u64(ct, "flows", s->ct.flows);
		set_u64(ct, "max_entries", s->ct.max_entries);
		/* Rounded to a byte: a size, not a rate, so an integer like the others. */
		set_u64(ct, "bytes_per_flow", (__u64)llround(s->ct.bytes_per_flow));
		json_object_set_new(ct, "complete", json_boolean(s->ct.complete));
		set_u64(ct, "walk_ns", s->ct.walk_ns);
		json_object_set_new(root, "conntrack", ct);
	}
}

/* The budgets the programs use now (0: no limit), in every view: one array read. */
static void add_flood(json_t *root, const struct lbs_sample *s)
{
	json_t *fl;

	if (!s->have_config)
		return;
	fl = json_object();
	set_u64(fl, "new_per_cpu", s->config.new_per_cpu);
	set_u64(fl, "new_per_vip", s->config.new_per_vip);
	json_object_set_new(root, "flood", fl);
}

int lbs_json_print(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o)
{
	json_t *root = json_object(), *vips;
	size_t *order = NULL, *bo = NULL, n, i;
	int err = 0;

	set_u64(root, "timestamp_ns", s->real_ns);
	set_u64(root, "interval_ns", s->prev ? s->interval_ns : 0);
	set_str(root, "pin_path", s->pin_path);
	set_str(root, "view", lbs_view_name(o->view));
	set_u64(root, "vips_total", s->nvips);
	set_u64(root, "backends_total", s->nbes);
	add_flood(root, s);
	if (o->view == LBS_VIEW_GLOBAL) {
		add_global(root, s);
	} else {
		n = lbs_vip_order(s, o, &order);
		bo = calloc(s->nbes ? s->nbes : 1, sizeof(*bo));
		if (!order || !bo) {
			err = -1;
			goto out;
		}
		vips = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(vips, vip_obj(s, &s->vips[order[i]], o, bo));
		json_object_set_new(root, "vips", vips);
	}
	err = json_dumpf(root, f, dump_flags(o->pretty));
	fputc('\n', f);
out:
	free(order);
	free(bo);
	json_decref(root);
	return err;
}

void lbs_json_error(FILE *f, const char *msg, bool pretty)
{
	json_t *o = json_object();

	set_str(o, "error", msg);
	json_dumpf(o, f, dump_flags(pretty));
	fputc('\n', f);
	json_decref(o);
}

void lbs_json_version(FILE *f, bool pretty)
{
	json_t *o = json_object();

	set_str(o, "version", XLB_VERSION);
	set_u64(o, "abi_version", XLB_ABI_VERSION);
	json_dumpf(o, f, dump_flags(pretty));
	fputc('\n', f);
	json_decref(o);
}
