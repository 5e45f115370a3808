// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The claims one port of an app or pod makes, from labels: VIP labels (IP and
 * named, docs/marathon.md §7.1, §7.2) and DC/OS 1.6/1.7's legacy vip_PORT<n>,
 * marathon-lb's HAPROXY_GROUP / HAPROXY_{n}_GROUP membership that serves the
 * port on the node address at its service port (HAPROXY_{n}_PORT), the
 * protocols a port declares, and the backend weight its labels give
 * (XLB_WEIGHT, HAPROXY_{n}_BACKEND_WEIGHT) and forwarding mode (XLB_MODE,
 * XLB_{n}_MODE). Tasks are not read here: the
 * claims are made once per port and the tasks then fill them (mara_tasks.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "mara_build.h"
#include "names.h"

void mara_claim_free(struct claim *c)
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

/*
 * Weight for port n: XLB_WEIGHT (xlb's own label, wins when valid), else
 * marathon-lb's HAPROXY_{n}_BACKEND_WEIGHT, else the default. Bad values warn
 * once per port and fall through.
 */
__u16 mara_port_weight(struct build *b, const char *what, const json_t *labels, int n)
{
	char key[48], q[QBUF];
	const char *v;
	__u16 w;

	v = jstr(labels, "XLB_WEIGHT");
	if (v) {
		if (mara_parse_u16(v, 0, &w))
			return w;
		mara_warn(b, "%s: label XLB_WEIGHT=\"%s\": not an integer 0-65535, ignored", what,
			  xlb_mara_quote(v, Q_MAX, q, sizeof(q)));
	}
	snprintf(key, sizeof(key), "HAPROXY_%d_BACKEND_WEIGHT", n);
	v = jstr(labels, key);
	if (v) {
		if (mara_parse_u16(v, 0, &w))
			return w;
		mara_warn(b, "%s: label %s=\"%s\": not an integer 0-65535, ignored", what, key,
			  xlb_mara_quote(v, Q_MAX, q, sizeof(q)));
	}
	return b->o->default_weight;
}

static struct claim *claim_new(struct build *b, enum xlb_svc_kind kind, const char *run_id,
			       bool pod, int port_index, const char *label_key)
{
	struct claim *c;

	if (!mara_grow(b, (void **)&b->claims, &b->cap_claims, b->nr_claims + 1, sizeof(*c)))
		return NULL;
	c = &b->claims[b->nr_claims++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->mode = XLB_MARA_MODE_DEFAULT;
	c->origin.run_id = mara_strdup(b, run_id);
	c->origin.pod = pod;
	c->origin.port_index = port_index;
	c->origin.label_key = mara_strdup(b, label_key);
	return c;
}

static bool group_matches(const char *groups, const char *want)
{
	const char *p = groups, *item;
	size_t n;

	if (!want || !*want)
		return false;
	if (!strcmp(want, "*"))
		return true;
	while (xlb_label_list_next(&p, &item, &n))
		if (n == strlen(want) && !strncmp(item, want, n))
			return true;
	return false;
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
				mara_warn(b, "%s port %d: %s: port skipped", what, i,
					  json_is_string(v) ? err
							    : "protocol entry is not a string");
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
		mara_warn(b, "%s port %d: %s: port skipped", what, i, err);
		return false;
	}
	return true;
}

/* Legacy app label vip_PORT<n> = "tcp://1.2.3.4:5000" (DC/OS 1.6/1.7, docs/marathon.md §7.1). */
bool mara_legacy_vip_key(const char *key, int *n)
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
		mara_warn(b, "%s port %d: %s: label skipped", what, i, err);
		return;
	}
	if (vip.kind == XLB_VIP_NAMED) {
		ret = xlb_vip_dns_name(vip.name, b->o->framework, dns, sizeof(dns));
		if (ret) {
			char q[QBUF];

			mara_warn(b,
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
		c->name = mara_strdup(b, vip.name);
		c->dns = mara_strdup(b, dns);
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
		mara_warn(
		    b,
		    "%s port %d: label %s=\"%s\": expected tcp://<address>:<port>: label skipped",
		    what, i, key, xlb_mara_quote(v, Q_MAX, q, sizeof(q)));
		return;
	}
	memcpy(proto, v, pl);
	proto[pl] = '\0';
	if (xlb_proto_list_parse(proto, &protos, err, sizeof(err))) {
		mara_warn(b, "%s port %d: label %s: %s: label skipped", what, i, key, err);
		return;
	}
	make_vip_claim(b, what, run_id, false, i, key, sep + 3, protos);
}

/*
 * marathon-lb's side of port i: an app in the served HAPROXY_GROUP is also
 * reached on the node address at its service port, or HAPROXY_{i}_PORT.
 */
static void service_port_claim(struct build *b, const char *what, const char *run_id, bool pod,
			       int i, const struct port_spec *ps, const json_t *run_labels,
			       unsigned int protos)
{
	char key[48];
	long long sp = ps->service_port;
	const char *ov;
	__u16 p16;
	struct claim *c;

	snprintf(key, sizeof(key), "HAPROXY_%d_PORT", i);
	ov = jstr(run_labels, key);
	if (ov) {
		char q[QBUF];

		if (mara_parse_u16(ov, 1, &p16))
			sp = p16;
		else
			mara_warn(b, "%s port %d: label %s=\"%s\": not a port 1-65535, ignored",
				  what, i, key, xlb_mara_quote(ov, Q_MAX, q, sizeof(q)));
	}
	if (sp < 1 || sp > 65535) {
		mara_warn(b, "%s port %d: in group \"%s\" but no service port: skipped", what, i,
			  b->o->haproxy_group);
	} else if ((c = claim_new(b, XLB_SVC_SERVICE_PORT, run_id, pod, i, NULL))) {
		c->addr = b->o->node_addr;
		c->family = b->o->node_family;
		c->port = (__u16)sp;
		c->protos = protos;
	}
}

/*
 * One mode label: 0 with *mode set, 1 when absent, -1 when bad (reported,
 * once per labels object for the app-wide XLB_MODE, which every port reads).
 */
static int mode_label(struct build *b, const char *what, int i, const json_t *labels,
		      const char *key, bool app_wide, int *mode)
{
	const char *v = jstr(labels, key), *why;
	char q[QBUF], where[QBUF + 32];
	__u8 m;

	if (!jget(labels, key))
		return 1;
	if (v) { /* labels are written by hand: any case */
		char low[16];
		size_t k;

		for (k = 0; v[k] && k < sizeof(low) - 1; k++)
			low[k] = (char)tolower((unsigned char)v[k]);
		low[k] = '\0';
		if (!v[k] && !xlb_mode_parse(low, &m)) {
			*mode = m;
			return 0;
		}
	}
	if (app_wide && b->mode_warned == labels)
		return -1;
	if (app_wide) {
		b->mode_warned = labels;
		snprintf(where, sizeof(where), "%s", what);
	} else {
		snprintf(where, sizeof(where), "%s port %d", what, i);
	}
	why = !v ? "value is not a string" : "not a mode (nat, fullnat, dsr)";
	mara_warn(b, "%s: label %s=\"%s\": %s: the default mode is used", where, key,
		  xlb_mara_quote(v ? v : "", Q_MAX, q, sizeof(q)), why);
	return -1;
}

/*
 * Port i's mode from labels, the most specific first: the port's XLB_MODE,
 * the app's XLB_{i}_MODE, the app's XLB_MODE. A bad one falls back to the
 * default, not to the next label: what the operator wrote did not work, and
 * the warning says which default applies.
 */
static int port_mode(struct build *b, const char *what, int i, const struct port_spec *ps,
		     const json_t *run_labels)
{
	char key[48];
	int mode = XLB_MARA_MODE_DEFAULT, r;

	r = mode_label(b, what, i, ps->labels, "XLB_MODE", false, &mode);
	if (r > 0) {
		snprintf(key, sizeof(key), "XLB_%d_MODE", i);
		r = mode_label(b, what, i, run_labels, key, false, &mode);
	}
	if (r > 0)
		mode_label(b, what, i, run_labels, "XLB_MODE", true, &mode);
	return mode;
}

/*
 * The claims of port i. run_labels are the app/pod labels (group, weights,
 * service port overrides). pod: pods have no service ports.
 */
struct port_claims mara_port_claims(struct build *b, const char *what, const char *run_id, bool pod,
				    int i, const struct port_spec *ps, const json_t *run_labels)
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
	keys = mara_sorted_keys(b, ps->labels, &n);
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
			mara_warn(b, "%s port %d: label %s: value is not a string: label skipped",
				  what, i, xlb_mara_quote(keys[k], Q_MAX, q, sizeof(q)));
			continue;
		}
		make_vip_claim(b, what, run_id, pod, i, keys[k], json_string_value(v), protos);
	}
	free(keys);

	if (lb)
		service_port_claim(b, what, run_id, pod, i, ps, run_labels, protos);
	pc.n = b->nr_claims - pc.first;
	if (pc.n) {
		int mode = port_mode(b, what, i, ps, run_labels);

		for (k = pc.first; k < b->nr_claims; k++) {
			struct claim *c = &b->claims[k];

			c->mode = mode;
			if (mode == XLB_MARA_MODE_DEFAULT && c->kind == XLB_SVC_SERVICE_PORT)
				c->mode = XLB_MODE_FULLNAT;
		}
	}
	return pc;
}
