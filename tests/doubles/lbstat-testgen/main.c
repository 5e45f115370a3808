// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * lbstat-testgen: puts known traffic into xlb's counters for lbstat's tests
 * and documentation. It fills the maps through libxlb, as xlbd does, and runs
 * hand-built packets through the real XDP program with BPF_PROG_TEST_RUN, so
 * no packet ever leaves the process. It works in a private network namespace
 * with one veth and a permanent next hop, so every translated packet takes the
 * full forwarding path and ends in XDP_TX instead of whatever the host's
 * routes would make of it. Flows are numbered: flow i is client
 * 198.18.1.(1 + i % 250), port 20000 + i / 250, so a test knows exactly which
 * packets are new flows and which belong to flows it made before. "serve"
 * keeps one process (and one namespace) for a test that must push packets at
 * a moment of its choosing. The packets are rows of the BPF suite's case
 * tables (tests/bpf/cases.h), built for these addresses, so each one's outcome
 * is checked there; they are bare (TCP without options or payload: 54 bytes,
 * UDP with 32 bytes of data: 74), which the lbstat tests count on.
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
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cases.h"
#include "dp.h"
#include "dp_read.h"
#include "log.h"

#define FLOWS_PER_PORT 250

static const __u8 mac_lb[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 mac_peer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

struct gen {
	struct xlb_dp *dp;
	const char *pin_path;
	int ifindex; /* 0: no private namespace, the host's routes decide */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lbstat-testgen [--pin-path PATH] COMMAND [ARGS]\n"
		"Known traffic through xlb's XDP program (BPF_PROG_TEST_RUN), for lbstat's tests.\n"
		"\n"
		"  setup             create the maps and the test VIPs:\n"
		"                      198.18.0.10:80/tcp  3 backends 198.18.2.11-13:8080, named\n"
		"                      198.18.0.11:53/udp  198.18.2.21:5353 active, .22 draining\n"
		"                      198.18.0.12:443/tcp no backends, policy drop\n"
		"  empty             create the maps, no VIP\n"
		"  syn VIP FROM N    open flows FROM..FROM+N-1 (TCP SYN, or a first UDP datagram)\n"
		"  data VIP FROM N   one more client packet on each of those flows\n"
		"  reply VIP FROM N  one packet from each flow's backend back to its client\n"
		"  serve             read commands from stdin, one per line; answer each\n"
		"  unpin             remove the pins and the directory\n"
		"Flow i is client 198.18.1.(1 + i %% 250), source port 20000 + i / 250.\n");
}

static void flow_client(__u32 i, __be32 *addr, __be16 *port)
{
	*addr = htonl((198u << 24) | (18u << 16) | (1u << 8) | (1 + i % FLOWS_PER_PORT));
	*port = htons(20000 + i / FLOWS_PER_PORT);
}

static int run_pkt(const struct gen *g, const __u8 *pkt, size_t len, __u32 *retval)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = g->ifindex };
	__u8 out[XLB_PKT_BUF];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = g->ifindex ? &ctx : NULL,
		    .ctx_size_in = g->ifindex ? sizeof(ctx) : 0, .repeat = 1);

	if (bpf_prog_test_run_opts(xlb_dp_prog_fd(g->dp, XLB_PROG_XDP), &opts))
		return -errno;
	*retval = opts.retval;
	return 0;
}

/* A private namespace whose one veth routes clients and backends to a permanent next hop. */
static int netns_setup(struct gen *g)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add xt0 address 02:00:00:00:00:01 type veth peer name xt1 "
		"address 02:00:00:00:00:02",
		"ip link set xt0 up",
		"ip link set xt1 up",
		"ip addr add 198.18.3.1/24 dev xt0",
		"ip neigh replace 198.18.3.254 lladdr 02:00:00:00:00:02 nud permanent dev xt0",
		"ip route add 198.18.1.0/24 via 198.18.3.254 dev xt0",
		"ip route add 198.18.2.0/24 via 198.18.3.254 dev xt0",
		"sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.xt0.forwarding=1",
	};
	size_t i;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "lbstat-testgen: unshare(CLONE_NEWNET): %s; verdicts will follow "
			"the host's routes\n", strerror(errno));
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (system(cmds[i])) {
			fprintf(stderr, "lbstat-testgen: '%s' failed\n", cmds[i]);
			return -1;
		}
	}
	g->ifindex = if_nametoindex("xt0");
	return g->ifindex ? 0 : -1;
}

static int dp_open(struct gen *g)
{
	struct xlb_dp_opts o = {
		.pin_path = g->pin_path,
		.max_vips = 64,
		.max_backends = 256,
		.ct_size = 65536,
	};

	if (g->dp)
		return 0;
	return xlb_dp_open(&g->dp, &o);
}

static int backend(struct xlb_backend_spec *b, const char *addr, int port, __u8 state, int w)
{
	memset(b, 0, sizeof(*b));
	b->family = XLB_AF_INET;
	b->port = htons(port);
	b->state = state;
	b->weight = w;
	return inet_pton(AF_INET, addr, &b->addr.v4) == 1 ? 0 : -EINVAL;
}

static int vip(struct gen *g, const char *key, __u16 flags, const struct xlb_backend_spec *be,
	       size_t n, const char *name, const char *app)
{
	struct xlb_vip_key k;
	char err[128];
	__u32 id;
	int e;

	if (xlb_vip_key_parse(key, &k, err, sizeof(err))) {
		fprintf(stderr, "lbstat-testgen: %s\n", err);
		return -EINVAL;
	}
	e = xlb_vip_put(g->dp, &k, flags, &id);
	if (!e)
		e = xlb_vip_set_backends(g->dp, &k, be, n);
	if (!e)
		e = xlb_vip_meta_set(g->dp, id, name, app);
	return e;
}

static int cmd_setup(struct gen *g)
{
	struct xlb_backend_spec be[3];
	int e;

	e = dp_open(g);
	if (e)
		return e;
	if (backend(&be[0], "198.18.2.11", 8080, XLB_BE_ACTIVE, 1) ||
	    backend(&be[1], "198.18.2.12", 8080, XLB_BE_ACTIVE, 1) ||
	    backend(&be[2], "198.18.2.13", 8080, XLB_BE_ACTIVE, 1))
		return -EINVAL;
	e = vip(g, "198.18.0.10:80/tcp", 0, be, 3, "web.marathon.l4lb.thisdcos.directory",
		"/prod/web");
	if (e)
		return e;
	if (backend(&be[0], "198.18.2.21", 5353, XLB_BE_ACTIVE, 1) ||
	    backend(&be[1], "198.18.2.22", 5353, XLB_BE_DRAINING, 0))
		return -EINVAL;
	e = vip(g, "198.18.0.11:53/udp", 0, be, 2, "dns.marathon.l4lb.thisdcos.directory",
		"/prod/dns");
	if (e)
		return e;
	return vip(g, "198.18.0.12:443/tcp", XLB_VIP_F_DROP_NO_BACKEND, NULL, 0, "",
		   "/staging/api");
}

enum push_kind { PUSH_SYN, PUSH_DATA, PUSH_REPLY };

/* The suite's row for each command, TCP and UDP. */
static const char *const push_rows[][2] = {
	[PUSH_SYN] = { "nat_tcp4_syn_no_options", "nat_udp4" },
	[PUSH_DATA] = { "nat_tcp4_ack", "nat_udp4_established" },
	[PUSH_REPLY] = { "reply_tcp4_ack", "reply_udp4" },
};

/* This namespace for the frame builder: every client and backend is the veth peer. */
static void push_env(const struct gen *g, const struct xlb_vip_key *k, struct t_case_env *e)
{
	memset(e, 0, sizeof(*e));
	e->vip = *k;
	memcpy(e->client_mac, mac_peer, 6);
	memcpy(e->be_mac, mac_peer, 6);
	memcpy(e->router_mac, mac_peer, 6);
	memcpy(e->lb_mac_c, mac_lb, 6);
	memcpy(e->lb_mac_b, mac_lb, 6);
	e->if_c = g->ifindex;
	e->if_b = g->ifindex;
}

static const char *verdict_name(__u32 v)
{
	switch (v) {
	case XDP_ABORTED:
		return "aborted";
	case XDP_DROP:
		return "drop";
	case XDP_PASS:
		return "pass";
	case XDP_TX:
		return "tx";
	case XDP_REDIRECT:
		return "redirect";
	}
	return "other";
}

/* Finds the backend conntrack gave flow i, for its reply. */
static int flow_backend(const struct gen *g, const struct xlb_vip_key *k, __be32 caddr,
			__be16 cport, struct xlb_backend *be)
{
	struct xlb_flow_key fk = {};
	struct xlb_ct_entry e;
	int err;

	fk.saddr.v4 = caddr;
	fk.daddr = k->addr;
	fk.sport = cport;
	fk.dport = k->port;
	fk.proto = k->proto;
	fk.family = k->family;
	fk.dir = XLB_DIR_ORIG;
	err = xlb_reader_ct_lookup(xlb_dp_reader(g->dp), &fk, &e);
	return err ?: xlb_backend_get(g->dp, e.backend_id, be);
}

static int cmd_push(struct gen *g, enum push_kind kind, const char *key, const char *from_s,
		    const char *n_s, FILE *out)
{
	unsigned long from = strtoul(from_s, NULL, 10), n = strtoul(n_s, NULL, 10), i;
	unsigned long verdicts[5] = {}, bytes = 0;
	const struct xlb_case *row;
	static struct t_frame f;
	struct t_case_env env;
	struct xlb_backend be;
	struct xlb_vip_key k;
	__u32 rv = 0;
	char err[128];
	__be32 caddr;
	__be16 cport;
	int e;

	if (xlb_vip_key_parse(key, &k, err, sizeof(err)) || k.family != XLB_AF_INET) {
		fprintf(stderr, "lbstat-testgen: %s\n", err);
		return -EINVAL;
	}
	row = t_case_find(push_rows[kind][k.proto == XLB_PROTO_UDP]);
	if (!row) {
		fprintf(stderr, "lbstat-testgen: no case %s in tests/bpf/cases_*.c\n",
			push_rows[kind][k.proto == XLB_PROTO_UDP]);
		return -ENOENT;
	}
	e = dp_open(g);
	if (e)
		return e;
	push_env(g, &k, &env);
	for (i = from; i < from + n; i++) {
		flow_client(i, &caddr, &cport);
		env.client.v4 = caddr;
		if (kind == PUSH_REPLY) {
			e = flow_backend(g, &k, caddr, cport, &be);
			if (e) {
				fprintf(stderr, "lbstat-testgen: flow %lu: no conntrack entry\n",
					i);
				return e;
			}
			env.be_addr = be.addr;
			env.be_port = ntohs(be.port);
		}
		memset(&f, 0, sizeof(f));
		e = t_case_frame(row, &env, ntohs(cport), &f);
		if (!e)
			e = run_pkt(g, f.buf, f.len, &rv);
		if (e) {
			fprintf(stderr, "lbstat-testgen: test run: %s\n", strerror(-e));
			return e;
		}
		verdicts[rv < 4 ? rv : 4]++;
		bytes += f.len;
	}
	fprintf(out, "ok %lu packets %lu bytes:", n, bytes);
	for (i = 0; i < 5; i++)
		if (verdicts[i])
			fprintf(out, " %s %lu", verdict_name(i), verdicts[i]);
	fprintf(out, "\n");
	fflush(out);
	return 0;
}

static int run_cmd(struct gen *g, int argc, char **argv, FILE *out);

static int cmd_serve(struct gen *g, FILE *out)
{
	char *line = NULL, *argv[8], *tok, *save;
	size_t cap = 0;
	int argc, e;

	fprintf(out, "ready\n");
	fflush(out);
	while (getline(&line, &cap, stdin) > 0) {
		argc = 0;
		for (tok = strtok_r(line, " \t\n", &save); tok && argc < 8;
		     tok = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = tok;
		if (!argc)
			continue;
		if (!strcmp(argv[0], "quit"))
			break;
		if (!strcmp(argv[0], "serve")) {
			fprintf(out, "error: nested serve\n");
			fflush(out);
			continue;
		}
		e = run_cmd(g, argc, argv, out);
		if (e) {
			fprintf(out, "error %s: %s\n", argv[0], strerror(e < 0 ? -e : EINVAL));
			fflush(out);
		}
	}
	free(line);
	return 0;
}

static int run_cmd(struct gen *g, int argc, char **argv, FILE *out)
{
	int e;

	if (!strcmp(argv[0], "setup") && argc == 1) {
		e = cmd_setup(g);
		if (!e) {
			fprintf(out, "ok setup\n");
			fflush(out);
		}
		return e;
	}
	if (!strcmp(argv[0], "empty") && argc == 1) {
		e = dp_open(g);
		if (!e) {
			fprintf(out, "ok empty\n");
			fflush(out);
		}
		return e;
	}
	if (!strcmp(argv[0], "syn") && argc == 4)
		return cmd_push(g, PUSH_SYN, argv[1], argv[2], argv[3], out);
	if (!strcmp(argv[0], "data") && argc == 4)
		return cmd_push(g, PUSH_DATA, argv[1], argv[2], argv[3], out);
	if (!strcmp(argv[0], "reply") && argc == 4)
		return cmd_push(g, PUSH_REPLY, argv[1], argv[2], argv[3], out);
	if (!strcmp(argv[0], "serve") && argc == 1)
		return cmd_serve(g, out);
	if (!strcmp(argv[0], "unpin") && argc == 1) {
		xlb_dp_close(g->dp);
		g->dp = NULL;
		e = xlb_dp_unpin(g->pin_path);
		if (!e) {
			fprintf(out, "ok unpin\n");
			fflush(out);
		}
		return e;
	}
	fprintf(stderr, "lbstat-testgen: bad command '%s' (or its arguments)\n", argv[0]);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "pin-path", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct gen g = { .pin_path = XLB_PIN_PATH_DEFAULT };
	int c, e;

	while ((c = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			g.pin_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_hook_libbpf();
	if (strcmp(argv[optind], "setup") && strcmp(argv[optind], "empty") &&
	    strcmp(argv[optind], "unpin") && netns_setup(&g))
		return 1;
	e = run_cmd(&g, argc - optind, argv + optind, stdout);
	xlb_dp_close(g.dp);
	if (e)
		fprintf(stderr, "lbstat-testgen: %s: %s\n", argv[optind],
			strerror(e < 0 ? -e : EINVAL));
	return e ? 1 : 0;
}
