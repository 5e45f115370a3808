// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon apps in the model: the network mode (host, container/bridge,
 * container, in marathon-lb's reading of old and new app definitions), the
 * port list each mode reads and how a task maps each port to an endpoint
 * (docs/marathon.md §3.4), an app task's state and reported health, and the
 * walk over an apps document (a list, one app, groups). Each app becomes the
 * claims of its ports, filled with its tasks' backends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mara_build.h"

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
		mara_decide_health(b, task_id, has_checks, app_task_reported_health(task), &ts);
	} else if (!strcmp(state, "TASK_KILLING")) {
		ts.backend = true;
		ts.draining = true;
		ts.health = has_checks ? XLB_HEALTH_UNKNOWN : XLB_HEALTH_NONE;
	}
	return ts;
}

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

/* Where an app's port list comes from. */
enum port_src {
	SRC_DEFS,	  /* portDefinitions (host networking) */
	SRC_LEGACY_PORTS, /* ports: bare service ports (Marathon < 0.16) */
	SRC_MAPPINGS,	  /* portMappings (bridge, container) */
	SRC_DISCOVERY,	  /* ipAddress.discovery.ports (old container networking) */
};

/* Entry i (v) of a port list from src into *p. False after a warning: the app is skipped. */
static bool port_spec_read(struct build *b, const char *what, size_t i, const json_t *v,
			   enum port_src src, enum net_mode mode, struct port_spec *p)
{
	const json_t *hp;

	if (src == SRC_LEGACY_PORTS) {
		if (!jint(v, &p->service_port)) {
			mara_warn(b, "%s: ports[%zu] is not an integer: app skipped", what, i);
			return false;
		}
		p->host_mode = true;
		return true;
	}
	if (!json_is_object(v)) {
		mara_warn(b, "%s: port %zu is not an object: app skipped", what, i);
		return false;
	}
	p->labels = jget(v, "labels");
	if (p->labels && !json_is_object(p->labels)) {
		mara_warn(b, "%s port %zu: labels are not an object: ignored", what, i);
		p->labels = NULL;
	}
	if (jget(v, "protocol") && !jstr(v, "protocol")) {
		mara_warn(b, "%s port %zu: protocol is not a string: app skipped", what, i);
		return false;
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
	return true;
}

/*
 * The port list of an app and how each maps (docs/marathon.md §3.4). Returns the
 * number of ports, -1 after a warning (wrong types: the app is skipped).
 */
static long app_ports(struct build *b, const char *what, const json_t *app, enum net_mode mode,
		      struct port_spec **out)
{
	const json_t *container = jget(app, "container");
	const json_t *list = NULL, *v;
	struct port_spec *ps;
	enum port_src src;
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
		mara_warn(b, "%s: port list (%s mode) is not an array: app skipped", what,
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
		if (!port_spec_read(b, what, i, v, src, mode, &ps[i])) {
			free(ps);
			return -1;
		}
	}
	*out = ps;
	return (long)n;
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
			mara_warn(
			    b, "%s port %d task %s: host port %lld out of range: backend skipped",
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
			mara_warn(b,
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
	mara_warn(b, "%s port %d task %s: container port %lld unusable: backend skipped", what, i,
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

/*
 * Task t of an app with n ports (ps), the claims each port made (pcs) and its
 * weight: one backend per claimed port, where the task serves it.
 */
static void app_task(struct build *b, const char *what, const json_t *task, size_t t,
		     bool has_checks, const struct port_spec *ps, const struct port_claims *pcs,
		     const __u16 *weights, long n)
{
	const char *tid = jstr(task, "id");
	const json_t *ports = jget(task, "ports");
	struct task_state ts;
	struct task_addrs ta;
	size_t hk = 0;
	long i;

	b->m->nr_tasks++;
	if (!tid) {
		mara_warn(b, "%s: tasks[%zu] has no \"id\": skipped", what, t);
		return;
	}
	ts = app_task_state(b, task, tid, has_checks);
	if (!ts.backend)
		return;
	task_addrs_from_app_task(task, &ta);
	for (i = 0; i < n; i++) {
		struct endpoint ep;

		if (!pcs[i].n) {
			/* Keep walking ports[] in step with the mappings. */
			if (!ps[i].host_mode && ps[i].consumes_host_port && json_is_array(ports) &&
			    hk < json_array_size(ports))
				hk++;
			continue;
		}
		ep = task_endpoint(b, what, tid, (int)i, &ps[i], ports, &hk);
		if (ep.kind == EP_NONE)
			continue;
		mara_task_backends(b, what, (int)i, &pcs[i], &ep, &ta, &ts, weights[i], tid);
	}
}

void mara_app_read(struct build *b, const json_t *app, size_t idx)
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
		mara_warn(b, "apps[%zu]: not an object: skipped", idx);
		return;
	}
	if (!id || !*id) {
		mara_warn(b, "apps[%zu]: no \"id\" string: skipped", idx);
		return;
	}
	snprintf(what, sizeof(what), "app %s", xlb_mara_quote(id, Q_MAX, q, sizeof(q)));
	labels = jget(app, "labels");
	if (labels && !json_is_object(labels)) {
		mara_warn(b, "%s: labels are not an object: ignored", what);
		labels = NULL;
	}
	tasks = jget(app, "tasks");
	if (tasks && !json_is_array(tasks)) {
		mara_warn(b, "%s: tasks is not an array: app skipped", what);
		return;
	}
	hcs = jget(app, "healthChecks");
	has_checks = json_is_array(hcs) && json_array_size(hcs) > 0;

	if (jget(app, "networks") && !json_is_array(jget(app, "networks")))
		mara_warn(b, "%s: networks is not an array: host mode assumed", what);
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
		pcs[i] = mara_port_claims(b, what, id, false, (int)i, &ps[i], labels);
		if (pcs[i].n) {
			weights[i] = mara_port_weight(b, what, labels, (int)i);
			any = true;
		}
	}
	keys = mara_sorted_keys(b, labels, &nk);
	for (k = 0; k < nk; k++) {
		int pi;

		if (mara_legacy_vip_key(keys[k], &pi) && pi >= n)
			mara_warn(b, "%s: label %s: the app has no port %d: label skipped", what,
				  keys[k], pi);
	}
	free(keys);
	if (!any)
		goto out;

	json_array_foreach(tasks, t, task)
	    app_task(b, what, task, t, has_checks, ps, pcs, weights, n);
out:
	free(weights);
	free(pcs);
	free(ps);
}

/*
 * Walks an apps document: {"apps": [...]}, {"app": {...}}, groups, or a bare app.
 * Depth -1: the root, whose "apps" list was already read element by element.
 */
void mara_apps_read(struct build *b, const json_t *root, int depth)
{
	const json_t *apps = jget(root, "apps"), *app = jget(root, "app");
	const json_t *groups = jget(root, "groups"), *star = jget(root, "*"), *v;
	size_t i;

	if (depth > 32)
		return;
	if (depth >= 0)
		json_array_foreach(apps, i, v) mara_app_read(b, v, i);
	else
		depth = 0;
	json_array_foreach(star, i, v) mara_app_read(b, v, i);
	if (json_is_object(app))
		mara_app_read(b, app, 0);
	json_array_foreach(groups, i, v)
	{
		if (!json_is_object(v) || (jget(v, "apps") && !json_is_array(jget(v, "apps")))) {
			mara_warn(b, "groups[%zu]: not a group object: skipped", i);
			continue;
		}
		mara_apps_read(b, v, depth + 1);
	}
	if (!apps && !app && !groups && !star)
		mara_app_read(b, root, 0);
}

int mara_apps_doc_check(const json_t *root, char *err, size_t errlen)
{
	static const char *const keys[] = {"apps", "*", "groups"};
	size_t i;

	if (!json_is_object(root)) {
		mara_set_err(err, errlen,
			     "apps document: expected a JSON object with \"apps\", got %s",
			     json_is_array(root) ? "an array" : "a scalar");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (jget(root, keys[i]) && !json_is_array(jget(root, keys[i]))) {
			mara_set_err(err, errlen, "apps document: \"%s\" is not an array", keys[i]);
			return -EINVAL;
		}
	}
	if (jget(root, "app") && !json_is_object(jget(root, "app"))) {
		mara_set_err(err, errlen, "apps document: \"app\" is not an object");
		return -EINVAL;
	}
	if (!jget(root, "apps") && !jget(root, "app") && !jget(root, "groups") &&
	    !jget(root, "*") && !jstr(root, "id")) {
		mara_set_err(err, errlen,
			     "apps document: no \"apps\" array (nor \"app\" or an app \"id\")");
		return -EINVAL;
	}
	return 0;
}
