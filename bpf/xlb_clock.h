/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's clock (abi.h's XLB_TICKs): CLOCK_MONOTONIC in units of
 * 2^20 ns, derived from jiffies. bpf_jiffies64() is a load the verifier
 * inlines, where bpf_ktime_get_coarse_ns() is a helper call that cost every
 * packet about 10 ns; jiffies count from an arbitrary origin at the kernel's
 * HZ, so user space calibrates the conversion after loading the object
 * (user/lib/dp_clock.c, from xlb.bpf.c's xlb_clock_read) and writes it into the
 * three globals. Until it has, the coarse clock is read instead.
 */
#ifndef XLB_CLOCK_H
#define XLB_CLOCK_H

#include "xlb_common.h"

extern unsigned long CONFIG_HZ __kconfig __weak;

/* jiffies at calibration, CLOCK_MONOTONIC ns it stands for, ns per jiffy (0: none yet). */
__u64 xlb_clk_j0;
__u64 xlb_clk_ns0;
__u64 xlb_clk_jiffy_ns;

static __always_inline __u32 xlb_now(void)
{
	__u64 jns = xlb_clk_jiffy_ns;

	if (jns)
		return (__u32)(((bpf_jiffies64() - xlb_clk_j0) * jns + xlb_clk_ns0) >>
			       XLB_TICK_SHIFT);
	return bpf_ktime_get_coarse_ns() >> XLB_TICK_SHIFT;
}

#endif /* XLB_CLOCK_H */
