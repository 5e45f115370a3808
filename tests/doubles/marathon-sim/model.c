// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The simulator's model: apps (kept as the JSON Marathon would return, plus the
 * runtime fields Marathon derives), their tasks, pods, and the agents they run
 * on. It turns a scenario file into that model, fills in what Marathon fills in
 * (service ports for port 0, host ports, defaults, versions), renders apps,
 * tasks and pod status in Marathon's exact shapes, and dumps the model back in
 * scenario form for GET /sim/state and the --state-file. Callers hold sim.lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

#define SERVICE_PORT_MIN 10000 /* Marathon's local_port_min */
#define SERVICE_PORT_MAX 20000
#define HOST_PORT_MIN 31000 /* Mesos agents' default ports resource */
#define HOST_PORT_MAX 32000
#define CONTAINER_NET_BASE 0xc6130000u /* 198.19.0.0/17: container networks */
#define BRIDGE_NET_BASE 0xc6138000u    /* 198.19.128.0/17: bridge IPs */
#define NET_POOL_SIZE 0x8000u
#define SUBNETS_WANT "sim.subnets.%s: want {\"bridge\"|\"container\": \"A.B.C.D/16..30\"}"

static int errf(char *err, size_t errlen, int rc, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg ? arg : "");
	return rc;
}

static int jint(const json_t *obj, const char *key, int def)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_real(v))
		return (int)json_real_value(v);
	return def;
}

static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void set_default(json_t *obj, const char *key, json_t *val)
{
	if (!json_object_get(obj, key))
		json_object_set_new(obj, key, val);
	else
		json_decref(val);
}

/* "/group/app" -> "group_app", the prefix of Marathon's task and instance ids. */
static void id_prefix(const char *app_id, char *out, size_t len)
{
	size_t i, j = 0;

	for (i = app_id[0] == '/' ? 1 : 0; app_id[i] && j + 1 < len; i++)
		out[j++] = app_id[i] == '/' ? '_' : app_id[i];
	out[j] = '\0';
}

/* ---- agents ---- */

static int agent_index(const char *host)
{
	size_t i;
	json_t *v;

	json_array_foreach(sim.agents, i, v)
	{
		if (!strcmp(json_string_value(v), host))
			return (int)i;
	}
	json_array_append_new(sim.agents, json_string(host));
	return (int)json_array_size(sim.agents) - 1;
}

static void agent_slave_id(const char *host, char *out, size_t len)
{
	snprintf(out, len, "%s-S%d", sim.cluster_id, agent_index(host));
}

/* ---- lookups ---- */

struct sim_app *sim_app_find(const char *id, bool include_removing)
{
	struct sim_app *a;
	char norm[SIM_ID_LEN];

	if (!id || !*id)
		return NULL;
	snprintf(norm, sizeof(norm), "%s%s", id[0] == '/' ? "" : "/", id);
	for (a = sim.apps; a; a = a->next) {
		if (!strcmp(a->id, norm) && (include_removing || !a->removing))
			return a;
	}
	return NULL;
}

struct sim_task *sim_task_find(const char *id, struct sim_app **app_out)
{
	struct sim_app *a;
	struct sim_task *t;

	for (a = sim.apps; a; a = a->next) {
		for (t = a->tasks; t; t = t->next) {
			if (!strcmp(t->id, id) || !strcmp(t->instance_id, id)) {
				if (app_out)
					*app_out = a;
				return t;
			}
		}
	}
	return NULL;
}

struct sim_task *sim_task_by_serial(uint64_t serial, struct sim_app **app_out)
{
	struct sim_app *a;
	struct sim_task *t;

	for (a = sim.apps; a; a = a->next) {
		for (t = a->tasks; t; t = t->next) {
			if (t->serial == serial) {
				if (app_out)
					*app_out = a;
				return t;
			}
		}
	}
	return NULL;
}

struct sim_app *sim_app_by_serial(uint64_t serial)
{
	struct sim_app *a;

	for (a = sim.apps; a; a = a->next) {
		if (a->serial == serial)
			return a;
	}
	return NULL;
}

/* ---- ports and addresses ---- */

static int def_mode(const json_t *def, enum sim_net_mode *mode)
{
	json_t *nets = json_object_get(def, "networks");
	const char *m = "host";
	size_t n = json_array_size(nets);

	/* Marathon: modes cannot be mixed, the last entry is as good as any. */
	if (n)
		m = jstr(json_array_get(nets, n - 1), "mode");
	if (!m || !strcmp(m, "host"))
		*mode = SIM_NET_HOST;
	else if (!strcmp(m, "container/bridge"))
		*mode = SIM_NET_BRIDGE;
	else if (!strcmp(m, "container"))
		*mode = SIM_NET_CONTAINER;
	else
		return -EINVAL;
	return 0;
}

static json_t *def_port_list(const json_t *def, enum sim_net_mode mode)
{
	if (mode == SIM_NET_HOST)
		return json_object_get(def, "portDefinitions");
	return json_object_get(json_object_get(def, "container"), "portMappings");
}

static int def_service_port(const json_t *p, enum sim_net_mode mode)
{
	return jint(p, mode == SIM_NET_HOST ? "port" : "servicePort", 0);
}

static bool def_uses_service_port(const json_t *def, int port)
{
	enum sim_net_mode mode;
	size_t i;
	json_t *p;

	if (!def || def_mode(def, &mode))
		return false;
	json_array_foreach(def_port_list(def, mode), i, p)
	{
		if (def_service_port(p, mode) == port)
			return true;
	}
	return false;
}

static int alloc_service_port(const json_t *building)
{
	struct sim_app *a;
	int port;

	for (port = SERVICE_PORT_MIN; port <= SERVICE_PORT_MAX; port++) {
		bool used = def_uses_service_port(building, port);

		for (a = sim.apps; a && !used; a = a->next)
			used = def_uses_service_port(a->def, port);
		if (!used)
			return port;
	}
	return -ENOSPC;
}

static bool host_port_used(const char *host, int port, const struct sim_task *self)
{
	struct sim_app *a;
	struct sim_task *t;
	int i;

	for (a = sim.apps; a; a = a->next) {
		for (t = a->tasks; t; t = t->next) {
			if (t == self || strcmp(t->host, host))
				continue;
			for (i = 0; i < t->n_ports; i++) {
				if (t->ports[i] == port)
					return true;
			}
		}
	}
	for (i = 0; self && i < self->n_ports; i++) {
		if (self->ports[i] == port)
			return true;
	}
	return false;
}

static int alloc_host_port(const char *host, const struct sim_task *self)
{
	int tries, port;

	for (tries = 0; tries < 4000; tries++) {
		port = HOST_PORT_MIN + (int)(sim_rand() % (HOST_PORT_MAX - HOST_PORT_MIN));
		if (!host_port_used(host, port, self))
			return port;
	}
	return -ENOSPC;
}

static bool ip_in_use(const char *ip)
{
	const struct sim_app *a;
	const struct sim_task *t;
	const struct sim_pod *p;
	int i;

	for (a = sim.apps; a; a = a->next) {
		for (t = a->tasks; t; t = t->next) {
			for (i = 0; i < t->n_ips; i++) {
				if (!strcmp(t->ips[i], ip))
					return true;
			}
		}
	}
	for (p = sim.pods; p; p = p->next) {
		for (i = 0; i < p->n_inst; i++) {
			if (!strcmp(p->inst[i].ip, ip))
				return true;
		}
	}
	return false;
}

/* Next free address of a pool, skipping .0, .255 and addresses a scenario pinned. */
static void alloc_pool_ip(uint32_t *next, uint32_t base, char out[48])
{
	struct in_addr in;
	uint32_t ip, tries;

	for (tries = 0; tries < NET_POOL_SIZE; tries++) {
		if (*next < base || *next >= base + NET_POOL_SIZE)
			*next = base + 2;
		ip = (*next)++;
		if ((ip & 0xff) == 0 || (ip & 0xff) == 0xff)
			continue;
		in.s_addr = htonl(ip);
		inet_ntop(AF_INET, &in, out, 48);
		if (!ip_in_use(out))
			return;
	}
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Parses an IPv4 "A.B.C.D/LEN" (LEN 16..30) into a host-order network and size. */
static int parse_subnet(const char *s, uint32_t *net, uint32_t *size)
{
	char buf[32];
	struct in_addr in;
	char *slash, *end;
	long len;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	len = strtol(slash + 1, &end, 10);
	if (*end || len < 16 || len > 30 || inet_pton(AF_INET, buf, &in) != 1)
		return -EINVAL;
	*size = 1u << (32 - len);
	*net = ntohl(in.s_addr) & ~(*size - 1);
	return 0;
}

/*
 * An agent's own subnet for a mode ("sim": {"subnets": {HOST: {"bridge": CIDR,
 * "container": CIDR}}}), as Docker's bridge and an overlay's per-agent subnet
 * give addresses: the first free one past the gateway (.1). Returns false when
 * HOST has none for the mode, or it is full.
 */
static bool alloc_subnet_ip(const char *host, const char *mode, char out[48])
{
	const json_t *modes = json_object_get(sim.subnets, host);
	const char *cidr = json_string_value(json_object_get(modes, mode));
	uint32_t net, size, i;
	struct in_addr in;

	if (!cidr || parse_subnet(cidr, &net, &size))
		return false;
	for (i = 2; i < size - 1; i++) {
		in.s_addr = htonl(net + i);
		inet_ntop(AF_INET, &in, out, 48);
		if (!ip_in_use(out))
			return true;
	}
	return false;
}

/* A new bridge or container-network address on HOST: its subnet, else the shared pools. */
static void alloc_task_ip(enum sim_net_mode mode, const char *host, char out[48])
{
	if (mode == SIM_NET_BRIDGE) {
		/* Real Docker bridge IPs (172.17.x) are not routable; ours stay in 198.18/15. */
		if (!alloc_subnet_ip(host, "bridge", out))
			alloc_pool_ip(&sim.next_bridge_ip, BRIDGE_NET_BASE, out);
	} else if (!alloc_subnet_ip(host, "container", out)) {
		alloc_pool_ip(&sim.next_container_ip, CONTAINER_NET_BASE, out);
	}
}

/* What Mesos reports in network_infos for a new task, per network mode (docs/marathon.md §3.4). */
static void task_default_ips(const struct sim_app *app, struct sim_task *t)
{
	t->n_ips = 0;
	switch (app->mode) {
	case SIM_NET_HOST:
		if (is_ip_literal(t->host))
			snprintf(t->ips[t->n_ips++], sizeof(t->ips[0]), "%.47s", t->host);
		break;
	case SIM_NET_BRIDGE:
	case SIM_NET_CONTAINER:
		alloc_task_ip(app->mode, t->host, t->ips[t->n_ips++]);
		break;
	}
}

/* Host ports in the order Marathon lists them: mappings without hostPort take none. */
static int task_alloc_ports(const struct sim_app *app, struct sim_task *t)
{
	bool require = json_is_true(json_object_get(app->def, "requirePorts"));
	json_t *list = def_port_list(app->def, app->mode);
	size_t i;
	json_t *p;
	int port;

	t->n_ports = 0;
	json_array_foreach(list, i, p)
	{
		if (t->n_ports >= SIM_MAX_PORTS)
			return -E2BIG;
		if (app->mode == SIM_NET_HOST)
			port = require ? jint(p, "port", 0) : 0;
		else if (app->mode == SIM_NET_CONTAINER && !json_object_get(p, "hostPort"))
			continue;
		else
			port = jint(p, "hostPort", 0);
		if (!port)
			port = alloc_host_port(t->host, t);
		if (port < 0)
			return port;
		t->ports[t->n_ports++] = port;
	}
	return 0;
}

/* ---- app definitions ---- */

static void fill_health_check(json_t *hc)
{
	const char *proto = jstr(hc, "protocol");

	if (!proto) {
		json_object_set_new(hc, "protocol", json_string("HTTP"));
		proto = "HTTP";
	}
	if (strstr(proto, "HTTP"))
		set_default(hc, "path", json_string("/"));
	if (!json_object_get(hc, "port"))
		set_default(hc, "portIndex", json_integer(0));
	set_default(hc, "gracePeriodSeconds", json_integer(300));
	set_default(hc, "intervalSeconds", json_integer(60));
	set_default(hc, "timeoutSeconds", json_integer(20));
	set_default(hc, "maxConsecutiveFailures", json_integer(3));
	set_default(hc, "delaySeconds", json_integer(15));
}

/*
 * Brings a definition into the shape GET /v2/apps shows: Marathon's defaults,
 * 1.5-style networking, service ports allocated for port 0, labels on every port.
 */
static int normalize_def(json_t *def, const char *version, char *err, size_t errlen)
{
	enum sim_net_mode mode;
	json_t *list, *p, *hcs, *hc, *container, *vi;
	size_t i;
	int port;

	if (!json_is_string(json_object_get(def, "id")))
		return errf(err, errlen, -EINVAL, "app without an \"id\"%s", NULL);
	if (!json_object_get(def, "networks")) {
		json_t *nets = json_array();

		json_array_append_new(nets, json_pack("{s:s}", "mode", "host"));
		json_object_set_new(def, "networks", nets);
	}
	if (def_mode(def, &mode))
		return errf(err, errlen, -EINVAL, "app %s: unknown network mode", jstr(def, "id"));

	set_default(def, "instances", json_integer(1));
	set_default(def, "cpus", json_real(1));
	set_default(def, "mem", json_integer(128));
	set_default(def, "disk", json_integer(0));
	set_default(def, "gpus", json_integer(0));
	set_default(def, "executor", json_string(""));
	set_default(def, "backoffFactor", json_real(1.15));
	set_default(def, "backoffSeconds", json_integer(1));
	set_default(def, "maxLaunchDelaySeconds", json_integer(3600));
	set_default(def, "requirePorts", json_false());
	set_default(def, "labels", json_object());
	set_default(def, "healthChecks", json_array());
	set_default(def, "upgradeStrategy",
		    json_pack("{s:i,s:i}", "minimumHealthCapacity", 1, "maximumOverCapacity", 1));
	set_default(def, "killSelection", json_string("YOUNGEST_FIRST"));
	set_default(
	    def, "unreachableStrategy",
	    json_pack("{s:i,s:i}", "inactiveAfterSeconds", 300, "expungeAfterSeconds", 600));

	if (mode == SIM_NET_HOST) {
		if (!json_object_get(def, "portDefinitions"))
			json_object_set_new(def, "portDefinitions",
					    json_pack("[{s:i,s:s}]", "port", 0, "name", "default"));
		list = json_object_get(def, "portDefinitions");
	} else {
		/* Marathon >= 1.5 never shows portDefinitions for container networking. */
		json_object_del(def, "portDefinitions");
		container = json_object_get(def, "container");
		if (!container) {
			container = json_pack("{s:s,s:[]}", "type", "DOCKER", "volumes");
			json_object_set_new(def, "container", container);
		}
		if (!json_object_get(container, "portMappings"))
			json_object_set_new(container, "portMappings", json_array());
		list = json_object_get(container, "portMappings");
	}
	if (!json_is_array(list))
		return errf(err, errlen, -EINVAL, "app %s: ports are not an array",
			    jstr(def, "id"));
	json_array_foreach(list, i, p)
	{
		if (!json_is_object(p))
			return errf(err, errlen, -EINVAL, "app %s: port is not an object",
				    jstr(def, "id"));
		if (mode == SIM_NET_BRIDGE)
			set_default(p, "hostPort", json_integer(0));
		set_default(p, "labels", json_object());
		set_default(p, "protocol", json_string("tcp"));
		if (def_service_port(p, mode) == 0) {
			port = alloc_service_port(def);
			if (port < 0)
				return errf(err, errlen, port, "app %s: no free service port",
					    jstr(def, "id"));
			json_object_set_new(p, mode == SIM_NET_HOST ? "port" : "servicePort",
					    json_integer(port));
		}
	}

	hcs = json_object_get(def, "healthChecks");
	if (!json_is_array(hcs))
		return errf(err, errlen, -EINVAL, "app %s: healthChecks is not an array",
			    jstr(def, "id"));
	json_array_foreach(hcs, i, hc)
	{
		if (json_is_object(hc))
			fill_health_check(hc);
	}

	json_object_set_new(def, "version", json_string(version));
	vi = json_object_get(def, "versionInfo");
	if (!json_is_object(vi)) {
		json_object_set_new(def, "versionInfo",
				    json_pack("{s:s,s:s}", "lastScalingAt", version,
					      "lastConfigChangeAt", version));
	}
	return 0;
}

static void app_take_knobs(struct sim_app *app, json_t *knobs)
{
	json_t *hosts = json_object_get(knobs, "hosts");

	json_decref(app->knobs);
	app->knobs = json_is_object(knobs) ? json_deep_copy(knobs) : json_object();
	json_object_del(app->knobs, "hosts");
	json_decref(app->hosts);
	app->hosts = json_is_array(hosts) ? json_deep_copy(hosts) : json_array();
}

/* ---- tasks ---- */

static struct sim_task *task_alloc(struct sim_app *app)
{
	struct sim_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->serial = ++sim.next_serial;
	t->want_alive = true;
	snprintf(t->version, sizeof(t->version), "%s", app->version);
	sim_iso_now(t->staged_at);
	return t;
}

static void task_append(struct sim_app *app, struct sim_task *t)
{
	struct sim_task **pp = &app->tasks;

	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
}

static void task_ids_new(const struct sim_app *app, struct sim_task *t)
{
	char prefix[SIM_ID_LEN / 2], uuid[37];

	id_prefix(app->id, prefix, sizeof(prefix));
	sim_uuid(uuid);
	snprintf(t->instance_id, sizeof(t->instance_id), "%s.instance-%s", prefix, uuid);
	snprintf(t->id, sizeof(t->id), "%.*s._app.1", (int)sizeof(t->id) - 8, t->instance_id);
}

/* Instance id of a given task id, both in the instance era and the legacy form. */
static void task_ids_from(const struct sim_app *app, struct sim_task *t, const char *id)
{
	const char *inst = strstr(id, ".instance-");
	char prefix[SIM_ID_LEN / 2];
	const char *dot;

	snprintf(t->id, sizeof(t->id), "%s", id);
	if (inst) {
		dot = strchr(inst + 1, '.');
		snprintf(t->instance_id, sizeof(t->instance_id), "%.*s",
			 (int)(dot ? (size_t)(dot - id) : strlen(id)), id);
		return;
	}
	id_prefix(app->id, prefix, sizeof(prefix));
	dot = strrchr(id, '.');
	snprintf(t->instance_id, sizeof(t->instance_id), "%s.marathon-%s", prefix,
		 dot ? dot + 1 : id);
}

static json_t *placement_hosts(const struct sim_app *app)
{
	if (json_array_size(app->hosts))
		return app->hosts;
	return sim.agents;
}

/* The agent running the fewest of this app's tasks, first listed on a tie. */
static const char *place_task(const struct sim_app *app)
{
	json_t *hosts = placement_hosts(app);
	const char *best = NULL;
	int best_n = 0;
	size_t i;
	json_t *h;

	json_array_foreach(hosts, i, h)
	{
		const struct sim_task *t;
		int n = 0;

		for (t = app->tasks; t; t = t->next)
			n += !strcmp(t->host, json_string_value(h));
		if (!best || n < best_n) {
			best = json_string_value(h);
			best_n = n;
		}
	}
	if (!best && app->tasks)
		best = app->tasks->host;
	return best ? best : "198.18.1.1";
}

struct sim_task *sim_task_new(struct sim_app *app, const char *version)
{
	struct sim_task *t = task_alloc(app);

	if (!t)
		return NULL;
	if (version)
		snprintf(t->version, sizeof(t->version), "%s", version);
	task_ids_new(app, t);
	snprintf(t->host, sizeof(t->host), "%s", place_task(app));
	agent_slave_id(t->host, t->slave_id, sizeof(t->slave_id));
	if (task_alloc_ports(app, t)) {
		sim_log("app %s: no free host port on %s", app->id, t->host);
		free(t);
		return NULL;
	}
	task_default_ips(app, t);
	t->state = SIM_TASK_STAGING;
	task_append(app, t);
	return t;
}

void sim_task_unlink(struct sim_app *app, struct sim_task *t)
{
	struct sim_task **pp;

	for (pp = &app->tasks; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			return;
		}
	}
}

static int task_from_spec(struct sim_app *app, const json_t *spec, bool fresh_leader, char *err,
			  size_t errlen)
{
	struct sim_task *t = task_alloc(app);
	const char *s;
	json_t *v, *e;
	size_t i;
	int rc = -EINVAL;

	if (!t)
		return -ENOMEM;
	if (!json_is_object(spec)) {
		errf(err, errlen, rc, "app %s: task is not an object", app->id);
		goto fail;
	}
	s = jstr(spec, "id");
	if (s)
		task_ids_from(app, t, s);
	else
		task_ids_new(app, t);
	s = jstr(spec, "host");
	snprintf(t->host, sizeof(t->host), "%s", s ? s : place_task(app));
	s = jstr(spec, "slaveId");
	if (s) {
		agent_index(t->host);
		snprintf(t->slave_id, sizeof(t->slave_id), "%s", s);
	} else {
		agent_slave_id(t->host, t->slave_id, sizeof(t->slave_id));
	}

	s = jstr(spec, "state");
	t->state = SIM_TASK_RUNNING;
	if (s && sim_state_parse(s, &t->state)) {
		errf(err, errlen, rc, "task state %s unknown", s);
		goto fail;
	}
	if (sim_state_terminal(t->state)) {
		errf(err, errlen, rc, "task %s: terminal tasks are not listed by Marathon", t->id);
		goto fail;
	}

	v = json_object_get(spec, "ports");
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (!json_is_integer(e) || t->n_ports >= SIM_MAX_PORTS) {
				errf(err, errlen, rc, "task %s: bad ports", t->id);
				goto fail;
			}
			t->ports[t->n_ports++] = (int)json_integer_value(e);
		}
	} else if (task_alloc_ports(app, t)) {
		errf(err, errlen, rc, "task %s: no free host port", t->id);
		goto fail;
	}

	v = json_object_get(spec, "ipAddresses");
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			s = json_is_string(e) ? json_string_value(e) : jstr(e, "ipAddress");
			if (!s || !is_ip_literal(s) || t->n_ips >= SIM_MAX_IPS) {
				errf(err, errlen, rc, "task %s: bad ipAddresses", t->id);
				goto fail;
			}
			snprintf(t->ips[t->n_ips++], sizeof(t->ips[0]), "%s", s);
		}
	} else {
		task_default_ips(app, t);
	}
	t->ips_visible = t->state != SIM_TASK_STAGING && t->state != SIM_TASK_STARTING;

	s = jstr(spec, "version");
	if (s)
		snprintf(t->version, sizeof(t->version), "%s", s);
	s = jstr(spec, "stagedAt");
	if (s)
		snprintf(t->staged_at, sizeof(t->staged_at), "%s", s);
	s = jstr(spec, "startedAt");
	if (t->ips_visible)
		snprintf(t->started_at, sizeof(t->started_at), "%s", s ? s : t->staged_at);

	/* healthy: true/false = the leader has a result; null = not yet (probed later). */
	v = json_object_get(spec, "healthy");
	t->want_alive = !json_is_false(v);
	if (json_is_false(json_object_get(spec, "wantAlive")))
		t->want_alive = false;
	if (app->n_health_checks && (json_is_true(v) || json_is_false(v) || !v) && !fresh_leader &&
	    t->ips_visible) {
		t->hc_known = true;
		t->alive = t->want_alive;
		if (t->alive) {
			snprintf(t->first_success, sizeof(t->first_success), "%s", t->started_at);
			snprintf(t->last_success, sizeof(t->last_success), "%s", t->started_at);
		} else {
			t->consecutive_failures = 1;
			sim_iso_now(t->last_failure);
			snprintf(t->failure_cause, sizeof(t->failure_cause), "%s",
				 "ConnectException: Connection refused");
		}
	}
	task_append(app, t);

	/* Time moves on from the moment the scenario describes. */
	if (!t->ips_visible)
		sim_timer_add(app->staging_ms, SIM_T_TASK_RUNNING, t->serial, 0);
	else if (app->n_health_checks && !t->hc_known && t->state == SIM_TASK_RUNNING)
		sim_schedule_probe(t, app->health_delay_ms);
	if (t->state == SIM_TASK_KILLING)
		sim_timer_add(app->kill_grace_ms, SIM_T_TASK_KILLED, t->serial, 0);
	return 0;
fail:
	free(t);
	return rc;
}

/* ---- apps ---- */

/* App knob, else scenario-wide knob, else (grace only) what Marathon would use. */
static void app_resolve_knobs(struct sim_app *app)
{
	const json_t *g = json_object_get(app->def, "taskKillGracePeriodSeconds");

	app->staging_ms = jint(app->knobs, "staging_ms", -1);
	app->health_delay_ms = jint(app->knobs, "health_delay_ms", -1);
	app->kill_grace_ms = jint(app->knobs, "kill_grace_ms", -1);
	if (app->staging_ms < 0)
		app->staging_ms = sim.staging_ms;
	if (app->health_delay_ms < 0)
		app->health_delay_ms = sim.health_delay_ms;
	if (app->kill_grace_ms < 0)
		app->kill_grace_ms = sim.kill_grace_ms;
	if (app->kill_grace_ms < 0)
		app->kill_grace_ms = json_is_number(g) ? (int)(json_number_value(g) * 1000) : 3000;
}

static void app_count_health_checks(struct sim_app *app)
{
	app->n_health_checks = (int)json_array_size(json_object_get(app->def, "healthChecks"));
}

int sim_app_create(json_t *spec, bool launch_missing, bool fresh_leader, struct sim_app **out,
		   char *err, size_t errlen)
{
	struct sim_app *app, **pp;
	json_t *def, *tasks, *t;
	const char *id, *ver;
	char now[SIM_TS_LEN];
	size_t i;
	int rc, active, want;

	if (!json_is_object(spec))
		return errf(err, errlen, -EINVAL, "app is not a JSON object%s", NULL);
	id = jstr(spec, "id");
	if (!id || !*id)
		return errf(err, errlen, -EINVAL, "app without an \"id\"%s", NULL);
	if (sim_app_find(id, true))
		return errf(err, errlen, -EEXIST, "app %s exists already", id);

	app = calloc(1, sizeof(*app));
	def = json_deep_copy(spec);
	if (!app || !def) {
		free(app);
		json_decref(def);
		return -ENOMEM;
	}
	app->serial = ++sim.next_serial;
	json_object_del(def, "tasks");
	json_object_del(def, "sim");
	snprintf(app->id, sizeof(app->id), "%s%s", id[0] == '/' ? "" : "/", id);
	json_object_set_new(def, "id", json_string(app->id));
	tasks = json_object_get(spec, "tasks");
	if (!json_object_get(def, "instances") && json_is_array(tasks))
		json_object_set_new(def, "instances", json_integer((int)json_array_size(tasks)));
	sim_iso_now(now);
	ver = jstr(spec, "version");
	rc = normalize_def(def, ver ? ver : now, err, errlen);
	if (rc) {
		json_decref(def);
		free(app);
		return rc;
	}
	app->def = def;
	snprintf(app->version, sizeof(app->version), "%s", jstr(def, "version"));
	def_mode(def, &app->mode);
	app_count_health_checks(app);
	app_take_knobs(app, json_object_get(spec, "sim"));
	app_resolve_knobs(app);

	/* Apps are listed in the order they were created. */
	for (pp = &sim.apps; *pp; pp = &(*pp)->next)
		;
	*pp = app;

	json_array_foreach(tasks, i, t)
	{
		rc = task_from_spec(app, t, fresh_leader, err, errlen);
		if (rc) {
			sim_app_unlink(app);
			sim_app_free(app);
			return rc;
		}
	}
	if (launch_missing) {
		want = jint(def, "instances", 1);
		active = sim_app_active_tasks(app);
		if (!json_is_array(tasks)) {
			/* No tasks listed: the app has been running steadily for a while. */
			for (; active < want; active++) {
				struct sim_task *nt = sim_task_new(app, NULL);

				if (!nt)
					break;
				nt->state = SIM_TASK_RUNNING;
				nt->ips_visible = true;
				snprintf(nt->started_at, sizeof(nt->started_at), "%s",
					 nt->staged_at);
				if (app->n_health_checks && fresh_leader) {
					sim_schedule_probe(nt, app->health_delay_ms);
				} else if (app->n_health_checks) {
					nt->hc_known = nt->alive = true;
					snprintf(nt->first_success, SIM_TS_LEN, "%s",
						 nt->started_at);
					snprintf(nt->last_success, SIM_TS_LEN, "%s",
						 nt->started_at);
				}
			}
		}
		for (; active < want; active++)
			sim_task_launch(app, NULL, false);
	}
	if (out)
		*out = app;
	return 0;
}

int sim_app_apply_patch(struct sim_app *app, json_t *patch, char *err, size_t errlen)
{
	json_t *def = json_deep_copy(app->def);
	char now[SIM_TS_LEN];
	const char *scaled;
	int rc;

	if (!def)
		return -ENOMEM;
	sim_iso_now(now);
	if (json_is_object(patch)) {
		json_object_update(def, patch);
		/* Identity and scale are not a restart's business. */
		json_object_set_new(def, "id", json_string(app->id));
		json_object_set(def, "instances", json_object_get(app->def, "instances"));
		json_object_del(def, "tasks");
		json_object_del(def, "sim");
		json_object_del(def, "versionInfo");
	}
	rc = normalize_def(def, now, err, errlen);
	if (rc) {
		json_decref(def);
		return rc;
	}
	scaled = jstr(json_object_get(app->def, "versionInfo"), "lastScalingAt");
	json_object_set_new(def, "versionInfo",
			    json_pack("{s:s,s:s}", "lastScalingAt", scaled ? scaled : now,
				      "lastConfigChangeAt", now));
	json_decref(app->def);
	app->def = def;
	snprintf(app->version, sizeof(app->version), "%s", now);
	def_mode(def, &app->mode);
	app_count_health_checks(app);
	if (json_is_object(json_object_get(patch, "sim")))
		app_take_knobs(app, json_object_get(patch, "sim"));
	app_resolve_knobs(app);
	return 0;
}

void sim_app_unlink(struct sim_app *app)
{
	struct sim_app **pp;

	for (pp = &sim.apps; *pp; pp = &(*pp)->next) {
		if (*pp == app) {
			*pp = app->next;
			app->next = NULL;
			return;
		}
	}
}

void sim_app_free(struct sim_app *app)
{
	struct sim_task *t, *n;

	if (!app)
		return;
	for (t = app->tasks; t; t = n) {
		n = t->next;
		free(t);
	}
	json_decref(app->def);
	json_decref(app->knobs);
	json_decref(app->hosts);
	free(app->deploy);
	free(app);
}

int sim_app_active_tasks(const struct sim_app *app)
{
	const struct sim_task *t;
	int n = 0;

	for (t = app->tasks; t; t = t->next)
		n += t->state != SIM_TASK_KILLING;
	return n;
}

bool sim_task_ready(const struct sim_app *app, const struct sim_task *t)
{
	if (t->state != SIM_TASK_RUNNING)
		return false;
	return !app->n_health_checks || (t->hc_known && t->alive);
}

/* ---- pods ---- */

static void pod_free(struct sim_pod *p)
{
	json_decref(p->spec);
	free(p->inst);
	free(p);
}

static int pod_alloc_ports(struct sim_pod *pod, struct sim_pod_instance *in)
{
	size_t i, j;
	json_t *c, *e;
	int port;

	in->n_ports = 0;
	json_array_foreach(json_object_get(pod->spec, "containers"), i, c)
	{
		json_array_foreach(json_object_get(c, "endpoints"), j, e)
		{
			if (!json_object_get(e, "hostPort") && pod->mode == SIM_NET_CONTAINER)
				continue;
			if (in->n_ports >= SIM_MAX_PORTS)
				return -E2BIG;
			port = jint(e, "hostPort", 0);
			if (!port)
				port = HOST_PORT_MIN +
				       (int)(sim_rand() % (HOST_PORT_MAX - HOST_PORT_MIN));
			in->ports[in->n_ports++] = port;
		}
	}
	return 0;
}

static int pod_create(const json_t *spec, char *err, size_t errlen)
{
	struct sim_pod *pod, **pp;
	json_t *insts, *nets, *e;
	const char *id, *s;
	char prefix[SIM_ID_LEN / 2], uuid[37], now[SIM_TS_LEN];
	size_t i, n;
	int want;

	id = jstr(spec, "id");
	if (!id)
		return errf(err, errlen, -EINVAL, "pod without an \"id\"%s", NULL);
	pod = calloc(1, sizeof(*pod));
	if (!pod)
		return -ENOMEM;
	pod->spec = json_deep_copy(spec);
	snprintf(pod->id, sizeof(pod->id), "%s%s", id[0] == '/' ? "" : "/", id);
	json_object_set_new(pod->spec, "id", json_string(pod->id));
	insts = json_object_get(spec, "instances");
	json_object_del(pod->spec, "instances");
	sim_iso_now(now);
	snprintf(pod->since, sizeof(pod->since), "%s", now);
	set_default(pod->spec, "version", json_string(now));
	set_default(pod->spec, "labels", json_object());
	set_default(pod->spec, "containers", json_array());
	if (!json_object_get(pod->spec, "networks"))
		json_object_set_new(pod->spec, "networks", json_pack("[{s:s}]", "mode", "host"));
	nets = json_object_get(pod->spec, "networks");
	n = json_array_size(nets);
	s = n ? jstr(json_array_get(nets, n - 1), "mode") : "host";
	pod->mode = !s || !strcmp(s, "host")	     ? SIM_NET_HOST
		    : !strcmp(s, "container/bridge") ? SIM_NET_BRIDGE
						     : SIM_NET_CONTAINER;
	s = n ? jstr(json_array_get(nets, n - 1), "name") : NULL;
	snprintf(pod->mode_name, sizeof(pod->mode_name), "%s",
		 s			       ? s
		 : pod->mode == SIM_NET_BRIDGE ? "mesos-bridge"
					       : "dcos");

	want = json_is_array(insts) ? (int)json_array_size(insts)
				    : jint(json_object_get(spec, "scaling"), "instances", 1);
	set_default(pod->spec, "scaling",
		    json_pack("{s:s,s:i}", "kind", "fixed", "instances", want));
	pod->inst = calloc(want > 0 ? (size_t)want : 1, sizeof(*pod->inst));
	if (!pod->inst) {
		pod_free(pod);
		return -ENOMEM;
	}
	id_prefix(pod->id, prefix, sizeof(prefix));
	for (i = 0; i < (size_t)want; i++) {
		struct sim_pod_instance *in = &pod->inst[i];
		json_t *hosts = sim.agents;

		e = json_array_get(insts, i);
		sim_uuid(uuid);
		snprintf(in->id, sizeof(in->id), "%s.instance-%s", prefix, uuid);
		s = jstr(e, "host");
		if (!s)
			s = json_array_size(hosts) ? json_string_value(json_array_get(
							 hosts, i % json_array_size(hosts)))
						   : "198.18.1.1";
		snprintf(in->host, sizeof(in->host), "%s", s);
		agent_slave_id(in->host, in->slave_id, sizeof(in->slave_id));
		in->healthy = !json_is_false(json_object_get(e, "healthy"));
		snprintf(in->since, sizeof(in->since), "%s", now);
		s = json_string_value(json_array_get(json_object_get(e, "ipAddresses"), 0));
		if (s)
			snprintf(in->ip, sizeof(in->ip), "%s", s);
		else if (pod->mode == SIM_NET_CONTAINER || pod->mode == SIM_NET_BRIDGE)
			alloc_task_ip(pod->mode, in->host, in->ip);
		if (pod_alloc_ports(pod, in)) {
			pod_free(pod);
			return errf(err, errlen, -E2BIG, "pod %s: too many endpoints", id);
		}
		pod->n_inst++;
	}
	for (pp = &sim.pods; *pp; pp = &(*pp)->next)
		;
	*pp = pod;
	return 0;
}

/* The endpoint a container's health check probes, if any. */
static const char *pod_hc_endpoint(const json_t *container)
{
	const json_t *hc = json_object_get(container, "healthCheck");
	const char *e = jstr(json_object_get(hc, "http"), "endpoint");

	return e ? e : jstr(json_object_get(hc, "tcp"), "endpoint");
}

static json_t *pod_status_json(const struct sim_pod *pod)
{
	json_t *st, *insts, *in_j, *conts, *c_j, *eps, *ep_j, *c, *e, *conds;
	bool all_healthy = true;
	char ref[SIM_ID_LEN * 2];
	int i, k;
	size_t ci, ei;

	insts = json_array();
	for (i = 0; i < pod->n_inst; i++) {
		const struct sim_pod_instance *in = &pod->inst[i];
		const char *inst_status = in->healthy ? "STABLE" : "DEGRADED";
		json_t *nets = json_array();

		all_healthy &= in->healthy;
		if (pod->mode != SIM_NET_HOST)
			json_array_append_new(nets, json_pack("{s:s,s:[s]}", "name", pod->mode_name,
							      "addresses", in->ip));
		conts = json_array();
		k = 0;
		json_array_foreach(json_object_get(pod->spec, "containers"), ci, c)
		{
			const char *name = jstr(c, "name");
			const char *hc_ep = pod_hc_endpoint(c);
			char cid[SIM_ID_LEN * 2];

			eps = json_array();
			json_array_foreach(json_object_get(c, "endpoints"), ei, e)
			{
				const char *ep_name = jstr(e, "name");

				ep_j = json_pack("{s:s}", "name", ep_name ? ep_name : "");
				if (json_object_get(e, "hostPort") ||
				    pod->mode != SIM_NET_CONTAINER) {
					if (k < in->n_ports)
						json_object_set_new(ep_j, "allocatedHostPort",
								    json_integer(in->ports[k]));
					k++;
				}
				if (hc_ep && ep_name && !strcmp(hc_ep, ep_name))
					json_object_set_new(ep_j, "healthy",
							    json_boolean(in->healthy));
				json_array_append_new(eps, ep_j);
			}
			conds = json_array();
			if (json_object_get(c, "healthCheck"))
				json_array_append_new(
				    conds,
				    json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "healthy", "value",
					      in->healthy ? "true" : "false", "reason",
					      "health-reported-by-mesos", "lastChanged", in->since,
					      "lastUpdated", in->since));
			snprintf(cid, sizeof(cid), "%s.%s", in->id, name ? name : "container");
			c_j =
			    json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:s,s:s}", "name", name ? name : "",
				      "status", "TASK_RUNNING", "statusSince", in->since,
				      "conditions", conds, "containerId", cid, "endpoints", eps,
				      "lastUpdated", in->since, "lastChanged", in->since);
			json_array_append_new(conts, c_j);
		}
		snprintf(ref, sizeof(ref), "/v2/pods%s::versions/%s", pod->id,
			 jstr(pod->spec, "version"));
		in_j = json_pack("{s:s,s:s,s:s,s:[],s:s,s:s,s:o,s:o,s:s,s:s,s:s}", "id", in->id,
				 "status", inst_status, "statusSince", in->since, "conditions",
				 "agentHostname", in->host, "agentId", in->slave_id, "networks",
				 nets, "containers", conts, "specReference", ref, "lastUpdated",
				 in->since, "lastChanged", in->since);
		json_array_append_new(insts, in_j);
	}
	st = json_pack("{s:s,s:O,s:s,s:s,s:o,s:[],s:s,s:s}", "id", pod->id, "spec", pod->spec,
		       "status", all_healthy ? "STABLE" : "DEGRADED", "statusSince", pod->since,
		       "instances", insts, "terminationHistory", "lastUpdated", pod->since,
		       "lastChanged", pod->since);
	return st;
}

json_t *sim_pods_status_json(const char *id)
{
	struct sim_pod *p;
	json_t *arr = json_array();

	for (p = sim.pods; p; p = p->next) {
		if (id && strcmp(p->id, id))
			continue;
		if (id) {
			json_decref(arr);
			return pod_status_json(p);
		}
		json_array_append_new(arr, pod_status_json(p));
	}
	if (id) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

json_t *sim_pods_json(void)
{
	struct sim_pod *p;
	json_t *arr = json_array();

	for (p = sim.pods; p; p = p->next)
		json_array_append(arr, p->spec);
	return arr;
}

/* ---- scenario ---- */

int sim_scenario_load(json_t *root, bool fresh_leader, char *err, size_t errlen)
{
	json_t *knobs = json_object_get(root, "sim");
	json_t *agents = json_object_get(root, "agents");
	json_t *v;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return errf(err, errlen, -EINVAL, "scenario is not a JSON object%s", NULL);
	if (json_is_integer(json_object_get(knobs, "seed")))
		sim.rng =
		    (uint64_t)json_integer_value(json_object_get(knobs, "seed")) * 2654435761u + 1;
	sim.staging_ms = jint(knobs, "staging_ms", sim.staging_ms);
	sim.health_delay_ms = jint(knobs, "health_delay_ms", sim.health_delay_ms);
	sim.kill_grace_ms = jint(knobs, "kill_grace_ms", sim.kill_grace_ms);
	json_array_foreach(agents, i, v)
	{
		if (!json_is_string(v))
			return errf(err, errlen, -EINVAL, "agents: not a string%s", NULL);
		agent_index(json_string_value(v));
	}
	v = json_object_get(knobs, "subnets");
	if (v) {
		const char *host, *mode;
		json_t *modes, *cidr;
		uint32_t net, size;

		if (!json_is_object(v))
			return errf(err, errlen, -EINVAL, "sim.subnets: not an object%s", NULL);
		json_object_foreach(v, host, modes)
		{
			if (!json_is_object(modes))
				return errf(err, errlen, -EINVAL, SUBNETS_WANT, host);
			json_object_foreach(modes, mode, cidr)
			{
				if ((strcmp(mode, "bridge") && strcmp(mode, "container")) ||
				    parse_subnet(json_string_value(cidr), &net, &size))
					return errf(err, errlen, -EINVAL, SUBNETS_WANT, host);
			}
		}
		json_object_update(sim.subnets, v);
	}
	if (jstr(root, "clusterId")) {
		snprintf(sim.cluster_id, sizeof(sim.cluster_id), "%s", jstr(root, "clusterId"));
		snprintf(sim.framework_id, sizeof(sim.framework_id), "%s-0000", sim.cluster_id);
	}
	json_array_foreach(json_object_get(root, "apps"), i, v)
	{
		rc = sim_app_create(v, true, fresh_leader, NULL, err, errlen);
		if (rc)
			return rc;
	}
	json_array_foreach(json_object_get(root, "pods"), i, v)
	{
		rc = pod_create(v, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

void sim_model_clear(void)
{
	struct sim_app *a, *an;
	struct sim_pod *p, *pn;

	for (a = sim.apps; a; a = an) {
		an = a->next;
		sim_app_free(a);
	}
	sim.apps = NULL;
	for (p = sim.pods; p; p = pn) {
		pn = p->next;
		pod_free(p);
	}
	sim.pods = NULL;
	sim_timers_clear();
}

/* ---- rendering ---- */

json_t *sim_task_ports_json(const struct sim_task *t)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < t->n_ports; i++)
		json_array_append_new(a, json_integer(t->ports[i]));
	return a;
}

json_t *sim_task_ips_json(const struct sim_task *t)
{
	json_t *a = json_array();
	int i;

	for (i = 0; t->ips_visible && i < t->n_ips; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "ipAddress", t->ips[i], "protocol",
						   strchr(t->ips[i], ':') ? "IPv6" : "IPv4"));
	return a;
}

json_t *sim_service_ports_json(const struct sim_app *app)
{
	json_t *a = json_array();
	size_t i;
	json_t *p;

	json_array_foreach(def_port_list(app->def, app->mode), i, p)
	    json_array_append_new(a, json_integer(def_service_port(p, app->mode)));
	return a;
}

static json_t *ts_or_null(const char *ts)
{
	return *ts ? json_string(ts) : json_null();
}

/* Field order of Marathon's Task RAML type (TaskConversion.scala). */
json_t *sim_task_json(const struct sim_app *app, const struct sim_task *t)
{
	json_t *j = json_object();
	int i;

	json_object_set_new(j, "appId", json_string(app->id));
	if (app->n_health_checks && t->hc_known) {
		json_t *res = json_array();

		/* One result per configured check; the simulator keeps them in step. */
		for (i = 0; i < app->n_health_checks; i++)
			json_array_append_new(
			    res,
			    json_pack("{s:b,s:i,s:o,s:o,s:o,s:o,s:s}", "alive", t->alive,
				      "consecutiveFailures", t->consecutive_failures,
				      "firstSuccess", ts_or_null(t->first_success), "lastFailure",
				      ts_or_null(t->last_failure), "lastSuccess",
				      ts_or_null(t->last_success), "lastFailureCause",
				      ts_or_null(t->failure_cause), "instanceId", t->instance_id));
		json_object_set_new(j, "healthCheckResults", res);
	}
	json_object_set_new(j, "host", json_string(t->host));
	json_object_set_new(j, "id", json_string(t->id));
	json_object_set_new(j, "ipAddresses", sim_task_ips_json(t));
	json_object_set_new(j, "ports", sim_task_ports_json(t));
	json_object_set_new(j, "servicePorts", sim_service_ports_json(app));
	json_object_set_new(j, "slaveId", json_string(t->slave_id));
	json_object_set_new(j, "state", json_string(sim_state_name(t->state)));
	json_object_set_new(j, "stagedAt", json_string(t->staged_at));
	if (*t->started_at)
		json_object_set_new(j, "startedAt", json_string(t->started_at));
	json_object_set_new(j, "version", json_string(t->version));
	return j;
}

/* TaskForStatistics: healthy = has results and all alive, unhealthy = any dead. */
json_t *sim_app_json(const struct sim_app *app, bool with_tasks, bool with_readiness)
{
	json_t *j = json_deep_copy(app->def);
	const struct sim_task *t;
	int staged = 0, running = 0, healthy = 0, unhealthy = 0;
	json_t *tasks = json_array();
	json_t *deps = json_array();

	for (t = app->tasks; t; t = t->next) {
		staged += t->state == SIM_TASK_STAGING || t->state == SIM_TASK_STARTING;
		running += t->state == SIM_TASK_RUNNING;
		if (app->n_health_checks && t->hc_known) {
			healthy += t->alive;
			unhealthy += !t->alive;
		}
		if (with_tasks)
			json_array_append_new(tasks, sim_task_json(app, t));
	}
	json_object_set_new(j, "tasksStaged", json_integer(staged));
	json_object_set_new(j, "tasksRunning", json_integer(running));
	json_object_set_new(j, "tasksHealthy", json_integer(healthy));
	json_object_set_new(j, "tasksUnhealthy", json_integer(unhealthy));
	if (app->deploy)
		json_array_append_new(deps, json_pack("{s:s}", "id", app->deploy->id));
	json_object_set_new(j, "deployments", deps);
	if (with_readiness)
		json_object_set_new(j, "readinessCheckResults", json_array());
	if (with_tasks)
		json_object_set_new(j, "tasks", tasks);
	else
		json_decref(tasks);
	return j;
}

/* ---- dump and persistence ---- */

static json_t *task_dump(const struct sim_app *app, const struct sim_task *t, bool internals)
{
	json_t *j = json_object();
	json_t *ips = json_array();
	int i;

	json_object_set_new(j, "id", json_string(t->id));
	json_object_set_new(j, "host", json_string(t->host));
	json_object_set_new(j, "slaveId", json_string(t->slave_id));
	json_object_set_new(j, "state", json_string(sim_state_name(t->state)));
	json_object_set_new(j, "ports", sim_task_ports_json(t));
	for (i = 0; i < t->n_ips; i++)
		json_array_append_new(ips, json_string(t->ips[i]));
	json_object_set_new(j, "ipAddresses", ips);
	json_object_set_new(j, "version", json_string(t->version));
	json_object_set_new(j, "stagedAt", json_string(t->staged_at));
	if (*t->started_at)
		json_object_set_new(j, "startedAt", json_string(t->started_at));
	if (app->n_health_checks) {
		json_object_set_new(j, "healthy",
				    t->hc_known ? json_boolean(t->alive) : json_null());
		json_object_set_new(j, "wantAlive", json_boolean(t->want_alive));
	}
	if (internals) {
		json_object_set_new(j, "instanceId", json_string(t->instance_id));
		json_object_set_new(j, "serial", json_integer((json_int_t)t->serial));
		json_object_set_new(j, "ready", json_boolean(sim_task_ready(app, t)));
		json_object_set_new(j, "oldGeneration", json_boolean(t->old_gen));
	}
	return j;
}

static const char *const deploy_kinds[] = {
    [SIM_DEPLOY_START] = "StartApplication",
    [SIM_DEPLOY_SCALE] = "ScaleApplication",
    [SIM_DEPLOY_RESTART] = "RestartApplication",
    [SIM_DEPLOY_STOP] = "StopApplication",
};

json_t *sim_dump(bool internals)
{
	json_t *root = json_object();
	json_t *apps = json_array();
	json_t *pods = json_array();
	struct sim_app *a;
	struct sim_task *t;
	struct sim_pod *p;
	int i;

	json_object_set_new(root, "sim",
			    json_pack("{s:i,s:i,s:i,s:O}", "staging_ms", sim.staging_ms,
				      "health_delay_ms", sim.health_delay_ms, "kill_grace_ms",
				      sim.kill_grace_ms, "subnets", sim.subnets));
	json_object_set_new(root, "clusterId", json_string(sim.cluster_id));
	json_object_set(root, "agents", sim.agents);
	for (a = sim.apps; a; a = a->next) {
		json_t *j, *tasks, *knobs;

		if (a->removing && !internals)
			continue;
		j = json_deep_copy(a->def);
		tasks = json_array();
		knobs = json_deep_copy(a->knobs);
		json_object_set(knobs, "hosts", a->hosts);
		json_object_set_new(j, "sim", knobs);
		if (internals) {
			json_object_set_new(knobs, "effective",
					    json_pack("{s:i,s:i,s:i}", "staging_ms", a->staging_ms,
						      "health_delay_ms", a->health_delay_ms,
						      "kill_grace_ms", a->kill_grace_ms));
			json_object_set_new(knobs, "removing", json_boolean(a->removing));
			if (a->deploy)
				json_object_set_new(
				    knobs, "deployment",
				    json_pack("{s:s,s:s,s:s,s:i}", "id", a->deploy->id, "action",
					      deploy_kinds[a->deploy->kind], "version",
					      a->deploy->version, "oldKilled", a->deploy->killed));
		}
		for (t = a->tasks; t; t = t->next)
			json_array_append_new(tasks, task_dump(a, t, internals));
		json_object_set_new(j, "tasks", tasks);
		json_array_append_new(apps, j);
	}
	json_object_set_new(root, "apps", apps);
	for (p = sim.pods; p; p = p->next) {
		json_t *j = json_deep_copy(p->spec);
		json_t *insts = json_array();

		for (i = 0; i < p->n_inst; i++)
			json_array_append_new(insts, json_pack("{s:s,s:b}", "host", p->inst[i].host,
							       "healthy", p->inst[i].healthy));
		json_object_set_new(j, "instances", insts);
		json_array_append_new(pods, j);
	}
	json_object_set_new(root, "pods", pods);
	return root;
}

/*
 * The state file plays ZooKeeper: what a leader persisted is what the next
 * leader (a restarted or promoted simulator) starts from. Health is not in it on
 * purpose; Marathon keeps health in the leader's memory only.
 */
int sim_state_save(void)
{
	char tmp[4096];
	json_t *root;
	int rc;

	if (!sim.state_file || sim.standby_of[0])
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", sim.state_file);
	root = sim_dump(false);
	rc = json_dump_file(root, tmp, JSON_INDENT(1));
	json_decref(root);
	if (rc || rename(tmp, sim.state_file)) {
		rc = -errno;
		sim_log("state file %s: write: %s", sim.state_file, strerror(errno));
		unlink(tmp);
		return rc ? rc : -EIO;
	}
	return 0;
}
