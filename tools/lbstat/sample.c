// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A sample of the data plane: VIPs, names, backends and counters read at one
 * instant through libxlb's read side (dp_read.h), which opens every map
 * read-only, holds it to the ABI's layout and walks it in batches where the
 * kernel has them. Rates are differences between two samples over the
 * monotonic time between them; a VIP or backend whose identity changed or
 * whose counters went down (recreated in between) gets no rate rather than a
 * wrong one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "lbstat.h"

_Static_assert(sizeof(struct xlb_vip_stats) == LBS_C_VIP_MAX * sizeof(__u64), "vip stats");
_Static_assert(sizeof(struct xlb_backend_stats) == LBS_C_BACKEND_MAX * sizeof(__u64),
	       "backend stats");
_Static_assert(offsetof(struct xlb_vip_stats, new_flows) == LBS_C_NEW_FLOWS * 8, "vip new_flows");
_Static_assert(offsetof(struct xlb_vip_stats, rejected) == LBS_C_REJECTED * 8, "vip rejected");
_Static_assert(offsetof(struct xlb_vip_stats, stateless) == LBS_C_STATELESS * 8, "vip stateless");
_Static_assert(offsetof(struct xlb_vip_stats, drops) == LBS_C_DROPS * 8, "vip drops");
_Static_assert(offsetof(struct xlb_backend_stats, new_flows) == LBS_C_NEW_FLOWS * 8,
	       "backend new_flows");

const char *const lbs_ctr_key[LBS_C_DROPS] = {
	[LBS_C_PKTS_IN] = "packets_in",	  [LBS_C_BYTES_IN] = "bytes_in",
	[LBS_C_PKTS_OUT] = "packets_out", [LBS_C_BYTES_OUT] = "bytes_out",
	[LBS_C_NEW_FLOWS] = "new_flows",  [LBS_C_REJECTED] = "rejected",
	[LBS_C_STATELESS] = "stateless",
};

const char *const lbs_family_key[LBS_FAMILIES] = { [LBS_IPV4] = "ipv4", [LBS_IPV6] = "ipv6" };

__u64 lbs_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * LBS_NSEC_PER_SEC + ts.tv_nsec;
}

/* Set by the tests (LBSTAT_NO_BATCH=1) to exercise the one-element-at-a-time path. */
static bool no_batch(void)
{
	const char *e = getenv("LBSTAT_NO_BATCH");

	return e && *e && strcmp(e, "0");
}

int lbs_maps_open(struct xlb_reader **r, const char *pin_path, char *err, size_t errlen)
{
	struct xlb_reader_opts o = {
		.pin_path = pin_path,
		.user = "lbstat",
		.flags = no_batch() ? XLB_READER_NO_BATCH : 0,
	};

	return xlb_reader_open(r, &o, err, errlen);
}

struct vip_walk {
	struct lbs_sample *s;
	size_t cap;
	__u32 max_vips;
};

static int vip_add(void *ctx, const struct xlb_vip_key *key, const struct xlb_vip *vip)
{
	struct vip_walk *w = ctx;
	struct lbs_vip *v;

	if (!vip->vip_id || vip->vip_id >= w->max_vips)
		return 0;
	if (w->s->nvips == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;

		v = realloc(w->s->vips, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->s->vips = v;
		w->cap = cap;
	}
	v = &w->s->vips[w->s->nvips++];
	memset(v, 0, sizeof(*v));
	v->key = *key;
	v->vip = *vip;
	return 0;
}

static int cmp_vip_id(const void *a, const void *b)
{
	const struct lbs_vip *x = a, *y = b;

	return x->vip.vip_id < y->vip.vip_id ? -1 : x->vip.vip_id > y->vip.vip_id;
}

static const struct lbs_vip *vip_by_id(const struct lbs_sample *s, __u32 id)
{
	struct lbs_vip k = { .vip.vip_id = id };

	if (!s->nvips)
		return NULL;
	return bsearch(&k, s->vips, s->nvips, sizeof(k), cmp_vip_id);
}

struct be_walk {
	struct lbs_sample *s;
	size_t cap;
};

static int be_add(void *ctx, __u32 id, const struct xlb_backend *be)
{
	struct be_walk *w = ctx;
	const struct lbs_vip *v;
	struct lbs_be *b;

	v = vip_by_id(w->s, be->vip_id);
	if (!v)
		return 0; /* its VIP went away, or came after we read the VIPs */
	if (w->s->nbes == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;

		b = realloc(w->s->bes, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		w->s->bes = b;
		w->cap = cap;
	}
	b = &w->s->bes[w->s->nbes++];
	memset(b, 0, sizeof(*b));
	b->id = id;
	b->be = *be;
	b->vip = v - w->s->vips;
	return 0;
}

static int cmp_be_id(const void *a, const void *b)
{
	const struct lbs_be *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Names come from a map anyone with write access can fill: escape sequences
 * would reach the operator's terminal and bytes that are not UTF-8 would break
 * JSON. Names and app ids are ASCII, so anything else becomes '?'.
 */
static void meta_sanitize(char *s, size_t len)
{
	size_t i;

	s[len - 1] = '\0';
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
}

/* Groups backend indexes by VIP (a counting sort), keeping ascending ids inside a group. */
static int group_backends(struct lbs_sample *s)
{
	size_t i, *pos;

	s->be_by_vip = calloc(s->nbes ? s->nbes : 1, sizeof(*s->be_by_vip));
	pos = calloc(s->nvips + 1, sizeof(*pos));
	if (!s->be_by_vip || !pos) {
		free(pos);
		return -ENOMEM;
	}
	for (i = 0; i < s->nbes; i++)
		pos[s->bes[i].vip + 1]++;
	for (i = 0; i < s->nvips; i++) {
		pos[i + 1] += pos[i];
		s->vips[i].be = s->be_by_vip + pos[i];
	}
	for (i = 0; i < s->nbes; i++) {
		struct lbs_vip *v = &s->vips[s->bes[i].vip];

		v->be[v->n_be++] = i;
		if (s->bes[i].be.state == XLB_BE_ACTIVE)
			v->n_active++;
		else
			v->n_draining++;
	}
	free(pos);
	return 0;
}

/* The VIPs, ascending id, each once. */
static int vips_read(const struct xlb_reader *r, struct lbs_sample *s, char *err, size_t errlen)
{
	struct vip_walk vw = { .s = s, .max_vips = xlb_reader_max_entries(r, XLB_M_VIP_STATS) };
	size_t i, j;
	int e;

	e = xlb_reader_vip_walk(r, vip_add, &vw);
	if (e < 0) {
		snprintf(err, errlen, "map %s/%s: read: %s", s->pin_path, XLB_MAP_VIPS,
			 strerror(-e));
		return e;
	}
	if (s->nvips) /* qsort and bsearch want a base even for nothing */
		qsort(s->vips, s->nvips, sizeof(*s->vips), cmp_vip_id);
	/* A walk restarted by a concurrent delete may have seen a VIP twice. */
	for (i = j = 0; i < s->nvips; i++)
		if (!j || s->vips[j - 1].vip.vip_id != s->vips[i].vip.vip_id)
			s->vips[j++] = s->vips[i];
	s->nvips = j;
	return 0;
}

/* The backends of those VIPs, ascending id, grouped by VIP. */
static int backends_read(const struct xlb_reader *r, struct lbs_sample *s, char *err,
			 size_t errlen)
{
	struct be_walk bw = { .s = s };
	int e;

	e = xlb_reader_backend_walk(r, be_add, &bw);
	if (e < 0) {
		snprintf(err, errlen, "map %s/%s: read: %s", s->pin_path, XLB_MAP_BACKENDS,
			 strerror(-e));
		return e;
	}
	if (s->nbes)
		qsort(s->bes, s->nbes, sizeof(*s->bes), cmp_be_id);
	e = group_backends(s);
	if (e)
		snprintf(err, errlen, "out of memory");
	return e;
}

/* Counters (summed over CPUs) and names of every VIP and backend, and the global ones. */
static int counters_read(const struct xlb_reader *r, struct lbs_sample *s, char *err,
			 size_t errlen)
{
	struct xlb_backend_stats bst;
	struct xlb_vip_stats vst;
	size_t i, j;
	int e;

	for (i = 0; i < s->nvips; i++) {
		struct lbs_vip *v = &s->vips[i];

		e = xlb_reader_vip_stats(r, v->vip.vip_id, &vst);
		if (e) {
			snprintf(err, errlen, "map %s/%s: read vip id %u: %s", s->pin_path,
				 XLB_MAP_VIP_STATS, v->vip.vip_id, strerror(-e));
			return e;
		}
		memcpy(v->c, &vst, sizeof(v->c));
		for (j = 0; j < XLB_VIP_DROP_MAX; j++)
			v->drops += v->c[LBS_C_DROPS + j];
		if (s->have_meta && !xlb_reader_vip_meta(r, v->vip.vip_id, &v->meta)) {
			meta_sanitize(v->meta.name, sizeof(v->meta.name));
			meta_sanitize(v->meta.app, sizeof(v->meta.app));
		}
	}
	for (i = 0; i < s->nbes; i++) {
		e = xlb_reader_backend_stats(r, s->bes[i].id, &bst);
		if (e) {
			snprintf(err, errlen, "map %s/%s: read backend id %u: %s", s->pin_path,
				 XLB_MAP_BACKEND_STATS, s->bes[i].id, strerror(-e));
			return e;
		}
		memcpy(s->bes[i].c, &bst, sizeof(s->bes[i].c));
	}
	e = xlb_reader_stats(r, &s->global);
	if (e)
		snprintf(err, errlen, "map %s/%s: read: %s", s->pin_path, XLB_MAP_STATS,
			 strerror(-e));
	return e;
}

int lbs_sample_read(const struct xlb_reader *r, struct lbs_sample *s, char *err, size_t errlen)
{
	int e;

	memset(s, 0, sizeof(*s));
	snprintf(s->pin_path, sizeof(s->pin_path), "%s", xlb_reader_pin_path(r));
	s->mono_ns = lbs_now_ns(CLOCK_MONOTONIC);
	s->real_ns = lbs_now_ns(CLOCK_REALTIME);
	s->have_meta = xlb_reader_map_fd(r, XLB_M_VIP_META) >= 0;
	s->have_config = !xlb_reader_config(r, &s->config);
	e = vips_read(r, s, err, errlen) ?: backends_read(r, s, err, errlen) ?:
	    counters_read(r, s, err, errlen);
	if (e)
		lbs_sample_free(s);
	return e;
}

static int ct_add(void *ctx, const struct xlb_flow_key *fk, const struct xlb_ct_entry *entry)
{
	struct lbs_ct *ct = ctx;
	struct lbs_ct_table *t = &ct->t[fk->family == XLB_AF_INET6 ? LBS_IPV6 : LBS_IPV4];

	(void)entry;
	t->entries++;
	if (fk->dir == XLB_DIR_ORIG)
		t->flows++;
	return 0;
}

/*
 * Kernel memory per flow: each table's memory per slot (memlock over
 * max_entries: the kernel allocates every slot up front), times the entries in
 * use, over the flows they hold; a flow with a reply entry costs two entries.
 * With no flow yet, one slot of the IPv4 table.
 */
static double bytes_per_flow(const struct lbs_ct *ct)
{
	const struct lbs_ct_table *v4 = &ct->t[LBS_IPV4];
	double bytes = 0;
	size_t f;

	for (f = 0; f < LBS_FAMILIES; f++)
		if (ct->t[f].max_entries)
			bytes += (double)ct->t[f].memlock / ct->t[f].max_entries * ct->t[f].entries;
	if (ct->flows)
		return bytes / ct->flows;
	return v4->max_entries ? (double)v4->memlock / v4->max_entries : 0;
}

int lbs_ct_count(const struct xlb_reader *r, struct lbs_ct *ct, __u64 budget_ns, char *err,
		 size_t errlen)
{
	static const __u8 af[LBS_FAMILIES] = { [LBS_IPV4] = XLB_AF_INET,
					       [LBS_IPV6] = XLB_AF_INET6 };
	struct xlb_ct_table_info info;
	__u64 t0 = lbs_now_ns(CLOCK_MONOTONIC);
	size_t f;
	int e;

	memset(ct, 0, sizeof(*ct));
	for (f = 0; f < LBS_FAMILIES; f++) {
		if (xlb_reader_ct_info(r, af[f], &info))
			continue;
		ct->t[f].max_entries = info.max_entries;
		ct->t[f].memlock = info.memlock;
	}
	e = xlb_reader_ct_walk(r, ct_add, ct, budget_ns ? t0 + budget_ns : 0);
	if (e < 0) {
		snprintf(err, errlen, "map %s/%s: read: %s", xlb_reader_pin_path(r), XLB_MAP_CT4,
			 strerror(-e));
		return e;
	}
	for (f = 0; f < LBS_FAMILIES; f++) {
		struct lbs_ct_table *t = &ct->t[f];

		/* A walk restarted by concurrent evictions counts twice; never more than fits. */
		if (t->entries > t->max_entries)
			t->entries = t->max_entries;
		if (t->flows > t->entries)
			t->flows = t->entries;
		ct->entries += t->entries;
		ct->flows += t->flows;
		ct->max_entries += t->max_entries;
	}
	ct->bytes_per_flow = bytes_per_flow(ct);
	ct->counted = true;
	ct->complete = e == 0;
	ct->walk_ns = lbs_now_ns(CLOCK_MONOTONIC) - t0;
	return 0;
}

static bool ctrs_grew(const __u64 *cur, const __u64 *prev, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cur[i] < prev[i])
			return false;
	return true;
}

void lbs_sample_link(struct lbs_sample *cur, const struct lbs_sample *prev)
{
	size_t i;

	cur->prev = prev;
	cur->interval_ns = prev && cur->mono_ns > prev->mono_ns ? cur->mono_ns - prev->mono_ns : 0;
	if (!cur->interval_ns) {
		cur->prev = NULL;
		return;
	}
	for (i = 0; i < cur->nvips; i++) {
		struct lbs_vip *v = &cur->vips[i];
		const struct lbs_vip *p = vip_by_id(prev, v->vip.vip_id);

		if (p && !memcmp(&p->key, &v->key, sizeof(v->key)) &&
		    ctrs_grew(v->c, p->c, LBS_C_VIP_MAX))
			v->prev = p;
	}
	for (i = 0; i < cur->nbes; i++) {
		struct lbs_be *b = &cur->bes[i], k = { .id = b->id };
		const struct lbs_be *p = NULL;

		if (prev->nbes)
			p = bsearch(&k, prev->bes, prev->nbes, sizeof(k), cmp_be_id);
		if (p && p->be.gen == b->be.gen && p->be.vip_id == b->be.vip_id &&
		    ctrs_grew(b->c, p->c, LBS_C_BACKEND_MAX))
			b->prev = p;
	}
}

void lbs_sample_free(struct lbs_sample *s)
{
	if (!s)
		return;
	free(s->vips);
	free(s->bes);
	free(s->be_by_vip);
	s->vips = NULL;
	s->bes = NULL;
	s->be_by_vip = NULL;
	s->nvips = s->nbes = 0;
}

static double rate(const struct lbs_sample *s, __u64 cur, __u64 prev)
{
	return (double)(cur - prev) * LBS_NSEC_PER_SEC / s->interval_ns;
}

double lbs_vip_rate(const struct lbs_sample *s, const struct lbs_vip *v, unsigned int ctr)
{
	if (!s->prev || !v->prev || ctr >= LBS_C_VIP_MAX)
		return -1;
	return rate(s, v->c[ctr], v->prev->c[ctr]);
}

double lbs_vip_drop_rate(const struct lbs_sample *s, const struct lbs_vip *v)
{
	if (!s->prev || !v->prev)
		return -1;
	return rate(s, v->drops, v->prev->drops);
}

double lbs_be_rate(const struct lbs_sample *s, const struct lbs_be *b, unsigned int ctr)
{
	if (!s->prev || !b->prev || ctr >= LBS_C_BACKEND_MAX)
		return -1;
	return rate(s, b->c[ctr], b->prev->c[ctr]);
}

double lbs_global_rate(const struct lbs_sample *s, unsigned int ctr)
{
	if (!s->prev || ctr >= XLB_CNT_MAX || s->global.c[ctr] < s->prev->global.c[ctr])
		return -1;
	return rate(s, s->global.c[ctr], s->prev->global.c[ctr]);
}

double lbs_be_share(const struct lbs_sample *s, const struct lbs_be *b)
{
	__u64 all = s->vips[b->vip].c[LBS_C_NEW_FLOWS];

	if (!all)
		return -1;
	return 100.0 * b->c[LBS_C_NEW_FLOWS] / all;
}
