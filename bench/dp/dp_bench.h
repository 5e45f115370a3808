/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane benchmark's two files share: dp_bench.c sets up the
 * namespace and the data plane, times the one-CPU cases and prints every
 * result; dp_full.c fills conntrack until it evicts, times new flows into the
 * full table (with and without a flood budget) and runs the two-CPU cases.
 */
#ifndef XLB_DP_BENCH_H
#define XLB_DP_BENCH_H

#include <sched.h>
#include <stdbool.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "xlb_bench.h"

#define NFLOWS_1M (1u << 20)
/* Flow numbers stay below 2^29 (xlb_bench.h): the new-flow cases split that over the CPUs. */
#define NFLOWS_ALL (1u << 29)

struct xlb_dp;
struct xlb_bench_bpf;

/* The run's state: the data plane, the wrapper and its maps, the options. */
struct bench {
	struct xlb_dp *dp;
	struct xlb_bench_bpf *sk;
	char pin[80];
	int ifindex;
	int fd_wrap; /* the wrapper program */
	int fd_target; /* its tail-call slot: xlb_xdp, or the floor */
	int fd_cfg;
	int fd_seq;
	int ncpus; /* possible CPUs: the size of a per-CPU map's value */
	cpu_set_t allowed; /* the CPUs this process may run on */
	int nonline; /* how many */
	int cpu[2]; /* the first two of them: where the one- and two-CPU cases run */
	__u32 trials;
	__u32 repeat;
	__u32 full_size; /* xlb_ct4 entries asked for in the full-table cases */
	__u32 *samples; /* one per trial */
	__u32 floor_ns; /* one CPU */
	__u32 floor2_ns; /* each of two CPUs at once */
	__u32 est_ns; /* established TCP, one flow: what the goals compare with */
	int json_only;
	const char *only;
};

/* A timed case, its row of the suite's case tables and its service. */
struct bench_case {
	const char *name; /* as in BENCHMARKS.json, which bench/report.py reads */
	const char *what;
	const char *row; /* the suite's case whose frame is sent */
	const char *vip; /* the service it goes to (for a reply: comes from) */
	__u32 nflows; /* 0: one flow */
	bool warm; /* send the opening packet first even if the row does not say .prime */
};

/* What one timed case measured. */
struct bench_res {
	__u32 ns, min, max; /* per packet: median, min and max of the trials */
	__u32 retval; /* the last run's verdict */
	__u64 pkts; /* packets timed, all CPUs */
	__u64 ev[XLB_CNT_MAX]; /* xlb_stats counters they moved, all CPUs */
};

/* dp_bench.c */
int bench_open(struct bench *b, __u32 ct_size, __u8 ct_lru, const char *tag);
void bench_close(struct bench *b);
int bench_frame(const struct bench *b, const struct bench_case *bc, struct xlb_bench_cfg *cfg);
int bench_arm(const struct bench *b, int prog_fd, const struct xlb_bench_cfg *cfg, bool reset);
int bench_run(const struct bench *b, const struct xlb_bench_cfg *cfg, __u32 repeat,
	      __u32 *retval, __u32 *ns);
int bench_stats(const struct bench *b, __u64 *sum);
int bench_pin(int cpu);
int bench_time(struct bench *b, const struct xlb_bench_cfg *cfg, struct bench_res *r);
void bench_print(const struct bench *b, const struct bench_case *bc, const struct bench_res *r,
		 __u32 floor_ns, const char *extra);
const char *bench_lru_name(__u8 ct_lru);

/* dp_full.c */
int bench_full(struct bench *b, __u8 ct_lru);

#endif /* XLB_DP_BENCH_H */
