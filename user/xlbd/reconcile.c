// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The reconciler: the one place that decides what the maps should hold and
 * writes it. It starts from what is pinned (read back, never flushed), puts
 * the static VIPs in at once, and leaves everything else alone until Marathon
 * has answered; from then on each Marathon state, merged with the static VIPs
 * and passed through the safety guard, is diffed against what was last
 * written and applied with the fewest writes. A periodic read-back of the maps
 * catches anything that changed them behind our back. Calls go one way: the
 * Marathon source calls in with a state, and what the reconciler needs from it
 * afterwards (a retry after failed writes, a resync to confirm a held change)
 * goes back as the answer, for the source to schedule; without Marathon the
 * reconciler retries on its own map-check timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "log.h"
#include "xlbd.h"

#define RETRY_MS 5000

/*
 * Conflicts between the config file and Marathon come back on every sync: each
 * is said once at warning level, then at debug while it lasts.
 */
#define MAX_CONFLICTS 256

struct conflicts {
	__u64 seen[MAX_CONFLICTS], now[MAX_CONFLICTS];
	size_t n_seen, n_now;
};

static struct conflicts conflicts;

static __u64 msg_hash(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static void warn_cb(void *ctx, const char *msg)
{
	struct conflicts *c = ctx;
	__u64 h = msg_hash(msg);
	size_t i;

	for (i = 0; i < c->n_seen && c->seen[i] != h; i++)
		;
	if (i < c->n_seen)
		pr_debug("%s", msg);
	else
		pr_warn("%s", msg);
	if (c->n_now < MAX_CONFLICTS)
		c->now[c->n_now++] = h;
}

static void stats_vips(struct xlbd *d)
{
	pthread_mutex_lock(&d->stats.lock);
	d->stats.vips_static = d->cfg.vips.nr_vips;
	d->stats.vips_marathon = d->mara_ok ? d->mara.nr_vips : 0;
	pthread_mutex_unlock(&d->stats.lock);
}

static int reread(struct xlbd *d)
{
	struct xlb_plan_state st;
	int err;

	err = xlb_plan_state_read(d->dp, &st);
	if (err) {
		pr_err("read the maps under %s: %s", d->cfg.pin_path, strerror(-err));
		return err;
	}
	xlb_plan_state_free(&d->applied);
	d->applied = st;
	d->applied_from_maps = true;
	return 0;
}

/*
 * Diffs and applies want; on success want becomes the applied state (ownership
 * moves), on a partial failure the maps are read back and *retry is set: the
 * caller must arrange another round in RETRY_MS, which then writes exactly what
 * is missing. what names the round in the log line.
 */
static int apply(struct xlbd *d, struct xlb_plan_state *want, bool allow_delete, const char *what,
		 bool *retry)
{
	struct xlb_plan plan;
	__u64 t0 = xlbd_now_us();
	char counts[192];
	__u32 changes, held;
	int err, failed;

	*retry = false;
	err = xlb_plan_diff(&d->applied, want, allow_delete, &plan);
	if (err)
		return err;
	changes = xlb_plan_changes(&plan.counts);
	held = plan.counts.deletes_held;
	failed = xlb_plan_apply(d->dp, &plan);
	xlb_plan_counts_str(&plan.counts, counts, sizeof(counts));
	xlb_plan_free(&plan);
	if (failed < 0)
		return failed;
	if (failed) {
		pr_err("reconcile (%s): %d of the writes failed (see above); retrying in %d s",
		       what, failed, RETRY_MS / 1000);
		pthread_mutex_lock(&d->stats.lock);
		d->stats.apply_failures_total += failed;
		pthread_mutex_unlock(&d->stats.lock);
		reread(d);
		/* --once has no next round: the caller must learn the maps are not what it asked. */
		if (d->once)
			d->exit_code = XLBD_EXIT_FAIL;
		/* Without a retry a map that was full would stay wrong until the next event. */
		*retry = true;
	} else if (held) {
		/* The maps hold want plus what was kept: read them rather than guess. */
		reread(d);
	} else {
		xlb_plan_state_free(&d->applied);
		d->applied = *want;
		xlb_plan_state_init(want);
		d->applied_from_maps = false;
	}
	pthread_mutex_lock(&d->stats.lock);
	d->stats.map_changes_total += changes;
	pthread_mutex_unlock(&d->stats.lock);
	if (changes || !d->first_reconcile_done || failed)
		pr_info("reconciled: %u changes (%s; %s) in %.1f ms", changes, what, counts,
			(xlbd_now_us() - t0) / 1000.0);
	else
		pr_debug("reconciled: 0 changes (%s)", what);
	return failed ? -EIO : 0;
}

static void full_check(struct xlbd *d, void *arg)
{
	struct xlb_plan_state want;
	bool retry;
	int err;

	(void)arg;
	if (d->cfg.marathon.resync_interval_s)
		xlbd_timer_set(&d->full_check,
			       xlbd_now_ms() + (__u64)d->cfg.marathon.resync_interval_s * 1000);
	if (reread(d))
		return;
	/*
	 * With Marathon, its own periodic resync reconciles against the state just
	 * read; without it, the static VIPs are the whole truth and go back now.
	 */
	if (d->cfg.marathon.nr_urls)
		return;
	err = xlb_plan_state_copy(&want, &d->cfg.vips);
	if (!err)
		apply(d, &want, true, "periodic check, static config", &retry);
	if (!err && retry)
		xlbd_timer_at_most(&d->full_check, RETRY_MS);
	xlb_plan_state_free(&want);
}

int xlbd_reconcile_start(struct xlbd *d)
{
	struct xlb_plan_state want;
	bool marathon = d->cfg.marathon.nr_urls > 0;
	char what[128];
	bool retry;
	int err;

	xlb_plan_state_init(&d->applied);
	xlb_plan_state_init(&d->mara);
	d->full_check.fn = full_check;
	d->full_check.name = "map check";
	err = xlbd_timer_add(d, &d->full_check);
	if (err)
		return err;
	if (d->cfg.marathon.resync_interval_s)
		xlbd_timer_set(&d->full_check,
			       xlbd_now_ms() + (__u64)d->cfg.marathon.resync_interval_s * 1000);
	err = reread(d);
	if (err)
		return err;
	err = xlb_plan_state_copy(&want, &d->cfg.vips);
	if (err)
		return err;
	if (marathon) {
		size_t kept = 0, i;

		for (i = 0; i < d->applied.nr_vips; i++)
			kept += !xlb_plan_state_find(&d->cfg.vips, &d->applied.vips[i].key);
		snprintf(what, sizeof(what),
			 "static config; %zu other VIPs kept until Marathon answers", kept);
	} else {
		snprintf(what, sizeof(what), "static config");
	}
	/*
	 * Without Marathon the config is the whole truth and deletes are allowed;
	 * with it, a VIP in the maps may be Marathon's and must wait for its answer.
	 */
	err = apply(d, &want, !marathon, what, &retry);
	xlb_plan_state_free(&want);
	/* The Marathon source does not run yet, if there is one: the map check retries. */
	if (retry)
		xlbd_timer_at_most(&d->full_check, RETRY_MS);
	if (!marathon)
		d->first_reconcile_done = true;
	stats_vips(d);
	if (!marathon && d->once)
		d->quit = true;
	return err == -EIO ? 0 : err;
}

/* The Marathon VIPs the maps hold: the last applied set, or on start what is not static. */
static int marathon_current(struct xlbd *d, struct xlb_plan_state *out)
{
	size_t i;
	int err;

	if (d->mara_ok)
		return xlb_plan_state_copy(out, &d->mara);
	xlb_plan_state_init(out);
	for (i = 0; i < d->applied.nr_vips; i++) {
		if (xlb_plan_state_find(&d->cfg.vips, &d->applied.vips[i].key))
			continue;
		err = xlb_plan_state_add(out, &d->applied.vips[i]);
		if (err) {
			xlb_plan_state_free(out);
			return err;
		}
	}
	return 0;
}

int xlbd_reconcile_marathon(struct xlbd *d, struct xlb_plan_state *mara,
			    struct xlbd_reconcile_next *next)
{
	struct xlb_plan_guard_opts go = {
	    .max_remove_fraction = d->cfg.marathon.max_remove_fraction,
	    .min_vips = d->cfg.marathon.min_vips,
	    .confirm_syncs = d->cfg.marathon.confirm_syncs,
	};
	struct xlb_plan_state cur, want;
	enum xlb_plan_verdict v;
	char why[160], what[160];
	bool retry = false;
	int err;

	*next = (struct xlbd_reconcile_next){.what = XLBD_NEXT_DONE};
	err = marathon_current(d, &cur);
	if (err)
		goto out;
	v = xlb_plan_guard_check(&d->guard, &go, &cur, mara, why, sizeof(why));
	xlb_plan_state_free(&cur);
	if (v == XLB_PLAN_HOLD) {
		pr_warn("SAFETY: Marathon's answer %s; keeping the current state until %u "
			"consecutive syncs agree (%u so far), next check in %u ms",
			why, go.confirm_syncs, d->guard.streak, d->cfg.marathon.confirm_delay_ms);
		pthread_mutex_lock(&d->stats.lock);
		d->stats.safety_holding = true;
		d->stats.safety_holds_total++;
		pthread_mutex_unlock(&d->stats.lock);
		next->what = XLBD_NEXT_CONFIRM;
		next->delay_ms = d->cfg.marathon.confirm_delay_ms;
		xlb_plan_state_free(mara);
		return 1;
	}
	if (v == XLB_PLAN_APPLY_CONFIRMED)
		pr_warn("SAFETY: Marathon's answer %s, confirmed by %u consecutive syncs: applying",
			why, go.confirm_syncs);
	pthread_mutex_lock(&d->stats.lock);
	d->stats.safety_holding = false;
	pthread_mutex_unlock(&d->stats.lock);
	conflicts.n_now = 0;
	err = xlb_plan_merge(&d->cfg.vips, mara, &want, warn_cb, &conflicts);
	memcpy(conflicts.seen, conflicts.now, conflicts.n_now * sizeof(conflicts.now[0]));
	conflicts.n_seen = conflicts.n_now;
	if (err)
		goto out;
	snprintf(what, sizeof(what), "marathon: %zu services, %zu backends; static: %zu VIPs",
		 mara->nr_vips, xlb_plan_state_backends(mara), d->cfg.vips.nr_vips);
	err = apply(d, &want, true, what, &retry);
	xlb_plan_state_free(&want);
	if (retry) {
		next->what = XLBD_NEXT_RETRY;
		next->delay_ms = RETRY_MS;
	}
	/* Even after a partial failure this is the state to converge on. */
	xlb_plan_state_free(&d->mara);
	d->mara = *mara;
	xlb_plan_state_init(mara);
	d->mara_ok = true;
	d->first_reconcile_done = true;
	stats_vips(d);
	if (d->once)
		d->quit = true;
out:
	xlb_plan_state_free(mara);
	return err;
}

void xlbd_reconcile_fini(struct xlbd *d)
{
	xlb_plan_state_free(&d->applied);
	xlb_plan_state_free(&d->mara);
}
