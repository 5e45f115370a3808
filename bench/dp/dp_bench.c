// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Data plane benchmark: nanoseconds per packet of xlb_xdp through
 * BPF_PROG_TEST_RUN, case by case, against a bare "return XDP_TX" floor
 * measured in the same run through the same frame-restoring wrapper
 * (bpf/xlb_bench.bpf.c), so the ratio is xlb's own cost. It runs in a private
 * network namespace with a veth and permanent neighbours, so every forwarded
 * packet takes the full path: parse, lookups, NAT, FIB lookup, MAC rewrite,
 * XDP_TX. Prints a table and one JSON line per case; medians of N trials.
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
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "log.h"
#include "xlb_bench.skel.h"

#define PKT_MAX 128
#define NFLOWS_1M (1u << 20)
#define NFLOWS_NEW (1u << 29)

struct bench_cfg {
	__u32 len;
	__u32 nflows;
	__u32 addr_off;
	__u32 port_off;
	__u8 pkt[PKT_MAX];
};

enum pkt_kind { PK_TCP_SYN, PK_TCP_ACK, PK_UDP, PK_TCP_REPLY };

struct bench_case {
	const char *name;
	const char *what;
	enum pkt_kind kind;
	const char *dst; /* destination address of the template (the VIP, for replies) */
	__u32 nflows; /* 0: one flow */
	int warm; /* create the flows first (established, reply) */
};

static const struct bench_case cases[] = {
	{ "tcp_established_1flow", "established TCP, one flow", PK_TCP_ACK, "198.18.0.10", 0, 1 },
	{ "tcp_established_1m", "established TCP, 1M flows", PK_TCP_ACK, "198.18.0.10", NFLOWS_1M,
	  1 },
	/* A VIP of its own: on .10 the SYNs would land on the 1M flows recorded just before. */
	{ "tcp_new_flow", "new TCP flow: SYN + conntrack insert", PK_TCP_SYN, "198.18.0.13",
	  NFLOWS_NEW, 0 },
	{ "udp_1flow", "UDP, one flow", PK_UDP, "198.18.0.11", 0, 1 },
	{ "udp_1m", "UDP, 1M flows", PK_UDP, "198.18.0.11", NFLOWS_1M, 1 },
	{ "reply_1flow", "reply translation, one flow", PK_TCP_REPLY, "198.18.0.12", 0, 1 },
	{ "reply_1m", "reply translation, 1M flows", PK_TCP_REPLY, "198.18.0.12", NFLOWS_1M, 1 },
	{ "non_vip", "non-VIP TCP packet (passed to the kernel)", PK_TCP_ACK, "198.18.3.3", 0, 0 },
};

static const char *const backends[] = { "198.18.2.11", "198.18.2.12", "198.18.2.13" };
static const __u8 mac_lb[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 mac_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static __u16 csum_fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static __u32 csum_add(__u32 s, const void *p, size_t len)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (b[i] << 8) | b[i + 1];
	if (len & 1)
		s += b[len - 1] << 8;
	return s;
}

/* Template: client 198.18.128.0:1024 -> dst:80 (or backend -> client for replies). */
static size_t build(__u8 *pkt, enum pkt_kind kind, const char *dst, struct bench_cfg *cfg)
{
	struct ethhdr *eth = (void *)pkt;
	struct iphdr *ip = (void *)(pkt + sizeof(*eth));
	void *l4 = ip + 1;
	size_t l4len = kind == PK_UDP ? sizeof(struct udphdr) + 32 : sizeof(struct tcphdr);
	__u32 s;

	memset(pkt, 0, PKT_MAX);
	memcpy(eth->h_dest, mac_lb, 6);
	memcpy(eth->h_source, mac_peer, 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->tot_len = htons(sizeof(*ip) + l4len);
	ip->protocol = kind == PK_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	if (kind == PK_TCP_REPLY) {
		inet_pton(AF_INET, backends[0], &ip->saddr);
		inet_pton(AF_INET, "198.18.128.0", &ip->daddr);
	} else {
		inet_pton(AF_INET, "198.18.128.0", &ip->saddr);
		inet_pton(AF_INET, dst, &ip->daddr);
	}
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
	if (kind == PK_UDP) {
		struct udphdr *uh = l4;

		uh->source = htons(1024);
		uh->dest = htons(53);
		uh->len = htons(l4len);
		cfg->port_off = sizeof(*eth) + sizeof(*ip);
	} else {
		struct tcphdr *th = l4;

		th->source = htons(kind == PK_TCP_REPLY ? 8080 : 1024);
		th->dest = htons(kind == PK_TCP_REPLY ? 1024 : 80);
		th->doff = 5;
		th->seq = htonl(1000);
		th->window = htons(65535);
		if (kind == PK_TCP_SYN) {
			th->syn = 1;
		} else {
			th->ack = 1;
			th->ack_seq = htonl(2000);
		}
		cfg->port_off = sizeof(*eth) + sizeof(*ip) + (kind == PK_TCP_REPLY ? 2 : 0);
	}
	s = csum_add(0, &ip->saddr, 8) + ip->protocol + l4len;
	s = csum_add(s, l4, l4len);
	if (kind == PK_UDP)
		((struct udphdr *)l4)->check = htons(csum_fold(s));
	else
		((struct tcphdr *)l4)->check = htons(csum_fold(s));
	/* Vary bytes 2-3 of the client address: saddr, or daddr for replies. */
	cfg->addr_off = sizeof(*eth) + (kind == PK_TCP_REPLY ? 16 : 12) + 2;
	return sizeof(*eth) + sizeof(*ip) + l4len;
}

static int run(int prog_fd, const void *pkt, size_t len, __u32 repeat, __u32 ifindex,
	       __u32 *retval, __u32 *ns)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	__u8 out[PKT_MAX + 64];
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
	fprintf(f, "usage: dp_bench [--quick] [--trials N] [--repeat N] [--json-only]\n"
		   "  ns/packet of xlb_xdp via BPF_PROG_TEST_RUN against a return-XDP_TX floor.\n"
		   "  The frame is restored before every run by a wrapper program.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },	 { "trials", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'r' }, { "json-only", no_argument, NULL, 'j' },
		{ "case", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{},
	};
	char pin[64];
	struct xlb_dp_opts o = { .ct_size = 4u << 20 };
	struct xlb_bench_bpf *sk = NULL;
	struct xlb_dp *dp = NULL;
	__u32 trials = 5, repeat = 1000000, zero = 0, floor_ns = 0, *samples = NULL;
	int ifindex, json_only = 0, c, rc = 1, fd_wrap, fd_target;
	const char *only = NULL;
	size_t i;

	while ((c = getopt_long(argc, argv, "qt:r:jc:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			only = optarg;
			break;
		case 'q':
			repeat = 200000;
			break;
		case 't':
			trials = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'j':
			json_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (trials < 1 || repeat < 1) {
		usage(stderr);
		return 2;
	}
	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_hook_libbpf();
	if (netns_setup(&ifindex))
		return 1;
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/xlb-bench-%d", getpid());
	o.pin_path = pin;
	if (xlb_dp_open(&dp, &o) || setup_vips(dp))
		goto cleanup;
	sk = xlb_bench_bpf__open_and_load();
	if (!sk) {
		fprintf(stderr, "dp_bench: load wrapper: %s\n", strerror(errno));
		goto cleanup;
	}
	fd_wrap = bpf_program__fd(sk->progs.bench_wrap);
	fd_target = bpf_map__fd(sk->maps.bench_target);
	samples = calloc(trials, sizeof(*samples));
	if (!samples)
		goto cleanup;

	if (!json_only) {
		printf("xlb data plane, BPF_PROG_TEST_RUN, %u runs per trial, median of %u trials\n",
		       repeat, trials);
		printf("frame restored by a wrapper before each run; floor = wrapper + "
		       "'return XDP_TX'\n\n");
		printf("%-24s %-44s %9s %9s %9s %7s %s\n", "case", "what", "ns/pkt", "min", "max",
		       "x floor", "verdict");
	}
	for (i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bench_case *bc = i ? &cases[i - 1] : NULL;
		struct bench_cfg cfg = {};
		__u32 retval = 0, ns, t, prog_fd, min, max;
		__u64 seq0[256] = {};

		if (bc && only && strcmp(only, bc->name))
			continue;
		/* Case 0 is the floor. */
		cfg.len = build(cfg.pkt, bc ? bc->kind : PK_TCP_ACK, bc && bc->dst ? bc->dst : "198.18.0.10",
				&cfg);
		prog_fd = bc ? xlb_dp_prog_fd(dp, XLB_PROG_XDP) : bpf_program__fd(sk->progs.bench_floor);
		if (bpf_map_update_elem(fd_target, &zero, &prog_fd, BPF_ANY))
			goto cleanup;
		if (bc && bc->warm) {
			/* Create the flows: forward packets of the same flow numbers first. */
			struct bench_cfg w = cfg;

			w.len = build(w.pkt, bc->kind == PK_UDP ? PK_UDP : PK_TCP_SYN, bc->dst, &w);
			w.nflows = bc->nflows;
			bpf_map_update_elem(bpf_map__fd(sk->maps.bench_seq), &zero, seq0, BPF_ANY);
			bpf_map_update_elem(bpf_map__fd(sk->maps.bench_cfg), &zero, &w, BPF_ANY);
			if (run(fd_wrap, w.pkt, w.len, bc->nflows ? bc->nflows : 1, ifindex, &retval,
				&ns))
				goto cleanup;
		}
		cfg.nflows = bc ? bc->nflows : 0;
		bpf_map_update_elem(bpf_map__fd(sk->maps.bench_seq), &zero, seq0, BPF_ANY);
		if (bpf_map_update_elem(bpf_map__fd(sk->maps.bench_cfg), &zero, &cfg, BPF_ANY))
			goto cleanup;
		for (t = 0; t < trials; t++) {
			if (run(fd_wrap, cfg.pkt, cfg.len, repeat, ifindex, &retval, &samples[t])) {
				fprintf(stderr, "dp_bench: test run: %s\n", strerror(errno));
				goto cleanup;
			}
		}
		qsort(samples, trials, sizeof(*samples), cmp_u32);
		ns = samples[trials / 2];
		min = samples[0];
		max = samples[trials - 1];
		if (!bc) {
			floor_ns = ns ? ns : 1;
			if (!json_only)
				printf("%-24s %-44s %9u %9u %9u %7s %s\n", "floor",
				       "wrapper + return XDP_TX", ns, min, max, "1.00",
				       retval == XDP_TX ? "XDP_TX" : "?");
			printf("{\"case\":\"floor\",\"ns_per_pkt\":%u,\"floor_ns\":%u,\"min\":%u,"
			       "\"max\":%u,\"trials\":%u,\"repeat\":%u}\n",
			       ns, ns, min, max, trials, repeat);
			continue;
		}
		if (!json_only)
			printf("%-24s %-44s %9u %9u %9u %7.2f %s\n", bc->name, bc->what, ns, min, max,
			       (double)ns / floor_ns,
			       retval == XDP_TX     ? "XDP_TX"
			       : retval == XDP_PASS ? "XDP_PASS"
			       : retval == XDP_DROP ? "XDP_DROP"
						    : "other");
		printf("{\"case\":\"%s\",\"ns_per_pkt\":%u,\"floor_ns\":%u,\"ratio\":%.2f,\"min\":%u,"
		       "\"max\":%u,\"flows\":%u,\"trials\":%u,\"repeat\":%u}\n",
		       bc->name, ns, floor_ns, (double)ns / floor_ns, min, max,
		       bc->nflows ? bc->nflows : 1, trials, repeat);
		fflush(stdout);
	}
	rc = 0;
cleanup:
	free(samples);
	xlb_bench_bpf__destroy(sk);
	xlb_dp_close(dp);
	xlb_dp_unpin(pin);
	return rc;
}
