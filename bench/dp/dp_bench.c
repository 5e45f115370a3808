// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Data plane benchmark: nanoseconds per packet of xlb_xdp through
 * BPF_PROG_TEST_RUN, case by case, and how many of them are above a bare
 * "return XDP_TX" floor measured in the same run through the same
 * frame-restoring wrapper (bpf/xlb_bench.bpf.c). The floor itself differs
 * several-fold between machines of one kind, so the figures to compare are the
 * nanoseconds above it, and the floor is printed beside them. It runs in a
 * private network namespace with a veth and permanent neighbours, so every
 * forwarded packet takes the full path: parse, lookups, NAT, next hop, MAC
 * rewrite, XDP_TX. Prints a table and one JSON line per case; medians of N
 * trials; each case also says which of xlb's counters its packets moved, so a
 * case that measures something else than it claims shows it. Every packet is a
 * row of the BPF suite's case tables (tests/bpf/cases.h), built for this
 * namespace's addresses, so what is timed is a packet whose outcome the suite
 * checks. This file has the one-CPU cases on a big table; dp_full.c the
 * new-flow cases into a full table and the two-CPU cases.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cases.h"
#include "dp.h"
#include "dp_bench.h"
#include "log.h"
#include "xlb_bench.skel.h"

#define CLIENT "198.18.128.0" /* flow 0 of xlb_bench.h's numbering */
#define CLIENT_PORT 1024
#define NON_VIP "198.18.3.3"
/* Conntrack size of the one-CPU cases: room for their 1M flows on one CPU's share. */
#define CT_SIZE_BIG (4u << 20)

/* The floor runs the established-flow frame through "return XDP_TX". */
static const struct bench_case floor_case = { .name = "floor", .what = "wrapper + return XDP_TX",
					      .row = "nat_tcp4_ack",
					      .vip = "198.18.0.10:80/tcp" };

/*
 * Each service has backends of its own (their own ports): backends shared by
 * two VIPs would record a reply entry per flow, which is not the common case.
 */
static const struct bench_case cases[] = {
	{ .name = "tcp_established_1flow", .what = "established TCP, one flow",
	  .row = "nat_tcp4_ack", .vip = "198.18.0.10:80/tcp" },
	{ .name = "tcp_established_1m", .what = "established TCP (ACK), 1M flows",
	  .row = "nat_tcp4_ack", .vip = "198.18.0.10:80/tcp", .nflows = NFLOWS_1M },
	/* A VIP of its own, so the SYN finds only its own flow recorded. */
	{ .name = "tcp_syn_1flow", .what = "SYN on one flow, again and again (a recorded tuple)",
	  .row = "nat_tcp4_syn_recorded", .vip = "198.18.0.13:80/tcp", .warm = true },
	{ .name = "udp_1flow", .what = "UDP, one flow", .row = "nat_udp4_established",
	  .vip = "198.18.0.11:53/udp" },
	{ .name = "udp_1m", .what = "UDP, 1M flows", .row = "nat_udp4_established",
	  .vip = "198.18.0.11:53/udp", .nflows = NFLOWS_1M },
	{ .name = "reply_1flow", .what = "reply translation, one flow", .row = "reply_tcp4_ack",
	  .vip = "198.18.0.12:80/tcp" },
	{ .name = "reply_1m", .what = "reply translation, 1M flows", .row = "reply_tcp4_ack",
	  .vip = "198.18.0.12:80/tcp", .nflows = NFLOWS_1M },
	{ .name = "non_vip", .what = "non-VIP TCP packet (passed to the kernel)",
	  .row = "tcp4_ack_not_vip", .vip = "198.18.0.10:80/tcp" },
};

/* The services: key, backend port, how many of the backends. */
static const struct {
	const char *key;
	__u16 port;
	int n;
} vips[] = {
	{ "198.18.0.10:80/tcp", 8080, 3 },
	{ "198.18.0.13:80/tcp", 8081, 3 },
	{ "198.18.0.11:53/udp", 5353, 3 },
	/* One backend, so every reply in the bench comes from the backend its flow chose. */
	{ "198.18.0.12:80/tcp", 8082, 1 },
};

static const char *const backends[] = { "198.18.2.11", "198.18.2.12", "198.18.2.13" };
static const __u8 mac_lb[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 mac_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static const char *const event_names[] = {
#define XLB_X_EVENT(e, h) #e,
	XLB_EVENTS(XLB_X_EVENT)
#undef XLB_X_EVENT
};

const char *bench_lru_name(__u8 ct_lru)
{
	return ct_lru == XLB_CT_LRU_SHARED ? "shared" : "per_cpu";
}

/*
 * This namespace as the suite's frame builder sees it: clients, backends and
 * routers all sit behind the one veth peer; a reply comes from backends[0] at
 * its service's backend port.
 */
static int bench_env(const struct bench_case *bc, int ifindex, struct t_case_env *e)
{
	char err[128];
	size_t i;

	memset(e, 0, sizeof(*e));
	if (xlb_vip_key_parse(bc->vip, &e->vip, err, sizeof(err))) {
		fprintf(stderr, "dp_bench: %s: %s\n", bc->name, err);
		return -EINVAL;
	}
	for (i = 0; i < sizeof(vips) / sizeof(vips[0]); i++)
		if (!strcmp(vips[i].key, bc->vip))
			e->be_port = vips[i].port;
	inet_pton(AF_INET, backends[0], &e->be_addr.v4);
	inet_pton(AF_INET, CLIENT, &e->client.v4);
	inet_pton(AF_INET, NON_VIP, &e->other.v4);
	inet_pton(AF_INET, "198.18.1.254", &e->router_c.v4);
	inet_pton(AF_INET, "198.18.1.254", &e->router_b.v4);
	memcpy(e->be_mac, mac_peer, 6);
	memcpy(e->client_mac, mac_peer, 6);
	memcpy(e->router_mac, mac_peer, 6);
	memcpy(e->lb_mac_c, mac_lb, 6);
	memcpy(e->lb_mac_b, mac_lb, 6);
	e->if_c = ifindex;
	e->if_b = ifindex;
	return 0;
}

/*
 * A frame into the wrapper's template: the client's address bytes 2-3 and
 * port are where the wrapper writes flow numbers (daddr and dport of a reply).
 */
static int bench_template(const struct t_frame *f, int reply, struct xlb_bench_cfg *cfg)
{
	if (f->len > XLB_BENCH_PKT_MAX) {
		fprintf(stderr, "dp_bench: a %zu-byte frame does not fit the template\n", f->len);
		return -E2BIG;
	}
	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->pkt, f->buf, f->len);
	cfg->len = f->len;
	cfg->addr_off = f->lay.l3_off + (reply ? 16 : 12) + 2;
	cfg->port_off = f->lay.l4_off + (reply ? 2 : 0);
	return 0;
}

/* The row a case sends, or NULL (said). */
static const struct xlb_case *bench_row(const struct bench_case *bc)
{
	const struct xlb_case *row = t_case_find(bc->row);

	if (!row)
		fprintf(stderr, "dp_bench: %s: no case %s in tests/bpf/cases_*.c\n", bc->name,
			bc->row);
	return row;
}

/*
 * Empties xlb_ct4 before a many-flow case warms its flows. The cases share one
 * table, and with per-CPU LRU lists the benchmark's CPU owns only its share
 * of it: earlier cases' flows (looked up, so marked referenced) would
 * otherwise make the LRU evict the new case's own unreferenced flows.
 */
static int ct_clear(const struct bench *b)
{
	static struct xlb_ct4_key keys[4096];
	static struct xlb_ct_entry vals[4096];
	int fd = xlb_dp_map_fd(b->dp, XLB_MAP_CT4), err;
	__u32 batch, n;
	bool first = true;

	if (fd < 0)
		return fd;
	do {
		n = 4096;
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, keys, vals,
						      &n, NULL);
		first = false;
	} while (!err);
	return err == -ENOENT ? 0 : err;
}

/* Row's frame for case bc as the wrapper's template, for one flow (the caller sets nflows). */
static int bench_row_frame(const struct bench *b, const struct bench_case *bc,
			   const struct xlb_case *row, struct xlb_bench_cfg *cfg)
{
	static struct t_frame f;
	struct t_case_env e;
	int err;

	if (!row)
		return -ENOENT;
	memset(&f, 0, sizeof(f));
	err = bench_env(bc, b->ifindex, &e);
	if (err || (err = t_case_frame(row, &e, CLIENT_PORT, &f)))
		return err;
	return bench_template(&f, row->flow == T_F_REPLY, cfg);
}

int bench_frame(const struct bench *b, const struct bench_case *bc, struct xlb_bench_cfg *cfg)
{
	return bench_row_frame(b, bc, bench_row(bc), cfg);
}

int bench_run(const struct bench *b, const struct xlb_bench_cfg *cfg, __u32 repeat,
	      __u32 *retval, __u32 *ns)
{
	struct xdp_md ctx = { .data_end = cfg->len, .ingress_ifindex = b->ifindex };
	__u8 out[XLB_BENCH_PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = cfg->pkt, .data_size_in = cfg->len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(b->fd_wrap, &opts))
		return -errno;
	*retval = opts.retval;
	*ns = opts.duration;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : *(const __u32 *)a > *(const __u32 *)b;
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "dp_bench: pin to CPU %d: %s\n", cpu, strerror(errno));
		return -errno;
	}
	return 0;
}

/* xlb_stats summed over the CPUs, into sum[XLB_CNT_MAX]. */
int bench_stats(const struct bench *b, __u64 *sum)
{
	int fd = xlb_dp_map_fd(b->dp, XLB_MAP_STATS), c, i;
	struct xlb_stats *v = calloc(b->ncpus, sizeof(*v));
	__u32 zero = 0;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(__u64) * XLB_CNT_MAX);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, v)) {
		free(v);
		return fd < 0 ? fd : -errno;
	}
	for (c = 0; c < b->ncpus; c++)
		for (i = 0; i < XLB_CNT_MAX; i++)
			sum[i] += v[c].c[i];
	free(v);
	return 0;
}

/* Points the wrapper at prog_fd with this template; reset: every CPU's flows start at 0 again. */
int bench_arm(const struct bench *b, int prog_fd, const struct xlb_bench_cfg *cfg, bool reset)
{
	__u64 *seq0 = calloc(b->ncpus, sizeof(__u64));
	__u32 zero = 0;
	int err = 0;

	if (!seq0)
		return -ENOMEM;
	if (bpf_map_update_elem(b->fd_target, &zero, &prog_fd, BPF_ANY) ||
	    (reset && bpf_map_update_elem(b->fd_seq, &zero, seq0, BPF_ANY)) ||
	    bpf_map_update_elem(b->fd_cfg, &zero, cfg, BPF_ANY))
		err = -errno;
	free(seq0);
	return err;
}

/* Trials of the armed wrapper on this CPU: the median and spread, and the counters moved. */
int bench_time(struct bench *b, const struct xlb_bench_cfg *cfg, struct bench_res *r)
{
	__u64 before[XLB_CNT_MAX];
	__u32 t;
	int err, i;

	memset(r, 0, sizeof(*r));
	if (b->dp && (err = bench_stats(b, before)))
		return err;
	for (t = 0; t < b->trials; t++) {
		err = bench_run(b, cfg, b->repeat, &r->retval, &b->samples[t]);
		if (err) {
			fprintf(stderr, "dp_bench: test run: %s\n", strerror(-err));
			return err;
		}
	}
	qsort(b->samples, b->trials, sizeof(*b->samples), cmp_u32);
	r->ns = b->samples[b->trials / 2];
	r->min = b->samples[0];
	r->max = b->samples[b->trials - 1];
	r->pkts = (__u64)b->trials * b->repeat;
	if (b->dp && (err = bench_stats(b, r->ev)))
		return err;
	for (i = 0; b->dp && i < XLB_CNT_MAX; i++)
		r->ev[i] -= before[i];
	return 0;
}

static const char *verdict_name(__u32 retval)
{
	return retval == XDP_TX	    ? "XDP_TX"
	       : retval == XDP_PASS ? "XDP_PASS"
	       : retval == XDP_DROP ? "XDP_DROP"
				    : "other";
}

/* The events its packets moved, per packet, where at least 1 in 200 did: "CT_NEW 1.00 ...". */
static void events_text(const struct bench_res *r, int json, char *buf, size_t len)
{
	size_t n = 0, i;
	double per;

	buf[0] = 0;
	for (i = 0; r->pkts && i < sizeof(event_names) / sizeof(event_names[0]); i++) {
		per = (double)r->ev[XLB_CNT_FIRST_EVENT + i] / r->pkts;
		if (per < 0.005 || n >= len)
			continue;
		n += snprintf(buf + n, len - n,
			      json ? "%s\"%s\":%.3f" : "%s%s %.2f", n ? (json ? "," : " ") : "",
			      event_names[i], per);
	}
}

/*
 * One case's table line and JSON line. floor_ns is the floor its figure is
 * taken against (the two-CPU cases have their own); extra is more JSON
 * members ("" or ",\"k\":v...").
 */
void bench_print(const struct bench *b, const struct bench_case *bc, const struct bench_res *r,
		 __u32 floor_ns, const char *extra)
{
	char ev[512], evj[512];

	events_text(r, 0, ev, sizeof(ev));
	events_text(r, 1, evj, sizeof(evj));
	if (!b->json_only)
		printf("%-30s %7u %7d %7u %7u %7.2f  %-8s %s\n", bc->name, r->ns,
		       (int)r->ns - (int)floor_ns, r->min, r->max, (double)r->ns / floor_ns,
		       verdict_name(r->retval), ev);
	printf("{\"case\":\"%s\",\"ns_per_pkt\":%u,\"floor_ns\":%u,\"above_floor_ns\":%d,"
	       "\"ratio\":%.2f,\"min\":%u,\"max\":%u,\"flows\":%u,\"trials\":%u,\"repeat\":%u,"
	       "\"verdict\":\"%s\",\"events\":{%s}%s}\n",
	       bc->name, r->ns, floor_ns, (int)r->ns - (int)floor_ns, (double)r->ns / floor_ns,
	       r->min, r->max, bc->nflows ? bc->nflows : 1, b->trials, b->repeat,
	       verdict_name(r->retval), evj, extra);
	fflush(stdout);
}

/* The row's opening packets for every flow of the case, so the timed runs find them. */
static int bench_warm(const struct bench *b, const struct bench_case *bc, int prog_fd)
{
	static struct t_frame f;
	struct xlb_bench_cfg w;
	struct t_case_env e;
	__u32 retval, ns;
	int err;

	memset(&f, 0, sizeof(f));
	if (bc->nflows > 1 && (err = ct_clear(b))) {
		fprintf(stderr, "dp_bench: %s: empty xlb_ct4: %s\n", bc->name, strerror(-err));
		return err;
	}
	err = bench_env(bc, b->ifindex, &e);
	if (err || (err = t_case_opening(&e, CLIENT_PORT, &f)) ||
	    (err = bench_template(&f, 0, &w)))
		return err;
	w.nflows = bc->nflows;
	err = bench_arm(b, prog_fd, &w, true);
	if (err)
		return err;
	return bench_run(b, &w, bc->nflows ? bc->nflows : 1, &retval, &ns);
}

/* Times one case on this CPU (bc == &floor_case: the floor) and prints it. */
static int bench_case(struct bench *b, const struct bench_case *bc)
{
	int floor = bc == &floor_case, prog_fd, err;
	const struct xlb_case *row = bench_row(bc);
	struct xlb_bench_cfg cfg;
	struct bench_res r;

	if (!row || (err = bench_row_frame(b, bc, row, &cfg)))
		return row ? err : -ENOENT;
	prog_fd = floor ? bpf_program__fd(b->sk->progs.bench_floor)
			: xlb_dp_prog_fd(b->dp, XLB_PROG_XDP);
	if (!floor && (row->prime || bc->warm) && (err = bench_warm(b, bc, prog_fd)))
		return err;
	cfg.nflows = bc->nflows;
	err = bench_arm(b, prog_fd, &cfg, true);
	if (err || (err = bench_time(b, &cfg, &r)))
		return err;
	if (floor)
		b->floor_ns = r.ns ? r.ns : 1;
	if (!strcmp(bc->name, "tcp_established_1flow"))
		b->est_ns = r.ns;
	bench_print(b, bc, &r, b->floor_ns, "");
	return 0;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "dp_bench: '%s' failed (%d)\n", cmd, rc);
	return rc ? -1 : 0;
}

/* A private netns with one veth whose peer is every client and backend, all neighbours known. */
static int netns_setup(int *ifindex)
{
	char cmd[256];
	int i;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "dp_bench: unshare(CLONE_NEWNET): %s (need root)\n", strerror(errno));
		return -1;
	}
	if (sh("ip link set lo up") ||
	    sh("ip link add xb0 address 02:00:00:00:00:01 type veth peer name xb1 "
	       "address 02:00:00:00:00:02") ||
	    sh("ip link set xb0 up && ip link set xb1 up") ||
	    sh("ip addr add 198.18.1.1/24 dev xb0 && ip addr add 198.18.2.1/24 dev xb0") ||
	    sh("ip neigh replace 198.18.1.254 lladdr 02:00:00:00:00:02 nud permanent dev xb0") ||
	    sh("ip route add 198.18.128.0/18 via 198.18.1.254 dev xb0") ||
	    sh("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.xb0.forwarding=1"))
		return -1;
	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd),
			 "ip neigh replace %s lladdr 02:00:00:00:00:02 nud permanent dev xb0",
			 backends[i]);
		if (sh(cmd))
			return -1;
	}
	*ifindex = if_nametoindex("xb0");
	return *ifindex ? 0 : -1;
}

static int setup_vips(struct xlb_dp *dp)
{
	struct xlb_backend_spec be[3] = {};
	struct xlb_vip_key k;
	char err[128];
	size_t v;
	int i, rc;

	for (v = 0; v < sizeof(vips) / sizeof(vips[0]); v++) {
		for (i = 0; i < vips[v].n; i++) {
			be[i].family = XLB_AF_INET;
			be[i].state = XLB_BE_ACTIVE;
			be[i].weight = 1;
			be[i].port = htons(vips[v].port);
			inet_pton(AF_INET, backends[i], &be[i].addr.v4);
		}
		if (xlb_vip_key_parse(vips[v].key, &k, err, sizeof(err)) ||
		    xlb_vip_put(dp, &k, 0, NULL))
			return -1;
		rc = xlb_vip_set_backends(dp, &k, be, vips[v].n);
		if (rc)
			return rc;
	}
	return 0;
}

/* A data plane of its own (own pins, ct_size entries, that LRU), services set, no budgets. */
int bench_open(struct bench *b, __u32 ct_size, __u8 ct_lru, const char *tag)
{
	struct xlb_dp_opts o = { .ct_size = ct_size, .ct_lru = ct_lru };
	struct xlb_config cfg = {};
	__u32 zero = 0;
	int fd;

	snprintf(b->pin, sizeof(b->pin), "/sys/fs/bpf/xlb-bench-%d-%s", getpid(), tag);
	o.pin_path = b->pin;
	if (xlb_dp_open(&b->dp, &o)) {
		fprintf(stderr, "dp_bench: data plane (%s) did not open\n", tag);
		return -1;
	}
	fd = xlb_dp_map_fd(b->dp, XLB_MAP_CONFIG);
	/* Budgets off: every new flow is recorded unless a case sets one. */
	if (setup_vips(b->dp) || fd < 0 || bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY)) {
		fprintf(stderr, "dp_bench: services or config (%s) not written\n", tag);
		return -1;
	}
	return 0;
}

void bench_close(struct bench *b)
{
	if (b->dp) {
		xlb_dp_close(b->dp);
		xlb_dp_unpin(b->pin);
	}
	b->dp = NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dp_bench [--quick] [--trials N] [--repeat N] [--full-size N] [--json-only]\n"
		"                [--case NAME]\n"
		"  ns/packet of xlb_xdp via BPF_PROG_TEST_RUN, and above a return-XDP_TX floor.\n"
		"  The frame is restored before every run by a wrapper program. --full-size:\n"
		"  conntrack entries in the new-flow-into-a-full-table cases (default %u).\n"
		"  --case: only that case (a prefix: tcp_new_flow_full runs all of those).\n",
		XLB_CT_SIZE_DEFAULT);
}

/* Options into b; returns -1 to go on, or the exit status (help, usage error). */
static int parse_args(int argc, char **argv, struct bench *b)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },	 { "trials", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' }, { "json-only", no_argument, NULL, 'j' },
		{ "case", required_argument, NULL, 'c' }, { "full-size", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },	 {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "qt:r:jc:f:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			b->only = optarg;
			break;
		case 'q':
			b->repeat = 200000;
			break;
		case 't':
			b->trials = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			b->repeat = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			b->full_size = strtoul(optarg, NULL, 10);
			break;
		case 'j':
			b->json_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (b->trials < 1 || b->repeat < 1 || b->full_size < 1024) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The CPUs we may use, the wrapper loaded, samples allocated; the main thread on the first CPU. */
static int bench_init(struct bench *b)
{
	int c;

	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus < 1 || sched_getaffinity(0, sizeof(b->allowed), &b->allowed))
		return -1;
	b->nonline = CPU_COUNT(&b->allowed);
	for (c = 0, b->cpu[0] = b->cpu[1] = -1; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &b->allowed))
			continue;
		if (b->cpu[0] < 0)
			b->cpu[0] = c;
		else if (b->cpu[1] < 0)
			b->cpu[1] = c;
	}
	b->sk = xlb_bench_bpf__open_and_load();
	if (!b->sk) {
		fprintf(stderr, "dp_bench: load wrapper: %s\n", strerror(errno));
		return -1;
	}
	b->fd_wrap = bpf_program__fd(b->sk->progs.bench_wrap);
	b->fd_target = bpf_map__fd(b->sk->maps.bench_target);
	b->fd_cfg = bpf_map__fd(b->sk->maps.bench_cfg);
	b->fd_seq = bpf_map__fd(b->sk->maps.bench_seq);
	b->samples = calloc(b->trials, sizeof(*b->samples));
	return b->samples ? bench_pin(b->cpu[0]) : -1;
}

/* The one-CPU cases, on a data plane with a conntrack big enough for all their flows. */
static int bench_big(struct bench *b)
{
	size_t i;

	if (bench_open(b, CT_SIZE_BIG, XLB_CT_LRU_PER_CPU, "big"))
		return -1;
	if (bench_case(b, &floor_case))
		return -1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (b->only && strcmp(b->only, cases[i].name) &&
		    strcmp(cases[i].name, "tcp_established_1flow"))
			continue;
		if (bench_case(b, &cases[i]))
			return -1;
	}
	bench_close(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .trials = 5, .repeat = 1000000, .full_size = XLB_CT_SIZE_DEFAULT };
	int rc;

	rc = parse_args(argc, argv, &b);
	if (rc >= 0)
		return rc;
	rc = 1;
	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_hook_libbpf();
	if (netns_setup(&b.ifindex) || bench_init(&b))
		goto cleanup;
	if (!b.json_only) {
		printf("xlb data plane, BPF_PROG_TEST_RUN, %u runs per trial, median of %u trials, "
		       "on CPU %d (and %d)\n",
		       b.repeat, b.trials, b.cpu[0], b.cpu[1]);
		printf("frame restored by a wrapper before each run; floor = wrapper + "
		       "'return XDP_TX'; events: xlb's counters per packet\n\n");
		printf("%-30s %7s %7s %7s %7s %7s  %-8s %s\n", "case", "ns/pkt", ">floor", "min",
		       "max", "x floor", "verdict", "events");
	}
	/* The established one-flow case always runs: the goals are stated against it. */
	if (bench_big(&b) || bench_full(&b, XLB_CT_LRU_PER_CPU) ||
	    bench_full(&b, XLB_CT_LRU_SHARED))
		goto cleanup;
	rc = 0;
cleanup:
	bench_close(&b);
	free(b.samples);
	xlb_bench_bpf__destroy(b.sk);
	return rc;
}
