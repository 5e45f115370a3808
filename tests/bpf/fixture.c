// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The suite's fixture: moves the test process into a private network
 * namespace (nothing on the host is touched; the namespace and its links die
 * with the process), builds a two-veth router there with fixed MACs, permanent
 * neighbours and blackhole/unreachable/MTU routes so that bpf_fib_lookup gives
 * deterministic answers, loads the data plane under a private pin path (removed
 * at teardown and again at exit, because bpffs pins outlive the process), and
 * creates the services the case table refers to, through the daemon's own
 * libxlb calls. Also: running a packet, counter snapshots and their checks.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "names.h"
#include "suite.h"

#define BPF_FS_MAGIC_ 0xcafe4a11
#define T_IF_C "xlbt-c"
#define T_IF_B "xlbt-b"

struct t_env t_env;
int t_errors;

const __u8 t_client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x10 };
const __u8 t_router_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0xfe };
static const __u8 t_mac_c[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
static const __u8 t_mac_b[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
static const __u8 t_mac_m[6] = { 0x02, 0x00, 0x00, 0x00, 0x03, 0x01 };

static const struct {
	const char *vip; /* xlb_vip_key_parse syntax */
	__u16 flags;
	const char *be_addr; /* NULL: no backend */
	__u16 be_port;
} t_svc_defs[T_SVC_MAX] = {
	[T_SVC_TCP4] = { "198.18.0.10:80/tcp", 0, "198.18.2.10", 8080 },
	[T_SVC_UDP4] = { "198.18.0.10:53/udp", 0, "198.18.2.10", 5353 },
	[T_SVC_TCP6] = { "[2001:db8::10]:80/tcp", 0, "2001:db8:2::10", 8080 },
	[T_SVC_UDP6] = { "[2001:db8::10]:53/udp", 0, "2001:db8:2::10", 5353 },
	[T_SVC_REJ_TCP4] = { "198.18.0.20:80/tcp", 0, NULL, 0 },
	[T_SVC_REJ_UDP4] = { "198.18.0.20:53/udp", 0, NULL, 0 },
	[T_SVC_REJ_TCP6] = { "[2001:db8::20]:80/tcp", 0, NULL, 0 },
	[T_SVC_REJ_UDP6] = { "[2001:db8::20]:53/udp", 0, NULL, 0 },
	[T_SVC_DROP_TCP4] = { "198.18.0.21:80/tcp", XLB_VIP_F_DROP_NO_BACKEND, NULL, 0 },
	[T_SVC_DROP_UDP6] = { "[2001:db8::21]:53/udp", XLB_VIP_F_DROP_NO_BACKEND, NULL, 0 },
	[T_SVC_NONEIGH4] = { "198.18.0.30:80/tcp", 0, "198.18.2.99", 8080 },
	[T_SVC_NONEIGH6] = { "[2001:db8::30]:80/tcp", 0, "2001:db8:2::99", 8080 },
	[T_SVC_BLACKHOLE4] = { "198.18.0.31:80/tcp", 0, "198.18.2.66", 8080 },
	[T_SVC_UNREACH4] = { "198.18.0.32:80/tcp", 0, "198.18.2.67", 8080 },
	[T_SVC_BLACKHOLE6] = { "[2001:db8::31]:80/tcp", 0, "2001:db8:2::66", 8080 },
	[T_SVC_LOCAL4] = { "198.18.0.33:80/tcp", 0, "198.18.2.1", 8080 },
	[T_SVC_MTU4] = { "198.18.0.34:80/tcp", 0, "198.18.2.77", 8080 },
	[T_SVC_DEVMTU4] = { "198.18.0.35:80/tcp", 0, "198.18.2.78", 8080 },
};

/* The topology. Backends that must resolve get permanent neighbours; .99 never does. */
static const char *const t_ip_batch[] = {
	"link set lo up",
	"link add " T_IF_C " address 02:00:00:00:01:01 type veth peer name xlbt-cp "
	"address 02:00:00:00:01:fe",
	"link add " T_IF_B " address 02:00:00:00:02:01 type veth peer name xlbt-bp "
	"address 02:00:00:00:02:fe",
	"link set " T_IF_C " up",
	"link set xlbt-cp up",
	"link set " T_IF_B " up",
	"link set xlbt-bp up",
	"addr add 198.18.1.1/24 dev " T_IF_C,
	"addr add 2001:db8:1::1/64 dev " T_IF_C " nodad",
	"addr add 198.18.2.1/24 dev " T_IF_B,
	"addr add 2001:db8:2::1/64 dev " T_IF_B " nodad",
	"neigh add 198.18.1.10 lladdr 02:00:00:00:01:10 dev " T_IF_C " nud permanent",
	"neigh add 2001:db8:1::10 lladdr 02:00:00:00:01:10 dev " T_IF_C " nud permanent",
	"route add blackhole 198.18.2.66/32",
	"route add unreachable 198.18.2.67/32",
	"route add blackhole 2001:db8:2::66/128",
	"route add 198.18.2.77/32 dev " T_IF_B " mtu lock 1000",
	/* A third link with a small MTU, for a backend behind it. */
	"link add xlbt-m address 02:00:00:00:03:01 mtu 1000 type veth peer name xlbt-mp mtu 1000",
	"link set xlbt-m up",
	"link set xlbt-mp up",
	"route add 198.18.2.78/32 dev xlbt-m",
	"neigh add 198.18.2.78 lladdr 02:00:00:00:02:4e dev xlbt-m nud permanent",
};

/* Pin paths to remove at exit, whatever way the process ends. */
static char t_pins[4][64];

static void t_unpin_all(void)
{
	size_t i;

	for (i = 0; i < sizeof(t_pins) / sizeof(t_pins[0]); i++)
		if (t_pins[i][0]) {
			xlb_dp_unpin(t_pins[i]);
			t_pins[i][0] = '\0';
		}
}

static void t_on_signal(int sig)
{
	t_unpin_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void t_pin_register(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(t_pins) / sizeof(t_pins[0]); i++)
		if (!t_pins[i][0]) {
			snprintf(t_pins[i], sizeof(t_pins[i]), "%s", path);
			return;
		}
}

void t_pin_release(const char *path)
{
	size_t i;

	xlb_dp_unpin(path);
	for (i = 0; i < sizeof(t_pins) / sizeof(t_pins[0]); i++)
		if (!strcmp(t_pins[i], path))
			t_pins[i][0] = '\0';
}

static int t_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		err = -EIO;
	if (fclose(f))
		err = -errno;
	return err;
}

static int t_ip(void)
{
	FILE *p = popen("ip -batch - >/dev/null", "w");
	size_t i;

	if (!p)
		return -errno;
	for (i = 0; i < sizeof(t_ip_batch) / sizeof(t_ip_batch[0]); i++)
		fprintf(p, "%s\n", t_ip_batch[i]);
	/* Permanent neighbours for the backends: .10-.19 and the MTU-limited .77. */
	for (i = 10; i < 20; i++) {
		fprintf(p, "neigh add 198.18.2.%zu lladdr 02:00:00:00:02:%02zx dev %s %s\n", i, i,
			T_IF_B, "nud permanent");
		fprintf(p, "neigh add 2001:db8:2::%zx lladdr 02:00:00:00:02:%02zx dev %s %s\n",
			i, i, T_IF_B, "nud permanent");
	}
	fprintf(p, "neigh add 198.18.2.77 lladdr 02:00:00:00:02:4d dev %s nud permanent\n", T_IF_B);
	if (pclose(p))
		return -EIO;
	/*
	 * GRO on the far ends, as an end host's NIC in the labs: only then does
	 * the kernel let native XDP redirect into these veths (it says so in
	 * their xdp-features, which xlb_dp_if_addrs_sync reads).
	 */
	return system("ethtool -K xlbt-cp gro on >/dev/null 2>&1 && "
		      "ethtool -K xlbt-bp gro on >/dev/null 2>&1 && "
		      "ethtool -K xlbt-mp gro on >/dev/null 2>&1") == 0
		       ? 0
		       : -EIO;
}

void t_backend_mac(int family, const union xlb_addr *addr, __u8 mac[6])
{
	static const __u8 base[5] = { 0x02, 0x00, 0x00, 0x00, 0x02 };

	memcpy(mac, base, 5);
	mac[5] = family == AF_INET6 ? addr->bytes[15] : addr->bytes[3];
}

static int t_svc_create(enum t_svc i)
{
	struct t_svc_state *s = &t_env.svc[i];
	struct xlb_backend_spec be = {};
	char err[128];
	int rc;

	rc = xlb_vip_key_parse(t_svc_defs[i].vip, &s->key, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "fixture: %s\n", err);
		return rc;
	}
	rc = xlb_vip_put(t_env.dp, &s->key, t_svc_defs[i].flags, &s->vip_id);
	if (rc || !t_svc_defs[i].be_addr)
		return rc;
	if (xlb_pkt_addr(t_svc_defs[i].be_addr, &be.addr) < 0)
		return -EINVAL;
	be.port = htons(t_svc_defs[i].be_port);
	be.family = s->key.family;
	be.state = XLB_BE_ACTIVE;
	be.weight = 1;
	rc = xlb_vip_set_backends(t_env.dp, &s->key, &be, 1);
	if (rc)
		return rc;
	s->has_backend = 1;
	s->be_addr = be.addr;
	s->be_port = t_svc_defs[i].be_port;
	t_backend_mac(be.family, &be.addr, s->be_mac);
	memcpy(s->out_mac, i == T_SVC_DEVMTU4 ? t_mac_m : t_mac_b, 6);
	return xlb_backend_find(t_env.dp, s->vip_id, &be.addr, be.port, be.family, &s->be_id);
}

int t_setup(void **state)
{
	struct xlb_dp_opts o = {
		.max_vips = T_MAX_VIPS,
		.max_backends = T_MAX_BACKENDS,
		.ct_size = T_CT_SIZE,
	};
	struct statfs sfs;
	cpu_set_t cpus;
	int cpu, err, i;

	if (geteuid() != 0) {
		fprintf(stderr, "fixture: must run as root (netns, bpffs, BPF_PROG_TEST_RUN)\n");
		return -1;
	}
	xlb_log_set_level(XLB_LOG_WARN);
	/*
	 * One CPU for the whole run: conntrack insert budgets and counters are per
	 * CPU, and a run that migrated between two packets would see another budget.
	 */
	cpu = sched_getcpu();
	CPU_ZERO(&cpus);
	CPU_SET(cpu < 0 ? 0 : cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		fprintf(stderr, "fixture: pin to CPU %d: %s (budget test may flake)\n", cpu,
			strerror(errno));
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "fixture: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC_) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
			fprintf(stderr, "fixture: mount bpffs: %s\n", strerror(errno));
			return -1;
		}
	}
	err = t_ip();
	if (err) {
		fprintf(stderr, "fixture: ip -batch failed: topology incomplete\n");
		return -1;
	}
	if (t_write("/proc/sys/net/ipv4/conf/all/forwarding", "1") ||
	    t_write("/proc/sys/net/ipv6/conf/all/forwarding", "1")) {
		fprintf(stderr, "fixture: enable forwarding: %s\n", strerror(errno));
		return -1;
	}
	t_env.if_c = (int)if_nametoindex(T_IF_C);
	t_env.if_b = (int)if_nametoindex(T_IF_B);
	if (!t_env.if_c || !t_env.if_b) {
		fprintf(stderr, "fixture: veths missing\n");
		return -1;
	}
	memcpy(t_env.mac_c, t_mac_c, 6);
	memcpy(t_env.mac_b, t_mac_b, 6);

	snprintf(t_env.pin_path, sizeof(t_env.pin_path), "/sys/fs/bpf/xlb-test-%d", (int)getpid());
	atexit(t_unpin_all);
	/* Also a reader that went away (| head) or a closed terminal: pins must not outlive us. */
	signal(SIGINT, t_on_signal);
	signal(SIGTERM, t_on_signal);
	signal(SIGHUP, t_on_signal);
	signal(SIGPIPE, t_on_signal);
	t_pin_register(t_env.pin_path);
	o.pin_path = t_env.pin_path;
	err = xlb_dp_open(&t_env.dp, &o);
	if (err) {
		fprintf(stderr, "fixture: xlb_dp_open(%s): %s\n", t_env.pin_path, strerror(-err));
		return -1;
	}
	for (i = 0; i < T_SVC_MAX; i++) {
		err = t_svc_create(i);
		if (err) {
			fprintf(stderr, "fixture: service %s: %s\n", t_svc_defs[i].vip,
				strerror(-err));
			return -1;
		}
	}
	/* No group state: cmocka would hand it to every test instead of the row's own. */
	*state = NULL;
	return 0;
}

int t_teardown(void **state)
{
	xlb_dp_close(t_env.dp);
	t_env.dp = NULL;
	t_pin_release(t_env.pin_path);
	return 0;
}

__u16 t_port(void)
{
	static __u16 next = T_CLIENT_PORT_BASE;

	return next++;
}

const char *t_hook_name(enum t_hook hook)
{
	return hook == T_XDP ? "xdp" : hook == T_TCI ? "tc_ingress" : "tc_egress";
}

int t_prog_run(struct xlb_dp *dp, enum t_hook hook, int ifindex, const void *in, size_t len,
	       void *out, __u32 *out_len, __u32 *ret)
{
	struct xdp_md xctx = {};
	struct __sk_buff sctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = XLB_PKT_BUF, .repeat = 1);
	enum xlb_dp_prog prog;
	int err;

	if (hook == T_XDP) {
		/* The kernel wants data_end to match the input; ingress_ifindex picks the rxq. */
		xctx.data_end = (__u32)len;
		xctx.ingress_ifindex = (__u32)ifindex;
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
		prog = XLB_PROG_XDP;
	} else {
		sctx.ifindex = (__u32)ifindex;
		sctx.ingress_ifindex = hook == T_TCI ? (__u32)ifindex : 0;
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
		prog = hook == T_TCI ? XLB_PROG_TC_INGRESS : XLB_PROG_TC_EGRESS;
	}
	err = bpf_prog_test_run_opts(xlb_dp_prog_fd(dp, prog), &o);
	if (err)
		return -errno;
	*out_len = o.data_size_out;
	*ret = o.retval;
	return 0;
}

__u32 t_verdict_ret(enum t_hook hook, int verdict)
{
	if (hook == T_XDP) {
		switch (verdict) {
		case XLB_CNT_V_DROP:
			return XDP_DROP;
		case XLB_CNT_V_TX:
			return XDP_TX;
		case XLB_CNT_V_REDIRECT:
			return XDP_REDIRECT;
		default:
			return XDP_PASS;
		}
	}
	switch (verdict) {
	case XLB_CNT_V_DROP:
		return TC_ACT_SHOT;
	case XLB_CNT_V_TX:
	case XLB_CNT_V_REDIRECT:
		return TC_ACT_REDIRECT; /* bpf_redirect()/bpf_redirect_neigh() */
	default:
		return TC_ACT_OK;
	}
}

int t_reason_verdict(int reason)
{
	switch (reason) {
#define T_X(r, v, h)                                                                               \
	case XLB_CNT_##r:                                                                          \
		return XLB_CNT_V_##v;
		XLB_REASONS(T_X)
#undef T_X
	}
	return -1;
}

void t_counters_read(struct xlb_dp *dp, struct t_counters *c)
{
	__u32 i;

	memset(c, 0, sizeof(*c));
	if (xlb_stats_read(dp, &c->g))
		t_err("read xlb_stats failed");
	/* Ids past a small instance's map size just read as zero. */
	for (i = 0; i < T_MAX_VIPS; i++)
		xlb_vip_stats_read(dp, i, &c->vip[i]);
	for (i = 0; i < T_MAX_BACKENDS; i++)
		xlb_backend_stats_read(dp, i, &c->be[i]);
}

void t_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("    FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	t_errors++;
}

void t_eq(const char *what, unsigned long long got, unsigned long long want)
{
	if (got != want)
		t_err("%s: got %llu (0x%llx), want %llu (0x%llx)", what, got, got, want, want);
}

void t_done(const char *where)
{
	int n = t_errors;

	t_errors = 0;
	fflush(stdout);
	if (n)
		fail_msg("%s: %d check(s) failed", where, n);
}

static const char *const t_vip_fields[] = {
	"pkts_in", "bytes_in", "pkts_out", "bytes_out", "new_flows", "rejected", "stateless",
};
#define T_VIP_FIELDS (sizeof(t_vip_fields) / sizeof(t_vip_fields[0]))
static const char *const t_be_fields[] = {
	"pkts_in", "bytes_in", "pkts_out", "bytes_out", "new_flows",
};

void t_check_delta(const struct t_counters *b, const struct t_counters *a, const struct t_delta *d)
{
	int verdict = t_reason_verdict(d->reason);
	char what[96];
	__u32 i, j, k;

	for (i = 0; i < XLB_CNT_FIRST_EVENT; i++) {
		__u64 want = 0;

		if (i >= XLB_CNT_FIRST_REASON)
			want = (int)i == d->reason;
		else
			want = (int)i == verdict;
		snprintf(what, sizeof(what), "counter %s delta", xlb_counter_name(i));
		t_eq(what, a->g.c[i] - b->g.c[i], want);
	}
	for (i = XLB_CNT_FIRST_EVENT; i < XLB_CNT_MAX; i++) {
		/* Whether the next hop was cached depends on the packets before: not a row's outcome. */
		if (i == XLB_CNT_NH_MISS)
			continue;
		snprintf(what, sizeof(what), "event %s delta", xlb_counter_name(i));
		t_eq(what, a->g.c[i] - b->g.c[i], (d->events >> (i - XLB_CNT_FIRST_EVENT)) & 1);
	}
	for (i = 1; i < T_MAX_VIPS; i++) {
		const __u64 *va = (const __u64 *)&a->vip[i], *vb = (const __u64 *)&b->vip[i];
		const __u64 *vw = (const __u64 *)&d->vip;

		for (k = 0; k < sizeof(struct xlb_vip_stats) / 8; k++) {
			__u64 want = i == d->vip_id ? vw[k] : 0;

			if (k < T_VIP_FIELDS)
				snprintf(what, sizeof(what), "vip %u %s delta", i, t_vip_fields[k]);
			else
				snprintf(what, sizeof(what), "vip %u drops[%s] delta", i,
					 xlb_vip_drop_name(k - T_VIP_FIELDS));
			t_eq(what, va[k] - vb[k], want);
		}
	}
	for (i = 1; i < T_MAX_BACKENDS; i++) {
		const __u64 *ba = (const __u64 *)&a->be[i], *bb = (const __u64 *)&b->be[i];
		const __u64 *bw = NULL;

		for (j = 0; j < 2; j++)
			if (d->be_id[j] && d->be_id[j] == i)
				bw = (const __u64 *)&d->be[j];
		for (k = 0; k < sizeof(struct xlb_backend_stats) / 8; k++) {
			snprintf(what, sizeof(what), "backend %u %s delta", i, t_be_fields[k]);
			t_eq(what, ba[k] - bb[k], bw ? bw[k] : 0);
		}
	}
}

static const char *t_csum_name(enum xlb_pkt_csum c)
{
	switch (c) {
	case XLB_PKT_CSUM_OK:
		return "ok";
	case XLB_PKT_CSUM_BAD:
		return "BAD";
	case XLB_PKT_CSUM_NONE:
		return "none (0)";
	case XLB_PKT_CSUM_PARTIAL:
		return "partial";
	default:
		return "n/a";
	}
}

static void t_addr_eq(const char *what, int family, const union xlb_addr *got,
		      const union xlb_addr *want)
{
	char g[INET6_ADDRSTRLEN], w[INET6_ADDRSTRLEN];

	if (memcmp(got, want, family == AF_INET6 ? 16 : 4))
		t_err("%s: got %s, want %s", what, xlb_pkt_addr_str(family, got, g, sizeof(g)),
		      xlb_pkt_addr_str(family, want, w, sizeof(w)));
}

static void t_mac_eq(const char *what, const __u8 *got, const __u8 *want)
{
	char g[24], w[24];

	if (memcmp(got, want, 6))
		t_err("%s: got %s, want %s", what, xlb_pkt_mac_str(got, g, sizeof(g)),
		      xlb_pkt_mac_str(want, w, sizeof(w)));
}

static void t_csum_eq(const char *what, enum xlb_pkt_csum got, enum xlb_pkt_csum want)
{
	if (got != want)
		t_err("%s: %s, want %s", what, t_csum_name(got), t_csum_name(want));
}

/* Compares one IP packet (outer or quoted); pfx names which. */
static void t_ip_eq(const char *pfx, const struct xlb_pkt_ip *g, const struct xlb_pkt_ip *w,
		    int quote)
{
	char what[64];

#define T_F(field, name)                                                                           \
	do {                                                                                       \
		snprintf(what, sizeof(what), "%s%s", pfx, name);                                   \
		t_eq(what, g->field, w->field);                                                    \
	} while (0)
	T_F(family, "family");
	if (g->family != w->family)
		return;
	snprintf(what, sizeof(what), "%ssource address", pfx);
	t_addr_eq(what, g->family, &g->saddr, &w->saddr);
	snprintf(what, sizeof(what), "%sdestination address", pfx);
	t_addr_eq(what, g->family, &g->daddr, &w->daddr);
	T_F(ttl, g->family == AF_INET ? "TTL" : "hop limit");
	T_F(tos, "TOS/traffic class");
	T_F(proto, "protocol");
	T_F(ip_len, "IP length");
	T_F(hdr_len, "IP header length");
	if (g->family == AF_INET) {
		T_F(ip_id, "IPv4 id");
		T_F(frag, "IPv4 flags/offset");
		snprintf(what, sizeof(what), "%sIPv4 header checksum", pfx);
		t_csum_eq(what, g->ip_csum, XLB_PKT_CSUM_OK);
	} else {
		T_F(flow_label, "flow label");
		T_F(n_ext, "extension headers");
	}
	T_F(has_l4, "L4 header present");
	if (!g->has_l4 || !w->has_l4)
		return;
	if (g->proto == 6 || g->proto == 17) {
		T_F(sport, "source port");
		T_F(dport, "destination port");
	}
	if (g->proto == 6) {
		T_F(tcp_flags, "TCP flags");
		T_F(seq, "TCP seq");
		T_F(ack, "TCP ack");
		T_F(window, "TCP window");
		T_F(doff, "TCP header length");
	} else if (g->proto == 17) {
		T_F(udp_len, "UDP length");
	} else {
		T_F(icmp_type, "ICMP type");
		T_F(icmp_code, "ICMP code");
		T_F(icmp_data, "ICMP data word");
	}
	if (quote) {
		/* xlb leaves a quoted L4 checksum alone by design: it must be the original one. */
		T_F(l4_check, "L4 checksum (unchanged)");
	} else {
		snprintf(what, sizeof(what), "%sL4 checksum", pfx);
		t_csum_eq(what, g->l4_csum,
			  w->l4_csum == XLB_PKT_CSUM_NONE ? XLB_PKT_CSUM_NONE : XLB_PKT_CSUM_OK);
	}
#undef T_F
}

static void t_dump(const void *got, size_t got_len, const void *want, size_t want_len)
{
	printf("    got (%zu bytes):\n", got_len);
	xlb_pkt_hexdump(stdout, "      ", got, got_len);
	printf("    want (%zu bytes):\n", want_len);
	xlb_pkt_hexdump(stdout, "      ", want, want_len);
}

void t_check_frame(const void *got, size_t got_len, const void *want, size_t want_len)
{
	struct xlb_pkt_info g, w;
	int before = t_errors;
	size_t i;

	if (xlb_pkt_parse(want, want_len, &w)) {
		t_err("expected frame does not parse (test bug): %s", w.err);
		return;
	}
	if (xlb_pkt_parse(got, got_len, &g)) {
		t_err("frame does not parse: %s", g.err);
		t_dump(got, got_len, want, want_len);
		return;
	}
	t_eq("frame length", g.len, w.len);
	t_mac_eq("destination MAC", g.dst_mac, w.dst_mac);
	t_mac_eq("source MAC", g.src_mac, w.src_mac);
	t_eq("VLAN tag present", g.vlan, w.vlan);
	t_eq("VLAN TCI", g.vlan_tci, w.vlan_tci);
	t_eq("ethertype", g.ethertype, w.ethertype);
	t_ip_eq("", &g.ip, &w.ip, 0);
	t_eq("quoted packet present", g.has_quote, w.has_quote);
	if (g.has_quote && w.has_quote) {
		t_ip_eq("quoted ", &g.quote, &w.quote, 1);
		if (g.quote.family == AF_INET)
			t_csum_eq("quoted IPv4 header checksum", g.quote.ip_csum, XLB_PKT_CSUM_OK);
	}
	if (got_len == want_len && memcmp(got, want, got_len)) {
		for (i = 0; i < got_len; i++)
			if (((const __u8 *)got)[i] != ((const __u8 *)want)[i])
				break;
		t_err("frame bytes differ from offset %zu on", i);
	}
	if (t_errors != before)
		t_dump(got, got_len, want, want_len);
}

void t_check_same(const void *got, size_t got_len, const void *want, size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, got_len)) {
		t_err("frame must pass byte-identical (%zu bytes in, %zu out)", want_len, got_len);
		t_dump(got, got_len, want, want_len);
	}
}

int t_frame_dst(const void *frame, size_t len, union xlb_addr *addr, __u16 *port)
{
	struct xlb_pkt_info pi;

	if (xlb_pkt_parse(frame, len, &pi) || !pi.ip.has_l4)
		return -EINVAL;
	*addr = pi.ip.daddr;
	*port = pi.ip.dport;
	return 0;
}

/* lookup3 (Bob Jenkins), as bpf/xlb_hash.h applies it; words are the raw network-order loads. */
static __u32 t_rol(__u32 w, int s)
{
	return (w << s) | (w >> (32 - s));
}

#define T_MIX(a, b, c)                                                                             \
	do {                                                                                       \
		a -= c; a ^= t_rol(c, 4); c += b;                                                  \
		b -= a; b ^= t_rol(a, 6); a += c;                                                  \
		c -= b; c ^= t_rol(b, 8); b += a;                                                  \
		a -= c; a ^= t_rol(c, 16); c += b;                                                 \
		b -= a; b ^= t_rol(a, 19); a += c;                                                 \
		c -= b; c ^= t_rol(b, 4); b += a;                                                  \
	} while (0)

#define T_FINAL(a, b, c)                                                                           \
	do {                                                                                       \
		c ^= b; c -= t_rol(b, 14);                                                         \
		a ^= c; a -= t_rol(c, 11);                                                         \
		b ^= a; b -= t_rol(a, 25);                                                         \
		c ^= b; c -= t_rol(b, 16);                                                         \
		a ^= c; a -= t_rol(c, 4);                                                          \
		b ^= a; b -= t_rol(a, 14);                                                         \
		c ^= b; c -= t_rol(b, 24);                                                         \
	} while (0)

#define T_SEED 0x786c6231

__u32 t_hash_flow(int family, const union xlb_addr *s, const union xlb_addr *d, __u16 sport,
		  __u16 dport, __u8 proto)
{
	__u32 ports = ((__u32)htons(sport) << 16) | htons(dport);
	__u32 a, b, c;

	if (family == AF_INET) {
		a = s->v4 + 0xdeadbeef + (T_SEED ^ proto);
		b = d->v4 + 0xdeadbeef + (T_SEED ^ proto);
		c = ports + 0xdeadbeef + (T_SEED ^ proto);
		T_FINAL(a, b, c);
		return c;
	}
	a = s->v6[0] + 0xdeadbeef + T_SEED;
	b = s->v6[1] + 0xdeadbeef + T_SEED;
	c = s->v6[2] + 0xdeadbeef + T_SEED;
	T_MIX(a, b, c);
	a += s->v6[3];
	b += d->v6[0];
	c += d->v6[1];
	T_MIX(a, b, c);
	a += d->v6[2];
	b += d->v6[3];
	c += ports ^ proto;
	T_FINAL(a, b, c);
	return c;
}
