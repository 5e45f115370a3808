// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The text views, laid out like `ipvsadm -Ln --stats --rate` because that is
 * the table Linux load balancer operators already read: one row per VIP
 * (rates, then totals, with ipvsadm's column names), backends as "->" rows
 * under their VIP, and the global counters with what each one means. Columns
 * size themselves to their widest cell; numbers of 100000 and more are
 * shortened with SI suffixes (K, M, G: powers of 1000) unless -x asks for
 * every digit, and rates keep a decimal only below 100.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "lbstat.h"
#include "names.h"

#define CELL 160 /* a VIP name or app id is at most 127 bytes */

const char *lbs_proto_name(__u8 proto)
{
	return proto == XLB_PROTO_TCP ? "tcp" : proto == XLB_PROTO_UDP ? "udp" : "unknown";
}

static char *fmt_scaled(char *buf, double v)
{
	static const char sfx[] = "KMGTPE";
	int i = -1;

	while (v >= 999.95 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, CELL, "%.1f%c", v, sfx[i]);
	return buf;
}

/* Memory in binary units, as free(1) and the kernel's own figures are read. */
static char *fmt_bytes(char *buf, __u64 v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double x = v;
	int i = 0;

	if (!v) {
		snprintf(buf, CELL, "unknown");
		return buf;
	}
	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	snprintf(buf, CELL, i ? "%.1f %s" : "%.0f %s", x, unit[i]);
	return buf;
}

static char *fmt_count(char *buf, __u64 v, bool exact)
{
	if (exact || v < 100000)
		snprintf(buf, CELL, "%llu", (unsigned long long)v);
	else
		fmt_scaled(buf, v);
	return buf;
}

/* A tenth matters for a trickle (0.5 connections/s), not for thousands of bytes/s. */
static char *fmt_rate(char *buf, double r, bool exact)
{
	if (r < 0)
		snprintf(buf, CELL, "-");
	else if (exact || r < 99.95)
		snprintf(buf, CELL, "%.1f", r);
	else if (r < 99999.5)
		snprintf(buf, CELL, "%.0f", r);
	else
		fmt_scaled(buf, r);
	return buf;
}

/* A table whose columns fit their widest cell; span rows are printed as they are. */
struct tbl {
	size_t ncols;
	const char *const *head;
	/*
	 * Per column: 'L' left-aligned, 'R' right-aligned one space after the
	 * column before (numbers of a group, as ipvsadm packs them), 'W' right-
	 * aligned two spaces after it (the first of a group).
	 */
	const char *left;
	size_t width[24];
	char ***rows; /* NULL cells: a span row, text in spans[] */
	char **spans;
	size_t n, cap;
};

static void tbl_init(struct tbl *t, const char *const *head, size_t ncols, const char *left)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = ncols;
	t->left = left;
	for (i = 0; i < ncols; i++)
		t->width[i] = strlen(head[i]);
}

static int tbl_grow(struct tbl *t)
{
	size_t cap = t->cap ? 2 * t->cap : 32;
	char ***rows;
	char **spans;

	if (t->n < t->cap)
		return 0;
	rows = realloc(t->rows, cap * sizeof(*rows));
	if (!rows)
		return -1;
	t->rows = rows;
	spans = realloc(t->spans, cap * sizeof(*spans));
	if (!spans)
		return -1;
	t->spans = spans;
	t->cap = cap;
	return 0;
}

/* Adds a row of ncols cells (copied). */
static void tbl_row(struct tbl *t, char cells[][CELL])
{
	char **row;
	size_t i, w;

	if (tbl_grow(t))
		return;
	row = calloc(t->ncols, sizeof(*row));
	if (!row)
		return;
	for (i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i]);
		w = row[i] ? strlen(row[i]) : 0;
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->rows[t->n] = row;
	t->spans[t->n++] = NULL;
}

static void tbl_span(struct tbl *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tbl_span(struct tbl *t, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (tbl_grow(t))
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	t->rows[t->n] = NULL;
	t->spans[t->n++] = s;
}

static void tbl_line(FILE *f, const struct tbl *t, const char *const *cells)
{
	size_t i, last = t->ncols;

	/* No trailing blanks: the last non-empty cell ends the line. */
	while (last && !*cells[last - 1])
		last--;
	for (i = 0; i < last; i++) {
		bool left = t->left[i] == 'L';

		if (i)
			fputs(t->left[i] == 'R' ? " " : "  ", f);
		if (left && i == last - 1)
			fputs(cells[i], f);
		else
			fprintf(f, left ? "%-*s" : "%*s", (int)t->width[i], cells[i]);
	}
	fputc('\n', f);
}

static void tbl_print(FILE *f, struct tbl *t)
{
	size_t i, j;

	tbl_line(f, t, t->head);
	for (i = 0; i < t->n; i++) {
		if (t->rows[i]) {
			tbl_line(f, t, (const char *const *)t->rows[i]);
			for (j = 0; j < t->ncols; j++)
				free(t->rows[i][j]);
			free(t->rows[i]);
		} else {
			fprintf(f, "%s\n", t->spans[i] ? t->spans[i] : "");
			free(t->spans[i]);
		}
	}
	free(t->rows);
	free(t->spans);
}

static void header(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o, size_t shown)
{
	time_t secs = s->real_ns / LBS_NSEC_PER_SEC;
	char when[32] = "", rates[48];
	struct tm tm;

	if (localtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (s->prev)
		snprintf(rates, sizeof(rates), "rates over %.2f s",
			 (double)s->interval_ns / LBS_NSEC_PER_SEC);
	else
		snprintf(rates, sizeof(rates), "totals only");
	fprintf(f, "lbstat  %s  ", s->pin_path);
	if (shown != s->nvips)
		fprintf(f, "%zu of %zu VIPs", shown, s->nvips);
	else
		fprintf(f, "%zu VIP%s", s->nvips, s->nvips == 1 ? "" : "s");
	fprintf(f, ", %zu backend%s  %s", s->nbes, s->nbes == 1 ? "" : "s", rates);
	if (o->view != LBS_VIEW_GLOBAL)
		fprintf(f, "  sort: %s%s", lbs_sort_name(o->sort), o->reverse ? " (reversed)" : "");
	fprintf(f, "  %s\n", when);
}

static bool no_vips(FILE *f, const struct lbs_sample *s, size_t shown)
{
	if (!s->nvips) {
		fprintf(f, "no VIPs in %s\n", s->pin_path);
		return true;
	}
	if (!shown) {
		fprintf(f, "no VIPs match the filters (%zu VIP%s in all)\n", s->nvips,
			s->nvips == 1 ? "" : "s");
		return true;
	}
	return false;
}

/* " NAME COUNT (RATE/s)" for a VIP counter, the rate only when known. */
static size_t detail_ctr(char *line, size_t len, size_t off, const char *name,
			 const struct lbs_sample *s, const struct lbs_vip *v, unsigned int ctr,
			 const struct lbs_opts *o)
{
	char a[CELL], b[CELL];
	double r = lbs_vip_rate(s, v, ctr);

	if (off >= len)
		return off;
	off += snprintf(line + off, len - off, "%s %s", name, fmt_count(a, v->c[ctr], o->exact));
	if (r >= 0 && off < len)
		off += snprintf(line + off, len - off, " (%s/s)", fmt_rate(b, r, o->exact));
	return off;
}

/*
 * Stateless flows (over a flood budget), rejections and drops by reason, on a
 * line under the VIP, only when there are any.
 */
static void vip_detail(struct tbl *t, const struct lbs_sample *s, const struct lbs_vip *v,
		       const struct lbs_opts *o)
{
	char line[1024];
	const char *sep = "";
	size_t len = 0, i;

	if (!v->c[LBS_C_STATELESS] && !v->c[LBS_C_REJECTED] && !v->drops)
		return;
	len += snprintf(line + len, sizeof(line) - len, "    ");
	if (v->c[LBS_C_STATELESS]) {
		len = detail_ctr(line, sizeof(line), len, "stateless", s, v, LBS_C_STATELESS, o);
		sep = "  ";
	}
	if (v->c[LBS_C_REJECTED] && len < sizeof(line)) {
		len += snprintf(line + len, sizeof(line) - len, "%s", sep);
		len = detail_ctr(line, sizeof(line), len, "rejected", s, v, LBS_C_REJECTED, o);
		sep = "  ";
	}
	if (v->drops && len < sizeof(line)) {
		len += snprintf(line + len, sizeof(line) - len, "%sdropped ", sep);
		sep = "";
		for (i = 0; i < XLB_VIP_DROP_MAX && len < sizeof(line); i++) {
			if (!v->c[LBS_C_DROPS + i])
				continue;
			len += snprintf(line + len, sizeof(line) - len, "%s", sep);
			len = detail_ctr(line, sizeof(line), len, xlb_vip_drop_name(i), s, v,
					 LBS_C_DROPS + i, o);
			sep = ", ";
		}
	}
	tbl_span(t, "%s", line);
}

static const char *dash(const char *s)
{
	return *s ? s : "-";
}

static void view_vips(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o)
{
	static const char *const head[] = {
		"VIP",	  "Mode",   "Act",    "Drn",	 "CPS",	    "InPPS",   "OutPPS",
		"InBPS",  "OutBPS", "DropPS", "Conns",	 "InPkts",  "OutPkts", "InBytes",
		"OutBytes", "Drops", "Name",  "App",
	};
	static const unsigned int rate_ctr[] = { LBS_C_NEW_FLOWS, LBS_C_PKTS_IN, LBS_C_PKTS_OUT,
						 LBS_C_BYTES_IN, LBS_C_BYTES_OUT };
	char cells[sizeof(head) / sizeof(head[0])][CELL];
	size_t *order = NULL, n, i, j, c;
	struct tbl t;

	n = lbs_vip_order(s, o, &order);
	header(f, s, o, n);
	if (no_vips(f, s, n)) {
		free(order);
		return;
	}
	tbl_init(&t, head, sizeof(head) / sizeof(head[0]), "LLWRWRRRRRWRRRRRLL");
	for (i = 0; i < n; i++) {
		const struct lbs_vip *v = &s->vips[order[i]];

		c = 0;
		xlb_vip_key_str(&v->key, cells[c++], CELL);
		snprintf(cells[c++], CELL, "%s", xlb_mode_name(v->vip.mode));
		snprintf(cells[c++], CELL, "%u", v->n_active);
		snprintf(cells[c++], CELL, "%u", v->n_draining);
		for (j = 0; j < sizeof(rate_ctr) / sizeof(rate_ctr[0]); j++)
			fmt_rate(cells[c++], lbs_vip_rate(s, v, rate_ctr[j]), o->exact);
		fmt_rate(cells[c++], lbs_vip_drop_rate(s, v), o->exact);
		for (j = 0; j < sizeof(rate_ctr) / sizeof(rate_ctr[0]); j++)
			fmt_count(cells[c++], v->c[rate_ctr[j]], o->exact);
		fmt_count(cells[c++], v->drops, o->exact);
		snprintf(cells[c++], CELL, "%s", dash(v->meta.name));
		snprintf(cells[c++], CELL, "%s", dash(v->meta.app));
		tbl_row(&t, cells);
		vip_detail(&t, s, v, o);
	}
	tbl_print(f, &t);
	free(order);
}

static void view_backends(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o)
{
	static const char *const head[] = {
		"VIP / -> Backend", "Mode/State", "Weight",  "Share",	"CPS",	    "InPPS",
		"OutPPS",	    "InBPS",	  "OutBPS",  "Conns",	"InPkts",   "OutPkts",
		"InBytes",	    "OutBytes",	  "Name",    "App",
	};
	static const unsigned int ctrs[] = { LBS_C_NEW_FLOWS, LBS_C_PKTS_IN, LBS_C_PKTS_OUT,
					     LBS_C_BYTES_IN, LBS_C_BYTES_OUT };
	char cells[sizeof(head) / sizeof(head[0])][CELL];
	size_t *order = NULL, *bo = NULL, n, i, j, k, c;
	struct tbl t;

	n = lbs_vip_order(s, o, &order);
	header(f, s, o, n);
	if (no_vips(f, s, n)) {
		free(order);
		return;
	}
	bo = calloc(s->nbes ? s->nbes : 1, sizeof(*bo));
	if (!bo) {
		free(order);
		return;
	}
	tbl_init(&t, head, sizeof(head) / sizeof(head[0]), "LLWWWRRRRWRRRRLL");
	for (i = 0; i < n; i++) {
		const struct lbs_vip *v = &s->vips[order[i]];

		c = 0;
		xlb_vip_key_str(&v->key, cells[c++], CELL);
		snprintf(cells[c++], CELL, "%s", xlb_mode_name(v->vip.mode));
		snprintf(cells[c++], CELL, "%s", "");
		snprintf(cells[c++], CELL, "%s", "");
		for (j = 0; j < sizeof(ctrs) / sizeof(ctrs[0]); j++)
			fmt_rate(cells[c++], lbs_vip_rate(s, v, ctrs[j]), o->exact);
		for (j = 0; j < sizeof(ctrs) / sizeof(ctrs[0]); j++)
			fmt_count(cells[c++], v->c[ctrs[j]], o->exact);
		snprintf(cells[c++], CELL, "%s", dash(v->meta.name));
		snprintf(cells[c++], CELL, "%s", dash(v->meta.app));
		tbl_row(&t, cells);
		if (!v->n_be)
			tbl_span(&t, "  (no backends%s)",
				 v->vip.flags & XLB_VIP_F_DROP_NO_BACKEND ? ": new flows dropped"
									  : ": new flows rejected");
		lbs_be_order(s, v, o, bo);
		for (k = 0; k < v->n_be; k++) {
			const struct lbs_be *b = &s->bes[bo[k]];
			char ep[INET6_ADDRSTRLEN + 16];
			double share = lbs_be_share(s, b);

			c = 0;
			xlb_endpoint_str(&b->be.addr, b->be.port, b->be.family, ep, sizeof(ep));
			snprintf(cells[c++], CELL, "  -> %s", ep);
			snprintf(cells[c++], CELL, "%s", xlb_backend_state_name(b->be.state));
			snprintf(cells[c++], CELL, "%u", b->be.weight);
			if (share < 0)
				snprintf(cells[c++], CELL, "-");
			else
				snprintf(cells[c++], CELL, "%.1f%%", share);
			for (j = 0; j < sizeof(ctrs) / sizeof(ctrs[0]); j++)
				fmt_rate(cells[c++], lbs_be_rate(s, b, ctrs[j]), o->exact);
			for (j = 0; j < sizeof(ctrs) / sizeof(ctrs[0]); j++)
				fmt_count(cells[c++], b->c[ctrs[j]], o->exact);
			cells[c++][0] = '\0';
			cells[c++][0] = '\0';
			tbl_row(&t, cells);
		}
	}
	tbl_print(f, &t);
	free(order);
	free(bo);
}

/* A budget of new flows per second; 0 is no limit. */
static char *fmt_budget(char *buf, __u32 v, const char *scope, bool exact)
{
	char n[CELL];

	if (!v)
		snprintf(buf, CELL, "no limit %s", scope);
	else
		snprintf(buf, CELL, "%s %s", fmt_count(n, v, exact), scope);
	return buf;
}

static void flood_line(FILE *f, const struct lbs_sample *s)
{
	char a[CELL], b[CELL];

	if (!s->have_config) {
		fprintf(f, "flood budgets: unknown (no xlb_config)\n");
		return;
	}
	/* Every digit: an operator compares these with the configuration. */
	fprintf(f, "flood budgets: new flows recorded per second: %s, %s",
		fmt_budget(a, s->config.new_per_cpu, "per CPU", true),
		fmt_budget(b, s->config.new_per_vip, "per VIP per CPU", true));
	if (s->config.new_per_cpu || s->config.new_per_vip)
		fprintf(f, " (above them new flows are forwarded stateless)");
	fputc('\n', f);
}

/* Conntrack fill per table, and what a flow costs in kernel memory. */
static void ct_lines(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o)
{
	const struct lbs_ct *ct = &s->ct;
	char a[CELL], b[CELL];
	size_t i;

	if (!ct->counted) {
		fprintf(f, "conntrack: not counted\n");
		return;
	}
	fprintf(f, "conntrack: %s%s entries of %llu, %s flows, %.0f bytes per flow; ",
		ct->complete ? "" : "at least ", fmt_count(a, ct->entries, o->exact),
		(unsigned long long)ct->max_entries, fmt_count(b, ct->flows, o->exact),
		ct->bytes_per_flow);
	if (ct->complete)
		fprintf(f, "counted in %.1f ms\n", (double)ct->walk_ns / 1e6);
	else
		fprintf(f, "count stopped after %.0f ms\n", (double)ct->walk_ns / 1e6);
	for (i = 0; i < LBS_FAMILIES; i++) {
		const struct lbs_ct_table *t = &ct->t[i];

		fprintf(f, "  %s: %s entries of %u", lbs_family_key[i],
			fmt_count(a, t->entries, o->exact), t->max_entries);
		if (t->max_entries)
			fprintf(f, " (%.1f%%)", 100.0 * t->entries / t->max_entries);
		fprintf(f, ", %s flows, %s of kernel memory\n", fmt_count(b, t->flows, o->exact),
			fmt_bytes(a, t->memlock));
	}
}

static void view_global(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o)
{
	static const char *const head[] = { "Counter", "Total", "Rate/s", "Meaning" };
	static const struct {
		const char *title;
		unsigned int first, end;
	} groups[] = {
		{ "verdicts (every packet ends in one)", 0, XLB_CNT_FIRST_REASON },
		{ "reasons (every packet has one; the prefix is its verdict)", XLB_CNT_FIRST_REASON,
		  XLB_CNT_FIRST_EVENT },
		{ "events (what happened on the way)", XLB_CNT_FIRST_EVENT, XLB_CNT_MAX },
	};
	char cells[4][CELL];
	struct tbl t;
	size_t g;
	unsigned int i;

	header(f, s, o, s->nvips);
	/* Occupancy first: on a short terminal the end of the counter list is what gets cut. */
	flood_line(f, s);
	ct_lines(f, s, o);
	fputc('\n', f);
	tbl_init(&t, head, 4, "LWWL");
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		tbl_span(&t, "%s%s:", g ? "\n" : "", groups[g].title);
		for (i = groups[g].first; i < groups[g].end; i++) {
			snprintf(cells[0], CELL, "  %s", xlb_counter_name(i));
			fmt_count(cells[1], s->global.c[i], o->exact);
			fmt_rate(cells[2], lbs_global_rate(s, i), o->exact);
			snprintf(cells[3], CELL, "%s", xlb_counter_help(i));
			tbl_row(&t, cells);
		}
	}
	tbl_print(f, &t);
}

void lbs_text_print(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o)
{
	switch (o->view) {
	case LBS_VIEW_BACKENDS:
		view_backends(f, s, o);
		break;
	case LBS_VIEW_GLOBAL:
		view_global(f, s, o);
		break;
	default:
		view_vips(f, s, o);
	}
}
