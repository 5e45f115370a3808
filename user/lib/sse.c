// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The text/event-stream push parser behind xlbd's Marathon event listener. It
 * keeps only the current line and the current event; a line is handled when
 * its "\n" arrives, so a chunk boundary anywhere (even between "\r" and "\n")
 * changes nothing. An event over the size limit is dropped as a whole, up to
 * its closing blank line, so the stream stays in step and the next event is
 * read normally.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

struct buf {
	char *p;
	size_t len, cap;
};

struct xlb_sse {
	struct xlb_sse_opts o;
	struct buf line;    /* current line, without its "\n" */
	struct buf data;    /* joined data lines */
	struct buf event;   /* event name */
	size_t event_bytes; /* completed lines of this event */
	bool have_fields;   /* any field line since the last blank line */
	bool have_data;
	bool have_event;
	/* Discarding an oversized event: only "is this line blank" matters. */
	bool discarding;
	size_t disc_len; /* bytes of the current discarded line (saturating at 2) */
	char disc_first;
	unsigned int bom; /* bytes of a leading UTF-8 BOM matched; 3 = past it */
	struct xlb_sse_stats st;
};

static const unsigned char bom_bytes[3] = {0xef, 0xbb, 0xbf};

/* Makes room for n more bytes and a NUL. */
static int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void clear_event(struct xlb_sse *p)
{
	p->data.len = 0;
	p->event.len = 0;
	p->event_bytes = 0;
	p->have_fields = p->have_data = p->have_event = false;
}

/* Large buffers from one huge event are not kept for the life of the stream. */
static void shrink(struct buf *b)
{
	if (b->cap > 65536) {
		free(b->p);
		memset(b, 0, sizeof(*b));
	}
}

static void start_discard(struct xlb_sse *p)
{
	char msg[160];

	p->st.oversized++;
	if (p->o.on_error) {
		snprintf(msg, sizeof(msg),
			 "event stream: event larger than %zu bytes: discarded up to the next "
			 "blank line",
			 p->o.max_event);
		p->o.on_error(p->o.ctx, msg);
	}
	clear_event(p);
	p->line.len = 0;
	shrink(&p->line);
	shrink(&p->data);
	p->discarding = true;
	/* Discarding starts inside a line that has content: that line is not the blank one. */
	p->disc_len = 2;
}

static int dispatch(struct xlb_sse *p)
{
	int ret;

	if (buf_reserve(&p->data, 0) || buf_reserve(&p->event, 0))
		return -ENOMEM;
	p->data.p[p->data.len] = '\0';
	p->event.p[p->event.len] = '\0';
	p->st.events++;
	ret =
	    p->o.on_event(p->o.ctx, p->have_event ? p->event.p : "message", p->data.p, p->data.len);
	clear_event(p);
	return ret;
}

/* One complete line, "\r\n"/"\n" already removed. */
static int handle_line(struct xlb_sse *p, const char *s, size_t n)
{
	const char *colon, *val;
	size_t flen, vlen;

	if (!n) {
		if (!p->have_fields) {
			p->st.heartbeats++;
			return 0;
		}
		/* Per the SSE spec an event without data is not dispatched. */
		if (!p->have_data) {
			clear_event(p);
			return 0;
		}
		return dispatch(p);
	}
	if (s[0] == ':') {
		p->st.comments++;
		return 0;
	}
	p->have_fields = true;
	p->event_bytes += n;
	colon = memchr(s, ':', n);
	flen = colon ? (size_t)(colon - s) : n;
	val = colon ? colon + 1 : s + n;
	vlen = (size_t)(s + n - val);
	if (vlen && *val == ' ') {
		val++;
		vlen--;
	}
	if (flen == 4 && !memcmp(s, "data", 4)) {
		if (p->have_data && buf_add(&p->data, "\n", 1))
			return -ENOMEM;
		if (buf_add(&p->data, val, vlen))
			return -ENOMEM;
		p->have_data = true;
	} else if (flen == 5 && !memcmp(s, "event", 5)) {
		p->event.len = 0;
		if (buf_add(&p->event, val, vlen))
			return -ENOMEM;
		p->have_event = true;
	} else {
		p->st.ignored_fields++;
	}
	return 0;
}

int xlb_sse_new(const struct xlb_sse_opts *opts, struct xlb_sse **out)
{
	struct xlb_sse *p;

	if (!opts || !opts->on_event || !out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *opts;
	if (!p->o.max_event)
		p->o.max_event = XLB_SSE_MAX_EVENT_DEFAULT;
	*out = p;
	return 0;
}

void xlb_sse_reset(struct xlb_sse *p)
{
	if (!p)
		return;
	clear_event(p);
	p->line.len = 0;
	shrink(&p->line);
	shrink(&p->data);
	p->discarding = false;
	p->disc_len = 0;
	p->bom = 0;
}

bool xlb_sse_pending(const struct xlb_sse *p)
{
	return p && (p->line.len || p->have_fields || p->discarding);
}

void xlb_sse_stats(const struct xlb_sse *p, struct xlb_sse_stats *st)
{
	if (p && st)
		*st = p->st;
}

void xlb_sse_free(struct xlb_sse *p)
{
	if (!p)
		return;
	free(p->line.p);
	free(p->data.p);
	free(p->event.p);
	free(p);
}

/* Bytes of one line while discarding: only blank ("" or "\r") lines matter. */
static void discard_bytes(struct xlb_sse *p, const char *s, size_t n)
{
	if (n && !p->disc_len)
		p->disc_first = s[0];
	p->disc_len = p->disc_len + n > 2 ? 2 : p->disc_len + n;
}

int xlb_sse_feed(struct xlb_sse *p, const void *buf, size_t len)
{
	const char *s = buf, *end = s + len;
	int ret = 0, r;

	if (!p || (!buf && len))
		return -EINVAL;
	p->st.bytes += len;

	/* A UTF-8 byte order mark may open the stream (SSE spec); it is not data. */
	while (p->bom < 3 && s < end) {
		if ((unsigned char)*s == bom_bytes[p->bom]) {
			p->bom++;
			s++;
			continue;
		}
		/* Not a BOM after all: the bytes matched so far were line content. */
		if (p->bom && buf_add(&p->line, (const char *)bom_bytes, p->bom))
			return -ENOMEM;
		p->bom = 3;
	}

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s), eff;
		char last;

		if (p->discarding) {
			discard_bytes(p, s, n);
			if (nl && (p->disc_len == 0 || (p->disc_len == 1 && p->disc_first == '\r')))
				p->discarding = false; /* blank line: the next event starts clean */
			else if (nl)
				p->disc_len = 0;
			s += n + (nl ? 1 : 0);
			continue;
		}
		/*
		 * Size without a trailing "\r": that may be half a line end, and the
		 * verdict must not depend on where the chunks were cut.
		 */
		eff = p->line.len + n;
		last = n ? s[n - 1] : p->line.len ? p->line.p[p->line.len - 1] : 0;
		if (last == '\r')
			eff--;
		if (p->event_bytes + eff > p->o.max_event) {
			start_discard(p);
			ret = -EMSGSIZE;
			continue; /* the same bytes, now counted as discarded */
		}
		if (n && buf_add(&p->line, s, n)) {
			start_discard(p);
			return -ENOMEM;
		}
		s += n;
		if (!nl)
			break;
		s++;
		if (p->line.len && p->line.p[p->line.len - 1] == '\r')
			p->line.len--;
		r = handle_line(p, p->line.p ? p->line.p : "", p->line.len);
		p->line.len = 0;
		if (r == -ENOMEM) {
			start_discard(p);
			return r;
		}
		if (r)
			return r;
	}
	return ret;
}
