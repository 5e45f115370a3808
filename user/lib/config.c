// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration parser behind config.h. Each section has a table of its
 * keys; a key's reader checks type and range and reports with the full JSON
 * path, then parsing goes on with the default, so one run lists every error.
 * Cross-field rules (a maximum below its minimum, a static VIP whose backend
 * is of the other address family) are checked once their fields are read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <jansson.h>

#include "config.h"
#include "names.h"
#include "log.h"
#include "mara_labels.h"

#define PATH_LEN 256

struct ctx {
	struct xlb_cfg *cfg;
	struct xlb_cfg_errors *errs;
	int oom;
	/* VIP keys read so far and their index in $.vips, for "listed twice" */
	struct xlb_vip_key *seen;
	size_t *seen_index;
	size_t nr_seen;
};

void xlb_cfg_errors_free(struct xlb_cfg_errors *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	memset(e, 0, sizeof(*e));
}

void xlb_cfg_error(struct xlb_cfg_errors *e, const char *path, const char *fmt, ...)
{
	char msg[768];
	char **n;
	va_list ap;
	int off;

	off = snprintf(msg, sizeof(msg), "%s: ", path);
	if (off < 0 || off >= (int)sizeof(msg))
		off = 0;
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
	va_end(ap);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;

		n = realloc(e->msgs, cap * sizeof(*n));
		if (!n)
			return;
		e->msgs = n;
		e->cap = cap;
	}
	e->msgs[e->n] = strdup(msg);
	if (e->msgs[e->n])
		e->n++;
}

/* What a value is, for "expected X, got Y". */
static const char *describe(const json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING: {
		char q[96];

		snprintf(buf, len, "\"%s\"",
			 xlb_mara_quote(json_string_value(v), 60, q, sizeof(q)));
		return buf;
	}
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* Paths are cut at PATH_LEN; a cut path still says where to look. */
static void sub(char *out, const char *path, const char *key)
{
	if (snprintf(out, PATH_LEN, "%s.%s", path, key) >= PATH_LEN)
		out[PATH_LEN - 1] = '\0';
}

static void idx(char *out, const char *path, size_t i)
{
	if (snprintf(out, PATH_LEN, "%s[%zu]", path, i) >= PATH_LEN)
		out[PATH_LEN - 1] = '\0';
}

static char *dup_or_oom(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = 1;
	return d;
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, tmp;
	size_t row[64];

	if (lb >= 64 || la >= 64)
		return 64;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < cur)
				cur = row[j] + 1;
			if (row[j - 1] + 1 < cur)
				cur = row[j - 1] + 1;
			tmp = row[j];
			row[j] = cur;
			prev = tmp;
		}
	}
	return row[lb];
}

/* Reports every key of obj that is not in keys (NULL-terminated) and not a "_" comment. */
static void check_keys(struct ctx *c, const json_t *obj, const char *path, const char *const *keys)
{
	const char *k, *best;
	size_t i, d, bestd;
	char p[PATH_LEN];
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
	{
		if (k[0] == '_')
			continue;
		best = NULL;
		bestd = 3;
		for (i = 0; keys[i]; i++) {
			if (!strcmp(keys[i], k))
				break;
			d = edit_distance(k, keys[i]);
			/* "token" for "token_file": a prefix is as good a hint as a typo */
			if (d >= bestd && strlen(k) >= 3 &&
			    (!strncmp(keys[i], k, strlen(k)) ||
			     !strncmp(k, keys[i], strlen(keys[i]))))
				d = bestd - 1;
			if (d < bestd) {
				bestd = d;
				best = keys[i];
			}
		}
		if (keys[i])
			continue;
		sub(p, path, k);
		if (best)
			xlb_cfg_error(c->errs, p, "unknown key (did you mean \"%s\"?)", best);
		else
			xlb_cfg_error(c->errs, p, "unknown key");
	}
}

/* An object member that must be an object; NULL (and an error when present) otherwise. */
static const json_t *get_object(struct ctx *c, const json_t *obj, const char *path, const char *key)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN], d[128];

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		sub(p, path, key);
		xlb_cfg_error(c->errs, p, "expected an object, got %s", describe(v, d, sizeof(d)));
		return NULL;
	}
	return v;
}

static void get_u32(struct ctx *c, const json_t *obj, const char *path, const char *key, __u64 min,
		    __u64 max, __u32 *out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN], d[128];

	if (!v)
		return;
	sub(p, path, key);
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
	    (__u64)json_integer_value(v) > max) {
		xlb_cfg_error(c->errs, p, "expected an integer %llu-%llu, got %s",
			      (unsigned long long)min, (unsigned long long)max,
			      describe(v, d, sizeof(d)));
		return;
	}
	*out = (__u32)json_integer_value(v);
}

static void get_u64(struct ctx *c, const json_t *obj, const char *path, const char *key, __u64 min,
		    __u64 max, __u64 *out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN], d[128];

	if (!v)
		return;
	sub(p, path, key);
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
	    (__u64)json_integer_value(v) > max) {
		xlb_cfg_error(c->errs, p, "expected an integer %llu-%llu, got %s",
			      (unsigned long long)min, (unsigned long long)max,
			      describe(v, d, sizeof(d)));
		return;
	}
	*out = (__u64)json_integer_value(v);
}

static void get_bool(struct ctx *c, const json_t *obj, const char *path, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN], d[128];

	if (!v)
		return;
	sub(p, path, key);
	if (!json_is_boolean(v)) {
		xlb_cfg_error(c->errs, p, "expected true or false, got %s",
			      describe(v, d, sizeof(d)));
		return;
	}
	*out = json_is_true(v);
}

static void get_fraction(struct ctx *c, const json_t *obj, const char *path, const char *key,
			 double *out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN], d[128];

	if (!v)
		return;
	sub(p, path, key);
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
		xlb_cfg_error(c->errs, p, "expected a number 0-1, got %s",
			      describe(v, d, sizeof(d)));
		return;
	}
	*out = json_number_value(v);
}

/*
 * A string member. null sets *out to NULL when nullable (a feature turned off),
 * else is an error. Returns the string read or NULL.
 */
static const char *get_str(struct ctx *c, const json_t *obj, const char *path, const char *key,
			   bool nullable, char **out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN], d[128];

	if (!v)
		return NULL;
	sub(p, path, key);
	if (json_is_null(v) && nullable) {
		free(*out);
		*out = NULL;
		return NULL;
	}
	if (!json_is_string(v)) {
		xlb_cfg_error(c->errs, p, "expected a string%s, got %s", nullable ? " or null" : "",
			      describe(v, d, sizeof(d)));
		return NULL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		xlb_cfg_error(c->errs, p, "string contains a NUL byte");
		return NULL;
	}
	free(*out);
	*out = dup_or_oom(c, json_string_value(v));
	return *out;
}

const char *xlb_cfg_attach_name(enum xlb_cfg_attach mode)
{
	switch (mode) {
	case XLB_CFG_ATTACH_XDP:
		return "xdp";
	case XLB_CFG_ATTACH_XDP_GENERIC:
		return "xdp-generic";
	case XLB_CFG_ATTACH_TC:
		return "tc";
	}
	return "?";
}

static int attach_parse(const char *s, enum xlb_cfg_attach *mode)
{
	if (!strcmp(s, "xdp"))
		*mode = XLB_CFG_ATTACH_XDP;
	else if (!strcmp(s, "xdp-generic"))
		*mode = XLB_CFG_ATTACH_XDP_GENERIC;
	else if (!strcmp(s, "tc"))
		*mode = XLB_CFG_ATTACH_TC;
	else
		return -EINVAL;
	return 0;
}

static int ifname_check(const char *name, char *err, size_t errlen)
{
	size_t i, n = strlen(name);

	if (!n || n >= XLB_CFG_IFNAMSIZ) {
		snprintf(err, errlen, "interface name must be 1-%d characters",
			 XLB_CFG_IFNAMSIZ - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] > '~') {
			snprintf(err, errlen, "interface name \"%s\" has a character Linux refuses",
				 name);
			return -EINVAL;
		}
	}
	return 0;
}

int xlb_cfg_iface_parse(const char *s, struct xlb_cfg_iface *out, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	char name[64];

	memset(out, 0, sizeof(*out));
	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	if (ifname_check(name, err, errlen))
		return -EINVAL;
	memcpy(out->name, name, strlen(name) + 1);
	out->mode = XLB_CFG_ATTACH_XDP;
	if (colon && attach_parse(colon + 1, &out->mode)) {
		snprintf(err, errlen, "attach mode \"%s\": expected xdp, xdp-generic or tc",
			 colon + 1);
		return -EINVAL;
	}
	return 0;
}

int xlb_cfg_url_check(char *url, char *err, size_t errlen)
{
	const char *host;
	size_t n;

	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else {
		snprintf(err, errlen, "expected an http:// or https:// URL");
		return -EINVAL;
	}
	if (!*host || *host == '/' || *host == ':') {
		snprintf(err, errlen, "URL has no host");
		return -EINVAL;
	}
	if (strpbrk(url, "?# \t\r\n")) {
		snprintf(err, errlen, "URL must not carry a query, fragment or whitespace");
		return -EINVAL;
	}
	n = strlen(url);
	while (n && url[n - 1] == '/')
		url[--n] = '\0';
	return 0;
}

int xlb_cfg_endpoint_parse(const char *s, union xlb_addr *addr, __be16 *port, __u8 *family)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = s;
	unsigned long pv;
	size_t hl;
	char *end;

	memset(addr, 0, sizeof(*addr));
	if (*s == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		h = s + 1;
		hl = colon - h;
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
	}
	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &addr->v4) == 1) {
		*family = XLB_AF_INET;
	} else if (*s == '[' && inet_pton(AF_INET6, host, addr) == 1) {
		*family = XLB_AF_INET6;
	} else {
		return -EINVAL;
	}
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	pv = strtoul(colon + 1, &end, 10);
	if (errno || *end || pv > 65535)
		return -EINVAL;
	*port = htons((__u16)pv);
	return 0;
}

int xlb_cfg_listen_check(const char *s, char *err, size_t errlen)
{
	union xlb_addr a;
	__be16 port;
	__u8 fam;

	(void)port;
	if (xlb_cfg_endpoint_parse(s, &a, &port, &fam)) {
		snprintf(err, errlen,
			 "expected ADDR:PORT with an IPv4 or [IPv6] address and a port 0-65535 "
			 "(0: any free port, logged)");
		return -EINVAL;
	}
	return 0;
}

int xlb_cfg_set_urls(struct xlb_cfg *cfg, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL, *tok, **urls = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **nu = realloc(urls, (n + 1) * sizeof(*urls));

		if (!nu) {
			ret = -ENOMEM;
			goto cleanup;
		}
		urls = nu;
		urls[n] = strdup(tok);
		if (!urls[n]) {
			ret = -ENOMEM;
			goto cleanup;
		}
		n++;
		if (xlb_cfg_url_check(urls[n - 1], err, errlen)) {
			ret = -EINVAL;
			goto cleanup;
		}
	}
	if (!n) {
		snprintf(err, errlen, "no URL given");
		ret = -EINVAL;
		goto cleanup;
	}
	for (i = 0; i < cfg->marathon.nr_urls; i++)
		free(cfg->marathon.urls[i]);
	free(cfg->marathon.urls);
	cfg->marathon.urls = urls;
	cfg->marathon.nr_urls = n;
	urls = NULL;
	n = 0;
cleanup:
	for (i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
	free(copy);
	return ret;
}

int xlb_cfg_init(struct xlb_cfg *cfg)
{
	struct xlb_cfg_marathon *m = &cfg->marathon;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = XLB_LOG_INFO;
	cfg->pin_path = strdup(XLB_PIN_PATH_DEFAULT);
	cfg->metrics_listen = strdup("127.0.0.1:9100");
	cfg->metrics_per_backend = true;
	cfg->socket_lb = true;
	cfg->ct_lru = XLB_CFG_CT_LRU_PER_CPU;
	cfg->new_per_cpu = XLB_NEW_PER_CPU_DEFAULT;
	cfg->new_per_vip = XLB_NEW_PER_VIP_DEFAULT;
	cfg->mode = XLB_MODE_NAT;
	cfg->fnat_port_lo = XLB_FNAT_PORT_LO_DEFAULT;
	cfg->fnat_port_hi = XLB_FNAT_PORT_HI_DEFAULT;
	cfg->fnat_closed_ms = XLB_FNAT_CLOSED_MS_DEFAULT;
	cfg->dsr_idle_s = XLB_DSR_IDLE_DEFAULT;
	cfg->dsr_mtu = XLB_DSR_MTU_DEFAULT;
	cfg->ct_timeout_s[XLB_CTS_SYN] = XLB_CT_TIMEOUT_SYN_DEFAULT;
	cfg->ct_timeout_s[XLB_CTS_EST] = XLB_CT_TIMEOUT_EST_DEFAULT;
	cfg->ct_timeout_s[XLB_CTS_FIN] = XLB_CT_TIMEOUT_FIN_DEFAULT;
	cfg->ct_timeout_s[XLB_CTS_CLOSED] = XLB_CT_TIMEOUT_CLOSED_DEFAULT;
	cfg->ct_timeout_s[XLB_CTS_UDP] = XLB_CT_TIMEOUT_UDP_DEFAULT;
	m->framework = strdup(XLB_FRAMEWORK_DEFAULT);
	m->named_vip_range = strdup(XLB_NAMED_POOL_DEFAULT);
	m->haproxy_group = strdup("external");
	m->connect_timeout_ms = 3000;
	m->request_timeout_ms = 30000;
	m->stream_timeout_ms = 30000;
	m->resync_interval_s = 300;
	m->debounce_ms = 10;
	m->debounce_max_ms = 50;
	m->backoff_min_ms = 500;
	m->backoff_max_ms = 30000;
	m->max_body_bytes = 256ull << 20;
	m->health_hold_s = 60;
	m->targeted_max_apps = 2000;
	m->max_remove_fraction = 0.5;
	m->min_vips = 4;
	m->confirm_syncs = 3;
	m->confirm_delay_ms = 2000;
	xlb_plan_state_init(&cfg->vips);
	if (!cfg->pin_path || !cfg->metrics_listen || !m->framework || !m->named_vip_range ||
	    !m->haproxy_group) {
		xlb_cfg_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

void xlb_cfg_free(struct xlb_cfg *cfg)
{
	struct xlb_cfg_marathon *m = &cfg->marathon;
	size_t i;

	free(cfg->pin_path);
	free(cfg->cgroup);
	free(cfg->ifaces);
	free(cfg->egress);
	free(cfg->metrics_listen);
	free(cfg->metrics_token_file);
	for (i = 0; i < m->nr_urls; i++)
		free(m->urls[i]);
	free(m->urls);
	free(m->auth_file);
	free(m->ca_file);
	free(m->framework);
	free(m->named_vip_range);
	free(m->haproxy_group);
	xlb_plan_state_free(&cfg->vips);
	memset(cfg, 0, sizeof(*cfg));
}

static void parse_ifaces(struct ctx *c, const json_t *root, const char *key, bool egress)
{
	static const char *const keys[] = {"name", "mode", NULL};
	json_t *arr = json_object_get(root, key), *v;
	struct xlb_cfg_iface *list = NULL, it;
	char p[PATH_LEN], pi[PATH_LEN], pk[PATH_LEN], d[128], err[128];
	size_t i, j, n = 0;

	if (!arr || json_is_null(arr))
		return;
	sub(p, "$", key);
	if (!json_is_array(arr)) {
		xlb_cfg_error(c->errs, p, "expected an array of interfaces, got %s",
			      describe(arr, d, sizeof(d)));
		return;
	}
	list = calloc(json_array_size(arr) + 1, sizeof(*list));
	if (!list) {
		c->oom = 1;
		return;
	}
	json_array_foreach(arr, i, v)
	{
		idx(pi, p, i);
		if (json_is_string(v)) {
			if (egress && strchr(json_string_value(v), ':')) {
				xlb_cfg_error(c->errs, pi,
					      "egress interfaces take no attach mode (always TC)");
				continue;
			}
			if (xlb_cfg_iface_parse(json_string_value(v), &it, err, sizeof(err))) {
				xlb_cfg_error(c->errs, pi, "%s", err);
				continue;
			}
		} else if (json_is_object(v) && !egress) {
			json_t *name = json_object_get(v, "name"),
			       *mode = json_object_get(v, "mode");

			check_keys(c, v, pi, keys);
			memset(&it, 0, sizeof(it));
			sub(pk, pi, "name");
			if (!json_is_string(name)) {
				xlb_cfg_error(c->errs, pk, "expected an interface name, got %s",
					      name ? describe(name, d, sizeof(d)) : "nothing");
				continue;
			}
			if (ifname_check(json_string_value(name), err, sizeof(err))) {
				xlb_cfg_error(c->errs, pk, "%s", err);
				continue;
			}
			snprintf(it.name, sizeof(it.name), "%s", json_string_value(name));
			sub(pk, pi, "mode");
			if (mode && (!json_is_string(mode) ||
				     attach_parse(json_string_value(mode), &it.mode))) {
				xlb_cfg_error(c->errs, pk,
					      "expected \"xdp\", \"xdp-generic\" or \"tc\", got %s",
					      describe(mode, d, sizeof(d)));
				continue;
			}
		} else {
			xlb_cfg_error(c->errs, pi, "expected %s, got %s",
				      egress
					  ? "an interface name"
					  : "\"IF\", \"IF:MODE\" or {\"name\": IF, \"mode\": MODE}",
				      describe(v, d, sizeof(d)));
			continue;
		}
		for (j = 0; j < n; j++)
			if (!strcmp(list[j].name, it.name))
				break;
		if (j < n) {
			xlb_cfg_error(c->errs, pi, "interface %s listed twice", it.name);
			continue;
		}
		list[n++] = it;
	}
	if (egress) {
		free(c->cfg->egress);
		c->cfg->egress = list;
		c->cfg->nr_egress = n;
	} else {
		free(c->cfg->ifaces);
		c->cfg->ifaces = list;
		c->cfg->nr_ifaces = n;
	}
}

static void parse_metrics(struct ctx *c, const json_t *root)
{
	static const char *const keys[] = {"listen", "token_file", "per_backend", NULL};
	const json_t *o = get_object(c, root, "$", "metrics");
	char err[128];

	if (!o)
		return;
	check_keys(c, o, "$.metrics", keys);
	if (get_str(c, o, "$.metrics", "listen", true, &c->cfg->metrics_listen) &&
	    xlb_cfg_listen_check(c->cfg->metrics_listen, err, sizeof(err)))
		xlb_cfg_error(c->errs, "$.metrics.listen", "%s, got \"%s\"", err,
			      c->cfg->metrics_listen);
	get_str(c, o, "$.metrics", "token_file", true, &c->cfg->metrics_token_file);
	get_bool(c, o, "$.metrics", "per_backend", &c->cfg->metrics_per_backend);
}

static void parse_urls(struct ctx *c, const json_t *o)
{
	struct xlb_cfg_marathon *m = &c->cfg->marathon;
	json_t *arr = json_object_get(o, "urls"), *v;
	char p[PATH_LEN], d[128], err[128];
	size_t i, n = 0;
	char **urls;

	if (!arr)
		return;
	if (!json_is_array(arr)) {
		xlb_cfg_error(c->errs, "$.marathon.urls", "expected an array of URLs, got %s",
			      describe(arr, d, sizeof(d)));
		return;
	}
	urls = calloc(json_array_size(arr) + 1, sizeof(*urls));
	if (!urls) {
		c->oom = 1;
		return;
	}
	json_array_foreach(arr, i, v)
	{
		idx(p, "$.marathon.urls", i);
		if (!json_is_string(v)) {
			xlb_cfg_error(c->errs, p, "expected a URL string, got %s",
				      describe(v, d, sizeof(d)));
			continue;
		}
		urls[n] = dup_or_oom(c, json_string_value(v));
		if (!urls[n])
			continue;
		if (xlb_cfg_url_check(urls[n], err, sizeof(err))) {
			xlb_cfg_error(c->errs, p, "%s, got %s", err, describe(v, d, sizeof(d)));
			free(urls[n]);
			continue;
		}
		n++;
	}
	for (i = 0; i < m->nr_urls; i++)
		free(m->urls[i]);
	free(m->urls);
	m->urls = urls;
	m->nr_urls = n;
}

static void parse_safety(struct ctx *c, const json_t *mo)
{
	static const char *const keys[] = {"max_remove_fraction", "min_vips", "confirm_syncs",
					   "confirm_delay_ms", NULL};
	struct xlb_cfg_marathon *m = &c->cfg->marathon;
	const char *p = "$.marathon.safety";
	const json_t *o = get_object(c, mo, "$.marathon", "safety");

	if (!o)
		return;
	check_keys(c, o, p, keys);
	get_fraction(c, o, p, "max_remove_fraction", &m->max_remove_fraction);
	get_u32(c, o, p, "min_vips", 0, 1000000, &m->min_vips);
	get_u32(c, o, p, "confirm_syncs", 1, 100, &m->confirm_syncs);
	get_u32(c, o, p, "confirm_delay_ms", 10, 600000, &m->confirm_delay_ms);
}

/* A bare IPv4 or IPv6 address: 0, or -EINVAL. */
static int addr_parse(const char *s, union xlb_addr *addr, __u8 *family)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1) {
		*family = XLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = XLB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static void parse_marathon(struct ctx *c, const json_t *root)
{
	static const char *const keys[] = {"urls",
					   "auth_file",
					   "ca_file",
					   "connect_timeout_ms",
					   "request_timeout_ms",
					   "stream_timeout_ms",
					   "resync_interval_s",
					   "debounce_ms",
					   "debounce_max_ms",
					   "backoff_min_ms",
					   "backoff_max_ms",
					   "max_body_bytes",
					   "health_hold_s",
					   "targeted_max_apps",
					   "framework",
					   "named_vip_range",
					   "haproxy_group",
					   "node_address",
					   "no_backend_policy",
					   "safety",
					   NULL};
	struct xlb_cfg_marathon *m = &c->cfg->marathon;
	const char *p = "$.marathon";
	const json_t *o = get_object(c, root, "$", "marathon");
	char *s = NULL, err[160], d[128];
	struct xlb_named_pool pool;
	json_t *v;

	if (!o)
		return;
	check_keys(c, o, p, keys);
	parse_urls(c, o);
	get_str(c, o, p, "auth_file", true, &m->auth_file);
	get_str(c, o, p, "ca_file", true, &m->ca_file);
	get_u32(c, o, p, "connect_timeout_ms", 100, 600000, &m->connect_timeout_ms);
	get_u32(c, o, p, "request_timeout_ms", 100, 3600000, &m->request_timeout_ms);
	get_u32(c, o, p, "stream_timeout_ms", 1000, 3600000, &m->stream_timeout_ms);
	get_u32(c, o, p, "resync_interval_s", 0, 86400, &m->resync_interval_s);
	get_u32(c, o, p, "debounce_ms", 0, 60000, &m->debounce_ms);
	get_u32(c, o, p, "debounce_max_ms", 0, 60000, &m->debounce_max_ms);
	get_u32(c, o, p, "backoff_min_ms", 10, 600000, &m->backoff_min_ms);
	get_u32(c, o, p, "backoff_max_ms", 10, 3600000, &m->backoff_max_ms);
	get_u64(c, o, p, "max_body_bytes", 4096, 1ull << 34, &m->max_body_bytes);
	get_u32(c, o, p, "health_hold_s", 0, 86400, &m->health_hold_s);
	get_u32(c, o, p, "targeted_max_apps", 0, 1000000, &m->targeted_max_apps);
	if (get_str(c, o, p, "framework", false, &m->framework) &&
	    xlb_dns_domain_frag(m->framework, err, sizeof(err)) < 0)
		xlb_cfg_error(c->errs, "$.marathon.framework",
			      "expected a DNS label (letters, digits, '-'), got \"%s\"",
			      m->framework);
	if (get_str(c, o, p, "named_vip_range", false, &m->named_vip_range) &&
	    xlb_named_pool_parse(m->named_vip_range, &pool, err, sizeof(err)))
		xlb_cfg_error(c->errs, "$.marathon.named_vip_range", "%s", err);
	get_str(c, o, p, "haproxy_group", true, &m->haproxy_group);
	v = json_object_get(o, "node_address");
	if (v && !json_is_null(v)) {
		if (json_is_string(v) &&
		    !addr_parse(json_string_value(v), &m->node_addr, &m->node_family)) {
			m->has_node_addr = true;
		} else {
			xlb_cfg_error(c->errs, "$.marathon.node_address",
				      "expected an IPv4 or IPv6 address, got %s",
				      describe(v, d, sizeof(d)));
		}
	} else if (v) {
		m->has_node_addr = false;
	}
	if (get_str(c, o, p, "no_backend_policy", false, &s)) {
		if (!strcmp(s, "reject"))
			m->vip_flags = 0;
		else if (!strcmp(s, "drop"))
			m->vip_flags = XLB_VIP_F_DROP_NO_BACKEND;
		else
			xlb_cfg_error(c->errs, "$.marathon.no_backend_policy",
				      "expected \"reject\" or \"drop\", got \"%s\"", s);
	}
	free(s);
	parse_safety(c, o);
}

const char *xlb_cfg_ct_lru_name(enum xlb_cfg_ct_lru lru)
{
	return lru == XLB_CFG_CT_LRU_SHARED ? "shared" : "per_cpu";
}

static void parse_maps(struct ctx *c, const json_t *root)
{
	static const char *const keys[] = {"max_vips", "max_backends", "ct_size",
					   "ct6_size", "ct_lru",       NULL};
	const json_t *o = get_object(c, root, "$", "maps");
	char *lru = NULL;

	if (!o)
		return;
	check_keys(c, o, "$.maps", keys);
	get_u32(c, o, "$.maps", "max_vips", 2, 1u << 24, &c->cfg->max_vips);
	get_u32(c, o, "$.maps", "max_backends", 2, 1u << 26, &c->cfg->max_backends);
	get_u32(c, o, "$.maps", "ct_size", 1024, 1u << 28, &c->cfg->ct_size);
	get_u32(c, o, "$.maps", "ct6_size", 1024, 1u << 28, &c->cfg->ct6_size);
	if (get_str(c, o, "$.maps", "ct_lru", false, &lru)) {
		if (!strcmp(lru, "per_cpu"))
			c->cfg->ct_lru = XLB_CFG_CT_LRU_PER_CPU;
		else if (!strcmp(lru, "shared"))
			c->cfg->ct_lru = XLB_CFG_CT_LRU_SHARED;
		else
			xlb_cfg_error(c->errs, "$.maps.ct_lru",
				      "expected \"per_cpu\" or \"shared\", got \"%s\"", lru);
	}
	free(lru);
}

/* The keys of datapath.ct_timeouts, indexed by enum xlb_ct_state. */
static const char *const ct_timeout_keys[XLB_CTS_MAX + 1] = {
    [XLB_CTS_SYN] = "tcp_syn", [XLB_CTS_EST] = "tcp_established",
    [XLB_CTS_FIN] = "tcp_fin", [XLB_CTS_CLOSED] = "tcp_closed",
    [XLB_CTS_UDP] = "udp",     [XLB_CTS_MAX] = NULL,
};

const char *xlb_cfg_ct_timeout_key(unsigned int state)
{
	return state < XLB_CTS_MAX ? ct_timeout_keys[state] : "unknown";
}

/* Exact: 2251031 s * 1e9 is below 2^52, far inside 64 bits. */
__u32 xlb_cfg_ct_ticks(__u32 seconds)
{
	return (__u32)(((__u64)seconds * 1000000000ull) >> XLB_TICK_SHIFT);
}

static void parse_flood(struct ctx *c, const json_t *dp)
{
	static const char *const keys[] = {"new_per_cpu", "new_per_vip", NULL};
	const char *p = "$.datapath.flood";
	const json_t *o = get_object(c, dp, "$.datapath", "flood");

	if (!o)
		return;
	check_keys(c, o, p, keys);
	get_u32(c, o, p, "new_per_cpu", 0, 0xffffffffu, &c->cfg->new_per_cpu);
	get_u32(c, o, p, "new_per_vip", 0, 0xffffffffu, &c->cfg->new_per_vip);
}

static void parse_ct_timeouts(struct ctx *c, const json_t *dp)
{
	const char *p = "$.datapath.ct_timeouts";
	const json_t *o = get_object(c, dp, "$.datapath", "ct_timeouts");
	unsigned int i;

	if (!o)
		return;
	check_keys(c, o, p, ct_timeout_keys);
	for (i = 0; i < XLB_CTS_MAX; i++)
		get_u32(c, o, p, ct_timeout_keys[i], 1, XLB_CFG_CT_TIMEOUT_MAX,
			&c->cfg->ct_timeout_s[i]);
}

/* A forwarding mode's name at path p into *mode, or a clear error. */
static void mode_parse(struct ctx *c, const json_t *v, const char *p, __u8 *mode)
{
	char d[128];

	if (!json_is_string(v) || xlb_mode_parse(json_string_value(v), mode))
		xlb_cfg_error(c->errs, p, "expected \"nat\", \"fullnat\" or \"dsr\", got %s",
			      describe(v, d, sizeof(d)));
}

/*
 * "LO-HI": full-NAT's source ports, above the well-known ones; closed_ms: how
 * long a closed flow keeps its port.
 */
static void parse_fullnat(struct ctx *c, const json_t *dp)
{
	static const char *const keys[] = {"ports", "closed_ms", NULL};
	const char *p = "$.datapath.fullnat";
	const json_t *o = get_object(c, dp, "$.datapath", "fullnat"), *v;
	unsigned int lo, hi;
	char d[128], tail;

	if (!o)
		return;
	check_keys(c, o, p, keys);
	get_u32(c, o, p, "closed_ms", 100, 600000, &c->cfg->fnat_closed_ms);
	v = json_object_get(o, "ports");
	if (!v)
		return;
	if (!json_is_string(v) ||
	    sscanf(json_string_value(v), "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 ||
	    hi > 65535 || lo > hi) {
		xlb_cfg_error(c->errs, "$.datapath.fullnat.ports",
			      "expected \"LO-HI\" with 1024 <= LO <= HI <= 65535, got %s",
			      describe(v, d, sizeof(d)));
		return;
	}
	c->cfg->fnat_port_lo = (__u16)lo;
	c->cfg->fnat_port_hi = (__u16)hi;
}

/*
 * DSR: how long an established flow lives on the balancer after the client's
 * last packet (it never sees the end), and the MTU of the path between the
 * balancer and the agents, from which the MSS clamp follows.
 */
static void parse_dsr(struct ctx *c, const json_t *dp)
{
	static const char *const keys[] = {"idle", "mtu", NULL};
	const json_t *o = get_object(c, dp, "$.datapath", "dsr");

	if (!o)
		return;
	check_keys(c, o, "$.datapath.dsr", keys);
	get_u32(c, o, "$.datapath.dsr", "idle", 1, XLB_CFG_CT_TIMEOUT_MAX, &c->cfg->dsr_idle_s);
	get_u32(c, o, "$.datapath.dsr", "mtu", 1280, 9216, &c->cfg->dsr_mtu);
}

static void parse_datapath(struct ctx *c, const json_t *root)
{
	static const char *const keys[] = {"flood", "ct_timeouts", "ct_insert_limit",
					   "mode",  "fullnat",	   "dsr",
					   NULL};
	const json_t *mode;
	const json_t *o = get_object(c, root, "$", "datapath");

	if (!o)
		return;
	check_keys(c, o, "$.datapath", keys);
	/* Refused, not ignored: the old key dropped new flows, its replacement forwards them. */
	if (json_object_get(o, "ct_insert_limit"))
		xlb_cfg_error(
		    c->errs, "$.datapath.ct_insert_limit",
		    "no longer supported: use datapath.flood.new_per_cpu (new flows "
		    "recorded per CPU per second; above it flows are forwarded without "
		    "a conntrack entry instead of dropped) and datapath.flood.new_per_vip");
	parse_flood(c, o);
	parse_ct_timeouts(c, o);
	parse_fullnat(c, o);
	parse_dsr(c, o);
	mode = json_object_get(o, "mode");
	if (mode)
		mode_parse(c, mode, "$.datapath.mode", &c->cfg->mode);
}

static int vip_key_parse(const char *s, struct xlb_vip_key *key)
{
	char buf[96];
	const char *slash = strrchr(s, '/');
	__u8 proto = XLB_PROTO_TCP;

	memset(key, 0, sizeof(*key));
	if (slash) {
		if (!strcmp(slash + 1, "tcp"))
			proto = XLB_PROTO_TCP;
		else if (!strcmp(slash + 1, "udp"))
			proto = XLB_PROTO_UDP;
		else
			return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	if (xlb_cfg_endpoint_parse(buf, &key->addr, &key->port, &key->family) || !key->port)
		return -EINVAL;
	key->proto = proto;
	return 0;
}

static int backend_parse(struct ctx *c, const json_t *v, const char *p,
			 const struct xlb_vip_key *key, bool key_ok, struct xlb_plan_backend *be)
{
	static const char *const keys[] = {"address", "weight", "state", "agent", NULL};
	char pk[PATH_LEN], d[128];
	json_t *a, *w, *s, *ag = NULL;
	int bad = 0;

	memset(be, 0, sizeof(*be));
	be->state = XLB_BE_ACTIVE;
	be->weight = 1;
	if (json_is_string(v)) {
		a = (json_t *)v;
		w = s = NULL;
		snprintf(pk, sizeof(pk), "%s", p);
	} else if (json_is_object(v)) {
		check_keys(c, v, p, keys);
		a = json_object_get(v, "address");
		w = json_object_get(v, "weight");
		s = json_object_get(v, "state");
		ag = json_object_get(v, "agent");
		sub(pk, p, "address");
	} else {
		xlb_cfg_error(c->errs, p,
			      "expected \"ADDR:PORT\" or an object with \"address\", got %s",
			      describe(v, d, sizeof(d)));
		return -EINVAL;
	}
	if (!a || !json_is_string(a) ||
	    xlb_cfg_endpoint_parse(json_string_value(a), &be->addr, &be->port, &be->family) ||
	    !be->port) {
		xlb_cfg_error(
		    c->errs, pk,
		    "expected \"ADDR:PORT\" (IPv4, or [IPv6]) with a port 1-65535, got %s",
		    a ? describe(a, d, sizeof(d)) : "nothing");
		bad = 1;
	} else if (key_ok && be->family != key->family) {
		xlb_cfg_error(c->errs, pk, "backend is %s but the VIP is %s",
			      be->family == XLB_AF_INET ? "IPv4" : "IPv6",
			      key->family == XLB_AF_INET ? "IPv4" : "IPv6");
		bad = 1;
	}
	/* DSR's agent: the node that runs it; by default its own address (host networking). */
	be->agent = be->addr;
	be->agent_family = be->family;
	if (ag) {
		sub(pk, p, "agent");
		if (!json_is_string(ag) ||
		    addr_parse(json_string_value(ag), &be->agent, &be->agent_family)) {
			xlb_cfg_error(c->errs, pk, "expected an IPv4 or IPv6 address, got %s",
				      describe(ag, d, sizeof(d)));
			bad = 1;
		}
	}
	if (w) {
		sub(pk, p, "weight");
		if (!json_is_integer(w) || json_integer_value(w) < 0 ||
		    json_integer_value(w) > 65535) {
			xlb_cfg_error(c->errs, pk, "expected an integer 0-65535, got %s",
				      describe(w, d, sizeof(d)));
			bad = 1;
		} else {
			be->weight = (__u16)json_integer_value(w);
		}
	}
	if (s) {
		sub(pk, p, "state");
		if (json_is_string(s) && !strcmp(json_string_value(s), "active")) {
			be->state = XLB_BE_ACTIVE;
		} else if (json_is_string(s) && !strcmp(json_string_value(s), "draining")) {
			be->state = XLB_BE_DRAINING;
		} else {
			xlb_cfg_error(c->errs, pk, "expected \"active\" or \"draining\", got %s",
				      describe(s, d, sizeof(d)));
			bad = 1;
		}
	}
	return bad ? -EINVAL : 0;
}

/* A static VIP inside the named pool could be handed to a Marathon named VIP too. */
static bool in_named_range(struct ctx *c, const struct xlb_vip_key *key)
{
	struct xlb_named_pool pool;
	__u32 a, mask;
	char err[160];

	if (key->family != XLB_AF_INET || !c->cfg->marathon.named_vip_range ||
	    xlb_named_pool_parse(c->cfg->marathon.named_vip_range, &pool, err, sizeof(err)))
		return false;
	a = ntohl(key->addr.v4);
	mask = pool.prefix_len ? ~0u << (32 - pool.prefix_len) : 0;
	return (a & mask) == pool.base;
}

/* A VIP's "name", "app" and "policy": wrong values are errors, but not of the VIP's key. */
static void parse_vip_meta(struct ctx *c, const json_t *v, const char *p, struct xlb_plan_vip *vip)
{
	char pk[PATH_LEN], d[128];
	json_t *s;

	s = json_object_get(v, "name");
	if (s) {
		sub(pk, p, "name");
		if (!json_is_string(s) || json_string_length(s) >= XLB_META_NAME_LEN)
			xlb_cfg_error(c->errs, pk,
				      "expected a string of at most %d characters, got %s",
				      XLB_META_NAME_LEN - 1, describe(s, d, sizeof(d)));
		else
			snprintf(vip->name, sizeof(vip->name), "%s", json_string_value(s));
	}
	snprintf(vip->app, sizeof(vip->app), "static");
	s = json_object_get(v, "app");
	if (s) {
		sub(pk, p, "app");
		if (!json_is_string(s) || json_string_length(s) >= XLB_META_APP_LEN)
			xlb_cfg_error(c->errs, pk,
				      "expected a string of at most %d characters, got %s",
				      XLB_META_APP_LEN - 1, describe(s, d, sizeof(d)));
		else
			snprintf(vip->app, sizeof(vip->app), "%s", json_string_value(s));
	}
	s = json_object_get(v, "policy");
	if (s) {
		sub(pk, p, "policy");
		if (json_is_string(s) && !strcmp(json_string_value(s), "reject"))
			vip->flags = 0;
		else if (json_is_string(s) && !strcmp(json_string_value(s), "drop"))
			vip->flags = XLB_VIP_F_DROP_NO_BACKEND;
		else
			xlb_cfg_error(c->errs, pk, "expected \"reject\" or \"drop\", got %s",
				      describe(s, d, sizeof(d)));
	}
}

/*
 * The "backends" array at path pk into bes (room for all of them), orig[i]
 * holding each one's index in the array for "listed twice". Returns how many
 * were read and sets *bad when any was refused.
 */
static size_t parse_vip_backends(struct ctx *c, const json_t *arr, const char *pk,
				 const struct xlb_vip_key *key, bool key_ok,
				 struct xlb_plan_backend *bes, size_t *orig, int *bad)
{
	char pb[PATH_LEN];
	size_t i, j, n = 0;
	json_t *b;

	json_array_foreach(arr, i, b)
	{
		idx(pb, pk, i);
		if (backend_parse(c, b, pb, key, key_ok, &bes[n])) {
			*bad = 1;
			continue;
		}
		for (j = 0; j < n; j++)
			if (!xlb_plan_backend_cmp(&bes[j], &bes[n]))
				break;
		if (j < n) {
			xlb_cfg_error(c->errs, pb, "backend listed twice (first as %s[%zu])", pk,
				      orig[j]);
			*bad = 1;
			continue;
		}
		orig[n++] = i;
	}
	return n;
}

static void parse_vip(struct ctx *c, const json_t *v, const char *p, size_t index)
{
	static const char *const keys[] = {"vip",     "name",	  "app", "policy",
					   "backends", "mode", NULL};
	char pk[PATH_LEN], d[128];
	struct xlb_plan_backend *bes = NULL;
	size_t *orig = NULL;
	struct xlb_plan_vip vip;
	json_t *k, *arr;
	size_t i, n = 0;
	bool key_ok = false;
	int bad = 0;

	if (!json_is_object(v)) {
		xlb_cfg_error(c->errs, p, "expected a VIP object, got %s",
			      describe(v, d, sizeof(d)));
		return;
	}
	check_keys(c, v, p, keys);
	memset(&vip, 0, sizeof(vip));
	vip.source = XLB_PLAN_SRC_STATIC;
	k = json_object_get(v, "vip");
	sub(pk, p, "vip");
	if (!k || !json_is_string(k) || vip_key_parse(json_string_value(k), &vip.key)) {
		xlb_cfg_error(c->errs, pk,
			      "expected \"ADDR:PORT/PROTO\" (IPv4 or [IPv6], port 1-65535, tcp or "
			      "udp), got %s",
			      k ? describe(k, d, sizeof(d)) : "nothing");
		bad = 1;
	} else {
		key_ok = true;
		if (in_named_range(c, &vip.key)) {
			xlb_cfg_error(
			    c->errs, pk,
			    "%s lies in marathon.named_vip_range %s, where named VIPs get "
			    "their addresses: pick an address outside it",
			    json_string_value(k), c->cfg->marathon.named_vip_range);
			bad = 1;
		}
	}
	parse_vip_meta(c, v, p, &vip);
	vip.mode = c->cfg->mode;
	if (json_object_get(v, "mode")) {
		sub(pk, p, "mode");
		mode_parse(c, json_object_get(v, "mode"), pk, &vip.mode);
	}
	arr = json_object_get(v, "backends");
	sub(pk, p, "backends");
	if (arr && !json_is_array(arr)) {
		xlb_cfg_error(c->errs, pk, "expected an array of backends, got %s",
			      describe(arr, d, sizeof(d)));
		bad = 1;
	} else if (arr) {
		bes = calloc(json_array_size(arr) + 1, sizeof(*bes));
		orig = calloc(json_array_size(arr) + 1, sizeof(*orig));
		if (!bes || !orig) {
			c->oom = 1;
			goto cleanup;
		}
		n = parse_vip_backends(c, arr, pk, &vip.key, key_ok, bes, orig, &bad);
	}
	/* Every key read counts for "listed twice", even of a VIP with other errors. */
	if (key_ok) {
		for (i = 0; i < c->nr_seen; i++)
			if (!xlb_vip_key_cmp(&c->seen[i], &vip.key))
				break;
		if (i < c->nr_seen) {
			xlb_cfg_error(c->errs, p, "VIP %s listed twice (first as $.vips[%zu])",
				      json_string_value(k), c->seen_index[i]);
			bad = 1;
		} else {
			c->seen[c->nr_seen] = vip.key;
			c->seen_index[c->nr_seen++] = index;
		}
	}
	if (!bad) {
		vip.backends = bes;
		vip.nr_backends = n;
		if (xlb_plan_state_add(&c->cfg->vips, &vip))
			c->oom = 1;
	}
cleanup:
	free(orig);
	free(bes);
}

static void parse_vips(struct ctx *c, const json_t *root)
{
	json_t *arr = json_object_get(root, "vips"), *v;
	char p[PATH_LEN], d[128];
	size_t i;

	if (!arr || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		xlb_cfg_error(c->errs, "$.vips", "expected an array of VIPs, got %s",
			      describe(arr, d, sizeof(d)));
		return;
	}
	xlb_plan_state_free(&c->cfg->vips);
	c->seen = calloc(json_array_size(arr) + 1, sizeof(*c->seen));
	c->seen_index = calloc(json_array_size(arr) + 1, sizeof(*c->seen_index));
	if (!c->seen || !c->seen_index) {
		c->oom = 1;
		goto cleanup;
	}
	json_array_foreach(arr, i, v)
	{
		idx(p, "$.vips", i);
		parse_vip(c, v, p, i);
	}
cleanup:
	free(c->seen);
	free(c->seen_index);
	c->seen = NULL;
	c->seen_index = NULL;
	c->nr_seen = 0;
}

static void parse_log_level(struct ctx *c, const json_t *root)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	json_t *v = json_object_get(root, "log_level");
	char d[128];
	int i;

	if (!v)
		return;
	for (i = 0; i < 4; i++)
		if (json_is_string(v) && !strcmp(json_string_value(v), names[i])) {
			c->cfg->log_level = i;
			return;
		}
	xlb_cfg_error(c->errs, "$.log_level",
		      "expected \"error\", \"warning\", \"info\" or \"debug\", got %s",
		      describe(v, d, sizeof(d)));
}

/* Rules between fields, checked once every field is read. */
static void cross_check(struct ctx *c)
{
	struct xlb_cfg *cfg = c->cfg;
	struct xlb_cfg_marathon *m = &cfg->marathon;
	__u32 max_vips = cfg->max_vips ? cfg->max_vips : XLB_MAX_VIPS_DEFAULT;
	__u32 max_be = cfg->max_backends ? cfg->max_backends : XLB_MAX_BACKENDS_DEFAULT;
	char err[160];
	size_t nbe;

	if (m->debounce_max_ms < m->debounce_ms)
		xlb_cfg_error(c->errs, "$.marathon.debounce_max_ms",
			      "must be at least debounce_ms (%u), got %u", m->debounce_ms,
			      m->debounce_max_ms);
	if (m->backoff_max_ms < m->backoff_min_ms)
		xlb_cfg_error(c->errs, "$.marathon.backoff_max_ms",
			      "must be at least backoff_min_ms (%u), got %u", m->backoff_min_ms,
			      m->backoff_max_ms);
	if (cfg->vips.nr_vips >= max_vips)
		xlb_cfg_error(c->errs, "$.vips", "%zu static VIPs do not fit in maps.max_vips %u",
			      cfg->vips.nr_vips, max_vips);
	nbe = xlb_plan_state_backends(&cfg->vips);
	if (nbe >= max_be)
		xlb_cfg_error(c->errs, "$.vips",
			      "%zu static backends do not fit in maps.max_backends %u", nbe,
			      max_be);
	if (xlb_plan_state_finish(&cfg->vips, err, sizeof(err)))
		xlb_cfg_error(c->errs, "$.vips", "%s", err);
}

int xlb_cfg_parse(struct xlb_cfg *cfg, const char *text, size_t len, const char *source,
		  struct xlb_cfg_errors *errs)
{
	static const char *const keys[] = {
	    "pin_path", "log_level", "interfaces", "egress_interfaces",
	    "metrics",	"marathon",  "maps",	   "datapath",
	    "vips",	"socket_lb", "cgroup",	   NULL};
	struct ctx c = {.cfg = cfg, .errs = errs};
	size_t before = errs->n;
	json_error_t jerr;
	json_t *root;
	char d[128];

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		xlb_cfg_error(errs, source ? source : "config", "line %d column %d: %s", jerr.line,
			      jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		xlb_cfg_error(errs, "$", "expected an object, got %s",
			      describe(root, d, sizeof(d)));
		json_decref(root);
		return -EINVAL;
	}
	check_keys(&c, root, "$", keys);
	if (get_str(&c, root, "$", "pin_path", false, &cfg->pin_path) && cfg->pin_path[0] != '/')
		xlb_cfg_error(errs, "$.pin_path",
			      "expected an absolute path under a bpffs mount, got \"%s\"",
			      cfg->pin_path);
	get_bool(&c, root, "$", "socket_lb", &cfg->socket_lb);
	if (get_str(&c, root, "$", "cgroup", true, &cfg->cgroup) && cfg->cgroup[0] != '/')
		xlb_cfg_error(errs, "$.cgroup",
			      "expected an absolute path to a cgroup v2 directory (or null: the "
			      "root of the cgroup v2 hierarchy), got \"%s\"",
			      cfg->cgroup);
	parse_log_level(&c, root);
	parse_ifaces(&c, root, "interfaces", false);
	parse_ifaces(&c, root, "egress_interfaces", true);
	parse_metrics(&c, root);
	parse_marathon(&c, root);
	parse_maps(&c, root);
	parse_datapath(&c, root);
	parse_vips(&c, root);
	cross_check(&c);
	json_decref(root);
	if (c.oom)
		return -ENOMEM;
	return errs->n > before ? -EINVAL : 0;
}

int xlb_cfg_load_file(struct xlb_cfg *cfg, const char *path, struct xlb_cfg_errors *errs)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int err;

	if (!f) {
		err = -errno;
		xlb_cfg_error(errs, path, "cannot open: %s", strerror(-err));
		return err == -ENOMEM ? err : -EINVAL;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > (64u << 20)) {
				xlb_cfg_error(errs, path, "larger than 64 MiB: not a config file");
				err = -EINVAL;
				goto cleanup;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		xlb_cfg_error(errs, path, "read error");
		err = -EINVAL;
		goto cleanup;
	}
	err = xlb_cfg_parse(cfg, buf, len, path, errs);
cleanup:
	free(buf);
	fclose(f);
	return err;
}

int xlb_cfg_check_host(const struct xlb_cfg *cfg, struct xlb_cfg_errors *errs)
{
	const struct {
		const char *path, *file;
	} files[] = {
	    {"$.metrics.token_file", cfg->metrics_token_file},
	    {"$.marathon.auth_file", cfg->marathon.auth_file},
	    {"$.marathon.ca_file", cfg->marathon.ca_file},
	};
	size_t before = errs->n, i;
	struct statfs sfs;
	char *secret;
	int err;

	/* Socket programs attach only to cgroup v2 directories (CGROUP2_SUPER_MAGIC). */
	if (cfg->socket_lb && cfg->cgroup) {
		if (statfs(cfg->cgroup, &sfs))
			xlb_cfg_error(errs, "$.cgroup", "%s: %s", cfg->cgroup, strerror(errno));
		else if (sfs.f_type != 0x63677270)
			xlb_cfg_error(errs, "$.cgroup", "%s: not a cgroup v2 directory (cgroup2 "
				      "is mounted where /proc/self/mounts says \"cgroup2\")",
				      cfg->cgroup);
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!files[i].file)
			continue;
		if (access(files[i].file, R_OK)) {
			xlb_cfg_error(errs, files[i].path, "cannot read %s: %s", files[i].file,
				      strerror(errno));
			continue;
		}
		if (i == 2)
			continue;
		err = xlb_cfg_read_secret(files[i].file, &secret);
		if (err) {
			xlb_cfg_error(errs, files[i].path, "%s: %s", files[i].file,
				      err == -ENODATA ? "empty" : strerror(-err));
			continue;
		}
		if (i == 1 && strncmp(secret, "token=", 6) && !strchr(secret, ':'))
			xlb_cfg_error(
			    errs, files[i].path,
			    "%s: expected \"token=<DC/OS token>\" or \"user:password\" on "
			    "the first line",
			    files[i].file);
		/* Wipe before free: the page may be reused by something that gets dumped. */
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return errs->n > before ? -EINVAL : 0;
}

int xlb_cfg_read_secret(const char *path, char **out)
{
	char buf[8192];
	size_t n, s;
	FILE *f;

	*out = NULL;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		explicit_bzero(buf, sizeof(buf));
		return -ENODATA;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	for (s = 0; buf[s] == ' ' || buf[s] == '\t'; s++)
		;
	if (!buf[s]) {
		explicit_bzero(buf, sizeof(buf));
		return -ENODATA;
	}
	*out = strdup(buf + s);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}
