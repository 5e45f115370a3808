/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Private to the Marathon model's files (mara_builder.c, mara_apps.c,
 * mara_pods.c, mara_claims.c, mara_tasks.c, mara_util.c), never included elsewhere: the
 * build context the passes share, the claims pass 1 collects, the shapes a
 * port and a task take on the way, and the helpers more than one of these
 * files needs. The names carry a mara_ prefix rather than xlb_: they are not
 * part of libxlb's interface (mara_model.h is).
 */
#ifndef XLB_MARA_BUILD_H
#define XLB_MARA_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <jansson.h>

#include "mara_model.h"

#define PRINTF(f, a) __attribute__((format(printf, f, a)))

#define MSG_MAX 1024
#define Q_MAX 80 /* characters of a user string quoted in a message */
#define QBUF (Q_MAX * 4 + 8)
#define HOST_BUCKETS 1024

/* ------------------------------------------------------------------------------------------ */
/* Claims and build context (mara_util.c)                                                      */

struct claim {
	enum xlb_svc_kind kind;
	union xlb_addr addr; /* be; named VIPs: filled in pass 2 */
	__u8 family;
	__u16 port;	     /* host order */
	unsigned int protos; /* XLB_PROTO_BIT_* */
	char *name;	     /* named VIP: as written */
	char *dns;	     /* named VIP: DNS name, its identity */
	bool dropped;	     /* named VIP without an address (pool full) */
	int mode;	     /* enum xlb_mode from labels, or XLB_MARA_MODE_DEFAULT */
	struct xlb_mara_origin origin;
	struct xlb_mara_backend *bes;
	size_t nr_bes, cap_bes;
};

struct host_entry {
	struct host_entry *next;
	char *host;
	__u8 hint;
	int rc;
	union xlb_addr addr;
	__u8 family;
};

struct build {
	const struct xlb_mara_opts *o;
	struct xlb_mara_model *m;
	struct claim *claims;
	size_t nr_claims, cap_claims;
	struct host_entry *hosts[HOST_BUCKETS];
	int oom; /* sticky -ENOMEM */
	/* The labels whose bad XLB_MODE was reported: one line per app, not per port. */
	const json_t *mode_warned;
};

PRINTF(2, 3) void mara_warn(struct build *b, const char *fmt, ...);
PRINTF(3, 4) void mara_set_err(char *err, size_t errlen, const char *fmt, ...);
/* strdup and realloc that note -ENOMEM in b->oom, which fails the build at its end. */
char *mara_strdup(struct build *b, const char *s);
bool mara_grow(struct build *b, void **arr, size_t *cap, size_t need, size_t elem);
const char *mara_family_str(__u8 family);
const char *mara_addr_str(const union xlb_addr *addr, __u8 family, char *buf, size_t len);
/* The keys of a labels object in strcmp order, so warnings come out in a stable order. */
const char **mara_sorted_keys(struct build *b, const json_t *obj, size_t *n);
/* "0".."65535" (at least min) into *out; false otherwise. */
bool mara_parse_u16(const char *s, long min, __u16 *out);

/* ------------------------------------------------------------------------------------------ */
/* JSON helpers: Marathon fields are optional and sometimes null; absent and null read alike.  */

static inline json_t *jget(const json_t *o, const char *k)
{
	json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;

	return json_is_null(v) ? NULL : v;
}

static inline const char *jstr(const json_t *o, const char *k)
{
	json_t *v = jget(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Integer value (integral reals too). Returns true when v is one. A real
 * outside long long's range (a port of 10E200) is none: converting it would be
 * undefined behaviour, so the range is checked first (-2^63 <= d < 2^63).
 */
static inline bool jint(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
		    d == (double)(long long)d) {
			*out = (long long)d;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Ports and tasks on the way to backends                                                      */

/* How a task (or pod container) takes part, before addresses. */
struct task_state {
	bool backend;  /* false: not a backend at all */
	bool draining; /* TASK_KILLING or not healthy */
	__u8 health;   /* enum xlb_health */
};

enum ep_kind {
	EP_NONE,      /* no usable endpoint for this task (warned) */
	EP_HOST,      /* agent host : port */
	EP_CONTAINER, /* task/container IP : port */
};

struct endpoint {
	enum ep_kind kind;
	__u16 port;
};

/* What a port of an app/pod says, independent of tasks. */
struct port_spec {
	const json_t *labels;	 /* port-level labels, may be NULL */
	const char *proto;	 /* protocol string, NULL = tcp */
	const json_t *proto_arr; /* pods: protocol array */
	long long service_port;	 /* 0 = none */
	/* How tasks map it (see task_endpoint()). */
	bool host_mode;		 /* host networking: ports[i] */
	bool consumes_host_port; /* bridge, or container mapping with hostPort */
	long long host_port;	 /* the declared hostPort (container mode fallback) */
	long long container_port;
	const char *name;	     /* pods: endpoint name */
	const json_t *network_names; /* pods: endpoint networkNames */
};

/* The claims one port made: contiguous in b->claims, so tasks can add to all at once. */
struct port_claims {
	size_t first, n; /* indexes into b->claims */
};

/* Where a task can be reached: its agent, and its own addresses on container networks. */
struct task_addrs {
	const char *host;   /* agent host */
	const char *ips[8]; /* container addresses as strings */
	size_t nr_ips;
};

enum net_mode {
	NET_HOST,
	NET_BRIDGE,
	NET_CONTAINER,
};

/* ---- mara_claims.c ---- */

/*
 * The claims of port i. run_labels are the app/pod labels (group, weights,
 * service port overrides). pod: pods have no service ports.
 */
struct port_claims mara_port_claims(struct build *b, const char *what, const char *run_id, bool pod,
				    int i, const struct port_spec *ps, const json_t *run_labels);
/*
 * Weight for port n: XLB_WEIGHT (xlb's own label, wins when valid), else
 * marathon-lb's HAPROXY_{n}_BACKEND_WEIGHT, else the default.
 */
__u16 mara_port_weight(struct build *b, const char *what, const json_t *labels, int n);
/* Legacy app label vip_PORT<n> = "tcp://1.2.3.4:5000" (DC/OS 1.6/1.7, docs/marathon.md §7.1). */
bool mara_legacy_vip_key(const char *key, int *n);
void mara_claim_free(struct claim *c);

/* ---- mara_tasks.c ---- */

/* The health part of §7.4 once the task is running (see mara_tasks.c). */
void mara_decide_health(struct build *b, const char *task_id, bool has_checks, int reported,
			struct task_state *ts);
/* Adds one task's backend on endpoint ep to the claims pc of port i. */
void mara_task_backends(struct build *b, const char *what, int i, const struct port_claims *pc,
			const struct endpoint *ep, const struct task_addrs *ta,
			const struct task_state *ts, __u16 weight, const char *task_id);
void mara_hosts_free(struct build *b);

/* ---- mara_apps.c ---- */

/* One element of an apps list (index: its position, for warnings). */
void mara_app_read(struct build *b, const json_t *app, size_t idx);
/*
 * Walks an apps document: {"apps": [...]}, {"app": {...}}, groups, or a bare app.
 * Depth -1: the root, whose "apps" list was already read element by element.
 */
void mara_apps_read(struct build *b, const json_t *root, int depth);
/* -EINVAL with a message when the document has none of the accepted shapes. */
int mara_apps_doc_check(const json_t *root, char *err, size_t errlen);

/* ---- mara_pods.c ---- */

void mara_pods_read(struct build *b, const json_t *root);
int mara_pods_doc_check(const json_t *root, char *err, size_t errlen);

#endif /* XLB_MARA_BUILD_H */
