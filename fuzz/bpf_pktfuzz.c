// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The data plane under random and mutated packets. In the BPF suite's fixture
 * (a private netns, the data plane loaded under a private pin path, VIPs with
 * and without backends, reject and drop policies, routes that blackhole or
 * lack a neighbour), a seeded generator builds packets of every kind xlb meets
 * (client to VIP, backend reply, ICMP errors about either, traffic that is
 * none of ours, junk), mutates them at the field level (ports, addresses,
 * lengths, header lengths, fragments, options, extension headers, VLAN tags)
 * and the byte level (bit flips, cuts, garbage, lying length fields), and runs
 * each one through xlb_xdp, xlb_tc_ingress and xlb_tc_egress with
 * BPF_PROG_TEST_RUN. After every run it checks what must hold for any input:
 *
 *   - exactly one verdict and one reason counted, the reason's verdict, and a
 *     return value that stands for that verdict under the hook;
 *   - a frame that names no VIP or backend address passes byte-identical, and
 *     so does every frame passed for a "not ours" reason;
 *   - a translation changes only the bytes it may (MACs, TTL, the translated
 *     address and port, the checksums covering them, the quoted header of an
 *     ICMP error), sends a VIP's traffic to one of that VIP's current backends
 *     (a new flow to an active one), a backend's reply and an ICMP error about
 *     either to the right side, takes one hop off the TTL exactly when xlb
 *     forwards from ingress, and leaves valid checksums where they were valid;
 *   - RST / ICMP unreachable answers come only from VIPs without an active backend
 *     whose policy is reject, never for a RST, and carry valid checksums;
 *
 * Meanwhile the control plane churns: every F_CHURN_EVERY packets one service
 * gets a new random set of active and draining backends (or none) through the
 * daemon's own libxlb calls, and the new-flow budgets change now and
 * then. At the end the per-CPU counters, summed, must add up: verdicts to runs,
 * per-VIP and per-backend counters to the global events and reasons. Prints
 * the seed, executions and violations (the first few with hex dumps); exits 1
 * on any violation. -w DIR keeps violating frames; -r DIR replays frames kept
 * that way (fuzz/corpus/pkt/ holds the regression cases) before the random run.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include "names.h"
#include "suite.h"

/* Cmocka's failure hook, which the shared fixture's t_done() needs; never reached here. */
void _fail(const char *const file, const int line)
{
	fprintf(stderr, "unexpected cmocka failure at %s:%d\n", file, line);
	abort();
}

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86dd
#define ETH_P_8021Q_ 0x8100
#define NR_PORTS 48 /* client ports per run: small, so conntrack hits and replies match */
/* Frames stay below what BPF_PROG_TEST_RUN takes for XDP: a page less head- and tailroom. */
#define F_MAX_FRAME 3400

static const enum t_hook f_hooks[] = { T_XDP, T_TCI, T_TCE };

/* ------------------------------------------------------------------------- */
/* Random numbers: splitmix64, reproducible from the printed seed. */

static uint64_t f_state;

static uint64_t f_rand(void)
{
	uint64_t z = (f_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t f_below(uint32_t n)
{
	return n ? (uint32_t)(f_rand() % n) : 0;
}

/* True with probability 1/n. */
static int f_one_in(uint32_t n)
{
	return f_below(n) == 0;
}

/* ------------------------------------------------------------------------- */
/* Run state and results */

struct f_stats {
	uint64_t packets, runs, violations;
	uint64_t verdict[XLB_CNT_FIRST_REASON];
	uint64_t reason[XLB_CNT_FIRST_EVENT];
	uint64_t nat_orig_bytes, rewritten, csum_checked, foreign, not_ours, replayed, refused;
};

static struct f_stats f_st;
static const char *f_keep_dir;
static int f_verbose;
static int f_dumps = 5; /* violations printed in full */
static uint64_t f_pkt_idx;

/* The frame under test and what was run. */
struct f_run {
	const __u8 *in;
	size_t len;
	__u8 out[XLB_PKT_BUF];
	__u32 out_len;
	__u32 ret;
	enum t_hook hook;
	int ifindex;
	int reason;
	int verdict;
	__u64 ev[XLB_CNT_MAX]; /* event deltas */
	int violated;
};

static void f_keep(const struct f_run *r)
{
	char path[512];
	FILE *f;

	if (!f_keep_dir)
		return;
	snprintf(path, sizeof(path), "%s/pkt-%016" PRIx64 "-%s-%d.bin", f_keep_dir, f_pkt_idx,
		 t_hook_name(r->hook), r->ifindex == t_env.if_b);
	f = fopen(path, "w");
	if (!f)
		return;
	fwrite(r->in, 1, r->len, f);
	fclose(f);
}

static void __attribute__((format(printf, 2, 3))) f_violation(struct f_run *r, const char *fmt, ...)
{
	va_list ap;

	f_st.violations++;
	if (r->violated++)
		return; /* one report per run */
	if (f_st.violations > 100)
		return;
	printf("VIOLATION packet %" PRIu64 " %s on %s, reason %s: ", f_pkt_idx,
	       t_hook_name(r->hook), r->ifindex == t_env.if_b ? "backend side" : "client side",
	       r->reason >= 0 ? xlb_counter_name((unsigned int)r->reason) : "?");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (f_dumps > 0) {
		f_dumps--;
		printf("  in (%zu bytes):\n", r->len);
		xlb_pkt_hexdump(stdout, "    ", r->in, r->len);
		printf("  out (%u bytes, return %u):\n", r->out_len, r->ret);
		xlb_pkt_hexdump(stdout, "    ", r->out, r->out_len);
	}
	f_keep(r);
}

/* ------------------------------------------------------------------------- */
/* What the fixture's services look like, for the checks. */

/*
 * Each service's backends as the fuzzer set them. The four plain services
 * (tcp4, udp4, tcp6, udp6) churn: every F_CHURN_EVERY packets one of them gets
 * a new random set of up to four backends, active or draining, as xlbd would
 * write it; the others keep the fixture's one backend (or none).
 */
#define F_CANDS 4
#define F_CHURN_EVERY 2000
struct f_svc {
	int n_cand;
	union xlb_addr cand[F_CANDS]; /* be */
	__u16 port; /* host order */
	__u8 state[F_CANDS]; /* 0: not a backend now, else XLB_BE_ACTIVE / XLB_BE_DRAINING */
	__u8 ever; /* candidates that were a backend at some time (replies may still come) */
};
static struct f_svc f_svcs[T_SVC_MAX];
static int f_churn = 1;
static uint64_t f_churns;

/*
 * Backend counters summed over every id. A backend that leaves gives its slot
 * (and zeroed counters) to the next one, so the sums are taken around each
 * change and what was counted before it is carried over.
 */
static struct {
	__u64 pkts_in, pkts_out;
} f_be_carried, f_be_mark;

static void f_be_sum(__u64 *in, __u64 *out)
{
	struct xlb_backend_stats bs;
	__u32 i;

	*in = *out = 0;
	for (i = 1; i < T_MAX_BACKENDS; i++)
		if (!xlb_backend_stats_read(t_env.dp, i, &bs)) {
			*in += bs.pkts_in;
			*out += bs.pkts_out;
		}
}

static void f_be_carry(void)
{
	__u64 in, out;

	f_be_sum(&in, &out);
	f_be_carried.pkts_in += in - f_be_mark.pkts_in;
	f_be_carried.pkts_out += out - f_be_mark.pkts_out;
}

/* Addresses of VIPs and backends: a frame without any of them is none of xlb's business. */
static struct {
	__u8 bytes[16];
	int len;
} f_addrs[2 * T_SVC_MAX];
static int f_nr_addrs;

static void f_addrs_init(void)
{
	int i, j, k;

	for (i = 0; i < T_SVC_MAX; i++) {
		const struct t_svc_state *s = &t_env.svc[i];
		const union xlb_addr *a[1 + F_CANDS] = { &s->key.addr };
		int len = s->key.family == AF_INET6 ? 16 : 4;

		for (j = 0; j < f_svcs[i].n_cand; j++)
			a[1 + j] = &f_svcs[i].cand[j];
		for (j = 0; j < 1 + F_CANDS; j++) {
			if (!a[j])
				continue;
			for (k = 0; k < f_nr_addrs; k++)
				if (f_addrs[k].len == len && !memcmp(f_addrs[k].bytes, a[j], len))
					break;
			if (k < f_nr_addrs)
				continue;
			memcpy(f_addrs[f_nr_addrs].bytes, a[j], len);
			f_addrs[f_nr_addrs++].len = len;
		}
	}
}

static int f_names_ours(const __u8 *buf, size_t len)
{
	int k;

	for (k = 0; k < f_nr_addrs; k++)
		if (memmem(buf, len, f_addrs[k].bytes, f_addrs[k].len))
			return 1;
	return 0;
}

static int f_is_drop_policy(int i)
{
	return i == T_SVC_DROP_TCP4 || i == T_SVC_DROP_UDP6;
}

static int f_alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static int f_churnable(int i)
{
	return i == T_SVC_TCP4 || i == T_SVC_UDP4 || i == T_SVC_TCP6 || i == T_SVC_UDP6;
}

static void f_svcs_init(void)
{
	int i, k;

	for (i = 0; i < T_SVC_MAX; i++) {
		const struct t_svc_state *s = &t_env.svc[i];
		struct f_svc *f = &f_svcs[i];

		if (!s->has_backend)
			continue;
		f->port = s->be_port;
		f->n_cand = f_churnable(i) ? F_CANDS : 1;
		for (k = 0; k < f->n_cand; k++) {
			/* .10-.13 and ::10-::13 have permanent neighbours in the fixture. */
			f->cand[k] = s->be_addr;
			f->cand[k].bytes[s->key.family == AF_INET6 ? 15 : 3] += (__u8)k;
		}
		f->state[0] = XLB_BE_ACTIVE;
		f->ever = 1;
	}
}

/* Candidate index of (addr, port) for service i, or -1. */
static int f_cand(int i, const union xlb_addr *a, __u16 port)
{
	const struct f_svc *f = &f_svcs[i];
	int k;

	if (port != f->port)
		return -1;
	for (k = 0; k < f->n_cand; k++)
		if (!memcmp(&f->cand[k], a, f_alen(t_env.svc[i].key.family)))
			return k;
	return -1;
}

static int f_has_active(int i)
{
	int k;

	for (k = 0; k < f_svcs[i].n_cand; k++)
		if (f_svcs[i].state[k] == XLB_BE_ACTIVE)
			return 1;
	return 0;
}

static void f_churn_step(void)
{
	static const int churnable[] = { T_SVC_TCP4, T_SVC_UDP4, T_SVC_TCP6, T_SVC_UDP6 };
	int i = churnable[f_below(4)], k, n = 0, err;
	struct xlb_backend_spec be[F_CANDS];
	struct f_svc *f = &f_svcs[i];

	f_be_carry();
	memset(be, 0, sizeof(be));
	for (k = 0; k < F_CANDS; k++) {
		__u32 x = f_below(10);

		f->state[k] = x < 4 ? 0 : x < 8 ? XLB_BE_ACTIVE : XLB_BE_DRAINING;
		if (!f->state[k])
			continue;
		be[n].addr = f->cand[k];
		be[n].port = htons(f->port);
		be[n].family = t_env.svc[i].key.family;
		be[n].state = f->state[k];
		be[n].weight = f->state[k] == XLB_BE_ACTIVE ? (__u16)(1 + f_below(3)) : 0;
		f->ever |= (__u8)(1u << k);
		n++;
	}
	err = xlb_vip_set_backends(t_env.dp, &t_env.svc[i].key, be, (size_t)n);
	if (err) {
		fprintf(stderr, "bpf_pktfuzz: set backends: %s\n", strerror(-err));
		exit(2);
	}
	f_be_sum(&f_be_mark.pkts_in, &f_be_mark.pkts_out);
	if (f_one_in(8)) {
		/* Phases with new-flow budgets, so the stateless path runs too. */
		static const __u32 limits[] = { 0, 0, 5, 100 };
		struct xlb_config cfg = { .new_per_cpu = limits[f_below(4)],
					  .new_per_vip = limits[f_below(4)] };

		if (xlb_config_set(t_env.dp, &cfg)) {
			fprintf(stderr, "bpf_pktfuzz: xlb_config_set failed\n");
			exit(2);
		}
	}
	f_churns++;
}

/* A backend of service i that ever was one (replies of its flows may still come). */
static void f_pick_be(int i, union xlb_addr *a, __u8 mac[6])
{
	const struct f_svc *f = &f_svcs[i];
	int k;

	do
		k = (int)f_below((uint32_t)f->n_cand);
	while (!(f->ever & (1u << k)));
	*a = f->cand[k];
	t_backend_mac(t_env.svc[i].key.family, a, mac);
}

/* The service whose VIP key is (daddr, dport, proto), or -1. */
static int f_svc_by_vip(int family, const union xlb_addr *a, __u16 port, __u8 proto)
{
	int i;

	for (i = 0; i < T_SVC_MAX; i++) {
		const struct t_svc_state *s = &t_env.svc[i];

		if (s->key.family == family && s->key.proto == proto &&
		    ntohs(s->key.port) == port && !memcmp(&s->key.addr, a, f_alen(family)))
			return i;
	}
	return -1;
}

/* The next service from start that ever had (saddr, sport) as backend for proto, or -1. */
static int f_svc_by_backend(int family, const union xlb_addr *a, __u16 port, __u8 proto,
			    int start)
{
	int i, k;

	for (i = start; i < T_SVC_MAX; i++) {
		const struct t_svc_state *s = &t_env.svc[i];

		if (s->key.family != family || s->key.proto != proto)
			continue;
		k = f_cand(i, a, port);
		if (k >= 0 && (f_svcs[i].ever & (1u << k)))
			return i;
	}
	return -1;
}

/* ------------------------------------------------------------------------- */
/* Packet generation */

struct f_gen {
	struct xlb_pkt_spec s, q;
	__u8 payload[3000];
	__u8 ip_opts[40];
	__u8 tcp_opts[40];
	__u8 buf[XLB_PKT_BUF];
	size_t len;
	int ifindex;
};

static void f_addr(const char *txt, union xlb_addr *a)
{
	if (xlb_pkt_addr(txt, a) < 0)
		abort();
}

/* A client address: mostly the fixture's client, sometimes another host behind it. */
static void f_client(int fam, union xlb_addr *a)
{
	f_addr(fam == AF_INET ? T_CLIENT4 : T_CLIENT6, a);
	if (f_one_in(8)) {
		if (fam == AF_INET)
			a->bytes[3] = (__u8)(10 + f_below(4));
		else
			a->bytes[15] = (__u8)(0x10 + f_below(4));
	}
}

static __u16 f_cport(void)
{
	return (__u16)(T_CLIENT_PORT_BASE + f_below(NR_PORTS));
}

static const __u8 f_tcp_flag_sets[] = {
	XLB_PKT_TCP_SYN,
	XLB_PKT_TCP_ACK,
	XLB_PKT_TCP_ACK | XLB_PKT_TCP_PSH,
	XLB_PKT_TCP_FIN | XLB_PKT_TCP_ACK,
	XLB_PKT_TCP_RST,
	XLB_PKT_TCP_RST | XLB_PKT_TCP_ACK,
	XLB_PKT_TCP_SYN | XLB_PKT_TCP_ACK,
	XLB_PKT_TCP_SYN | XLB_PKT_TCP_FIN,
};

static void f_l4(struct xlb_pkt_spec *s, __u8 proto)
{
	if (proto == XLB_PROTO_TCP) {
		s->l4 = XLB_PKT_L4_TCP;
		s->tcp_flags = f_one_in(8) ? (__u8)f_rand()
					   : f_tcp_flag_sets[f_below(sizeof(f_tcp_flag_sets))];
		s->seq = (__u32)f_rand();
		s->ack = (__u32)f_rand();
		s->window = (__u16)f_rand();
	} else {
		s->l4 = XLB_PKT_L4_UDP;
	}
}

/* Random option bytes: sometimes well-formed options, sometimes garbage. */
static size_t f_opts(__u8 *o, size_t max)
{
	size_t n = f_below((uint32_t)max / 4 + 1) * 4, i;

	for (i = 0; i < n; i++)
		o[i] = f_one_in(2) ? (__u8)f_below(4) : (__u8)f_rand();
	return n;
}

static const __u8 f_icmp4_types[][2] = { { 3, 4 }, { 3, 3 }, { 3, 1 }, { 11, 0 }, { 3, 13 },
					 { 0, 0 }, { 8, 0 }, { 5, 1 }, { 12, 0 } };
static const __u8 f_icmp6_types[][2] = { { 2, 0 }, { 1, 4 }, { 1, 3 }, { 3, 0 }, { 4, 1 },
					 { 128, 0 }, { 129, 0 }, { 135, 0 } };

static void f_icmp_type(struct xlb_pkt_spec *s, int fam)
{
	if (fam == AF_INET) {
		int i = f_below(sizeof(f_icmp4_types) / 2);

		s->icmp_type = f_icmp4_types[i][0];
		s->icmp_code = f_icmp4_types[i][1];
	} else {
		int i = f_below(sizeof(f_icmp6_types) / 2);

		s->icmp_type = f_icmp6_types[i][0];
		s->icmp_code = f_icmp6_types[i][1];
	}
	s->icmp_data = f_one_in(2) ? (fam == AF_INET ? 1400 : 1280) : (__u32)f_rand();
	if (f_one_in(16)) {
		s->icmp_type = (__u8)f_rand();
		s->icmp_code = (__u8)f_rand();
	}
}

enum f_kind {
	F_K_TO_VIP,
	F_K_REPLY,
	F_K_ICMP_TO_VIP,
	F_K_ICMP_FROM_BE,
	F_K_ICMP_OTHER,
	F_K_OTHER,
	F_K_JUNK,
	F_K_MAX,
};

/* Relative weights of the kinds. */
static const int f_kind_weight[F_K_MAX] = { 30, 20, 10, 10, 5, 20, 5 };

static enum f_kind f_pick_kind(void)
{
	int total = 0, i, x;

	for (i = 0; i < F_K_MAX; i++)
		total += f_kind_weight[i];
	x = (int)f_below((uint32_t)total);
	for (i = 0; i < F_K_MAX; i++) {
		if (x < f_kind_weight[i])
			return i;
		x -= f_kind_weight[i];
	}
	return F_K_JUNK;
}

/* A service with a backend (replies need one). */
static int f_pick_backend_svc(void)
{
	int i;

	do
		i = (int)f_below(T_SVC_MAX);
	while (!f_svcs[i].ever);
	return i;
}

/*
 * An ICMP error quoting a flow: to the VIP (what we sent as the VIP, from a
 * router on the client side), or from the backend side (what we sent to a
 * backend, or to another address), towards the client.
 */
static void f_spec_icmp(struct f_gen *g, enum f_kind kind, const struct t_svc_state *svc, int si,
			const union xlb_addr *client, const union xlb_addr *other,
			const union xlb_addr *be_addr, const __u8 *be_mac)
{
	struct xlb_pkt_spec *s = &g->s, *q = &g->q;
	int fam = svc->key.family;
	__u16 vport = ntohs(svc->key.port);

	xlb_pkt_init(q, fam);
	f_l4(q, svc->key.proto);
	q->payload = g->payload + 700;
	q->payload_len = f_below(32);
	if (fam == AF_INET && f_one_in(8)) {
		q->ip_opts_len = 4 * (1 + f_below(4));
		q->ip_opts = g->payload + 900;
	} else if (fam == AF_INET6 && f_one_in(8)) {
		q->ext[0] = (struct xlb_pkt_ext){ .type = XLB_PKT_EXT_DEST };
		q->n_ext = 1;
	}
	if (kind == F_K_ICMP_TO_VIP) {
		/* What we sent as the VIP, quoted back to the VIP by a router. */
		q->saddr = svc->key.addr;
		q->daddr = *client;
		q->sport = f_one_in(8) ? vport + 1 : vport;
		q->dport = f_cport();
		f_addr(fam == AF_INET ? T_ROUTER_C4 : T_ROUTER_C6, &s->saddr);
		memcpy(s->src_mac, t_router_mac, 6);
		s->daddr = f_one_in(8) ? *other : svc->key.addr;
	} else {
		/* What we sent to a backend, quoted back to the client. */
		q->saddr = *client;
		q->sport = f_cport();
		q->daddr = kind == F_K_ICMP_OTHER ? *other : *be_addr;
		q->dport = kind == F_K_ICMP_OTHER ? vport : f_svcs[si].port;
		if (kind == F_K_ICMP_FROM_BE && f_one_in(2)) {
			s->saddr = *be_addr;
			memcpy(s->src_mac, be_mac, 6);
		} else {
			f_addr(fam == AF_INET ? T_ROUTER_B4 : T_ROUTER_B6, &s->saddr);
			memcpy(s->src_mac, t_router_mac, 6);
		}
		s->daddr = q->saddr;
		memcpy(s->dst_mac, t_env.mac_b, 6);
		g->ifindex = t_env.if_b;
	}
	s->l4 = XLB_PKT_L4_ICMP;
	f_icmp_type(s, fam);
	s->quote = q;
	s->payload = NULL;
	s->payload_len = 0;
	if (f_one_in(2))
		s->quote_len = (fam == AF_INET ? 20 : 40) + 8 + f_below(4) * 4;
	if (f_one_in(8))
		s->quote_len = f_below(60);
}

/* Something that is not for a VIP, or only almost (another port, protocol or ethertype). */
static void f_spec_other(struct f_gen *g, const struct t_svc_state *svc,
			 const union xlb_addr *other)
{
	struct xlb_pkt_spec *s = &g->s;
	int fam = svc->key.family;
	__u16 vport = ntohs(svc->key.port);

switch (f_below(6)) {
case 0: /* a routed address that is not a VIP */
	s->daddr = *other;
	break;
case 1: /* the VIP address, another port */
	s->dport = vport + 1 + f_below(3);
	break;
case 2: /* the VIP's port under the other protocol */
	f_l4(s, svc->key.proto == XLB_PROTO_TCP ? XLB_PROTO_UDP : XLB_PROTO_TCP);
	break;
case 3: /* echo request to the VIP or elsewhere */
	if (f_one_in(2))
		s->daddr = *other;
	s->l4 = XLB_PKT_L4_ICMP;
	s->icmp_type = fam == AF_INET ? 8 : 128;
	s->icmp_data = (__u32)f_rand();
	break;
case 4: /* another protocol (GRE, SCTP, ...) */
	s->l4 = XLB_PKT_L4_NONE;
	s->ip_proto = f_one_in(2) ? 47 : (__u8)f_rand();
	break;
default: /* ARP or another ethertype */
	s->ethertype = f_one_in(2) ? 0x0806 : (__u16)f_rand();
	s->payload_len = 28 + f_below(32);
	break;
}
}

/* Field-level variations of the well-formed packet. */
static void f_spec_vary(struct f_gen *g, int fam)
{
	struct xlb_pkt_spec *s = &g->s;

	if (f_one_in(8)) {
		s->vlan = 1;
		s->vlan_tci = (__u16)f_below(4096);
		if (f_one_in(4))
			s->vlan_tpid = 0x88a8;
	}
	if (fam == AF_INET) {
		if (f_one_in(8)) {
			s->ip_opts_len = f_opts(g->ip_opts, sizeof(g->ip_opts));
			s->ip_opts = g->ip_opts;
		}
		if (f_one_in(16))
			s->frag = (__u16)(f_one_in(2) ? XLB_PKT_MF : f_below(8192));
		else if (f_one_in(4))
			s->frag = XLB_PKT_DF;
		s->ip_id = (__u16)f_rand();
	} else if (f_one_in(6)) {
		static const __u8 types[] = { XLB_PKT_EXT_HOP, XLB_PKT_EXT_DEST,
					      XLB_PKT_EXT_ROUTING, XLB_PKT_EXT_FRAGMENT };
		int n = 1 + (int)f_below(XLB_PKT_EXT_MAX), i;

		for (i = 0; i < n; i++)
			s->ext[i] = (struct xlb_pkt_ext){
				.type = types[f_below(f_one_in(4) ? 4 : 3)],
				.len8 = (__u8)f_below(3),
				.frag_offset = (__u16)(f_one_in(2) ? 0 : f_below(8192)),
				.more = (int)f_below(2),
				.frag_id = (__u32)f_rand(),
			};
		s->n_ext = n;
	}
	if (s->l4 == XLB_PKT_L4_TCP && f_one_in(4)) {
		s->tcp_opts_len = f_opts(g->tcp_opts, sizeof(g->tcp_opts));
		s->tcp_opts = g->tcp_opts;
	}
	if (f_one_in(16))
		s->ttl = (__u8)f_below(3);
	if (s->l4 == XLB_PKT_L4_UDP && fam == AF_INET && f_one_in(8))
		s->udp_no_csum = 1;
	if (f_one_in(32))
		s->ip_version = (int)f_below(16);
	if (fam == AF_INET && f_one_in(32))
		s->ihl = (int)f_below(16);
	if (s->l4 == XLB_PKT_L4_TCP && f_one_in(32))
		s->tcp_doff = (int)f_below(16);
	if (f_one_in(32)) {
		s->l4_csum_set = 1;
		s->l4_csum = (__u16)f_rand();
	}
	if (f_one_in(32)) {
		/* A port or address of the other services, to cross their state. */
		int oi = (int)f_below(T_SVC_MAX);
		const struct t_svc_state *o = &t_env.svc[oi];

		if (o->key.family == fam) {
			if (f_one_in(2)) {
				s->daddr = o->key.addr;
			} else if (f_svcs[oi].ever) {
				f_pick_be(oi, &s->saddr, s->src_mac);
				s->sport = f_svcs[oi].port;
			}
		}
		s->sport = f_one_in(2) ? s->sport : (__u16)f_rand();
	}
}

/* The IP-level spec of a packet of one kind; returns 0, or 1 when junk was made directly. */
static int f_spec(struct f_gen *g, enum f_kind kind)
{
	struct xlb_pkt_spec *s = &g->s;
	int si = (int)f_below(T_SVC_MAX), fam;
	const struct t_svc_state *svc;
	union xlb_addr client, other, be_addr;
	__u8 be_mac[6];
	__u16 vport;

	if (kind == F_K_REPLY || kind == F_K_ICMP_FROM_BE)
		si = f_pick_backend_svc();
	svc = &t_env.svc[si];
	fam = svc->key.family;
	vport = ntohs(svc->key.port);
	f_client(fam, &client);
	f_addr(fam == AF_INET ? T_OTHER4 : T_OTHER6, &other);
	if (f_svcs[si].ever)
		f_pick_be(si, &be_addr, be_mac);

	xlb_pkt_init(s, fam);
	memcpy(s->src_mac, t_client_mac, 6);
	memcpy(s->dst_mac, t_env.mac_c, 6);
	s->saddr = client;
	s->daddr = svc->key.addr;
	s->sport = f_cport();
	s->dport = vport;
	f_l4(s, svc->key.proto);
	s->payload = g->payload;
	s->payload_len = f_one_in(8) ? f_below(f_one_in(4) ? 3000 : 1400) : f_below(64);
	g->ifindex = t_env.if_c;

	switch (kind) {
	case F_K_TO_VIP:
		break;
	case F_K_REPLY:
		memcpy(s->src_mac, be_mac, 6);
		memcpy(s->dst_mac, t_env.mac_b, 6);
		s->saddr = be_addr;
		s->daddr = client;
		s->sport = f_svcs[si].port;
		s->dport = f_cport();
		g->ifindex = t_env.if_b;
		break;
	case F_K_ICMP_TO_VIP:
	case F_K_ICMP_FROM_BE:
	case F_K_ICMP_OTHER:
		f_spec_icmp(g, kind, svc, si, &client, &other, &be_addr, be_mac);
		break;
	case F_K_OTHER:
		f_spec_other(g, svc, &other);
		break;
	default:
		return 1;
	}
	f_spec_vary(g, fam);
	return 0;
}

/* Byte-level damage to a built frame. */
static void f_mutate(struct f_gen *g)
{
	__u8 *b = g->buf;
	size_t l3 = 14, i;
	int n = 1 + (int)f_below(4);

	if (g->len >= 18 && b[12] == 0x81 && b[13] == 0x00)
		l3 = 18;
	while (n--) {
		switch (f_below(10)) {
		case 0: /* bit flips, mostly in the headers */
		case 1:
			for (i = f_below(4) + 1; i && g->len; i--) {
				size_t at = f_one_in(4) ? f_below((uint32_t)g->len)
							: f_below((uint32_t)(g->len < 100 ? g->len : 100));

				b[at] ^= (__u8)(1u << f_below(8));
			}
			break;
		case 2: /* a random byte */
			if (g->len)
				b[f_below((uint32_t)g->len)] = (__u8)f_rand();
			break;
		case 3: /* cut */
			g->len = f_below((uint32_t)g->len + 1);
			break;
		case 4: /* a length field that lies */
			if (g->len >= l3 + 8) {
				__u8 *lenf = (b[l3] >> 4) == 6 ? b + l3 + 4 : b + l3 + 2;
				__u16 v = (__u16)((lenf[0] << 8) | lenf[1]);

				v = f_one_in(2) ? (__u16)f_rand() : (__u16)(v + (int)f_below(17) - 8);
				lenf[0] = (__u8)(v >> 8);
				lenf[1] = (__u8)v;
			}
			break;
		case 5: /* garbage after the packet */
			for (i = f_below(64) + 1; i && g->len < F_MAX_FRAME; i--)
				b[g->len++] = (__u8)f_rand();
			break;
		case 6: /* an extra VLAN tag, or another TPID */
			if (g->len >= 14 && g->len + 4 <= F_MAX_FRAME) {
				memmove(b + 16, b + 12, g->len - 12);
				b[12] = f_one_in(2) ? 0x81 : 0x88;
				b[13] = f_one_in(2) ? 0x00 : 0xa8;
				g->len += 4;
			}
			break;
		case 7: /* L4 header length / IPv4 ihl garbage */
			if (g->len > l3)
				b[l3] = (__u8)((b[l3] & 0xf0) | f_below(16));
			break;
		case 8: /* a byte in the L4 header region */
			if (g->len > l3 + 24) {
				size_t at = l3 + 20 + f_below((uint32_t)(g->len - l3 - 20 < 40
									     ? g->len - l3 - 20
									     : 40));

				b[at] = (__u8)f_rand();
			}
			break;
		default: /* ethertype */
			if (g->len >= 14)
				b[12 + (l3 - 14)] ^= (__u8)(1u << f_below(8));
			break;
		}
	}
	/* Sometimes mend the IPv4 header checksum, so mutated packets still reach the NAT. */
	if (f_one_in(2) && g->len >= l3 + 20 && (b[l3] >> 4) == 4) {
		size_t hl = (size_t)(b[l3] & 0xf) * 4;

		if (hl >= 20 && l3 + hl <= g->len) {
			b[l3 + 10] = b[l3 + 11] = 0;
			__u16 c = xlb_pkt_csum_fold(xlb_pkt_csum_add(0, b + l3, hl));

			memcpy(b + l3 + 10, &c, 2);
		}
	}
}

static void f_junk(struct f_gen *g)
{
	size_t i;

	g->len = f_below(200);
	for (i = 0; i < g->len; i++)
		g->buf[i] = (__u8)f_rand();
	if (g->len >= 14 && f_one_in(2)) {
		g->buf[12] = f_one_in(2) ? 0x08 : 0x86;
		g->buf[13] = g->buf[12] == 0x08 ? 0x00 : 0xdd;
		if (g->len > 14)
			g->buf[14] = (__u8)((g->buf[12] == 0x08 ? 0x40 : 0x60) | (g->buf[14] & 0xf));
	}
	g->ifindex = f_one_in(2) ? t_env.if_c : t_env.if_b;
}

static void f_generate(struct f_gen *g)
{
	enum f_kind kind = f_pick_kind();
	size_t i;
	int n;

	for (i = 0; i < sizeof(g->payload); i++)
		g->payload[i] = (__u8)(i * 7 + 3);
	if (f_spec(g, kind)) {
		f_junk(g);
		return;
	}
	if (f_one_in(16)) {
		g->s.truncate = 14 + f_below(100);
		g->s.truncate_fix_len = (int)f_below(2);
	}
	n = xlb_pkt_build(&g->s, g->buf, sizeof(g->buf), NULL);
	if (n < 0) {
		/* Impossible combinations (a cut past the end, ...): plain junk instead. */
		f_junk(g);
		return;
	}
	g->len = (size_t)n;
	if (f_one_in(8))
		g->ifindex = g->ifindex == t_env.if_c ? t_env.if_b : t_env.if_c;
	if (f_one_in(3))
		f_mutate(g);
}

/* ------------------------------------------------------------------------- */
/* Checks */

/* Offsets of the headers by their formats, as far as the frame has them. */
struct f_layout {
	size_t l3, l4;
	int family;
	__u8 proto;
	int ok;
};

static void f_layout(const __u8 *b, size_t len, struct f_layout *lo)
{
	__u16 et;

	memset(lo, 0, sizeof(*lo));
	if (len < 14)
		return;
	lo->l3 = 14;
	et = (__u16)((b[12] << 8) | b[13]);
	if (et == ETH_P_8021Q_ && len >= 18) {
		et = (__u16)((b[16] << 8) | b[17]);
		lo->l3 = 18;
	}
	if (et == ETH_P_IP_ && len >= lo->l3 + 20) {
		lo->family = AF_INET;
		lo->proto = b[lo->l3 + 9];
		lo->l4 = lo->l3 + (size_t)(b[lo->l3] & 0xf) * 4;
		lo->ok = 1;
	} else if (et == ETH_P_IPV6_ && len >= lo->l3 + 40) {
		__u8 nh = b[lo->l3 + 6];
		size_t off = lo->l3 + 40;
		int i;

		for (i = 0; i < 2 && (nh == 0 || nh == 43 || nh == 60) && off + 2 <= len; i++) {
			size_t n = ((size_t)b[off + 1] + 1) * 8;

			nh = b[off];
			off += n;
		}
		lo->family = AF_INET6;
		lo->proto = nh;
		lo->l4 = off;
		lo->ok = 1;
	}
}

static void f_allow(__u8 *mask, size_t len, size_t off, size_t n)
{
	for (; n && off < len; n--, off++)
		mask[off] = 1;
}

/* Marks the bytes a translation of this frame may change. */
static void f_allowed(const __u8 *in, size_t len, int event, __u8 *mask)
{
	struct f_layout lo;
	int v6;

	memset(mask, 0, len);
	f_allow(mask, len, 0, 12); /* MACs */
	f_layout(in, len, &lo);
	if (!lo.ok)
		return;
	v6 = lo.family == AF_INET6;
	f_allow(mask, len, lo.l3 + (v6 ? 7 : 8), 1); /* TTL / hop limit */
	if (!v6)
		f_allow(mask, len, lo.l3 + 10, 2);
	if (event == XLB_CNT_NAT_ORIG || event == XLB_CNT_NAT_REPLY) {
		int dst = event == XLB_CNT_NAT_ORIG;

		f_allow(mask, len, lo.l3 + (v6 ? (dst ? 24 : 8) : (dst ? 16 : 12)), v6 ? 16 : 4);
		f_allow(mask, len, lo.l4 + (dst ? 2 : 0), 2);
		f_allow(mask, len, lo.l4 + (lo.proto == XLB_PROTO_TCP ? 16 : 6), 2);
		return;
	}
	/* ICMP errors: outer addresses and checksum, the quoted header's addresses, checksum, ports. */
	f_allow(mask, len, lo.l3 + (v6 ? 8 : 12), v6 ? 32 : 8);
	f_allow(mask, len, lo.l4 + 2, 2);
	{
		size_t il3 = lo.l4 + 8, il4;

		if (il3 >= len)
			return;
		if (v6) {
			il4 = il3 + 40;
			f_allow(mask, len, il3 + 8, 32);
		} else {
			il4 = il3 + (size_t)(in[il3] & 0xf) * 4;
			f_allow(mask, len, il3 + 10, 10);
		}
		f_allow(mask, len, il4, 4);
	}
}

/* Input checksums that a translation must keep valid. */
static int f_csums_valid(const struct xlb_pkt_info *pi)
{
	if (pi->ip.family == AF_INET && pi->ip.ip_csum != XLB_PKT_CSUM_OK)
		return 0;
	if (!pi->ip.has_l4)
		return 0;
	if (pi->ip.l4_csum != XLB_PKT_CSUM_OK && pi->ip.l4_csum != XLB_PKT_CSUM_NONE)
		return 0;
	if (pi->has_quote && pi->quote.family == AF_INET && pi->quote.ip_csum != XLB_PKT_CSUM_OK)
		return 0;
	return 1;
}

static const char *f_csum_str(enum xlb_pkt_csum c)
{
	static const char *const n[] = { "n/a", "ok", "BAD", "none", "partial" };

	return (unsigned int)c < 5 ? n[c] : "?";
}

static int f_translated_reason(int r)
{
	return r == XLB_CNT_FWD_TX || r == XLB_CNT_FWD_REDIRECT || r == XLB_CNT_PASS_NO_NEIGH ||
	       r == XLB_CNT_PASS_FIB || r == XLB_CNT_PASS_LOCAL || r == XLB_CNT_DROP_FIB;
}

static void f_check_translation(struct f_run *r)
{
	static const int nat_events[] = { XLB_CNT_NAT_ORIG, XLB_CNT_NAT_REPLY, XLB_CNT_ICMP_ORIG,
					  XLB_CNT_ICMP_REPLY };
	struct xlb_pkt_info pin, pout;
	__u8 mask[XLB_PKT_BUF];
	int event = -1, n = 0, in_ok, si;
	size_t i;

	for (i = 0; i < sizeof(nat_events) / sizeof(nat_events[0]); i++)
		if (r->ev[nat_events[i]]) {
			event = nat_events[i];
			n += (int)r->ev[nat_events[i]];
		}
	if (n != 1) {
		f_violation(r, "forwarding reason with %d translation events", n);
		return;
	}
	if (r->verdict == XLB_CNT_V_DROP)
		return; /* the packet is gone: its content does not matter */
	f_st.rewritten++;
	if (r->out_len != r->len) {
		f_violation(r, "translation changed the length %zu -> %u", r->len, r->out_len);
		return;
	}
	f_allowed(r->in, r->len, event, mask);
	for (i = 0; i < r->len; i++)
		if (r->in[i] != r->out[i] && !mask[i]) {
			f_violation(r, "%s rewrote byte %zu (0x%02x -> 0x%02x), outside what it may "
				    "change", xlb_counter_name(event), i, r->in[i], r->out[i]);
			return;
		}
	in_ok = !xlb_pkt_parse(r->in, r->len, &pin);
	if (xlb_pkt_parse(r->out, r->out_len, &pout)) {
		if (in_ok)
			f_violation(r, "translated frame does not parse: %s", pout.err);
		return;
	}
	/* Where the translation sent it. */
	if (in_ok && pin.ip.has_l4 && event == XLB_CNT_NAT_ORIG) {
		si = f_svc_by_vip(pin.ip.family, &pin.ip.daddr, pin.ip.dport, pin.ip.proto);
		int k = si < 0 ? -1 : f_cand(si, &pout.ip.daddr, pout.ip.dport);

		if (si < 0)
			f_violation(r, "translated a packet for no VIP");
		else if (k < 0 || !f_svcs[si].state[k])
			f_violation(r, "VIP traffic sent to an address that is not one of its "
				       "backends now");
		else if (!r->ev[XLB_CNT_CT_HIT] && f_svcs[si].state[k] != XLB_BE_ACTIVE)
			f_violation(r, "new flow sent to a draining backend");
	}
	if (in_ok && pin.ip.has_l4 && event == XLB_CNT_NAT_REPLY) {
		int ok = 0;

		si = -1;
		while ((si = f_svc_by_backend(pin.ip.family, &pin.ip.saddr, pin.ip.sport,
					      pin.ip.proto, si + 1)) >= 0)
			if (!memcmp(&pout.ip.saddr, &t_env.svc[si].key.addr,
				    f_alen(pin.ip.family)) &&
			    pout.ip.sport == ntohs(t_env.svc[si].key.port))
				ok = 1;
		if (!ok)
			f_violation(r, "reply not from a VIP its source backend serves");
	}
	/* ICMP errors: the quoted VIP flow must turn into its backend's, and back. */
	if (in_ok && pin.has_quote && pin.quote.has_l4 && pout.has_quote && pout.quote.has_l4) {
		const struct xlb_pkt_ip *qi = &pin.quote, *qo = &pout.quote;
		int fam = qi->family, ok = 0, k;

		if (event == XLB_CNT_ICMP_ORIG) {
			si = f_svc_by_vip(fam, &qi->saddr, qi->sport, qi->proto);
			k = si < 0 ? -1 : f_cand(si, &qo->saddr, qo->sport);
			if (k < 0 || !(f_svcs[si].ever & (1u << k)))
				f_violation(r, "ICMP error about a VIP flow sent to no backend of it");
		} else {
			si = -1;
			while ((si = f_svc_by_backend(fam, &qi->daddr, qi->dport, qi->proto,
						      si + 1)) >= 0)
				if (!memcmp(&qo->daddr, &t_env.svc[si].key.addr, f_alen(fam)) &&
				    qo->dport == ntohs(t_env.svc[si].key.port))
					ok = 1;
			if (!ok)
				f_violation(r, "ICMP error about a backend flow not turned back into "
					       "a VIP the backend serves");
		}
	}
	/* A router's hop: one TTL less when xlb forwards, none when the kernel will or it is local. */
	if (in_ok) {
		int fwd = r->reason == XLB_CNT_FWD_TX || r->reason == XLB_CNT_FWD_REDIRECT;
		int want = pin.ip.ttl - (fwd && r->hook != T_TCE ? 1 : 0);

		if (pout.ip.ttl != want)
			f_violation(r, "TTL %u -> %u under %s", pin.ip.ttl, pout.ip.ttl,
				    t_hook_name(r->hook));
	}
	if (!in_ok || !f_csums_valid(&pin))
		return;
	f_st.csum_checked++;
	if (pout.ip.family == AF_INET && pout.ip.ip_csum != XLB_PKT_CSUM_OK)
		f_violation(r, "IPv4 header checksum %s after translation",
			    f_csum_str(pout.ip.ip_csum));
	else if (pout.ip.l4_csum != pin.ip.l4_csum)
		f_violation(r, "L4 checksum %s after translation, was %s",
			    f_csum_str(pout.ip.l4_csum), f_csum_str(pin.ip.l4_csum));
	else if (pin.has_quote && pin.quote.family == AF_INET &&
		 (!pout.has_quote || pout.quote.ip_csum != XLB_PKT_CSUM_OK))
		f_violation(r, "quoted IPv4 header checksum %s after translation",
			    pout.has_quote ? f_csum_str(pout.quote.ip_csum) : "(quote lost)");
}

static void f_check_reject(struct f_run *r)
{
	struct xlb_pkt_info pin, pout;
	int si;

	if (xlb_pkt_parse(r->in, r->len, &pin) || !pin.ip.has_l4) {
		/* xlb's parser accepted what ours does not: name the VIP by the layout instead. */
		return;
	}
	si = f_svc_by_vip(pin.ip.family, &pin.ip.daddr, pin.ip.dport, pin.ip.proto);
	if (si < 0) {
		f_violation(r, "answered for a packet to no VIP");
		return;
	}
	if (f_has_active(si) || f_is_drop_policy(si)) {
		f_violation(r, "answered for a VIP that has an active backend or a drop policy");
		return;
	}
	if (pin.ip.proto == XLB_PROTO_TCP && (pin.ip.tcp_flags & XLB_PKT_TCP_RST)) {
		f_violation(r, "answered a RST");
		return;
	}
	if (xlb_pkt_parse(r->out, r->out_len, &pout)) {
		f_violation(r, "answer does not parse: %s", pout.err);
		return;
	}
	if (pout.ip.family != pin.ip.family ||
	    memcmp(&pout.ip.saddr, &pin.ip.daddr, f_alen(pin.ip.family)) ||
	    memcmp(&pout.ip.daddr, &pin.ip.saddr, f_alen(pin.ip.family))) {
		f_violation(r, "answer not from the VIP to the sender");
		return;
	}
	if (pout.ip.family == AF_INET && pout.ip.ip_csum != XLB_PKT_CSUM_OK)
		f_violation(r, "answer's IPv4 header checksum %s", f_csum_str(pout.ip.ip_csum));
	else if (!pout.ip.has_l4 || pout.ip.l4_csum != XLB_PKT_CSUM_OK)
		f_violation(r, "answer's L4 checksum %s", f_csum_str(pout.ip.l4_csum));
	else if (pin.ip.proto == XLB_PROTO_TCP &&
		 (pout.ip.proto != XLB_PROTO_TCP || !(pout.ip.tcp_flags & XLB_PKT_TCP_RST) ||
		  pout.ip.sport != pin.ip.dport || pout.ip.dport != pin.ip.sport))
		f_violation(r, "TCP answer is not a RST between the flow's ports");
	else if (pin.ip.proto == XLB_PROTO_UDP &&
		 (pout.ip.family == AF_INET ? pout.ip.icmp_type != 3 || pout.ip.icmp_code != 3
					    : pout.ip.icmp_type != 1 || pout.ip.icmp_code != 4))
		f_violation(r, "UDP answer is not a port unreachable");
}

static void f_check_drop_no_backend(struct f_run *r)
{
	struct xlb_pkt_info pin;
	int si;

	if (xlb_pkt_parse(r->in, r->len, &pin) || !pin.ip.has_l4)
		return;
	si = f_svc_by_vip(pin.ip.family, &pin.ip.daddr, pin.ip.dport, pin.ip.proto);
	if (si >= 0 && f_has_active(si))
		f_violation(r, "no-backend drop for a VIP that has an active backend");
	else if (si >= 0 && !f_is_drop_policy(si) && pin.ip.proto == XLB_PROTO_UDP)
		f_violation(r, "UDP to a reject-policy VIP dropped instead of answered");
}

static struct xlb_stats f_prev;

static int f_is_vip_addr(int family, const union xlb_addr *a)
{
	int i;

	for (i = 0; i < T_SVC_MAX; i++)
		if (t_env.svc[i].key.family == family &&
		    !memcmp(&t_env.svc[i].key.addr, a, f_alen(family)))
			return 1;
	return 0;
}

static int f_is_backend_addr(int family, const union xlb_addr *a)
{
	int i, k;

	for (i = 0; i < T_SVC_MAX; i++)
		for (k = 0; k < f_svcs[i].n_cand; k++)
			if (t_env.svc[i].key.family == family &&
			    !memcmp(&f_svcs[i].cand[k], a, f_alen(family)))
				return 1;
	return 0;
}

static int f_icmp_error_type(int family, __u8 type)
{
	return family == AF_INET ? type == 3 || type == 11 : type >= 1 && type <= 3;
}

/*
 * By the packet's own headers (our parser, not xlb's), none of xlb's business:
 * a whole, unfragmented TCP or UDP packet neither to a VIP address nor from a
 * backend address, or an ICMP message that is no error (echo, ND, ...) behind
 * at most the two IPv6 extension headers xlb steps over.
 */
static int f_not_ours(const __u8 *in, size_t len)
{
	struct xlb_pkt_info pi;

	if (xlb_pkt_parse(in, len, &pi) || !pi.ip.family || !pi.ip.has_l4 || pi.ip.is_frag ||
	    pi.ip.n_ext > 2)
		return 0;
	if (pi.ip.proto == XLB_PROTO_TCP || pi.ip.proto == XLB_PROTO_UDP)
		return !f_is_vip_addr(pi.ip.family, &pi.ip.daddr) &&
		       !f_is_backend_addr(pi.ip.family, &pi.ip.saddr);
	if (pi.ip.proto == (pi.ip.family == AF_INET ? 1 : 58))
		return !f_icmp_error_type(pi.ip.family, pi.ip.icmp_type);
	return 0;
}

/*
 * Frames BPF_PROG_TEST_RUN itself turns down, so no program runs: shorter than
 * an Ethernet header, and for skb programs an IPv4 or IPv6 ethertype followed
 * by less than that IP header (the kernel pulls it before the run).
 */
static int f_kernel_refuses(enum t_hook hook, const __u8 *in, size_t len)
{
	if (len < 14)
		return 1;
	if (hook == T_XDP)
		return 0;
	if (in[12] == 0x08 && in[13] == 0x00)
		return len < 14 + 20;
	if (in[12] == 0x86 && in[13] == 0xdd)
		return len < 14 + 40;
	return 0;
}

static void f_run_one(const __u8 *in, size_t len, enum t_hook hook, int ifindex)
{
	struct f_run r = { .in = in, .len = len, .hook = hook, .ifindex = ifindex, .reason = -1,
			   .verdict = -1 };
	struct xlb_stats now;
	int nv = 0, nr = 0, err;
	unsigned int i;

	err = t_prog_run(t_env.dp, hook, ifindex, in, len, r.out, &r.out_len, &r.ret);
	f_st.runs++;
	if (err) {
		if (err == -EINVAL && f_kernel_refuses(hook, in, len)) {
			f_st.runs--;
			f_st.refused++;
			return;
		}
		f_violation(&r, "BPF_PROG_TEST_RUN failed: %s", strerror(-err));
		return;
	}
	if (xlb_stats_read(t_env.dp, &now)) {
		f_violation(&r, "cannot read xlb_stats");
		return;
	}
	for (i = 0; i < XLB_CNT_MAX; i++) {
		__u64 d = now.c[i] - f_prev.c[i];

		if (i < XLB_CNT_FIRST_REASON && d) {
			nv += (int)d;
			r.verdict = (int)i;
		} else if (i >= XLB_CNT_FIRST_REASON && i < XLB_CNT_FIRST_EVENT && d) {
			nr += (int)d;
			r.reason = (int)i;
		} else if (i >= XLB_CNT_FIRST_EVENT) {
			r.ev[i] = d;
		}
	}
	f_prev = now;
	if (nv != 1 || nr != 1) {
		f_violation(&r, "%d verdicts and %d reasons counted for one packet", nv, nr);
		return;
	}
	f_st.verdict[r.verdict]++;
	f_st.reason[r.reason]++;
	if (t_reason_verdict(r.reason) != r.verdict) {
		f_violation(&r, "verdict %s counted with reason of verdict %s",
			    xlb_counter_name((unsigned int)r.verdict),
			    xlb_counter_name((unsigned int)t_reason_verdict(r.reason)));
		return;
	}
	if (r.ret != t_verdict_ret(hook, r.verdict)) {
		f_violation(&r, "returned %u for verdict %s", r.ret,
			    xlb_counter_name((unsigned int)r.verdict));
		return;
	}
	if (r.ev[XLB_CNT_NAT_ORIG])
		f_st.nat_orig_bytes += len;

	if (!f_names_ours(in, len)) {
		f_st.foreign++;
		if (r.verdict != XLB_CNT_V_PASS)
			f_violation(&r, "frame naming no VIP or backend was not passed");
		else if (r.out_len != len || memcmp(r.out, in, len))
			f_violation(&r, "frame naming no VIP or backend was changed");
		return;
	}
	if (f_not_ours(in, len)) {
		f_st.not_ours++;
		if (r.verdict != XLB_CNT_V_PASS)
			f_violation(&r, "packet that is not for a VIP nor from a backend, nor an ICMP "
					"error, was not passed");
		else if (r.out_len != len || memcmp(r.out, in, len))
			f_violation(&r, "packet that is not for a VIP nor from a backend, nor an ICMP "
					"error, was changed");
		return;
	}
	switch (r.reason) {
	case XLB_CNT_PASS_NOT_IP:
	case XLB_CNT_PASS_TRUNCATED:
	case XLB_CNT_PASS_NOT_VIP:
	case XLB_CNT_PASS_PROTO:
	case XLB_CNT_PASS_FRAGMENT:
	case XLB_CNT_PASS_ICMP:
		if (r.out_len != len || memcmp(r.out, in, len))
			f_violation(&r, "frame passed as not ours, but changed");
		break;
	case XLB_CNT_REJECT_TX:
	case XLB_CNT_REJECT_REDIRECT:
		f_check_reject(&r);
		break;
	case XLB_CNT_DROP_NO_BACKEND:
		f_check_drop_no_backend(&r);
		break;
	default:
		if (f_translated_reason(r.reason))
			f_check_translation(&r);
		break;
	}
}

static void f_run_all_hooks(const __u8 *in, size_t len, int ifindex)
{
	size_t h;

	for (h = 0; h < sizeof(f_hooks) / sizeof(f_hooks[0]); h++)
		f_run_one(in, len, f_hooks[h], ifindex);
	f_st.packets++;
}

/* Replays kept frames: each through every hook, from both sides. */
static int f_replay(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	__u8 buf[XLB_PKT_BUF];

	if (!d) {
		fprintf(stderr, "bpf_pktfuzz: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char path[1024];
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		f_pkt_idx = f_st.packets;
		f_run_all_hooks(buf, n, t_env.if_c);
		f_run_all_hooks(buf, n, t_env.if_b);
		f_st.replayed++;
	}
	closedir(d);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Counters add up */

static void f_check_sums(const struct t_counters *b, const struct t_counters *a)
{
	__u64 g[XLB_CNT_MAX], vin = 0, vbytes = 0, vout = 0, vnew = 0, vrej = 0, bin = 0, bout = 0;
	__u64 vstateless = 0;
	__u64 vdrop[XLB_VIP_DROP_MAX] = { 0 }, sum_v = 0, sum_r = 0;
	unsigned int i, k;
	int bad = 0;

#define F_SUM(what, got, want)                                                                     \
	do {                                                                                       \
		if ((got) != (want)) {                                                             \
			printf("COUNTERS: %s: %llu, expected %llu\n", what,                        \
			       (unsigned long long)(got), (unsigned long long)(want));             \
			bad++;                                                                     \
		}                                                                                  \
	} while (0)

	for (i = 0; i < XLB_CNT_MAX; i++)
		g[i] = a->g.c[i] - b->g.c[i];
	for (i = 0; i < XLB_CNT_FIRST_REASON; i++) {
		sum_v += g[i];
		F_SUM(xlb_counter_name(i), g[i], f_st.verdict[i]);
	}
	for (i = XLB_CNT_FIRST_REASON; i < XLB_CNT_FIRST_EVENT; i++) {
		sum_r += g[i];
		F_SUM(xlb_counter_name(i), g[i], f_st.reason[i]);
	}
	F_SUM("verdicts counted vs runs", sum_v, f_st.runs);
	F_SUM("reasons counted vs runs", sum_r, f_st.runs);
	for (i = 1; i < T_MAX_VIPS; i++) {
		vin += a->vip[i].pkts_in - b->vip[i].pkts_in;
		vbytes += a->vip[i].bytes_in - b->vip[i].bytes_in;
		vout += a->vip[i].pkts_out - b->vip[i].pkts_out;
		vnew += a->vip[i].new_flows - b->vip[i].new_flows;
		vrej += a->vip[i].rejected - b->vip[i].rejected;
		vstateless += a->vip[i].stateless - b->vip[i].stateless;
		for (k = 0; k < XLB_VIP_DROP_MAX; k++)
			vdrop[k] += a->vip[i].drops[k] - b->vip[i].drops[k];
	}
	f_be_carry();
	bin = f_be_carried.pkts_in;
	bout = f_be_carried.pkts_out;
	F_SUM("VIP pkts_in vs nat_orig", vin, g[XLB_CNT_NAT_ORIG]);
	F_SUM("VIP bytes_in vs bytes of translated client packets", vbytes, f_st.nat_orig_bytes);
	F_SUM("backend pkts_in vs nat_orig", bin, g[XLB_CNT_NAT_ORIG]);
	/* Every translated packet that did not hit conntrack (SYNs never do) is a new flow. */
	F_SUM("VIP new_flows vs nat_orig - ct_hit", vnew, g[XLB_CNT_NAT_ORIG] - g[XLB_CNT_CT_HIT]);
	F_SUM("VIP stateless vs ct_stateless", vstateless, g[XLB_CNT_CT_STATELESS]);
	F_SUM("VIP pkts_out vs nat_reply", vout, g[XLB_CNT_NAT_REPLY]);
	F_SUM("backend pkts_out vs nat_reply", bout, g[XLB_CNT_NAT_REPLY]);
	F_SUM("VIP rejected vs reject reasons", vrej,
	      g[XLB_CNT_REJECT_TX] + g[XLB_CNT_REJECT_REDIRECT]);
	F_SUM("VIP drops[no_backend]", vdrop[XLB_VIP_DROP_NO_BACKEND], g[XLB_CNT_DROP_NO_BACKEND]);
	F_SUM("VIP drops[no_table]", vdrop[XLB_VIP_DROP_NO_TABLE], g[XLB_CNT_DROP_NO_TABLE]);
	F_SUM("VIP drops[reject_failed]", vdrop[XLB_VIP_DROP_REJECT_FAILED],
	      g[XLB_CNT_DROP_REJECT_FAILED]);
	if (vdrop[XLB_VIP_DROP_FIB] > g[XLB_CNT_DROP_FIB]) {
		printf("COUNTERS: VIP drops[fib] %llu over drop_fib %llu\n",
		       (unsigned long long)vdrop[XLB_VIP_DROP_FIB],
		       (unsigned long long)g[XLB_CNT_DROP_FIB]);
		bad++;
	}
#undef F_SUM
	f_st.violations += (uint64_t)bad;
}

/* ------------------------------------------------------------------------- */

static void f_usage(FILE *f)
{
	fprintf(f, "usage: bpf_pktfuzz [-n PACKETS] [-s SEED] [-r DIR]... [-w DIR] [-v]\n"
		   "  -n PACKETS  random packets, each run through XDP, TC ingress and TC egress"
		   " (default 1000000)\n"
		   "  -s SEED     PRNG seed (default: from the clock; printed)\n"
		   "  -r DIR      first replay the frames in DIR (regression cases)\n"
		   "  -w DIR      write frames that break an invariant into DIR\n"
		   "  -C          keep the backends fixed (no control-plane churn)\n"
		   "  -v          print a summary of reasons\n");
}

int main(int argc, char **argv)
{
	static struct t_counters before, after;
	static struct f_gen g;
	const char *replay[8];
	uint64_t n = 1000000, seed, i;
	int nr_replay = 0, c, dummy_state;
	void *state = &dummy_state;
	struct timespec t0, t1;
	double secs;

	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((c = getopt(argc, argv, "n:s:r:w:Cvh")) != -1) {
		switch (c) {
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			if (nr_replay < 8)
				replay[nr_replay++] = optarg;
			break;
		case 'w':
			f_keep_dir = optarg;
			break;
		case 'C':
			f_churn = 0;
			break;
		case 'v':
			f_verbose++;
			break;
		case 'h':
			f_usage(stdout);
			return 0;
		default:
			f_usage(stderr);
			return 2;
		}
	}
	f_state = seed;
	printf("bpf_pktfuzz: seed %" PRIu64 ", %" PRIu64 " packets x 3 programs\n", seed, n);
	fflush(stdout);
	if (t_setup(&state))
		return 2;
	f_svcs_init();
	f_addrs_init();
	t_counters_read(t_env.dp, &before);
	f_prev = before.g;
	f_be_sum(&f_be_mark.pkts_in, &f_be_mark.pkts_out);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (c = 0; c < nr_replay; c++)
		if (f_replay(replay[c]))
			f_st.violations++;
	for (i = 0; i < n; i++) {
		f_pkt_idx = i;
		if (f_churn && i && i % F_CHURN_EVERY == 0)
			f_churn_step();
		f_generate(&g);
		f_run_all_hooks(g.buf, g.len, g.ifindex);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_counters_read(t_env.dp, &after);
	f_check_sums(&before, &after);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (f_verbose)
		for (i = XLB_CNT_FIRST_REASON; i < XLB_CNT_FIRST_EVENT; i++)
			printf("  %-22s %" PRIu64 "\n", xlb_counter_name((unsigned int)i),
			       f_st.reason[i]);
	printf("bpf_pktfuzz: seed %" PRIu64 ": %" PRIu64 " packets (%" PRIu64 " replayed), %" PRIu64
	       " executions in %.1fs; %" PRIu64 " naming no VIP/backend, %" PRIu64
	       " not ours, %" PRIu64 " rewritten, %" PRIu64 " checksum-checked, %" PRIu64
	       " refused by the kernel; %" PRIu64 " backend set changes; %" PRIu64
	       " violations\n",
	       seed, f_st.packets, f_st.replayed, f_st.runs, secs, f_st.foreign, f_st.not_ours,
	       f_st.rewritten, f_st.csum_checked, f_st.refused, f_churns, f_st.violations);
	t_teardown(&state);
	return f_st.violations ? 1 : 0;
}
