// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Fault injection for xlbd's robustness tests: POST /sim/fault makes answers
 * to a path go wrong the ways a real Marathon (or what stands between it and
 * xlbd) can: an HTTP 500, a 502 during a leader election, a body that is not
 * JSON, a body cut short, a body of 100 MiB, a body at one byte per second,
 * a redirect, and for the event stream a connection closed at once or one
 * that never says a word. A fault rewrites the answer the simulator was about
 * to give (http.c's reply() and get_events() ask here first), so the body of
 * a slow or truncated answer is the real one. Called with sim.lock held; the
 * content readers of slow and huge bodies run without it and look only at
 * their own state (and at sim.quit, atomically).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define MAX_FAULTS 8
#define HUGE_DEFAULT (100ull << 20)

enum fault_mode {
	F_NONE,
	F_500,
	F_502,
	F_BADJSON,
	F_TRUNCATE,
	F_HUGE,
	F_SLOW,
	F_REDIRECT,
	F_CUT,
	F_SILENT,
	F_EMPTY,
};

static const char *const mode_names[] = {
    [F_NONE] = "off",	      [F_500] = "500",	     [F_502] = "502",
    [F_BADJSON] = "badjson",  [F_TRUNCATE] = "truncate", [F_HUGE] = "huge",
    [F_SLOW] = "slow",	      [F_REDIRECT] = "redirect", [F_CUT] = "cut",
    [F_SILENT] = "silent",    [F_EMPTY] = "empty",
};

struct fault {
	char path[SIM_ID_LEN]; /* prefix of the request path */
	enum fault_mode mode;
	int count;	       /* answers left to spoil; -1: until cleared */
	int bps;	       /* slow: bytes per second */
	uint64_t bytes;	       /* huge: body size */
	char location[512];    /* redirect: where to; "" = the same URL (a loop) */
	uint64_t hits;
};

static struct fault faults[MAX_FAULTS];

/* A body produced by a content reader: the real one, or filler. */
struct body {
	char *buf;
	size_t len;
	size_t limit; /* truncate: bytes sent before the connection is dropped */
	int bps;
	uint64_t huge, sent;
	unsigned long serial;
};

static bool quitting(void)
{
	return __atomic_load_n(&sim.quit, __ATOMIC_RELAXED);
}

int sim_fault_set(const char *path, const char *mode, int count, int bps, long long bytes,
		  const char *location, char *err, size_t errlen)
{
	enum fault_mode m = F_NONE;
	struct fault *f = NULL;
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (mode && !strcmp(mode, mode_names[i]))
			break;
	if (!mode || i == sizeof(mode_names) / sizeof(mode_names[0])) {
		snprintf(err, errlen,
			 "mode=500|502|badjson|truncate|huge|slow|redirect|cut|silent|empty|off");
		return -EINVAL;
	}
	m = (enum fault_mode)i;
	if (m == F_NONE) {
		/* off: this path's fault, or every fault without a path */
		for (i = 0; i < MAX_FAULTS; i++)
			if (!path || !strcmp(faults[i].path, path))
				faults[i].mode = F_NONE;
		sim_log("fault %s: off", path ? path : "(all)");
		return 0;
	}
	if (!path || path[0] != '/' || strlen(path) >= sizeof(f->path)) {
		snprintf(err, errlen, "path=/v2/... required");
		return -EINVAL;
	}
	for (i = 0; i < MAX_FAULTS && !f; i++)
		if (faults[i].mode != F_NONE && !strcmp(faults[i].path, path))
			f = &faults[i];
	for (i = 0; i < MAX_FAULTS && !f; i++)
		if (faults[i].mode == F_NONE)
			f = &faults[i];
	if (!f) {
		snprintf(err, errlen, "at most %d faults at a time", MAX_FAULTS);
		return -EBUSY;
	}
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->mode = m;
	f->count = count > 0 ? count : -1;
	f->bps = bps > 0 ? bps : 1;
	f->bytes = bytes > 0 ? (uint64_t)bytes : HUGE_DEFAULT;
	snprintf(f->location, sizeof(f->location), "%s", location ? location : "");
	sim_log("fault %s: %s%s", path, mode_names[m], f->count > 0 ? " (counted)" : "");
	return 0;
}

json_t *sim_fault_json(void)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < MAX_FAULTS; i++)
		if (faults[i].mode != F_NONE)
			json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:I}", "path",
							   faults[i].path, "mode",
							   mode_names[faults[i].mode], "count",
							   faults[i].count, "hits",
							   (json_int_t)faults[i].hits));
	return a;
}

/* The fault for this request path, counted as used; NULL when it is answered normally. */
static struct fault *match(const char *uri)
{
	size_t i, n, plen = strcspn(uri, "?");

	for (i = 0; i < MAX_FAULTS; i++) {
		struct fault *f = &faults[i];

		if (f->mode == F_NONE)
			continue;
		n = strlen(f->path);
		if (plen < n || strncmp(uri, f->path, n))
			continue;
		f->hits++;
		if (f->count > 0 && --f->count == 0) {
			/* the last spoiled answer: keep a copy, the slot is free from now */
			static struct fault last;

			last = *f;
			f->mode = F_NONE;
			return &last;
		}
		return f;
	}
	return NULL;
}

/* True (and counted) when the fault for uri is "silent": a stream that never says a word. */
bool sim_fault_stream_silent(const char *uri)
{
	size_t i, n, plen = strcspn(uri, "?");

	for (i = 0; i < MAX_FAULTS; i++) {
		n = strlen(faults[i].path);
		if (faults[i].mode == F_NONE || plen < n || strncmp(uri, faults[i].path, n))
			continue;
		if (faults[i].mode != F_SILENT)
			return false;
		match(uri);
		sim_log("fault silent on %s", uri);
		return true;
	}
	return false;
}

static void body_free(void *cls)
{
	struct body *b = cls;

	free(b->buf);
	free(b);
}

static void nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The real body, one byte per 1/bps s. A client that gives up makes MHD stop calling. */
static ssize_t read_slow(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *b = cls;
	long wait = 1000 / b->bps;

	if (!max)
		return 0;
	while (wait > 0 && !quitting()) {
		nap_ms(wait > 100 ? 100 : wait);
		wait -= 100;
	}
	if (quitting())
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	buf[0] = b->buf[pos];
	return 1;
}

/* The real body up to limit, then the connection is dropped (Content-Length says more). */
static ssize_t read_truncated(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *b = cls;
	size_t n;

	if (pos >= b->limit || quitting())
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = b->limit - (size_t)pos < max ? b->limit - (size_t)pos : max;
	memcpy(buf, b->buf + pos, n);
	return (ssize_t)n;
}

/*
 * A well-formed apps document of about b->huge bytes: filler apps without
 * ports or tasks, each with a long label, streamed as fast as the client reads.
 */
static ssize_t read_huge(void *cls, uint64_t pos, char *buf, size_t max)
{
	static const char head[] = "{\"apps\":[";
	struct body *b = cls;
	size_t n = 0;
	int w;

	(void)pos;
	if (quitting())
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (b->sent == 0 && max > sizeof(head)) {
		memcpy(buf, head, sizeof(head) - 1);
		n = sizeof(head) - 1;
	}
	if (b->sent >= b->huge) {
		if (b->sent == UINT64_MAX)
			return MHD_CONTENT_READER_END_OF_STREAM;
		b->sent = UINT64_MAX;
		memcpy(buf, "]}", 2);
		return 2;
	}
	while (max - n > 1200 && b->sent + n < b->huge) {
		w = snprintf(buf + n, max - n,
			     "%s{\"id\":\"/filler/app-%08lu\",\"instances\":0,\"labels\":{\"PAD\":\"",
			     b->serial ? "," : "", b->serial);
		b->serial++;
		n += (size_t)w;
		memset(buf + n, 'x', 1000);
		n += 1000;
		memcpy(buf + n, "\"},\"tasks\":[]}", 14);
		n += 14;
	}
	b->sent += n;
	return (ssize_t)n;
}

/*
 * Rewrites an answer about to be queued for uri when a fault covers it. Returns
 * NULL when it does not (the caller answers normally); otherwise the response
 * to queue (taking over body) and its status code in *code.
 */
struct MHD_Response *sim_fault_response(const char *uri, bool stream, char *body, size_t len,
					unsigned int *code, bool *took_body)
{
	struct MHD_Response *resp = NULL;
	struct fault *f;
	struct body *b;
	char *text, loc[1024];

	*took_body = false;
	if (!strncmp(uri, "/sim/", 5) || !strcmp(uri, "/ping"))
		return NULL;
	f = match(uri);
	if (!f)
		return NULL;
	sim_log("fault %s on %s", mode_names[f->mode], uri);
	switch (f->mode) {
	case F_500:
		text = strdup("{\"message\":\"An unexpected server error occurred\"}");
		*code = 500;
		goto text;
	case F_502:
		text = strdup("{\"message\":\"Could not determine the current leader\"}");
		*code = 502;
		goto text;
	case F_EMPTY:
		text = strdup("");
		*code = 200;
		goto text;
	case F_CUT:
		/* 200 and nothing: the connection closes right after the headers */
		text = strdup("");
		*code = 200;
		if (!text)
			return NULL;
		resp = MHD_create_response_from_buffer(0, text, MHD_RESPMEM_MUST_FREE);
		if (resp) {
			MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
						 MHD_RO_END);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						stream ? "text/event-stream;charset=utf-8"
						       : "application/json");
		}
		return resp;
	case F_REDIRECT:
		if (f->location[0])
			snprintf(loc, sizeof(loc), "%s", f->location);
		else
			snprintf(loc, sizeof(loc), "%s%s", sim.self_url, uri);
		text = strdup("");
		if (!text)
			return NULL;
		resp = MHD_create_response_from_buffer(0, text, MHD_RESPMEM_MUST_FREE);
		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
		*code = 302;
		return resp;
	case F_BADJSON:
		if (stream || !body || len < 4) {
			text = strdup("{\"apps\": [ this is not JSON");
			*code = 200;
			goto text;
		}
		/* The real document with its middle replaced by what no JSON parser takes. */
		memcpy(body + len / 2, "}}#", 3);
		*code = 200;
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (resp) {
			*took_body = true;
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						"application/json");
		}
		return resp;
	case F_TRUNCATE:
	case F_SLOW:
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		*took_body = true; /* freed with b, also when MHD refuses it */
		b->buf = body;
		b->len = len;
		b->limit = len / 2;
		b->bps = f->bps;
		resp = MHD_create_response_from_callback(len, f->mode == F_SLOW ? 64 : 16384,
							 f->mode == F_SLOW ? read_slow
									   : read_truncated,
							 b, body_free);
		if (!resp) {
			body_free(b);
			return NULL;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		*code = 200;
		return resp;
	case F_HUGE:
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		b->huge = f->bytes;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, read_huge, b,
							 body_free);
		if (!resp) {
			body_free(b);
			return NULL;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		*code = 200;
		return resp;
	case F_SILENT:
	case F_NONE:
		return NULL;
	}
	return NULL;
text:
	if (!text)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return resp;
}
