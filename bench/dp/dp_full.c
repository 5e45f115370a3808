// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * New flows into a full conntrack table, the case a SYN flood or a busy
 * balancer lives in: every insert evicts. Before anything is timed, each CPU
 * this process may use sends more new flows than its part of xlb_ct4 holds
 * (all of it with the shared LRU, max_entries / possible CPUs with the per-CPU
 * one), and the table is counted to be full. Then, with the wrapper going on
 * with flows never sent before: a new flow every packet on one CPU, recorded
 * (budgets off), and again with a flood budget the run exceeds (forwarded
 * statelessly); then two CPUs at once on disjoint flows, each its own thread
 * pinned to its CPU, which is what a shared LRU list costs against per-CPU
 * ones. Run once per LRU kind, each on a data plane of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "dp_bench.h"
#include "xlb_bench.skel.h"

/* A budget the run exceeds within its first millisecond: nearly every new flow is stateless. */
#define FLOOD_BUDGET 1000

/* How full the table was made. */
struct full_info {
	__u32 max; /* max_entries, as the kernel reports it */
	__u32 expect; /* entries a full table holds (per-CPU LRU: the lists of the CPUs used) */
	__u32 entries; /* entries counted after the fill */
	__u64 sent; /* new flows sent to fill it */
	__u8 lru;
};

static bool wanted(const struct bench *b, const char *name)
{
	return !b->only || !strncmp(name, b->only, strlen(b->only));
}

/* Entries in the map, read in batches (a 4M-entry table one key at a time takes seconds). */
static int ct_count(int fd, const struct bpf_map_info *info, __u32 *n)
{
	const __u32 batch = 65536;
	void *keys = calloc(batch, info->key_size), *vals = calloc(batch, info->value_size);
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 in = 0, out = 0, count;
	int err = -ENOMEM, first = 1;

	*n = 0;
	while (keys && vals) {
		count = batch;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &o);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		*n += count;
		if (err) {
			err = 0;
			break;
		}
		in = out;
		first = 0;
	}
	free(keys);
	free(vals);
	return err;
}

/* Fills xlb_ct4 from every CPU with the armed new-flow template; fails unless it is full. */
static int full_fill(struct bench *b, const struct xlb_bench_cfg *cfg, struct full_info *fi)
{
	int fd = xlb_dp_map_fd(b->dp, XLB_MAP_CT4), c, err;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), share, per, retval, ns;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -EINVAL;
	fi->max = info.max_entries;
	if (!(info.map_flags & BPF_F_NO_COMMON_LRU) != (fi->lru == XLB_CT_LRU_SHARED)) {
		fprintf(stderr, "dp_bench: xlb_ct4 was not made with the %s LRU asked for\n",
			bench_lru_name(fi->lru));
		return -EINVAL;
	}
	share = fi->lru == XLB_CT_LRU_PER_CPU ? fi->max / b->ncpus : fi->max / b->nonline;
	/* A quarter more than a CPU's share, so each CPU's inserts have been evicting a while. */
	per = share + share / 4 + 1024;
	for (c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &b->allowed))
			continue;
		if ((err = bench_pin(c)) || (err = bench_run(b, cfg, per, &retval, &ns)))
			return err;
		fi->sent += per;
	}
	if ((err = bench_pin(b->cpu[0])) || (err = ct_count(fd, &info, &fi->entries)))
		return err;
	/* Only the lists of CPUs that ran fill; the shared LRU keeps a few free per CPU. */
	fi->expect = fi->lru == XLB_CT_LRU_PER_CPU ? (__u64)fi->max * b->nonline / b->ncpus
						   : fi->max;
	if (fi->entries + fi->expect / 100 < fi->expect) {
		fprintf(stderr, "dp_bench: conntrack holds %u of %u after %llu new flows: not full\n",
			fi->entries, fi->expect, (unsigned long long)fi->sent);
		return -EAGAIN;
	}
	return 0;
}

static int set_budget(const struct bench *b, __u32 per_cpu, __u32 per_vip)
{
	int fd = xlb_dp_map_fd(b->dp, XLB_MAP_CONFIG);
	struct xlb_config cfg;
	__u32 zero = 0;

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &cfg))
		return -EINVAL;
	cfg.new_per_cpu = per_cpu;
	cfg.new_per_vip = per_vip;
	return bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

/* One of the two threads of a two-CPU case. */
struct par_thread {
	struct bench *b;
	const struct xlb_bench_cfg *cfg;
	pthread_barrier_t *bar;
	int cpu;
	int err;
	__u32 retval;
	__u32 *ns; /* per trial */
};

static void *par_main(void *arg)
{
	struct par_thread *t = arg;
	__u32 i;

	t->err = bench_pin(t->cpu);
	for (i = 0; i < t->b->trials; i++) {
		pthread_barrier_wait(t->bar);
		if (!t->err)
			t->err = bench_run(t->b, t->cfg, t->b->repeat, &t->retval, &t->ns[i]);
		pthread_barrier_wait(t->bar);
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : *(const __u32 *)a > *(const __u32 *)b;
}

static int cmp_double(const void *a, const void *b)
{
	return *(const double *)a < *(const double *)b ? -1 : *(const double *)a > *(const double *)b;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What a two-CPU case measured besides struct bench_res. */
struct par_res {
	__u32 ns_cpu[2]; /* median per packet on each CPU */
	double pps; /* packets per second of both, from each CPU's own time */
	double wall_pps; /* the same from the wall clock around both threads (median trial) */
};

/*
 * The armed wrapper on b->cpu[0] and b->cpu[1] at once, trial by trial (a
 * barrier starts both). r->ns is the mean of the two CPUs' medians.
 */
static int bench_par(struct bench *b, const struct xlb_bench_cfg *cfg, struct bench_res *r,
		     struct par_res *pr)
{
	struct par_thread t[2] = {};
	__u64 before[XLB_CNT_MAX];
	pthread_barrier_t bar;
	pthread_t th[2];
	double t0, *wall = calloc(b->trials, sizeof(double));
	__u32 i, k;
	int err = 0, n = 0;

	memset(r, 0, sizeof(*r));
	memset(pr, 0, sizeof(*pr));
	if (!wall || (err = bench_stats(b, before)) ||
	    sched_setaffinity(0, sizeof(b->allowed), &b->allowed)) {
		free(wall);
		return err ? err : -ENOMEM;
	}
	pthread_barrier_init(&bar, NULL, 3);
	for (k = 0; k < 2; k++) {
		t[k] = (struct par_thread){ .b = b, .cfg = cfg, .bar = &bar, .cpu = b->cpu[k] };
		t[k].ns = calloc(b->trials, sizeof(__u32));
		if (!t[k].ns || pthread_create(&th[k], NULL, par_main, &t[k]))
			break;
		n++;
	}
	for (i = 0; n == 2 && i < b->trials; i++) {
		pthread_barrier_wait(&bar);
		t0 = now_s();
		pthread_barrier_wait(&bar);
		wall[i] = now_s() - t0;
	}
	for (k = 0; k < (__u32)n; k++)
		pthread_join(th[k], NULL);
	pthread_barrier_destroy(&bar);
	err = n < 2 ? -EAGAIN : t[0].err ? t[0].err : t[1].err;
	for (k = 0; !err && k < 2; k++) {
		qsort(t[k].ns, b->trials, sizeof(__u32), cmp_u32);
		pr->ns_cpu[k] = t[k].ns[b->trials / 2];
		pr->pps += pr->ns_cpu[k] ? 1e9 / pr->ns_cpu[k] : 0;
		r->min = k ? (t[k].ns[0] < r->min ? t[k].ns[0] : r->min) : t[k].ns[0];
		r->max = t[k].ns[b->trials - 1] > r->max ? t[k].ns[b->trials - 1] : r->max;
	}
	if (!err) {
		for (i = 0; i < b->trials; i++)
			wall[i] = 2.0 * b->repeat / wall[i];
		qsort(wall, b->trials, sizeof(double), cmp_double);
		pr->wall_pps = wall[b->trials / 2];
		r->ns = (pr->ns_cpu[0] + pr->ns_cpu[1]) / 2;
		r->retval = t[0].retval;
		r->pkts = 2ull * b->trials * b->repeat;
		err = bench_stats(b, r->ev);
		for (i = 0; !err && i < XLB_CNT_MAX; i++)
			r->ev[i] -= before[i];
	}
	free(t[0].ns);
	free(t[1].ns);
	free(wall);
	bench_pin(b->cpu[0]);
	return err;
}

/* The JSON members a full-table case adds. */
static void full_extra(const struct full_info *fi, const struct par_res *pr, char *buf,
		       size_t len)
{
	int n = snprintf(buf, len, ",\"lru\":\"%s\",\"ct_max\":%u,\"ct_entries\":%u,\"ct_fill\":%llu",
			 bench_lru_name(fi->lru), fi->max, fi->entries,
			 (unsigned long long)fi->sent);

	if (pr && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n,
			 ",\"cpus\":2,\"ns_cpu\":[%u,%u],\"pps_total\":%.0f,\"wall_pps\":%.0f",
			 pr->ns_cpu[0], pr->ns_cpu[1], pr->pps, pr->wall_pps);
}

/* Both CPUs at once on the floor: what the two-CPU cases are taken against. */
static int floor_par(struct bench *b)
{
	static const struct bench_case fc = { .name = "floor_2cpu",
					      .what = "floor, two CPUs at once",
					      .row = "nat_tcp4_ack",
					      .vip = "198.18.0.10:80/tcp" };
	struct xlb_bench_cfg cfg;
	struct bench_res r;
	struct par_res pr;
	char extra[160];
	int err = bench_frame(b, &fc, &cfg);

	if (err || (err = bench_arm(b, bpf_program__fd(b->sk->progs.bench_floor), &cfg, false)) ||
	    (err = bench_par(b, &cfg, &r, &pr)))
		return err;
	b->floor2_ns = r.ns ? r.ns : 1;
	snprintf(extra, sizeof(extra), ",\"cpus\":2,\"ns_cpu\":[%u,%u],\"pps_total\":%.0f",
		 pr.ns_cpu[0], pr.ns_cpu[1], pr.pps);
	bench_print(b, &fc, &r, b->floor2_ns, extra);
	return 0;
}

/* The one-CPU rows of this LRU kind: recorded, and (per-CPU LRU, the default) over a budget. */
static int full_one(struct bench *b, const struct bench_case *bc, const struct bench_case *sc,
		    const struct xlb_bench_cfg *cfg, const struct full_info *fi)
{
	struct bench_res r;
	char extra[256];
	int err;

	if (wanted(b, bc->name)) {
		if ((err = bench_time(b, cfg, &r)))
			return err;
		full_extra(fi, NULL, extra, sizeof(extra));
		bench_print(b, bc, &r, b->floor_ns, extra);
	}
	if (!sc || !wanted(b, sc->name))
		return 0;
	if ((err = set_budget(b, FLOOD_BUDGET, FLOOD_BUDGET)) || (err = bench_time(b, cfg, &r)) ||
	    (err = set_budget(b, 0, 0)))
		return err;
	full_extra(fi, NULL, extra, sizeof(extra));
	snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		 ",\"new_per_cpu\":%u,\"new_per_vip\":%u", FLOOD_BUDGET, FLOOD_BUDGET);
	bench_print(b, sc, &r, b->floor_ns, extra);
	return 0;
}

/* The full-table cases of one LRU kind, on a data plane of their own. */
int bench_full(struct bench *b, __u8 lru)
{
	const int pcpu = lru == XLB_CT_LRU_PER_CPU;
	const struct bench_case one = {
		.name = pcpu ? "tcp_new_flow_full" : "tcp_new_flow_full_shared",
		.what = pcpu ? "new TCP flow into a full table (per-CPU LRU)"
			     : "new TCP flow into a full table (shared LRU)",
		.row = "nat_tcp4_syn_no_options", .vip = "198.18.0.13:80/tcp", .nflows = NFLOWS_ALL
	};
	const struct bench_case stateless = {
		.name = "tcp_new_flow_stateless",
		.what = "new TCP flow over the flood budget (stateless)",
		.row = one.row, .vip = one.vip, .nflows = NFLOWS_ALL
	};
	const struct bench_case two = {
		.name = pcpu ? "tcp_new_flow_full_2cpu_percpu" : "tcp_new_flow_full_2cpu_shared",
		.what = pcpu ? "new flows into a full table, two CPUs at once (per-CPU LRU)"
			     : "new flows into a full table, two CPUs at once (shared LRU)",
		.row = one.row, .vip = one.vip, .nflows = NFLOWS_ALL
	};
	struct full_info fi = { .lru = lru };
	struct xlb_bench_cfg cfg;
	struct bench_res r;
	struct par_res pr;
	char extra[320];
	int err, par = b->cpu[1] >= 0 && wanted(b, two.name);

	if (!wanted(b, one.name) && !(pcpu && wanted(b, stateless.name)) && !par)
		return 0;
	if (bench_open(b, b->full_size, lru, pcpu ? "full-percpu" : "full-shared"))
		return -1;
	/* Every CPU its own flows, numbered on from the fill: no packet finds its flow. */
	if ((err = bench_frame(b, &one, &cfg)))
		return err;
	cfg.cpus = b->ncpus;
	cfg.nflows = NFLOWS_ALL / cfg.cpus;
	if ((err = bench_arm(b, xlb_dp_prog_fd(b->dp, XLB_PROG_XDP), &cfg, true)) ||
	    (err = full_fill(b, &cfg, &fi)) ||
	    (err = full_one(b, &one, pcpu ? &stateless : NULL, &cfg, &fi)))
		return err;
	if (b->cpu[1] < 0 && wanted(b, two.name))
		fprintf(stderr, "dp_bench: one CPU only: no two-CPU case\n");
	if (!par)
		goto out;
	if (!b->floor2_ns && (err = floor_par(b)))
		return err;
	if ((err = bench_arm(b, xlb_dp_prog_fd(b->dp, XLB_PROG_XDP), &cfg, false)) ||
	    (err = bench_par(b, &cfg, &r, &pr)))
		return err;
	full_extra(&fi, &pr, extra, sizeof(extra));
	bench_print(b, &two, &r, b->floor2_ns, extra);
out:
	bench_close(b);
	return 0;
}
