// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The event-stream parser must give the same events however the bytes are
 * chunked: every stream here is parsed whole, byte by byte and cut in two at
 * every offset, and the event lists and counters compared. Also covered: LF
 * and CRLF line ends, Marathon's "\r" + "\n" heartbeat, reset() after a cut
 * connection, the size limit and recovery after it, comments and unknown
 * fields, the real events.txt sample, and Marathon event classification.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "mara_events.h"
#include "sse.h"

#define MAX_EV 64

struct rec {
	char *name[MAX_EV];
	char *data[MAX_EV];
	size_t len[MAX_EV];
	int n;
	int errors;
	int stop_at; /* return -ECANCELED from this event on (1-based); 0: never */
};

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct rec *r = ctx;

	expect_eq("length of the event's data against its strlen (NUL-terminated, no NUL inside)",
		  strlen(data), len);
	if (r->n < MAX_EV) {
		r->name[r->n] = strdup(event);
		r->data[r->n] = malloc(len + 1);
		memcpy(r->data[r->n], data, len + 1);
		r->len[r->n] = len;
	}
	r->n++;
	return r->stop_at && r->n >= r->stop_at ? -ECANCELED : 0;
}

static void on_error(void *ctx, const char *msg)
{
	struct rec *r = ctx;

	expect_substr("parser error message", msg, "discarded up to the next blank line");
	r->errors++;
}

static void rec_free(struct rec *r)
{
	for (int i = 0; i < r->n && i < MAX_EV; i++) {
		free(r->name[i]);
		free(r->data[i]);
	}
	memset(r, 0, sizeof(*r));
}

static struct xlb_sse *parser(struct rec *r, size_t max_event)
{
	struct xlb_sse_opts o = {
	    .max_event = max_event, .on_event = on_event, .on_error = on_error, .ctx = r};
	struct xlb_sse *p = NULL;

	expect_ok("xlb_sse_new", xlb_sse_new(&o, &p));
	assert_non_null(p);
	return p;
}

static void assert_same(const struct rec *a, const struct rec *b, const char *how)
{
	if (a->n != b->n)
		fail_msg("%s: %d events, want %d", how, b->n, a->n);
	for (int i = 0; i < a->n && i < MAX_EV; i++) {
		if (strcmp(a->name[i], b->name[i]) || a->len[i] != b->len[i] ||
		    memcmp(a->data[i], b->data[i], a->len[i]))
			fail_msg("%s: event %d is \"%s\" \"%s\", want \"%s\" \"%s\"", how, i,
				 b->name[i], b->data[i], a->name[i], a->data[i]);
	}
	if (a->errors != b->errors)
		fail_msg("%s: %d errors, want %d", how, b->errors, a->errors);
}

static void assert_stats_same(const struct xlb_sse_stats *a, const struct xlb_sse_stats *b,
			      const char *how)
{
	if (a->bytes != b->bytes || a->events != b->events || a->heartbeats != b->heartbeats ||
	    a->comments != b->comments || a->oversized != b->oversized ||
	    a->ignored_fields != b->ignored_fields)
		fail_msg("%s: stats differ (heartbeats %llu vs %llu, events %llu vs %llu)", how,
			 (unsigned long long)b->heartbeats, (unsigned long long)a->heartbeats,
			 (unsigned long long)b->events, (unsigned long long)a->events);
}

/* Parses s whole, byte by byte and in two pieces at every offset; all must agree. */
static void check_all_splits(const char *s, size_t len, size_t max_event, struct rec *whole,
			     struct xlb_sse_stats *whole_st)
{
	struct xlb_sse *p;
	struct rec r = {0};
	struct xlb_sse_stats st;
	size_t i, cut;
	char how[64];

	p = parser(whole, max_event);
	xlb_sse_feed(p, s, len);
	xlb_sse_stats(p, whole_st);
	xlb_sse_free(p);

	p = parser(&r, max_event);
	for (i = 0; i < len; i++)
		xlb_sse_feed(p, s + i, 1);
	xlb_sse_stats(p, &st);
	assert_same(whole, &r, "byte by byte");
	assert_stats_same(whole_st, &st, "byte by byte");
	xlb_sse_free(p);
	rec_free(&r);

	for (cut = 0; cut <= len; cut++) {
		snprintf(how, sizeof(how), "split at %zu", cut);
		p = parser(&r, max_event);
		xlb_sse_feed(p, s, cut);
		xlb_sse_feed(p, s + cut, len - cut);
		xlb_sse_stats(p, &st);
		assert_same(whole, &r, how);
		assert_stats_same(whole_st, &st, how);
		xlb_sse_free(p);
		rec_free(&r);
	}
}

#define ATTACHED                                                                          \
	"{\"remoteAddress\":\"0:0:0:0:0:0:0:1\",\"eventType\":\"event_stream_attached\"," \
	"\"timestamp\":\"2015-09-30T12:44:30.061Z\"}"
#define STATUS                                                                                  \
	"{\"slaveId\":\"S0\",\"taskId\":\"test-app.5dd78972\",\"taskStatus\":\"TASK_RUNNING\"," \
	"\"appId\":\"/test-app\",\"host\":\"agent-1.xlb.test\",\"ports\":[31182],"              \
	"\"eventType\":\"status_update_event\",\"timestamp\":\"2015-09-30T12:47:11.286Z\"}"
#define HEALTH                                                                                     \
	"{\"instanceId\":\"my-app.instance-c7c311a4\",\"runSpecId\":\"/app-id\",\"healthy\":true," \
	"\"eventType\":\"instance_health_changed_event\"}"

/* Marathon's wire format plus the SSE corners: comments, multi-line data, other fields. */
static const char crlf_stream[] = "event: event_stream_attached\r\n"
				  "data: " ATTACHED "\r\n"
				  "\r\n"
				  "event: status_update_event\r\n"
				  "data: " STATUS "\r\n"
				  "\r\n"
				  "\r\n" /* heartbeat */
				  ": a comment line\r\n"
				  "\r\n" /* heartbeat (the comment left nothing pending) */
				  "event: instance_health_changed_event\r\n"
				  "data: " HEALTH "\r\n"
				  "\r\n"
				  "data: first\r\n"
				  "data:second\r\n"
				  "data:  third\r\n"
				  "id: 7\r\n"
				  "retry: 1000\r\n"
				  "\r\n"
				  "event: no-data\r\n"
				  "\r\n" /* no data: not dispatched, not a heartbeat */
				  "data\r\n"
				  "event:x\r\n"
				  "\r\n"
				  "data: cr\rinside\r\n"
				  "\r\n";

static void expect_crlf_events(const struct rec *r, const struct xlb_sse_stats *st)
{
	expect_eq("events in the CRLF stream", r->n, 6);
	expect_str_eq("name of event 0", r->name[0], "event_stream_attached");
	expect_str_eq("data of event 0", r->data[0], ATTACHED);
	expect_str_eq("name of event 1", r->name[1], "status_update_event");
	expect_str_eq("data of event 1", r->data[1], STATUS);
	expect_str_eq("name of event 2", r->name[2], "instance_health_changed_event");
	expect_str_eq("data of event 2", r->data[2], HEALTH);
	/* No "event:" -> "message"; data lines joined with \n; one space stripped. */
	expect_str_eq("name of event 3 (no \"event:\" line)", r->name[3], "message");
	expect_str_eq("data of event 3 (lines joined, one space stripped)", r->data[3],
		      "first\nsecond\n third");
	/* "data" without a colon is an empty data line. */
	expect_str_eq("name of event 4", r->name[4], "x");
	expect_str_eq("data of event 4 (\"data\" without a colon)", r->data[4], "");
	/* A "\r" not followed by "\n" is content. */
	expect_str_eq("data of event 5 (a lone \\r is content)", r->data[5], "cr\rinside");
	expect_eq("events counted", st->events, 6);
	expect_eq("heartbeats counted", st->heartbeats, 2);
	expect_eq("comments counted", st->comments, 1);
	expect_eq("ignored fields (id, retry)", st->ignored_fields, 2);
	expect_eq("oversized events", st->oversized, 0);
	expect_eq("parser errors", r->errors, 0);
}

static void test_crlf_stream_all_splits(void **state)
{
	struct rec whole = {0};
	struct xlb_sse_stats st;

	(void)state;
	check_all_splits(crlf_stream, sizeof(crlf_stream) - 1, 0, &whole, &st);
	expect_crlf_events(&whole, &st);
	expect_eq("bytes counted", st.bytes, sizeof(crlf_stream) - 1);
	rec_free(&whole);
}

static char *crlf_to_lf(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (s[0] == '\r' && s[1] == '\n')
			continue;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void test_lf_only_same_events(void **state)
{
	struct rec crlf = {0}, lf = {0};
	struct xlb_sse_stats st1, st2;
	char *s = crlf_to_lf(crlf_stream);

	(void)state;
	check_all_splits(crlf_stream, sizeof(crlf_stream) - 1, 0, &crlf, &st1);
	check_all_splits(s, strlen(s), 0, &lf, &st2);
	assert_same(&crlf, &lf, "LF vs CRLF");
	expect_eq("heartbeats in the LF stream", st2.heartbeats, 2);
	expect_eq("events in the LF stream", st2.events, 6);
	rec_free(&crlf);
	rec_free(&lf);
	free(s);
}

/* Jetty writes "\r", flushes, then writes "\n": two reads on our side. */
static void test_heartbeats_counted_not_dispatched(void **state)
{
	struct rec r = {0};
	struct xlb_sse_stats st;
	struct xlb_sse *p = parser(&r, 0);
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		expect_ok(xlb_whatf("heartbeat %d: feed \\r", i), xlb_sse_feed(p, "\r", 1));
		expect_true(xlb_whatf("heartbeat %d: half a line end pending", i),
			    xlb_sse_pending(p));
		expect_ok(xlb_whatf("heartbeat %d: feed \\n", i), xlb_sse_feed(p, "\n", 1));
		expect_false(xlb_whatf("heartbeat %d: nothing pending", i), xlb_sse_pending(p));
	}
	expect_ok("feed two LF heartbeats", xlb_sse_feed(p, "\n\n", 2));
	xlb_sse_stats(p, &st);
	expect_eq("heartbeats counted", st.heartbeats, 5);
	expect_eq("events counted (heartbeats only)", st.events, 0);
	expect_eq("events dispatched (heartbeats only)", r.n, 0);
	/* Heartbeats between the lines of an event do not exist: a blank line ends it. */
	expect_ok("feed a data line and a lone \\r", xlb_sse_feed(p, "data: a\r\n\r", 10));
	expect_eq("events dispatched before the \\n", r.n, 0);
	expect_ok("feed the \\n that ends the event", xlb_sse_feed(p, "\n", 1));
	expect_eq("events dispatched after the blank line", r.n, 1);
	xlb_sse_stats(p, &st);
	expect_eq("heartbeats after an event ended by \\r then \\n", st.heartbeats, 5);
	xlb_sse_free(p);
	rec_free(&r);
}

static void test_reset_drops_partial_event(void **state)
{
	struct rec r = {0};
	struct xlb_sse_stats st;
	struct xlb_sse *p = parser(&r, 0);
	static const char next[] = "event: event_stream_attached\r\ndata: " ATTACHED "\r\n\r\n";

	(void)state;
	/* Connection cut after a complete data line but before the blank line... */
	expect_ok("feed an event without its blank line",
		  xlb_sse_feed(p, "event: status_update_event\r\ndata: " STATUS "\r\n",
			       strlen("event: status_update_event\r\ndata: " STATUS "\r\n")));
	expect_true("partial event pending", xlb_sse_pending(p));
	xlb_sse_reset(p);
	expect_false("partial event pending after reset", xlb_sse_pending(p));
	/* ...the new stream's first blank line must not complete it. */
	expect_ok("feed a blank line after reset", xlb_sse_feed(p, "\r\n", 2));
	expect_eq("events dispatched by a blank line after reset", r.n, 0);

	/* Cut inside a data line: the new stream's bytes are not appended to it. */
	expect_ok("feed half a data line",
		  xlb_sse_feed(p, "data: {\"eventType\":\"status_upd", 31));
	xlb_sse_reset(p);
	expect_ok("feed a whole event after reset", xlb_sse_feed(p, next, sizeof(next) - 1));
	expect_eq("events dispatched after reset", r.n, 1);
	expect_str_eq("name of the event after reset", r.name[0], "event_stream_attached");
	expect_str_eq("data of the event after reset", r.data[0], ATTACHED);

	/* Cut between "\r" and "\n" of a heartbeat. */
	expect_ok("feed half a heartbeat", xlb_sse_feed(p, "\r", 1));
	xlb_sse_reset(p);
	expect_false("half a heartbeat pending after reset", xlb_sse_pending(p));
	xlb_sse_stats(p, &st);
	expect_eq("events counted across resets", st.events, 1);
	expect_eq("heartbeats counted across resets (stats survive reset)", st.heartbeats, 1);
	xlb_sse_free(p);
	rec_free(&r);
}

static void test_oversize_event_recovers(void **state)
{
	char big[600];
	char stream[1024];
	struct rec whole = {0}, r = {0};
	struct xlb_sse_stats st;
	struct xlb_sse *p;
	size_t len;
	int n;

	(void)state;
	memset(big, 'x', 150);
	big[150] = '\0';
	/* Limit 200: the middle event has three 156-byte lines. */
	n = snprintf(stream, sizeof(stream),
		     "event: small\r\ndata: one\r\n\r\n"
		     "event: big\r\ndata: %s\r\ndata: %s\r\n: comment inside\r\ndata: %s\r\n\r\n"
		     "\r\n"
		     "event: after\r\ndata: two\r\n\r\n",
		     big, big, big);
	len = (size_t)n;
	check_all_splits(stream, len, 200, &whole, &st);
	expect_eq("events around an oversized one", whole.n, 2);
	expect_str_eq("name of event 0", whole.name[0], "small");
	expect_str_eq("data of event 0", whole.data[0], "one");
	expect_str_eq("name of event 1 (after the oversized one)", whole.name[1], "after");
	expect_str_eq("data of event 1", whole.data[1], "two");
	expect_eq("parser errors for an oversized event", whole.errors, 1);
	expect_eq("oversized events", st.oversized, 1);
	/* The blank line that ended the discarded event is not a heartbeat; the next one is. */
	expect_eq("heartbeats (the blank line ending the discarded event is none)", st.heartbeats,
		  1);
	rec_free(&whole);

	/* The chunk where it happened says so; later chunks are clean again. */
	p = parser(&r, 200);
	expect_rc("feed the chunk with the oversized event", xlb_sse_feed(p, stream, 250),
		  -EMSGSIZE);
	expect_ok("feed the chunks after it", xlb_sse_feed(p, stream + 250, len - 250));
	expect_eq("events dispatched around the oversized one", r.n, 2);
	xlb_sse_free(p);
	rec_free(&r);

	/* An event of exactly the limit passes; "\r\n" line ends do not count. */
	p = parser(&r, 20);
	expect_ok("feed an event of exactly the limit",
		  xlb_sse_feed(p, "event: e\r\ndata: 123456\r\n\r\n", 26));
	expect_eq("events dispatched at the limit", r.n, 1);
	expect_rc("feed an event one byte over the limit",
		  xlb_sse_feed(p, "event: e\r\ndata: 1234567\r\n\r\n", 27), -EMSGSIZE);
	expect_eq("events dispatched after one over the limit", r.n, 1);
	expect_eq("parser errors after one over the limit", r.errors, 1);
	xlb_sse_free(p);
	rec_free(&r);
}

/* A peer that never sends "\n": memory stays bounded, the next real event still arrives. */
static void test_endless_line(void **state)
{
	struct rec r = {0};
	struct xlb_sse *p = parser(&r, 1024);
	char chunk[4096];
	int i, emsgsize = 0;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "data: ", 6);
	for (i = 0; i < 1000; i++)
		emsgsize += xlb_sse_feed(p, chunk, sizeof(chunk)) == -EMSGSIZE;
	expect_eq("feeds that report the endless line", emsgsize, 1);
	expect_eq("parser errors for the endless line", r.errors, 1);
	expect_ok("feed an event after the endless line", xlb_sse_feed(p, "\n\ndata: ok\n\n", 12));
	expect_eq("events after the endless line", r.n, 1);
	expect_str_eq("data of the event after the endless line", r.data[0], "ok");
	xlb_sse_free(p);
	rec_free(&r);
}

static void test_callback_error_stops(void **state)
{
	struct rec r = {.stop_at = 1};
	struct xlb_sse *p = parser(&r, 0);

	(void)state;
	expect_rc("feed two events to a callback failing on the first",
		  xlb_sse_feed(p, "data: a\n\ndata: b\n\n", 18), -ECANCELED);
	expect_eq("events dispatched before the callback failed", r.n, 1);
	xlb_sse_free(p);
	rec_free(&r);
}

static void test_bom_and_bad_args(void **state)
{
	struct rec r = {0};
	struct xlb_sse *p = parser(&r, 0);
	struct xlb_sse_opts o = {0};
	struct xlb_sse *q = NULL;

	(void)state;
	/* A UTF-8 BOM opening the stream is skipped, even split across reads. */
	expect_ok("feed the first two bytes of a BOM", xlb_sse_feed(p, "\xef\xbb", 2));
	expect_ok("feed the BOM's last byte and an event", xlb_sse_feed(p,
									"\xbf"
									"data: x\n\n",
									10));
	expect_eq("events after a split BOM", r.n, 1);
	expect_str_eq("data of the event after a split BOM", r.data[0], "x");
	/* Not at the start: ordinary bytes. */
	expect_ok("feed an event whose data is a BOM",
		  xlb_sse_feed(p, "data: \xef\xbb\xbf\n\n", 11));
	expect_str_eq("data that is a BOM", r.data[1], "\xef\xbb\xbf");
	/* A start that only looks like a BOM keeps its bytes. */
	xlb_sse_reset(p);
	expect_ok("feed a start that looks like a BOM", xlb_sse_feed(p,
								     "\xef"
								     "data",
								     5));
	expect_ok("feed the rest of that event", xlb_sse_feed(p, ": y\n\n", 5));
	expect_eq("events after a false BOM (the field \"\\xefdata\" is ignored)", r.n, 2);
	xlb_sse_free(p);
	rec_free(&r);

	expect_rc("xlb_sse_new without callbacks", xlb_sse_new(&o, &q), -EINVAL);
	expect_rc("xlb_sse_new with NULL options", xlb_sse_new(NULL, &q), -EINVAL);
	expect_rc("feed a NULL parser", xlb_sse_feed(NULL, "x", 1), -EINVAL);
	xlb_sse_free(NULL);
	xlb_sse_reset(NULL);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return buf;
}

/* The sample from Marathon's docs (LF), and the same as Jetty sends it (CRLF). */
static void test_marathon_events_txt(void **state)
{
	const char *dir = getenv("XLB_SHARED_FIXTURES");
	char path[1024], type[64];
	struct rec lf = {0}, crlf = {0};
	struct xlb_sse_stats st;
	size_t len = 0, i, o = 0;
	char *text, *wire;

	(void)state;
	snprintf(path, sizeof(path), "%s/marathon/api-examples/events.txt",
		 dir && *dir ? dir : "../shared/fixtures");
	text = read_file(path, &len);
	if (!text)
		xlb_skip_fixtures("%s not found (set XLB_SHARED_FIXTURES)", path);
	check_all_splits(text, len, 0, &lf, &st);
	expect_eq("events in events.txt", lf.n, 3);
	expect_str_eq("name of events.txt event 0", lf.name[0], "event_stream_attached");
	expect_str_eq("name of events.txt event 1", lf.name[1], "status_update_event");
	expect_str_eq("name of events.txt event 2", lf.name[2], "status_update_event");
	for (i = 0; i < 3; i++) {
		/* "eventType" in the data equals the event name. */
		expect_ok(xlb_whatf("eventType of events.txt event %zu", i),
			  xlb_mara_event_type(lf.data[i], lf.len[i], type, sizeof(type)));
		expect_str_eq(xlb_whatf("eventType of events.txt event %zu against its name", i),
			      type, lf.name[i]);
		expect_eq(xlb_whatf("relevance of %s", type), xlb_mara_event_relevant(type), i > 0);
	}
	expect_substr("data of events.txt event 1", lf.data[1], "\"taskStatus\":\"TASK_FAILED\"");
	expect_substr("data of events.txt event 2", lf.data[2], "\"ports\":[31182]");

	wire = malloc(len * 2 + 1);
	for (i = 0; i < len; i++) {
		if (text[i] == '\n')
			wire[o++] = '\r';
		wire[o++] = text[i];
	}
	check_all_splits(wire, o, 0, &crlf, &st);
	assert_same(&lf, &crlf, "events.txt CRLF");
	rec_free(&lf);
	rec_free(&crlf);
	free(wire);
	free(text);
}

static void test_event_type(void **state)
{
	char type[32];

	(void)state;
	expect_ok("event type of a status update",
		  xlb_mara_event_type(STATUS, strlen(STATUS), type, sizeof(type)));
	expect_str_eq("event type of a status update", type, "status_update_event");
	/* Old Marathons: several JSON values in one event. */
	expect_ok("event type of two JSON values in one event",
		  xlb_mara_event_type(HEALTH "\n" STATUS, strlen(HEALTH "\n" STATUS), type,
				      sizeof(type)));
	expect_str_eq("event type of two JSON values (the first)", type,
		      "instance_health_changed_event");
	/* Truncated to the buffer. */
	expect_ok("event type into 9 bytes", xlb_mara_event_type(HEALTH, strlen(HEALTH), type, 9));
	expect_str_eq("event type cut to 9 bytes", type, "instance");
	expect_rc("event type without eventType",
		  xlb_mara_event_type("{\"a\":1}", 7, type, sizeof(type)), -EINVAL);
	expect_rc("event type with a numeric eventType",
		  xlb_mara_event_type("{\"eventType\":5}", 15, type, sizeof(type)), -EINVAL);
	expect_rc("event type of an array", xlb_mara_event_type("[1]", 3, type, sizeof(type)),
		  -EINVAL);
	expect_rc("event type of cut JSON",
		  xlb_mara_event_type("{\"eventType\":", 13, type, sizeof(type)), -EINVAL);
	expect_rc("event type of empty data", xlb_mara_event_type("", 0, type, sizeof(type)),
		  -EINVAL);
	expect_rc("event type of NULL data", xlb_mara_event_type(NULL, 0, type, sizeof(type)),
		  -EINVAL);
}

static void test_event_relevance(void **state)
{
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
	static const char *const ignored[] = {
	    "event_stream_attached",
	    "event_stream_detached",
	    "deployment_info",
	    "deployment_failed",
	    "deployment_step_failure",
	    "failed_health_check_event",
	    "framework_message_event",
	    "scheduler_registered_event",
	    "group_change_success",
	    "add_health_check_event",
	    "subscribe_event",
	    "STATUS_UPDATE_EVENT",
	    "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(relevant); i++)
		if (!xlb_mara_event_relevant(relevant[i]))
			fail_msg("%s should be relevant", relevant[i]);
	for (i = 0; i < ARRAY_SIZE(ignored); i++)
		if (xlb_mara_event_relevant(ignored[i]))
			fail_msg("%s should be ignored", ignored[i]);
	assert_false(xlb_mara_event_relevant(NULL));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crlf_stream_all_splits),
    cmocka_unit_test(test_lf_only_same_events),
    cmocka_unit_test(test_heartbeats_counted_not_dispatched),
    cmocka_unit_test(test_reset_drops_partial_event),
    cmocka_unit_test(test_oversize_event_recovers),
    cmocka_unit_test(test_endless_line),
    cmocka_unit_test(test_callback_error_stops),
    cmocka_unit_test(test_bom_and_bad_args),
    cmocka_unit_test(test_marathon_events_txt),
    cmocka_unit_test(test_event_type),
    cmocka_unit_test(test_event_relevance),
};

XLB_TEST_MAIN("sse", tests)
