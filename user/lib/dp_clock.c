// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Calibrating the programs' clock (bpf/xlb_clock.h) right after the object is
 * loaded: one xlb_clock_read sample pairs a jiffies count with the
 * CLOCK_MONOTONIC time it was read at, and the kernel's HZ gives the length
 * of a jiffy. HZ comes from the kernel config libbpf read; where there is
 * none it is measured, between two jiffy edges a tenth of a second apart, and
 * taken only when it is one of the values Linux builds with. A clock that
 * cannot be calibrated leaves the programs on the coarse clock helper, which
 * is slower but reads the same time.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_internal.h"
#include "log.h"
#include "xlb.skel.h"

static int clock_sample(int fd, struct xlb_clock_sample *s)
{
	/* A syscall program's ctx comes back in ctx_in (ctx_out is refused). */
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = s, .ctx_size_in = sizeof(*s));
	int err;

	memset(s, 0, sizeof(*s));
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	return o.retval ? -EINVAL : 0;
}

/* The sample right after jiffies next moves: its ns is within a test run of the edge. */
static int clock_edge(int fd, struct xlb_clock_sample *out)
{
	struct xlb_clock_sample s0, s;
	int err = clock_sample(fd, &s0);

	if (err)
		return err;
	/* A jiffy is at most 10 ms (HZ 100); give up after 50. */
	do {
		err = clock_sample(fd, &s);
		if (err)
			return err;
		if (s.jiffies != s0.jiffies) {
			*out = s;
			return 0;
		}
	} while (s.ns - s0.ns < 50000000ull);
	return -ETIME;
}

/* HZ by measurement, snapped to what Linux builds with, or -ERANGE. */
static long clock_hz_measure(int fd)
{
	static const long known[] = { 100, 250, 300, 1000 };
	struct timespec pause = { .tv_nsec = 100000000 };
	struct xlb_clock_sample a, b;
	double hz;
	size_t i;
	int err;

	err = clock_edge(fd, &a);
	if (!err) {
		nanosleep(&pause, NULL);
		err = clock_edge(fd, &b);
	}
	if (err)
		return err;
	hz = (double)(b.jiffies - a.jiffies) * 1e9 / (double)(b.ns - a.ns);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (hz > known[i] * 0.97 && hz < known[i] * 1.03)
			return known[i];
	pr_warn("data plane clock: measured %.1f jiffies per second, not a known HZ", hz);
	return -ERANGE;
}

long xlb_dp_clock_measure_hz(struct xlb_dp *dp)
{
	int fd = bpf_program__fd(dp->skel->progs.xlb_clock_read);

	return fd < 0 ? -ENOENT : clock_hz_measure(fd);
}

int xlb_dp_clock_calibrate(struct xlb_dp *dp, bool coarse)
{
	int fd = bpf_program__fd(dp->skel->progs.xlb_clock_read);
	struct xlb_clock_sample s;
	__u64 jns;
	long hz;
	int err;

	if (coarse || fd < 0) {
		dp->skel->bss->xlb_clk_jiffy_ns = 0;
		dp->jiffy_ns = 0;
		return coarse ? 0 : -ENOENT;
	}
	err = clock_sample(fd, &s);
	if (err)
		return err;
	hz = s.hz ? (long)s.hz : clock_hz_measure(fd);
	if (hz <= 0)
		return hz ? (int)hz : -EINVAL;
	if (!s.hz) {
		err = clock_sample(fd, &s);
		if (err)
			return err;
	}
	jns = (1000000000ull + hz / 2) / hz; /* the kernel's TICK_NSEC */
	/*
	 * The last jiffy began up to one jiffy before s.ns: starting the count a
	 * jiffy early keeps the programs' clock from running ahead of user space's
	 * (an entry is never older here than there), at most two jiffies behind.
	 */
	dp->skel->bss->xlb_clk_jiffy_ns = 0; /* running programs see the coarse clock meanwhile */
	dp->skel->bss->xlb_clk_j0 = s.jiffies;
	dp->skel->bss->xlb_clk_ns0 = s.ns - jns;
	__atomic_store_n(&dp->skel->bss->xlb_clk_jiffy_ns, jns, __ATOMIC_RELEASE);
	dp->jiffy_ns = jns;
	return 0;
}

__u64 xlb_dp_clock_jiffy_ns(const struct xlb_dp *dp)
{
	return dp->jiffy_ns;
}
