/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xlbd's configuration: one JSON document with the daemon's settings (pin
 * path, interfaces, /metrics, the Marathon source and its safety limits, map
 * sizes, conntrack lifetimes, flood budgets) and static VIPs. Parsing never
 * stops at the first problem: every error is collected with the JSON path it
 * is about and what was expected ("$.vips[1].backends[0].weight: expected an
 * integer 0-65535, got 70000"), so `xlbd --check` shows an operator
 * everything to fix in one go. Keys that
 * start with "_" are comments and ignored; any other unknown key is an error
 * (a typo must never silently fall back to a default). docs/operations.md
 * documents every key; etc/xlbd.json holds the defaults.
 */
#ifndef XLB_CONFIG_H
#define XLB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "planner.h"

#define XLB_CFG_IFNAMSIZ 16

enum xlb_cfg_attach {
	XLB_CFG_ATTACH_XDP = 0, /* native XDP, falling back to generic XDP, then TC */
	XLB_CFG_ATTACH_XDP_GENERIC = 1,
	XLB_CFG_ATTACH_TC = 2,
};

/* maps.ct_lru: how the kernel evicts conntrack entries when a table is full. */
enum xlb_cfg_ct_lru {
	XLB_CFG_CT_LRU_PER_CPU = 0, /* "per_cpu": a free list per CPU, no shared lock */
	XLB_CFG_CT_LRU_SHARED = 1,  /* "shared": one LRU, every entry usable by every CPU */
};

/* Conntrack lifetimes: 1 s up to what a signed 32-bit XLB_TICK difference can hold. */
#define XLB_CFG_CT_TIMEOUT_MAX ((1u << 31) / XLB_TICKS_PER_SEC)

struct xlb_cfg_iface {
	char name[XLB_CFG_IFNAMSIZ];
	enum xlb_cfg_attach mode;
};

struct xlb_cfg_marathon {
	char **urls; /* "http(s)://host:port[/prefix]", no trailing '/' */
	size_t nr_urls;
	char *auth_file; /* "token=<DC/OS token>" or "user:password"; NULL: none */
	char *ca_file;	 /* NULL: the system's CAs */
	__u32 connect_timeout_ms;
	__u32 request_timeout_ms; /* one snapshot request, headers to last byte */
	__u32 stream_timeout_ms;  /* an event stream silent this long is dead */
	__u32 resync_interval_s;  /* full resync even without events; 0: never */
	__u32 debounce_ms;	  /* quiet time after an event before the refetch */
	__u32 debounce_max_ms;	  /* refetch at the latest this long after the first event */
	__u32 backoff_min_ms;
	__u32 backoff_max_ms;
	__u64 max_body_bytes;
	__u32 health_hold_s;	 /* keep last known health this long when results vanish */
	__u32 targeted_max_apps; /* up to this many apps, an event re-reads only its app */
	char *framework;	 /* DNS label of named VIPs; default "marathon" */
	char *named_vip_range;	 /* default "11.0.0.0/8" */
	char *haproxy_group;	 /* "" turns service ports off; default "external" */
	bool has_node_addr;
	union xlb_addr node_addr; /* be; the address service ports are served on */
	__u8 node_family;
	__u16 vip_flags; /* from "no_backend_policy" */
	double max_remove_fraction;
	__u32 min_vips;
	__u32 confirm_syncs;
	__u32 confirm_delay_ms;
};

struct xlb_cfg {
	char *pin_path;
	int log_level; /* enum xlb_log_level */
	struct xlb_cfg_iface *ifaces;
	size_t nr_ifaces;
	struct xlb_cfg_iface *egress; /* mode unused */
	size_t nr_egress;
	char *metrics_listen;	  /* "ADDR:PORT"; NULL: /metrics off */
	char *metrics_token_file; /* bearer token; NULL: no authentication */
	bool metrics_per_backend; /* per-backend series (6 per backend) */
	struct xlb_cfg_marathon marathon;
	__u32 max_vips, max_backends, ct_size, ct6_size; /* 0: the ABI defaults */
	enum xlb_cfg_ct_lru ct_lru;
	/* Flood budgets: new flows recorded per second, per CPU and per VIP per CPU; 0: none. */
	__u32 new_per_cpu, new_per_vip;
	__u32 ct_timeout_s[XLB_CTS_MAX]; /* lifetime per enum xlb_ct_state, seconds */
	__u8 mode; /* datapath.mode: the forwarding mode of VIPs that name none (enum xlb_mode) */
	__u16 fnat_port_lo, fnat_port_hi; /* datapath.fullnat.ports, inclusive */
	__u32 fnat_closed_ms; /* datapath.fullnat.closed_ms: a closed flow's hold on its port */
	__u32 dsr_idle_s; /* datapath.dsr.idle: a balancer's established DSR flow, seconds */
	__u32 dsr_mtu;	  /* datapath.dsr.mtu: the path's MTU between balancer and agents */
	bool socket_lb; /* the cgroup socket programs attached (default true) */
	char *cgroup; /* cgroup v2 directory they go on; NULL: the hierarchy's root */
	struct xlb_plan_state vips; /* static VIPs, finished (sorted, unique) */
};

/* The errors of one parse, each "PATH: message". */
struct xlb_cfg_errors {
	char **msgs;
	size_t n;
	size_t cap;
};

void xlb_cfg_errors_free(struct xlb_cfg_errors *e);
/* Adds one error; printf-style. */
void xlb_cfg_error(struct xlb_cfg_errors *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills every default (no Marathon URL, no VIPs, no interfaces). */
int xlb_cfg_init(struct xlb_cfg *cfg);
void xlb_cfg_free(struct xlb_cfg *cfg);

/*
 * Parses a document over the defaults in cfg (from xlb_cfg_init). Returns 0,
 * -EINVAL when errs holds at least one error (cfg is then partly filled and
 * must only be freed), or -ENOMEM. source names the document in errors about
 * the JSON syntax ("/etc/xlbd.json:3:7: ...").
 */
int xlb_cfg_parse(struct xlb_cfg *cfg, const char *text, size_t len, const char *source,
		  struct xlb_cfg_errors *errs);
int xlb_cfg_load_file(struct xlb_cfg *cfg, const char *path, struct xlb_cfg_errors *errs);

/*
 * Checks what needs the host: files named by the config can be read. Run
 * after the command line overrides; adds errors like the parser.
 */
int xlb_cfg_check_host(const struct xlb_cfg *cfg, struct xlb_cfg_errors *errs);

/*
 * Seconds as XLB_TICKs (2^20 ns), exact in 64 bits and rounded down: what
 * xlb_config.ct_timeout[] holds. Seconds up to XLB_CFG_CT_TIMEOUT_MAX fit.
 */
__u32 xlb_cfg_ct_ticks(__u32 seconds);
/* "per_cpu" or "shared". */
const char *xlb_cfg_ct_lru_name(enum xlb_cfg_ct_lru lru);
/* The config key of a conntrack state's timeout ("tcp_syn", ..., "udp"). */
const char *xlb_cfg_ct_timeout_key(unsigned int state);

/* "eth0", "eth0:xdp", "eth0:xdp-generic", "eth0:tc" (command line form). */
int xlb_cfg_iface_parse(const char *s, struct xlb_cfg_iface *out, char *err, size_t errlen);
const char *xlb_cfg_attach_name(enum xlb_cfg_attach mode);
/* Replaces the URL list by a comma-separated one (--marathon). */
int xlb_cfg_set_urls(struct xlb_cfg *cfg, const char *list, char *err, size_t errlen);
/* Checks one URL: http or https, a host, no query; strips trailing '/'. */
int xlb_cfg_url_check(char *url, char *err, size_t errlen);
/* "ADDR:PORT" with an IPv4 or [IPv6] literal (--metrics, metrics.listen). */
int xlb_cfg_listen_check(const char *s, char *err, size_t errlen);
/* "ADDR:PORT" into be address and port. Returns 0 or -EINVAL. */
int xlb_cfg_endpoint_parse(const char *s, union xlb_addr *addr, __be16 *port, __u8 *family);

/*
 * Reads a secret file for the Marathon source: the first line, trimmed. A line
 * "token=..." is a DC/OS token, anything with ':' is "user:password".
 * Returns 0 and a malloc'd string, or -errno; never logs the content.
 */
int xlb_cfg_read_secret(const char *path, char **out);

#endif /* XLB_CONFIG_H */
