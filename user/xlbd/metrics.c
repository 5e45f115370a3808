// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /metrics in Prometheus text format, served by libmicrohttpd from its own
 * thread on loopback by default, optionally behind a bearer token. A scrape
 * reads the maps through the data plane's reader (VIPs, names, backends,
 * per-CPU counters summed), which never changes after open, and copies xlbd's
 * stats block under its lock, so it never touches the main thread's data
 * structures and never delays a map write. Conntrack fill is what the
 * daemon's last finished sweep counted (ct_gc.c), so a scrape never walks the
 * tables itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "dp.h"
#include "dp_read.h"
#include "log.h"
#include "names.h"
#include "xlbd.h"

#ifndef XLB_VERSION
#define XLB_VERSION "unknown"
#endif

enum { CT_V4, CT_V6, CT_FAMILIES };

struct xlbd_metrics {
	struct xlbd *d;
	struct MHD_Daemon *mhd;
	int lfd;
	char *token; /* bearer token or NULL; never logged */
	double start_ts;
};

const double xlbd_lat_bounds[XLBD_LAT_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03,
    0.04,  0.05,   0.075, 0.1,	0.25,  0.5,  1.0,   2.5,
};

void xlbd_stats_latency(struct xlbd_stats *s, double seconds)
{
	int i;

	for (i = 0; i < XLBD_LAT_BUCKETS && seconds > xlbd_lat_bounds[i]; i++)
		;
	s->lat_counts[i]++;
	s->lat_sum += seconds;
	s->lat_count++;
}

/* The verdict each reason ends in, from the same X-macro as the enum. */
static const char *const reason_verdict[XLB_CNT_MAX] = {
#define XLB_X_REASON(r, v, h) [XLB_CNT_##r] = #v,
    XLB_REASONS(XLB_X_REASON)
#undef XLB_X_REASON
};

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 65536) + n;
		char *np = realloc(b->p, cap);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* A label value: backslash, double quote and newline escaped, as the format wants. */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void help(struct sb *b, const char *name, const char *type, const char *text)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

struct vip_row {
	struct xlb_vip_key key;
	struct xlb_vip vip;
	struct xlb_vip_stats st;
	char labels[640]; /* vip="...",name="...",app="..." */
	__u32 active, draining;
};

struct be_row {
	const struct vip_row *vip;
	struct xlb_backend be;
	struct xlb_backend_stats st;
	char labels[720]; /* the VIP's labels, backend="..." */
};

static int be_row_cmp(const void *a, const void *b)
{
	const struct be_row *x = a, *y = b;
	struct xlb_plan_backend px = {
	    .addr = x->be.addr, .port = x->be.port, .family = x->be.family};
	struct xlb_plan_backend py = {
	    .addr = y->be.addr, .port = y->be.port, .family = y->be.family};

	if (x->vip != y->vip)
		return x->vip < y->vip ? -1 : 1;
	return xlb_plan_backend_cmp(&px, &py);
}

/* One family: HELP and TYPE, then all its samples together, as the format requires. */
#define FAMILY(b, name, type, text, n, ...)         \
	do {                                        \
		help(b, name, type, text);          \
		for (size_t _i = 0; _i < (n); _i++) \
			sb_printf(b, __VA_ARGS__);  \
	} while (0)

/* What one scrape read: VIPs in key order with their counters, backends by VIP. */
struct scrape {
	const struct xlb_reader *r;
	bool per_backend;
	struct vip_row *rows, **by_id;
	size_t n;
	__u32 max_vips;
	struct be_row *bes;
	size_t nb, bcap;
	__u64 tot_active, tot_draining;
};

/* The VIPs (already in key order), their counters and their labels. */
static int vip_rows_read(struct scrape *sc)
{
	struct xlb_vip_entry *vips;
	struct xlb_vip_meta meta;
	char e2[300], e3[300], ep[64];
	size_t nv, i;
	int err;

	err = xlb_reader_vips(sc->r, &vips, &nv);
	if (err)
		return err;
	sc->rows = calloc(nv ? nv : 1, sizeof(*sc->rows));
	sc->by_id = calloc(sc->max_vips ? sc->max_vips : 1, sizeof(*sc->by_id));
	if (!sc->rows || !sc->by_id) {
		free(vips);
		return -ENOMEM;
	}
	for (i = 0; i < nv; i++) {
		struct vip_row *r = &sc->rows[sc->n];

		r->key = vips[i].key;
		r->vip = vips[i].vip;
		if (xlb_reader_vip_stats(sc->r, r->vip.vip_id, &r->st))
			continue;
		memset(&meta, 0, sizeof(meta));
		xlb_reader_vip_meta(sc->r, r->vip.vip_id, &meta);
		snprintf(r->labels, sizeof(r->labels), "vip=\"%s\",name=\"%s\",app=\"%s\"",
			 xlb_vip_key_str(&r->key, ep, sizeof(ep)), esc(meta.name, e2, sizeof(e2)),
			 esc(meta.app, e3, sizeof(e3)));
		if (r->vip.vip_id < sc->max_vips)
			sc->by_id[r->vip.vip_id] = r;
		sc->n++;
	}
	free(vips);
	return 0;
}

/* Counts each backend under its VIP; with per-backend metrics, keeps a row for it. */
static int backend_row_add(void *ctx, __u32 id, const struct xlb_backend *be)
{
	struct scrape *sc = ctx;
	struct vip_row *r;
	struct be_row *br;
	char ep[64], e1[100];

	if (!id || be->vip_id >= sc->max_vips || !(r = sc->by_id[be->vip_id]))
		return 0;
	if (be->state == XLB_BE_ACTIVE) {
		r->active++;
		sc->tot_active++;
	} else {
		r->draining++;
		sc->tot_draining++;
	}
	/* Six series per backend: 600,000 lines at 100,000 backends, so it can be off. */
	if (!sc->per_backend)
		return 0;
	if (sc->nb == sc->bcap) {
		size_t cap = sc->bcap ? sc->bcap * 2 : 256;

		br = realloc(sc->bes, cap * sizeof(*sc->bes));
		if (!br)
			return -ENOMEM;
		sc->bes = br;
		sc->bcap = cap;
	}
	br = &sc->bes[sc->nb];
	br->vip = r;
	br->be = *be;
	if (xlb_reader_backend_stats(sc->r, id, &br->st))
		memset(&br->st, 0, sizeof(br->st));
	xlb_endpoint_str(&be->addr, be->port, be->family, ep, sizeof(ep));
	snprintf(br->labels, sizeof(br->labels), "%s,backend=\"%s\"", r->labels,
		 esc(ep, e1, sizeof(e1)));
	sc->nb++;
	return 0;
}

static void render_vip_families(const struct scrape *sc, struct sb *b)
{
	const struct vip_row *rows = sc->rows;
	size_t n = sc->n, i, j;

	help(b, "xlb_vip_info", "gauge", "A VIP's forwarding mode; always 1.");
	for (i = 0; i < n; i++)
		sb_printf(b, "xlb_vip_info{%s,mode=\"%s\"} 1\n", rows[i].labels,
			  xlb_mode_name(rows[i].vip.mode));
	help(b, "xlb_vip_packets_total", "counter",
	     "Packets of a VIP: in = client to VIP, out = replies translated back.");
	for (i = 0; i < n; i++)
		sb_printf(b,
			  "xlb_vip_packets_total{%s,direction=\"in\"} %llu\n"
			  "xlb_vip_packets_total{%s,direction=\"out\"} %llu\n",
			  rows[i].labels, (unsigned long long)rows[i].st.pkts_in, rows[i].labels,
			  (unsigned long long)rows[i].st.pkts_out);
	help(b, "xlb_vip_bytes_total", "counter", "Bytes of a VIP, by direction as for packets.");
	for (i = 0; i < n; i++)
		sb_printf(b,
			  "xlb_vip_bytes_total{%s,direction=\"in\"} %llu\n"
			  "xlb_vip_bytes_total{%s,direction=\"out\"} %llu\n",
			  rows[i].labels, (unsigned long long)rows[i].st.bytes_in, rows[i].labels,
			  (unsigned long long)rows[i].st.bytes_out);
	FAMILY(b, "xlb_vip_new_flows_total", "counter", "Flows a VIP gave to a backend.", n,
	       "xlb_vip_new_flows_total{%s} %llu\n", rows[_i].labels,
	       (unsigned long long)rows[_i].st.new_flows);
	FAMILY(b, "xlb_vip_stateless_total", "counter",
	       "New flows over a flood budget: forwarded by Maglev without a conntrack entry.", n,
	       "xlb_vip_stateless_total{%s} %llu\n", rows[_i].labels,
	       (unsigned long long)rows[_i].st.stateless);
	FAMILY(b, "xlb_vip_rejected_total", "counter",
	       "New flows answered with RST or ICMP unreachable: no backend could take them.", n,
	       "xlb_vip_rejected_total{%s} %llu\n", rows[_i].labels,
	       (unsigned long long)rows[_i].st.rejected);
	help(b, "xlb_vip_drops_total", "counter", "Packets of a VIP dropped, by reason.");
	for (i = 0; i < n; i++)
		for (j = 0; j < XLB_VIP_DROP_MAX; j++)
			sb_printf(b, "xlb_vip_drops_total{%s,reason=\"%s\"} %llu\n", rows[i].labels,
				  xlb_vip_drop_name(j), (unsigned long long)rows[i].st.drops[j]);
	help(b, "xlb_vip_backends", "gauge", "Backends of a VIP by state.");
	for (i = 0; i < n; i++)
		sb_printf(b,
			  "xlb_vip_backends{%s,state=\"active\"} %u\n"
			  "xlb_vip_backends{%s,state=\"draining\"} %u\n",
			  rows[i].labels, rows[i].active, rows[i].labels, rows[i].draining);
}

static void render_backend_families(const struct scrape *sc, struct sb *b)
{
	const struct be_row *bes = sc->bes;
	size_t nb = sc->nb, i;

	help(b, "xlb_backend_packets_total", "counter", "Packets of a backend, by direction.");
	for (i = 0; i < nb; i++)
		sb_printf(b,
			  "xlb_backend_packets_total{%s,direction=\"in\"} %llu\n"
			  "xlb_backend_packets_total{%s,direction=\"out\"} %llu\n",
			  bes[i].labels, (unsigned long long)bes[i].st.pkts_in, bes[i].labels,
			  (unsigned long long)bes[i].st.pkts_out);
	help(b, "xlb_backend_bytes_total", "counter", "Bytes of a backend, by direction.");
	for (i = 0; i < nb; i++)
		sb_printf(b,
			  "xlb_backend_bytes_total{%s,direction=\"in\"} %llu\n"
			  "xlb_backend_bytes_total{%s,direction=\"out\"} %llu\n",
			  bes[i].labels, (unsigned long long)bes[i].st.bytes_in, bes[i].labels,
			  (unsigned long long)bes[i].st.bytes_out);
	FAMILY(b, "xlb_backend_new_flows_total", "counter", "Flows given to a backend.", nb,
	       "xlb_backend_new_flows_total{%s} %llu\n", bes[_i].labels,
	       (unsigned long long)bes[_i].st.new_flows);
	FAMILY(b, "xlb_backend_weight", "gauge",
	       "A backend's Maglev weight (0 while draining), labelled with its state.", nb,
	       "xlb_backend_weight{%s,state=\"%s\"} %u\n", bes[_i].labels,
	       xlb_backend_state_name(bes[_i].be.state), bes[_i].be.weight);
}

static void render_vips(struct xlbd *d, struct sb *b)
{
	struct scrape sc = {
		.r = xlb_dp_reader(d->dp),
		.per_backend = d->cfg.metrics_per_backend,
	};

	sc.max_vips = xlb_reader_max_entries(sc.r, XLB_M_VIPS);
	if (vip_rows_read(&sc) || xlb_reader_backend_walk(sc.r, backend_row_add, &sc))
		goto cleanup;
	if (sc.nb > 1)
		qsort(sc.bes, sc.nb, sizeof(*sc.bes), be_row_cmp);
	render_vip_families(&sc, b);
	if (sc.per_backend)
		render_backend_families(&sc, b);
	help(b, "xlb_vips", "gauge", "VIPs in the maps.");
	sb_printf(b, "xlb_vips %zu\n", sc.n);
	help(b, "xlb_backends", "gauge", "Backends in the maps by state.");
	sb_printf(b, "xlb_backends{state=\"active\"} %llu\n", (unsigned long long)sc.tot_active);
	sb_printf(b, "xlb_backends{state=\"draining\"} %llu\n",
		  (unsigned long long)sc.tot_draining);
cleanup:
	free(sc.by_id);
	free(sc.bes);
	free(sc.rows);
}

static void render_global(struct xlbd *d, struct sb *b)
{
	struct xlb_stats st;
	char v[32];
	unsigned int i, j;

	if (xlb_reader_stats(xlb_dp_reader(d->dp), &st))
		return;
	help(b, "xlb_datapath_verdict_packets_total", "counter",
	     "Packets by the verdict they ended in (every packet has exactly one).");
	for (i = 0; i < XLB_CNT_FIRST_REASON; i++)
		sb_printf(b, "xlb_datapath_verdict_packets_total{verdict=\"%s\"} %llu\n",
			  xlb_counter_name(i) + strlen("verdict_"), (unsigned long long)st.c[i]);
	help(b, "xlb_datapath_reason_packets_total", "counter",
	     "Packets by the reason for their verdict (names as in lbstat and include/xlb/abi.h).");
	for (i = XLB_CNT_FIRST_REASON; i < XLB_CNT_FIRST_EVENT; i++) {
		for (j = 0; reason_verdict[i][j] && j < sizeof(v) - 1; j++)
			v[j] = reason_verdict[i][j] | 0x20;
		v[j] = '\0';
		sb_printf(b,
			  "xlb_datapath_reason_packets_total{reason=\"%s\",verdict=\"%s\"} %llu\n",
			  xlb_counter_name(i), v, (unsigned long long)st.c[i]);
	}
	help(b, "xlb_datapath_events_total", "counter",
	     "Things that happened to packets on their way (conntrack, NAT, ICMP, VLAN).");
	for (i = XLB_CNT_FIRST_EVENT; i < XLB_CNT_MAX; i++)
		sb_printf(b, "xlb_datapath_events_total{event=\"%s\"} %llu\n", xlb_counter_name(i),
			  (unsigned long long)st.c[i]);
}

/*
 * Kernel memory per flow: each table's memory per slot (memlock over
 * max_entries: the kernel allocates every slot up front), times the entries in
 * use, over the flows they hold; a flow with a reply entry costs two entries.
 * With no flow yet, one slot of the IPv4 table.
 */
static double ct_bytes_per_flow(const struct xlb_ct_table_info *t, const __u64 *live,
				const __u64 *reply)
{
	double bytes = 0;
	__u64 flows = 0;
	int f;

	for (f = 0; f < CT_FAMILIES; f++) {
		if (!t[f].max_entries)
			continue;
		bytes += (double)t[f].memlock / t[f].max_entries * live[f];
		flows += live[f] - (reply[f] < live[f] ? reply[f] : live[f]);
	}
	if (flows)
		return bytes / flows;
	return t[CT_V4].max_entries ? (double)t[CT_V4].memlock / t[CT_V4].max_entries : 0;
}

/* The flood budgets and the conntrack tables: sizes, and the last sweep's fill. */
static void render_ct(struct xlbd_metrics *mx, struct sb *b)
{
	static const char *const fam[CT_FAMILIES] = {[CT_V4] = "ipv4", [CT_V6] = "ipv6"};
	static const __u8 af[CT_FAMILIES] = {[CT_V4] = XLB_AF_INET, [CT_V6] = XLB_AF_INET6};
	const struct xlb_reader *r = xlb_dp_reader(mx->d->dp);
	struct xlb_ct_table_info t[CT_FAMILIES] = {};
	__u64 live[CT_FAMILIES], reply[CT_FAMILIES];
	struct xlb_config cfg;
	bool counted;
	int f;

	if (!xlb_reader_config(r, &cfg)) {
		help(b, "xlb_flood_budget", "gauge",
		     "New flows recorded in conntrack per second before the rest go stateless: "
		     "per CPU (cpu), per VIP on each CPU (vip); 0: no limit.");
		sb_printf(b, "xlb_flood_budget{scope=\"cpu\"} %u\n", cfg.new_per_cpu);
		sb_printf(b, "xlb_flood_budget{scope=\"vip\"} %u\n", cfg.new_per_vip);
	}
	for (f = 0; f < CT_FAMILIES; f++)
		if (xlb_reader_ct_info(r, af[f], &t[f]))
			memset(&t[f], 0, sizeof(t[f]));
	help(b, "xlb_ct_max_entries", "gauge", "Conntrack table sizes (an LRU: full is normal).");
	for (f = 0; f < CT_FAMILIES; f++)
		sb_printf(b, "xlb_ct_max_entries{family=\"%s\"} %u\n", fam[f], t[f].max_entries);
	pthread_mutex_lock(&mx->d->stats.lock);
	counted = mx->d->stats.ct_counted;
	memcpy(live, mx->d->stats.ct_live, sizeof(live));
	memcpy(reply, mx->d->stats.ct_reply, sizeof(reply));
	pthread_mutex_unlock(&mx->d->stats.lock);
	/* Until the first sweep has finished (seconds after start) there is no count to show. */
	if (!counted)
		return;
	help(b, "xlb_ct_entries", "gauge",
	     "Live conntrack entries (one per flow, plus a reply entry for flows to a shared "
	     "endpoint), as of the last sweep.");
	for (f = 0; f < CT_FAMILIES; f++)
		sb_printf(b, "xlb_ct_entries{family=\"%s\"} %llu\n", fam[f],
			  (unsigned long long)live[f]);
	help(b, "xlb_ct_bytes_per_flow", "gauge",
	     "Kernel memory of the conntrack tables per flow in them (reply entries included).");
	sb_printf(b, "xlb_ct_bytes_per_flow %.1f\n", ct_bytes_per_flow(t, live, reply));
}

static void render_daemon(struct xlbd_metrics *mx, struct sb *b)
{
	struct xlbd_stats s;
	__u64 cum = 0;
	char red[300];
	int i;

	pthread_mutex_lock(&mx->d->stats.lock);
	s = mx->d->stats;
	pthread_mutex_unlock(&mx->d->stats.lock);

	help(b, "xlbd_build_info", "gauge", "xlbd's version; always 1.");
	sb_printf(b, "xlbd_build_info{version=\"%s\"} 1\n", esc(XLB_VERSION, red, sizeof(red)));
	help(b, "xlbd_start_time_seconds", "gauge", "When this xlbd started (Unix time).");
	sb_printf(b, "xlbd_start_time_seconds %.3f\n", mx->start_ts);
	help(b, "xlbd_map_changes_total", "counter",
	     "Changes written to the maps (VIPs, names, backends), as in \"reconciled: N "
	     "changes\".");
	sb_printf(b, "xlbd_map_changes_total %llu\n", (unsigned long long)s.map_changes_total);
	help(b, "xlbd_map_write_failures_total", "counter", "Map writes that failed (retried).");
	sb_printf(b, "xlbd_map_write_failures_total %llu\n",
		  (unsigned long long)s.apply_failures_total);
	help(b, "xlb_ct_gc_expired_total", "counter",
	     "Conntrack entries past their lifetime deleted by xlbd's sweep.");
	sb_printf(b, "xlb_ct_gc_expired_total %llu\n", (unsigned long long)s.ct_gc_expired_total);
	help(b, "xlbd_ct_gc_passes_total", "counter",
	     "Sweeps of both conntrack tables finished (one starts 5 s after the last).");
	sb_printf(b, "xlbd_ct_gc_passes_total %llu\n", (unsigned long long)s.ct_gc_passes_total);
	help(b, "xlbd_ct_gc_errors_total", "counter", "Sweep calls that failed (retried).");
	sb_printf(b, "xlbd_ct_gc_errors_total %llu\n", (unsigned long long)s.ct_gc_errors_total);
	help(b, "xlbd_ct_gc_busy_seconds", "gauge",
	     "Time the last finished sweep spent deleting and counting (in the main thread).");
	sb_printf(b, "xlbd_ct_gc_busy_seconds %.6f\n", s.ct_gc_pass_busy_s);
	help(b, "xlbd_vips", "gauge", "Desired VIPs by source.");
	sb_printf(b, "xlbd_vips{source=\"static\"} %llu\n", (unsigned long long)s.vips_static);
	sb_printf(b, "xlbd_vips{source=\"marathon\"} %llu\n", (unsigned long long)s.vips_marathon);
	if (!s.marathon_configured)
		return;
	help(b, "xlbd_marathon_connected", "gauge", "1 while the Marathon event stream is up.");
	sb_printf(b, "xlbd_marathon_connected{url=\"%s\"} %d\n",
		  esc(s.stream_connected ? s.leader_url : "", red, sizeof(red)),
		  s.stream_connected ? 1 : 0);
	help(b, "xlbd_marathon_last_sync_timestamp_seconds", "gauge",
	     "When the last good Marathon snapshot was read (Unix time; 0: never).");
	sb_printf(b, "xlbd_marathon_last_sync_timestamp_seconds %.3f\n", s.last_sync_ok_ts);
	help(b, "xlbd_marathon_syncs_total", "counter", "Good Marathon snapshots read.");
	sb_printf(b, "xlbd_marathon_syncs_total %llu\n", (unsigned long long)s.syncs_total);
	help(b, "xlbd_marathon_sync_errors_total", "counter",
	     "Marathon snapshots that failed (HTTP error, timeout, bad or oversized body).");
	sb_printf(b, "xlbd_marathon_sync_errors_total %llu\n",
		  (unsigned long long)s.sync_errors_total);
	help(b, "xlbd_marathon_events_total", "counter", "Events received on the stream.");
	sb_printf(b, "xlbd_marathon_events_total %llu\n", (unsigned long long)s.events_total);
	help(b, "xlbd_marathon_events_relevant_total", "counter",
	     "Events that made xlbd fetch the state again.");
	sb_printf(b, "xlbd_marathon_events_relevant_total %llu\n",
		  (unsigned long long)s.events_relevant_total);
	help(b, "xlbd_marathon_stream_connects_total", "counter", "Event stream connections made.");
	sb_printf(b, "xlbd_marathon_stream_connects_total %llu\n",
		  (unsigned long long)s.stream_connects_total);
	help(b, "xlbd_marathon_fetched_bytes_total", "counter", "Snapshot bytes read.");
	sb_printf(b, "xlbd_marathon_fetched_bytes_total %llu\n",
		  (unsigned long long)s.fetch_bytes_total);
	help(b, "xlbd_marathon_objects", "gauge", "What the last snapshot held.");
	sb_printf(b,
		  "xlbd_marathon_objects{kind=\"apps\"} %llu\nxlbd_marathon_objects{kind=\"pods\"} "
		  "%llu\nxlbd_marathon_objects{kind=\"tasks\"} %llu\n"
		  "xlbd_marathon_objects{kind=\"services\"} %llu\n",
		  (unsigned long long)s.apps, (unsigned long long)s.pods,
		  (unsigned long long)s.tasks, (unsigned long long)s.services);
	help(b, "xlbd_safety_holding", "gauge",
	     "1 while a suspicious Marathon answer is held back waiting for confirmation.");
	sb_printf(b, "xlbd_safety_holding %d\n", s.safety_holding ? 1 : 0);
	help(b, "xlbd_safety_holds_total", "counter", "Syncs held back by the safety guard.");
	sb_printf(b, "xlbd_safety_holds_total %llu\n", (unsigned long long)s.safety_holds_total);
	help(b, "xlbd_health_cache_entries", "gauge", "Tasks with a remembered health verdict.");
	sb_printf(b, "xlbd_health_cache_entries %llu\n",
		  (unsigned long long)s.health_cache_entries);
	help(b, "xlbd_health_cache_used", "gauge",
	     "Tasks whose health came from the cache in the last sync (leader failover).");
	sb_printf(b, "xlbd_health_cache_used %llu\n", (unsigned long long)s.health_cache_used);
	help(b, "xlbd_event_to_map_latency_seconds", "histogram",
	     "From an event's arrival on the stream to the map write that reflects it.");
	for (i = 0; i < XLBD_LAT_BUCKETS; i++) {
		cum += s.lat_counts[i];
		sb_printf(b, "xlbd_event_to_map_latency_seconds_bucket{le=\"%g\"} %llu\n",
			  xlbd_lat_bounds[i], (unsigned long long)cum);
	}
	cum += s.lat_counts[XLBD_LAT_BUCKETS];
	sb_printf(b, "xlbd_event_to_map_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
		  (unsigned long long)cum);
	sb_printf(b, "xlbd_event_to_map_latency_seconds_sum %.6f\n", s.lat_sum);
	sb_printf(b, "xlbd_event_to_map_latency_seconds_count %llu\n",
		  (unsigned long long)s.lat_count);
}

/* Constant time, so the token cannot be guessed byte by byte from response times. */
static bool token_ok(const char *want, const char *got)
{
	size_t lw = strlen(want), lg = got ? strlen(got) : 0, i;
	unsigned char diff = lw != lg;

	for (i = 0; i < lw; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < lg ? got[i] : 0);
	return !diff;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     char *body, size_t len, bool take)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body,
					    take ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (take)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"xlbd\"");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_len, void **con_cls)
{
	static char not_found[] = "not found: try /metrics\n";
	static char unauthorized[] = "unauthorized\n";
	static char bad_method[] = "only GET\n";
	static char index_page[] = "xlbd: see /metrics\n";
	struct xlbd_metrics *mx = cls;
	const char *auth;
	struct sb b = {};

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			     strlen(bad_method), false);
	if (mx->token) {
		auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		if (!auth || strncmp(auth, "Bearer ", 7) || !token_ok(mx->token, auth + 7))
			return reply(c, MHD_HTTP_UNAUTHORIZED, "text/plain", unauthorized,
				     strlen(unauthorized), false);
	}
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/plain", index_page, strlen(index_page), false);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found),
			     false);
	render_daemon(mx, &b);
	render_global(mx->d, &b);
	render_ct(mx, &b);
	render_vips(mx->d, &b);
	if (b.oom) {
		free(b.p);
		return MHD_NO;
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len, true);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_debug("metrics: %s", msg);
}

int xlbd_metrics_start(struct xlbd *d)
{
	const char *listen_s = d->cfg.metrics_listen;
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	struct xlbd_metrics *mx;
	union xlb_addr addr;
	__be16 port;
	__u8 fam;
	char host[INET6_ADDRSTRLEN];
	int one = 1, err;

	if (!listen_s)
		return 0;
	if (xlb_cfg_endpoint_parse(listen_s, &addr, &port, &fam))
		return -EINVAL;
	mx = calloc(1, sizeof(*mx));
	if (!mx)
		return -ENOMEM;
	d->metrics = mx;
	mx->d = d;
	mx->lfd = -1;
	mx->start_ts = xlbd_wall_s();
	if (d->cfg.metrics_token_file) {
		err = xlb_cfg_read_secret(d->cfg.metrics_token_file, &mx->token);
		if (err) {
			pr_err("metrics: token file %s: %s", d->cfg.metrics_token_file,
			       err == -ENODATA ? "empty" : strerror(-err));
			return err;
		}
	}
	if (fam == XLB_AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = addr.v4;
		sl = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, &addr, 16);
		sl = sizeof(*sin6);
	}
	/* Our own socket, so port 0 works and the log can say which port it got. */
	mx->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (mx->lfd < 0)
		goto fail;
	setsockopt(mx->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(mx->lfd, (struct sockaddr *)&ss, sl) || listen(mx->lfd, 32) ||
	    getsockname(mx->lfd, (struct sockaddr *)&ss, &sl))
		goto fail;
	mx->mhd =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				 (fam == XLB_AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, handler, mx, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_LISTEN_SOCKET, mx->lfd, MHD_OPTION_CONNECTION_LIMIT, 32u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!mx->mhd) {
		pr_err("metrics: cannot start the HTTP server on %s", listen_s);
		return -EIO;
	}
	if (fam == XLB_AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
	pr_info("metrics: listening on %s%s%s:%u%s", fam == XLB_AF_INET6 ? "[" : "", host,
		fam == XLB_AF_INET6 ? "]" : "",
		ntohs(fam == XLB_AF_INET ? sin->sin_port : sin6->sin6_port),
		mx->token ? " (bearer token required)" : "");
	return 0;
fail:
	err = -errno;
	pr_err("metrics: listen on %s: %s", listen_s, strerror(-err));
	return err;
}

void xlbd_metrics_stop(struct xlbd *d)
{
	struct xlbd_metrics *mx = d->metrics;

	if (!mx)
		return;
	if (mx->mhd)
		MHD_stop_daemon(mx->mhd);
	if (mx->lfd >= 0)
		close(mx->lfd);
	if (mx->token) {
		explicit_bzero(mx->token, strlen(mx->token));
		free(mx->token);
	}
	free(mx);
	d->metrics = NULL;
}
