/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Marathon model: the translation of Marathon's /v2/apps?embed=apps.tasks
 * and /v2/pods/::status documents into one desired state, services (VIP key ->
 * backends), sorted so that every node turns the same Marathon state into the
 * same model. Nothing here does I/O except the default host name resolver, and
 * nothing prints: problems with single labels, apps or tasks go to a warning
 * callback and the rest of the state is still built. docs/marathon.md (§3.4,
 * §5, §6, §7) holds the rules; the comments below note where this code had to
 * choose. Implemented in mara_builder.c (passes, entry points), mara_apps.c,
 * mara_pods.c, mara_claims.c and mara_tasks.c.
 */
#ifndef XLB_MARA_MODEL_H
#define XLB_MARA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <xlb/abi.h>

#include "addr.h"
#include "mara_labels.h"

struct json_t; /* jansson; only the *_json entry points take parsed documents */

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
	/* The agent that runs the task (its host), for DSR; agent_family 0: unknown. */
	__u8 agent_family;
	union xlb_addr agent; /* be */
};

/* One claim on a service: which app or pod, port and label produced it. */
struct xlb_mara_origin {
	char *run_id; /* app or pod id, e.g. "/group/app" */
	bool pod;
	int port_index;	 /* index in portDefinitions / portMappings / discovery ports / endpoints */
	char *label_key; /* "VIP_0"; NULL for XLB_SVC_SERVICE_PORT */
};

/* A service's mode when no label chose one: the node's datapath.mode. */
#define XLB_MARA_MODE_DEFAULT (-1)

struct xlb_mara_service {
	struct xlb_vip_key key; /* addr and port be, proto, family */
	enum xlb_svc_kind kind;
	/*
	 * enum xlb_mode, or XLB_MARA_MODE_DEFAULT. From labels, the most specific
	 * winning: the port's own XLB_MODE, the app's XLB_{n}_MODE, the app's
	 * XLB_MODE; a service port (HAPROXY_GROUP) without any is fullnat, the
	 * mode that works wherever marathon-lb's proxying did. Where several
	 * claims merge, the first in origin order decides (others warn).
	 */
	int mode;
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
 * Leader failover (docs/marathon.md §0.5, §7.6): Marathon keeps health results in the
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
 * Rules chosen where docs/marathon.md is silent:
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

int xlb_mara_builder_new(struct xlb_mara_builder **out, const struct xlb_mara_opts *opts, char *err,
			 size_t errlen);
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

#endif /* XLB_MARA_MODEL_H */
