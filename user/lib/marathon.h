/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pure core of xlbd's Marathon source: VIP label parsing (the values DC/OS's
 * Minuteman/dcos-l4lb accept), named-VIP DNS names and address allocation, and
 * the translation of Marathon's /v2/apps?embed=apps.tasks and /v2/pods/::status
 * documents into one desired state: services (VIP key -> backends), sorted so
 * that every node turns the same Marathon state into the same model. Nothing
 * here does I/O except the default host name resolver, and nothing prints:
 * problems with single labels, apps or tasks go to a warning callback and the
 * rest of the state is still built. MARATHON.md (§3.4, §5, §6, §7) holds the
 * rules; the comments below note where this code had to choose.
 */
#ifndef XLB_MARATHON_H
#define XLB_MARATHON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <xlb/abi.h>

#include "addr.h"

struct json_t; /* jansson; only the *_json entry points take parsed documents */

/* ---------------------------------------------------------------------------------------------
 * VIP labels (MARATHON.md §7.1, §7.2)
 */

/* Longest named-VIP name (the part before the last ':') this code accepts. */
#define XLB_VIP_NAME_MAX 255
/* A DNS name: 253 characters plus the terminating NUL. */
#define XLB_DNS_NAME_MAX 254
/* Suffix of every named VIP, after "<name>.<framework>". */
#define XLB_L4LB_DOMAIN "l4lb.thisdcos.directory"
#define XLB_FRAMEWORK_DEFAULT "marathon"

enum xlb_vip_kind {
	XLB_VIP_IP = 1,	   /* "198.18.0.10:80", "fd01:c::1:80": the address is the VIP */
	XLB_VIP_NAMED = 2, /* "/group/app:80": address allocated from the named pool */
};

/* One parsed VIP label value. */
struct xlb_vip_label {
	enum xlb_vip_kind kind;
	union xlb_addr addr;		 /* be; XLB_VIP_IP only */
	__u8 family;			 /* XLB_AF_INET or XLB_AF_INET6; XLB_VIP_IP only */
	__u16 port;			 /* host order, 1..65535 */
	char name[XLB_VIP_NAME_MAX + 1]; /* XLB_VIP_NAMED: the name as written ("/group/app") */
};

/* True when a label key names a VIP: it starts with "VIP" or "vip" (not "Vip"), as in dcos-net. */
bool xlb_vip_key_is_vip(const char *key);

/*
 * Parses one label. Returns 0 and fills *vip; -ENOENT when the key is not a VIP
 * key (not an error: the label is simply not ours); -EINVAL with a message in
 * err such as `label VIP_0="/app:99999": port 99999 out of range 1-65535`.
 * The value is split on its last ':'. A left part that is an IPv4 or IPv6
 * literal (also "[v6]") makes an IP VIP, anything else a named VIP. Beyond
 * dcos-net, names containing ':' (an IPv6 address without a port, most likely),
 * names without any DNS-usable character, and the unspecified or multicast
 * addresses are rejected, because they could never be reached.
 */
int xlb_vip_label_parse(const char *key, const char *value, struct xlb_vip_label *vip, char *err,
			size_t errlen);

/*
 * mesos_state:domain_frag/1: split on '.', per fragment lower-case, keep [a-z0-9],
 * turn '-', '_' into '-', drop everything else, strip leading and trailing '-',
 * at most 63 characters; fragments left empty are dropped (Erlang would keep an
 * empty DNS label). Returns the length written, -ENOSPC if out is too small,
 * -EINVAL if nothing usable remains.
 */
int xlb_dns_domain_frag(const char *in, char *out, size_t outlen);

/*
 * "<frag(name)>.<frag(framework)>.l4lb.thisdcos.directory" into out (at least
 * XLB_DNS_NAME_MAX bytes for any name). Returns 0, -EINVAL (nothing usable),
 * -ENAMETOOLONG (more than 253 characters).
 */
int xlb_vip_dns_name(const char *name, const char *framework, char *out, size_t outlen);

/* Protocol bits as used in masks below. */
#define XLB_PROTO_BIT_TCP (1u << 0)
#define XLB_PROTO_BIT_UDP (1u << 1)

/*
 * Marathon's port protocol: "tcp", "udp", "udp,tcp" or "tcp,udp" (case and spaces
 * around items ignored) into a mask of XLB_PROTO_BIT_*. Returns 0 or -EINVAL with
 * a message.
 */
int xlb_proto_list_parse(const char *s, unsigned int *mask, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------------
 * Named VIP addresses
 */

/* An IPv4 range for named VIPs. Addresses base+1 .. base+size-2 are handed out. */
struct xlb_named_pool {
	__u32 base;	 /* host order, aligned to the prefix */
	__u8 prefix_len; /* 1..30 */
};

#define XLB_NAMED_POOL_DEFAULT "11.0.0.0/8" /* DC/OS dcos_l4lb_min/max_named_ip */

/*
 * "a.b.c.d/len" (len 1..30, host bits zero, no multicast address in it) into
 * *pool. Returns 0 or -EINVAL with a message.
 */
int xlb_named_pool_parse(const char *cidr, struct xlb_named_pool *pool, char *err, size_t errlen);

/* Number of addresses the pool can hand out (size minus network and broadcast). */
__u32 xlb_named_pool_capacity(const struct xlb_named_pool *pool);

/*
 * Allocates one address per name (names must be distinct) into out[i] (be),
 * avoiding the addresses in reserved[] (be; IP VIP literals that fall into the
 * pool). The result depends only on the set of names and reserved addresses,
 * never on their order, so every node agrees: names are processed in strcmp
 * order, each starts at FNV-1a-64(name) mod capacity and takes the next free
 * address, wrapping. The trade-off: a new name whose hash hits an address
 * already held by a later-sorted name moves that name (rare in a /8).
 * Returns 0, -ENOSPC (pool exhausted, message in err), -EINVAL, -ENOMEM.
 */
int xlb_named_pool_alloc(const struct xlb_named_pool *pool, const char *const *names, size_t n,
			 const __be32 *reserved, size_t nr_reserved, __be32 *out, char *err,
			 size_t errlen);

/* The fixed hash behind the allocation (FNV-1a, 64 bit), exported for tests and tools. */
__u64 xlb_fnv1a64(const void *data, size_t len);

/*
 * Copies s into buf for a log message: '"', '\\' and non-printable bytes
 * escaped, cut with "..." beyond max characters. Returns buf.
 */
const char *xlb_mara_quote(const char *s, size_t max, char *buf, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Desired state from Marathon
 */

enum xlb_svc_kind {
	XLB_SVC_IP_VIP = 1,	  /* VIP label with an address literal */
	XLB_SVC_NAMED_VIP = 2,	  /* VIP label with a name */
	XLB_SVC_SERVICE_PORT = 3, /* marathon-lb group: node address : service port */
};

/*
 * Where a backend's health verdict came from. The daemon can feed its
 * last-known-health cache from backends with ALIVE/FAILED (or use health_store).
 */
enum xlb_health {
	XLB_HEALTH_NONE = 0,	  /* the app/pod container defines no health check */
	XLB_HEALTH_ALIVE,	  /* all reported results alive */
	XLB_HEALTH_FAILED,	  /* at least one reported result not alive */
	XLB_HEALTH_UNKNOWN,	  /* checks defined, no result, no cached value */
	XLB_HEALTH_CACHED_ALIVE,  /* no result; health_lookup said alive */
	XLB_HEALTH_CACHED_FAILED, /* no result; health_lookup said not alive */
};

struct xlb_mara_backend {
	union xlb_addr addr; /* be */
	__be16 port;	     /* be */
	__u8 family;	     /* XLB_AF_INET or XLB_AF_INET6 */
	__u8 state;	     /* XLB_BE_ACTIVE or XLB_BE_DRAINING */
	__u16 weight;	     /* 0 exactly when draining */
	__u8 health;	     /* enum xlb_health */
	char *task_id;	     /* Marathon task id (pods: "<instance id>.<container>") */
};

/* One claim on a service: which app or pod, port and label produced it. */
struct xlb_mara_origin {
	char *run_id; /* app or pod id, e.g. "/group/app" */
	bool pod;
	int port_index;	 /* index in portDefinitions / portMappings / discovery ports / endpoints */
	char *label_key; /* "VIP_0"; NULL for XLB_SVC_SERVICE_PORT */
};

struct xlb_mara_service {
	struct xlb_vip_key key; /* addr and port be, proto, family */
	enum xlb_svc_kind kind;
	char *name;	/* XLB_SVC_NAMED_VIP: the label's name as first seen ("/app"); else NULL */
	char *dns_name; /* XLB_SVC_NAMED_VIP: "app.marathon.l4lb.thisdcos.directory"; else NULL */
	__u16 default_weight; /* opts.default_weight: what a backend gets without weight labels */
	struct xlb_mara_origin *origins; /* sorted by (run_id, port_index, label_key) */
	size_t nr_origins;
	struct xlb_mara_backend *backends; /* sorted by (family, addr, port), unique */
	size_t nr_backends;
};

struct xlb_mara_model {
	struct xlb_mara_service *services; /* sorted by xlb_vip_key_cmp, unique keys */
	size_t nr_services;
	/* What was read, for logs and metrics. */
	unsigned int nr_apps; /* apps looked at (including skipped ones) */
	unsigned int nr_pods;
	unsigned int nr_tasks;	  /* app tasks and pod containers looked at */
	unsigned int nr_warnings; /* messages sent to opts.warn */
};

typedef void (*xlb_mara_warn_fn)(void *ctx, const char *msg);

/*
 * Resolves a task's agent host name. family_hint is the family of the service
 * the backend is for (XLB_AF_INET or XLB_AF_INET6): return an address of that
 * family when the host has one. Returns 0 and fills *addr (be) and *family, or
 * -errno (-ENOENT: unknown name). Address literals never reach the resolver.
 */
typedef int (*xlb_mara_resolve_fn)(void *ctx, const char *host, __u8 family_hint,
				   union xlb_addr *addr, __u8 *family);

/*
 * Leader failover (MARATHON.md §0.5, §7.6): Marathon keeps health results in the
 * leader's memory, so after a failover every task of an app with health checks
 * shows no healthCheckResults for a while. Draining them all would empty the
 * load balancer for no reason. When a task has checks but no result at all,
 * the extraction asks health_lookup: return 1 (last known alive), 0 (last
 * known not alive) or -ENOENT (never seen). health_store, when set, is called
 * once per task with reported results (apps: all results alive or not; pods:
 * the Mesos health condition), so the daemon can keep the cache (e.g. an LRU
 * keyed by task id, as marathon-lb does) from the same pass. Tasks that never
 * reported stay draining: new tasks must not get traffic before their first
 * passing check (marathon-lb #655, dcos-net PR #100).
 */
typedef int (*xlb_mara_health_lookup_fn)(void *ctx, const char *task_id);
typedef void (*xlb_mara_health_store_fn)(void *ctx, const char *task_id, bool alive);

struct xlb_mara_opts {
	const char *framework;	    /* DNS framework label; default "marathon" */
	struct xlb_named_pool pool; /* default 11.0.0.0/8 */
	/*
	 * marathon-lb compatibility: apps whose HAPROXY_GROUP (comma list; per
	 * port HAPROXY_{n}_GROUP overrides) contains this group are also served
	 * on node_addr:<service port> (HAPROXY_{n}_PORT overrides the port).
	 * "*" matches every app, as marathon-lb's --group '*'. NULL or "" turns
	 * the feature off, and so does node_family 0 (the default).
	 */
	const char *haproxy_group; /* default "external" */
	union xlb_addr node_addr;  /* be */
	__u8 node_family;
	__u16 default_weight; /* weight of an active backend without labels; default 1 */
	xlb_mara_warn_fn warn;
	void *warn_ctx;
	xlb_mara_resolve_fn resolve; /* NULL: getaddrinfo() */
	void *resolve_ctx;
	xlb_mara_health_lookup_fn health_lookup; /* NULL: unknown stays unknown */
	xlb_mara_health_store_fn health_store;
	void *health_ctx;
};

/* Fills the defaults above. */
void xlb_mara_opts_init(struct xlb_mara_opts *opts);

/* The default resolver: getaddrinfo(), first address of family_hint, else the first one. */
int xlb_mara_resolve_getaddrinfo(void *ctx, const char *host, __u8 family_hint,
				 union xlb_addr *addr, __u8 *family);

/*
 * Builds the desired state from the two snapshot documents, either of which may
 * be NULL (e.g. pods unsupported). apps: GET /v2/apps?embed=apps.tasks
 * ({"apps": [...]}), also accepted: {"app": {...}} (GET /v2/apps/{id}), a bare
 * app object, and groups ({"apps": [...], "groups": [...]}, nested). pods:
 * GET /v2/pods/::status (an array of pod status objects) or one pod status
 * object. On success returns 0 and *model holds the services (free with
 * xlb_mara_model_free). A document that is not JSON or not of those shapes
 * returns -EINVAL with a message in err and leaves *model empty; a bad app,
 * pod, task or label only produces a warning. -ENOMEM on allocation failure.
 *
 * Rules chosen where MARATHON.md is silent:
 * - The same VIP key (address, port, protocol) claimed by several apps or
 *   ports merges their backends (as Minuteman does). Claims of different kinds
 *   on one key (an IP VIP and a service port) conflict: the IP VIP wins over a
 *   named VIP over a service port, ties by app id; the loser gets a warning.
 * - Named VIPs are identified by their DNS name ("/app" and "app" are one VIP);
 *   they get IPv4 addresses only, so IPv6 backends of named VIPs are skipped.
 * - A backend whose family differs from its service's is skipped with a warning.
 * - A task without "state" (Marathon < 1.2) counts as TASK_RUNNING when it has
 *   "startedAt", else it is not a backend.
 * - One backend (address, port) reached twice in a service is kept once, with
 *   the most available state and the highest weight.
 * - Services without backends are kept: the data plane answers them with
 *   "unreachable" rather than letting traffic fall through.
 * - Weights: XLB_WEIGHT (app/pod label, all ports) wins over marathon-lb's
 *   HAPROXY_{n}_BACKEND_WEIGHT for port n; invalid values warn and fall back.
 * - Container mode: a mapping with "hostPort" takes the next ports[] entry; if
 *   ports[] has none left, a fixed hostPort is used as is and hostPort 0 falls
 *   back to container IP : containerPort (old USER networking allocated none).
 * - Pods: the "port index" counts endpoints across containers in spec order.
 * - Legacy app labels vip_PORT<n>="tcp://addr:port" (DC/OS 1.6/1.7) are read.
 * - Host address literals never reach the resolver; each (host, family) is
 *   resolved once per build and an unresolvable one is reported once.
 */
int xlb_mara_model_build(struct xlb_mara_model *model, const char *apps_json, size_t apps_len,
			 const char *pods_json, size_t pods_len, const struct xlb_mara_opts *opts,
			 char *err, size_t errlen);

/* The same from documents the caller already parsed with jansson (NULL allowed). */
int xlb_mara_model_build_json(struct xlb_mara_model *model, const struct json_t *apps,
			      const struct json_t *pods, const struct xlb_mara_opts *opts,
			      char *err, size_t errlen);

void xlb_mara_model_free(struct xlb_mara_model *model);

/*
 * The same build in steps, so a large apps list is turned into claims while it
 * downloads and no element outlives its own turn (10,000 apps would otherwise
 * sit in memory as one parse tree). opts must outlive the builder. Feed each
 * element of the document's "apps" list to xlb_mara_builder_app (index: its
 * position), then hand the rest of the document (its "apps" list, now ignored,
 * may be empty; groups and other members are read) and the pods document to
 * xlb_mara_builder_finish, which fills *model like xlb_mara_model_build_json.
 * A builder is used once; free it in any case.
 */
struct xlb_mara_builder;

int xlb_mara_builder_new(struct xlb_mara_builder **out, const struct xlb_mara_opts *opts,
			 char *err, size_t errlen);
void xlb_mara_builder_app(struct xlb_mara_builder *bl, const struct json_t *app, size_t index);
int xlb_mara_builder_finish(struct xlb_mara_builder *bl, struct xlb_mara_model *model,
			    const struct json_t *apps, const struct json_t *pods, char *err,
			    size_t errlen);
void xlb_mara_builder_free(struct xlb_mara_builder *bl);

/* Total order on backends: family, address bytes, port (numeric). */
int xlb_mara_backend_cmp(const struct xlb_mara_backend *a, const struct xlb_mara_backend *b);

/* Binary search for a key; NULL when absent. */
const struct xlb_mara_service *xlb_mara_model_find(const struct xlb_mara_model *model,
						   const struct xlb_vip_key *key);

/*
 * True when two services would program the data plane identically: same key,
 * kind, DNS name and the same backends with the same state and weight (task
 * ids, origins and health sources are ignored).
 */
bool xlb_mara_service_equal(const struct xlb_mara_service *a, const struct xlb_mara_service *b);

/* True when both models hold equal services (see above) in the same order. */
bool xlb_mara_model_equal(const struct xlb_mara_model *a, const struct xlb_mara_model *b);

/* ---------------------------------------------------------------------------------------------
 * Event stream (MARATHON.md §4.3)
 */

/*
 * Reads "eventType" from one event's data (the first JSON value; old Marathons
 * sent several per event) into type (truncated to typelen). Returns 0, or
 * -EINVAL when the data is not a JSON object with a string eventType.
 */
int xlb_mara_event_type(const char *data, size_t len, char *type, size_t typelen);

/* True for event types after which the load balancer state must be re-read. */
bool xlb_mara_event_relevant(const char *event_type);

#endif /* XLB_MARATHON_H */
