// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The incremental list reader behind mara_stream.h. A small lexer follows
 * strings, escapes and nesting depth byte by byte; it only has to know where
 * each element of the split list begins and ends, and jansson parses (and so
 * validates) every element and every other root member on its own. Pruning
 * keeps, at the three levels where Marathon puts its bulk (app, task, health
 * result), only keys that the model (user/lib/mara_apps.c and its siblings)
 * names anywhere; labels and every other nested object are kept whole,
 * because their keys are data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "mara_stream.h"

enum phase {
	P_START,
	P_KEY, /* before a member's key, or reading it */
	P_COLON,
	P_VALUE, /* before a member's value */
	P_RAW,	 /* inside a member's value that is parsed whole */
	P_SPLIT, /* inside the split list, capturing one element */
	P_AFTER, /* after the split list, in a root object */
	P_END,
	P_ERROR,
};

struct xlb_mara_stream {
	struct xlb_mara_stream_opts o;
	enum phase ph;
	bool root_array;
	bool in_str, esc;
	bool key_open;	   /* reading a key string */
	bool first_member; /* no member yet: "}" may close the root */
	int depth;	   /* containers open, the root included */
	char *cap;	   /* the element, member value or key being captured */
	size_t cap_len, cap_size;
	char member[256];
	json_t *root;
	json_t *list; /* the split list inside root (or root itself) */
	size_t elements, bytes;
};

/*
 * Every key name the model uses, kept at the app, task and health-result
 * levels; anything else there (timestamps, resources, versions, strategies) is
 * dropped. test_mara_stream proves the model is unchanged on every fixture.
 */
static const char *const model_keys[] = {
    "id",
    "app",
    "apps",
    "groups",
    "labels",
    "networks",
    "name",
    "mode",
    "container",
    "docker",
    "network",
    "portMappings",
    "portDefinitions",
    "ports",
    "port",
    "protocol",
    "servicePort",
    "hostPort",
    "containerPort",
    "networkNames",
    "ipAddress",
    "discovery",
    "number",
    "instances",
    "healthChecks",
    "healthCheck",
    "tasks",
    "state",
    "host",
    "startedAt",
    "ipAddresses",
    "healthCheckResults",
    "alive",
    "healthy",
    "status",
    "endpoints",
    "containers",
    "conditions",
    "value",
    "reason",
    "agentHostname",
    "addresses",
    "allocatedHostPort",
    "containerId",
    "spec",
    "pod",
    "pods",
    NULL,
};

/* Pruning runs on every key of every task: compare lengths and first bytes before strcmp. */
static bool model_key(const char *k)
{
	static size_t lens[sizeof(model_keys) / sizeof(model_keys[0])];
	size_t i, n = strlen(k);

	if (!lens[0])
		for (i = 0; model_keys[i]; i++)
			lens[i] = strlen(model_keys[i]);
	for (i = 0; model_keys[i]; i++)
		if (lens[i] == n && model_keys[i][0] == k[0] && !memcmp(model_keys[i], k, n))
			return true;
	return false;
}

static void prune_object(json_t *o)
{
	const char *k;
	json_t *v;
	void *tmp;

	if (!json_is_object(o))
		return;
	json_object_foreach_safe(o, tmp, k, v)
	{
		if (!model_key(k))
			json_object_del(o, k);
	}
}

void xlb_mara_prune_app(json_t *app)
{
	json_t *task, *hc;
	size_t i, j;

	prune_object(app);
	json_array_foreach(json_object_get(app, "tasks"), i, task)
	{
		prune_object(task);
		json_array_foreach(json_object_get(task, "healthCheckResults"), j, hc)
		    prune_object(hc);
	}
}

int xlb_mara_stream_new(const struct xlb_mara_stream_opts *opts, struct xlb_mara_stream **out)
{
	struct xlb_mara_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	if (opts)
		s->o = *opts;
	if (!s->o.max_element)
		s->o.max_element = 64u << 20;
	s->ph = P_START;
	*out = s;
	return 0;
}

void xlb_mara_stream_free(struct xlb_mara_stream *s)
{
	if (!s)
		return;
	json_decref(s->root);
	free(s->cap);
	free(s);
}

size_t xlb_mara_stream_elements(const struct xlb_mara_stream *s)
{
	return s->elements;
}

size_t xlb_mara_stream_bytes(const struct xlb_mara_stream *s)
{
	return s->bytes;
}

static int fail(struct xlb_mara_stream *s, int err, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct xlb_mara_stream *s, int err, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	s->ph = P_ERROR;
	if (buf && len) {
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int cap_add(struct xlb_mara_stream *s, char c)
{
	if (s->cap_len + 1 > s->o.max_element)
		return -EFBIG;
	if (s->cap_len + 1 >= s->cap_size) {
		size_t n = s->cap_size ? s->cap_size * 2 : 16384;
		char *p;

		p = realloc(s->cap, n);
		if (!p)
			return -ENOMEM;
		s->cap = p;
		s->cap_size = n;
	}
	s->cap[s->cap_len++] = c;
	return 0;
}

/* Follows strings and nesting for one byte of captured text. */
static void lex(struct xlb_mara_stream *s, char c)
{
	if (s->in_str) {
		if (s->esc)
			s->esc = false;
		else if (c == '\\')
			s->esc = true;
		else if (c == '"')
			s->in_str = false;
		return;
	}
	if (c == '"')
		s->in_str = true;
	else if (c == '{' || c == '[')
		s->depth++;
	else if (c == '}' || c == ']')
		s->depth--;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool cap_blank(const struct xlb_mara_stream *s)
{
	size_t i;

	for (i = 0; i < s->cap_len; i++)
		if (!is_ws(s->cap[i]))
			return false;
	return true;
}

static int parse_cap(struct xlb_mara_stream *s, const char *what, json_t **out, char *err,
		     size_t errlen)
{
	json_error_t jerr;

	*out = json_loadb(s->cap, s->cap_len,
			  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	s->cap_len = 0;
	if (!*out)
		return fail(s, -EINVAL, err, errlen,
			    "%s: invalid JSON at line %d column %d of the element (byte %zu of the "
			    "document): %s",
			    what, jerr.line, jerr.column, s->bytes, jerr.text);
	return 0;
}

static int end_element(struct xlb_mara_stream *s, char *err, size_t errlen)
{
	char what[300];
	json_t *e;
	int ret;

	snprintf(what, sizeof(what), "%s[%zu]", s->root_array ? "" : s->member, s->elements);
	ret = parse_cap(s, what, &e, err, errlen);
	if (ret)
		return ret;
	if (s->o.on_element) {
		s->o.on_element(s->o.ctx, e, s->elements);
		if (s->elements >= s->o.keep_max) {
			if (s->elements == s->o.keep_max)
				json_array_clear(s->list);
			json_decref(e);
			s->elements++;
			return 0;
		}
	}
	if (s->o.prune)
		xlb_mara_prune_app(e);
	if (json_array_append_new(s->list, e))
		return fail(s, -ENOMEM, err, errlen, "out of memory");
	s->elements++;
	return 0;
}

static int step(struct xlb_mara_stream *s, char c, char *err, size_t errlen)
{
	json_t *v;
	int ret;

	switch (s->ph) {
	case P_START:
		if (is_ws(c))
			return 0;
		if (c == '[') {
			s->root = s->list = json_array();
			s->root_array = true;
			s->depth = 1;
			s->ph = P_SPLIT;
		} else if (c == '{') {
			s->root = json_object();
			s->depth = 1;
			s->first_member = true;
			s->ph = P_KEY;
		} else {
			return fail(s, -EINVAL, err, errlen,
				    "not a JSON object or array (starts with '%c')", c);
		}
		return s->root ? 0 : fail(s, -ENOMEM, err, errlen, "out of memory");
	case P_KEY:
		if (s->key_open) {
			if ((ret = cap_add(s, c)))
				return fail(s, ret, err, errlen, "member name too long");
			lex(s, c);
			if (s->in_str)
				return 0;
			s->key_open = false;
			if ((ret = parse_cap(s, "member name", &v, err, errlen)))
				return ret;
			snprintf(s->member, sizeof(s->member), "%s", json_string_value(v));
			json_decref(v);
			/* As jansson with JSON_REJECT_DUPLICATES: one value per name. */
			if (json_object_get(s->root, s->member))
				return fail(s, -EINVAL, err, errlen,
					    "duplicate member \"%s\" at byte %zu", s->member,
					    s->bytes);
			s->ph = P_COLON;
			return 0;
		}
		if (is_ws(c))
			return 0;
		if (c == '}' && s->first_member) {
			s->depth = 0;
			s->ph = P_END;
			return 0;
		}
		if (c != '"')
			return fail(s, -EINVAL, err, errlen, "expected a member name at byte %zu",
				    s->bytes);
		s->key_open = true;
		s->cap_len = 0;
		cap_add(s, c);
		lex(s, c);
		return 0;
	case P_COLON:
		if (is_ws(c))
			return 0;
		if (c != ':')
			return fail(s, -EINVAL, err, errlen, "expected ':' at byte %zu", s->bytes);
		s->ph = P_VALUE;
		return 0;
	case P_VALUE:
		if (is_ws(c))
			return 0;
		s->first_member = false;
		if (c == '[' && s->o.split_member && !strcmp(s->member, s->o.split_member) &&
		    !s->list) {
			s->list = json_array();
			if (!s->list || json_object_set_new(s->root, s->member, s->list))
				return fail(s, -ENOMEM, err, errlen, "out of memory");
			s->depth = 2;
			s->ph = P_SPLIT;
			return 0;
		}
		s->cap_len = 0;
		s->ph = P_RAW;
		/* fall through: the byte is the value's first */
		/* fallthrough */
	case P_RAW:
		if (!s->in_str && s->depth == 1 && (c == ',' || c == '}')) {
			if ((ret = parse_cap(s, s->member, &v, err, errlen)))
				return ret;
			if (json_object_set_new(s->root, s->member, v))
				return fail(s, -ENOMEM, err, errlen, "out of memory");
			if (c == '}') {
				s->depth = 0;
				s->ph = P_END;
			} else {
				s->ph = P_KEY;
			}
			return 0;
		}
		if ((ret = cap_add(s, c)))
			return fail(s, ret, err, errlen, "member %s larger than %zu bytes",
				    s->member, s->o.max_element);
		lex(s, c);
		return 0;
	case P_SPLIT:
		if (!s->in_str && s->depth == (s->root_array ? 1 : 2) && (c == ',' || c == ']')) {
			if (cap_blank(s)) {
				/* "[]" is an empty list; "[," or ",]" is not JSON */
				if (c == ',' || s->elements)
					return fail(s, -EINVAL, err, errlen,
						    "empty element in the list at byte %zu",
						    s->bytes);
			} else if ((ret = end_element(s, err, errlen))) {
				return ret;
			}
			s->cap_len = 0;
			if (c == ']') {
				s->depth--;
				s->ph = s->root_array ? P_END : P_AFTER;
			}
			return 0;
		}
		if ((ret = cap_add(s, c)))
			return fail(s, ret, err, errlen, "element %zu larger than %zu bytes",
				    s->elements, s->o.max_element);
		lex(s, c);
		return 0;
	case P_AFTER:
		if (is_ws(c))
			return 0;
		if (c == ',') {
			s->ph = P_KEY;
			return 0;
		}
		if (c == '}') {
			s->depth = 0;
			s->ph = P_END;
			return 0;
		}
		return fail(s, -EINVAL, err, errlen, "expected ',' or '}' at byte %zu", s->bytes);
	case P_END:
		if (is_ws(c))
			return 0;
		return fail(s, -EINVAL, err, errlen,
			    "data after the end of the document at byte %zu", s->bytes);
	case P_ERROR:
		break;
	}
	return -EINVAL;
}

int xlb_mara_stream_feed(struct xlb_mara_stream *s, const char *buf, size_t len, char *err,
			 size_t errlen)
{
	size_t i;
	int ret;

	if (s->ph == P_ERROR)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		/* Inside an element only the lexer matters: copy runs in bulk. */
		if (s->ph == P_SPLIT && s->depth > (s->root_array ? 1 : 2) && !s->esc) {
			size_t j = i;

			if (s->in_str)
				while (j < len && buf[j] != '"' && buf[j] != '\\')
					j++;
			else
				while (j < len && buf[j] != '"' && buf[j] != '{' && buf[j] != '}' &&
				       buf[j] != '[' && buf[j] != ']')
					j++;
			if (j > i) {
				if (s->cap_len + (j - i) > s->o.max_element)
					return fail(s, -EFBIG, err, errlen,
						    "element %zu larger than %zu bytes",
						    s->elements, s->o.max_element);
				if (s->cap_len + (j - i) + 1 > s->cap_size) {
					size_t n = s->cap_size ? s->cap_size : 16384;
					char *p;

					while (n < s->cap_len + (j - i) + 1)
						n *= 2;
					p = realloc(s->cap, n);
					if (!p)
						return fail(s, -ENOMEM, err, errlen,
							    "out of memory");
					s->cap = p;
					s->cap_size = n;
				}
				memcpy(s->cap + s->cap_len, buf + i, j - i);
				s->cap_len += j - i;
				s->bytes += j - i;
				i = j;
				if (i == len)
					break;
			}
		}
		s->bytes++;
		ret = step(s, buf[i], err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int xlb_mara_stream_finish(struct xlb_mara_stream *s, json_t **doc, char *err, size_t errlen)
{
	*doc = NULL;
	if (s->ph == P_ERROR)
		return -EINVAL;
	if (s->ph != P_END)
		return fail(s, -EINVAL, err, errlen,
			    "truncated document: it ends after %zu bytes inside %s", s->bytes,
			    s->ph == P_START   ? "nothing (empty body)"
			    : s->ph == P_SPLIT ? "the list"
					       : "a member");
	*doc = s->root;
	s->root = NULL;
	return 0;
}
