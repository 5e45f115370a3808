// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which VIPs and backends a view shows, and in what order: the --vip and --app
 * filters, and the sort keys. Every numeric key sorts by the rate over the
 * last interval when there is one and by the total otherwise, busiest first;
 * ties fall back to address order so a screen that redraws does not shuffle.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lbstat.h"

static const char *const sort_names[LBS_SORT_MAX] = {
	[LBS_SORT_VIP] = "vip",		[LBS_SORT_NAME] = "name",	[LBS_SORT_APP] = "app",
	[LBS_SORT_CONNS] = "conns",	[LBS_SORT_PPS] = "pps",		[LBS_SORT_BPS] = "bps",
	[LBS_SORT_PPS_OUT] = "pps_out", [LBS_SORT_BPS_OUT] = "bps_out", [LBS_SORT_DROPS] = "drops",
};

/* ipvsadm's column names, so its users can sort by what they read. */
static const struct {
	const char *alias;
	enum lbs_sort key;
} sort_aliases[] = {
	{ "cps", LBS_SORT_CONNS },	 { "inpps", LBS_SORT_PPS },	  { "inbps", LBS_SORT_BPS },
	{ "outpps", LBS_SORT_PPS_OUT }, { "outbps", LBS_SORT_BPS_OUT }, { "address", LBS_SORT_VIP },
};

static const char *const view_names[LBS_VIEW_MAX] = {
	[LBS_VIEW_VIPS] = "vips",
	[LBS_VIEW_BACKENDS] = "backends",
	[LBS_VIEW_GLOBAL] = "global",
};

const char *lbs_sort_name(enum lbs_sort k)
{
	return k < LBS_SORT_MAX ? sort_names[k] : "?";
}

int lbs_sort_parse(const char *s, enum lbs_sort *k)
{
	size_t i;

	for (i = 0; i < LBS_SORT_MAX; i++)
		if (!strcasecmp(s, sort_names[i])) {
			*k = i;
			return 0;
		}
	for (i = 0; i < sizeof(sort_aliases) / sizeof(sort_aliases[0]); i++)
		if (!strcasecmp(s, sort_aliases[i].alias)) {
			*k = sort_aliases[i].key;
			return 0;
		}
	return -EINVAL;
}

const char *lbs_view_name(enum lbs_view v)
{
	return v < LBS_VIEW_MAX ? view_names[v] : "?";
}

/* Unique prefixes are accepted, as bpftool accepts "prog" for "program". */
int lbs_view_parse(const char *s, enum lbs_view *v)
{
	size_t i, len = strlen(s);
	int found = -1;

	if (!len)
		return -EINVAL;
	for (i = 0; i < LBS_VIEW_MAX; i++)
		if (!strncmp(s, view_names[i], len)) {
			if (found >= 0)
				return -EINVAL;
			found = i;
		}
	if (found < 0)
		return -EINVAL;
	*v = found;
	return 0;
}

int lbs_vip_filter_parse(const char *s, struct lbs_vip_filter *f, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *rest = "", *end;
	unsigned long port;
	size_t hl;
	char *ep;

	memset(f, 0, sizeof(*f));
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':')) {
			snprintf(err, errlen, "--vip '%s': expected [IPv6] or [IPv6]:PORT[/PROTO]",
				 s);
			return -EINVAL;
		}
		hl = end - s - 1;
		memcpy(host, s + 1, hl < sizeof(host) ? hl : 0);
		rest = end[1] ? end + 2 : "";
		if (end[1] && !*rest) {
			snprintf(err, errlen, "--vip '%s': port missing after ':'", s);
			return -EINVAL;
		}
	} else {
		end = strchr(s, ':');
		/* More than one colon without brackets: a bare IPv6 address, no port. */
		if (end && strchr(end + 1, ':'))
			end = NULL;
		hl = end ? (size_t)(end - s) : strlen(s);
		if (end && !end[1]) {
			snprintf(err, errlen, "--vip '%s': port missing after ':'", s);
			return -EINVAL;
		}
		rest = end ? end + 1 : "";
		if (hl < sizeof(host))
			memcpy(host, s, hl);
	}
	if (hl >= sizeof(host) || !hl) {
		snprintf(err, errlen, "--vip '%s': expected ADDR[:PORT[/PROTO]]", s);
		return -EINVAL;
	}
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &f->addr.v4) == 1) {
		f->family = XLB_AF_INET;
	} else if (inet_pton(AF_INET6, host, &f->addr) == 1) {
		f->family = XLB_AF_INET6;
	} else {
		snprintf(err, errlen, "--vip '%s': '%s' is not an IPv4 or IPv6 address%s", s, host,
			 strchr(host, ':') && *s != '[' ? " (IPv6 with a port goes in brackets)"
							: "");
		return -EINVAL;
	}
	if (!*rest)
		return 0;
	errno = 0;
	port = strtoul(rest, &ep, 10);
	if (errno || ep == rest || port == 0 || port > 65535 || (*ep && *ep != '/') ||
	    *rest == '-' || *rest == '+') {
		snprintf(err, errlen, "--vip '%s': port must be 1-65535", s);
		return -EINVAL;
	}
	f->port = htons(port);
	if (!*ep)
		return 0;
	if (!strcasecmp(ep + 1, "tcp")) {
		f->proto = XLB_PROTO_TCP;
	} else if (!strcasecmp(ep + 1, "udp")) {
		f->proto = XLB_PROTO_UDP;
	} else {
		snprintf(err, errlen, "--vip '%s': protocol must be tcp or udp", s);
		return -EINVAL;
	}
	return 0;
}

static bool vip_filter_match(const struct lbs_vip_filter *f, const struct xlb_vip_key *k)
{
	return f->family == k->family && !memcmp(&f->addr, &k->addr, sizeof(f->addr)) &&
	       (!f->port || f->port == k->port) && (!f->proto || f->proto == k->proto);
}

/*
 * An app filter matches an app id equal to it or below it in Marathon's group
 * tree ("/prod" matches "/prod/web", not "/production"); the leading slash is
 * optional on both sides. A VIP claimed by several apps lists them with commas.
 */
static bool app_match_one(const char *filter, const char *app, size_t len)
{
	size_t fl;

	while (*filter == '/')
		filter++;
	while (len && *app == '/') {
		app++;
		len--;
	}
	fl = strlen(filter);
	while (fl && filter[fl - 1] == '/')
		fl--;
	if (!fl)
		return len > 0;
	if (len < fl || strncmp(app, filter, fl))
		return false;
	return len == fl || app[fl] == '/';
}

static bool app_filter_match(const char *filter, const char *apps)
{
	const char *p = apps, *end;
	size_t len;

	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		end = p + strcspn(p, ", ");
		len = end - p;
		if (len && app_match_one(filter, p, len))
			return true;
		p = end;
	}
	return false;
}

bool lbs_vip_shown(const struct lbs_opts *o, const struct lbs_vip *v)
{
	bool ok = !o->n_vip_filters;
	size_t i;

	for (i = 0; i < o->n_vip_filters && !ok; i++)
		ok = vip_filter_match(&o->vip_filters[i], &v->key);
	if (!ok)
		return false;
	ok = !o->n_app_filters;
	for (i = 0; i < o->n_app_filters && !ok; i++)
		ok = app_filter_match(o->app_filters[i], v->meta.app);
	return ok;
}

static int cmp_key(const struct xlb_vip_key *a, const struct xlb_vip_key *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(&a->addr, &b->addr, sizeof(a->addr));
	if (c)
		return c;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return a->proto < b->proto ? -1 : a->proto > b->proto;
}

/* Text keys sort empty strings last, whichever the direction. */
static int cmp_str(const char *a, const char *b)
{
	if (!*a != !*b)
		return *a ? -1 : 1;
	return strcmp(a, b);
}

static int cmp_num(double a, double b)
{
	return a > b ? -1 : a < b; /* busiest first */
}

static double vip_metric(const struct lbs_sample *s, const struct lbs_vip *v, enum lbs_sort k)
{
	unsigned int ctr;

	switch (k) {
	case LBS_SORT_CONNS:
		ctr = LBS_C_NEW_FLOWS;
		break;
	case LBS_SORT_PPS:
		ctr = LBS_C_PKTS_IN;
		break;
	case LBS_SORT_BPS:
		ctr = LBS_C_BYTES_IN;
		break;
	case LBS_SORT_PPS_OUT:
		ctr = LBS_C_PKTS_OUT;
		break;
	case LBS_SORT_BPS_OUT:
		ctr = LBS_C_BYTES_OUT;
		break;
	case LBS_SORT_DROPS:
		return s->prev ? lbs_vip_drop_rate(s, v) : (double)v->drops;
	default:
		return 0;
	}
	return s->prev ? lbs_vip_rate(s, v, ctr) : (double)v->c[ctr];
}

struct sort_ctx {
	const struct lbs_sample *s;
	const struct lbs_opts *o;
};

static int cmp_vips(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct lbs_vip *x = &c->s->vips[*(const size_t *)a];
	const struct lbs_vip *y = &c->s->vips[*(const size_t *)b];
	int r = 0;

	switch (c->o->sort) {
	case LBS_SORT_NAME:
		r = cmp_str(x->meta.name, y->meta.name);
		break;
	case LBS_SORT_APP:
		r = cmp_str(x->meta.app, y->meta.app);
		break;
	case LBS_SORT_VIP:
		break;
	default:
		r = cmp_num(vip_metric(c->s, x, c->o->sort), vip_metric(c->s, y, c->o->sort));
	}
	if (!r)
		r = cmp_key(&x->key, &y->key);
	return c->o->reverse ? -r : r;
}

size_t lbs_vip_order(const struct lbs_sample *s, const struct lbs_opts *o, size_t **order)
{
	struct sort_ctx c = { s, o };
	size_t i, n = 0;

	*order = calloc(s->nvips ? s->nvips : 1, sizeof(**order));
	if (!*order)
		return 0;
	for (i = 0; i < s->nvips; i++)
		if (lbs_vip_shown(o, &s->vips[i]))
			(*order)[n++] = i;
	qsort_r(*order, n, sizeof(**order), cmp_vips, &c);
	return n;
}

static int cmp_be_addr(const struct lbs_be *x, const struct lbs_be *y)
{
	int r = memcmp(&x->be.addr, &y->be.addr, sizeof(x->be.addr));

	if (r)
		return r;
	return ntohs(x->be.port) < ntohs(y->be.port) ? -1 : ntohs(x->be.port) > ntohs(y->be.port);
}

static int cmp_bes(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct lbs_be *x = &c->s->bes[*(const size_t *)a];
	const struct lbs_be *y = &c->s->bes[*(const size_t *)b];
	int ctr = -1, r = 0;

	switch (c->o->sort) {
	case LBS_SORT_CONNS:
		ctr = LBS_C_NEW_FLOWS;
		break;
	case LBS_SORT_PPS:
		ctr = LBS_C_PKTS_IN;
		break;
	case LBS_SORT_BPS:
		ctr = LBS_C_BYTES_IN;
		break;
	case LBS_SORT_PPS_OUT:
		ctr = LBS_C_PKTS_OUT;
		break;
	case LBS_SORT_BPS_OUT:
		ctr = LBS_C_BYTES_OUT;
		break;
	default: /* backends have no names or drops of their own: address order */
		break;
	}
	if (ctr >= 0)
		r = c->s->prev ? cmp_num(lbs_be_rate(c->s, x, ctr), lbs_be_rate(c->s, y, ctr))
			       : cmp_num(x->c[ctr], y->c[ctr]);
	if (!r)
		r = cmp_be_addr(x, y);
	return c->o->reverse ? -r : r;
}

void lbs_be_order(const struct lbs_sample *s, const struct lbs_vip *v, const struct lbs_opts *o,
		  size_t *order)
{
	struct sort_ctx c = { s, o };

	if (!v->n_be)
		return;
	memcpy(order, v->be, v->n_be * sizeof(*order));
	qsort_r(order, v->n_be, sizeof(*order), cmp_bes, &c);
}
