// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the incremental reader of Marathon list documents. The
 * first byte picks a chunk size and pruning; the rest is the body. Checked
 * against jansson parsing the whole body with the same flags: when both
 * succeed, the unpruned document must be equal, and the pruned one must give
 * the Marathon model the full one gives; a body jansson rejects must not come
 * out of the stream as a document.
 */
#include <errno.h>
#include <jansson.h>

#include "fuzz.h"
#include "mara_stream.h"
#include "mara_model.h"

static int stream(const uint8_t *d, size_t n, size_t chunk, bool prune, json_t **doc)
{
	struct xlb_mara_stream_opts o = { .split_member = "apps", .prune = prune,
					  .max_element = 1 << 16 };
	struct xlb_mara_stream *s;
	char err[256];
	size_t off, k;
	int rc = 0;

	FUZZ_CHECK(xlb_mara_stream_new(&o, &s) == 0, "stream_new");
	for (off = 0; off < n && !rc; off += k) {
		k = n - off < chunk ? n - off : chunk;
		rc = xlb_mara_stream_feed(s, (const char *)d + off, k, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EFBIG, "feed rc %d", rc);
		FUZZ_CHECK(rc == 0 || fuzz_terminated(err, sizeof(err)), "feed error unterminated");
	}
	if (!rc) {
		FUZZ_CHECK(xlb_mara_stream_bytes(s) == n, "stream bytes %zu, fed %zu",
			   xlb_mara_stream_bytes(s), n);
		rc = xlb_mara_stream_finish(s, doc, err, sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EFBIG, "finish rc %d", rc);
		FUZZ_CHECK(rc || *doc, "finish ok without document");
	}
	xlb_mara_stream_free(s);
	return rc;
}

static void build(const json_t *doc, struct xlb_mara_model *m, int *rc)
{
	struct xlb_mara_opts o;
	char err[256];

	xlb_mara_opts_init(&o);
	o.resolve = fuzz_resolve;
	o.node_family = XLB_AF_INET;
	o.node_addr.v4 = htonl(0xc6120001);
	if (json_is_array(doc))
		*rc = xlb_mara_model_build_json(m, NULL, doc, &o, err, sizeof(err));
	else
		*rc = xlb_mara_model_build_json(m, doc, NULL, &o, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;
	json_t *whole, *doc = NULL, *pruned = NULL;
	struct xlb_mara_model mw = { 0 }, mp = { 0 };
	int rc, rcw, rcp;

	if (!size)
		return 0;
	chunk = (size_t)(data[0] & 0x3f) + 1;
	data++;
	size--;
	whole = json_loadb((const char *)data, size,
			   JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	rc = stream(data, size, chunk, false, &doc);
	if (!rc) {
		FUZZ_CHECK(whole != NULL, "stream accepted a body jansson rejects");
		FUZZ_CHECK(json_equal(whole, doc), "streamed document differs (chunk %zu)", chunk);
		json_decref(doc);
	}
	if (whole && (json_is_object(whole) || json_is_array(whole)) &&
	    !stream(data, size, chunk, true, &pruned)) {
		build(whole, &mw, &rcw);
		build(pruned, &mp, &rcp);
		FUZZ_CHECK(rcw == rcp, "model rc %d from the pruned document, %d from the whole",
			   rcp, rcw);
		FUZZ_CHECK(rcw || xlb_mara_model_equal(&mw, &mp),
			   "pruned document gives another model (%zu vs %zu services)",
			   mp.nr_services, mw.nr_services);
		xlb_mara_model_free(&mw);
		xlb_mara_model_free(&mp);
		json_decref(pruned);
	}
	json_decref(whole);
	return 0;
}
