// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon snapshot -> desired state. Three passes: (1) every app and pod is
 * read into claims: "this VIP/service port is served by these backends", with
 * backend addresses from the network-mode rules of MARATHON.md §3.4/§5 and
 * states from §7.4; (2) named VIPs get addresses from the pool, by the set of
 * names only; (3) claims expand per protocol into services, equal keys merge,
 * conflicting kinds are resolved by a fixed priority, and everything is sorted.
 * A problem with one label, port, task or app becomes one warning naming it and
 * drops only that piece; only an unreadable document fails the whole build.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "marathon.h"

#define PRINTF(f, a) __attribute__((format(printf, f, a)))

#define MSG_MAX 1024
#define Q_MAX 80 /* characters of a user string quoted in a message */
#define QBUF (Q_MAX * 4 + 8)
#define HOST_BUCKETS 1024

static PRINTF(3, 4) void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */
/* Claims and build context                                                                    */

struct claim {
	enum xlb_svc_kind kind;
	union xlb_addr addr; /* be; named VIPs: filled in pass 2 */
	__u8 family;
	__u16 port;	     /* host order */
	unsigned int protos; /* XLB_PROTO_BIT_* */
	char *name;	     /* named VIP: as written */
	char *dns;	     /* named VIP: DNS name, its identity */
	bool dropped;	     /* named VIP without an address (pool full) */
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
};

static PRINTF(2, 3) void warn(struct build *b, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	b->m->nr_warnings++;
	if (!b->o->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->o->warn(b->o->warn_ctx, msg);
}

static char *xstrdup(struct build *b, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		b->oom = -ENOMEM;
	return d;
}

static bool grow(struct build *b, void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n) {
		b->oom = -ENOMEM;
		return false;
	}
	*arr = n;
	*cap = ncap;
	return true;
}

static void claim_free(struct claim *c)
{
	size_t i;

	free(c->name);
	free(c->dns);
	free(c->origin.run_id);
	free(c->origin.label_key);
	for (i = 0; i < c->nr_bes; i++)
		free(c->bes[i].task_id);
	free(c->bes);
}

static const char *family_str(__u8 family)
{
	return family == XLB_AF_INET6 ? "IPv6" : "IPv4";
}

static const char *proto_str(__u8 proto)
{
	return proto == XLB_PROTO_UDP ? "udp" : "tcp";
}

/* "198.18.0.10:80/tcp", "[fd01:c::1]:80/udp"; private: dp.h exports the same for all users. */
static const char *key_str(const struct xlb_vip_key *key, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (key->family == XLB_AF_INET6) {
		inet_ntop(AF_INET6, key->addr.bytes, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u/%s", a, ntohs(key->port), proto_str(key->proto));
	} else {
		inet_ntop(AF_INET, &key->addr.v4, a, sizeof(a));
		snprintf(buf, len, "%s:%u/%s", a, ntohs(key->port), proto_str(key->proto));
	}
	return buf;
}

static const char *addr_str(const union xlb_addr *addr, __u8 family, char *buf, size_t len)
{
	inet_ntop(family == XLB_AF_INET6 ? AF_INET6 : AF_INET, addr->bytes, buf, (socklen_t)len);
	return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON helpers: Marathon fields are optional and sometimes null; absent and null read alike.  */

static json_t *jget(const json_t *o, const char *k)
{
	json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;

	return json_is_null(v) ? NULL : v;
}

static const char *jstr(const json_t *o, const char *k)
{
	json_t *v = jget(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Integer value (integral reals too). Returns true when v is one. */
static bool jint(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (d == (double)(long long)d) {
			*out = (long long)d;
			return true;
		}
	}
	return false;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a labels object in strcmp order, so warnings come out in a stable order. */
static const char **sorted_keys(struct build *b, const json_t *obj, size_t *n)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t i = 0;

	*n = json_is_object(obj) ? json_object_size(obj) : 0;
	if (!*n)
		return NULL;
	keys = calloc(*n, sizeof(*keys));
	if (!keys) {
		b->oom = -ENOMEM;
		*n = 0;
		return NULL;
	}
	json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

/* "0".."65535" into *out; false otherwise. */
static bool parse_u16(const char *s, long min, __u16 *out)
{
	long v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > 5)
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > 65535)
		return false;
	*out = (__u16)v;
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Host resolution, cached per build: many tasks share an agent.                               */

int xlb_mara_resolve_getaddrinfo(void *ctx, const char *host, __u8 family_hint,
				 union xlb_addr *addr, __u8 *family)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL, *ai, *pick = NULL;
	int rc;

	(void)ctx;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc)
		return rc == EAI_NONAME || rc == EAI_NODATA ? -ENOENT : -EAGAIN;
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (!pick)
			pick = ai;
		if (ai->ai_family == family_hint) {
			pick = ai;
			break;
		}
	}
	if (!pick) {
		freeaddrinfo(res);
		return -ENOENT;
	}
	memset(addr, 0, sizeof(*addr));
	if (pick->ai_family == AF_INET) {
		addr->v4 = ((const struct sockaddr_in *)pick->ai_addr)->sin_addr.s_addr;
		*family = XLB_AF_INET;
	} else {
		memcpy(addr->bytes, &((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, 16);
		*family = XLB_AF_INET6;
	}
	freeaddrinfo(res);
	return 0;
}

/* Address literal? Then no resolver is involved. */
static bool parse_literal(const char *s, union xlb_addr *addr, __u8 *family)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1) {
		*family = XLB_AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr->bytes) == 1) {
		*family = XLB_AF_INET6;
		return true;
	}
	return false;
}

/*
 * Resolves a task host for a service of family hint. Warns once per (host,
 * family) per build, naming the first task that needed it.
 */
static int resolve_host(struct build *b, const char *what, const char *task_id, const char *host,
			__u8 hint, union xlb_addr *addr, __u8 *family)
{
	size_t h = (size_t)((xlb_fnv1a64(host, strlen(host)) ^ hint) % HOST_BUCKETS);
	char qh[QBUF], qt[QBUF];
	struct host_entry *e;

	if (parse_literal(host, addr, family))
		return 0;
	for (e = b->hosts[h]; e; e = e->next) {
		if (e->hint == hint && !strcmp(e->host, host))
			break;
	}
	if (!e) {
		xlb_mara_resolve_fn fn =
		    b->o->resolve ? b->o->resolve : xlb_mara_resolve_getaddrinfo;

		e = calloc(1, sizeof(*e));
		if (!e || !(e->host = strdup(host))) {
			free(e);
			b->oom = -ENOMEM;
			return -ENOMEM;
		}
		e->hint = hint;
		e->rc = fn(b->o->resolve_ctx, host, hint, &e->addr, &e->family);
		if (!e->rc && e->family != XLB_AF_INET && e->family != XLB_AF_INET6)
			e->rc = -EAFNOSUPPORT;
		e->next = b->hosts[h];
		b->hosts[h] = e;
		if (e->rc)
			warn(b, "%s task %s: host \"%s\" does not resolve (%s): backend skipped",
			     what, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)),
			     xlb_mara_quote(host, Q_MAX, qh, sizeof(qh)),
			     e->rc == -ENOENT	? "no such host"
			     : e->rc == -EAGAIN ? "temporary resolver failure"
						: strerror(-e->rc));
	}
	if (e->rc)
		return e->rc;
	*addr = e->addr;
	*family = e->family;
	return 0;
}

static void hosts_free(struct build *b)
{
	size_t i;

	for (i = 0; i < HOST_BUCKETS; i++) {
		while (b->hosts[i]) {
			struct host_entry *e = b->hosts[i];

			b->hosts[i] = e->next;
			free(e->host);
			free(e);
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Tasks: state, health, weight                                                                */

/* How a task (or pod container) takes part, before addresses. */
struct task_state {
	bool backend;  /* false: not a backend at all */
	bool draining; /* TASK_KILLING or not healthy */
	__u8 health;   /* enum xlb_health */
};

/*
 * The health part of §7.4 once the task is running: no checks -> active;
 * reported results decide; none reported -> the daemon's last-known cache, and
 * without one the task drains (never route before the first passing check).
 */
static void decide_health(struct build *b, const char *task_id, bool has_checks, int reported,
			  struct task_state *ts)
{
	int cached;

	if (!has_checks) {
		ts->health = XLB_HEALTH_NONE;
		return;
	}
	if (reported >= 0) {
		ts->health = reported ? XLB_HEALTH_ALIVE : XLB_HEALTH_FAILED;
		ts->draining = !reported;
		if (b->o->health_store && task_id)
			b->o->health_store(b->o->health_ctx, task_id, reported);
		return;
	}
	cached = b->o->health_lookup && task_id ? b->o->health_lookup(b->o->health_ctx, task_id)
						: -ENOENT;
	if (cached == 1) {
		ts->health = XLB_HEALTH_CACHED_ALIVE;
	} else if (cached == 0) {
		ts->health = XLB_HEALTH_CACHED_FAILED;
		ts->draining = true;
	} else {
		ts->health = XLB_HEALTH_UNKNOWN;
		ts->draining = true;
	}
}

/* -1: no result reported; 1: all reported alive; 0: at least one not alive. */
static int app_task_reported_health(const json_t *task)
{
	json_t *res = jget(task, "healthCheckResults"), *r;
	size_t i;

	if (!json_is_array(res) || !json_array_size(res))
		return -1;
	json_array_foreach(res, i, r)
	{
		if (!json_is_true(jget(r, "alive")))
			return 0;
	}
	return 1;
}

static struct task_state app_task_state(struct build *b, const json_t *task, const char *task_id,
					bool has_checks)
{
	struct task_state ts = {0};
	const char *state = jstr(task, "state");

	/* Marathon < 1.2 had no "state"; a start time means the task was running. */
	if (!state && !jstr(task, "startedAt"))
		return ts;
	if (!state || !strcmp(state, "TASK_RUNNING")) {
		ts.backend = true;
		decide_health(b, task_id, has_checks, app_task_reported_health(task), &ts);
	} else if (!strcmp(state, "TASK_KILLING")) {
		ts.backend = true;
		ts.draining = true;
		ts.health = has_checks ? XLB_HEALTH_UNKNOWN : XLB_HEALTH_NONE;
	}
	return ts;
}

/*
 * Weight for port n: XLB_WEIGHT (xlb's own label, wins when valid), else
 * marathon-lb's HAPROXY_{n}_BACKEND_WEIGHT, else the default. Bad values warn
 * once per port and fall through.
 */
static __u16 port_weight(struct build *b, const char *what, const json_t *labels, int n)
{
	char key[48], q[QBUF];
	const char *v;
	__u16 w;

	v = jstr(labels, "XLB_WEIGHT");
	if (v) {
		if (parse_u16(v, 0, &w))
			return w;
		warn(b, "%s: label XLB_WEIGHT=\"%s\": not an integer 0-65535, ignored", what,
		     xlb_mara_quote(v, Q_MAX, q, sizeof(q)));
	}
	snprintf(key, sizeof(key), "HAPROXY_%d_BACKEND_WEIGHT", n);
	v = jstr(labels, key);
	if (v) {
		if (parse_u16(v, 0, &w))
			return w;
		warn(b, "%s: label %s=\"%s\": not an integer 0-65535, ignored", what, key,
		     xlb_mara_quote(v, Q_MAX, q, sizeof(q)));
	}
	return b->o->default_weight;
}

/* ------------------------------------------------------------------------------------------ */
/* Claims                                                                                      */

static struct claim *claim_new(struct build *b, enum xlb_svc_kind kind, const char *run_id,
			       bool pod, int port_index, const char *label_key)
{
	struct claim *c;

	if (!grow(b, (void **)&b->claims, &b->cap_claims, b->nr_claims + 1, sizeof(*c)))
		return NULL;
	c = &b->claims[b->nr_claims++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->origin.run_id = xstrdup(b, run_id);
	c->origin.pod = pod;
	c->origin.port_index = port_index;
	c->origin.label_key = xstrdup(b, label_key);
	return c;
}

static void claim_add_backend(struct build *b, struct claim *c, const union xlb_addr *addr,
			      __u8 family, __u16 port, const struct task_state *ts, __u16 weight,
			      const char *task_id)
{
	struct xlb_mara_backend *be;

	if (!grow(b, (void **)&c->bes, &c->cap_bes, c->nr_bes + 1, sizeof(*be)))
		return;
	be = &c->bes[c->nr_bes++];
	memset(be, 0, sizeof(*be));
	be->addr = *addr;
	be->family = family;
	be->port = htons(port);
	be->weight = ts->draining ? 0 : weight;
	be->state = be->weight ? XLB_BE_ACTIVE : XLB_BE_DRAINING;
	be->health = ts->health;
	be->task_id = xstrdup(b, task_id);
}

/* ------------------------------------------------------------------------------------------ */
/* One port of an app or pod: where its backends are, which claims it makes                    */

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

static bool group_matches(const char *groups, const char *want)
{
	const char *p = groups;

	if (!want || !*want)
		return false;
	if (!strcmp(want, "*"))
		return true;
	if (!groups)
		return false;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		while (n && p[n - 1] == ' ')
			n--;
		if (n == strlen(want) && !strncmp(p, want, n))
			return true;
		if (!end)
			return false;
		p = end + 1;
	}
}

static bool port_protos(struct build *b, const char *what, int i, const struct port_spec *ps,
			unsigned int *protos)
{
	char err[256];
	size_t k;
	json_t *v;

	if (ps->proto_arr) {
		*protos = 0;
		json_array_foreach((json_t *)ps->proto_arr, k, v)
		{
			unsigned int m;

			if (!json_is_string(v) ||
			    xlb_proto_list_parse(json_string_value(v), &m, err, sizeof(err))) {
				warn(b, "%s port %d: %s: port skipped", what, i,
				     json_is_string(v) ? err : "protocol entry is not a string");
				return false;
			}
			*protos |= m;
		}
		if (!*protos)
			*protos = XLB_PROTO_BIT_TCP;
		return true;
	}
	if (!ps->proto) {
		*protos = XLB_PROTO_BIT_TCP;
		return true;
	}
	if (xlb_proto_list_parse(ps->proto, protos, err, sizeof(err))) {
		warn(b, "%s port %d: %s: port skipped", what, i, err);
		return false;
	}
	return true;
}

/* Legacy app label vip_PORT<n> = "tcp://1.2.3.4:5000" (DC/OS 1.6/1.7, MARATHON.md §7.1). */
static bool legacy_vip_key(const char *key, int *n)
{
	long long v = 0;
	const char *p;

	if (strncmp(key, "vip_PORT", 8) || !key[8])
		return false;
	for (p = key + 8; *p; p++) {
		if (*p < '0' || *p > '9' || v > 1000000)
			return false;
		v = v * 10 + (*p - '0');
	}
	*n = (int)v;
	return true;
}

static void make_vip_claim(struct build *b, const char *what, const char *run_id, bool pod, int i,
			   const char *key, const char *value, unsigned int protos)
{
	struct xlb_vip_label vip;
	char err[512], dns[XLB_DNS_NAME_MAX];
	struct claim *c;
	int ret;

	ret = xlb_vip_label_parse(key, value, &vip, err, sizeof(err));
	if (ret) {
		warn(b, "%s port %d: %s: label skipped", what, i, err);
		return;
	}
	if (vip.kind == XLB_VIP_NAMED) {
		ret = xlb_vip_dns_name(vip.name, b->o->framework, dns, sizeof(dns));
		if (ret) {
			char q[QBUF];

			warn(b,
			     "%s port %d: label %s: name \"%s\" gives no valid DNS name with "
			     "framework \"%s\": label skipped",
			     what, i, key, xlb_mara_quote(vip.name, Q_MAX, q, sizeof(q)),
			     b->o->framework);
			return;
		}
	}
	c = claim_new(b, vip.kind == XLB_VIP_IP ? XLB_SVC_IP_VIP : XLB_SVC_NAMED_VIP, run_id, pod,
		      i, key);
	if (!c)
		return;
	c->port = vip.port;
	c->protos = protos;
	if (vip.kind == XLB_VIP_IP) {
		c->addr = vip.addr;
		c->family = vip.family;
	} else {
		c->family = XLB_AF_INET;
		c->name = xstrdup(b, vip.name);
		c->dns = xstrdup(b, dns);
	}
}

static void legacy_vip_claim(struct build *b, const char *what, const char *run_id, int i,
			     const char *key, const char *v)
{
	unsigned int protos;
	char q[QBUF], err[512], proto[8];
	const char *sep = v ? strstr(v, "://") : NULL;
	size_t pl = sep ? (size_t)(sep - v) : 0;

	if (!sep || pl >= sizeof(proto)) {
		warn(b,
		     "%s port %d: label %s=\"%s\": expected tcp://<address>:<port>: label skipped",
		     what, i, key, xlb_mara_quote(v, Q_MAX, q, sizeof(q)));
		return;
	}
	memcpy(proto, v, pl);
	proto[pl] = '\0';
	if (xlb_proto_list_parse(proto, &protos, err, sizeof(err))) {
		warn(b, "%s port %d: label %s: %s: label skipped", what, i, key, err);
		return;
	}
	make_vip_claim(b, what, run_id, false, i, key, sep + 3, protos);
}

/*
 * The claims of port i. run_labels are the app/pod labels (group, weights,
 * service port overrides). pod: pods have no service ports.
 */
static struct port_claims port_make_claims(struct build *b, const char *what, const char *run_id,
					   bool pod, int i, const struct port_spec *ps,
					   const json_t *run_labels)
{
	struct port_claims pc = {.first = b->nr_claims};
	const char **keys;
	unsigned int protos = 0;
	const char *groups;
	size_t n, k;
	bool any = false, lb;
	char key[48];

	/* Legacy app label vip_PORT<i> = "tcp://addr:port" (DC/OS 1.6/1.7), own protocol. */
	snprintf(key, sizeof(key), "vip_PORT%d", i);
	if (!pod && jget(run_labels, key))
		legacy_vip_claim(b, what, run_id, i, key, jstr(run_labels, key));

	/* Look before complaining about protocols: a port nobody asked for is not an error. */
	keys = sorted_keys(b, ps->labels, &n);
	for (k = 0; k < n; k++)
		any |= xlb_vip_key_is_vip(keys[k]);
	snprintf(key, sizeof(key), "HAPROXY_%d_GROUP", i);
	groups = jstr(run_labels, key) ? jstr(run_labels, key) : jstr(run_labels, "HAPROXY_GROUP");
	lb = !pod && b->o->node_family && group_matches(groups, b->o->haproxy_group);

	if ((!any && !lb) || !port_protos(b, what, i, ps, &protos)) {
		free(keys);
		pc.n = b->nr_claims - pc.first;
		return pc;
	}
	for (k = 0; k < n; k++) {
		const json_t *v = json_object_get(ps->labels, keys[k]);
		char q[QBUF];

		if (!xlb_vip_key_is_vip(keys[k]))
			continue;
		if (!json_is_string(v)) {
			warn(b, "%s port %d: label %s: value is not a string: label skipped", what,
			     i, xlb_mara_quote(keys[k], Q_MAX, q, sizeof(q)));
			continue;
		}
		make_vip_claim(b, what, run_id, pod, i, keys[k], json_string_value(v), protos);
	}
	free(keys);

	if (lb) {
		long long sp = ps->service_port;
		const char *ov;
		__u16 p16;
		struct claim *c;

		snprintf(key, sizeof(key), "HAPROXY_%d_PORT", i);
		ov = jstr(run_labels, key);
		if (ov) {
			char q[QBUF];

			if (parse_u16(ov, 1, &p16))
				sp = p16;
			else
				warn(b, "%s port %d: label %s=\"%s\": not a port 1-65535, ignored",
				     what, i, key, xlb_mara_quote(ov, Q_MAX, q, sizeof(q)));
		}
		if (sp < 1 || sp > 65535) {
			warn(b, "%s port %d: in group \"%s\" but no service port: skipped", what, i,
			     b->o->haproxy_group);
		} else if ((c = claim_new(b, XLB_SVC_SERVICE_PORT, run_id, pod, i, NULL))) {
			c->addr = b->o->node_addr;
			c->family = b->o->node_family;
			c->port = (__u16)sp;
			c->protos = protos;
		}
	}
	pc.n = b->nr_claims - pc.first;
	return pc;
}

/* Where a task can be reached: its agent, and its own addresses on container networks. */
struct task_addrs {
	const char *host;   /* agent host */
	const char *ips[8]; /* container addresses as strings */
	size_t nr_ips;
};

/*
 * Adds one task's backend on endpoint ep to the claims of a port. EP_HOST
 * resolves host for each claim's family; EP_CONTAINER takes the first address
 * of that family from ips (Marathon's ipAddresses or a pod network's
 * addresses), else the first one, and a family mismatch is reported.
 */
static void add_task_backends(struct build *b, const char *what, int i,
			      const struct port_claims *pc, const struct endpoint *ep,
			      const struct task_addrs *ta, const struct task_state *ts,
			      __u16 weight, const char *task_id)
{
	char qt[QBUF], as[INET6_ADDRSTRLEN], ks[INET6_ADDRSTRLEN + 16];
	size_t k, j;

	for (k = 0; k < pc->n; k++) {
		struct claim *c = &b->claims[pc->first + k];
		union xlb_addr addr;
		__u8 family = 0;
		bool found = false;

		if (ep->kind == EP_HOST) {
			if (!ta->host || !*ta->host) {
				warn(b, "%s task %s: no host: backend skipped", what,
				     xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)));
				return;
			}
			if (resolve_host(b, what, task_id, ta->host, c->family, &addr, &family))
				continue;
		} else {
			for (j = 0; j < ta->nr_ips && !found; j++) {
				if (parse_literal(ta->ips[j], &addr, &family) &&
				    family == c->family)
					found = true;
			}
			if (!found && !(ta->nr_ips && parse_literal(ta->ips[0], &addr, &family))) {
				warn(b,
				     "%s port %d task %s: no container IP address yet: backend "
				     "skipped",
				     what, i, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)));
				return;
			}
		}
		if (family != c->family) {
			struct xlb_vip_key key = {.family = c->family, .port = htons(c->port)};

			key.addr = c->addr;
			key.proto = c->protos & XLB_PROTO_BIT_TCP ? XLB_PROTO_TCP : XLB_PROTO_UDP;
			warn(b,
			     "%s port %d task %s: backend %s is %s, %s %s is %s: backend skipped",
			     what, i, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)),
			     addr_str(&addr, family, as, sizeof(as)), family_str(family),
			     c->kind == XLB_SVC_NAMED_VIP ? "named VIP" : "service",
			     c->kind == XLB_SVC_NAMED_VIP ? c->dns : key_str(&key, ks, sizeof(ks)),
			     family_str(c->family));
			continue;
		}
		claim_add_backend(b, c, &addr, family, ep->port, ts, weight, task_id);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Apps                                                                                        */

enum net_mode {
	NET_HOST,
	NET_BRIDGE,
	NET_CONTAINER,
};

/*
 * marathon-lb's get_app_networking_mode: legacy docker.network and ipAddress
 * first (BRIDGE beats ipAddress), then networks[] (1.5+) overrides.
 */
static enum net_mode app_net_mode(const json_t *app)
{
	const json_t *docker = jget(jget(app, "container"), "docker");
	const char *dnet = jstr(docker, "network");
	enum net_mode mode = NET_HOST;
	json_t *nets = jget(app, "networks"), *n;
	size_t i;

	if (json_is_object(jget(app, "ipAddress")))
		mode = NET_CONTAINER;
	if (dnet && !strcmp(dnet, "USER"))
		mode = NET_CONTAINER;
	else if (dnet && !strcmp(dnet, "BRIDGE"))
		mode = NET_BRIDGE;
	else if (dnet && !strcmp(dnet, "HOST"))
		mode = NET_HOST;
	if (json_is_array(nets) && json_array_size(nets)) {
		mode = NET_HOST;
		json_array_foreach(nets, i, n)
		{
			const char *m = jstr(n, "mode");

			if (m && !strcmp(m, "container/bridge"))
				return NET_BRIDGE;
			if (m && !strcmp(m, "container"))
				mode = NET_CONTAINER;
		}
	}
	return mode;
}

static const char *mode_str(enum net_mode m)
{
	return m == NET_BRIDGE ? "container/bridge" : m == NET_CONTAINER ? "container" : "host";
}

/*
 * The port list of an app and how each maps (MARATHON.md §3.4). Returns the
 * number of ports, -1 after a warning (wrong types: the app is skipped).
 */
static long app_ports(struct build *b, const char *what, const json_t *app, enum net_mode mode,
		      struct port_spec **out)
{
	const json_t *container = jget(app, "container");
	const json_t *list = NULL, *v;
	struct port_spec *ps;
	enum { SRC_DEFS, SRC_LEGACY_PORTS, SRC_MAPPINGS, SRC_DISCOVERY } src;
	size_t i, n;

	*out = NULL;
	if (mode == NET_HOST) {
		list = jget(app, "portDefinitions");
		src = SRC_DEFS;
		if (!list) {
			/* Before portDefinitions (Marathon < 0.16): a bare list of service ports.
			 */
			list = jget(app, "ports");
			src = SRC_LEGACY_PORTS;
		}
	} else {
		const json_t *disc = jget(jget(app, "ipAddress"), "discovery");

		src = SRC_MAPPINGS;
		if (mode == NET_CONTAINER && jget(disc, "ports")) {
			list = jget(disc, "ports");
			src = SRC_DISCOVERY;
		} else {
			/* marathon-lb reads the legacy location first, then the 1.5+ one. */
			list = jget(jget(container, "docker"), "portMappings");
			if (!list)
				list = jget(container, "portMappings");
		}
	}
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		warn(b, "%s: port list (%s mode) is not an array: app skipped", what,
		     mode_str(mode));
		return -1;
	}
	n = json_array_size(list);
	if (!n)
		return 0;
	ps = calloc(n, sizeof(*ps));
	if (!ps) {
		b->oom = -ENOMEM;
		return -1;
	}
	json_array_foreach(list, i, v)
	{
		struct port_spec *p = &ps[i];
		const json_t *hp;

		if (src == SRC_LEGACY_PORTS) {
			if (!jint(v, &p->service_port)) {
				warn(b, "%s: ports[%zu] is not an integer: app skipped", what, i);
				goto bad;
			}
			p->host_mode = true;
			continue;
		}
		if (!json_is_object(v)) {
			warn(b, "%s: port %zu is not an object: app skipped", what, i);
			goto bad;
		}
		p->labels = jget(v, "labels");
		if (p->labels && !json_is_object(p->labels)) {
			warn(b, "%s port %zu: labels are not an object: ignored", what, i);
			p->labels = NULL;
		}
		if (jget(v, "protocol") && !jstr(v, "protocol")) {
			warn(b, "%s port %zu: protocol is not a string: app skipped", what, i);
			goto bad;
		}
		p->proto = jstr(v, "protocol");
		switch (src) {
		case SRC_DEFS:
			p->host_mode = true;
			jint(jget(v, "port"), &p->service_port);
			break;
		case SRC_DISCOVERY:
			jint(jget(v, "number"), &p->container_port);
			break;
		default:
			jint(jget(v, "servicePort"), &p->service_port);
			jint(jget(v, "containerPort"), &p->container_port);
			hp = jget(v, "hostPort");
			if (hp)
				jint(hp, &p->host_port);
			/* Bridge: every mapping gets a host port (absent = 0 = any). */
			p->consumes_host_port = mode == NET_BRIDGE || hp != NULL;
			break;
		}
	}
	*out = ps;
	return (long)n;
bad:
	free(ps);
	return -1;
}

/*
 * Where task t serves port i. *k walks ports[] in mapping order, consuming
 * entries only for mappings that have a host port (Marathon skips the others).
 */
static struct endpoint task_endpoint(struct build *b, const char *what, const char *task_id, int i,
				     const struct port_spec *ps, const json_t *ports, size_t *k)
{
	struct endpoint ep = {EP_NONE, 0};
	long long v;
	char qt[QBUF];

	if (ps->host_mode || ps->consumes_host_port) {
		size_t idx = ps->host_mode ? (size_t)i : *k;

		if (json_is_array(ports) && idx < json_array_size(ports) &&
		    jint(json_array_get(ports, idx), &v)) {
			if (!ps->host_mode)
				(*k)++;
			if (v >= 1 && v <= 65535) {
				ep.kind = EP_HOST;
				ep.port = (__u16)v;
				return ep;
			}
			warn(b, "%s port %d task %s: host port %lld out of range: backend skipped",
			     what, i, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)), v);
			return ep;
		}
		if (!ps->host_mode && ps->host_port >= 1 && ps->host_port <= 65535) {
			/* A fixed hostPort is what the task got, even if ports[] is short. */
			ep.kind = EP_HOST;
			ep.port = (__u16)ps->host_port;
			return ep;
		}
		if (ps->host_mode || ps->container_port < 1) {
			warn(b,
			     "%s port %d task %s: no host port in the task's ports[]: backend "
			     "skipped",
			     what, i, xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)));
			return ep;
		}
		/* hostPort 0 without an allocated port: old USER networking, use the container. */
	}
	if (ps->container_port >= 1 && ps->container_port <= 65535) {
		ep.kind = EP_CONTAINER;
		ep.port = (__u16)ps->container_port;
		return ep;
	}
	warn(b, "%s port %d task %s: container port %lld unusable: backend skipped", what, i,
	     xlb_mara_quote(task_id, Q_MAX, qt, sizeof(qt)), ps->container_port);
	return ep;
}

static void task_addrs_from_app_task(const json_t *task, struct task_addrs *ta)
{
	json_t *ips = jget(task, "ipAddresses"), *ip;
	size_t i;

	memset(ta, 0, sizeof(*ta));
	ta->host = jstr(task, "host");
	json_array_foreach(ips, i, ip)
	{
		const char *s = jstr(ip, "ipAddress");

		if (s && ta->nr_ips < sizeof(ta->ips) / sizeof(ta->ips[0]))
			ta->ips[ta->nr_ips++] = s;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Apps                                                                                        */

static void process_app(struct build *b, const json_t *app, size_t idx)
{
	char what[QBUF + 16], q[QBUF];
	const char *id = jstr(app, "id");
	const json_t *labels, *tasks, *hcs, *task;
	struct port_spec *ps = NULL;
	struct port_claims *pcs = NULL;
	__u16 *weights = NULL;
	enum net_mode mode;
	bool has_checks, any = false;
	const char **keys;
	size_t t, nk, k;
	long n, i;

	b->m->nr_apps++;
	if (!json_is_object(app)) {
		warn(b, "apps[%zu]: not an object: skipped", idx);
		return;
	}
	if (!id || !*id) {
		warn(b, "apps[%zu]: no \"id\" string: skipped", idx);
		return;
	}
	snprintf(what, sizeof(what), "app %s", xlb_mara_quote(id, Q_MAX, q, sizeof(q)));
	labels = jget(app, "labels");
	if (labels && !json_is_object(labels)) {
		warn(b, "%s: labels are not an object: ignored", what);
		labels = NULL;
	}
	tasks = jget(app, "tasks");
	if (tasks && !json_is_array(tasks)) {
		warn(b, "%s: tasks is not an array: app skipped", what);
		return;
	}
	hcs = jget(app, "healthChecks");
	has_checks = json_is_array(hcs) && json_array_size(hcs) > 0;

	if (jget(app, "networks") && !json_is_array(jget(app, "networks")))
		warn(b, "%s: networks is not an array: host mode assumed", what);
	mode = app_net_mode(app);
	n = app_ports(b, what, app, mode, &ps);
	if (n < 0)
		return;
	pcs = calloc(n ? (size_t)n : 1, sizeof(*pcs));
	weights = calloc(n ? (size_t)n : 1, sizeof(*weights));
	if (!pcs || !weights) {
		b->oom = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		pcs[i] = port_make_claims(b, what, id, false, (int)i, &ps[i], labels);
		if (pcs[i].n) {
			weights[i] = port_weight(b, what, labels, (int)i);
			any = true;
		}
	}
	keys = sorted_keys(b, labels, &nk);
	for (k = 0; k < nk; k++) {
		int pi;

		if (legacy_vip_key(keys[k], &pi) && pi >= n)
			warn(b, "%s: label %s: the app has no port %d: label skipped", what,
			     keys[k], pi);
	}
	free(keys);
	if (!any)
		goto out;

	json_array_foreach(tasks, t, task)
	{
		const char *tid = jstr(task, "id");
		const json_t *ports = jget(task, "ports");
		struct task_state ts;
		struct task_addrs ta;
		size_t hk = 0;

		b->m->nr_tasks++;
		if (!tid) {
			warn(b, "%s: tasks[%zu] has no \"id\": skipped", what, t);
			continue;
		}
		ts = app_task_state(b, task, tid, has_checks);
		if (!ts.backend)
			continue;
		task_addrs_from_app_task(task, &ta);
		for (i = 0; i < n; i++) {
			struct endpoint ep;

			if (!pcs[i].n) {
				/* Keep walking ports[] in step with the mappings. */
				if (!ps[i].host_mode && ps[i].consumes_host_port &&
				    json_is_array(ports) && hk < json_array_size(ports))
					hk++;
				continue;
			}
			ep = task_endpoint(b, what, tid, (int)i, &ps[i], ports, &hk);
			if (ep.kind == EP_NONE)
				continue;
			add_task_backends(b, what, (int)i, &pcs[i], &ep, &ta, &ts, weights[i], tid);
		}
	}
out:
	free(weights);
	free(pcs);
	free(ps);
}

/*
 * Walks an apps document: {"apps": [...]}, {"app": {...}}, groups, or a bare app.
 * Depth -1: the root, whose "apps" list was already read element by element.
 */
static void process_apps_obj(struct build *b, const json_t *root, int depth)
{
	const json_t *apps = jget(root, "apps"), *app = jget(root, "app");
	const json_t *groups = jget(root, "groups"), *star = jget(root, "*"), *v;
	size_t i;

	if (depth > 32)
		return;
	if (depth >= 0)
		json_array_foreach(apps, i, v) process_app(b, v, i);
	else
		depth = 0;
	json_array_foreach(star, i, v) process_app(b, v, i);
	if (json_is_object(app))
		process_app(b, app, 0);
	json_array_foreach(groups, i, v)
	{
		if (!json_is_object(v) || (jget(v, "apps") && !json_is_array(jget(v, "apps")))) {
			warn(b, "groups[%zu]: not a group object: skipped", i);
			continue;
		}
		process_apps_obj(b, v, depth + 1);
	}
	if (!apps && !app && !groups && !star)
		process_app(b, root, 0);
}

static int check_apps_doc(const json_t *root, char *err, size_t errlen)
{
	static const char *const keys[] = {"apps", "*", "groups"};
	size_t i;

	if (!json_is_object(root)) {
		set_err(err, errlen, "apps document: expected a JSON object with \"apps\", got %s",
			json_is_array(root) ? "an array" : "a scalar");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (jget(root, keys[i]) && !json_is_array(jget(root, keys[i]))) {
			set_err(err, errlen, "apps document: \"%s\" is not an array", keys[i]);
			return -EINVAL;
		}
	}
	if (jget(root, "app") && !json_is_object(jget(root, "app"))) {
		set_err(err, errlen, "apps document: \"app\" is not an object");
		return -EINVAL;
	}
	if (!jget(root, "apps") && !jget(root, "app") && !jget(root, "groups") &&
	    !jget(root, "*") && !jstr(root, "id")) {
		set_err(err, errlen,
			"apps document: no \"apps\" array (nor \"app\" or an app \"id\")");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Pods (MARATHON.md §5)                                                                       */

/* Health the Mesos way: the "healthy" condition, else the endpoints' "healthy" flags. */
static int pod_reported_health(const json_t *cstatus)
{
	const json_t *conds = jget(cstatus, "conditions"), *c, *eps, *e;
	int seen = -1;
	size_t i;

	json_array_foreach(conds, i, c)
	{
		const char *name = jstr(c, "name"), *value = jstr(c, "value");
		const char *reason = jstr(c, "reason");

		if (!name || strcmp(name, "healthy"))
			continue;
		if (value && !strcmp(value, "true"))
			return 1;
		if (reason && !strcmp(reason, "health-unreported-by-mesos"))
			return -1;
		return 0;
	}
	eps = jget(cstatus, "endpoints");
	json_array_foreach(eps, i, e)
	{
		const json_t *h = jget(e, "healthy");

		if (json_is_false(h))
			return 0;
		if (json_is_true(h))
			seen = 1;
	}
	return seen;
}

static const json_t *find_by_name(const json_t *arr, const char *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		const char *n = jstr(v, "name");

		if (n && name && !strcmp(n, name))
			return v;
	}
	return NULL;
}

/* Container addresses of an instance for one endpoint: its networkNames, else all networks. */
static void pod_instance_ips(const json_t *inst, const json_t *net_names, struct task_addrs *ta)
{
	const json_t *nets = jget(inst, "networks"), *net, *a;
	size_t i, j;

	json_array_foreach(nets, i, net)
	{
		const char *nn = jstr(net, "name");

		if (json_is_array(net_names) && json_array_size(net_names)) {
			const json_t *want;
			bool match = false;
			size_t w;

			json_array_foreach(net_names, w, want) match |=
			    json_is_string(want) && nn && !strcmp(json_string_value(want), nn);
			if (!match)
				continue;
		}
		json_array_foreach(jget(net, "addresses"), j, a)
		{
			if (json_is_string(a) && ta->nr_ips < sizeof(ta->ips) / sizeof(ta->ips[0]))
				ta->ips[ta->nr_ips++] = json_string_value(a);
		}
	}
}

struct pod_ep {
	struct port_spec ps;
	struct port_claims pc;
	__u16 weight;
	const char *container; /* spec container name */
	bool has_check;
};

static enum net_mode pod_net_mode(const json_t *spec)
{
	const json_t *nets = jget(spec, "networks"), *n;
	enum net_mode mode = NET_HOST;
	size_t i;

	json_array_foreach(nets, i, n)
	{
		const char *m = jstr(n, "mode");

		if (m && !strcmp(m, "container/bridge"))
			return NET_BRIDGE;
		if (m && !strcmp(m, "container"))
			mode = NET_CONTAINER;
	}
	return mode;
}

static void pod_instance(struct build *b, const char *what, const json_t *inst, size_t ii,
			 struct pod_ep *eps, size_t n)
{
	const char *inst_id = jstr(inst, "id"), *host = jstr(inst, "agentHostname");
	const json_t *statuses = jget(inst, "containers");
	char tid[512], qt[QBUF];
	size_t k;

	if (!json_is_object(inst) || !inst_id) {
		warn(b, "%s: instances[%zu] has no \"id\": skipped", what, ii);
		return;
	}
	for (k = 0; k < n; k++) {
		const json_t *cs, *eps_st, *est;
		struct task_state ts = {0};
		struct task_addrs ta;
		struct endpoint ep = {EP_NONE, 0};
		const char *state, *cid;
		long long v;

		/* One pass per container: handle all its endpoints when its first one comes up. */
		if (k && eps[k - 1].container == eps[k].container)
			continue;
		cs = find_by_name(statuses, eps[k].container);
		if (!cs)
			continue;
		b->m->nr_tasks++;
		cid = jstr(cs, "containerId");
		if (cid)
			snprintf(tid, sizeof(tid), "%s", cid);
		else
			snprintf(tid, sizeof(tid), "%s.%s", inst_id, eps[k].container);
		state = jstr(cs, "status");
		if (state && !strcmp(state, "TASK_RUNNING")) {
			ts.backend = true;
			decide_health(b, tid, eps[k].has_check, pod_reported_health(cs), &ts);
		} else if (state && !strcmp(state, "TASK_KILLING")) {
			ts.backend = true;
			ts.draining = true;
			ts.health = eps[k].has_check ? XLB_HEALTH_UNKNOWN : XLB_HEALTH_NONE;
		}
		if (!ts.backend)
			continue;
		eps_st = jget(cs, "endpoints");
		for (size_t e = k; e < n && eps[e].container == eps[k].container; e++) {
			const struct port_spec *ps = &eps[e].ps;

			if (!eps[e].pc.n)
				continue;
			memset(&ta, 0, sizeof(ta));
			ta.host = host;
			ep.kind = EP_NONE;
			if (ps->host_mode || ps->consumes_host_port) {
				est = find_by_name(eps_st, ps->name);
				if (jint(jget(est, "allocatedHostPort"), &v) && v >= 1 &&
				    v <= 65535) {
					ep.kind = EP_HOST;
					ep.port = (__u16)v;
				} else if (ps->host_port >= 1 && ps->host_port <= 65535) {
					ep.kind = EP_HOST;
					ep.port = (__u16)ps->host_port;
				} else {
					warn(b,
					     "%s port %zu task %s: no allocatedHostPort for "
					     "endpoint \"%s\": backend skipped",
					     what, e, xlb_mara_quote(tid, Q_MAX, qt, sizeof(qt)),
					     ps->name ? ps->name : "");
				}
			} else if (ps->container_port >= 1 && ps->container_port <= 65535) {
				ep.kind = EP_CONTAINER;
				ep.port = (__u16)ps->container_port;
				pod_instance_ips(inst, ps->network_names, &ta);
			} else {
				warn(b,
				     "%s port %zu: endpoint \"%s\" has no containerPort: backend "
				     "skipped",
				     what, e, ps->name ? ps->name : "");
			}
			if (ep.kind != EP_NONE)
				add_task_backends(b, what, (int)e, &eps[e].pc, &ep, &ta, &ts,
						  eps[e].weight, tid);
		}
	}
}

static void process_pod(struct build *b, const json_t *pod, size_t idx)
{
	const char *id = jstr(pod, "id");
	const json_t *spec = jget(pod, "spec"), *labels, *containers, *c, *e, *inst;
	struct pod_ep *eps = NULL;
	char what[QBUF + 16], q[QBUF];
	enum net_mode mode;
	size_t n = 0, ci, ei, k = 0;
	bool any = false;

	b->m->nr_pods++;
	if (!json_is_object(pod) || !id) {
		warn(b, "pods[%zu]: not a pod status object with an \"id\": skipped", idx);
		return;
	}
	snprintf(what, sizeof(what), "pod %s", xlb_mara_quote(id, Q_MAX, q, sizeof(q)));
	if (!json_is_object(spec)) {
		warn(b, "%s: no \"spec\" object: skipped", what);
		return;
	}
	labels = jget(spec, "labels");
	if (labels && !json_is_object(labels))
		labels = NULL;
	containers = jget(spec, "containers");
	if (containers && !json_is_array(containers)) {
		warn(b, "%s: spec.containers is not an array: skipped", what);
		return;
	}
	if (jget(pod, "instances") && !json_is_array(jget(pod, "instances"))) {
		warn(b, "%s: instances is not an array: skipped", what);
		return;
	}
	mode = pod_net_mode(spec);
	json_array_foreach(containers, ci, c) n += json_array_size(jget(c, "endpoints"));
	if (!n)
		return;
	eps = calloc(n, sizeof(*eps));
	if (!eps) {
		b->oom = -ENOMEM;
		return;
	}
	/* Endpoints numbered across containers in spec order: the pod's "port index". */
	json_array_foreach(containers, ci, c)
	{
		const char *cname = jstr(c, "name");
		bool has_check = json_is_object(jget(c, "healthCheck"));

		json_array_foreach(jget(c, "endpoints"), ei, e)
		{
			struct pod_ep *pe = &eps[k];
			const json_t *hp = jget(e, "hostPort"), *proto = jget(e, "protocol");

			pe->container = cname;
			pe->has_check = has_check;
			if (!json_is_object(e) || !cname) {
				warn(b,
				     "%s port %zu: endpoint or container name malformed: skipped",
				     what, k);
				k++;
				continue;
			}
			pe->ps.labels =
			    json_is_object(jget(e, "labels")) ? jget(e, "labels") : NULL;
			if (json_is_array(proto))
				pe->ps.proto_arr = proto;
			else
				pe->ps.proto = jstr(e, "protocol");
			pe->ps.name = jstr(e, "name");
			pe->ps.network_names = jget(e, "networkNames");
			jint(jget(e, "containerPort"), &pe->ps.container_port);
			if (hp)
				jint(hp, &pe->ps.host_port);
			pe->ps.host_mode = mode == NET_HOST;
			pe->ps.consumes_host_port = mode == NET_BRIDGE || hp != NULL;
			pe->pc = port_make_claims(b, what, id, true, (int)k, &pe->ps, labels);
			if (pe->pc.n) {
				pe->weight = port_weight(b, what, labels, (int)k);
				any = true;
			}
			k++;
		}
	}
	if (any) {
		json_array_foreach(jget(pod, "instances"), ci, inst)
		    pod_instance(b, what, inst, ci, eps, k);
	}
	free(eps);
}

static int check_pods_doc(const json_t *root, char *err, size_t errlen)
{
	if (json_is_array(root))
		return 0;
	if (json_is_object(root) && jstr(root, "id") &&
	    (jget(root, "spec") || jget(root, "instances")))
		return 0;
	set_err(err, errlen, "pods document: expected an array of pod status objects, got %s",
		json_is_object(root) ? "an object without \"id\" and \"spec\"" : "a scalar");
	return -EINVAL;
}

static void process_pods(struct build *b, const json_t *root)
{
	const json_t *v;
	size_t i;

	if (json_is_object(root)) {
		process_pod(b, root, 0);
		return;
	}
	json_array_foreach(root, i, v) process_pod(b, v, i);
}

/* ------------------------------------------------------------------------------------------ */
/* Pass 2: named VIP addresses                                                                 */

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int be32_cmp(const void *a, const void *b)
{
	__u32 x = ntohl(*(const __be32 *)a), y = ntohl(*(const __be32 *)b);

	return x < y ? -1 : x > y;
}

static int assign_named(struct build *b)
{
	const struct xlb_named_pool *pool = &b->o->pool;
	char **names = NULL;
	__be32 *reserved = NULL, *addrs = NULL;
	size_t nn = 0, nr = 0, i, j, in_pool = 0;
	__u32 cap = xlb_named_pool_capacity(pool), avail;
	char err[256], base[INET_ADDRSTRLEN];
	struct in_addr ina;
	int ret = 0;

	for (i = 0; i < b->nr_claims; i++)
		nn += b->claims[i].kind == XLB_SVC_NAMED_VIP;
	if (!nn)
		return 0;
	names = calloc(nn, sizeof(*names));
	reserved = calloc(b->nr_claims + 1, sizeof(*reserved));
	addrs = calloc(nn, sizeof(*addrs));
	if (!names || !reserved || !addrs) {
		ret = -ENOMEM;
		goto out;
	}
	nn = 0;
	for (i = 0; i < b->nr_claims; i++) {
		const struct claim *c = &b->claims[i];

		if (c->kind == XLB_SVC_NAMED_VIP)
			names[nn++] = c->dns;
		else if (c->family == XLB_AF_INET)
			reserved[nr++] = c->addr.v4;
	}
	/* The node address too: a named VIP must never shadow the node's service ports. */
	if (b->o->node_family == XLB_AF_INET)
		reserved[nr++] = b->o->node_addr.v4;
	qsort(names, nn, sizeof(*names), str_ptr_cmp);
	for (i = 0, j = 0; i < nn; i++) {
		if (!j || strcmp(names[j - 1], names[i]))
			names[j++] = names[i];
	}
	nn = j;
	qsort(reserved, nr, sizeof(*reserved), be32_cmp);
	for (i = 0; i < nr; i++) {
		__u32 a = ntohl(reserved[i]);

		if ((i && reserved[i] == reserved[i - 1]) || a <= pool->base ||
		    a - pool->base - 1 >= cap)
			continue;
		in_pool++;
	}
	avail = cap - (__u32)in_pool;
	if (nn > avail) {
		/* Serve the first names (strcmp order) rather than none: still the same on every
		 * node. */
		ina.s_addr = htonl(pool->base);
		inet_ntop(AF_INET, &ina, base, sizeof(base));
		for (i = avail; i < nn; i++)
			warn(b,
			     "named VIP %s: range %s/%u exhausted (%zu names, %u addresses, %zu "
			     "taken by IP VIPs): skipped",
			     names[i], base, pool->prefix_len, nn, cap, in_pool);
		nn = avail;
	}
	ret = xlb_named_pool_alloc(pool, (const char *const *)names, nn, reserved, nr, addrs, err,
				   sizeof(err));
	if (ret) {
		warn(b, "%s: named VIPs skipped", err);
		nn = 0;
		ret = ret == -ENOMEM ? ret : 0;
	}
	for (i = 0; i < b->nr_claims; i++) {
		struct claim *c = &b->claims[i];
		char **hit;

		if (c->kind != XLB_SVC_NAMED_VIP)
			continue;
		hit = nn ? bsearch(&c->dns, names, nn, sizeof(*names), str_ptr_cmp) : NULL;
		if (!hit) {
			c->dropped = true;
			continue;
		}
		memset(&c->addr, 0, sizeof(c->addr));
		c->addr.v4 = addrs[hit - names];
	}
out:
	free(names);
	free(reserved);
	free(addrs);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Pass 3: services                                                                            */

int xlb_mara_backend_cmp(const struct xlb_mara_backend *a, const struct xlb_mara_backend *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr.bytes, b->addr.bytes, a->family == XLB_AF_INET6 ? 16 : 4);
	if (r)
		return r < 0 ? -1 : 1;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return 0;
}

static int origin_cmp(const struct xlb_mara_origin *a, const struct xlb_mara_origin *b)
{
	int r = strcmp(a->run_id, b->run_id);

	if (r)
		return r;
	if (a->pod != b->pod)
		return a->pod ? 1 : -1;
	if (a->port_index != b->port_index)
		return a->port_index < b->port_index ? -1 : 1;
	if (!a->label_key || !b->label_key)
		return !!a->label_key - !!b->label_key;
	return strcmp(a->label_key, b->label_key);
}

/* Duplicates sort best first: active before draining, heavier first, then task id. */
static int backend_full_cmp(const void *pa, const void *pb)
{
	const struct xlb_mara_backend *a = pa, *b = pb;
	int r = xlb_mara_backend_cmp(a, b);

	if (r)
		return r;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	return strcmp(a->task_id ? a->task_id : "", b->task_id ? b->task_id : "");
}

struct entry {
	struct xlb_vip_key key;
	struct claim *c;
};

static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int r = xlb_vip_key_cmp(&a->key, &b->key);

	if (r)
		return r;
	if (a->c->kind != b->c->kind)
		return a->c->kind < b->c->kind ? -1 : 1;
	return origin_cmp(&a->c->origin, &b->c->origin);
}

static const char *kind_str(enum xlb_svc_kind k)
{
	return k == XLB_SVC_IP_VIP	? "IP VIP"
	       : k == XLB_SVC_NAMED_VIP ? "named VIP"
					: "service port";
}

static void origin_str(const struct xlb_mara_origin *o, char *buf, size_t len)
{
	char q[QBUF];

	snprintf(buf, len, "%s %s port %d%s%s", o->pod ? "pod" : "app",
		 xlb_mara_quote(o->run_id, Q_MAX, q, sizeof(q)), o->port_index,
		 o->label_key ? " label " : "", o->label_key ? o->label_key : "");
}

static int build_service(struct build *b, struct xlb_mara_service *s, struct entry *g, size_t n)
{
	size_t i, nb = 0, j;
	struct claim *first = g[0].c;

	s->key = g[0].key;
	s->kind = first->kind;
	s->default_weight = b->o->default_weight;
	if (first->kind == XLB_SVC_NAMED_VIP) {
		s->name = xstrdup(b, first->name);
		s->dns_name = xstrdup(b, first->dns);
	}
	for (i = 0; i < n; i++) {
		if (g[i].c->kind == first->kind) {
			s->nr_origins++;
			nb += g[i].c->nr_bes;
		}
	}
	s->origins = calloc(s->nr_origins, sizeof(*s->origins));
	s->backends = calloc(nb ? nb : 1, sizeof(*s->backends));
	if (!s->origins || !s->backends)
		return -ENOMEM;
	s->nr_origins = 0;
	for (i = 0; i < n; i++) {
		const struct claim *c = g[i].c;
		struct xlb_mara_origin *o;

		if (c->kind != first->kind) {
			char mine[QBUF + 64], theirs[QBUF + 64], ks[INET6_ADDRSTRLEN + 16];

			origin_str(&c->origin, mine, sizeof(mine));
			origin_str(&first->origin, theirs, sizeof(theirs));
			warn(b, "%s: %s %s is already the %s of %s: ignored", mine,
			     kind_str(c->kind), key_str(&s->key, ks, sizeof(ks)),
			     kind_str(first->kind), theirs);
			continue;
		}
		o = &s->origins[s->nr_origins++];
		o->run_id = xstrdup(b, c->origin.run_id);
		o->pod = c->origin.pod;
		o->port_index = c->origin.port_index;
		o->label_key = xstrdup(b, c->origin.label_key);
		for (j = 0; j < c->nr_bes; j++) {
			s->backends[s->nr_backends] = c->bes[j];
			s->backends[s->nr_backends].task_id = xstrdup(b, c->bes[j].task_id);
			s->nr_backends++;
		}
	}
	qsort(s->backends, s->nr_backends, sizeof(*s->backends), backend_full_cmp);
	for (i = 0, j = 0; i < s->nr_backends; i++) {
		if (j && !xlb_mara_backend_cmp(&s->backends[j - 1], &s->backends[i])) {
			free(s->backends[i].task_id);
			continue;
		}
		s->backends[j++] = s->backends[i];
	}
	s->nr_backends = j;
	return b->oom;
}

static int build_services(struct build *b)
{
	struct entry *ents = NULL;
	size_t ne = 0, i, start, nsvc = 0;
	int ret = 0;

	ents = calloc(b->nr_claims * 2 + 1, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < b->nr_claims; i++) {
		struct claim *c = &b->claims[i];
		static const struct {
			unsigned int bit;
			__u8 proto;
		} protos[] = {{XLB_PROTO_BIT_TCP, XLB_PROTO_TCP},
			      {XLB_PROTO_BIT_UDP, XLB_PROTO_UDP}};
		size_t p;

		if (c->dropped)
			continue;
		for (p = 0; p < 2; p++) {
			struct entry *e;

			if (!(c->protos & protos[p].bit))
				continue;
			e = &ents[ne++];
			e->c = c;
			e->key.addr = c->addr;
			e->key.port = htons(c->port);
			e->key.proto = protos[p].proto;
			e->key.family = c->family;
		}
	}
	qsort(ents, ne, sizeof(*ents), entry_cmp);
	for (i = 0; i < ne; i++)
		nsvc += !i || xlb_vip_key_cmp(&ents[i - 1].key, &ents[i].key);
	if (!nsvc)
		goto out;
	b->m->services = calloc(nsvc, sizeof(*b->m->services));
	if (!b->m->services) {
		ret = -ENOMEM;
		goto out;
	}
	for (start = 0; start < ne; start = i) {
		for (i = start + 1; i < ne && !xlb_vip_key_cmp(&ents[start].key, &ents[i].key); i++)
			;
		ret =
		    build_service(b, &b->m->services[b->m->nr_services++], &ents[start], i - start);
		if (ret)
			goto out;
	}
out:
	free(ents);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Public entry points                                                                         */

void xlb_mara_opts_init(struct xlb_mara_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->framework = XLB_FRAMEWORK_DEFAULT;
	xlb_named_pool_parse(XLB_NAMED_POOL_DEFAULT, &opts->pool, NULL, 0);
	opts->haproxy_group = "external";
	opts->default_weight = 1;
}

void xlb_mara_model_free(struct xlb_mara_model *model)
{
	size_t i, j;

	if (!model)
		return;
	for (i = 0; i < model->nr_services; i++) {
		struct xlb_mara_service *s = &model->services[i];

		free(s->name);
		free(s->dns_name);
		for (j = 0; j < s->nr_origins; j++) {
			free(s->origins[j].run_id);
			free(s->origins[j].label_key);
		}
		free(s->origins);
		for (j = 0; j < s->nr_backends; j++)
			free(s->backends[j].task_id);
		free(s->backends);
	}
	free(model->services);
	memset(model, 0, sizeof(*model));
}

struct xlb_mara_builder {
	struct build b;
	struct xlb_mara_model model;
	struct xlb_mara_opts defaults;
	bool streamed; /* apps came one by one: the document's own "apps" list is not read */
};

int xlb_mara_builder_new(struct xlb_mara_builder **out, const struct xlb_mara_opts *opts, char *err,
			 size_t errlen)
{
	struct xlb_mara_builder *bl;

	*out = NULL;
	bl = calloc(1, sizeof(*bl));
	if (!bl) {
		set_err(err, errlen, "building the Marathon model: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (!opts) {
		xlb_mara_opts_init(&bl->defaults);
		opts = &bl->defaults;
	}
	if (!xlb_named_pool_capacity(&opts->pool)) {
		set_err(err, errlen, "named VIP range: prefix length %u not in 1-30",
			opts->pool.prefix_len);
		free(bl);
		return -EINVAL;
	}
	if (opts->node_family && opts->node_family != XLB_AF_INET &&
	    opts->node_family != XLB_AF_INET6) {
		set_err(err, errlen, "node address family %u is neither IPv4 nor IPv6",
			opts->node_family);
		free(bl);
		return -EINVAL;
	}
	bl->b.o = opts;
	bl->b.m = &bl->model;
	*out = bl;
	return 0;
}

void xlb_mara_builder_app(struct xlb_mara_builder *bl, const struct json_t *app, size_t index)
{
	bl->streamed = true;
	if (!bl->b.oom)
		process_app(&bl->b, app, index);
}

void xlb_mara_builder_free(struct xlb_mara_builder *bl)
{
	size_t i;

	if (!bl)
		return;
	for (i = 0; i < bl->b.nr_claims; i++)
		claim_free(&bl->b.claims[i]);
	free(bl->b.claims);
	hosts_free(&bl->b);
	xlb_mara_model_free(&bl->model);
	free(bl);
}

int xlb_mara_builder_finish(struct xlb_mara_builder *bl, struct xlb_mara_model *model,
			    const struct json_t *apps, const struct json_t *pods, char *err,
			    size_t errlen)
{
	struct build *b = &bl->b;
	int ret;

	memset(model, 0, sizeof(*model));
	if (apps && (ret = check_apps_doc(apps, err, errlen)))
		return ret;
	if (pods && (ret = check_pods_doc(pods, err, errlen)))
		return ret;
	if (apps)
		process_apps_obj(b, apps, bl->streamed ? -1 : 0);
	if (pods)
		process_pods(b, pods);
	ret = b->oom;
	if (!ret)
		ret = assign_named(b);
	if (!ret)
		ret = build_services(b);
	if (!ret)
		ret = b->oom;
	if (ret) {
		model->nr_warnings = bl->model.nr_warnings;
		set_err(err, errlen, "building the Marathon model: %s", strerror(-ret));
		return ret;
	}
	*model = bl->model;
	memset(&bl->model, 0, sizeof(bl->model));
	return 0;
}

int xlb_mara_model_build_json(struct xlb_mara_model *model, const struct json_t *apps,
			      const struct json_t *pods, const struct xlb_mara_opts *opts,
			      char *err, size_t errlen)
{
	struct xlb_mara_builder *bl;
	int ret;

	if (!model)
		return -EINVAL;
	memset(model, 0, sizeof(*model));
	ret = xlb_mara_builder_new(&bl, opts, err, errlen);
	if (ret)
		return ret;
	ret = xlb_mara_builder_finish(bl, model, apps, pods, err, errlen);
	xlb_mara_builder_free(bl);
	return ret;
}

static json_t *load_doc(const char *what, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	/* Scalars parse too, so the shape check can say what was wrong. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		set_err(err, errlen, "%s document: invalid JSON at line %d column %d: %s", what,
			jerr.line, jerr.column, jerr.text);
	return root;
}

int xlb_mara_model_build(struct xlb_mara_model *model, const char *apps_json, size_t apps_len,
			 const char *pods_json, size_t pods_len, const struct xlb_mara_opts *opts,
			 char *err, size_t errlen)
{
	json_t *apps = NULL, *pods = NULL;
	int ret = -EINVAL;

	if (!model)
		return -EINVAL;
	memset(model, 0, sizeof(*model));
	if (apps_json && !(apps = load_doc("apps", apps_json, apps_len, err, errlen)))
		goto out;
	if (pods_json && !(pods = load_doc("pods", pods_json, pods_len, err, errlen)))
		goto out;
	ret = xlb_mara_model_build_json(model, apps, pods, opts, err, errlen);
out:
	json_decref(apps);
	json_decref(pods);
	return ret;
}

const struct xlb_mara_service *xlb_mara_model_find(const struct xlb_mara_model *model,
						   const struct xlb_vip_key *key)
{
	size_t lo = 0, hi = model ? model->nr_services : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = xlb_vip_key_cmp(&model->services[mid].key, key);

		if (!r)
			return &model->services[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool xlb_mara_service_equal(const struct xlb_mara_service *a, const struct xlb_mara_service *b)
{
	size_t i;

	if (xlb_vip_key_cmp(&a->key, &b->key) || a->kind != b->kind ||
	    !str_eq(a->dns_name, b->dns_name) || a->nr_backends != b->nr_backends)
		return false;
	for (i = 0; i < a->nr_backends; i++) {
		const struct xlb_mara_backend *x = &a->backends[i], *y = &b->backends[i];

		if (xlb_mara_backend_cmp(x, y) || x->state != y->state || x->weight != y->weight)
			return false;
	}
	return true;
}

bool xlb_mara_model_equal(const struct xlb_mara_model *a, const struct xlb_mara_model *b)
{
	size_t i;

	if (a->nr_services != b->nr_services)
		return false;
	for (i = 0; i < a->nr_services; i++) {
		if (!xlb_mara_service_equal(&a->services[i], &b->services[i]))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Event stream classification                                                                 */

int xlb_mara_event_type(const char *data, size_t len, char *type, size_t typelen)
{
	json_error_t jerr;
	const char *t;
	json_t *root;

	if (!data || !type || !typelen)
		return -EINVAL;
	type[0] = '\0';
	/* Old Marathons put several JSON values in one event; the first one tells the type. */
	root = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!root)
		return -EINVAL;
	t = jstr(root, "eventType");
	if (!t) {
		json_decref(root);
		return -EINVAL;
	}
	snprintf(type, typelen, "%s", t);
	json_decref(root);
	return 0;
}

bool xlb_mara_event_relevant(const char *event_type)
{
	/* MARATHON.md §4.3 "Relevant filter": anything that can change VIPs, tasks or health. */
	static const char *const relevant[] = {
	    "status_update_event",
	    "instance_changed_event",
	    "instance_health_changed_event",
	    "health_status_changed_event",
	    "unhealthy_instance_kill_event",
	    "unhealthy_task_kill_event",
	    "api_post_event",
	    "app_terminated_event",
	    "pod_created_event",
	    "pod_updated_event",
	    "pod_deleted_event",
	    "deployment_success",
	    "deployment_step_success",
	};
	size_t i;

	if (!event_type)
		return false;
	for (i = 0; i < sizeof(relevant) / sizeof(relevant[0]); i++) {
		if (!strcmp(event_type, relevant[i]))
			return true;
	}
	return false;
}
