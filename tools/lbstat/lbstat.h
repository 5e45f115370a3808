/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lbstat's shared types. A sample is everything read from the pinned maps at
 * one instant (VIPs with their names and backends, global counters, and on
 * demand conntrack occupancy), linked to the sample before it so that every
 * view computes rates the same way. The counter tables declared here drive
 * both the text and the JSON output, so the two never disagree about a field.
 */
#ifndef LBSTAT_H
#define LBSTAT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "dp_read.h"

/* Exit codes, as the man page lists them. */
#define LBS_EXIT_OK 0
#define LBS_EXIT_ERR 1
#define LBS_EXIT_USAGE 2
#define LBS_EXIT_MAPS 4

#define LBS_NSEC_PER_SEC 1000000000ULL

#ifndef XLB_VERSION
#define XLB_VERSION "unknown"
#endif

enum lbs_view {
	LBS_VIEW_VIPS,
	LBS_VIEW_BACKENDS,
	LBS_VIEW_GLOBAL,
	LBS_VIEW_MAX,
};

enum lbs_sort {
	LBS_SORT_VIP, /* address, port, protocol: ascending */
	LBS_SORT_NAME,
	LBS_SORT_APP,
	LBS_SORT_CONNS, /* the numeric keys sort busiest first */
	LBS_SORT_PPS,
	LBS_SORT_BPS,
	LBS_SORT_PPS_OUT,
	LBS_SORT_BPS_OUT,
	LBS_SORT_DROPS,
	LBS_SORT_MAX,
};

/*
 * Indexes of the u64 counters at the start of both struct xlb_vip_stats and
 * struct xlb_backend_stats (the backend struct is a prefix of the VIP one);
 * the VIP's drops[] follow at LBS_C_DROPS.
 */
enum lbs_ctr {
	LBS_C_PKTS_IN,
	LBS_C_BYTES_IN,
	LBS_C_PKTS_OUT,
	LBS_C_BYTES_OUT,
	LBS_C_NEW_FLOWS,
	LBS_C_BACKEND_MAX,
	LBS_C_REJECTED = LBS_C_BACKEND_MAX,
	LBS_C_STATELESS, /* new flows over a flood budget, forwarded without conntrack */
	LBS_C_DROPS,
	LBS_C_VIP_MAX = LBS_C_DROPS + XLB_VIP_DROP_MAX,
};

/* JSON key of a counter; its rate is "rate_<key>_per_s". */
extern const char *const lbs_ctr_key[LBS_C_DROPS];

struct lbs_vip {
	struct xlb_vip_key key;
	struct xlb_vip vip;
	struct xlb_vip_meta meta; /* control characters replaced: safe to print on a terminal */
	__u64 c[LBS_C_VIP_MAX]; /* struct xlb_vip_stats, summed over CPUs */
	__u64 drops; /* sum of the drop reasons */
	__u32 n_active, n_draining;
	size_t *be; /* indexes into lbs_sample.bes, ascending backend id */
	size_t n_be;
	const struct lbs_vip *prev; /* the same VIP in the previous sample, NULL: no rates */
};

struct lbs_be {
	__u32 id;
	struct xlb_backend be;
	__u64 c[LBS_C_BACKEND_MAX]; /* struct xlb_backend_stats, summed over CPUs */
	size_t vip; /* index into lbs_sample.vips */
	const struct lbs_be *prev;
};

enum lbs_family {
	LBS_IPV4, /* xlb_ct4 */
	LBS_IPV6, /* xlb_ct6 */
	LBS_FAMILIES,
};

/* One conntrack table. */
struct lbs_ct_table {
	__u64 entries; /* a flow's entry, and reply entries of flows to shared endpoints */
	__u64 flows; /* client -> VIP entries: one per flow */
	__u32 max_entries;
	__u64 memlock; /* the table's kernel memory, bytes; 0: unknown */
};

struct lbs_ct {
	bool counted;
	bool complete; /* false: the walk hit its time budget, entries is a lower bound */
	struct lbs_ct_table t[LBS_FAMILIES];
	__u64 entries, flows, max_entries; /* both tables */
	double bytes_per_flow; /* kernel memory per flow, reply entries included */
	__u64 walk_ns;
};

struct lbs_sample {
	__u64 mono_ns; /* CLOCK_MONOTONIC when the read began: rates */
	__u64 real_ns; /* CLOCK_REALTIME at the same moment: timestamps */
	struct lbs_vip *vips; /* ascending vip_id */
	size_t nvips;
	struct lbs_be *bes; /* ascending backend id */
	size_t nbes;
	size_t *be_by_vip; /* storage behind every lbs_vip.be */
	struct xlb_stats global;
	struct xlb_config config; /* flood budgets and lifetimes the programs use */
	bool have_config;
	bool have_meta;
	struct lbs_ct ct;
	const struct lbs_sample *prev; /* NULL: totals only */
	__u64 interval_ns; /* mono_ns - prev->mono_ns */
	char pin_path[PATH_MAX];
};

/* --vip ADDR[:PORT[/PROTO]]: port 0 and proto 0 match any. */
struct lbs_vip_filter {
	union xlb_addr addr; /* be */
	__be16 port; /* be */
	__u8 proto;
	__u8 family;
};

/* What to show and how; filled from the command line, changed by keys in watch mode. */
struct lbs_opts {
	enum lbs_view view;
	enum lbs_sort sort;
	bool reverse;
	bool json, pretty, exact;
	struct lbs_vip_filter *vip_filters; /* any may match */
	size_t n_vip_filters;
	const char **app_filters; /* any may match */
	size_t n_app_filters;
	__u64 ct_budget_ns; /* longest conntrack walk */
	int verbose;
};

/* sample.c: samples read through libxlb's read side (dp_read.h). */
extern const char *const lbs_family_key[LBS_FAMILIES]; /* "ipv4", "ipv6" */
/* Opens and checks every map; on failure err says which map and what was expected. */
int lbs_maps_open(struct xlb_reader **r, const char *pin_path, char *err, size_t errlen);
int lbs_sample_read(const struct xlb_reader *r, struct lbs_sample *s, char *err, size_t errlen);
/* Counts conntrack entries of both tables, stopping after budget_ns. */
int lbs_ct_count(const struct xlb_reader *r, struct lbs_ct *ct, __u64 budget_ns, char *err,
		 size_t errlen);
/* Matches cur's VIPs and backends with prev's, so rates can be computed. */
void lbs_sample_link(struct lbs_sample *cur, const struct lbs_sample *prev);
void lbs_sample_free(struct lbs_sample *s);
__u64 lbs_now_ns(int clock);

/* Per second over the sample's interval; negative when unknown (first sample, reset counter). */
double lbs_vip_rate(const struct lbs_sample *s, const struct lbs_vip *v, unsigned int ctr);
double lbs_vip_drop_rate(const struct lbs_sample *s, const struct lbs_vip *v);
double lbs_be_rate(const struct lbs_sample *s, const struct lbs_be *b, unsigned int ctr);
double lbs_global_rate(const struct lbs_sample *s, unsigned int ctr);
/* Share of the VIP's new flows that went to the backend, in percent; negative: no flows yet. */
double lbs_be_share(const struct lbs_sample *s, const struct lbs_be *b);

/* filter.c */
/* Parses a --vip value; on error err says what is wrong. */
int lbs_vip_filter_parse(const char *s, struct lbs_vip_filter *f, char *err, size_t errlen);
bool lbs_vip_shown(const struct lbs_opts *o, const struct lbs_vip *v);
/* The VIPs the filters keep, in display order; returns their count (order is malloc'ed). */
size_t lbs_vip_order(const struct lbs_sample *s, const struct lbs_opts *o, size_t **order);
/* A VIP's backends in display order (order has room for v->n_be). */
void lbs_be_order(const struct lbs_sample *s, const struct lbs_vip *v, const struct lbs_opts *o,
		  size_t *order);
const char *lbs_sort_name(enum lbs_sort k);
int lbs_sort_parse(const char *s, enum lbs_sort *k);
const char *lbs_view_name(enum lbs_view v);
int lbs_view_parse(const char *s, enum lbs_view *v);

/* text.c */
void lbs_text_print(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o);
const char *lbs_proto_name(__u8 proto);

/* json.c */
int lbs_json_print(FILE *f, const struct lbs_sample *s, const struct lbs_opts *o);
void lbs_json_error(FILE *f, const char *msg, bool pretty);
void lbs_json_version(FILE *f, bool pretty);

/* term.c: the top-like screen of watch mode on a terminal. */
int lbs_term_begin(void);
void lbs_term_end(void);
/* Waits up to timeout_ns for a key; returns the key, 0 on timeout, -1 when asked to quit. */
int lbs_term_wait(__u64 timeout_ns);
/* Draws a frame, clipped to the terminal, over the previous one. */
void lbs_term_draw(const char *buf, size_t len);
bool lbs_term_quit_requested(void);

#endif /* LBSTAT_H */
