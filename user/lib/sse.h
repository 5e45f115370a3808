/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An incremental parser for server-sent events (text/event-stream), shaped by
 * what Marathon's /v2/events sends (docs/marathon.md §4.2): bytes arrive in chunks
 * split anywhere, lines end in "\n" with an optional "\r" before it, "event:"
 * and "data:" fields make an event that a blank line dispatches, and a blank
 * line on its own (Marathon writes "\r" and "\n" as two flushes every 10 s) is
 * a heartbeat that is counted, not dispatched. Events are bounded in size so a
 * broken peer cannot grow memory without limit. No I/O, no printing.
 */
#ifndef XLB_SSE_H
#define XLB_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define XLB_SSE_MAX_EVENT_DEFAULT (16u << 20) /* 16 MiB */

struct xlb_sse;

/*
 * One dispatched event. event: the last "event:" value, or "message" (the SSE
 * default) when there was none; data: the "data:" lines joined with "\n",
 * NUL-terminated, len bytes without the NUL. Both are valid during the call
 * only. Return 0 to go on, or -errno to stop: xlb_sse_feed() then returns that
 * value at once and the rest of its chunk is dropped (reset() before reuse).
 */
typedef int (*xlb_sse_event_fn)(void *ctx, const char *event, const char *data, size_t len);

/* A problem the stream recovered from (an oversized event), for the daemon's log. */
typedef void (*xlb_sse_error_fn)(void *ctx, const char *msg);

struct xlb_sse_opts {
	size_t max_event; /* bytes of an event's lines (without line ends); 0: default */
	xlb_sse_event_fn on_event;
	xlb_sse_error_fn on_error; /* may be NULL */
	void *ctx;		   /* passed to both callbacks */
};

struct xlb_sse_stats {
	__u64 bytes;	      /* fed in total */
	__u64 events;	      /* dispatched */
	__u64 heartbeats;     /* blank lines with nothing pending */
	__u64 comments;	      /* ":" lines */
	__u64 oversized;      /* events discarded for size */
	__u64 ignored_fields; /* "id:", "retry:" and unknown fields */
};

/* Returns 0 and a new parser in *out, -EINVAL (no on_event) or -ENOMEM. */
int xlb_sse_new(const struct xlb_sse_opts *opts, struct xlb_sse **out);

/*
 * Parses len more bytes, dispatching each event completed in them. Returns 0;
 * -EMSGSIZE if an event in this chunk went over max_event (it is discarded up
 * to the next blank line, on_error is told, and later events in the same
 * chunk are still dispatched); -ENOMEM; or what on_event returned.
 */
int xlb_sse_feed(struct xlb_sse *p, const void *buf, size_t len);

/*
 * Forgets a half-received line or event (after a reconnect: the new stream
 * starts afresh and a partial event must never be dispatched). Stats are kept.
 */
void xlb_sse_reset(struct xlb_sse *p);

/* True while part of a line or event is buffered. */
bool xlb_sse_pending(const struct xlb_sse *p);

void xlb_sse_stats(const struct xlb_sse *p, struct xlb_sse_stats *st);

void xlb_sse_free(struct xlb_sse *p);

#endif /* XLB_SSE_H */
