// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The conntrack sweep: a timer of the event loop that every XLBD_CT_GC_MS
 * deletes the entries past their lifetime (the data plane's xlb_dp_ct_gc).
 * The programs already treat such an entry as none; deleting it gives its
 * slot back before the LRU has to evict a live flow for room, which is what
 * keeps a full table from costing established connections. The sweep runs in
 * the loop's thread like every other map write; what it found goes to the
 * stats block, for /metrics, and to the debug log.
 */
#include <errno.h>
#include <string.h>

#include "dp.h"
#include "dp_read.h"
#include "log.h"
#include "xlbd.h"

static void ct_gc_run(struct xlbd *d, void *arg)
{
	struct xlb_ct_gc out = {};
	__u64 t0 = xlbd_now_us(), us;
	int err;

	(void)arg;
	err = xlb_dp_ct_gc(d->dp, xlb_tick_now(), &out);
	us = xlbd_now_us() - t0;
	if (err) {
		/* Not fatal: the programs ignore expired entries; only their room waits. */
		pr_warn("conntrack sweep: %s (scanned %llu entries, deleted %llu)", strerror(-err),
			(unsigned long long)out.scanned, (unsigned long long)out.expired);
	} else {
		pr_debug("conntrack sweep: scanned %llu entries, deleted %llu expired, %.1f ms",
			 (unsigned long long)out.scanned, (unsigned long long)out.expired,
			 us / 1000.0);
	}
	pthread_mutex_lock(&d->stats.lock);
	d->stats.ct_gc_runs_total++;
	if (err)
		d->stats.ct_gc_errors_total++;
	d->stats.ct_gc_expired_total += out.expired;
	d->stats.ct_gc_scanned_last = out.scanned;
	d->stats.ct_gc_last_duration_s = us / 1e6;
	pthread_mutex_unlock(&d->stats.lock);
	xlbd_timer_set(&d->ct_gc, xlbd_now_ms() + XLBD_CT_GC_MS);
}

int xlbd_ct_gc_start(struct xlbd *d)
{
	int err;

	d->ct_gc.fn = ct_gc_run;
	d->ct_gc.name = "conntrack sweep";
	err = xlbd_timer_add(d, &d->ct_gc);
	if (err) {
		pr_err("conntrack sweep: no timer slot: %s", strerror(-err));
		return err;
	}
	xlbd_timer_set(&d->ct_gc, xlbd_now_ms() + XLBD_CT_GC_MS);
	return 0;
}
