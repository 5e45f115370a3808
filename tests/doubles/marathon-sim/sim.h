/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * marathon-sim stands in for Marathon (REST API, SSE event stream, leader/standby
 * behaviour) so that xlbd can be tested and demonstrated without a JVM, Mesos or
 * ZooKeeper. This header is the one model every part shares: apps and their
 * tasks, pods, open event streams, pending timers and the single mutex that
 * guards all of it. MHD's connection threads, the timer thread and the main
 * thread all take sim.lock; nobody blocks while holding it except in
 * pthread_cond waits, which release it. Addresses the simulator invents come
 * from 198.18.0.0/15 (RFC 2544 benchmarking space) and nowhere else.
 */
#ifndef MARATHON_SIM_H
#define MARATHON_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#define SIM_NAME "marathon-sim"
#define SIM_MARATHON_VERSION "1.11.24"

#define SIM_EXIT_OK 0
#define SIM_EXIT_FAIL 1
#define SIM_EXIT_USAGE 2

#define SIM_MAX_PORTS 16
#define SIM_MAX_IPS 4
#define SIM_ID_LEN 192
#define SIM_TS_LEN 32

/* An event stream that falls this far behind is closed, as Marathon 1.8+ does. */
#define SIM_STREAM_MAX_PENDING (4u << 20)

/* Mesos task states; the order is only internal. */
enum sim_task_state {
	SIM_TASK_STAGING,
	SIM_TASK_STARTING,
	SIM_TASK_RUNNING,
	SIM_TASK_KILLING,
	SIM_TASK_UNREACHABLE,
	SIM_TASK_FINISHED,
	SIM_TASK_FAILED,
	SIM_TASK_KILLED,
	SIM_TASK_ERROR,
	SIM_TASK_GONE,
	SIM_TASK_DROPPED,
	SIM_TASK_UNKNOWN,
	SIM_TASK_LOST,
	SIM_TASK_NSTATES,
};

enum sim_net_mode {
	SIM_NET_HOST,
	SIM_NET_BRIDGE, /* "container/bridge" */
	SIM_NET_CONTAINER,
};

struct sim_task {
	struct sim_task *next;
	uint64_t serial; /* timers refer to tasks by serial, never by pointer */
	char id[SIM_ID_LEN];
	char instance_id[SIM_ID_LEN];
	char host[64];
	char slave_id[96];
	enum sim_task_state state;
	int ports[SIM_MAX_PORTS];
	int n_ports;
	char ips[SIM_MAX_IPS][48];
	int n_ips;
	bool ips_visible;	  /* Mesos reports network info only once the task runs */
	char version[SIM_TS_LEN]; /* app version the task was launched with */
	char staged_at[SIM_TS_LEN];
	char started_at[SIM_TS_LEN];

	/* Health as the leader knows it; want_alive is what the next probe finds. */
	bool hc_known;
	bool alive;
	bool want_alive;
	int consecutive_failures;
	char first_success[SIM_TS_LEN];
	char last_success[SIM_TS_LEN];
	char last_failure[SIM_TS_LEN];
	char failure_cause[128];

	bool replace; /* launch a replacement once this task is gone */
	bool old_gen; /* belongs to the version a rolling deployment replaces */
};

enum sim_deploy_kind {
	SIM_DEPLOY_START,
	SIM_DEPLOY_SCALE,
	SIM_DEPLOY_RESTART,
	SIM_DEPLOY_STOP,
};

struct sim_deploy {
	char id[40];
	enum sim_deploy_kind kind;
	char version[SIM_TS_LEN];
	int grace_ms; /* kill grace for tasks this deployment kills, -1 = app's */
	int killed;   /* old tasks killed so far by a rolling restart */
};

struct sim_app {
	struct sim_app *next;
	uint64_t serial;
	json_t *def; /* the app as GET /v2/apps shows it, without counts and tasks */
	char id[SIM_ID_LEN];
	char version[SIM_TS_LEN];
	enum sim_net_mode mode;
	int n_health_checks;
	struct sim_task *tasks; /* oldest first */

	int staging_ms;	     /* TASK_STAGING -> TASK_RUNNING */
	int health_delay_ms; /* TASK_RUNNING -> first health result */
	int kill_grace_ms;   /* TASK_KILLING -> TASK_KILLED */
	json_t *knobs;	     /* the scenario's "sim" object, from which the three come */
	json_t *hosts;	     /* agents new tasks go to (array of strings) */

	struct sim_deploy *deploy;
	bool removing; /* deleted: hidden from /v2/apps, tasks still draining */
};

struct sim_pod_instance {
	char id[SIM_ID_LEN];
	char host[64];
	char slave_id[96];
	int ports[SIM_MAX_PORTS]; /* allocated host ports, in endpoint order */
	int n_ports;
	char ip[48];
	bool healthy;
	char since[SIM_TS_LEN];
};

struct sim_pod {
	struct sim_pod *next;
	json_t *spec;
	char id[SIM_ID_LEN];
	char mode_name[64]; /* network name for container mode */
	enum sim_net_mode mode;
	struct sim_pod_instance *inst;
	int n_inst;
	char since[SIM_TS_LEN];
};

struct sim_stream {
	struct sim_stream *next;
	unsigned long id;
	char remote[64];
	json_t *filters; /* array of event_type strings; empty = all */
	char *buf;
	size_t len, off, cap;
	bool hb_lf; /* heartbeat "\r" sent, "\n" still owed */
	uint64_t next_hb;
	bool cut;
	bool mute; /* fault "silent": neither events nor heartbeats */
	int fd;
};

enum sim_timer_kind {
	SIM_T_TASK_RUNNING,
	SIM_T_TASK_PROBE,
	SIM_T_TASK_KILLED,
	SIM_T_UP, /* end of a /sim/down?ms=N period */
};

struct sim_timer {
	struct sim_timer *next;
	uint64_t due; /* monotonic ms */
	enum sim_timer_kind kind;
	uint64_t serial;
	uint64_t gen; /* SIM_T_UP: only the down period that scheduled it */
};

enum sim_down {
	SIM_UP,
	SIM_DOWN_502,
	SIM_DOWN_CLOSE,
};

struct sim {
	pthread_mutex_t lock;
	pthread_cond_t stream_cond; /* something for a stream to send, or a cut */
	pthread_cond_t timer_cond;  /* timer list changed */

	struct sim_app *apps;
	struct sim_pod *pods;
	struct sim_stream *streams;
	struct sim_timer *timers;
	uint64_t next_serial;
	unsigned long next_stream_id;
	uint64_t rng;

	/* where we are and who leads */
	char listen_host[64];
	int port;
	char self_url[128];
	char standby_of[256]; /* empty when leader */
	const char *state_file;

	/* --tls-cert/--tls-key (PEM, in memory) and --auth-file: the Authorization value wanted */
	char *tls_cert, *tls_key;
	char *auth_want; /* "token=..." or "Basic base64(user:password)"; NULL: no auth */

	int heartbeat_ms;
	bool silent;
	enum sim_down down;
	uint64_t down_gen;
	bool want_listen; /* main thread opens/closes the listener to match */
	int wake_fd;
	bool quit;

	/* defaults for apps that do not set their own */
	int staging_ms;
	int health_delay_ms;
	int kill_grace_ms; /* -1: taskKillGracePeriodSeconds, else 3 s (Mesos) */

	json_t *agents; /* known agent hosts, index = slaveId suffix */
	json_t *subnets; /* host -> {"bridge"|"container": CIDR}: its new tasks' addresses */
	char cluster_id[40];
	char framework_id[48];
	uint32_t next_container_ip;
	uint32_t next_bridge_ip;
	uint64_t started_ms;
};

extern struct sim sim;

/* util.c */
uint64_t sim_now_ms(void);
void sim_iso_now(char out[SIM_TS_LEN]);
void sim_uuid(char out[37]);
uint32_t sim_rand(void);
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *sim_state_name(enum sim_task_state s);
const char *sim_condition_name(enum sim_task_state s);
int sim_state_parse(const char *name, enum sim_task_state *out);
bool sim_state_terminal(enum sim_task_state s);
void sim_wake_main(void);

/* model.c */
struct sim_app *sim_app_find(const char *id, bool include_removing);
struct sim_task *sim_task_find(const char *id, struct sim_app **app_out);
struct sim_task *sim_task_by_serial(uint64_t serial, struct sim_app **app_out);
struct sim_app *sim_app_by_serial(uint64_t serial);
int sim_app_create(json_t *spec, bool launch_missing, bool fresh_leader, struct sim_app **out,
		   char *err, size_t errlen);
int sim_app_apply_patch(struct sim_app *app, json_t *patch, char *err, size_t errlen);
void sim_app_free(struct sim_app *app);
void sim_app_unlink(struct sim_app *app);
struct sim_task *sim_task_new(struct sim_app *app, const char *version);
void sim_task_unlink(struct sim_app *app, struct sim_task *t);
int sim_scenario_load(json_t *root, bool fresh_leader, char *err, size_t errlen);
void sim_model_clear(void);
json_t *sim_app_json(const struct sim_app *app, bool with_tasks, bool with_readiness);
json_t *sim_task_json(const struct sim_app *app, const struct sim_task *t);
json_t *sim_task_ips_json(const struct sim_task *t);
json_t *sim_task_ports_json(const struct sim_task *t);
json_t *sim_service_ports_json(const struct sim_app *app);
json_t *sim_pods_status_json(const char *id);
json_t *sim_pods_json(void);
json_t *sim_dump(bool internals);
int sim_state_save(void);
bool sim_task_ready(const struct sim_app *app, const struct sim_task *t);
int sim_app_active_tasks(const struct sim_app *app);

/* ops.c: every state change, each emitting the events Marathon would */
void sim_task_launch(struct sim_app *app, const char *version, bool old_gen);
int sim_task_kill(struct sim_app *app, struct sim_task *t, int grace_ms, bool replace);
int sim_task_set_health(struct sim_app *app, struct sim_task *t, bool alive, const char *cause);
int sim_task_set_state(struct sim_app *app, struct sim_task *t, enum sim_task_state s);
void sim_health_drop_all(int delay_ms);
int sim_app_scale(struct sim_app *app, int instances, int grace_ms, char *err, size_t errlen);
int sim_app_restart(struct sim_app *app, json_t *patch, int grace_ms, char *err, size_t errlen);
int sim_app_add(json_t *spec, struct sim_app **out, char *err, size_t errlen);
int sim_app_remove(struct sim_app *app, int grace_ms);
void sim_app_progress(struct sim_app *app);
void sim_timer_fire(const struct sim_timer *t);
void sim_emit_api_post(const struct sim_app *app, const char *uri);
void sim_schedule_probe(struct sim_task *t, int delay_ms);

/* timer.c */
int sim_timer_add(uint64_t delay_ms, enum sim_timer_kind kind, uint64_t serial, uint64_t gen);
void sim_timers_clear(void);
int sim_timer_count(void);
void *sim_timer_thread(void *arg);

/* events.c */
json_t *sim_event_new(void);
void sim_event_publish(json_t *ev, const char *type);
struct MHD_Response *sim_stream_open(struct MHD_Connection *conn, const char *remote,
				     json_t *filters, bool mute);
void sim_streams_cut(void);
json_t *sim_streams_json(void);

/* fault.c: /sim/fault, answers spoiled on purpose (called with sim.lock held) */
int sim_fault_set(const char *path, const char *mode, int count, int bps, long long bytes,
		  const char *location, char *err, size_t errlen);
json_t *sim_fault_json(void);
bool sim_fault_stream_silent(const char *uri);
struct MHD_Response *sim_fault_response(const char *uri, bool stream, char *body, size_t len,
					unsigned int *code, bool *took_body);

/* http.c */
struct MHD_Daemon *sim_http_start(int listen_fd, bool control_only);

#endif /* MARATHON_SIM_H */
