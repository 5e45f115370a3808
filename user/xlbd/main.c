// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbd's entry point: the command line, the configuration (a file, or the
 * built-in etc/xlbd.json), and the daemon's life cycle: adopt the pinned maps
 * (never flushing them), attach to the configured interfaces and the socket
 * programs to the configured cgroup, reconcile,
 * then run the event loop until SIGTERM/SIGINT, leaving programs attached and
 * maps pinned so forwarding goes on while xlbd restarts. --check validates a
 * configuration; --detach-and-unpin is the one explicit way to take xlb off a
 * host. Exit codes: 0 fine, 1 runtime failure, 2 bad command line or config.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "dp.h"
#include "dp_read.h"
#include "log.h"
#include "xlbd.h"

#ifndef XLB_VERSION
#define XLB_VERSION "unknown"
#endif

/* etc/xlbd.json, compiled in: the defaults and the documentation agree by construction. */
__asm__(".section .rodata\n"
	".global xlbd_default_config\n"
	".type xlbd_default_config, @object\n"
	"xlbd_default_config:\n"
	".incbin \"etc/xlbd.json\"\n"
	".global xlbd_default_config_end\n"
	"xlbd_default_config_end:\n"
	".byte 0\n"
	".previous\n");
extern const char xlbd_default_config[];
extern const char xlbd_default_config_end[];

enum {
	OPT_CHECK = 256,
	OPT_ONCE,
	OPT_DETACH,
	OPT_PRINT_DEFAULT,
	OPT_NO_MARATHON,
	OPT_VERSION,
	OPT_CGROUP,
	OPT_NO_SOCKET_LB,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"marathon", required_argument, NULL, 'm'},
    {"no-marathon", no_argument, NULL, OPT_NO_MARATHON},
    {"iface", required_argument, NULL, 'i'},
    {"egress-iface", required_argument, NULL, 'e'},
    {"pin-path", required_argument, NULL, 'p'},
    {"cgroup", required_argument, NULL, OPT_CGROUP},
    {"no-socket-lb", no_argument, NULL, OPT_NO_SOCKET_LB},
    {"metrics", required_argument, NULL, 'M'},
    {"check", no_argument, NULL, OPT_CHECK},
    {"once", no_argument, NULL, OPT_ONCE},
    {"detach-and-unpin", no_argument, NULL, OPT_DETACH},
    {"print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {},
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xlbd [OPTIONS]\n"
		"The xlb daemon: programs the XDP/TC load balancer's pinned maps from Marathon\n"
		"and/or static VIPs, and serves /metrics. See docs/operations.md.\n"
		"\n"
		"  -c, --config FILE          JSON configuration (default: the built-in one,\n"
		"                             as etc/xlbd.json; --print-default-config shows it)\n"
		"  -m, --marathon URL[,URL]   Marathon URLs, tried in turn (marathon.urls)\n"
		"      --no-marathon          no Marathon source: static VIPs only\n"
		"  -i, --iface IF[:MODE]      attach ingress to IF (repeatable; replaces\n"
		"                             interfaces); MODE xdp (default, falls back to\n"
		"                             tc), xdp-generic or tc\n"
		"  -e, --egress-iface IF      attach TC egress to IF (repeatable)\n"
		"  -p, --pin-path PATH        where the maps are pinned (pin_path, default\n"
		"                             " XLB_PIN_PATH_DEFAULT ")\n"
		"      --cgroup PATH          balance the sockets of this cgroup v2 directory\n"
		"                             and its descendants (cgroup, default the root\n"
		"                             of the cgroup v2 hierarchy)\n"
		"      --no-socket-lb         no socket-level balancing on this node: nothing\n"
		"                             on the cgroup, our pinned links removed\n"
		"                             (socket_lb false)\n"
		"  -M, --metrics ADDR:PORT    /metrics listen address, or \"none\"\n"
		"                             (metrics.listen, default 127.0.0.1:9100)\n"
		"      --check                validate the configuration, print every error,\n"
		"                             exit 0 (valid) or 2 (invalid)\n"
		"      --once                 reconcile once from every source, then exit\n"
		"      --detach-and-unpin     remove xlb's programs from the configured\n"
		"                             interfaces and the cgroup, delete the pinned\n"
		"                             maps and links, then exit\n"
		"      --print-default-config print the built-in configuration and exit\n"
		"  -v, --verbose              more log output (repeat for libbpf's too)\n"
		"      --version              print the version and exit\n"
		"  -h, --help                 this text\n"
		"\n"
		"Exit status: 0 fine, 1 runtime failure, 2 bad command line or configuration.\n");
}

/* Under systemd, "<N>" prefixes give journald the level; elsewhere a timestamp helps. */
static bool log_journal;

static void log_sink(enum xlb_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const int prio[] = {3, 4, 6, 7};
	struct timespec ts;
	struct tm tm;
	char line[1200];

	if (log_journal) {
		snprintf(line, sizeof(line), "<%d>%s: %s\n", prio[level], names[level], msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ xlbd: %s: %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, names[level], msg);
	}
	/* One write per line, so lines of the metrics thread never interleave with ours. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

struct cli {
	const char *config;
	const char *marathon;
	bool no_marathon;
	struct xlb_cfg_iface ifaces[64], egress[64];
	int nr_ifaces, nr_egress;
	const char *pin_path;
	const char *metrics;
	const char *cgroup;
	bool check, once, detach, print_default, no_socket_lb;
	int verbose;
};

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	char err[160];
	int c;

	while ((c = getopt_long(argc, argv, "c:m:i:e:p:M:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->config = optarg;
			break;
		case 'm':
			cli->marathon = optarg;
			break;
		case OPT_NO_MARATHON:
			cli->no_marathon = true;
			break;
		case 'i':
			if (cli->nr_ifaces == 64 ||
			    xlb_cfg_iface_parse(optarg, &cli->ifaces[cli->nr_ifaces], err,
						sizeof(err))) {
				fprintf(stderr, "xlbd: --iface %s: %s\n", optarg,
					cli->nr_ifaces == 64 ? "too many" : err);
				return -EINVAL;
			}
			cli->nr_ifaces++;
			break;
		case 'e':
			if (cli->nr_egress == 64 || strchr(optarg, ':') ||
			    xlb_cfg_iface_parse(optarg, &cli->egress[cli->nr_egress], err,
						sizeof(err))) {
				fprintf(stderr, "xlbd: --egress-iface %s: %s\n", optarg,
					strchr(optarg, ':') ? "takes no mode (always TC)" : err);
				return -EINVAL;
			}
			cli->nr_egress++;
			break;
		case 'p':
			cli->pin_path = optarg;
			break;
		case 'M':
			cli->metrics = optarg;
			break;
		case OPT_CGROUP:
			cli->cgroup = optarg;
			break;
		case OPT_NO_SOCKET_LB:
			cli->no_socket_lb = true;
			break;
		case OPT_CHECK:
			cli->check = true;
			break;
		case OPT_ONCE:
			cli->once = true;
			break;
		case OPT_DETACH:
			cli->detach = true;
			break;
		case OPT_PRINT_DEFAULT:
			cli->print_default = true;
			break;
		case 'v':
			cli->verbose++;
			break;
		case OPT_VERSION:
			printf("xlbd %s (ABI %d)\n", XLB_VERSION, XLB_ABI_VERSION);
			exit(XLBD_EXIT_OK);
		case 'h':
			usage(stdout);
			exit(XLBD_EXIT_OK);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xlbd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (cli->marathon && cli->no_marathon) {
		fprintf(stderr, "xlbd: --marathon and --no-marathon exclude each other\n");
		return -EINVAL;
	}
	if (cli->cgroup && cli->no_socket_lb) {
		fprintf(stderr, "xlbd: --cgroup and --no-socket-lb exclude each other\n");
		return -EINVAL;
	}
	return 0;
}

static int list_copy(struct xlb_cfg_iface **dst, size_t *n, const struct xlb_cfg_iface *src,
		     int cnt)
{
	struct xlb_cfg_iface *l = calloc(cnt + 1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	memcpy(l, src, cnt * sizeof(*l));
	free(*dst);
	*dst = l;
	*n = cnt;
	return 0;
}

/* "http://user:pw@host" anywhere in a comma-separated list of URLs. */
static bool url_has_userinfo(const char *list)
{
	const char *p = list, *host, *end;

	while ((host = strstr(p, "://"))) {
		host += 3;
		end = host + strcspn(host, "/,");
		if (memchr(host, '@', end - host))
			return true;
		p = end;
	}
	return false;
}

/* The configuration: file or built-in, then the command line on top. */
static int load_config(const struct cli *cli, struct xlb_cfg *cfg, struct xlb_cfg_errors *errs)
{
	char err[160];
	size_t i;
	int ret;

	ret = xlb_cfg_init(cfg);
	if (ret)
		return ret;
	if (cli->config)
		ret = xlb_cfg_load_file(cfg, cli->config, errs);
	else
		ret = xlb_cfg_parse(cfg, xlbd_default_config,
				    xlbd_default_config_end - xlbd_default_config,
				    "built-in configuration", errs);
	if (ret == -ENOMEM)
		return ret;
	if (cli->marathon && url_has_userinfo(cli->marathon))
		xlb_cfg_error(errs, "--marathon",
			      "credentials in a URL on the command line show in ps and in shell "
			      "history: put them in marathon.auth_file or XLBD_MARATHON_AUTH");
	else if (cli->marathon && xlb_cfg_set_urls(cfg, cli->marathon, err, sizeof(err)))
		xlb_cfg_error(errs, "--marathon", "%s", err);
	if (cli->no_marathon) {
		for (i = 0; i < cfg->marathon.nr_urls; i++)
			free(cfg->marathon.urls[i]);
		cfg->marathon.nr_urls = 0;
	}
	if (cli->nr_ifaces && list_copy(&cfg->ifaces, &cfg->nr_ifaces, cli->ifaces, cli->nr_ifaces))
		return -ENOMEM;
	if (cli->nr_egress && list_copy(&cfg->egress, &cfg->nr_egress, cli->egress, cli->nr_egress))
		return -ENOMEM;
	if (cli->pin_path) {
		if (cli->pin_path[0] != '/')
			xlb_cfg_error(errs, "--pin-path", "expected an absolute path, got \"%s\"",
				      cli->pin_path);
		free(cfg->pin_path);
		cfg->pin_path = strdup(cli->pin_path);
		if (!cfg->pin_path)
			return -ENOMEM;
	}
	if (cli->metrics) {
		free(cfg->metrics_listen);
		cfg->metrics_listen = NULL;
		if (strcmp(cli->metrics, "none")) {
			if (xlb_cfg_listen_check(cli->metrics, err, sizeof(err)))
				xlb_cfg_error(errs, "--metrics", "%s, got \"%s\"", err,
					      cli->metrics);
			cfg->metrics_listen = strdup(cli->metrics);
			if (!cfg->metrics_listen)
				return -ENOMEM;
		}
	}
	if (cli->no_socket_lb)
		cfg->socket_lb = false;
	if (cli->cgroup) {
		if (cli->cgroup[0] != '/')
			xlb_cfg_error(errs, "--cgroup", "expected an absolute path, got \"%s\"",
				      cli->cgroup);
		cfg->socket_lb = true;
		free(cfg->cgroup);
		cfg->cgroup = strdup(cli->cgroup);
		if (!cfg->cgroup)
			return -ENOMEM;
	}
	xlb_cfg_check_host(cfg, errs);
	return errs->n ? -EINVAL : 0;
}

static int detach_and_unpin(const struct xlb_cfg *cfg)
{
	int failed = 0, err;
	unsigned int ifindex;
	size_t i;

	for (i = 0; i < cfg->nr_ifaces + cfg->nr_egress; i++) {
		const char *name =
		    i < cfg->nr_ifaces ? cfg->ifaces[i].name : cfg->egress[i - cfg->nr_ifaces].name;

		ifindex = if_nametoindex(name);
		if (!ifindex) {
			pr_warn("%s: no such interface, nothing to detach", name);
			continue;
		}
		err = xlb_dp_detach(ifindex);
		if (err) {
			pr_err("%s: detach: %s", name, strerror(-err));
			failed++;
		} else {
			pr_info("%s: xlb programs detached", name);
		}
	}
	/* The socket programs' links are pins too: xlb_dp_unpin detaches them first. */
	err = xlb_dp_unpin(cfg->pin_path);
	if (err) {
		pr_err("unpin %s: %s", cfg->pin_path, strerror(-err));
		failed++;
	} else {
		pr_info("maps under %s unpinned: forwarding state is gone", cfg->pin_path);
	}
	return failed ? XLBD_EXIT_FAIL : XLBD_EXIT_OK;
}

static enum xlb_attach_mode attach_mode(enum xlb_cfg_attach m)
{
	switch (m) {
	case XLB_CFG_ATTACH_XDP_GENERIC:
		return XLB_ATTACH_XDP_GENERIC;
	case XLB_CFG_ATTACH_TC:
		return XLB_ATTACH_TC;
	case XLB_CFG_ATTACH_XDP:
	default:
		return XLB_ATTACH_XDP_NATIVE;
	}
}

static int attach_all(struct xlbd *d)
{
	enum xlb_attach_mode used;
	unsigned int ifindex;
	size_t i;
	int err;

	for (i = 0; i < d->cfg.nr_ifaces; i++) {
		ifindex = if_nametoindex(d->cfg.ifaces[i].name);
		if (!ifindex) {
			pr_err("%s: no such interface", d->cfg.ifaces[i].name);
			return -ENODEV;
		}
		err = xlb_dp_attach(d->dp, ifindex, attach_mode(d->cfg.ifaces[i].mode), &used);
		if (err)
			return err;
	}
	for (i = 0; i < d->cfg.nr_egress; i++) {
		ifindex = if_nametoindex(d->cfg.egress[i].name);
		if (!ifindex) {
			pr_err("%s: no such interface", d->cfg.egress[i].name);
			return -ENODEV;
		}
		err = xlb_dp_attach_egress(d->dp, ifindex);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Socket-level balancing on the configured cgroup (the cgroup v2 root by
 * default), or, switched off, none: a link of ours pinned by an earlier run
 * is removed, so local clients go back to the per-packet path.
 */
static int sock_lb(struct xlbd *d)
{
	char root[PATH_MAX];
	const char *cg = d->cfg.cgroup;
	int err;

	if (!d->cfg.socket_lb) {
		err = xlb_dp_sock_detach(d->cfg.pin_path);
		if (err)
			pr_err("socket balancing off: remove the pinned links under %s: %s",
			       d->cfg.pin_path, strerror(-err));
		else
			pr_info("socket balancing off (socket_lb false): nothing on any cgroup");
		return err;
	}
	if (!cg) {
		err = xlb_dp_cgroup2_root(root, sizeof(root));
		if (err) {
			/* Only the default: a configured cgroup that is not there is an error. */
			pr_warn("socket balancing: no cgroup v2 hierarchy in /proc/self/mounts "
				"(%s): local clients take the per-packet path; mount cgroup2 or "
				"set \"cgroup\" to balance them at the socket",
				strerror(-err));
			err = xlb_dp_sock_detach(d->cfg.pin_path);
			return err;
		}
		cg = root;
	}
	return xlb_dp_sock_attach(d->dp, cg);
}

/*
 * Writes xlb_config only when it differs, so a restart changes nothing. The
 * lifetimes go in as ticks of the data plane's clock, never 0 (which would
 * mean "the built-in default" there, not what the configuration says).
 */
static int datapath_config(struct xlbd *d)
{
	struct xlb_config want = {}, have = {};
	unsigned int i;
	int err;

	want.new_per_cpu = d->cfg.new_per_cpu;
	want.new_per_vip = d->cfg.new_per_vip;
	for (i = 0; i < XLB_CTS_MAX; i++)
		want.ct_timeout[i] = xlb_cfg_ct_ticks(d->cfg.ct_timeout_s[i]);
	want.fnat_port_lo = d->cfg.fnat_port_lo;
	want.fnat_port_hi = d->cfg.fnat_port_hi;
	want.fnat_closed = (__u32)(((__u64)d->cfg.fnat_closed_ms * 1000000ULL) >> XLB_TICK_SHIFT);
	want.dsr_idle = xlb_cfg_ct_ticks(d->cfg.dsr_idle_s);
	want.dsr_mss4 = XLB_DSR_MSS(d->cfg.dsr_mtu, 0);
	want.dsr_mss6 = XLB_DSR_MSS(d->cfg.dsr_mtu, 1);
	if (!xlb_reader_config(xlb_dp_reader(d->dp), &have) && !memcmp(&have, &want, sizeof(want)))
		return 0;
	err = xlb_config_set(d->dp, &want);
	if (err) {
		pr_err("write xlb_config: %s", strerror(-err));
		return err;
	}
	pr_info("datapath: flood budgets %u new flows/s per CPU, %u per VIP per CPU (0: no limit); "
		"conntrack lifetimes tcp_syn %u s, tcp_established %u s, tcp_fin %u s, tcp_closed "
		"%u s, udp %u s; full-NAT source ports %u-%u, held %u ms once closed; DSR idle %u s, "
		"MSS %u (IPv4) %u (IPv6)",
		want.new_per_cpu, want.new_per_vip, d->cfg.ct_timeout_s[XLB_CTS_SYN],
		d->cfg.ct_timeout_s[XLB_CTS_EST], d->cfg.ct_timeout_s[XLB_CTS_FIN],
		d->cfg.ct_timeout_s[XLB_CTS_CLOSED], d->cfg.ct_timeout_s[XLB_CTS_UDP],
		want.fnat_port_lo, want.fnat_port_hi, d->cfg.fnat_closed_ms, d->cfg.dsr_idle_s,
		want.dsr_mss4,
		want.dsr_mss6);
	return 0;
}

/*
 * Full-NAT's sources: this node's interface addresses (refreshed by the
 * sweep's timer as they change), and a word when the source port range
 * overlaps the ports the kernel hands the node's own connections, which
 * could then meet a full-NAT flow's tuple towards the same backend.
 */
static int fullnat_setup(struct xlbd *d)
{
	unsigned int lo = 0, hi = 0;
	FILE *f;
	int err = xlb_dp_if_addrs_sync(d->dp);

	if (err) {
		pr_err("full-NAT: read this node's interface addresses: %s", strerror(-err));
		return err;
	}
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f && fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= d->cfg.fnat_port_hi &&
	    hi >= d->cfg.fnat_port_lo)
		pr_warn("full-NAT source ports %u-%u overlap net.ipv4.ip_local_port_range %u-%u: "
			"set datapath.fullnat.ports outside it (or reserve them in "
			"net.ipv4.ip_local_reserved_ports)",
			d->cfg.fnat_port_lo, d->cfg.fnat_port_hi, lo, hi);
	if (f)
		fclose(f);
	return 0;
}

/*
 * Only root may open the maps: the pin directory is made 0700 (xlb_dp_open
 * creates it so); one found wider is narrowed, and one owned by someone else
 * is said, since its owner could swap the maps under us.
 */
static void pin_dir_secure(const char *path)
{
	struct stat st;

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return;
	if (st.st_uid != geteuid())
		pr_warn("pin path %s is owned by uid %u, not by xlbd's uid %u: its owner can "
			"replace the maps",
			path, (unsigned int)st.st_uid, (unsigned int)geteuid());
	if (st.st_mode & 077) {
		if (chmod(path, 0700))
			pr_warn("pin path %s is mode %04o and chmod 0700 failed: %s", path,
				(unsigned int)(st.st_mode & 07777), strerror(errno));
		else
			pr_warn("pin path %s was mode %04o: now 0700, only root opens the maps",
				path, (unsigned int)(st.st_mode & 07777));
	}
}

static int run(struct xlbd *d)
{
	struct xlb_dp_opts o = {
	    .pin_path = d->cfg.pin_path,
	    .max_vips = d->cfg.max_vips,
	    .max_backends = d->cfg.max_backends,
	    .ct_size = d->cfg.ct_size,
	    .ct6_size = d->cfg.ct6_size,
	    .ct_lru = d->cfg.ct_lru == XLB_CFG_CT_LRU_SHARED ? XLB_CT_LRU_SHARED
							      : XLB_CT_LRU_PER_CPU,
	    .no_sock_progs = !d->cfg.socket_lb,
	};
	struct rusage ru;
	int err;

	pr_info("xlbd %s starting: pin path %s, %zu static VIPs, %zu Marathon URLs, %zu "
		"interfaces",
		XLB_VERSION, d->cfg.pin_path, d->cfg.vips.nr_vips, d->cfg.marathon.nr_urls,
		d->cfg.nr_ifaces);
	if (!d->cfg.vips.nr_vips && !d->cfg.marathon.nr_urls)
		pr_warn("no static VIPs and no Marathon URL: nothing to load balance");
	err = xlbd_loop_init(d);
	if (err)
		return XLBD_EXIT_FAIL;
	err = xlb_dp_open(&d->dp, &o);
	if (err)
		return XLBD_EXIT_FAIL;
	pin_dir_secure(d->cfg.pin_path);
	if (datapath_config(d) || fullnat_setup(d) || attach_all(d) || sock_lb(d))
		return XLBD_EXIT_FAIL;
	if (!d->cfg.nr_ifaces)
		pr_info("no interfaces configured: maps only, nothing attached by this xlbd");
	if (!d->once && xlbd_metrics_start(d))
		return XLBD_EXIT_FAIL;
	err = xlbd_reconcile_start(d);
	if (err)
		return XLBD_EXIT_FAIL;
	if (!d->once && xlbd_ct_gc_start(d))
		return XLBD_EXIT_FAIL;
	if (d->cfg.marathon.nr_urls && xlbd_marathon_start(d))
		return XLBD_EXIT_FAIL;
	if (xlbd_loop_run(d))
		return XLBD_EXIT_FAIL;
	getrusage(RUSAGE_SELF, &ru);
	pr_info("exiting: %zu VIPs stay in the maps under %s; programs stay attached (peak RSS "
		"%ld MiB)",
		d->applied.nr_vips, d->cfg.pin_path, ru.ru_maxrss / 1024);
	return d->exit_code;
}

int main(int argc, char **argv)
{
	struct xlb_cfg_errors errs = {};
	struct xlbd d = {};
	struct cli cli = {};
	size_t i;
	int ret, lvl;

	log_journal = getenv("JOURNAL_STREAM") != NULL;
	xlb_log_set_sink(log_sink);
	if (parse_cli(argc, argv, &cli))
		return XLBD_EXIT_USAGE;
	if (cli.print_default) {
		fwrite(xlbd_default_config, 1, xlbd_default_config_end - xlbd_default_config,
		       stdout);
		return XLBD_EXIT_OK;
	}
	pthread_mutex_init(&d.stats.lock, NULL);
	d.once = cli.once;
	d.epfd = d.tfd = d.sfd = -1;
	ret = load_config(&cli, &d.cfg, &errs);
	if (ret) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "xlbd: config error: %s\n", errs.msgs[i]);
		if (ret == -ENOMEM)
			fprintf(stderr, "xlbd: out of memory reading the configuration\n");
		fprintf(stderr, "xlbd: %s: %zu error%s\n",
			cli.config ? cli.config : "built-in configuration", errs.n,
			errs.n == 1 ? "" : "s");
		xlb_cfg_errors_free(&errs);
		xlb_cfg_free(&d.cfg);
		return ret == -ENOMEM ? XLBD_EXIT_FAIL : XLBD_EXIT_USAGE;
	}
	if (cli.check) {
		printf("xlbd: %s: OK (%zu static VIPs, %zu Marathon URLs, %zu interfaces, pin path "
		       "%s)\n",
		       cli.config ? cli.config : "built-in configuration", d.cfg.vips.nr_vips,
		       d.cfg.marathon.nr_urls, d.cfg.nr_ifaces, d.cfg.pin_path);
		xlb_cfg_free(&d.cfg);
		return XLBD_EXIT_OK;
	}
	lvl = d.cfg.log_level + cli.verbose;
	xlb_log_set_level(lvl > XLB_LOG_DEBUG ? XLB_LOG_DEBUG : lvl);
	/* libbpf's chatter (the verifier log) only with -vv. */
	if (cli.verbose >= 2)
		xlb_log_hook_libbpf();
	else
		libbpf_set_print(NULL);
	if (cli.detach) {
		ret = detach_and_unpin(&d.cfg);
	} else {
		ret = run(&d);
		xlbd_marathon_stop(&d);
		xlbd_metrics_stop(&d);
		xlbd_reconcile_fini(&d);
		xlb_dp_close(d.dp);
		xlbd_loop_fini(&d);
	}
	xlb_cfg_free(&d.cfg);
	pthread_mutex_destroy(&d.stats.lock);
	return ret;
}
