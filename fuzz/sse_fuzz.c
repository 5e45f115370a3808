// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the server-sent events parser and the event-type reader
 * behind it. The first byte picks a chunk size; the rest is the stream. The
 * stream is parsed twice, whole and in chunks, and both runs must dispatch
 * the same events with the same data (bytes split anywhere is what the
 * network does). Every event's data goes on to xlb_mara_event_type(). A small
 * max_event makes the oversized-event path reachable.
 */
#include <errno.h>

#include "fuzz.h"
#include "mara_events.h"
#include "sse.h"

#define FUZZ_MAX_EVENTS 256

struct run {
	size_t n;
	uint64_t hash[FUZZ_MAX_EVENTS];
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct run *r = ctx;
	char type[64];

	FUZZ_CHECK(data[len] == '\0', "event data not terminated at its length");
	FUZZ_CHECK(len <= 4096, "event of %zu bytes over max_event", len);
	if (!xlb_mara_event_type(data, len, type, sizeof(type))) {
		FUZZ_CHECK(fuzz_terminated(type, sizeof(type)), "event type not terminated");
		(void)xlb_mara_event_relevant(type);
	}
	if (r->n < FUZZ_MAX_EVENTS)
		r->hash[r->n] = fnv(fnv(14695981039346656037ull, event, strlen(event) + 1), data, len);
	r->n++;
	return 0;
}

static void on_error(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg && msg[0], "empty error message");
}

static void parse(const uint8_t *d, size_t n, size_t chunk, struct run *r, struct xlb_sse_stats *st)
{
	struct xlb_sse_opts o = { .max_event = 4096, .on_event = on_event, .on_error = on_error,
				  .ctx = r };
	struct xlb_sse *p;
	size_t off, k;
	int rc;

	FUZZ_CHECK(xlb_sse_new(&o, &p) == 0, "xlb_sse_new");
	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		rc = xlb_sse_feed(p, d + off, k);
		FUZZ_CHECK(rc == 0 || rc == -EMSGSIZE, "feed rc %d", rc);
	}
	xlb_sse_stats(p, st);
	FUZZ_CHECK(st->bytes == n, "stats.bytes %llu, fed %zu", (unsigned long long)st->bytes, n);
	FUZZ_CHECK(st->events == r->n, "stats.events %llu, dispatched %zu",
		   (unsigned long long)st->events, r->n);
	xlb_sse_reset(p);
	FUZZ_CHECK(!xlb_sse_pending(p), "pending after reset");
	xlb_sse_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { 0 }, split = { 0 };
	struct xlb_sse_stats sw, ss;
	size_t chunk, i;

	if (!size)
		return 0;
	chunk = (data[0] % 17) + 1;
	data++;
	size--;
	parse(data, size, size ? size : 1, &whole, &sw);
	parse(data, size, chunk, &split, &ss);
	FUZZ_CHECK(whole.n == split.n, "%zu events whole, %zu in chunks of %zu", whole.n, split.n,
		   chunk);
	for (i = 0; i < whole.n && i < FUZZ_MAX_EVENTS; i++)
		FUZZ_CHECK(whole.hash[i] == split.hash[i], "event %zu differs in chunks of %zu", i,
			   chunk);
	FUZZ_CHECK(sw.heartbeats == ss.heartbeats && sw.comments == ss.comments &&
			   sw.oversized == ss.oversized && sw.ignored_fields == ss.ignored_fields,
		   "stats differ in chunks of %zu", chunk);
	return 0;
}
