// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Everything that changes the simulated cluster, and the events each change
 * makes Marathon emit: tasks moving TASK_STAGING -> TASK_RUNNING -> (first
 * health result) and TASK_KILLING -> (grace) -> TASK_KILLED -> gone; health
 * flips; the leader losing every health result; scaling; one-by-one rolling
 * restarts; adding and deleting apps. Deployments are driven by
 * sim_app_progress(), which re-reads the app after every change instead of
 * remembering what it waits for, so an operator killing a task in the middle
 * of a deployment cannot wedge it. Callers hold sim.lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Whoever drives /sim/ plays the operator; Marathon reports the caller's IP. */
#define SIM_CLIENT_IP "198.18.0.1"

static const char *const actions[] = {
    [SIM_DEPLOY_START] = "StartApplication",
    [SIM_DEPLOY_SCALE] = "ScaleApplication",
    [SIM_DEPLOY_RESTART] = "RestartApplication",
    [SIM_DEPLOY_STOP] = "StopApplication",
};

/* ---- events ---- */

static void emit_status_update(const struct sim_app *app, const struct sim_task *t)
{
	json_t *ev = sim_event_new();

	json_object_set_new(ev, "slaveId", json_string(t->slave_id));
	json_object_set_new(ev, "taskId", json_string(t->id));
	json_object_set_new(ev, "taskStatus", json_string(sim_state_name(t->state)));
	json_object_set_new(ev, "message", json_string(""));
	json_object_set_new(ev, "appId", json_string(app->id));
	json_object_set_new(ev, "host", json_string(t->host));
	json_object_set_new(ev, "ipAddresses", sim_task_ips_json(t));
	json_object_set_new(ev, "ports", sim_task_ports_json(t));
	json_object_set_new(ev, "version", json_string(t->version));
	sim_event_publish(ev, "status_update_event");
}

static void emit_instance_changed(const struct sim_app *app, const struct sim_task *t)
{
	json_t *ev = sim_event_new();

	json_object_set_new(ev, "instanceId", json_string(t->instance_id));
	json_object_set_new(ev, "condition", json_string(sim_condition_name(t->state)));
	json_object_set_new(ev, "runSpecId", json_string(app->id));
	json_object_set_new(ev, "agentId", json_string(t->slave_id));
	json_object_set_new(ev, "host", json_string(t->host));
	json_object_set_new(ev, "runSpecVersion", json_string(t->version));
	sim_event_publish(ev, "instance_changed_event");
}

static void emit_task_state(const struct sim_app *app, const struct sim_task *t)
{
	emit_status_update(app, t);
	emit_instance_changed(app, t);
}

/* A health transition: the per-check event, then the per-instance aggregate. */
static void emit_health(const struct sim_app *app, const struct sim_task *t)
{
	json_t *ev = sim_event_new();

	json_object_set_new(ev, "appId", json_string(app->id));
	json_object_set_new(ev, "instanceId", json_string(t->instance_id));
	json_object_set_new(ev, "version", json_string(t->version));
	json_object_set_new(ev, "alive", json_boolean(t->alive));
	sim_event_publish(ev, "health_status_changed_event");

	ev = sim_event_new();
	json_object_set_new(ev, "instanceId", json_string(t->instance_id));
	json_object_set_new(ev, "runSpecId", json_string(app->id));
	json_object_set_new(ev, "healthy", t->hc_known ? json_boolean(t->alive) : json_null());
	json_object_set_new(ev, "runSpecVersion", json_string(t->version));
	sim_event_publish(ev, "instance_health_changed_event");
}

void sim_emit_api_post(const struct sim_app *app, const char *uri)
{
	json_t *ev = sim_event_new();

	json_object_set_new(ev, "clientIp", json_string(SIM_CLIENT_IP));
	json_object_set_new(ev, "uri", json_string(uri));
	json_object_set(ev, "appDefinition", app->def);
	sim_event_publish(ev, "api_post_event");
}

static void emit_group_change(const char *version)
{
	json_t *ev = sim_event_new();

	json_object_set_new(ev, "groupId", json_string("/"));
	json_object_set_new(ev, "version", json_string(version));
	sim_event_publish(ev, "group_change_success");
}

/* The "light" plan format, the only one Marathon 1.8+ emits. */
static json_t *step_json(const struct sim_app *app, const struct sim_deploy *d)
{
	return json_pack("{s:[{s:s,s:s}]}", "actions", "action", actions[d->kind], "app", app->id);
}

static json_t *plan_json(const struct sim_app *app, const struct sim_deploy *d)
{
	return json_pack("{s:s,s:[o],s:s}", "id", d->id, "steps", step_json(app, d), "version",
			 d->version);
}

static void emit_deployment(const struct sim_app *app, const struct sim_deploy *d, const char *type)
{
	json_t *ev = sim_event_new();

	if (!strcmp(type, "deployment_success")) {
		json_object_set_new(ev, "id", json_string(d->id));
		json_object_set_new(ev, "plan", plan_json(app, d));
	} else {
		json_object_set_new(ev, "plan", plan_json(app, d));
		json_object_set_new(ev, "currentStep", step_json(app, d));
	}
	sim_event_publish(ev, type);
}

static void emit_app_terminated(const struct sim_app *app)
{
	json_t *ev = sim_event_new();

	json_object_set_new(ev, "appId", json_string(app->id));
	sim_event_publish(ev, "app_terminated_event");
}

/* ---- deployments ---- */

static int deploy_begin(struct sim_app *app, enum sim_deploy_kind kind, int grace_ms)
{
	struct sim_deploy *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	sim_uuid(d->id);
	d->kind = kind;
	d->grace_ms = grace_ms;
	snprintf(d->version, sizeof(d->version), "%s", app->version);
	free(app->deploy);
	app->deploy = d;
	emit_group_change(d->version);
	emit_deployment(app, d, "deployment_info");
	sim_log("app %s: deployment %s %s started", app->id, d->id, actions[kind]);
	return 0;
}

static void deploy_finish(struct sim_app *app)
{
	struct sim_deploy *d = app->deploy;

	emit_deployment(app, d, "deployment_step_success");
	emit_deployment(app, d, "deployment_success");
	sim_log("app %s: deployment %s %s finished", app->id, d->id, actions[d->kind]);
	app->deploy = NULL;
	free(d);
}

static int app_grace(const struct sim_app *app, int override_ms)
{
	if (override_ms >= 0)
		return override_ms;
	if (app->deploy && app->deploy->grace_ms >= 0)
		return app->deploy->grace_ms;
	return app->kill_grace_ms;
}

static struct sim_task *youngest_active(struct sim_app *app)
{
	struct sim_task *t, *best = NULL;

	for (t = app->tasks; t; t = t->next) {
		if (t->state != SIM_TASK_KILLING && (!best || t->serial > best->serial))
			best = t;
	}
	return best;
}

static void restart_progress(struct sim_app *app)
{
	struct sim_deploy *d = app->deploy;
	struct sim_task *t, *oldest_old = NULL;
	int killing = 0, new_unready = 0, new_ready = 0, old = 0;

	for (t = app->tasks; t; t = t->next) {
		if (t->state == SIM_TASK_KILLING) {
			killing++;
		} else if (t->old_gen) {
			old++;
			if (!oldest_old)
				oldest_old = t;
		} else if (sim_task_ready(app, t)) {
			new_ready++;
		} else {
			new_unready++;
		}
	}
	/* One at a time: a new task is ready before an old one drains. */
	if (killing || new_unready)
		return;
	if (!old) {
		deploy_finish(app);
		return;
	}
	if (new_ready > d->killed) {
		d->killed++;
		sim_task_kill(app, oldest_old, -1, false);
	} else {
		sim_task_launch(app, d->version, false);
	}
}

/* Returns true when the app has been freed. */
static bool stop_progress(struct sim_app *app)
{
	if (app->tasks)
		return false;
	if (app->deploy)
		deploy_finish(app);
	emit_app_terminated(app);
	sim_log("app %s: terminated", app->id);
	sim_app_unlink(app);
	sim_app_free(app);
	return true;
}

void sim_app_progress(struct sim_app *app)
{
	struct sim_task *t;
	int active = 0, killing = 0, unready = 0, want;

	if (app->removing) {
		stop_progress(app);
		return;
	}
	if (!app->deploy)
		return;
	if (app->deploy->kind == SIM_DEPLOY_RESTART) {
		restart_progress(app);
		return;
	}
	for (t = app->tasks; t; t = t->next) {
		if (t->state == SIM_TASK_KILLING) {
			killing++;
			continue;
		}
		active++;
		unready += !sim_task_ready(app, t);
	}
	want = (int)json_integer_value(json_object_get(app->def, "instances"));
	/* A task lost mid-deployment is made up for, as Marathon's scale check would. */
	if (!killing && active < want) {
		for (; active < want; active++)
			sim_task_launch(app, NULL, false);
		return;
	}
	if (!killing && !unready && active == want)
		deploy_finish(app);
}

/* ---- tasks ---- */

void sim_task_launch(struct sim_app *app, const char *version, bool old_gen)
{
	struct sim_task *t = sim_task_new(app, version);

	if (!t)
		return;
	t->old_gen = old_gen;
	sim_log("app %s: task %s staging on %s", app->id, t->id, t->host);
	emit_task_state(app, t);
	sim_timer_add((uint64_t)app->staging_ms, SIM_T_TASK_RUNNING, t->serial, 0);
}

void sim_schedule_probe(struct sim_task *t, int delay_ms)
{
	sim_timer_add((uint64_t)(delay_ms < 0 ? 0 : delay_ms), SIM_T_TASK_PROBE, t->serial, 0);
}

static void task_running(struct sim_app *app, struct sim_task *t)
{
	if (t->state != SIM_TASK_STAGING && t->state != SIM_TASK_STARTING)
		return;
	t->state = SIM_TASK_RUNNING;
	t->ips_visible = true;
	sim_iso_now(t->started_at);
	sim_log("app %s: task %s running", app->id, t->id);
	emit_task_state(app, t);
	if (app->n_health_checks)
		sim_schedule_probe(t, app->health_delay_ms);
}

/* The leader's next probe after a gap (new task, or a new leader) finds want_alive. */
static void task_probe(struct sim_app *app, struct sim_task *t)
{
	char now[SIM_TS_LEN];

	if (!app->n_health_checks || t->hc_known || t->state != SIM_TASK_RUNNING)
		return;
	sim_iso_now(now);
	t->hc_known = true;
	t->alive = t->want_alive;
	if (t->alive) {
		snprintf(t->first_success, sizeof(t->first_success), "%s", now);
		snprintf(t->last_success, sizeof(t->last_success), "%s", now);
		t->consecutive_failures = 0;
	} else {
		snprintf(t->last_failure, sizeof(t->last_failure), "%s", now);
		t->consecutive_failures++;
		if (!*t->failure_cause)
			snprintf(t->failure_cause, sizeof(t->failure_cause), "%s",
				 "ConnectException: Connection refused");
	}
	sim_log("app %s: task %s health result: %s", app->id, t->id, t->alive ? "alive" : "dead");
	emit_health(app, t);
}

int sim_task_kill(struct sim_app *app, struct sim_task *t, int grace_ms, bool replace)
{
	int grace = app_grace(app, grace_ms);

	if (t->state == SIM_TASK_KILLING)
		return -EALREADY;
	t->state = SIM_TASK_KILLING;
	t->replace = replace;
	sim_log("app %s: task %s killing, grace %d ms", app->id, t->id, grace);
	emit_task_state(app, t);
	return sim_timer_add((uint64_t)grace, SIM_T_TASK_KILLED, t->serial, 0);
}

/* A task reached a terminal state: Marathon forgets it, maybe launches another. */
static void task_gone(struct sim_app *app, struct sim_task *t, enum sim_task_state final)
{
	bool replace = t->replace;

	t->state = final;
	sim_log("app %s: task %s %s, gone", app->id, t->id, sim_state_name(final));
	emit_task_state(app, t);
	sim_task_unlink(app, t);
	free(t);
	if (replace && !app->removing && !app->deploy &&
	    sim_app_active_tasks(app) <
		(int)json_integer_value(json_object_get(app->def, "instances")))
		sim_task_launch(app, NULL, false);
	sim_app_progress(app);
}

int sim_task_set_health(struct sim_app *app, struct sim_task *t, bool alive, const char *cause)
{
	char now[SIM_TS_LEN];
	bool changed;

	if (!app->n_health_checks)
		return -ENOENT;
	changed = !t->hc_known || t->alive != alive;
	t->want_alive = alive;
	if (t->state != SIM_TASK_RUNNING && t->state != SIM_TASK_KILLING) {
		/* Not probed yet: the first probe will report the new truth. */
		return 0;
	}
	sim_iso_now(now);
	t->hc_known = true;
	t->alive = alive;
	if (alive) {
		if (!*t->first_success)
			snprintf(t->first_success, sizeof(t->first_success), "%s", now);
		snprintf(t->last_success, sizeof(t->last_success), "%s", now);
		t->consecutive_failures = 0;
	} else {
		snprintf(t->last_failure, sizeof(t->last_failure), "%s", now);
		snprintf(t->failure_cause, sizeof(t->failure_cause), "%s",
			 cause && *cause ? cause : "ConnectException: Connection refused");
		t->consecutive_failures++;
	}
	if (changed) {
		sim_log("app %s: task %s health set %s", app->id, t->id, alive ? "alive" : "dead");
		emit_health(app, t);
		sim_app_progress(app);
	}
	return 0;
}

int sim_task_set_state(struct sim_app *app, struct sim_task *t, enum sim_task_state s)
{
	if (s == t->state)
		return 0;
	if (s == SIM_TASK_KILLING)
		return sim_task_kill(app, t, -1, true);
	if (sim_state_terminal(s)) {
		/* Marathon replaces instances that die on their own. */
		t->replace = true;
		task_gone(app, t, s);
		return 0;
	}
	if (s == SIM_TASK_RUNNING &&
	    (t->state == SIM_TASK_STAGING || t->state == SIM_TASK_STARTING)) {
		task_running(app, t);
		sim_app_progress(app);
		return 0;
	}
	t->state = s;
	t->ips_visible = s != SIM_TASK_STAGING && s != SIM_TASK_STARTING;
	if (t->ips_visible && !*t->started_at)
		sim_iso_now(t->started_at);
	sim_log("app %s: task %s set %s", app->id, t->id, sim_state_name(s));
	emit_task_state(app, t);
	sim_app_progress(app);
	return 0;
}

/* Leader failover as a load balancer sees it: every result gone until re-probed. */
void sim_health_drop_all(int delay_ms)
{
	struct sim_app *a;
	struct sim_task *t;
	int n = 0;

	for (a = sim.apps; a; a = a->next) {
		for (t = a->tasks; t; t = t->next) {
			if (!a->n_health_checks || !t->hc_known)
				continue;
			t->want_alive = t->alive;
			t->hc_known = false;
			sim_schedule_probe(t, delay_ms >= 0 ? delay_ms : a->health_delay_ms);
			n++;
		}
	}
	sim_log("health results dropped for %d task(s)", n);
}

void sim_timer_fire(const struct sim_timer *tm)
{
	struct sim_app *app = NULL;
	struct sim_task *t;

	if (tm->kind == SIM_T_UP) {
		if (tm->gen == sim.down_gen && sim.down != SIM_UP) {
			sim_log("down period over: back up");
			sim.down = SIM_UP;
			sim.want_listen = true;
			sim_wake_main();
		}
		return;
	}
	t = sim_task_by_serial(tm->serial, &app);
	if (!t)
		return;
	switch (tm->kind) {
	case SIM_T_TASK_RUNNING:
		task_running(app, t);
		sim_app_progress(app);
		break;
	case SIM_T_TASK_PROBE:
		task_probe(app, t);
		sim_app_progress(app);
		break;
	case SIM_T_TASK_KILLED:
		if (t->state == SIM_TASK_KILLING)
			task_gone(app, t, SIM_TASK_KILLED);
		break;
	case SIM_T_UP:
		break;
	}
}

/* ---- apps ---- */

static void app_uri(const struct sim_app *app, char *out, size_t len)
{
	snprintf(out, len, "/v2/apps%s", app->id);
}

int sim_app_scale(struct sim_app *app, int instances, int grace_ms, char *err, size_t errlen)
{
	char now[SIM_TS_LEN], uri[SIM_ID_LEN + 16];
	struct sim_task *t;
	json_t *vi;
	int active, rc;

	if (instances < 0) {
		snprintf(err, errlen, "instances must be >= 0");
		return -EINVAL;
	}
	if (app->deploy) {
		snprintf(err, errlen, "App is locked by one or more deployments.");
		return -EBUSY;
	}
	sim_iso_now(now);
	json_object_set_new(app->def, "instances", json_integer(instances));
	json_object_set_new(app->def, "version", json_string(now));
	vi = json_object_get(app->def, "versionInfo");
	json_object_set_new(vi, "lastScalingAt", json_string(now));
	snprintf(app->version, sizeof(app->version), "%s", now);
	app_uri(app, uri, sizeof(uri));
	sim_emit_api_post(app, uri);
	rc = deploy_begin(app, SIM_DEPLOY_SCALE, grace_ms);
	if (rc)
		return rc;
	for (active = sim_app_active_tasks(app); active < instances; active++)
		sim_task_launch(app, NULL, false);
	for (; active > instances; active--) {
		/* killSelection YOUNGEST_FIRST */
		t = youngest_active(app);
		if (!t)
			break;
		sim_task_kill(app, t, grace_ms, false);
	}
	sim_app_progress(app);
	return 0;
}

int sim_app_restart(struct sim_app *app, json_t *patch, int grace_ms, char *err, size_t errlen)
{
	char uri[SIM_ID_LEN + 16];
	struct sim_task *t;
	int rc;

	if (app->deploy) {
		snprintf(err, errlen, "App is locked by one or more deployments.");
		return -EBUSY;
	}
	rc = sim_app_apply_patch(app, patch, err, errlen);
	if (rc)
		return rc;
	for (t = app->tasks; t; t = t->next)
		t->old_gen = true;
	app_uri(app, uri, sizeof(uri));
	sim_emit_api_post(app, uri);
	rc = deploy_begin(app, SIM_DEPLOY_RESTART, grace_ms);
	if (rc)
		return rc;
	sim_app_progress(app);
	return 0;
}

int sim_app_add(json_t *spec, struct sim_app **out, char *err, size_t errlen)
{
	struct sim_app *app;
	int rc, active, want;

	rc = sim_app_create(spec, false, false, &app, err, errlen);
	if (rc)
		return rc;
	sim_emit_api_post(app, "/v2/apps");
	rc = deploy_begin(app, SIM_DEPLOY_START, -1);
	if (rc)
		return rc;
	want = (int)json_integer_value(json_object_get(app->def, "instances"));
	for (active = sim_app_active_tasks(app); active < want; active++)
		sim_task_launch(app, NULL, false);
	sim_app_progress(app);
	if (out)
		*out = app;
	return 0;
}

int sim_app_remove(struct sim_app *app, int grace_ms)
{
	struct sim_task *t, *next;
	char now[SIM_TS_LEN];
	int rc;

	/* Deleting an app supersedes whatever deployment it had (force=true). */
	free(app->deploy);
	app->deploy = NULL;
	app->removing = true;
	sim_iso_now(now);
	snprintf(app->version, sizeof(app->version), "%s", now);
	rc = deploy_begin(app, SIM_DEPLOY_STOP, grace_ms);
	if (rc)
		return rc;
	for (t = app->tasks; t; t = next) {
		next = t->next;
		if (t->state != SIM_TASK_KILLING)
			sim_task_kill(app, t, grace_ms, false);
	}
	sim_app_progress(app);
	return 0;
}
