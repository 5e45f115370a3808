// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Data plane benchmark: nanoseconds per packet of xlb_xdp through
 * BPF_PROG_TEST_RUN, case by case, against a bare "return XDP_TX" floor
 * measured in the same run through the same frame-restoring wrapper
 * (bpf/xlb_bench.bpf.c), so the ratio is xlb's own cost. It runs in a private
 * network namespace with a veth and permanent neighbours, so every forwarded
 * packet takes the full path: parse, lookups, NAT, FIB lookup, MAC rewrite,
 * XDP_TX. Prints a table and one JSON line per case; medians of N trials.
 * Every packet is a row of the BPF suite's case tables (tests/bpf/cases.h),
 * built for this namespace's addresses, so what is timed is a packet whose
 * outcome the suite checks; the row's .prime says whether its flows are
 * created before the timed runs.
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
#include "log.h"
#include "xlb_bench.h"
#include "xlb_bench.skel.h"

#define NFLOWS_1M (1u << 20)
#define NFLOWS_NEW (1u << 29)
#define CLIENT "198.18.128.0" /* flow 0 of xlb_bench.h's numbering */
#define CLIENT_PORT 1024
#define NON_VIP "198.18.3.3"

struct bench_case {
	const char *name; /* as in BENCHMARKS.json, which bench/report.py reads */
	const char *what;
	const char *row; /* the suite's case whose frame is sent */
	const char *vip; /* the service it goes to (for a reply: comes from) */
	__u32 nflows; /* 0: one flow */
};

/* The floor runs the established-flow frame through "return XDP_TX". */
static const struct bench_case floor_case = { "floor", "wrapper + return XDP_TX", "nat_tcp4_ack",
					      "198.18.0.10:80/tcp", 0 };

static const struct bench_case cases[] = {
	{ "tcp_established_1flow", "established TCP, one flow", "nat_tcp4_ack",
	  "198.18.0.10:80/tcp", 0 },
	{ "tcp_established_1m", "established TCP, 1M flows", "nat_tcp4_ack", "198.18.0.10:80/tcp",
	  NFLOWS_1M },
	/* A VIP of its own: on .10 the SYNs would land on the 1M flows recorded just before. */
	{ "tcp_new_flow", "new TCP flow: SYN + conntrack insert", "nat_tcp4_syn_no_options",
	  "198.18.0.13:80/tcp", NFLOWS_NEW },
	{ "udp_1flow", "UDP, one flow", "nat_udp4_established", "198.18.0.11:53/udp", 0 },
	{ "udp_1m", "UDP, 1M flows", "nat_udp4_established", "198.18.0.11:53/udp", NFLOWS_1M },
	{ "reply_1flow", "reply translation, one flow", "reply_tcp4_ack", "198.18.0.12:80/tcp", 0 },
	{ "reply_1m", "reply translation, 1M flows", "reply_tcp4_ack", "198.18.0.12:80/tcp",
	  NFLOWS_1M },
	{ "non_vip", "non-VIP TCP packet (passed to the kernel)", "tcp4_ack_not_vip",
	  "198.18.0.10:80/tcp", 0 },
};

static const char *const backends[] = { "198.18.2.11", "198.18.2.12", "198.18.2.13" };
static const __u8 mac_lb[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 mac_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

/*
 * This namespace as the suite's frame builder sees it: clients, backends and
 * routers all sit behind the one veth peer; the reply VIP has one backend,
 * backends[0], so every reply comes from the backend its flow chose.
 */
static int bench_env(const struct bench_case *bc, int ifindex, struct t_case_env *e)
{
	char err[128];

	memset(e, 0, sizeof(*e));
	if (xlb_vip_key_parse(bc->vip, &e->vip, err, sizeof(err))) {
		fprintf(stderr, "dp_bench: %s: %s\n", bc->name, err);
		return -EINVAL;
	}
	inet_pton(AF_INET, backends[0], &e->be_addr.v4);
	e->be_port = e->vip.proto == XLB_PROTO_UDP ? 5353 : 8080;
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

static int run(int prog_fd, const void *pkt, size_t len, __u32 repeat, __u32 ifindex,
	       __u32 *retval, __u32 *ns)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	__u8 out[XLB_BENCH_PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err)
		return -errno;
	*retval = opts.retval;
	*ns = opts.duration;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : *(const __u32 *)a > *(const __u32 *)b;
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
	int i, rc;

	for (i = 0; i < 3; i++) {
		be[i].family = XLB_AF_INET;
		be[i].state = XLB_BE_ACTIVE;
		be[i].weight = 1;
		inet_pton(AF_INET, backends[i], &be[i].addr.v4);
	}
	for (i = 0; i < 3; i++)
		be[i].port = htons(8080);
	if (xlb_vip_key_parse("198.18.0.10:80/tcp", &k, err, sizeof(err)) ||
	    xlb_vip_put(dp, &k, 0, NULL) || xlb_vip_set_backends(dp, &k, be, 3))
		return -1;
	if (xlb_vip_key_parse("198.18.0.13:80/tcp", &k, err, sizeof(err)) ||
	    xlb_vip_put(dp, &k, 0, NULL) || xlb_vip_set_backends(dp, &k, be, 3))
		return -1;
	for (i = 0; i < 3; i++)
		be[i].port = htons(5353);
	if (xlb_vip_key_parse("198.18.0.11:53/udp", &k, err, sizeof(err)) ||
	    xlb_vip_put(dp, &k, 0, NULL))
		return -1;
	rc = xlb_vip_set_backends(dp, &k, be, 3);
	if (rc)
		return rc;
	/* One backend, so every reply in the bench comes from the backend its flow chose. */
	be[0].port = htons(8080);
	if (xlb_vip_key_parse("198.18.0.12:80/tcp", &k, err, sizeof(err)) ||
	    xlb_vip_put(dp, &k, 0, NULL))
		return -1;
	return xlb_vip_set_backends(dp, &k, be, 1);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dp_bench [--quick] [--trials N] [--repeat N] [--json-only] [--case NAME]\n"
		   "  ns/packet of xlb_xdp via BPF_PROG_TEST_RUN against a return-XDP_TX floor.\n"
		   "  The frame is restored before every run by a wrapper program.\n");
}

/* The run's state: the data plane, the wrapper and its maps, the options. */
struct bench {
	struct xlb_dp *dp;
	struct xlb_bench_bpf *sk;
	int ifindex;
	int fd_wrap; /* the wrapper program */
	int fd_target; /* its tail-call slot: xlb_xdp, or the floor */
	int fd_cfg;
	int fd_seq;
	__u32 trials;
	__u32 repeat;
	__u32 *samples; /* one per trial */
	__u32 floor_ns;
	int json_only;
};

/* Points the wrapper at prog_fd with this template, the flow counter back at 0. */
static int bench_arm(const struct bench *b, int prog_fd, const struct xlb_bench_cfg *cfg)
{
	static const __u64 seq0[256];
	__u32 zero = 0;

	if (bpf_map_update_elem(b->fd_target, &zero, &prog_fd, BPF_ANY) ||
	    bpf_map_update_elem(b->fd_seq, &zero, seq0, BPF_ANY) ||
	    bpf_map_update_elem(b->fd_cfg, &zero, cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* The row's opening packets for every flow of the case, so the timed runs find them. */
static int bench_warm(const struct bench *b, const struct bench_case *bc,
		      const struct t_case_env *e, int prog_fd)
{
	static struct t_frame f;
	struct xlb_bench_cfg w;
	__u32 retval, ns;
	int err;

	memset(&f, 0, sizeof(f));
	err = t_case_opening(e, CLIENT_PORT, &f);
	if (err || (err = bench_template(&f, 0, &w)))
		return err;
	w.nflows = bc->nflows;
	err = bench_arm(b, prog_fd, &w);
	if (err)
		return err;
	return run(b->fd_wrap, w.pkt, w.len, bc->nflows ? bc->nflows : 1, b->ifindex, &retval,
		   &ns);
}

static const char *verdict_name(__u32 retval)
{
	return retval == XDP_TX	    ? "XDP_TX"
	       : retval == XDP_PASS ? "XDP_PASS"
	       : retval == XDP_DROP ? "XDP_DROP"
				    : "other";
}

/* Times one case (bc == &floor_case: the floor) and prints its table line and JSON line. */
static int bench_case(struct bench *b, const struct bench_case *bc)
{
	const struct xlb_case *row = t_case_find(bc->row);
	int floor = bc == &floor_case, prog_fd, err;
	static struct t_frame f;
	struct xlb_bench_cfg cfg;
	struct t_case_env e;
	__u32 retval = 0, ns, min, max, t;

	if (!row) {
		fprintf(stderr, "dp_bench: %s: no case %s in tests/bpf/cases_*.c\n", bc->name,
			bc->row);
		return -ENOENT;
	}
	memset(&f, 0, sizeof(f));
	err = bench_env(bc, b->ifindex, &e);
	if (err || (err = t_case_frame(row, &e, CLIENT_PORT, &f)) ||
	    (err = bench_template(&f, row->flow == T_F_REPLY, &cfg)))
		return err;
	prog_fd = floor ? bpf_program__fd(b->sk->progs.bench_floor)
			: xlb_dp_prog_fd(b->dp, XLB_PROG_XDP);
	if (!floor && row->prime && (err = bench_warm(b, bc, &e, prog_fd)))
		return err;
	cfg.nflows = bc->nflows;
	err = bench_arm(b, prog_fd, &cfg);
	if (err)
		return err;
	for (t = 0; t < b->trials; t++) {
		err = run(b->fd_wrap, cfg.pkt, cfg.len, b->repeat, b->ifindex, &retval,
			  &b->samples[t]);
		if (err) {
			fprintf(stderr, "dp_bench: test run: %s\n", strerror(-err));
			return err;
		}
	}
	qsort(b->samples, b->trials, sizeof(*b->samples), cmp_u32);
	ns = b->samples[b->trials / 2];
	min = b->samples[0];
	max = b->samples[b->trials - 1];
	if (floor) {
		b->floor_ns = ns ? ns : 1;
		if (!b->json_only)
			printf("%-24s %-44s %9u %9u %9u %7s %s\n", bc->name, bc->what, ns, min, max,
			       "1.00", retval == XDP_TX ? "XDP_TX" : "?");
		printf("{\"case\":\"floor\",\"ns_per_pkt\":%u,\"floor_ns\":%u,\"min\":%u,"
		       "\"max\":%u,\"trials\":%u,\"repeat\":%u}\n",
		       ns, ns, min, max, b->trials, b->repeat);
		return 0;
	}
	if (!b->json_only)
		printf("%-24s %-44s %9u %9u %9u %7.2f %s\n", bc->name, bc->what, ns, min, max,
		       (double)ns / b->floor_ns, verdict_name(retval));
	printf("{\"case\":\"%s\",\"ns_per_pkt\":%u,\"floor_ns\":%u,\"ratio\":%.2f,\"min\":%u,"
	       "\"max\":%u,\"flows\":%u,\"trials\":%u,\"repeat\":%u}\n",
	       bc->name, ns, b->floor_ns, (double)ns / b->floor_ns, min, max,
	       bc->nflows ? bc->nflows : 1, b->trials, b->repeat);
	fflush(stdout);
	return 0;
}

/* Options into b; returns -1 to go on, or the exit status (help, usage error). */
static int parse_args(int argc, char **argv, struct bench *b, const char **only)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },	 { "trials", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' }, { "json-only", no_argument, NULL, 'j' },
		{ "case", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "qt:r:jc:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*only = optarg;
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
	if (b->trials < 1 || b->repeat < 1) {
		usage(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct bench b = { .trials = 5, .repeat = 1000000 };
	struct xlb_dp_opts o = { .ct_size = 4u << 20 };
	const char *only = NULL;
	char pin[64];
	int rc;
	size_t i;

	rc = parse_args(argc, argv, &b, &only);
	if (rc >= 0)
		return rc;
	rc = 1;
	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_hook_libbpf();
	if (netns_setup(&b.ifindex))
		return 1;
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/xlb-bench-%d", getpid());
	o.pin_path = pin;
	if (xlb_dp_open(&b.dp, &o) || setup_vips(b.dp))
		goto cleanup;
	b.sk = xlb_bench_bpf__open_and_load();
	if (!b.sk) {
		fprintf(stderr, "dp_bench: load wrapper: %s\n", strerror(errno));
		goto cleanup;
	}
	b.fd_wrap = bpf_program__fd(b.sk->progs.bench_wrap);
	b.fd_target = bpf_map__fd(b.sk->maps.bench_target);
	b.fd_cfg = bpf_map__fd(b.sk->maps.bench_cfg);
	b.fd_seq = bpf_map__fd(b.sk->maps.bench_seq);
	b.samples = calloc(b.trials, sizeof(*b.samples));
	if (!b.samples)
		goto cleanup;

	if (!b.json_only) {
		printf("xlb data plane, BPF_PROG_TEST_RUN, %u runs per trial, median of %u trials\n",
		       b.repeat, b.trials);
		printf("frame restored by a wrapper before each run; floor = wrapper + "
		       "'return XDP_TX'\n\n");
		printf("%-24s %-44s %9s %9s %9s %7s %s\n", "case", "what", "ns/pkt", "min", "max",
		       "x floor", "verdict");
	}
	if (bench_case(&b, &floor_case))
		goto cleanup;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		if (bench_case(&b, &cases[i]))
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(b.samples);
	xlb_bench_bpf__destroy(b.sk);
	xlb_dp_close(b.dp);
	xlb_dp_unpin(pin);
	return rc;
}
