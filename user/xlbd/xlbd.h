/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlbd's shared state and the interfaces between its units: the event loop
 * (one thread: epoll over a timerfd, a signalfd and libcurl's sockets), the
 * reconciler that turns the sources' desired state into map writes, the
 * Marathon source, the health cache and /metrics (which runs in libmicrohttpd's
 * thread and reads only the maps and the stats block below, under its lock).
 * Calls go one way: main starts the units; the source calls the reconciler
 * and schedules what its answer asks for; the loop calls back only what was
 * registered with it (timers, fds, the SIGHUP hook), never a unit by name.
 */
#ifndef XLBD_H
#define XLBD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "config.h"
#include "planner.h"

#define XLBD_EXIT_OK 0
#define XLBD_EXIT_FAIL 1
#define XLBD_EXIT_USAGE 2 /* bad command line or configuration */

struct xlb_dp;
struct xlbd;
struct xlbd_marathon;
struct xlbd_metrics;

/* ---- loop.c ---- */

typedef void (*xlbd_timer_fn)(struct xlbd *d, void *arg);

struct xlbd_timer {
	__u64 due_ms; /* CLOCK_MONOTONIC ms; 0: not armed */
	xlbd_timer_fn fn;
	void *arg;
	const char *name;
};

/* An fd in the loop calls fn with the epoll events that fired. */
typedef void (*xlbd_fd_fn)(struct xlbd *d, int fd, __u32 events, void *arg);

/* What SIGHUP asks for: a full resync, from whichever source registered for it. */
typedef void (*xlbd_hup_fn)(struct xlbd *d, void *arg);

#define XLBD_MAX_TIMERS 16

__u64 xlbd_now_ms(void);
__u64 xlbd_now_us(void);
double xlbd_wall_s(void);
int xlbd_loop_init(struct xlbd *d);
void xlbd_loop_fini(struct xlbd *d);
/* Registers a timer (once, at start); it stays disarmed until xlbd_timer_set. */
int xlbd_timer_add(struct xlbd *d, struct xlbd_timer *t);
void xlbd_timer_set(struct xlbd_timer *t, __u64 due_ms);
/* Arms t for now + delay_ms unless it is already due earlier. */
void xlbd_timer_at_most(struct xlbd_timer *t, __u64 delay_ms);
/* Adds, changes (events != 0) or removes (events == 0) an fd. */
int xlbd_loop_fd(struct xlbd *d, int fd, __u32 events, xlbd_fd_fn fn, void *arg);
/* Registers (fn != NULL) or removes the one SIGHUP hook. */
void xlbd_loop_on_hup(struct xlbd *d, xlbd_hup_fn fn, void *arg);
/* Runs until SIGTERM/SIGINT (or d->quit). */
int xlbd_loop_run(struct xlbd *d);

/* ---- stats shared with /metrics ---- */

#define XLBD_LAT_BUCKETS 16

struct xlbd_stats {
	pthread_mutex_t lock;
	/* Marathon source */
	bool marathon_configured;
	bool stream_connected;
	char leader_url[256];	/* the URL the stream is connected to, credentials removed */
	double last_sync_ok_ts; /* wall clock of the last good sync, 0: never */
	__u64 syncs_total;
	__u64 sync_errors_total;
	__u64 events_total; /* SSE events received, all types */
	__u64 events_relevant_total;
	__u64 stream_connects_total;
	__u64 fetch_bytes_total;
	double last_sync_duration_s;
	__u64 apps, pods, tasks, services;
	bool safety_holding;
	__u64 safety_holds_total;
	/* reconciler */
	__u64 map_changes_total;
	__u64 apply_failures_total;
	__u64 vips_static, vips_marathon;
	/* event-to-map latency histogram: upper bounds in seconds, cumulative at export */
	__u64 lat_counts[XLBD_LAT_BUCKETS + 1]; /* last: +Inf */
	double lat_sum;
	__u64 lat_count;
	__u64 health_cache_entries;
	__u64 health_cache_used; /* tasks whose health came from the cache in the last sync */
	/* conntrack sweep (ct_gc.c) */
	__u64 ct_gc_calls_total;
	__u64 ct_gc_passes_total; /* sweeps of both tables finished */
	__u64 ct_gc_errors_total;
	__u64 ct_gc_expired_total; /* entries past their lifetime deleted */
	double ct_gc_pass_busy_s;  /* time the last finished sweep spent in its calls */
	/* What the last finished sweep found, [0] xlb_ct4, [1] xlb_ct6; ct_counted: one has. */
	bool ct_counted;
	__u64 ct_live[2];  /* entries alive */
	__u64 ct_reply[2]; /* of those, reply entries (flows to a shared endpoint) */
};

extern const double xlbd_lat_bounds[XLBD_LAT_BUCKETS];
void xlbd_stats_latency(struct xlbd_stats *s, double seconds);

/* ---- the daemon ---- */

struct xlbd {
	struct xlb_cfg cfg;
	struct xlb_dp *dp;
	bool once;  /* --once: exit after the first full reconcile */
	bool no_dp; /* never set in the daemon; lets parts run without maps */

	/* loop.c */
	int epfd, tfd, sfd;
	bool quit;
	int exit_code;
	struct xlbd_timer *timers[XLBD_MAX_TIMERS];
	int nr_timers;
	__u64 armed_ms;
	xlbd_hup_fn hup_fn;
	void *hup_arg;

	/* reconcile.c */
	struct xlb_plan_state applied; /* what the maps hold, as far as we know */
	bool applied_from_maps;	       /* applied was read back, not written by us */
	struct xlb_plan_state mara;    /* the Marathon VIPs last applied */
	bool mara_ok;		       /* Marathon has delivered a good snapshot at least once */
	struct xlb_plan_guard guard;
	bool first_reconcile_done;
	struct xlbd_timer full_check; /* periodic read-back of the maps */

	/* ct_gc.c */
	struct xlbd_ct_gc_state {
		struct xlbd_timer timer;
		__u64 pass_start_us; /* 0: no sweep under way */
		__u64 pass_busy_us;
		__u64 pass_expired;
	} ct_gc;

	struct xlbd_marathon *marathon;
	struct xlbd_metrics *metrics;
	struct xlbd_stats stats;
};

/* ---- reconcile.c ---- */

/* Reads the maps, applies the static VIPs (no deletes until sources report). */
int xlbd_reconcile_start(struct xlbd *d);
/* What the reconciler needs from the source after a state, for the source to schedule. */
enum xlbd_next_kind {
	XLBD_NEXT_DONE = 0, /* nothing: the next event or periodic resync will do */
	XLBD_NEXT_RETRY,    /* writes failed: full resync in delay_ms so they are retried */
	XLBD_NEXT_CONFIRM,  /* held by the safety guard: full resync in delay_ms to confirm */
};

struct xlbd_reconcile_next {
	enum xlbd_next_kind what;
	__u32 delay_ms;
};

/*
 * A new Marathon state (finished, source MARATHON). Takes ownership of *mara.
 * Returns 0 when applied, 1 when held by the safety guard, or -errno; *next
 * always says what the caller must schedule (also after -EIO: some writes failed).
 */
int xlbd_reconcile_marathon(struct xlbd *d, struct xlb_plan_state *mara,
			    struct xlbd_reconcile_next *next);
void xlbd_reconcile_fini(struct xlbd *d);

/* ---- marathon.c ---- */

/* Starts the source; it registers its timers, sockets and the SIGHUP hook with the loop. */
int xlbd_marathon_start(struct xlbd *d);
void xlbd_marathon_stop(struct xlbd *d);

/* ---- health.c: last known health per task, for leader failovers ---- */

struct xlbd_health;
int xlbd_health_new(struct xlbd_health **out, __u32 hold_s);
void xlbd_health_free(struct xlbd_health *h);
/* mara_model.h callbacks (struct xlb_mara_opts); ctx is the struct xlbd_health. */
int xlbd_health_lookup(void *ctx, const char *task_id);
void xlbd_health_store(void *ctx, const char *task_id, bool alive);
/* Starts a model build pass: sets "now" and clears the per-pass counters. */
void xlbd_health_begin(struct xlbd_health *h, __u64 now_ms);
/* Ends a pass: forgets entries older than the hold time; returns the earliest expiry of an entry
 * used. */
__u64 xlbd_health_end(struct xlbd_health *h, __u64 *used, __u64 *entries);

/* ---- ct_gc.c: the conntrack sweep ---- */

/* A sweep of both tables every XLBD_CT_GC_MS, in calls XLBD_CT_GC_CHUNK_MS apart. */
#define XLBD_CT_GC_MS 5000
#define XLBD_CT_GC_CHUNK_MS 20

/* Registers the sweep's timer; the first sweep starts at once. */
int xlbd_ct_gc_start(struct xlbd *d);

/* ---- metrics.c ---- */

int xlbd_metrics_start(struct xlbd *d);
void xlbd_metrics_stop(struct xlbd *d);

/* ---- main.c ---- */

/* "http://user:pw@host/x" -> "http://host/x", for logs. */
const char *xlbd_url_redact(const char *url, char *buf, size_t len);

#endif /* XLBD_H */
