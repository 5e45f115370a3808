// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * GET /v2/events as Marathon's Jetty EventSourceServlet writes it: status 200,
 * text/event-stream, no chunking, the connection closed by either side, each
 * event "event: NAME\r\ndata: JSON\r\n\r\n", and a heartbeat every N ms that
 * is a bare "\r" flushed, then "\n" flushed. Each stream has its own pending
 * buffer; MHD gives every connection a thread, so the stream's content reader
 * simply sleeps on sim.stream_cond until there is something to send, a
 * heartbeat is due, the stream is cut, or the client went away.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "sim.h"

/* How often a quiet stream checks whether its client hung up. */
#define PEER_CHECK_MS 200

json_t *sim_event_new(void)
{
	return json_object();
}

static bool subscribed(const struct sim_stream *st, const char *type)
{
	size_t i;
	json_t *f;

	if (!json_array_size(st->filters))
		return true;
	json_array_foreach(st->filters, i, f)
	{
		if (!strcmp(json_string_value(f), type))
			return true;
	}
	return false;
}

static int stream_append(struct sim_stream *st, const char *type, const char *data)
{
	size_t need = strlen(type) + strlen(data) + 32;
	char *nb;

	if (st->off && st->off == st->len)
		st->off = st->len = 0;
	if (st->len + need > st->cap) {
		size_t cap = (st->len + need) * 2;

		nb = realloc(st->buf, cap);
		if (!nb)
			return -ENOMEM;
		st->buf = nb;
		st->cap = cap;
	}
	st->len += (size_t)snprintf(st->buf + st->len, st->cap - st->len,
				    "event: %s\r\ndata: %s\r\n\r\n", type, data);
	return 0;
}

/*
 * Publishes one event to every stream that asked for its type. The event
 * object is consumed; eventType and timestamp go last, as Marathon's case
 * classes have them.
 */
void sim_event_publish(json_t *ev, const char *type)
{
	struct sim_stream *st;
	char ts[SIM_TS_LEN];
	char *data;
	int n = 0;

	sim_iso_now(ts);
	json_object_set_new(ev, "eventType", json_string(type));
	json_object_set_new(ev, "timestamp", json_string(ts));
	data = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!data) {
		sim_log("event %s: cannot serialize", type);
		return;
	}
	for (st = sim.streams; st; st = st->next) {
		if (st->cut || !subscribed(st, type))
			continue;
		if (stream_append(st, type, data) || st->len - st->off > SIM_STREAM_MAX_PENDING) {
			/* A slow consumer loses its connection, as with Marathon 1.8+. */
			sim_log("stream %lu: %zu bytes pending, closing", st->id,
				st->len - st->off);
			st->cut = true;
			continue;
		}
		n++;
	}
	sim_log("event %s -> %d stream(s)", type, n);
	free(data);
	pthread_cond_broadcast(&sim.stream_cond);
}

static bool peer_gone(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
	char c;

	if (fd < 0 || poll(&pfd, 1, 0) <= 0)
		return false;
	if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return true;
	/* Readable: EOF unless the client pipelined bytes we will never read. */
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void abs_deadline(uint64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sim_stream *st = cls;
	struct timespec ts;
	uint64_t now, wake;
	ssize_t n = 0;

	(void)pos;
	if (!max)
		return 0;
	pthread_mutex_lock(&sim.lock);
	for (;;) {
		/* Without chunking, the end of the stream is just the connection closing. */
		if (st->cut || sim.quit || sim.down != SIM_UP || sim.standby_of[0]) {
			n = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (st->hb_lf) {
			/* The second half of a heartbeat, flushed on its own like Jetty's. */
			buf[0] = '\n';
			st->hb_lf = false;
			n = 1;
			break;
		}
		if (st->len > st->off && !st->mute) {
			n = (ssize_t)(st->len - st->off < max ? st->len - st->off : max);
			memcpy(buf, st->buf + st->off, (size_t)n);
			st->off += (size_t)n;
			break;
		}
		now = sim_now_ms();
		/* A muted stream (fault "silent") stays open and says nothing at all. */
		if (!sim.silent && !st->mute && now >= st->next_hb) {
			st->next_hb = now + (uint64_t)sim.heartbeat_ms;
			st->hb_lf = true;
			buf[0] = '\r';
			n = 1;
			break;
		}
		if (peer_gone(st->fd)) {
			sim_log("stream %lu: client %s went away", st->id, st->remote);
			n = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		wake = now + PEER_CHECK_MS;
		if (!sim.silent && !st->mute && st->next_hb < wake)
			wake = st->next_hb;
		abs_deadline(wake, &ts);
		pthread_cond_timedwait(&sim.stream_cond, &sim.lock, &ts);
	}
	pthread_mutex_unlock(&sim.lock);
	return n;
}

static void stream_free(void *cls)
{
	struct sim_stream *st = cls;
	struct sim_stream **pp;
	json_t *ev;

	pthread_mutex_lock(&sim.lock);
	for (pp = &sim.streams; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	sim_log("stream %lu: closed (%s)", st->id, st->remote);
	ev = sim_event_new();
	json_object_set_new(ev, "remoteAddress", json_string(st->remote));
	sim_event_publish(ev, "event_stream_detached");
	pthread_mutex_unlock(&sim.lock);
	json_decref(st->filters);
	free(st->buf);
	free(st);
}

/*
 * Registers a stream and publishes event_stream_attached (which, as in
 * Marathon, the new stream itself only gets if its filters allow it).
 * Called with sim.lock held.
 */
struct MHD_Response *sim_stream_open(struct MHD_Connection *conn, const char *remote,
				     json_t *filters, bool mute)
{
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *resp;
	struct sim_stream *st;
	json_t *ev;

	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->id = ++sim.next_stream_id;
	snprintf(st->remote, sizeof(st->remote), "%s", remote);
	st->filters = json_incref(filters);
	st->mute = mute;
	st->next_hb = sim_now_ms() + (uint64_t)sim.heartbeat_ms;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	st->fd = ci ? ci->connect_fd : -1;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st,
						 stream_free);
	if (!resp) {
		json_decref(st->filters);
		free(st);
		return NULL;
	}
	/* Jetty answers with Connection: close and no chunked encoding. */
	MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream;charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	st->next = sim.streams;
	sim.streams = st;
	sim_log("stream %lu: attached (%s, %zu filter(s))", st->id, remote,
		json_array_size(filters));
	ev = sim_event_new();
	json_object_set_new(ev, "remoteAddress", json_string(remote));
	sim_event_publish(ev, "event_stream_attached");
	return resp;
}

void sim_streams_cut(void)
{
	struct sim_stream *st;
	int n = 0;

	for (st = sim.streams; st; st = st->next) {
		st->cut = true;
		n++;
	}
	sim_log("cutting %d stream(s)", n);
	pthread_cond_broadcast(&sim.stream_cond);
}

json_t *sim_streams_json(void)
{
	struct sim_stream *st;
	json_t *a = json_array();

	for (st = sim.streams; st; st = st->next)
		json_array_append_new(a, json_pack("{s:i,s:s,s:O,s:i,s:b}", "id", (int)st->id,
						   "remoteAddress", st->remote, "eventTypes",
						   st->filters, "pendingBytes",
						   (int)(st->len - st->off), "cut", st->cut));
	return a;
}
