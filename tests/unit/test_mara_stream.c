// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the incremental Marathon list reader: fed in chunks of any
 * size (one byte included), it must give the same document as a one-piece
 * parse, and with pruning the same Marathon model, on every fixture of
 * tests/fixtures/marathon and the recorded Marathon payloads under
 * ../shared/fixtures when present; strings with escaped quotes and brackets
 * must not confuse it; truncated, malformed and oversized input must fail
 * with a message that says where. Built the daemon's way (each app handed to
 * a model builder as it is parsed, the list dropped past a size), the model
 * must be the same too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <jansson.h>

#include "check.h"
#include "harness.h"
#include "mara_stream.h"
#include "mara_model.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	expect_eq("bytes read of a fixture", fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

/* Feeds text in chunks of chunk bytes; returns finish's result. */
static int stream(const char *text, size_t len, size_t chunk, bool prune, json_t **doc, char *err,
		  size_t errlen)
{
	struct xlb_mara_stream_opts o = {.split_member = "apps", .prune = prune};
	struct xlb_mara_stream *s;
	size_t off, n;
	int ret = 0;

	expect_ok("xlb_mara_stream_new", xlb_mara_stream_new(&o, &s));
	for (off = 0; off < len && !ret; off += n) {
		n = len - off < chunk ? len - off : chunk;
		ret = xlb_mara_stream_feed(s, text + off, n, err, errlen);
	}
	if (!ret)
		ret = xlb_mara_stream_finish(s, doc, err, errlen);
	xlb_mara_stream_free(s);
	return ret;
}

static void builder_app(void *ctx, const json_t *app, size_t index)
{
	xlb_mara_builder_app(ctx, app, index);
}

/*
 * The daemon's way: apps go to a model builder as they are parsed and the
 * document keeps its list only up to keep_max elements; the rest of the
 * document completes the model.
 */
static int stream_build(const char *text, size_t len, size_t chunk, size_t keep_max,
			const struct xlb_mara_opts *mo, struct xlb_mara_model *model, char *err,
			size_t errlen)
{
	struct xlb_mara_stream_opts o = {
	    .split_member = "apps", .prune = true, .on_element = builder_app, .keep_max = keep_max};
	struct xlb_mara_builder *bl;
	struct xlb_mara_stream *s;
	json_t *doc = NULL;
	size_t off, n;
	int ret = 0;

	expect_ok("xlb_mara_builder_new", xlb_mara_builder_new(&bl, mo, err, errlen));
	o.ctx = bl;
	expect_ok("xlb_mara_stream_new", xlb_mara_stream_new(&o, &s));
	for (off = 0; off < len && !ret; off += n) {
		n = len - off < chunk ? len - off : chunk;
		ret = xlb_mara_stream_feed(s, text + off, n, err, errlen);
	}
	if (!ret)
		ret = xlb_mara_stream_finish(s, &doc, err, errlen);
	/* The list is kept exactly while it is short enough. */
	if (!ret && xlb_mara_stream_elements(s) > keep_max)
		expect_eq("apps kept in a document with more than keep_max",
			  json_array_size(json_object_get(doc, "apps")), 0);
	else if (!ret)
		expect_eq("apps kept in a document within keep_max",
			  json_array_size(json_object_get(doc, "apps")),
			  xlb_mara_stream_elements(s));
	xlb_mara_stream_free(s);
	if (!ret)
		ret = xlb_mara_builder_finish(bl, model, doc, NULL, err, errlen);
	xlb_mara_builder_free(bl);
	json_decref(doc);
	return ret;
}

/* Agent names in the fixtures resolve to fixed test addresses. */
static int fake_resolve(void *ctx, const char *host, __u8 hint, union xlb_addr *addr, __u8 *family)
{
	(void)ctx;
	(void)hint;
	memset(addr, 0, sizeof(*addr));
	addr->v4 = htonl(0xc6120000u | (__u32)(xlb_fnv1a64(host, strlen(host)) & 0xffff));
	*family = XLB_AF_INET;
	return 0;
}

static void opts(struct xlb_mara_opts *o)
{
	char err[128];

	xlb_mara_opts_init(o);
	o->resolve = fake_resolve;
	expect_ok("parse pool 198.19.0.0/16",
		  xlb_named_pool_parse("198.19.0.0/16", &o->pool, err, sizeof(err)));
	o->node_family = XLB_AF_INET;
	o->node_addr.v4 = htonl(0xc6120001u);
}

static const size_t chunks[] = {1, 7, 64, 4096, 1 << 20};

/* One fixture: documents equal without pruning, models equal with it, in every chunking. */
static int check_file(const char *path)
{
	struct xlb_mara_model full = {}, streamed = {};
	struct xlb_mara_opts o;
	json_t *whole, *doc;
	char err[512];
	size_t len, i;
	char *text = slurp(path, &len);
	bool pods;
	int bad = 0;

	if (!text)
		return 0;
	whole = json_loadb(text, len, 0, NULL);
	if (!whole) {
		free(text);
		return 0; /* not JSON (bad-input fixtures): covered by the error tests */
	}
	pods = json_is_array(whole);
	opts(&o);
	if (xlb_mara_model_build_json(&full, pods ? NULL : whole, pods ? whole : NULL, &o, err,
				      sizeof(err))) {
		json_decref(whole);
		free(text);
		return 0; /* not a Marathon document */
	}
	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		if (stream(text, len, chunks[i], false, &doc, err, sizeof(err))) {
			print_message("%s, chunk %zu: %s\n", path, chunks[i], err);
			bad++;
			continue;
		}
		if (!json_equal(doc, whole)) {
			print_message("%s, chunk %zu: document differs\n", path, chunks[i]);
			bad++;
		}
		json_decref(doc);
		expect_ok(xlb_whatf("%s, chunk %zu: pruned stream", path, chunks[i]),
			  stream(text, len, chunks[i], !pods, &doc, err, sizeof(err)));
		memset(&streamed, 0, sizeof(streamed));
		expect_ok(xlb_whatf("%s, chunk %zu: model of the pruned document", path, chunks[i]),
			  xlb_mara_model_build_json(&streamed, pods ? NULL : doc, pods ? doc : NULL,
						    &o, err, sizeof(err)));
		if (!xlb_mara_model_equal(&full, &streamed) ||
		    full.nr_warnings != streamed.nr_warnings ||
		    full.nr_tasks != streamed.nr_tasks) {
			print_message(
			    "%s, chunk %zu: pruned model differs (%zu vs %zu services, %u vs "
			    "%u warnings)\n",
			    path, chunks[i], full.nr_services, streamed.nr_services,
			    full.nr_warnings, streamed.nr_warnings);
			bad++;
		}
		xlb_mara_model_free(&streamed);
		json_decref(doc);
		if (pods || !json_is_array(json_object_get(whole, "apps")))
			continue;
		/* Built element by element: none kept, one kept, all kept. */
		for (size_t keep = 0; keep <= 2; keep++) {
			size_t km = keep == 2 ? (size_t)-1 : keep;

			if (stream_build(text, len, chunks[i], km, &o, &streamed, err,
					 sizeof(err))) {
				print_message("%s, chunk %zu, keep %zu: %s\n", path, chunks[i], km,
					      err);
				bad++;
				continue;
			}
			if (!xlb_mara_model_equal(&full, &streamed) ||
			    full.nr_warnings != streamed.nr_warnings ||
			    full.nr_tasks != streamed.nr_tasks ||
			    full.nr_apps != streamed.nr_apps) {
				print_message("%s, chunk %zu, keep %zu: model built as it streams "
					      "differs (%zu vs %zu services)\n",
					      path, chunks[i], km, full.nr_services,
					      streamed.nr_services);
				bad++;
			}
			xlb_mara_model_free(&streamed);
		}
	}
	xlb_mara_model_free(&full);
	json_decref(whole);
	free(text);
	return bad ? -1 : 1;
}

static int check_dir(const char *dir, int *files)
{
	struct dirent *de;
	char path[1024];
	int bad = 0, r;
	DIR *d = opendir(dir);

	expect_true(xlb_whatf("%s can be opened", dir), d != NULL);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		r = check_file(path);
		if (r < 0)
			bad++;
		else if (r > 0)
			(*files)++;
	}
	closedir(d);
	return bad;
}

/* The project's own recorded documents: always there. */
static void test_fixtures(void **state)
{
	int files = 0, bad;

	(void)state;
	bad = check_dir("tests/fixtures/marathon", &files);
	print_message("compared %d Marathon documents of tests/fixtures\n", files);
	expect_cmp("tests/fixtures documents compared", files, >=, 5);
	expect_eq("documents that differ streamed and whole", bad, 0);
}

/* Real payloads from upstream projects, outside the repository: compared where present. */
static void test_shared_fixtures(void **state)
{
	static const char *const dirs[] = {
	    "../shared/fixtures/marathon-lb/tests",
	    "../shared/fixtures/marathon/api-examples",
	    "../shared/fixtures/go-marathon",
	};
	int files = 0, bad = 0, found = 0;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		DIR *d = opendir(dirs[i]);

		if (!d)
			continue;
		closedir(d);
		found++;
		bad += check_dir(dirs[i], &files);
	}
	if (!found)
		xlb_skip_fixtures("none of the shared fixture folders under ../shared/fixtures");
	print_message("compared %d Marathon documents of %d shared folders\n", files, found);
	expect_cmp("shared documents compared", files, >=, 1);
	expect_eq("documents that differ streamed and whole", bad, 0);
}

/* Quotes, backslashes and brackets inside strings, other root members, empty lists. */
static void test_tricky(void **state)
{
	static const char *const docs[] = {
	    "{\"apps\": [{\"id\": \"/a\\\"]}[{\", \"labels\": {\"k\": \"\\\\\", \"}\": \"]\"}},"
	    " {\"id\": \"/b\", \"tasks\": [{\"id\": \"x,]\"}]}]}",
	    "{\"x\": {\"a\": [1, {\"b\": \"]}\"}]}, \"apps\": [], \"y\": \"s,}\", \"z\": [[]]}",
	    "  {\"apps\":[ ]}  \n",
	    "{}",
	    "[]",
	    "[1, \"two\", [3], {\"four\": 4}, null]",
	    "{\"apps\": [{\"id\": \"/\\u00e9\\ud83d\\ude00\"}], \"apps2\": [1,2]}",
	};
	json_t *doc, *whole;
	char err[256];
	size_t i, c;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		whole = json_loads(docs[i], 0, NULL);
		assert_non_null(whole);
		for (c = 0; c < ARRAY_SIZE(chunks); c++) {
			if (stream(docs[i], strlen(docs[i]), chunks[c], false, &doc, err,
				   sizeof(err))) {
				print_message("doc %zu chunk %zu: %s\n", i, chunks[c], err);
				fail();
			}
			expect_true(
			    xlb_whatf("doc %zu, chunk %zu: streamed document equals the whole", i,
				      chunks[c]),
			    json_equal(doc, whole));
			json_decref(doc);
		}
		json_decref(whole);
	}
}

static void test_prune(void **state)
{
	static const char *doc =
	    "{\"apps\": [{\"id\": \"/a\", \"cmd\": \"sleep\", \"env\": {\"A\": \"1\"},"
	    " \"labels\": {\"cmd\": \"kept: labels are data\"}, \"versionInfo\": {},"
	    " \"tasks\": [{\"id\": \"t\", \"host\": \"h\", \"stagedAt\": \"x\", \"slaveId\": \"s\","
	    " \"healthCheckResults\": [{\"alive\": true, \"firstSuccess\": \"x\"}]}]}]}";
	json_t *out, *app, *task;
	char err[256];

	(void)state;
	expect_ok("stream in chunks of 5 with pruning",
		  stream(doc, strlen(doc), 5, true, &out, err, sizeof(err)));
	app = json_array_get(json_object_get(out, "apps"), 0);
	assert_null(json_object_get(app, "cmd"));
	assert_null(json_object_get(app, "env"));
	assert_null(json_object_get(app, "versionInfo"));
	expect_str_eq("label \"cmd\" kept by pruning",
		      json_string_value(json_object_get(json_object_get(app, "labels"), "cmd")),
		      "kept: labels are data");
	task = json_array_get(json_object_get(app, "tasks"), 0);
	assert_null(json_object_get(task, "stagedAt"));
	assert_null(json_object_get(task, "slaveId"));
	assert_non_null(json_object_get(task, "host"));
	expect_eq("members of a pruned health check result",
		  json_object_size(json_array_get(json_object_get(task, "healthCheckResults"), 0)),
		  1);
	json_decref(out);
}

static const struct {
	const char *doc;
	const char *words;
} bad[] = {
    {"", "truncated document: it ends after 0 bytes inside nothing"},
    {"   ", "truncated"},
    {"{\"apps\": [{\"id\": \"/a\"}, {\"id\": ", "truncated document: it ends after"},
    {"{\"apps\": [{\"id\": \"/a\"}", "inside the list"},
    {"{\"apps\": [{\"id\": \"/a\"}]", "truncated"},
    {"{\"apps\": [{\"id\": \"/a\"}, {\"id\": /b}]}", "apps[1]: invalid JSON"},
    {"{\"apps\": [{\"id\": \"/a\", \"id\": \"/b\"}]}", "apps[0]: invalid JSON"},
    {"{\"apps\": [{},]}", "empty element"},
    {"{\"apps\": [,{}]}", "empty element"},
    {"{\"apps\": []} x", "data after the end"},
    {"<html>502 Bad Gateway</html>", "not a JSON object or array"},
    {"{apps: []}", "expected a member name"},
    {"{\"apps\" []}", "expected ':'"},
    {"{\"apps\": [] \"x\": 1}", "expected ',' or '}'"},
    {"{\"x\": tru}", "x: invalid JSON"},
    {"[{\"a\": 1} {\"b\": 2}]", "[0]: invalid JSON"},
    /* found by stream_fuzz: the root's members were set, not checked, so the last one won */
    {"{\"pods\": [], \"apps\": [], \"pods\": [1]}", "duplicate member \"pods\""},
    {"{\"apps\": [{\"id\": \"/a\"}], \"apps\": []}", "duplicate member \"apps\""},
};

static void test_errors(void **state)
{
	json_t *doc;
	char err[256];
	size_t i, c;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		for (c = 0; c < ARRAY_SIZE(chunks); c++) {
			err[0] = '\0';
			ret = stream(bad[i].doc, strlen(bad[i].doc), chunks[c], true, &doc, err,
				     sizeof(err));
			if (ret != -EINVAL || !strstr(err, bad[i].words)) {
				print_message(
				    "row %zu (%s), chunk %zu: got %d \"%s\", want \"%s\"\n", i,
				    bad[i].doc, chunks[c], ret, err, bad[i].words);
				fail();
			}
		}
	}
}

static void test_limits(void **state)
{
	struct xlb_mara_stream_opts o = {.split_member = "apps", .max_element = 64};
	static const char *doc =
	    "{\"apps\": [{\"id\": \"/a\"}, {\"id\": \"/a-long-one-that-does-not-"
	    "fit-in-sixty-four-bytes-at-all\"}]}";
	struct xlb_mara_stream *s;
	char err[256];
	json_t *out;

	(void)state;
	expect_ok("xlb_mara_stream_new", xlb_mara_stream_new(&o, &s));
	expect_rc("feed an element over max_element",
		  xlb_mara_stream_feed(s, doc, strlen(doc), err, sizeof(err)), -EFBIG);
	expect_substr("error for an element over max_element", err,
		      "element 1 larger than 64 bytes");
	/* after an error nothing more is taken */
	expect_rc("feed after an error", xlb_mara_stream_feed(s, "]}", 2, err, sizeof(err)),
		  -EINVAL);
	expect_rc("finish after an error", xlb_mara_stream_finish(s, &out, err, sizeof(err)),
		  -EINVAL);
	assert_null(out);
	expect_eq("elements counted before the error", xlb_mara_stream_elements(s), 1);
	xlb_mara_stream_free(s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fixtures), cmocka_unit_test(test_shared_fixtures),
    cmocka_unit_test(test_tricky), cmocka_unit_test(test_prune),
    cmocka_unit_test(test_errors),   cmocka_unit_test(test_limits),
};

XLB_TEST_MAIN("mara_stream", tests)
