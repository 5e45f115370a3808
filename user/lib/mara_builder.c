// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon snapshot -> desired state, the frame of the build. Three passes: (1)
 * every app (mara_apps.c) and pod (mara_pods.c) is read into claims, "this
 * VIP/service port is served by these backends" (mara_claims.c, mara_tasks.c);
 * (2) named VIPs get addresses from the pool, by the set of names only; (3)
 * claims expand per protocol into services, equal keys merge, conflicting
 * kinds are resolved by a fixed priority, and everything is sorted. This file
 * holds passes 2 and 3 and the public entry points (the helpers every pass
 * shares are in mara_util.c): the builder, the one-call builds, and find, equal and free on
 * a finished model. A problem with one label, port, task or app becomes one
 * warning naming it and drops only that piece; only an unreadable document
 * fails the whole build.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "mara_build.h"
#include "names.h"

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
			mara_warn(
			    b,
			    "named VIP %s: range %s/%u exhausted (%zu names, %u addresses, %zu "
			    "taken by IP VIPs): skipped",
			    names[i], base, pool->prefix_len, nn, cap, in_pool);
		nn = avail;
	}
	ret = xlb_named_pool_alloc(pool, (const char *const *)names, nn, reserved, nr, addrs, err,
				   sizeof(err));
	if (ret) {
		mara_warn(b, "%s: named VIPs skipped", err);
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
	return xlb_endpoint_cmp(&a->addr, a->port, a->family, &b->addr, b->port, b->family);
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

static const char *mode_str(int mode)
{
	return mode == XLB_MARA_MODE_DEFAULT ? "default" : xlb_mode_name((unsigned int)mode);
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
	s->mode = first->mode;
	s->default_weight = b->o->default_weight;
	if (first->kind == XLB_SVC_NAMED_VIP) {
		s->name = mara_strdup(b, first->name);
		s->dns_name = mara_strdup(b, first->dns);
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
			mara_warn(b, "%s: %s %s is already the %s of %s: ignored", mine,
				  kind_str(c->kind), xlb_vip_key_str(&s->key, ks, sizeof(ks)),
				  kind_str(first->kind), theirs);
			continue;
		}
		if (c->mode != first->mode) {
			char mine[QBUF + 64], theirs[QBUF + 64], ks[INET6_ADDRSTRLEN + 16];

			origin_str(&c->origin, mine, sizeof(mine));
			origin_str(&first->origin, theirs, sizeof(theirs));
			mara_warn(b, "%s: %s %s asks for mode %s, %s for %s: the first one's is used",
				  mine, kind_str(c->kind), xlb_vip_key_str(&s->key, ks, sizeof(ks)),
				  mode_str(c->mode), theirs, mode_str(first->mode));
		}
		o = &s->origins[s->nr_origins++];
		o->run_id = mara_strdup(b, c->origin.run_id);
		o->pod = c->origin.pod;
		o->port_index = c->origin.port_index;
		o->label_key = mara_strdup(b, c->origin.label_key);
		for (j = 0; j < c->nr_bes; j++) {
			s->backends[s->nr_backends] = c->bes[j];
			s->backends[s->nr_backends].task_id = mara_strdup(b, c->bes[j].task_id);
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
		mara_set_err(err, errlen, "building the Marathon model: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (!opts) {
		xlb_mara_opts_init(&bl->defaults);
		opts = &bl->defaults;
	}
	if (!xlb_named_pool_capacity(&opts->pool)) {
		mara_set_err(err, errlen, "named VIP range: prefix length %u not in 1-30",
			     opts->pool.prefix_len);
		free(bl);
		return -EINVAL;
	}
	if (opts->node_family && opts->node_family != XLB_AF_INET &&
	    opts->node_family != XLB_AF_INET6) {
		mara_set_err(err, errlen, "node address family %u is neither IPv4 nor IPv6",
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
		mara_app_read(&bl->b, app, index);
}

void xlb_mara_builder_free(struct xlb_mara_builder *bl)
{
	size_t i;

	if (!bl)
		return;
	for (i = 0; i < bl->b.nr_claims; i++)
		mara_claim_free(&bl->b.claims[i]);
	free(bl->b.claims);
	mara_hosts_free(&bl->b);
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
	if (apps && (ret = mara_apps_doc_check(apps, err, errlen)))
		return ret;
	if (pods && (ret = mara_pods_doc_check(pods, err, errlen)))
		return ret;
	if (apps)
		mara_apps_read(b, apps, bl->streamed ? -1 : 0);
	if (pods)
		mara_pods_read(b, pods);
	ret = b->oom;
	if (!ret)
		ret = assign_named(b);
	if (!ret)
		ret = build_services(b);
	if (!ret)
		ret = b->oom;
	if (ret) {
		model->nr_warnings = bl->model.nr_warnings;
		mara_set_err(err, errlen, "building the Marathon model: %s", strerror(-ret));
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
		mara_set_err(err, errlen, "%s document: invalid JSON at line %d column %d: %s",
			     what, jerr.line, jerr.column, jerr.text);
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

	if (xlb_vip_key_cmp(&a->key, &b->key) || a->kind != b->kind || a->mode != b->mode ||
	    !str_eq(a->dns_name, b->dns_name) || a->nr_backends != b->nr_backends)
		return false;
	for (i = 0; i < a->nr_backends; i++) {
		const struct xlb_mara_backend *x = &a->backends[i], *y = &b->backends[i];

		if (xlb_mara_backend_cmp(x, y) || x->state != y->state || x->weight != y->weight ||
		    x->agent_family != y->agent_family ||
		    memcmp(&x->agent, &y->agent, sizeof(x->agent)))
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
