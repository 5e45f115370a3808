/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An incremental reader for Marathon's list documents (GET /v2/apps?embed=
 * apps.tasks: {"apps": [...]}, GET /v2/pods/::status: [...]), fed with the
 * HTTP body as it arrives. A large cluster answers with tens of megabytes of
 * JSON; parsing it in one piece after the download doubles the time to the
 * first map write and keeps body and parse tree in memory together. This
 * reader splits the list into its elements on the fly, parses each one as
 * soon as it is complete, and keeps only the fields the Marathon model reads
 * (apps and their tasks; pods are kept whole), so the parse overlaps the
 * download and the body is never held. The document handed to
 * xlb_mara_model_build_json() yields the same model as the full one; the
 * unit tests check that on every fixture.
 */
#ifndef XLB_MARA_STREAM_H
#define XLB_MARA_STREAM_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;
struct xlb_mara_stream;

struct xlb_mara_stream_opts {
	/*
	 * Split and prune the elements of this member of a root object ("apps");
	 * a root array is always split. Other root members are parsed whole.
	 */
	const char *split_member;
	bool prune;	    /* drop the app and task fields the model never reads */
	size_t max_element; /* bytes of one element; 0: 64 MiB */
	/*
	 * When set, every split element goes to on_element as soon as it is parsed
	 * (borrowed for the call), and the document keeps the list only while it
	 * has at most keep_max elements: past that the list is emptied and stays
	 * empty, so memory does not grow with the cluster. elements() tells which.
	 */
	void (*on_element)(void *ctx, const struct json_t *element, size_t index);
	void *ctx;
	size_t keep_max;
};

int xlb_mara_stream_new(const struct xlb_mara_stream_opts *opts, struct xlb_mara_stream **out);
/*
 * Feeds len more bytes. Returns 0, or -EINVAL with a message in err (the
 * document is not JSON, or an element is not) and -EFBIG (an element over
 * max_element); after an error the stream only accepts xlb_mara_stream_free.
 */
int xlb_mara_stream_feed(struct xlb_mara_stream *s, const char *buf, size_t len, char *err,
			 size_t errlen);
/*
 * Ends the document: returns 0 and the parsed (and pruned) document in *doc
 * (the caller owns it), or -EINVAL when it is incomplete ("truncated after N
 * bytes") or was never valid.
 */
int xlb_mara_stream_finish(struct xlb_mara_stream *s, struct json_t **doc, char *err,
			   size_t errlen);
void xlb_mara_stream_free(struct xlb_mara_stream *s);
/* Elements parsed so far, and bytes fed. */
size_t xlb_mara_stream_elements(const struct xlb_mara_stream *s);
size_t xlb_mara_stream_bytes(const struct xlb_mara_stream *s);

/* The pruning on its own: keeps the fields of an app (and its tasks) the model reads. */
void xlb_mara_prune_app(struct json_t *app);

#endif /* XLB_MARA_STREAM_H */
