// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon pods in the model (docs/marathon.md §5): endpoints numbered across
 * the containers in spec order give the pod's port indexes, and each
 * instance's container statuses give the backends: agent host and allocated
 * host port, or the container's address on the networks the endpoint names.
 * Health is the Mesos "healthy" condition, else the endpoints' flags.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mara_build.h"

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

/*
 * Where the container of instance inst serves endpoint e (ps): the agent host
 * at the allocated (else the declared) host port, or the container's address
 * on the endpoint's networks (into *ta) at its containerPort.
 */
static struct endpoint pod_endpoint(struct build *b, const char *what, const json_t *inst, size_t e,
				    const struct port_spec *ps, const json_t *eps_st,
				    const char *tid, const char *host, struct task_addrs *ta)
{
	struct endpoint ep = {EP_NONE, 0};
	const json_t *est;
	char qt[QBUF];
	long long v;

	memset(ta, 0, sizeof(*ta));
	ta->host = host;
	if (ps->host_mode || ps->consumes_host_port) {
		est = find_by_name(eps_st, ps->name);
		if (jint(jget(est, "allocatedHostPort"), &v) && v >= 1 && v <= 65535) {
			ep.kind = EP_HOST;
			ep.port = (__u16)v;
		} else if (ps->host_port >= 1 && ps->host_port <= 65535) {
			ep.kind = EP_HOST;
			ep.port = (__u16)ps->host_port;
		} else {
			mara_warn(b,
				  "%s port %zu task %s: no allocatedHostPort for endpoint \"%s\": "
				  "backend skipped",
				  what, e, xlb_mara_quote(tid, Q_MAX, qt, sizeof(qt)),
				  ps->name ? ps->name : "");
		}
	} else if (ps->container_port >= 1 && ps->container_port <= 65535) {
		ep.kind = EP_CONTAINER;
		ep.port = (__u16)ps->container_port;
		pod_instance_ips(inst, ps->network_names, ta);
	} else {
		mara_warn(b, "%s port %zu: endpoint \"%s\" has no containerPort: backend skipped",
			  what, e, ps->name ? ps->name : "");
	}
	return ep;
}

static void pod_instance(struct build *b, const char *what, const json_t *inst, size_t ii,
			 struct pod_ep *eps, size_t n)
{
	const char *inst_id = jstr(inst, "id"), *host = jstr(inst, "agentHostname");
	const json_t *statuses = jget(inst, "containers");
	char tid[512];
	size_t k;

	if (!json_is_object(inst) || !inst_id) {
		mara_warn(b, "%s: instances[%zu] has no \"id\": skipped", what, ii);
		return;
	}
	for (k = 0; k < n; k++) {
		const json_t *cs, *eps_st;
		struct task_state ts = {0};
		struct task_addrs ta;
		struct endpoint ep;
		const char *state, *cid;

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
			mara_decide_health(b, tid, eps[k].has_check, pod_reported_health(cs), &ts);
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
			ep = pod_endpoint(b, what, inst, e, ps, eps_st, tid, host, &ta);
			if (ep.kind != EP_NONE)
				mara_task_backends(b, what, (int)e, &eps[e].pc, &ep, &ta, &ts,
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
		mara_warn(b, "pods[%zu]: not a pod status object with an \"id\": skipped", idx);
		return;
	}
	snprintf(what, sizeof(what), "pod %s", xlb_mara_quote(id, Q_MAX, q, sizeof(q)));
	if (!json_is_object(spec)) {
		mara_warn(b, "%s: no \"spec\" object: skipped", what);
		return;
	}
	labels = jget(spec, "labels");
	if (labels && !json_is_object(labels))
		labels = NULL;
	containers = jget(spec, "containers");
	if (containers && !json_is_array(containers)) {
		mara_warn(b, "%s: spec.containers is not an array: skipped", what);
		return;
	}
	if (jget(pod, "instances") && !json_is_array(jget(pod, "instances"))) {
		mara_warn(b, "%s: instances is not an array: skipped", what);
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
				mara_warn(
				    b, "%s port %zu: endpoint or container name malformed: skipped",
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
			pe->pc = mara_port_claims(b, what, id, true, (int)k, &pe->ps, labels);
			if (pe->pc.n) {
				pe->weight = mara_port_weight(b, what, labels, (int)k);
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

int mara_pods_doc_check(const json_t *root, char *err, size_t errlen)
{
	if (json_is_array(root))
		return 0;
	if (json_is_object(root) && jstr(root, "id") &&
	    (jget(root, "spec") || jget(root, "instances")))
		return 0;
	mara_set_err(err, errlen, "pods document: expected an array of pod status objects, got %s",
		     json_is_object(root) ? "an object without \"id\" and \"spec\"" : "a scalar");
	return -EINVAL;
}

void mara_pods_read(struct build *b, const json_t *root)
{
	const json_t *v;
	size_t i;

	if (json_is_object(root)) {
		process_pod(b, root, 0);
		return;
	}
	json_array_foreach(root, i, v) process_pod(b, v, i);
}
