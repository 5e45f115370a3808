// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The conntrack sweep: a timer of the event loop that deletes the entries
 * past their lifetime (the data plane's xlb_dp_ct_gc). The programs already
 * treat such an entry as none; deleting it gives its slot back before the LRU
 * has to evict a live flow for room, which is what keeps a full table from
 * costing established connections. One call looks at a bounded chunk of
 * entries, so a sweep of both tables is a run of calls XLBD_CT_GC_CHUNK_MS
 * apart (Marathon events and map writes go in between), and a new sweep
 * starts XLBD_CT_GC_MS after the last one finished. What a finished sweep
 * counted (live and reply entries per table) goes to the stats block: it is
 * what /metrics shows as the tables' fill, without a walk of its own. Each
 * sweep starts by refreshing the interface addresses full-NAT flows take.
 */
#include <errno.h>
#include <string.h>

#include "dp.h"
#include "dp_read.h"
#include "log.h"
#include "xlbd.h"

static void ct_gc_run(struct xlbd *d, void *arg)
{
	struct xlbd_ct_gc_state *g = arg;
	struct xlb_ct_gc out = {};
	__u64 t0 = xlbd_now_us(), expired;
	int err;

	if (!g->pass_start_us) {
		g->pass_start_us = t0;
		g->pass_expired = 0;
		/* Each sweep also follows address changes: full-NAT's sources (xlb_if_addrs). */
		err = xlb_dp_if_addrs_sync(d->dp);
		if (err)
			pr_warn("full-NAT: interface addresses: %s", strerror(-err));
	}
	err = xlb_dp_ct_gc(d->dp, xlb_tick_now(), &out);
	expired = out.v4.expired + out.v6.expired;
	g->pass_expired += expired;
	g->pass_busy_us += xlbd_now_us() - t0;
	if (err)
		/* Not fatal: the programs ignore expired entries; only their room waits. */
		pr_warn("conntrack sweep: %s; trying again in %u ms", strerror(-err),
			XLBD_CT_GC_MS);
	pthread_mutex_lock(&d->stats.lock);
	d->stats.ct_gc_calls_total++;
	if (err)
		d->stats.ct_gc_errors_total++;
	d->stats.ct_gc_expired_total += expired;
	if (!err && out.pass_done) {
		d->stats.ct_gc_passes_total++;
		d->stats.ct_counted = true;
		d->stats.ct_live[0] = out.pass_v4.live;
		d->stats.ct_reply[0] = out.pass_v4.reply;
		d->stats.ct_live[1] = out.pass_v6.live;
		d->stats.ct_reply[1] = out.pass_v6.reply;
		d->stats.ct_gc_pass_busy_s = g->pass_busy_us / 1e6;
	}
	pthread_mutex_unlock(&d->stats.lock);
	if (!err && !out.pass_done) {
		xlbd_timer_set(&g->timer, xlbd_now_ms() + XLBD_CT_GC_CHUNK_MS);
		return;
	}
	if (!err)
		pr_debug("conntrack sweep: ipv4 %llu live (%llu reply), ipv6 %llu live (%llu "
			 "reply), %llu expired deleted; %.1f ms of work over %.1f s",
			 (unsigned long long)out.pass_v4.live,
			 (unsigned long long)out.pass_v4.reply,
			 (unsigned long long)out.pass_v6.live,
			 (unsigned long long)out.pass_v6.reply,
			 (unsigned long long)g->pass_expired, g->pass_busy_us / 1000.0,
			 (xlbd_now_us() - g->pass_start_us) / 1e6);
	g->pass_start_us = 0;
	g->pass_busy_us = 0;
	xlbd_timer_set(&g->timer, xlbd_now_ms() + XLBD_CT_GC_MS);
}

int xlbd_ct_gc_start(struct xlbd *d)
{
	struct xlbd_ct_gc_state *g = &d->ct_gc;
	int err;

	memset(g, 0, sizeof(*g));
	g->timer.fn = ct_gc_run;
	g->timer.arg = g;
	g->timer.name = "conntrack sweep";
	err = xlbd_timer_add(d, &g->timer);
	if (err) {
		pr_err("conntrack sweep: no timer slot: %s", strerror(-err));
		return err;
	}
	/* The first sweep soon: until it finishes, /metrics has no fill to show. */
	xlbd_timer_set(&g->timer, xlbd_now_ms() + XLBD_CT_GC_CHUNK_MS);
	return 0;
}
