/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of what the benchmark wrapper program (xlb_bench.bpf.c)
 * and the data plane benchmark (bench/dp/dp_bench.c) exchange through the
 * bench_cfg map: the frame template to restore before every run and how to
 * spread the runs over flows. It lives here, beside the wrapper, and not in
 * include/xlb/: that directory is the contract of what ships (the maps an
 * installed xlbd, lbstat and the pinned programs agree on, versioned by
 * XLB_ABI_VERSION), while this layout belongs to a harness that is never loaded
 * in production and may change with the benchmark alone. The benchmark gets
 * -Ibpf for this header only.
 */
#ifndef XLB_BENCH_H
#define XLB_BENCH_H

#ifdef __bpf__
/* BPF objects are built against vmlinux.h, which already has the __u* types. */
#else
#include <linux/types.h>
#endif

/* The largest frame template; the benchmark's frames are a few dozen bytes. */
#define XLB_BENCH_PKT_MAX 128

/*
 * Flow n is client 198.18.(128 + n/256 % 64).(n % 256), port 1024 + n/16384:
 * distinct for every n below 2^29, and inside the 198.18.128.0/18 the
 * benchmark's namespace routes back to its peer. Run i on a CPU (i counts that
 * CPU's runs since the counter was last reset) sends flow
 *   base + (i % nflows) * cpus + cpu % cpus       (cpus > 1)
 *   base + i % nflows                             (cpus 0 or 1)
 * so with cpus set, CPUs running the wrapper at once never share a flow, and a
 * counter that is not reset goes on with flows never sent before. The wrapper
 * writes those two address bytes at addr_off and the port at port_off, without
 * fixing checksums (XDP does not verify them on input).
 */
struct xlb_bench_cfg {
	__u32 len; /* template length */
	__u32 nflows; /* > 1: vary the flow over this many values (per CPU) */
	__u32 base; /* first flow number */
	__u32 cpus; /* > 1: interleave the CPUs' flows as above */
	__u32 addr_off; /* offset of the two low bytes of the IPv4 address to vary */
	__u32 port_off; /* offset of the port to vary */
	__u8 pkt[XLB_BENCH_PKT_MAX];
};

#endif /* XLB_BENCH_H */
