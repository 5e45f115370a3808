/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlbd's planner: the desired state (static VIPs from the config file and the
 * services of the Marathon model) as one sorted list of VIPs with their
 * backends and names, the diff of that list against what the pinned maps hold,
 * and the writer that applies the diff through dp.h with the fewest map writes.
 * The diff is a pure function so it can be tested without a kernel; reading
 * and applying take a struct xlb_dp. A safety guard sits in front of the diff:
 * a Marathon that suddenly answers with no services, or with far fewer, is the
 * classic symptom of a leader election, not of an operator deleting every app,
 * so such a change must be seen several times in a row before it is applied.
 */
#ifndef XLB_PLANNER_H
#define XLB_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

struct xlb_dp;
struct xlb_mara_model;

/* Where a desired VIP comes from; 0 for a VIP read back from the maps. */
enum xlb_plan_source {
	XLB_PLAN_SRC_MAPS = 0,
	XLB_PLAN_SRC_STATIC = 1,
	XLB_PLAN_SRC_MARATHON = 2,
};

struct xlb_plan_backend {
	union xlb_addr addr; /* be */
	__be16 port;	     /* be */
	__u8 family;
	__u8 state;   /* XLB_BE_ACTIVE or XLB_BE_DRAINING */
	__u16 weight; /* 0 exactly when draining (see xlb_plan_state_finish) */
	/* DSR: the agent that runs it (agent_family 0: unknown), where DSR flows go. */
	__u8 agent_family;
	union xlb_addr agent; /* be */
};

struct xlb_plan_vip {
	struct xlb_vip_key key;
	__u16 flags;	  /* enum xlb_vip_flags */
	__u8 mode;	  /* enum xlb_mode; planned and written with the flags */
	__u8 source;	  /* enum xlb_plan_source */
	__u32 table_size; /* read back from the maps only: the live table's size */
	char name[XLB_META_NAME_LEN];
	char app[XLB_META_APP_LEN];
	struct xlb_plan_backend *backends; /* sorted by (family, addr, port), unique */
	size_t nr_backends;
};

/* A set of VIPs, sorted by key and unique once finished. */
struct xlb_plan_state {
	struct xlb_plan_vip *vips;
	size_t nr_vips;
	size_t cap;
};

void xlb_plan_state_init(struct xlb_plan_state *st);
void xlb_plan_state_free(struct xlb_plan_state *st);
/* Appends a VIP, copying its backends. Returns 0 or -ENOMEM. */
int xlb_plan_state_add(struct xlb_plan_state *st, const struct xlb_plan_vip *vip);
/*
 * Normalises (draining means weight 0; weight 0 means draining), sorts VIPs and
 * backends, and rejects duplicates: -EEXIST with the offending key in err.
 */
int xlb_plan_state_finish(struct xlb_plan_state *st, char *err, size_t errlen);
/* Deep copy. Returns 0 or -ENOMEM. */
int xlb_plan_state_copy(struct xlb_plan_state *dst, const struct xlb_plan_state *src);
/* Binary search on a finished state; NULL when absent. */
const struct xlb_plan_vip *xlb_plan_state_find(const struct xlb_plan_state *st,
					       const struct xlb_vip_key *key);
/* Total backends across VIPs. */
size_t xlb_plan_state_backends(const struct xlb_plan_state *st);

int xlb_plan_backend_cmp(const struct xlb_plan_backend *a, const struct xlb_plan_backend *b);

typedef void (*xlb_plan_warn_fn)(void *ctx, const char *msg);

/*
 * One desired state from two sources: static VIPs win over Marathon services
 * with the same key (each conflict is reported once through warn). Both inputs
 * must be finished; so is the output.
 */
int xlb_plan_merge(const struct xlb_plan_state *statics, const struct xlb_plan_state *marathon,
		   struct xlb_plan_state *out, xlb_plan_warn_fn warn, void *ctx);

/*
 * The Marathon model as planner VIPs: the DNS name of a named VIP becomes the
 * meta name, the app and pod ids that claim the service (comma separated,
 * shortened with "..." when they do not fit) the meta app, flags are the
 * same for every service (the configured no-backend policy), and mode is
 * datapath.mode for services whose labels chose none (the model's mode).
 */
int xlb_plan_from_marathon(const struct xlb_mara_model *model, __u16 flags, __u8 mode,
			   struct xlb_plan_state *out);

enum xlb_plan_op_kind {
	XLB_PLAN_OP_DELETE, /* VIP no longer desired */
	XLB_PLAN_OP_CREATE, /* new VIP: put, names, backends */
	XLB_PLAN_OP_UPDATE, /* existing VIP: some of flags, names, backends */
};

enum xlb_plan_op_what {
	XLB_PLAN_W_FLAGS = 1 << 0,
	XLB_PLAN_W_META = 1 << 1,
	XLB_PLAN_W_BACKENDS = 1 << 2, /* backend set, a state or a weight differs */
	XLB_PLAN_W_TABLE = 1 << 3,    /* backends equal but the live table has the wrong size */
};

struct xlb_plan_op {
	enum xlb_plan_op_kind kind;
	unsigned int what; /* enum xlb_plan_op_what, for UPDATE */
	struct xlb_vip_key key;
	const struct xlb_plan_vip *want; /* into the desired state; NULL for DELETE */
	__u32 be_add, be_change, be_remove;
};

/* What a plan does, in the units of "reconciled: N changes". */
struct xlb_plan_counts {
	__u32 vips_created;
	__u32 vips_deleted;
	__u32 vips_flags;
	__u32 vips_meta;
	__u32 backends_added;
	__u32 backends_changed; /* state or weight */
	__u32 backends_removed;
	__u32 tables_repaired;
	__u32 deletes_held; /* VIPs that were not deleted because deletes were not allowed */
};

struct xlb_plan {
	struct xlb_plan_op *ops; /* deletes first, then updates and creates in key order */
	size_t nr_ops;
	struct xlb_plan_counts counts;
};

/* The number of changes a plan makes (everything in counts but deletes_held). */
__u32 xlb_plan_changes(const struct xlb_plan_counts *c);

/*
 * Diffs cur (finished; read from the maps or the last applied state) against
 * want (finished). allow_delete false keeps VIPs that are not wanted (used
 * until every source has delivered once, so a restart never drops a VIP that
 * a slow source still has to confirm). The plan points into want: keep want
 * alive until the plan is applied and freed.
 */
int xlb_plan_diff(const struct xlb_plan_state *cur, const struct xlb_plan_state *want,
		  bool allow_delete, struct xlb_plan *plan);
void xlb_plan_free(struct xlb_plan *plan);

/*
 * Applies a plan through dp: xlb_vip_delete, xlb_vip_put, xlb_vip_meta_set and
 * xlb_vip_set_backends, each only where the plan says so. An op that fails is
 * logged by dp.c and the rest still run; returns the number of failed ops (0:
 * the maps now hold want) or -errno.
 */
int xlb_plan_apply(struct xlb_dp *dp, const struct xlb_plan *plan);

/* Reads every VIP with its flags, names, live table size and backends from the maps. */
int xlb_plan_state_read(const struct xlb_dp *dp, struct xlb_plan_state *out);

/* "vips +1 ~0 -2, backends +3 ~1 -0, names 1" into buf; returns buf. */
const char *xlb_plan_counts_str(const struct xlb_plan_counts *c, char *buf, size_t len);

/*
 * The safety guard for one source. A sync is suspicious when the maps hold
 * some of the source's VIPs and it now has none, or when it would remove more
 * than max_remove_fraction of them and they are at least min_vips. A
 * suspicious result is held back (the old state stays) until confirm_syncs
 * consecutive syncs agree; any sync that is not suspicious resets the count.
 */
struct xlb_plan_guard_opts {
	double max_remove_fraction; /* 0..1 */
	__u32 min_vips;
	__u32 confirm_syncs; /* 1: apply at once */
};

struct xlb_plan_guard {
	__u32 streak; /* consecutive suspicious syncs so far */
};

enum xlb_plan_verdict {
	XLB_PLAN_APPLY = 0,
	XLB_PLAN_HOLD = 1,
	XLB_PLAN_APPLY_CONFIRMED = 2, /* suspicious, but confirmed often enough */
};

/*
 * cur: the source's VIPs now applied; want: its VIPs after this sync. Explains
 * a suspicious result in why ("would remove 5 of 8 VIPs (62%)").
 */
enum xlb_plan_verdict xlb_plan_guard_check(struct xlb_plan_guard *g,
					   const struct xlb_plan_guard_opts *o,
					   const struct xlb_plan_state *cur,
					   const struct xlb_plan_state *want, char *why,
					   size_t whylen);

#endif /* XLB_PLANNER_H */
