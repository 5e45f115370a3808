// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The HTTP face of marathon-sim: Marathon's read API (/ping, /v2/info,
 * /v2/leader, /v2/apps[...], /v2/tasks, /v2/pods[...], /v2/deployments,
 * /v2/events) in Marathon's shapes, its leader/standby and leaderless
 * behaviour, and the /sim/ control API that tests use to make things happen.
 * One MHD daemon per listener, a thread per connection; handlers take sim.lock
 * for the whole request so that every answer is a consistent snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "sim.h"

#define BODY_MAX (1u << 20)

struct sim_req {
	char *uri; /* as sent, with the query string */
	char *body;
	size_t len, cap;
	bool started;
	bool too_big;
	json_t *json; /* parsed body, when it is a JSON object */
	struct MHD_Connection *conn;
	const char *method;
	char remote[64];
};

static int control_marker;

/* ---- responses ---- */

static enum MHD_Result reply(struct sim_req *r, unsigned int code, const char *ctype, char *body,
			     size_t len, const char *location)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool leader_hdr, took = false;

	resp = sim_fault_response(r->uri, false, body, len, &code, &took);
	if (resp || took) {
		if (!resp)
			return MHD_NO;
		if (!took)
			free(body);
	} else {
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(body);
			return MHD_NO;
		}
		if (ctype)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	}
	if (location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	/* Marathon's LeaderProxyFilter marks every answer the leader gives itself. */
	leader_hdr = strncmp(r->uri, "/sim/", 5) && !sim.standby_of[0] && sim.down == SIM_UP;
	if (leader_hdr)
		MHD_add_response_header(resp, "X-Marathon-Leader", sim.self_url);
	ret = MHD_queue_response(r->conn, code, resp);
	MHD_destroy_response(resp);
	sim_log("%s %s -> %u (%zu bytes)", r->method, r->uri, code, len);
	return ret;
}

static enum MHD_Result reply_text(struct sim_req *r, unsigned int code, const char *ctype,
				  const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(r, code, ctype, body, strlen(body), NULL);
}

static enum MHD_Result reply_json(struct sim_req *r, unsigned int code, json_t *j)
{
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!body)
		return reply_text(r, 500, "application/json", "{\"message\":\"out of memory\"}");
	return reply(r, code, "application/json", body, strlen(body), NULL);
}

/* A growing body for documents dumped piece by piece. */
struct dump_buf {
	char *buf;
	size_t len, cap;
};

static int dump_put(struct dump_buf *d, const char *p, size_t n)
{
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap : 1 << 16;
		char *nb;

		while (cap < d->len + n)
			cap *= 2;
		nb = realloc(d->buf, cap);
		if (!nb)
			return -1;
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

static int dump_cb(const char *p, size_t n, void *data)
{
	return dump_put(data, p, n);
}

static enum MHD_Result reply_msg(struct sim_req *r, unsigned int code, const char *msg)
{
	return reply_json(r, code, json_pack("{s:s}", "message", msg));
}

/* ---- request parameters: JSON body first, then the query string ---- */

static const char *param(struct sim_req *r, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(r->json, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, len, "%g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* -ENOENT when absent, -EINVAL when not a number; milliseconds may be fractional. */
static int param_int(struct sim_req *r, const char *key, int *out)
{
	char buf[64], *end;
	const char *s = param(r, key, buf, sizeof(buf));
	double d;

	if (!s || !*s)
		return -ENOENT;
	d = strtod(s, &end);
	if (*end || d < -1e9 || d > 1e9)
		return -EINVAL;
	*out = (int)d;
	return 0;
}

static int param_bool(struct sim_req *r, const char *key, bool *out)
{
	char buf[64];
	const char *s = param(r, key, buf, sizeof(buf));

	if (!s)
		return -ENOENT;
	if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes") || !*s)
		*out = true;
	else if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

struct collect {
	const char *key;
	json_t *values;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct collect *c = cls;

	(void)kind;
	if (!strcmp(key, c->key) && value)
		json_array_append_new(c->values, json_string(value));
	return MHD_YES;
}

/* Every value of a repeated query parameter (event_type, embed, status). */
static json_t *query_all(struct sim_req *r, const char *key)
{
	struct collect c = {.key = key, .values = json_array()};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
	return c.values;
}

static bool json_array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (!strcmp(json_string_value(v), s))
			return true;
	}
	return false;
}

struct accept_scan {
	bool event_stream;
};

static enum MHD_Result scan_accept(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct accept_scan *a = cls;

	(void)kind;
	if (!strcasecmp(key, MHD_HTTP_HEADER_ACCEPT) && value &&
	    !strcmp(value, "text/event-stream"))
		a->event_stream = true;
	return MHD_YES;
}

/* ---- Marathon endpoints ---- */

static const char jetty_405[] =
    "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=ISO-8859-1\"/>\n"
    "<title>Error 405 </title>\n</head>\n<body>\n<h2>HTTP ERROR: 405</h2>\n"
    "<p>Problem accessing /v2/events. Reason:\n"
    "<pre>    HTTP method GET is not supported by this URL</pre></p>\n"
    "<hr /><a href=\"http://eclipse.org/jetty\">Powered by Jetty:// 9.4.z</a><hr/>\n"
    "</body>\n</html>\n";

static enum MHD_Result get_events(struct sim_req *r)
{
	struct accept_scan acc = {false};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	json_t *filters;
	bool mute = false;

	/* Jetty wants one Accept value equal to text/event-stream, nothing looser. */
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, scan_accept, &acc);
	if (!acc.event_stream)
		return reply_text(r, 405, "text/html;charset=ISO-8859-1", jetty_405);
	if (!sim_fault_stream_silent(r->uri)) {
		unsigned int code;
		bool took;

		resp = sim_fault_response(r->uri, true, NULL, 0, &code, &took);
		if (resp) {
			ret = MHD_queue_response(r->conn, code, resp);
			MHD_destroy_response(resp);
			sim_log("%s %s -> %u (fault)", r->method, r->uri, code);
			return ret;
		}
	} else {
		mute = true;
	}
	filters = query_all(r, "event_type");
	resp = sim_stream_open(r->conn, r->remote, filters, mute);
	json_decref(filters);
	if (!resp)
		return reply_msg(r, 500, "cannot open event stream");
	MHD_add_response_header(resp, "X-Marathon-Leader", sim.self_url);
	sim_log("%s %s -> 200 (event stream)", r->method, r->uri);
	/*
	 * MHD calls stream_read with the response's mutex held and stream_read
	 * takes sim.lock; queueing takes the response's mutex too, so do it
	 * without sim.lock to keep one lock order. Until it is queued nothing
	 * but this thread holds the response, so the stream cannot go away.
	 */
	pthread_mutex_unlock(&sim.lock);
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	pthread_mutex_lock(&sim.lock);
	return ret;
}

static void leader_hostport(char *out, size_t len)
{
	const char *u = sim.standby_of[0] ? sim.standby_of : sim.self_url;
	const char *p = strstr(u, "://");

	snprintf(out, len, "%s", p ? p + 3 : u);
	out[strcspn(out, "/")] = '\0';
}

static enum MHD_Result get_info(struct sim_req *r)
{
	char leader[256];
	json_t *j;

	leader_hostport(leader, sizeof(leader));
	j = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s}", "name", "marathon", "version",
		      SIM_MARATHON_VERSION, "buildref", SIM_NAME, "elected", !sim.standby_of[0],
		      "leader", leader, "frameworkId", sim.framework_id);
	json_object_set_new(j, "marathon_config",
			    json_pack("{s:b,s:s,s:s,s:[],s:s,s:b,s:s,s:i,s:i,s:s,s:s,s:i,s:i}",
				      "checkpoint", 1, "default_network_name", "dcos", "executor",
				      "//cmd", "features", "framework_name", "marathon", "ha", 1,
				      "hostname", sim.listen_host, "local_port_max", 20000,
				      "local_port_min", 10000, "master", "zk://zk.sim:2181/mesos",
				      "mesos_role", "*", "task_launch_timeout", 300000,
				      "reconciliation_interval", 600000));
	json_object_set_new(j, "zookeeper_config",
			    json_pack("{s:s,s:i,s:i}", "zk", "zk://zk.sim:2181/marathon",
				      "zk_session_timeout", 10000, "zk_timeout", 10000));
	json_object_set_new(j, "http_config",
			    json_pack("{s:i,s:i}", "http_port", sim.port, "https_port", 8443));
	return reply_json(r, 200, j);
}

static bool label_match(const json_t *labels, const char *sel)
{
	char key[256];
	const char *op, *val;
	const char *have;
	size_t klen;
	bool neg;

	op = strstr(sel, "==");
	neg = false;
	if (!op) {
		op = strstr(sel, "!=");
		neg = op != NULL;
	}
	klen = op ? (size_t)(op - sel) : strlen(sel);
	snprintf(key, sizeof(key), "%.*s", (int)klen, sel);
	have = json_string_value(json_object_get(labels, key));
	if (!op)
		return have != NULL;
	val = op + 2;
	return neg ? !have || strcmp(have, val) : have && !strcmp(have, val);
}

static bool embed_has(const json_t *embeds, const char *what)
{
	static const char *const prefixes[] = {"", "app.", "apps.", "group.apps."};
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(want, sizeof(want), "%s%s", prefixes[i], what);
		if (json_array_has(embeds, want))
			return true;
	}
	return false;
}

static enum MHD_Result get_apps(struct sim_req *r)
{
	json_t *embeds = query_all(r, "embed");
	bool tasks = embed_has(embeds, "tasks") || embed_has(embeds, "failures");
	bool readiness = embed_has(embeds, "readiness");
	const char *id = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "id");
	const char *label = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "label");
	struct dump_buf out = {0};
	struct sim_app *a;
	bool first = true;
	int err = 0;

	json_decref(embeds);
	/*
	 * One app's tree at a time, dumped straight into the body: a tree of all
	 * 10,000 apps costs gigabytes of small allocations and seconds to build.
	 */
	err |= dump_put(&out, "{\"apps\":[", 9);
	for (a = sim.apps; a; a = a->next) {
		json_t *j;

		if (a->removing)
			continue;
		if (id && !strstr(a->id, id))
			continue;
		if (label && !label_match(json_object_get(a->def, "labels"), label))
			continue;
		j = sim_app_json(a, tasks, readiness);
		if (!first)
			err |= dump_put(&out, ",", 1);
		first = false;
		err |= !j || json_dump_callback(j, dump_cb, &out, JSON_COMPACT);
		json_decref(j);
	}
	err |= dump_put(&out, "]}", 3); /* with the NUL */
	if (err) {
		free(out.buf);
		return reply_text(r, 500, "application/json", "{\"message\":\"out of memory\"}");
	}
	return reply(r, 200, "application/json", out.buf, out.len - 1, NULL);
}

static enum MHD_Result app_not_found(struct sim_req *r, const char *id)
{
	char msg[SIM_ID_LEN + 32];

	snprintf(msg, sizeof(msg), "App '%s%s' does not exist", id[0] == '/' ? "" : "/", id);
	return reply_msg(r, 404, msg);
}

static enum MHD_Result get_app(struct sim_req *r, const char *rest)
{
	char id[SIM_ID_LEN];
	size_t n = strlen(rest);
	bool tasks_only = false;
	struct sim_app *a;
	struct sim_task *t;
	json_t *arr;

	snprintf(id, sizeof(id), "%s", rest);
	if (n > 6 && !strcmp(rest + n - 6, "/tasks")) {
		id[n - 6] = '\0';
		tasks_only = true;
	}
	a = sim_app_find(id, false);
	if (!a)
		return app_not_found(r, id);
	if (!tasks_only)
		return reply_json(r, 200, json_pack("{s:o}", "app", sim_app_json(a, true, false)));
	arr = json_array();
	for (t = a->tasks; t; t = t->next)
		json_array_append_new(arr, sim_task_json(a, t));
	return reply_json(r, 200, json_pack("{s:o}", "tasks", arr));
}

static enum MHD_Result get_tasks(struct sim_req *r)
{
	json_t *want = query_all(r, "status");
	json_t *want2 = query_all(r, "status[]");
	json_t *arr = json_array();
	struct sim_app *a;
	struct sim_task *t;
	char lc[32];
	size_t i;

	json_array_extend(want, want2);
	json_decref(want2);
	for (a = sim.apps; a; a = a->next) {
		for (t = a->tasks; t; t = t->next) {
			/* ?status=running|staging|... compares with TASK_<UPPER>. */
			snprintf(lc, sizeof(lc), "%s", sim_state_name(t->state) + 5);
			for (i = 0; lc[i]; i++)
				lc[i] = (char)(lc[i] | 0x20);
			if (json_array_size(want) && !json_array_has(want, lc))
				continue;
			json_array_append_new(arr, sim_task_json(a, t));
		}
	}
	json_decref(want);
	return reply_json(r, 200, json_pack("{s:o}", "tasks", arr));
}

static enum MHD_Result get_pods(struct sim_req *r, const char *rest)
{
	char id[SIM_ID_LEN];
	const char *sfx;
	json_t *j;

	if (!*rest || !strcmp(rest, "/"))
		return reply_json(r, 200, sim_pods_json());
	if (!strcmp(rest, "/::status"))
		return reply_json(r, 200, sim_pods_status_json(NULL));
	sfx = strstr(rest, "::status");
	snprintf(id, sizeof(id), "%.*s", (int)(sfx ? (size_t)(sfx - rest) : strlen(rest)), rest);
	j = sim_pods_status_json(id);
	if (!j) {
		char msg[SIM_ID_LEN + 32];

		snprintf(msg, sizeof(msg), "Pod '%s' does not exist", id);
		return reply_msg(r, 404, msg);
	}
	if (!sfx) {
		json_t *spec = json_incref(json_object_get(j, "spec"));

		json_decref(j);
		j = spec;
	}
	return reply_json(r, 200, j);
}

static enum MHD_Result get_deployments(struct sim_req *r)
{
	static const char *const actions[] = {"StartApplication", "ScaleApplication",
					      "RestartApplication", "StopApplication"};
	json_t *arr = json_array();
	struct sim_app *a;

	for (a = sim.apps; a; a = a->next) {
		const struct sim_deploy *d = a->deploy;

		if (!d)
			continue;
		json_array_append_new(
		    arr,
		    json_pack("{s:s,s:s,s:[s],s:[],s:[{s:[{s:s,s:s}]}],s:[{s:s,s:s,s:[]}],"
			      "s:i,s:i}",
			      "id", d->id, "version", d->version, "affectedApps", a->id,
			      "affectedPods", "steps", "actions", "action", actions[d->kind], "app",
			      a->id, "currentActions", "action", actions[d->kind], "app", a->id,
			      "readinessCheckResults", "currentStep", 1, "totalSteps", 1));
	}
	return reply_json(r, 200, arr);
}

/* ---- /sim/ control API ---- */

static struct sim_task *pick_task(struct sim_req *r, struct sim_app **app_out, char *err,
				  size_t errlen)
{
	char buf[64];
	const char *id = param(r, "task", buf, sizeof(buf));
	const char *app_id;
	struct sim_app *a;
	struct sim_task *t;
	int idx = 0, i = 0;

	if (id) {
		t = sim_task_find(id, app_out);
		if (!t)
			snprintf(err, errlen, "task '%s' does not exist", id);
		return t;
	}
	app_id = param(r, "app", buf, sizeof(buf));
	a = sim_app_find(app_id, false);
	if (!a) {
		snprintf(err, errlen, "give task=ID, or app=ID with index=N");
		return NULL;
	}
	param_int(r, "index", &idx);
	for (t = a->tasks; t; t = t->next) {
		if (i++ == idx) {
			*app_out = a;
			return t;
		}
	}
	snprintf(err, errlen, "app %s has no task %d", a->id, idx);
	return NULL;
}

static json_t *ok_json(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static enum MHD_Result err_reply(struct sim_req *r, int rc, const char *msg)
{
	unsigned int code = rc == -ENOENT ? 404 : rc == -EBUSY || rc == -EEXIST ? 409 : 400;

	return reply_msg(r, code, msg);
}

static enum MHD_Result ctl_scale(struct sim_req *r)
{
	char err[256] = "", buf[SIM_ID_LEN];
	struct sim_app *a = sim_app_find(param(r, "app", buf, sizeof(buf)), false);
	int n, grace = -1, rc;

	if (!a)
		return err_reply(r, -ENOENT, "no such app (app=ID)");
	if (param_int(r, "instances", &n))
		return err_reply(r, -EINVAL, "instances=N required");
	param_int(r, "grace_ms", &grace);
	rc = sim_app_scale(a, n, grace, err, sizeof(err));
	if (rc)
		return err_reply(r, rc, err);
	return reply_json(r, 200,
			  json_pack("{s:b,s:s,s:s}", "ok", 1, "deploymentId",
				    a->deploy ? a->deploy->id : "", "version", a->version));
}

static enum MHD_Result ctl_kill(struct sim_req *r)
{
	char err[256] = "", id[SIM_ID_LEN];
	struct sim_app *a = NULL;
	struct sim_task *t = pick_task(r, &a, err, sizeof(err));
	bool scale = false;
	int grace = -1, rc, n;

	if (!t)
		return err_reply(r, -ENOENT, err);
	param_int(r, "grace_ms", &grace);
	param_bool(r, "scale", &scale);
	snprintf(id, sizeof(id), "%s", t->id);
	if (scale) {
		/* DELETE /v2/apps/{id}/tasks/{task}?scale=true: one instance fewer. */
		n = (int)json_integer_value(json_object_get(a->def, "instances"));
		json_object_set_new(a->def, "instances", json_integer(n > 0 ? n - 1 : 0));
	}
	rc = sim_task_kill(a, t, grace, !scale);
	if (rc == -EALREADY)
		return err_reply(r, -EBUSY, "task is already being killed");
	if (rc)
		return err_reply(r, rc, "kill failed");
	return reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "task", id));
}

static enum MHD_Result ctl_health(struct sim_req *r)
{
	char err[256] = "", buf[256];
	struct sim_app *a = NULL;
	struct sim_task *t = pick_task(r, &a, err, sizeof(err));
	bool alive;
	int rc;

	if (!t)
		return err_reply(r, -ENOENT, err);
	if (param_bool(r, "alive", &alive))
		return err_reply(r, -EINVAL, "alive=true|false required");
	rc = sim_task_set_health(a, t, alive, param(r, "cause", buf, sizeof(buf)));
	if (rc == -ENOENT)
		return err_reply(r, -EINVAL, "app has no health checks");
	return reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "task", t->id));
}

static enum MHD_Result ctl_task_state(struct sim_req *r)
{
	char err[256] = "", buf[64], id[SIM_ID_LEN];
	struct sim_app *a = NULL;
	struct sim_task *t = pick_task(r, &a, err, sizeof(err));
	enum sim_task_state s;

	if (!t)
		return err_reply(r, -ENOENT, err);
	if (sim_state_parse(param(r, "state", buf, sizeof(buf)), &s))
		return err_reply(r, -EINVAL, "state=TASK_... required");
	snprintf(id, sizeof(id), "%s", t->id);
	sim_task_set_state(a, t, s);
	return reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "task", id));
}

static enum MHD_Result ctl_deploy(struct sim_req *r)
{
	char err[256] = "", buf[SIM_ID_LEN];
	struct sim_app *a = sim_app_find(param(r, "app", buf, sizeof(buf)), false);
	json_t *patch = json_object_get(r->json, "patch");
	int grace = -1, rc;

	if (!a)
		return err_reply(r, -ENOENT, "no such app (app=ID)");
	if (patch && !json_is_object(patch))
		return err_reply(r, -EINVAL, "patch must be a JSON object");
	param_int(r, "grace_ms", &grace);
	rc = sim_app_restart(a, patch, grace, err, sizeof(err));
	if (rc)
		return err_reply(r, rc, err);
	return reply_json(r, 200,
			  json_pack("{s:b,s:s,s:s}", "ok", 1, "deploymentId",
				    a->deploy ? a->deploy->id : "", "version", a->version));
}

static enum MHD_Result ctl_add_app(struct sim_req *r)
{
	json_t *spec = json_object_get(r->json, "app");
	char err[256] = "";
	struct sim_app *a;
	int rc;

	if (!json_is_object(spec))
		spec = r->json;
	if (!json_is_object(spec))
		return err_reply(r, -EINVAL, "body must be an app definition (JSON object)");
	rc = sim_app_add(spec, &a, err, sizeof(err));
	if (rc)
		return err_reply(r, rc, err);
	return reply_json(r, 200, json_pack("{s:b,s:s}", "ok", 1, "app", a->id));
}

static enum MHD_Result ctl_remove_app(struct sim_req *r)
{
	char buf[SIM_ID_LEN];
	struct sim_app *a = sim_app_find(param(r, "app", buf, sizeof(buf)), false);
	int grace = -1, rc;

	if (!a)
		return err_reply(r, -ENOENT, "no such app (app=ID)");
	param_int(r, "grace_ms", &grace);
	rc = sim_app_remove(a, grace);
	if (rc)
		return err_reply(r, rc, "remove failed");
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_down(struct sim_req *r)
{
	char buf[64];
	const char *mode = param(r, "mode", buf, sizeof(buf));
	int ms = -1;

	if (!mode)
		mode = "502";
	if (strcmp(mode, "502") && strcmp(mode, "close"))
		return err_reply(r, -EINVAL, "mode=502|close");
	param_int(r, "ms", &ms);
	sim.down = !strcmp(mode, "close") ? SIM_DOWN_CLOSE : SIM_DOWN_502;
	sim.down_gen++;
	/* A leader that loses leadership closes every event stream. */
	sim_streams_cut();
	if (sim.down == SIM_DOWN_CLOSE) {
		sim.want_listen = false;
		sim_wake_main();
	}
	if (ms >= 0)
		sim_timer_add((uint64_t)ms, SIM_T_UP, 0, sim.down_gen);
	sim_log("down (%s)%s", mode, ms >= 0 ? " for a while" : "");
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_up(struct sim_req *r)
{
	sim.down = SIM_UP;
	sim.want_listen = true;
	sim_wake_main();
	sim_log("up");
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_silence(struct sim_req *r)
{
	bool on = true;
	struct sim_stream *st;

	param_bool(r, "on", &on);
	sim.silent = on;
	/* Heartbeats resume on their own period, not all at once. */
	for (st = sim.streams; st; st = st->next)
		st->next_hb = sim_now_ms() + (uint64_t)sim.heartbeat_ms;
	pthread_cond_broadcast(&sim.stream_cond);
	sim_log("heartbeats %s", on ? "off" : "on");
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_drop_health(struct sim_req *r)
{
	int ms = -1;

	param_int(r, "ms", &ms);
	sim_health_drop_all(ms);
	return reply_json(r, 200, ok_json());
}

/* A standby takes over: it reads what the old leader persisted, without health. */
static enum MHD_Result ctl_promote(struct sim_req *r)
{
	char err[256] = "";
	json_error_t jerr;
	json_t *root;
	int rc;

	if (!sim.standby_of[0])
		return err_reply(r, -EINVAL, "already the leader");
	sim.standby_of[0] = '\0';
	if (sim.state_file) {
		root = json_load_file(sim.state_file, 0, &jerr);
		if (!root) {
			snprintf(err, sizeof(err), "state file %s: %s", sim.state_file, jerr.text);
			return err_reply(r, -EINVAL, err);
		}
		sim_model_clear();
		/* slaveIds are agent indexes: take the old leader's order with its tasks. */
		json_array_clear(sim.agents);
		json_object_clear(sim.subnets);
		rc = sim_scenario_load(root, true, err, sizeof(err));
		json_decref(root);
		if (rc)
			return err_reply(r, rc, err);
	} else {
		sim_health_drop_all(-1);
	}
	sim_log("promoted to leader");
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_demote(struct sim_req *r)
{
	char buf[256];
	const char *leader = param(r, "leader", buf, sizeof(buf));

	if (!leader || strncmp(leader, "http", 4))
		return err_reply(r, -EINVAL, "leader=http://HOST:PORT required");
	snprintf(sim.standby_of, sizeof(sim.standby_of), "%s", leader);
	sim.standby_of[strcspn(sim.standby_of, "?#")] = '\0';
	while (sim.standby_of[0] && sim.standby_of[strlen(sim.standby_of) - 1] == '/')
		sim.standby_of[strlen(sim.standby_of) - 1] = '\0';
	sim_streams_cut();
	sim_log("demoted: standby of %s", sim.standby_of);
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_emit(struct sim_req *r)
{
	const char *type = json_string_value(json_object_get(r->json, "eventType"));
	char name[128];
	json_t *ev;

	if (!type)
		return err_reply(r, -EINVAL, "body must be an event with an eventType");
	snprintf(name, sizeof(name), "%s", type);
	ev = json_deep_copy(r->json);
	/* publish appends both again, last, with a fresh timestamp */
	json_object_del(ev, "eventType");
	json_object_del(ev, "timestamp");
	sim_event_publish(ev, name);
	return reply_json(r, 200, ok_json());
}

static enum MHD_Result ctl_fault(struct sim_req *r)
{
	char b1[SIM_ID_LEN], b2[32], b3[512], err[256] = "";
	int count = -1, bps = 1, bytes = 0, rc;

	param_int(r, "count", &count);
	param_int(r, "bps", &bps);
	param_int(r, "bytes", &bytes);
	rc = sim_fault_set(param(r, "path", b1, sizeof(b1)), param(r, "mode", b2, sizeof(b2)),
			   count, bps, bytes, param(r, "location", b3, sizeof(b3)), err,
			   sizeof(err));
	if (rc)
		return err_reply(r, rc, err);
	return reply_json(r, 200, json_pack("{s:b,s:o}", "ok", 1, "faults", sim_fault_json()));
}

static enum MHD_Result ctl_state(struct sim_req *r)
{
	static const char *const downs[] = {"up", "502", "close"};
	json_t *j = sim_dump(true);

	json_object_set_new(j, "leader", json_boolean(!sim.standby_of[0]));
	json_object_set_new(j, "standbyOf",
			    sim.standby_of[0] ? json_string(sim.standby_of) : json_null());
	json_object_set_new(j, "url", json_string(sim.self_url));
	json_object_set_new(j, "down", json_string(downs[sim.down]));
	json_object_set_new(j, "silent", json_boolean(sim.silent));
	json_object_set_new(j, "heartbeatMs", json_integer(sim.heartbeat_ms));
	json_object_set_new(j, "streams", sim_streams_json());
	json_object_set_new(j, "timers", json_integer(sim_timer_count()));
	json_object_set_new(j, "faults", sim_fault_json());
	return reply_json(r, 200, j);
}

static const struct {
	const char *path;
	bool mutates;
	enum MHD_Result (*fn)(struct sim_req *r);
} ctl_routes[] = {
    {"/sim/state", false, ctl_state},
    {"/sim/scale", true, ctl_scale},
    {"/sim/kill", true, ctl_kill},
    {"/sim/health", true, ctl_health},
    {"/sim/task-state", true, ctl_task_state},
    {"/sim/deploy", true, ctl_deploy},
    {"/sim/drop-health", true, ctl_drop_health},
    {"/sim/down", true, ctl_down},
    {"/sim/up", true, ctl_up},
    {"/sim/cut-streams", true, NULL},
    {"/sim/silence", true, ctl_silence},
    {"/sim/add-app", true, ctl_add_app},
    {"/sim/remove-app", true, ctl_remove_app},
    {"/sim/promote", true, ctl_promote},
    {"/sim/demote", true, ctl_demote},
    {"/sim/emit", true, ctl_emit},
    {"/sim/fault", true, ctl_fault},
};

static enum MHD_Result control(struct sim_req *r, const char *url, const char *method)
{
	enum MHD_Result ret;
	size_t i;

	for (i = 0; i < sizeof(ctl_routes) / sizeof(ctl_routes[0]); i++) {
		if (strcmp(url, ctl_routes[i].path))
			continue;
		if (ctl_routes[i].mutates && strcmp(method, "POST"))
			return reply_msg(r, 405, "use POST");
		if (!ctl_routes[i].fn) {
			sim_streams_cut();
			return reply_json(r, 200, ok_json());
		}
		ret = ctl_routes[i].fn(r);
		if (ctl_routes[i].mutates)
			sim_state_save();
		return ret;
	}
	return reply_msg(r, 404, "unknown /sim/ command");
}

/* ---- dispatch ---- */

static enum MHD_Result route(struct sim_req *r, const char *url, const char *method,
			     bool control_only)
{
	char loc[4096];

	if (!strncmp(url, "/sim/", 5))
		return control(r, url, method);
	if (control_only)
		return reply_msg(r, 404, "control listener: /sim/ only");
	/* Every Marathon answers /ping itself, leader or not. */
	if (!strcmp(url, "/ping"))
		return reply_text(r, 200, "text/plain", "pong");
	if (sim.auth_want) {
		const char *have = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_AUTHORIZATION);

		if (!have || strcmp(have, sim.auth_want)) {
			sim_log("%s %s: %s credentials", method, url, have ? "wrong" : "no");
			return reply_msg(r, 401, "Not Authenticated!");
		}
	}
	if (sim.down != SIM_UP)
		return reply_msg(r, 502, "Could not determine the current leader");
	if (sim.standby_of[0]) {
		/* Marathon redirects /v2/events and proxies the rest; we redirect all. */
		snprintf(loc, sizeof(loc), "%s%s", sim.standby_of, r->uri);
		return reply(r, 302, NULL, strdup(""), 0, loc);
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_msg(r, 405, "HTTP 405 Method Not Allowed");
	if (!strcmp(url, "/v2/events"))
		return get_events(r);
	if (!strcmp(url, "/v2/info"))
		return get_info(r);
	if (!strcmp(url, "/v2/leader")) {
		char leader[256];

		leader_hostport(leader, sizeof(leader));
		return reply_json(r, 200, json_pack("{s:s}", "leader", leader));
	}
	if (!strcmp(url, "/v2/apps") || !strcmp(url, "/v2/apps/"))
		return get_apps(r);
	if (!strncmp(url, "/v2/apps/", 9))
		return get_app(r, url + 8);
	if (!strcmp(url, "/v2/tasks"))
		return get_tasks(r);
	if (!strncmp(url, "/v2/pods", 8))
		return get_pods(r, url + 8);
	if (!strcmp(url, "/v2/deployments"))
		return get_deployments(r);
	return reply_msg(r, 404, "HTTP 404 Not Found");
}

static void *req_begin(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct sim_req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)conn;
	if (!r)
		return NULL;
	r->uri = strdup(uri ? uri : "/");
	return r;
}

static void req_end(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct sim_req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	free(r->uri);
	free(r->body);
	json_decref(r->json);
	free(r);
	*con_cls = NULL;
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)len);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct sim_req *r = *con_cls;
	enum MHD_Result ret;
	json_error_t jerr;

	(void)version;
	if (!r)
		return MHD_NO;
	r->conn = conn;
	r->method = method;
	if (!r->started) {
		r->started = true;
		client_addr(conn, r->remote, sizeof(r->remote));
		/* Bodies arrive in later calls; answer once the last one is in. */
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_big || r->len + n > BODY_MAX) {
			r->too_big = true;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			char *nb = realloc(r->body, r->len + n + 1);

			if (!nb)
				return MHD_NO;
			r->body = nb;
			r->cap = r->len + n + 1;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}

	pthread_mutex_lock(&sim.lock);
	if (r->too_big) {
		ret = reply_msg(r, 413, "request body too large");
	} else if (r->len && !(r->json = json_loadb(r->body, r->len, 0, &jerr))) {
		ret = reply_msg(r, 400, "body is not valid JSON");
	} else if (r->json && !json_is_object(r->json)) {
		ret = reply_msg(r, 400, "body must be a JSON object");
	} else {
		ret = route(r, url, method, cls == &control_marker);
	}
	pthread_mutex_unlock(&sim.lock);
	return ret;
}

struct MHD_Daemon *sim_http_start(int listen_fd, bool control_only)
{
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	/* HTTPS on the Marathon listener only: the control listener stays plain HTTP. */
	if (sim.tls_cert && !control_only)
		return MHD_start_daemon(
		    flags | MHD_USE_TLS, 0, NULL, NULL, handle, NULL, MHD_OPTION_LISTEN_SOCKET,
		    listen_fd, MHD_OPTION_URI_LOG_CALLBACK, req_begin, NULL,
		    MHD_OPTION_NOTIFY_COMPLETED, req_end, NULL, MHD_OPTION_HTTPS_MEM_KEY,
		    sim.tls_key, MHD_OPTION_HTTPS_MEM_CERT, sim.tls_cert, MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, handle,
				control_only ? &control_marker : NULL, MHD_OPTION_LISTEN_SOCKET,
				listen_fd, MHD_OPTION_URI_LOG_CALLBACK, req_begin, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, req_end, NULL, MHD_OPTION_END);
}
