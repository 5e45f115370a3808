// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Marathon source: full snapshots (GET /v2/apps?embed=apps.tasks and
 * GET /v2/pods/::status, fetched together) and the event stream (GET
 * /v2/events, server-sent events), all on one libcurl multi handle driven by
 * xlbd's epoll loop, never a thread per request. Marathon documents its
 * stream as cache invalidation, so an event only schedules a refetch: the
 * first relevant event after a quiet spell is fetched debounce_ms later, a
 * burst is coalesced into one fetch (debounce_max_ms at most after its first
 * event), and events that arrive while a fetch runs make one more. In
 * clusters of up to targeted_max_apps apps the last documents are kept and a
 * fetch re-reads only the apps the events named (pod events: pod status),
 * patching them in. Each stream (re)connect, each periodic resync, SIGHUP and
 * any failure fetch everything.
 * Failures of any kind (HTTP errors, timeouts, bodies too large, truncated
 * or not JSON) keep the last good state, say what happened in one line and
 * retry with exponential backoff and jitter, moving through the configured
 * URLs. The time from an event's arrival to the map write it caused feeds the
 * latency histogram of /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "mara_events.h"
#include "mara_model.h"
#include "mara_stream.h"
#include "sse.h"
#include "xlbd.h"

#define EVENT_TYPES                                                                        \
	"event_type=status_update_event&event_type=instance_changed_event"                 \
	"&event_type=instance_health_changed_event&event_type=health_status_changed_event" \
	"&event_type=unhealthy_instance_kill_event&event_type=unhealthy_task_kill_event"   \
	"&event_type=api_post_event&event_type=app_terminated_event"                       \
	"&event_type=pod_created_event&event_type=pod_updated_event"                       \
	"&event_type=pod_deleted_event&event_type=deployment_success"                      \
	"&event_type=deployment_step_success"

#define MAX_PENDING_EVENTS 4096
#define MAX_IDS 16	       /* more apps named by a burst of events: a full fetch is cheaper */
#define STREAM_STABLE_MS 60000 /* a stream up this long resets the reconnect backoff */
#define RESOLVE_TTL_MS 60000
#define RESOLVE_NEG_TTL_MS 5000
#define WARN_SET_BITS 12
/*
 * A failure that repeats (every retry of a Marathon that answers 502, every
 * reconnect of a stream that is cut at once) is said once at warning level,
 * then at debug; the same failure is said again at warning after this long,
 * with how often it happened meanwhile. Recovery is always said.
 */
#define SAY_AGAIN_MS 60000
#define SAID_MAX 4

/*
 * A snapshot's body goes straight into the incremental list reader, so the
 * parse runs while the rest is still arriving and the body is never held.
 * Only an error page is kept, its first bytes, for the log line.
 */
#define SNIPPET_MAX 4096

struct fetch {
	struct xlbd_marathon *m;
	const char *what; /* "apps", "pods", "events" */
	CURL *easy;
	char url[1024];
	struct xlb_mara_stream *ms;	  /* the reader, for a 200 answer */
	struct xlb_mara_builder *builder; /* full apps snapshot: the model, built as it arrives */
	json_t *doc;			  /* what it read, once the transfer is complete */
	char snippet[SNIPPET_MAX + 1];	  /* start of a non-200 body */
	size_t snippet_len;
	size_t len; /* body bytes received */
	bool active;
	bool too_big;
	bool status_known;
	long status;
	CURLcode res;
	char errbuf[CURL_ERROR_SIZE];
	char perr[512]; /* why the reader refused the body */
};

/* A failure recently said at warning level: its reason without the numbers in it. */
struct said {
	__u64 hash;
	__u64 at_ms;
	__u32 repeats; /* said at debug since */
};

struct resolved {
	struct resolved *next;
	__u64 expires_ms;
	int err;
	union xlb_addr addr;
	__u8 family, hint;
	bool known;	 /* addr holds an answer the resolver gave once */
	bool stale_said; /* the resolver fails now: said once, the last answer stands */
	char host[];
};

struct xlbd_marathon {
	struct xlbd *d;
	CURLM *multi;
	struct curl_slist *hdr_json, *hdr_sse;
	char *userpwd; /* basic auth, or NULL; never logged */
	struct xlb_mara_opts opts;
	struct xlbd_health *health;

	struct xlbd_timer curl_timer;	/* libcurl's own timeout */
	struct xlbd_timer fetch_timer;	/* next snapshot (debounce, retry, resync request) */
	struct xlbd_timer resync_timer; /* periodic full resync */
	struct xlbd_timer stream_timer; /* next event stream connect */
	struct xlbd_timer watchdog;	/* stream silent too long */

	/*
	 * What the next fetch must cover: everything, or only the apps events
	 * named (and pod status), patched into the documents of the last fetch.
	 */
	bool want_full;
	bool want_pods;
	char *ids[MAX_IDS];
	size_t n_ids;
	json_t *cache_apps; /* {"apps": [...]}, pruned; NULL: no targeted fetches */
	json_t *cache_pods; /* the pod status list, NULL when Marathon has no pods */

	/* snapshots */
	struct fetch apps, pods;
	struct fetch tapps[MAX_IDS]; /* GET /v2/apps/{id} of a targeted fetch */
	char *tids[MAX_IDS];
	size_t n_tapps;
	bool targeted;	    /* the fetch in flight is targeted */
	bool pods_in_round; /* the fetch in flight reads pod status */
	size_t url_idx;
	bool fetching, dirty;
	__u64 fetch_start_us;
	__u32 fetch_failures;
	__u64 fetch_backoff_ms, retry_due_ms;
	__u64 first_pending_ms; /* first relevant event not yet fetched; 0: none */
	struct said fetch_said[SAID_MAX];
	__u64 pending_us[MAX_PENDING_EVENTS], inflight_us[MAX_PENDING_EVENTS];
	size_t n_pending, n_inflight;
	bool pods_missing_logged;

	/* event stream */
	struct fetch stream;
	struct xlb_sse *sse;
	size_t stream_idx;
	bool stream_up;
	__u64 stream_up_ms, last_byte_ms;
	__u64 stream_backoff_ms;
	__u32 stream_failures;
	char stream_effective[1024];
	struct said stream_said[SAID_MAX];
	bool stream_fail_said; /* the last stream failure went out at warning level */
	__u32 stream_quiet;    /* stream failures said only at debug since the last success */
	bool health_bridging;  /* the last sync used remembered health verdicts */

	/* model warnings: only new ones are logged at warning level */
	__u64 *warn_seen, *warn_now;
	size_t n_warn_seen, n_warn_now, cap_warn_seen, cap_warn_now;
	__u32 sync_warnings;

	struct resolved *rcache[256];
};

static void check_done(struct xlbd_marathon *m);
static void start_fetch(struct xlbd_marathon *m);

/*
 * Whether a failure is news: not said in the last SAY_AGAIN_MS. The URL in
 * "GET URL: why" counts as it is; in the reason, numbers (bytes received,
 * milliseconds waited) are left out, so a timeout after 3 bytes and one after
 * 4 are the same failure. *repeats: how often it was kept quiet meanwhile.
 */
static bool say_failure(struct said *said, const char *why, __u64 now, __u32 *repeats)
{
	const char *rest = strncmp(why, "GET ", 4) ? why : strstr(why, ": ");
	__u64 h = 0xcbf29ce484222325ULL;
	struct said *s, *oldest = &said[0];
	const char *p;
	size_t i;

	if (!rest)
		rest = why;
	for (p = why; *p; p++) {
		if (p >= rest && *p >= '0' && *p <= '9')
			continue;
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	}
	*repeats = 0;
	for (i = 0; i < SAID_MAX; i++) {
		s = &said[i];
		if (s->at_ms && s->hash == h) {
			if (now - s->at_ms < SAY_AGAIN_MS) {
				s->repeats++;
				return false;
			}
			*repeats = s->repeats;
			s->repeats = 0;
			s->at_ms = now;
			return true;
		}
		if (s->at_ms < oldest->at_ms)
			oldest = s;
	}
	*oldest = (struct said){.hash = h, .at_ms = now};
	return true;
}

static void said_clear(struct said *said)
{
	memset(said, 0, SAID_MAX * sizeof(*said));
}

const char *xlbd_url_redact(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *at, *slash;

	if (!p) {
		snprintf(buf, len, "%s", url);
		return buf;
	}
	p += 3;
	slash = strchr(p, '/');
	at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	if (!at) {
		snprintf(buf, len, "%s", url);
		return buf;
	}
	snprintf(buf, len, "%.*s%s", (int)(p - url), url, at + 1);
	return buf;
}

/* For logs and labels: no credentials, and no query (the event_type list is long and fixed). */
static const char *url_short(const char *url, char *buf, size_t len)
{
	xlbd_url_redact(url, buf, len);
	buf[strcspn(buf, "?")] = '\0';
	return buf;
}

/* Equal jitter: half the base plus a random half, so clients never march in step. */
static __u64 jitter(__u64 base)
{
	return base / 2 + (base ? (__u64)random() % (base / 2 + 1) : 0);
}

static __u64 backoff_next(__u64 *cur, __u32 min, __u32 max)
{
	__u64 b = *cur ? *cur * 2 : min;

	if (b > max)
		b = max;
	*cur = b;
	return jitter(b);
}

static void fetch_reset(struct fetch *f)
{
	xlb_mara_stream_free(f->ms);
	f->ms = NULL;
	xlb_mara_builder_free(f->builder);
	f->builder = NULL;
	json_decref(f->doc);
	f->doc = NULL;
	f->snippet_len = 0;
	f->snippet[0] = '\0';
	f->len = 0;
	f->too_big = false;
	f->status_known = false;
	f->status = 0;
	f->res = CURLE_OK;
	f->errbuf[0] = '\0';
	f->perr[0] = '\0';
}

static void snippet_add(struct fetch *f, const char *p, size_t n)
{
	if (f->snippet_len + n > SNIPPET_MAX)
		n = SNIPPET_MAX - f->snippet_len;
	memcpy(f->snippet + f->snippet_len, p, n);
	f->snippet_len += n;
	f->snippet[f->snippet_len] = '\0';
}

static void builder_app(void *ctx, const json_t *app, size_t index)
{
	xlb_mara_builder_app(ctx, app, index);
}

static int full_snapshot_begin(struct fetch *f, struct xlb_mara_stream_opts *o)
{
	struct xlbd_marathon *m = f->m;

	if (m->health)
		xlbd_health_begin(m->health, xlbd_now_ms());
	m->sync_warnings = 0;
	m->n_warn_now = 0;
	if (xlb_mara_builder_new(&f->builder, &m->opts, f->perr, sizeof(f->perr)))
		return -1;
	o->on_element = builder_app;
	o->ctx = f->builder;
	o->keep_max = m->d->cfg.marathon.targeted_max_apps;
	return 0;
}

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct fetch *f = userdata;
	size_t n = size * nmemb;

	if (!f->status_known) {
		curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &f->status);
		f->status_known = true;
	}
	if (f->len + n > f->m->d->cfg.marathon.max_body_bytes) {
		f->too_big = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	f->len += n;
	if (f->status != 200) {
		snippet_add(f, ptr, n);
		return n;
	}
	if (!f->ms) {
		/* apps: split and prune the "apps" list; pods: a root array, kept whole */
		struct xlb_mara_stream_opts o = {
		    .split_member = "apps",
		    .prune = !strcmp(f->what, "apps"),
		};

		/*
		 * A full snapshot's apps become claims one by one as they arrive, so
		 * no parse tree of the whole cluster is ever held; the list is kept
		 * only while it is small enough for targeted fetches to patch.
		 */
		if (f == &f->m->apps && full_snapshot_begin(f, &o))
			return 0;
		if (xlb_mara_stream_new(&o, &f->ms)) {
			snprintf(f->perr, sizeof(f->perr), "out of memory");
			return 0;
		}
	}
	if (xlb_mara_stream_feed(f->ms, ptr, n, f->perr, sizeof(f->perr)))
		return 0;
	return n;
}

/* The first bytes of an error body, printable, for the log line. */
static void body_snippet(const struct fetch *f, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = '\0';
	if (len < 8)
		return;
	for (i = 0; i < f->snippet_len && n + 4 < len && n < 120; i++) {
		char c = f->snippet[i];

		out[n++] = (c >= ' ' && c <= '~') ? c : ' ';
	}
	out[n] = '\0';
}

static int easy_setup(struct xlbd_marathon *m, struct fetch *f, const char *url, bool stream)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	CURL *e = curl_easy_init();

	if (!e)
		return -ENOMEM;
	snprintf(f->url, sizeof(f->url), "%s", url);
	f->easy = e;
	f->m = m;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, f);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* A standby answers /v2/events with 302 to the leader (docs/marathon.md §1). */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 2L);
	curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, stream ? m->hdr_sse : m->hdr_json);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (m->userpwd) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERPWD, m->userpwd);
	}
	if (!stream) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->request_timeout_ms);
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body_bytes);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	}
	return 0;
}

static void easy_drop(struct xlbd_marathon *m, struct fetch *f)
{
	if (!f->easy)
		return;
	if (f->active)
		curl_multi_remove_handle(m->multi, f->easy);
	curl_easy_cleanup(f->easy);
	f->easy = NULL;
	f->active = false;
}

/* ---- the model ---- */

static void model_warn(void *ctx, const char *msg)
{
	struct xlbd_marathon *m = ctx;
	__u64 h = xlb_fnv1a64(msg, strlen(msg)), *n;
	size_t i;

	m->sync_warnings++;
	if (m->n_warn_now == m->cap_warn_now) {
		size_t cap = m->cap_warn_now ? m->cap_warn_now * 2 : 64;

		n = realloc(m->warn_now, cap * sizeof(*n));
		if (n) {
			m->warn_now = n;
			m->cap_warn_now = cap;
		}
	}
	if (m->n_warn_now < m->cap_warn_now)
		m->warn_now[m->n_warn_now++] = h;
	for (i = 0; i < m->n_warn_seen; i++)
		if (m->warn_seen[i] == h)
			break;
	/* Each sync would repeat the same bad label: say it once, then only at debug. */
	if (i < m->n_warn_seen)
		pr_debug("marathon: %s", msg);
	else
		pr_warn("marathon: %s", msg);
}

static void warn_rotate(struct xlbd_marathon *m)
{
	__u64 *t = m->warn_seen;
	size_t cap = m->cap_warn_seen;

	/* This sync's warnings become the ones seen; the old array is reused. */
	m->warn_seen = m->warn_now;
	m->n_warn_seen = m->n_warn_now;
	m->cap_warn_seen = m->cap_warn_now;
	m->warn_now = t;
	m->cap_warn_now = cap;
	m->n_warn_now = 0;
}

/* Agent names rarely change: getaddrinfo() once a minute per host, not once per task. */
static int resolve_cached(void *ctx, const char *host, __u8 hint, union xlb_addr *addr,
			  __u8 *family)
{
	struct xlbd_marathon *m = ctx;
	__u64 now = xlbd_now_ms();
	unsigned int b = (unsigned int)(xlb_fnv1a64(host, strlen(host)) & 255);
	struct resolved *r;
	size_t len;

	for (r = m->rcache[b]; r; r = r->next)
		if (r->hint == hint && !strcmp(r->host, host))
			break;
	if (!r) {
		len = strlen(host);
		r = calloc(1, sizeof(*r) + len + 1);
		if (!r)
			return xlb_mara_resolve_getaddrinfo(NULL, host, hint, addr, family);
		memcpy(r->host, host, len + 1);
		r->hint = hint;
		r->next = m->rcache[b];
		m->rcache[b] = r;
	}
	if (r->expires_ms <= now) {
		union xlb_addr a;
		__u8 fam;
		int err = xlb_mara_resolve_getaddrinfo(NULL, host, hint, &a, &fam);
		char s[INET6_ADDRSTRLEN];

		r->expires_ms = now + (err ? RESOLVE_NEG_TTL_MS : RESOLVE_TTL_MS);
		if (!err) {
			if (r->stale_said)
				pr_info("marathon: agent name \"%s\" resolves again", host);
			r->addr = a;
			r->family = fam;
			r->known = true;
			r->stale_said = false;
			r->err = 0;
		} else if (r->known) {
			/*
			 * A name that resolved before and fails now is a resolver
			 * outage far more often than an agent gone (Marathon still
			 * lists its tasks): its tasks keep their last address rather
			 * than leave the load balancer.
			 */
			if (!r->stale_said)
				pr_warn("marathon: agent name \"%s\" no longer resolves (%s): its "
					"tasks keep its last address %s until it does",
					host, err == -ENOENT ? "no such host" : "resolver failure",
					inet_ntop(r->family == XLB_AF_INET6 ? AF_INET6 : AF_INET,
						  &r->addr, s, sizeof(s))
					    ?: "?");
			r->stale_said = true;
		} else {
			r->err = err;
		}
	}
	if (r->err)
		return r->err;
	*addr = r->addr;
	*family = r->family;
	return 0;
}

static void rcache_free(struct xlbd_marathon *m)
{
	struct resolved *r, *n;
	int i;

	for (i = 0; i < 256; i++)
		for (r = m->rcache[i]; r; r = n) {
			n = r->next;
			free(r);
		}
}

/* ---- snapshots ---- */

static void note_sync_error(struct xlbd_marathon *m)
{
	pthread_mutex_lock(&m->d->stats.lock);
	m->d->stats.sync_errors_total++;
	pthread_mutex_unlock(&m->d->stats.lock);
}

/* Schedules the next fetch for the events waiting, by the debounce rules. */
static void schedule_pending(struct xlbd_marathon *m)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	__u64 now = xlbd_now_ms(), due;

	if (!m->first_pending_ms)
		return;
	due = now + c->debounce_ms;
	if (due > m->first_pending_ms + c->debounce_max_ms)
		due = m->first_pending_ms + c->debounce_max_ms;
	/* A failing Marathon is not hammered because events keep coming. */
	if (due < m->retry_due_ms)
		due = m->retry_due_ms;
	xlbd_timer_set(&m->fetch_timer, due);
}

static void fetch_failed(struct xlbd_marathon *m, const char *why)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	__u64 delay = backoff_next(&m->fetch_backoff_ms, c->backoff_min_ms, c->backoff_max_ms);
	size_t i;

	__u32 repeats;
	char again[64] = "";

	m->fetch_failures++;
	note_sync_error(m);
	if (say_failure(m->fetch_said, why, xlbd_now_ms(), &repeats)) {
		if (repeats)
			snprintf(again, sizeof(again), " (%u more times since it was last said)",
				 repeats);
		pr_warn("marathon: sync failed: %s; forwarding on the last good state, retry in "
			"%.1f s%s%s",
			why, delay / 1000.0, c->nr_urls > 1 ? " with the next URL" : "", again);
	} else {
		pr_debug("marathon: sync failed again: %s; retry in %.1f s", why, delay / 1000.0);
	}
	if (c->nr_urls > 1)
		m->url_idx = (m->url_idx + 1) % c->nr_urls;
	/* The events this fetch was for still wait: put them back, oldest first. */
	for (i = 0; i < m->n_inflight && m->n_pending < MAX_PENDING_EVENTS; i++)
		m->pending_us[m->n_pending++] = m->inflight_us[i];
	m->n_inflight = 0;
	m->retry_due_ms = xlbd_now_ms() + delay;
	xlbd_timer_set(&m->fetch_timer, m->retry_due_ms);
}

/* Describes why a transfer failed; 0 when it gave a usable answer. */
static int transfer_error(const struct fetch *f, bool allow_404, char *why, size_t len)
{
	char red[512], snip[128];

	xlbd_url_redact(f->url, red, sizeof(red));
	if (f->too_big || f->res == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, len, "GET %s: body larger than max_body_bytes (%llu)", red,
			 (unsigned long long)f->m->d->cfg.marathon.max_body_bytes);
		return -EFBIG;
	}
	if (f->perr[0]) {
		snprintf(why, len, "GET %s: %s (%zu bytes read)", red, f->perr, f->len);
		return -EINVAL;
	}
	if (f->res != CURLE_OK) {
		snprintf(why, len, "GET %s: %s", red,
			 f->errbuf[0] ? f->errbuf : curl_easy_strerror(f->res));
		return -EIO;
	}
	if (f->status == 200 || (allow_404 && f->status == 404))
		return 0;
	body_snippet(f, snip, sizeof(snip));
	snprintf(why, len, "GET %s: HTTP %ld%s%s", red, f->status, snip[0] ? ": " : "", snip);
	return -EIO;
}

/* Ends the reader: the document, or why there is none (a body cut short, an empty one). */
static json_t *parse_body(struct fetch *f, char *why, size_t len)
{
	char red[512], err[512];
	json_t *doc = NULL;
	int ret;

	xlbd_url_redact(f->url, red, sizeof(red));
	if (!f->ms) {
		snprintf(why, len, "GET %s: empty body", red);
		return NULL;
	}
	ret = xlb_mara_stream_finish(f->ms, &doc, err, sizeof(err));
	if (ret)
		snprintf(why, len, "GET %s: %s", red, err);
	return doc;
}

static void record_latency(struct xlbd_marathon *m)
{
	__u64 now = xlbd_now_us();
	size_t i;

	pthread_mutex_lock(&m->d->stats.lock);
	for (i = 0; i < m->n_inflight; i++)
		xlbd_stats_latency(&m->d->stats, (now - m->inflight_us[i]) / 1e6);
	pthread_mutex_unlock(&m->d->stats.lock);
	if (m->n_inflight)
		pr_debug("marathon: %zu events reached the maps, oldest after %.1f ms",
			 m->n_inflight, (now - m->inflight_us[0]) / 1000.0);
	m->n_inflight = 0;
}

static void ids_clear(char **ids, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free(ids[i]);
	*n = 0;
}

/* Index of the element of list whose "id" is id, or -1. */
static long find_by_id(const json_t *list, const char *id)
{
	const char *v;
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
	{
		v = json_string_value(json_object_get(e, "id"));
		if (v && !strcmp(v, id))
			return (long)i;
	}
	return -1;
}

/*
 * Patches the cached apps document with the answers of a targeted fetch: an
 * app answered is replaced (or added), an app that is gone (404) is removed.
 * Returns 0, 1 when an id was neither a known app nor found (a new pod, most
 * likely: a full fetch must follow), or -errno with why.
 */
static int patch_cache(struct xlbd_marathon *m, char *why, size_t whylen)
{
	json_t *list = json_object_get(m->cache_apps, "apps"), *doc, *app;
	int unknown = 0, ret;
	long at;
	size_t i;

	for (i = 0; i < m->n_tapps; i++) {
		struct fetch *f = &m->tapps[i];

		ret = transfer_error(f, true, why, whylen);
		if (ret)
			return ret;
		at = find_by_id(list, m->tids[i]);
		if (f->status == 404) {
			if (at >= 0)
				json_array_remove(list, at);
			else
				unknown = 1;
			continue;
		}
		doc = parse_body(f, why, whylen);
		if (!doc)
			return -EINVAL;
		app = json_object_get(doc, "app");
		if (!json_is_object(app) || !json_is_string(json_object_get(app, "id"))) {
			snprintf(why, whylen, "GET %s: no app in the answer", f->url);
			json_decref(doc);
			return -EINVAL;
		}
		xlb_mara_prune_app(app);
		if (at >= 0)
			json_array_set(list, at, app);
		else
			json_array_append(list, app);
		json_decref(doc);
	}
	return unknown;
}

/* A full resync soon: after failed writes, to confirm a held change, on SIGHUP. */
static void resync_in(struct xlbd_marathon *m, __u32 delay_ms)
{
	m->want_full = true;
	xlbd_timer_at_most(&m->fetch_timer, delay_ms);
}

/* Lets go of the finished round's transfers (targeted app fetches, apps, pods). */
static void round_reset(struct xlbd_marathon *m)
{
	size_t i;

	for (i = 0; i < m->n_tapps; i++) {
		easy_drop(m, &m->tapps[i]);
		fetch_reset(&m->tapps[i]);
	}
	ids_clear(m->tids, &m->n_tapps);
	fetch_reset(&m->apps);
	fetch_reset(&m->pods);
}

/*
 * The documents of a finished round, checked and parsed into *apps and *pods
 * (references the caller drops), and the cache for targeted fetches patched,
 * kept or let go; kind names the round for the log. Returns 0, or -1 with the
 * reason in why (the caller still drops what *apps and *pods hold).
 */
static int snapshot_docs(struct xlbd_marathon *m, json_t **apps, json_t **pods, char *kind,
			 size_t kindlen, char *why, size_t whylen)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	bool targeted = m->targeted, pods_read = m->pods_in_round;
	size_t n_tapps = m->n_tapps;
	int ret;

	if (targeted) {
		ret = patch_cache(m, why, whylen);
		if (ret < 0)
			return -1;
		if (ret > 0) {
			/* An id that is no app: a pod we have not seen yet. Read everything. */
			m->want_full = true;
			m->dirty = true;
		}
	} else {
		if (transfer_error(&m->apps, false, why, whylen))
			return -1;
	}
	if (pods_read && transfer_error(&m->pods, true, why, whylen))
		return -1;
	if (!targeted) {
		*apps = parse_body(&m->apps, why, whylen);
		if (!*apps)
			return -1;
	}
	if (pods_read && m->pods.status == 200) {
		*pods = parse_body(&m->pods, why, whylen);
		if (!*pods)
			return -1;
	} else if (pods_read && !m->pods_missing_logged) {
		pr_info("marathon: GET /v2/pods/::status answers 404: no pods on this Marathon");
		m->pods_missing_logged = true;
	}
	if (targeted) {
		/* The cache holds the documents; the model reads them in place. */
		if (pods_read) {
			json_decref(m->cache_pods);
			m->cache_pods = *pods;
		}
		*apps = json_incref(m->cache_apps);
		*pods = json_incref(m->cache_pods);
		if (n_tapps)
			snprintf(kind, kindlen, "update (%zu app%s%s re-read)", n_tapps,
				 n_tapps == 1 ? "" : "s", pods_read ? " and pod status" : "");
		else
			snprintf(kind, kindlen, "update (pod status re-read)");
	} else {
		json_decref(m->cache_apps);
		json_decref(m->cache_pods);
		m->cache_apps = m->cache_pods = NULL;
		/* Small clusters keep the documents, so an event costs one app's fetch. */
		/* The reader kept the list exactly when it had at most targeted_max_apps. */
		if (c->targeted_max_apps && m->apps.ms &&
		    xlb_mara_stream_elements(m->apps.ms) <= c->targeted_max_apps) {
			m->cache_apps = json_incref(*apps);
			m->cache_pods = json_incref(*pods);
		}
		snprintf(kind, kindlen, "sync");
	}
	return 0;
}

/*
 * A good sync: the counters of /metrics, what changed since the last one
 * (recovery, a leader failover bridged by remembered health), and the summary
 * line.
 */
static void sync_note(struct xlbd_marathon *m, const struct xlb_mara_model *model, const char *kind,
		      size_t bytes, size_t nr_backends, __u64 used, __u64 entries, __u64 t_parse,
		      __u64 t_build)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;

	pthread_mutex_lock(&m->d->stats.lock);
	m->d->stats.syncs_total++;
	m->d->stats.last_sync_ok_ts = xlbd_wall_s();
	m->d->stats.fetch_bytes_total += bytes;
	m->d->stats.apps = model->nr_apps;
	m->d->stats.pods = model->nr_pods;
	m->d->stats.tasks = model->nr_tasks;
	m->d->stats.services = model->nr_services;
	m->d->stats.health_cache_used = used;
	m->d->stats.health_cache_entries = entries;
	pthread_mutex_unlock(&m->d->stats.lock);
	if (m->fetch_failures)
		pr_info("marathon: sync works again after %u failures", m->fetch_failures);
	m->fetch_failures = 0;
	said_clear(m->fetch_said);
	/* Health results that vanish for every task at once: a leader failover, said once. */
	if (used && !m->health_bridging)
		pr_warn("marathon: %llu tasks came without health results (a leader failover?): "
			"their last reported verdicts stand in for up to %u s",
			(unsigned long long)used, c->health_hold_s);
	else if (!used && m->health_bridging)
		pr_info("marathon: no task relies on a remembered health verdict any more");
	m->health_bridging = used != 0;
	m->fetch_backoff_ms = 0;
	m->retry_due_ms = 0;
	pr_info("marathon: %s: %u apps, %u pods, %u tasks -> %zu services, %zu backends%s; "
		"fetch and parse %.1f ms (%zu KiB), model %.1f ms%s",
		kind, model->nr_apps, model->nr_pods, model->nr_tasks, model->nr_services,
		nr_backends, used ? " (health from cache for some tasks)" : "",
		(t_parse - m->fetch_start_us) / 1000.0, bytes / 1024, (t_build - t_parse) / 1000.0,
		m->sync_warnings ? ", with warnings" : "");
}

/* Hands the desired state to the reconciler and schedules what follows. */
static void snapshot_apply(struct xlbd_marathon *m, struct xlb_plan_state *plan)
{
	struct xlbd_reconcile_next next;
	int ret;

	ret = xlbd_reconcile_marathon(m->d, plan, &next);
	/* Failed writes are retried, a held change confirmed, by a full resync. */
	if (next.what != XLBD_NEXT_DONE)
		resync_in(m, next.delay_ms);
	if (ret == 0)
		record_latency(m);
	else
		m->n_inflight = 0;
	/* Events seen during the fetch are debounced; a resync asked for meanwhile goes now. */
	if (m->n_pending)
		schedule_pending(m);
	else if (m->dirty)
		xlbd_timer_at_most(&m->fetch_timer, 0);
	if (m->d->once && ret < 0)
		m->d->quit = true;
}

/* Every transfer of the round has finished: documents -> model -> desired state -> maps. */
static void snapshot_done(struct xlbd_marathon *m)
{
	struct xlb_mara_model model = {};
	struct xlb_plan_state plan;
	json_t *apps = NULL, *pods = NULL;
	__u64 t_parse, t_build, expiry, used, entries;
	struct xlb_mara_builder *builder;
	char why[2048], err[512], red[512];
	size_t bytes = m->apps.len + m->pods.len, i;
	bool targeted = m->targeted;
	char kind[96];
	int ret;

	m->fetching = false;
	for (i = 0; i < m->n_tapps; i++)
		bytes += m->tapps[i].len;
	if (snapshot_docs(m, &apps, &pods, kind, sizeof(kind), why, sizeof(why)))
		goto failed;
	/* The streamed builder holds the apps already: it outlives the transfer. */
	builder = targeted ? NULL : m->apps.builder;
	m->apps.builder = NULL;
	round_reset(m);
	t_parse = xlbd_now_us();
	if (builder) {
		/* The apps are in already; the rest of the document and the pods complete it. */
		ret = xlb_mara_builder_finish(builder, &model, apps, pods, err, sizeof(err));
		xlb_mara_builder_free(builder);
	} else {
		if (m->health)
			xlbd_health_begin(m->health, xlbd_now_ms());
		m->sync_warnings = 0;
		ret = xlb_mara_model_build_json(&model, apps, pods, &m->opts, err, sizeof(err));
	}
	json_decref(apps);
	json_decref(pods);
	apps = pods = NULL;
	if (ret) {
		snprintf(why, sizeof(why), "%s: %s",
			 targeted ? "patched documents"
				  : xlbd_url_redact(m->apps.url, red, sizeof(red)),
			 err);
		warn_rotate(m);
		goto failed;
	}
	warn_rotate(m);
	used = entries = 0;
	expiry = m->health ? xlbd_health_end(m->health, &used, &entries) : 0;
	ret = xlb_plan_from_marathon(&model, m->d->cfg.marathon.vip_flags, m->d->cfg.mode,
				     &plan);
	t_build = xlbd_now_us();
	sync_note(m, &model, kind, bytes, ret ? 0 : xlb_plan_state_backends(&plan), used, entries,
		  t_parse, t_build);
	xlb_mara_model_free(&model);
	if (ret) {
		pr_err("marathon: build the desired state: %s", strerror(-ret));
		m->n_inflight = 0;
		return;
	}
	/* A cached verdict that expires changes the state without any event. */
	if (expiry) {
		m->want_full = true;
		xlbd_timer_at_most(&m->fetch_timer,
				   expiry > xlbd_now_ms() ? expiry - xlbd_now_ms() + 1 : 1);
	}
	snapshot_apply(m, &plan);
	return;
failed:
	json_decref(apps);
	json_decref(pods);
	round_reset(m);
	/* After any failure the next fetch reads everything: a patch may have gone half-way. */
	m->want_full = true;
	fetch_failed(m, why);
	if (m->d->once) {
		m->d->exit_code = XLBD_EXIT_FAIL;
		m->d->quit = true;
	}
}

static void start_fetch(struct xlbd_marathon *m)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	const char *base = c->urls[m->url_idx % c->nr_urls];
	char url[1024];
	size_t i;

	if (m->fetching) {
		m->dirty = true;
		return;
	}
	easy_drop(m, &m->apps);
	easy_drop(m, &m->pods);
	fetch_reset(&m->apps);
	fetch_reset(&m->pods);
	m->targeted = !m->want_full && m->cache_apps && (m->n_ids || m->want_pods);
	if (m->targeted) {
		/* Known pods are re-read with all pod status; everything else as an app. */
		for (i = 0; i < m->n_ids; i++) {
			if (m->cache_pods && find_by_id(m->cache_pods, m->ids[i]) >= 0) {
				m->want_pods = true;
				free(m->ids[i]);
				continue;
			}
			snprintf(url, sizeof(url), "%s/v2/apps%s?embed=app.tasks", base, m->ids[i]);
			m->tapps[m->n_tapps].what = "app";
			m->tids[m->n_tapps] = m->ids[i];
			if (easy_setup(m, &m->tapps[m->n_tapps++], url, false))
				goto oom;
		}
		m->n_ids = 0;
		for (i = 0; i < m->n_tapps; i++) {
			if (curl_multi_add_handle(m->multi, m->tapps[i].easy) != CURLM_OK)
				goto oom;
			m->tapps[i].active = true;
		}
	} else {
		snprintf(url, sizeof(url), "%s/v2/apps?embed=apps.tasks", base);
		if (easy_setup(m, &m->apps, url, false))
			goto oom;
		if (curl_multi_add_handle(m->multi, m->apps.easy) != CURLM_OK)
			goto oom;
		m->apps.active = true;
		ids_clear(m->ids, &m->n_ids);
	}
	m->pods_in_round = !m->targeted || m->want_pods;
	if (m->pods_in_round) {
		snprintf(url, sizeof(url), "%s/v2/pods/::status", base);
		if (easy_setup(m, &m->pods, url, false))
			goto oom;
		if (curl_multi_add_handle(m->multi, m->pods.easy) != CURLM_OK)
			goto oom;
		m->pods.active = true;
	}
	m->want_full = false;
	m->want_pods = false;
	m->fetching = true;
	m->dirty = false;
	m->fetch_start_us = xlbd_now_us();
	/* Events seen until now are answered by this fetch. */
	for (i = 0; i < m->n_pending && m->n_inflight < MAX_PENDING_EVENTS; i++)
		m->inflight_us[m->n_inflight++] = m->pending_us[i];
	m->n_pending = 0;
	m->first_pending_ms = 0;
	return;
oom:
	easy_drop(m, &m->apps);
	easy_drop(m, &m->pods);
	for (i = 0; i < m->n_tapps; i++)
		easy_drop(m, &m->tapps[i]);
	ids_clear(m->tids, &m->n_tapps);
	m->want_full = true;
	fetch_failed(m, "cannot set up the requests (out of memory)");
}

static void on_fetch_timer(struct xlbd *d, void *arg)
{
	struct xlbd_marathon *m = arg;

	(void)d;
	start_fetch(m);
}

static void on_resync_timer(struct xlbd *d, void *arg)
{
	struct xlbd_marathon *m = arg;

	xlbd_timer_set(&m->resync_timer,
		       xlbd_now_ms() + (__u64)d->cfg.marathon.resync_interval_s * 1000);
	pr_debug("marathon: periodic full resync");
	m->want_full = true;
	if (m->fetching)
		m->dirty = true;
	else
		xlbd_timer_at_most(&m->fetch_timer, 0);
}

static void on_hup(struct xlbd *d, void *arg)
{
	(void)d;
	resync_in(arg, 0);
}

/* ---- event stream ---- */

/* Characters of Marathon ids ([a-z0-9-] segments, '/', '.'): safe in a URL path as they are. */
static bool id_ok(const char *id)
{
	size_t i;

	if (id[0] != '/' || strlen(id) > 512)
		return false;
	for (i = 0; id[i]; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || strchr("/-._", id[i])))
			return false;
	return true;
}

/*
 * Which run spec an event is about, so that only it is re-read: its app or pod
 * id, "pods" for pod definition events, nothing (a full fetch) when the event
 * does not say or concerns more than one (deployments).
 */
static void event_scope(struct xlbd_marathon *m, const char *type, const char *data, size_t len)
{
	static const struct {
		const char *type, *key;
	} keys[] = {
	    {"status_update_event", "appId"},
	    {"health_status_changed_event", "appId"},
	    {"unhealthy_instance_kill_event", "appId"},
	    {"unhealthy_task_kill_event", "appId"},
	    {"app_terminated_event", "appId"},
	    {"instance_changed_event", "runSpecId"},
	    {"instance_health_changed_event", "runSpecId"},
	};
	const char *id = NULL;
	json_t *ev;
	size_t i;

	if (!strncmp(type, "pod_", 4)) {
		m->want_pods = true;
		return;
	}
	ev = json_loadb(data, len, JSON_DISABLE_EOF_CHECK, NULL);
	if (!strcmp(type, "api_post_event"))
		id = json_string_value(json_object_get(json_object_get(ev, "appDefinition"), "id"));
	for (i = 0; !id && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(type, keys[i].type))
			id = json_string_value(json_object_get(ev, keys[i].key));
	if (!id || !id_ok(id) || m->n_ids == MAX_IDS) {
		m->want_full = true;
	} else {
		for (i = 0; i < m->n_ids && strcmp(m->ids[i], id); i++)
			;
		if (i == m->n_ids && !(m->ids[m->n_ids] = strdup(id)))
			m->want_full = true;
		else if (i == m->n_ids)
			m->n_ids++;
	}
	json_decref(ev);
}

static void note_event(struct xlbd_marathon *m, const char *type, const char *data, size_t len)
{
	__u64 now = xlbd_now_ms();

	event_scope(m, type, data, len);

	pthread_mutex_lock(&m->d->stats.lock);
	m->d->stats.events_relevant_total++;
	pthread_mutex_unlock(&m->d->stats.lock);
	if (m->n_pending < MAX_PENDING_EVENTS)
		m->pending_us[m->n_pending++] = xlbd_now_us();
	pr_debug("marathon: event %s", type);
	if (!m->first_pending_ms)
		m->first_pending_ms = now;
	if (m->fetching)
		m->dirty = true;
	else
		schedule_pending(m);
}

static int on_sse_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct xlbd_marathon *m = ctx;
	char type[96];

	pthread_mutex_lock(&m->d->stats.lock);
	m->d->stats.events_total++;
	pthread_mutex_unlock(&m->d->stats.lock);
	if (event && strcmp(event, "message"))
		snprintf(type, sizeof(type), "%s", event);
	else if (xlb_mara_event_type(data, len, type, sizeof(type)))
		snprintf(type, sizeof(type), "?");
	if (xlb_mara_event_relevant(type))
		note_event(m, type, data, len);
	else
		pr_debug("marathon: event %s (ignored)", type);
	return 0;
}

static void on_sse_error(void *ctx, const char *msg)
{
	(void)ctx;
	pr_warn("marathon: event stream: %s", msg);
}

static void stream_set_connected(struct xlbd_marathon *m, bool up)
{
	pthread_mutex_lock(&m->d->stats.lock);
	m->d->stats.stream_connected = up;
	if (up) {
		m->d->stats.stream_connects_total++;
		url_short(m->stream_effective, m->d->stats.leader_url,
			  sizeof(m->d->stats.leader_url));
	}
	pthread_mutex_unlock(&m->d->stats.lock);
}

static void stream_up(struct xlbd_marathon *m)
{
	char *eff = NULL, red[512];

	curl_easy_getinfo(m->stream.easy, CURLINFO_EFFECTIVE_URL, &eff);
	snprintf(m->stream_effective, sizeof(m->stream_effective), "%s", eff ? eff : m->stream.url);
	m->stream_up = true;
	m->stream_up_ms = xlbd_now_ms();
	stream_set_connected(m, true);
	/* While a failure repeats quietly, so do the reconnects it causes. */
	if (m->stream_quiet && !m->stream_fail_said)
		pr_debug("marathon: event stream connected to %s; full resync",
			 url_short(m->stream_effective, red, sizeof(red)));
	else
		pr_info("marathon: event stream connected to %s; full resync",
			url_short(m->stream_effective, red, sizeof(red)));
	/* No event ids, no replay: whatever happened while disconnected is only in a snapshot. */
	m->want_full = true;
	if (m->fetching)
		m->dirty = true;
	else
		xlbd_timer_at_most(&m->fetch_timer, 0);
}

static size_t stream_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xlbd_marathon *m = userdata;
	size_t n = size * nitems;
	long code = 0;

	/* The blank line ends a header block; a 302 block is followed by the leader's. */
	if (n <= 2 && (n == 0 || buf[0] == '\r' || buf[0] == '\n')) {
		curl_easy_getinfo(m->stream.easy, CURLINFO_RESPONSE_CODE, &code);
		m->stream.status = code;
		if (code == 200 && !m->stream_up)
			stream_up(m);
	}
	return n;
}

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xlbd_marathon *m = userdata;
	size_t n = size * nmemb;
	int err;

	if (m->stream.status != 200) {
		/* An error page: keep a little of it for the log, then end the transfer. */
		snippet_add(&m->stream, ptr, n);
		return n;
	}
	m->last_byte_ms = xlbd_now_ms();
	xlbd_timer_set(&m->watchdog, m->last_byte_ms + m->d->cfg.marathon.stream_timeout_ms);
	if (m->stream_failures) {
		/* Bytes flow: whatever broke the stream is over. */
		if (m->stream_quiet)
			pr_info("marathon: event stream works again after %u failures",
				m->stream_failures);
		m->stream_failures = 0;
		m->stream_quiet = 0;
		said_clear(m->stream_said);
	}
	err = xlb_sse_feed(m->sse, ptr, n);
	if (err && err != -EMSGSIZE) {
		pr_err("marathon: event stream: parser: %s", strerror(-err));
		return 0;
	}
	return n;
}

static void stream_close(struct xlbd_marathon *m)
{
	easy_drop(m, &m->stream);
	fetch_reset(&m->stream);
	xlb_sse_reset(m->sse);
	xlbd_timer_set(&m->watchdog, 0);
	if (m->stream_up)
		stream_set_connected(m, false);
}

static void stream_retry(struct xlbd_marathon *m, const char *why)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	__u64 delay, now = xlbd_now_ms();
	bool was_up = m->stream_up;

	/* A stream that ran for a while failed for a new reason: start the backoff over. */
	if (was_up && now - m->stream_up_ms >= STREAM_STABLE_MS)
		m->stream_backoff_ms = 0;
	if (!was_up && c->nr_urls > 1)
		m->stream_idx = (m->stream_idx + 1) % c->nr_urls;
	__u32 repeats;
	char again[64] = "";

	m->stream_failures++;
	delay = backoff_next(&m->stream_backoff_ms, c->backoff_min_ms, c->backoff_max_ms);
	stream_close(m);
	m->stream_up = false;
	m->stream_fail_said = say_failure(m->stream_said, why, now, &repeats);
	if (m->stream_fail_said) {
		if (repeats)
			snprintf(again, sizeof(again), " (%u more times since it was last said)",
				 repeats);
		pr_warn("marathon: event stream %s: %s; reconnecting in %.1f s%s",
			was_up ? "lost" : "failed", why, delay / 1000.0, again);
	} else {
		m->stream_quiet++;
		pr_debug("marathon: event stream %s again: %s; reconnecting in %.1f s",
			 was_up ? "lost" : "failed", why, delay / 1000.0);
	}
	xlbd_timer_set(&m->stream_timer, now + delay);
}

static void stream_start(struct xlbd *d, void *arg)
{
	struct xlbd_marathon *m = arg;
	const struct xlb_cfg_marathon *c = &d->cfg.marathon;
	char url[1024], red[1024];

	stream_close(m);
	m->stream_up = false;
	snprintf(url, sizeof(url), "%s/v2/events?%s", c->urls[m->stream_idx % c->nr_urls],
		 EVENT_TYPES);
	if (easy_setup(m, &m->stream, url, true)) {
		stream_retry(m, "cannot set up the request (out of memory)");
		return;
	}
	curl_easy_setopt(m->stream.easy, CURLOPT_HEADERFUNCTION, stream_header);
	curl_easy_setopt(m->stream.easy, CURLOPT_HEADERDATA, m);
	curl_easy_setopt(m->stream.easy, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(m->stream.easy, CURLOPT_WRITEDATA, m);
	if (curl_multi_add_handle(m->multi, m->stream.easy) != CURLM_OK) {
		stream_retry(m, "cannot add the request");
		return;
	}
	m->stream.active = true;
	/* Connecting counts as silence too: a black-holed SYN must not hang us. */
	xlbd_timer_set(&m->watchdog, xlbd_now_ms() + c->stream_timeout_ms);
	pr_debug("marathon: connecting the event stream to %s", url_short(url, red, sizeof(red)));
}

static void on_watchdog(struct xlbd *d, void *arg)
{
	struct xlbd_marathon *m = arg;
	char why[128];

	snprintf(why, sizeof(why), "%s for %u ms (Marathon sends a heartbeat every 10 s)",
		 m->stream_up ? "silent" : "no answer", d->cfg.marathon.stream_timeout_ms);
	stream_retry(m, why);
}

static void stream_done(struct xlbd_marathon *m)
{
	char why[2048], red[512], snip[128];

	url_short(m->stream.url, red, sizeof(red));
	if (m->stream.res != CURLE_OK && m->stream.res != CURLE_WRITE_ERROR)
		snprintf(why, sizeof(why), "GET %s: %s", red,
			 m->stream.errbuf[0] ? m->stream.errbuf
					     : curl_easy_strerror(m->stream.res));
	else if (m->stream.status != 200) {
		body_snippet(&m->stream, snip, sizeof(snip));
		snprintf(why, sizeof(why), "GET %s: HTTP %ld%s%s", red, m->stream.status,
			 snip[0] ? ": " : "", snip);
	} else
		snprintf(why, sizeof(why), "closed by %s", red);
	stream_retry(m, why);
}

/* ---- libcurl plumbing ---- */

static bool tapps_active(const struct xlbd_marathon *m)
{
	size_t i;

	for (i = 0; i < m->n_tapps; i++)
		if (m->tapps[i].active)
			return true;
	return false;
}

static void check_done(struct xlbd_marathon *m)
{
	struct fetch *f;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		f = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
		if (!f)
			continue;
		f->res = msg->data.result;
		if (f != &m->stream || !f->status)
			curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &f->status);
		curl_multi_remove_handle(m->multi, f->easy);
		f->active = false;
		if (f == &m->stream) {
			stream_done(m);
			continue;
		}
		if (m->fetching && !m->apps.active && !m->pods.active && !tapps_active(m)) {
			easy_drop(m, &m->apps);
			easy_drop(m, &m->pods);
			snapshot_done(m);
		}
	}
}

static void on_socket(struct xlbd *d, int fd, __u32 events, void *arg)
{
	struct xlbd_marathon *m = arg;
	int flags = 0, running;

	(void)d;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(m->multi, fd, flags, &running);
	check_done(m);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct xlbd_marathon *m = userp;
	__u32 ev = 0;

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE)
		return xlbd_loop_fd(m->d, s, 0, NULL, NULL) ? -1 : 0;
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (xlbd_loop_fd(m->d, s, ev, on_socket, m)) {
		pr_err("marathon: cannot watch socket %d", (int)s);
		return -1;
	}
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct xlbd_marathon *m = userp;

	(void)multi;
	if (timeout_ms < 0)
		xlbd_timer_set(&m->curl_timer, 0);
	else
		xlbd_timer_set(&m->curl_timer, xlbd_now_ms() + (__u64)timeout_ms);
	return 0;
}

static void on_curl_timer(struct xlbd *d, void *arg)
{
	struct xlbd_marathon *m = arg;
	int running;

	(void)d;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(m);
}

/* ---- life cycle ---- */

/*
 * Credentials come from marathon.auth_file, else from XLBD_MARATHON_AUTH (for
 * systemd's Environment=/EnvironmentFile= or a container runtime), never from
 * the command line; the variable is removed once read. Never logged.
 */
#define AUTH_ENV "XLBD_MARATHON_AUTH"

static int auth_setup(struct xlbd_marathon *m)
{
	const char *path = m->d->cfg.marathon.auth_file, *env = getenv(AUTH_ENV);
	struct curl_slist *n;
	char *secret = NULL, *hdr;
	int err;

	if (!path && (!env || !*env))
		return 0;
	if (path) {
		err = xlb_cfg_read_secret(path, &secret);
		if (err) {
			pr_err("marathon: auth file %s: %s", path,
			       err == -ENODATA ? "empty" : strerror(-err));
			return err;
		}
		if (env)
			pr_warn("marathon: %s is set but marathon.auth_file wins", AUTH_ENV);
	} else {
		secret = strndup(env, strcspn(env, "\r\n"));
		explicit_bzero((char *)env, strlen(env));
		unsetenv(AUTH_ENV);
		if (!secret)
			return -ENOMEM;
		path = "the environment (" AUTH_ENV ")";
	}
	if (!strncmp(secret, "token=", 6)) {
		/* DC/OS: "Authorization: token=<jwt>" (marathon-lb common.py). */
		if (asprintf(&hdr, "Authorization: %s", secret) < 0) {
			err = -ENOMEM;
			goto cleanup;
		}
		n = curl_slist_append(m->hdr_json, hdr);
		if (n)
			m->hdr_json = n;
		n = n ? curl_slist_append(m->hdr_sse, hdr) : NULL;
		if (n)
			m->hdr_sse = n;
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
		if (!n)
			err = -ENOMEM;
		else
			pr_info("marathon: authenticating with the DC/OS token from %s", path);
	} else if (strchr(secret, ':')) {
		m->userpwd = strdup(secret);
		err = m->userpwd ? 0 : -ENOMEM;
		if (!err)
			pr_info("marathon: authenticating with HTTP basic credentials from %s",
				path);
	} else {
		pr_err("marathon: auth file %s: expected \"token=...\" or \"user:password\"", path);
		err = -EINVAL;
	}
cleanup:
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return err;
}

/* The model's options from the configuration, with the daemon's resolver and health cache. */
static int model_opts_init(struct xlbd_marathon *m)
{
	const struct xlb_cfg_marathon *c = &m->d->cfg.marathon;
	char err[160];
	int ret;

	xlb_mara_opts_init(&m->opts);
	m->opts.framework = c->framework;
	if (xlb_named_pool_parse(c->named_vip_range, &m->opts.pool, err, sizeof(err))) {
		pr_err("marathon: named_vip_range: %s", err);
		return -EINVAL;
	}
	m->opts.haproxy_group = c->haproxy_group && c->haproxy_group[0] ? c->haproxy_group : NULL;
	if (c->has_node_addr) {
		m->opts.node_addr = c->node_addr;
		m->opts.node_family = c->node_family;
	}
	m->opts.warn = model_warn;
	m->opts.warn_ctx = m;
	m->opts.resolve = resolve_cached;
	m->opts.resolve_ctx = m;
	if (c->health_hold_s) {
		ret = xlbd_health_new(&m->health, c->health_hold_s);
		if (ret)
			return ret;
		m->opts.health_lookup = xlbd_health_lookup;
		m->opts.health_store = xlbd_health_store;
		m->opts.health_ctx = m->health;
	}
	return 0;
}

int xlbd_marathon_start(struct xlbd *d)
{
	const struct xlb_cfg_marathon *c = &d->cfg.marathon;
	struct xlb_sse_opts so = {.on_event = on_sse_event, .on_error = on_sse_error};
	struct xlbd_marathon *m;
	char red[512];
	size_t i;
	int ret;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	d->marathon = m;
	m->d = d;
	xlbd_loop_on_hup(d, on_hup, m);
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		pr_err("marathon: libcurl init failed");
		return -EIO;
	}
	m->multi = curl_multi_init();
	if (!m->multi)
		return -ENOMEM;
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	m->hdr_json = curl_slist_append(NULL, "Accept: application/json");
	/* Jetty's EventSourceServlet wants exactly this, nothing more (docs/marathon.md §4.1). */
	m->hdr_sse = curl_slist_append(NULL, "Accept: text/event-stream");
	m->hdr_sse = m->hdr_sse ? curl_slist_append(m->hdr_sse, "Cache-Control: no-cache") : NULL;
	if (!m->hdr_json || !m->hdr_sse)
		return -ENOMEM;
	ret = auth_setup(m);
	if (ret)
		return ret;

	ret = model_opts_init(m);
	if (ret)
		return ret;
	so.ctx = m;
	ret = xlb_sse_new(&so, &m->sse);
	if (ret)
		return ret;

	m->curl_timer = (struct xlbd_timer){.fn = on_curl_timer, .arg = m, .name = "curl"};
	m->fetch_timer = (struct xlbd_timer){.fn = on_fetch_timer, .arg = m, .name = "fetch"};
	m->resync_timer = (struct xlbd_timer){.fn = on_resync_timer, .arg = m, .name = "resync"};
	m->stream_timer = (struct xlbd_timer){.fn = stream_start, .arg = m, .name = "stream"};
	m->watchdog = (struct xlbd_timer){.fn = on_watchdog, .arg = m, .name = "watchdog"};
	m->apps.what = "apps";
	m->pods.what = "pods";
	m->want_full = true;
	m->stream.what = "events";
	if ((ret = xlbd_timer_add(d, &m->curl_timer)) ||
	    (ret = xlbd_timer_add(d, &m->fetch_timer)) ||
	    (ret = xlbd_timer_add(d, &m->resync_timer)) ||
	    (ret = xlbd_timer_add(d, &m->stream_timer)) || (ret = xlbd_timer_add(d, &m->watchdog)))
		return ret;

	pthread_mutex_lock(&d->stats.lock);
	d->stats.marathon_configured = true;
	pthread_mutex_unlock(&d->stats.lock);
	for (i = 0; i < c->nr_urls; i++)
		pr_info("marathon: source %zu: %s", i + 1,
			xlbd_url_redact(c->urls[i], red, sizeof(red)));
	/* The first snapshot goes out at once; --once needs nothing else. */
	xlbd_timer_set(&m->fetch_timer, xlbd_now_ms());
	if (!d->once) {
		xlbd_timer_set(&m->stream_timer, xlbd_now_ms());
		if (c->resync_interval_s)
			xlbd_timer_set(&m->resync_timer,
				       xlbd_now_ms() + (__u64)c->resync_interval_s * 1000);
	}
	return 0;
}

void xlbd_marathon_stop(struct xlbd *d)
{
	struct xlbd_marathon *m = d->marathon;

	if (!m)
		return;
	easy_drop(m, &m->apps);
	easy_drop(m, &m->pods);
	easy_drop(m, &m->stream);
	fetch_reset(&m->apps);
	fetch_reset(&m->pods);
	fetch_reset(&m->stream);
	for (size_t i = 0; i < m->n_tapps; i++) {
		easy_drop(m, &m->tapps[i]);
		fetch_reset(&m->tapps[i]);
	}
	ids_clear(m->tids, &m->n_tapps);
	ids_clear(m->ids, &m->n_ids);
	json_decref(m->cache_apps);
	json_decref(m->cache_pods);
	if (m->multi)
		curl_multi_cleanup(m->multi);
	curl_slist_free_all(m->hdr_json);
	curl_slist_free_all(m->hdr_sse);
	if (m->userpwd) {
		explicit_bzero(m->userpwd, strlen(m->userpwd));
		free(m->userpwd);
	}
	xlb_sse_free(m->sse);
	xlbd_health_free(m->health);
	rcache_free(m);
	free(m->warn_seen);
	free(m->warn_now);
	free(m);
	xlbd_loop_on_hup(d, NULL, NULL);
	d->marathon = NULL;
	curl_global_cleanup();
}
