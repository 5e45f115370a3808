// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Marathon documents -> desired state. Each project fixture in
 * tests/fixtures/marathon/ covers one concern (network modes, health, weights,
 * marathon-lb groups, merging and conflicts, bad input, pods) and its whole
 * model is compared with a dump written by hand from the rules; named-VIP
 * addresses in those dumps were computed independently (FNV-1a of the DNS name
 * mod 65534 in 198.19.0.0/16). The real payloads in ../shared/fixtures (Marathon
 * API examples, marathon-lb tests, go-marathon canned responses) are checked
 * for the VIPs and backends read off them by hand, and swept for crashes.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "check.h"
#include "harness.h"
#include "mara_model.h"

#define FIXTURES "tests/fixtures/marathon/"
#define NODE_ADDR "198.18.2.254"
#define DNS ".marathon.l4lb.thisdcos.directory"

/* ------------------------------------------------------------------------------------------ */
/* Test doubles: warnings collector, fake resolver, health cache                                */

#define MAX_WARN 64

static struct {
	char *msg[MAX_WARN];
	int n;
} warns;

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	if (warns.n < MAX_WARN)
		warns.msg[warns.n] = strdup(msg);
	warns.n++;
}

static void warns_reset(void)
{
	for (int i = 0; i < warns.n && i < MAX_WARN; i++)
		free(warns.msg[i]);
	memset(&warns, 0, sizeof(warns));
}

static void warns_print(void)
{
	for (int i = 0; i < warns.n && i < MAX_WARN; i++)
		print_message("warning: %s\n", warns.msg[i]);
}

static int warns_count(const char *sub)
{
	int i, c = 0;

	for (i = 0; i < warns.n && i < MAX_WARN; i++)
		c += strstr(warns.msg[i], sub) != NULL;
	return c;
}

static void assert_warned(const char *sub)
{
	if (!warns_count(sub)) {
		warns_print();
		fail_msg("no warning contains \"%s\"", sub);
	}
}

static struct {
	int calls;
	int nx_calls;
} resolver;

/* Agent names of the fixtures, and of the shared fixtures, all in 198.18.2.0/24. */
static int fake_resolve(void *ctx, const char *host, __u8 hint, union xlb_addr *addr, __u8 *family)
{
	static const struct {
		const char *host, *addr;
	} map[] = {
	    {"agent-1.xlb.test", "198.18.2.11"},
	    {"agent-2.xlb.test", "198.18.2.12"},
	    {"agent-3.xlb.test", "198.18.2.13"},
	    {"srv2.example.com", "198.18.2.102"},
	    {"srv4.example.com", "198.18.2.104"},
	    {"srv4.hw.ca1.mesosphere.com", "198.18.2.114"},
	    {"srv5.hw.ca1.mesosphere.com", "198.18.2.115"},
	    {"srv7.hw.ca1.mesosphere.com", "198.18.2.117"},
	};
	size_t i;

	(void)ctx;
	(void)hint;
	resolver.calls++;
	for (i = 0; i < ARRAY_SIZE(map); i++) {
		if (!strcmp(host, map[i].host)) {
			memset(addr, 0, sizeof(*addr));
			inet_pton(AF_INET, map[i].addr, &addr->v4);
			*family = XLB_AF_INET;
			return 0;
		}
	}
	if (!strcmp(host, "nx.xlb.test"))
		resolver.nx_calls++;
	return -ENOENT;
}

static struct {
	char stored[32][64];
	bool alive[32];
	int n;
} hstore;

static int cache_lookup(void *ctx, const char *task_id)
{
	(void)ctx;
	if (!strcmp(task_id, "hc.empty-results") || !strcmp(task_id, "pod-host.instance-1002.web"))
		return 1;
	if (!strcmp(task_id, "hc.no-results"))
		return 0;
	return -ENOENT;
}

static void cache_store(void *ctx, const char *task_id, bool alive)
{
	(void)ctx;
	if (hstore.n < 32) {
		snprintf(hstore.stored[hstore.n], sizeof(hstore.stored[0]), "%s", task_id);
		hstore.alive[hstore.n] = alive;
	}
	hstore.n++;
}

static void test_opts(struct xlb_mara_opts *o)
{
	char err[128];

	xlb_mara_opts_init(o);
	expect_ok("parse pool 198.19.0.0/16",
		  xlb_named_pool_parse("198.19.0.0/16", &o->pool, err, sizeof(err)));
	o->node_family = XLB_AF_INET;
	inet_pton(AF_INET, NODE_ADDR, &o->node_addr.v4);
	o->warn = warn_cb;
	o->resolve = fake_resolve;
	warns_reset();
	memset(&resolver, 0, sizeof(resolver));
	memset(&hstore, 0, sizeof(hstore));
}

/* ------------------------------------------------------------------------------------------ */
/* Files                                                                                       */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static char *must_read(const char *path, size_t *len)
{
	char *buf = read_all(path, len);

	if (!buf)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return buf;
}

static const char *shared_dir(void)
{
	const char *d = getenv("XLB_SHARED_FIXTURES");

	return d && *d ? d : "../shared/fixtures";
}

static bool shared_present(void)
{
	struct stat st;

	return stat(shared_dir(), &st) == 0 && S_ISDIR(st.st_mode);
}

#define REQUIRE_SHARED()                                                                      \
	do {                                                                                  \
		if (!shared_present())                                                        \
			xlb_skip_fixtures("shared fixtures not found at %s (set XLB_SHARED_FIXTURES)", \
				 shared_dir());                                               \
	} while (0)

static char *shared_read(const char *rel, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", shared_dir(), rel);
	return must_read(path, len);
}

/* ------------------------------------------------------------------------------------------ */
/* Building and describing models                                                              */

static int build_files(struct xlb_mara_model *m, const char *apps_path, const char *pods_path,
		       const struct xlb_mara_opts *o, char *err, size_t errlen)
{
	char *apps = NULL, *pods = NULL;
	size_t alen = 0, plen = 0;
	int ret;

	if (apps_path)
		apps = must_read(apps_path, &alen);
	if (pods_path)
		pods = must_read(pods_path, &plen);
	ret = xlb_mara_model_build(m, apps, alen, pods, plen, o, err, errlen);
	free(apps);
	free(pods);
	return ret;
}

static void build_ok(struct xlb_mara_model *m, const char *apps_path, const char *pods_path,
		     const struct xlb_mara_opts *o)
{
	char err[512] = "";
	int ret = build_files(m, apps_path, pods_path, o, err, sizeof(err));

	if (ret)
		fail_msg("build %s %s: %d %s", apps_path ? apps_path : "-",
			 pods_path ? pods_path : "-", ret, err);
	expect_eq("warnings counted in the model against those reported", m->nr_warnings,
		  (unsigned int)warns.n);
}

/* The service key as dp.c's xlb_vip_key_str prints it (dp.h is not needed here). */
static const char *key_str(const struct xlb_vip_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(k->family == XLB_AF_INET6 ? AF_INET6 : AF_INET, k->addr.bytes, a, sizeof(a));
	snprintf(buf, len, k->family == XLB_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a, ntohs(k->port),
		 k->proto == XLB_PROTO_UDP ? "udp" : "tcp");
	return buf;
}

static const char *kind_name(enum xlb_svc_kind k)
{
	return k == XLB_SVC_IP_VIP ? "ip" : k == XLB_SVC_NAMED_VIP ? "named" : "port";
}

static void be_str(const struct xlb_mara_backend *b, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(b->family == XLB_AF_INET6 ? AF_INET6 : AF_INET, b->addr.bytes, a, sizeof(a));
	snprintf(buf, len, b->family == XLB_AF_INET6 ? "[%s]:%u %c%u" : "%s:%u %c%u", a,
		 ntohs(b->port), b->state == XLB_BE_ACTIVE ? 'A' : 'D', b->weight);
}

/*
 * One line per service: "<key> <kind>[ <dns>]: <backend>, ..." with backends
 * "addr:port A<weight>" (active) or "D0" (draining).
 */
static char *dump(const struct xlb_mara_model *m)
{
	size_t cap = 256, len = 0, i, j;
	char *out = calloc(1, cap), line[1024];

	for (i = 0; i < m->nr_services; i++) {
		const struct xlb_mara_service *s = &m->services[i];
		char k[80];
		int n;

		n = snprintf(line, sizeof(line), "%s%s %s%s%s:", i ? "\n" : "",
			     key_str(&s->key, k, sizeof(k)), kind_name(s->kind),
			     s->dns_name ? " " : "", s->dns_name ? s->dns_name : "");
		for (j = 0; j < s->nr_backends; j++) {
			char b[80];

			be_str(&s->backends[j], b, sizeof(b));
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s %s", j ? "," : "", b);
		}
		while (len + (size_t)n + 1 > cap)
			cap *= 2;
		out = realloc(out, cap);
		memcpy(out + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	return out;
}

static void assert_model(const struct xlb_mara_model *m, const char *want)
{
	char *got = dump(m);

	if (strcmp(got, want)) {
		print_message("--- want\n%s\n--- got\n%s\n", want, got);
		warns_print();
		free(got);
		fail_msg("model differs");
	}
	free(got);
}

static const struct xlb_mara_service *find(const struct xlb_mara_model *m, const char *addr,
					   unsigned int port, __u8 proto)
{
	struct xlb_vip_key key = {.port = htons((__u16)port), .proto = proto};

	if (inet_pton(AF_INET, addr, &key.addr.v4) == 1)
		key.family = XLB_AF_INET;
	else if (inet_pton(AF_INET6, addr, key.addr.bytes) == 1)
		key.family = XLB_AF_INET6;
	return xlb_mara_model_find(m, &key);
}

static const struct xlb_mara_service *must_find(const struct xlb_mara_model *m, const char *addr,
						unsigned int port, __u8 proto)
{
	const struct xlb_mara_service *s = find(m, addr, port, proto);

	if (!s)
		fail_msg("no service %s:%u/%u", addr, port, proto);
	return s;
}

static const struct xlb_mara_backend *backend_at(const struct xlb_mara_service *s, const char *addr,
						 unsigned int port)
{
	union xlb_addr a = {0};
	size_t i;

	inet_pton(AF_INET, addr, &a.v4);
	for (i = 0; i < s->nr_backends; i++) {
		if (s->backends[i].family == XLB_AF_INET && s->backends[i].addr.v4 == a.v4 &&
		    ntohs(s->backends[i].port) == port)
			return &s->backends[i];
	}
	fail_msg("no backend %s:%u", addr, port);
	return NULL;
}

/* No backend may ever be a Docker bridge address (172.16/12): those do not route. */
static void assert_no_bridge_ips(const struct xlb_mara_model *m)
{
	size_t i, j;

	for (i = 0; i < m->nr_services; i++) {
		for (j = 0; j < m->services[i].nr_backends; j++) {
			const struct xlb_mara_backend *b = &m->services[i].backends[j];
			__u32 a = ntohl(b->addr.v4);

			if (b->family == XLB_AF_INET && (a & 0xfff00000u) == 0xac100000u)
				fail_msg("service %zu has a bridge-network backend", i);
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Project fixtures                                                                            */

static void test_host_mode(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "host.json", NULL, &o);
	assert_model(&m, "198.18.100.1:80/tcp ip: 198.18.2.11:31001 A3, 198.18.2.12:31003 A3, "
			 "198.18.2.13:31005 D0\n"
			 "198.18.100.20:5000/tcp ip: 198.18.2.12:31009 A1\n"
			 "198.19.206.142:53/tcp named web-dns" DNS ": 198.18.2.11:31002 A3, "
			 "198.18.2.12:31004 A3, 198.18.2.13:31006 D0\n"
			 "198.19.206.142:53/udp named web-dns" DNS ": 198.18.2.11:31002 A3, "
			 "198.18.2.12:31004 A3, 198.18.2.13:31006 D0");
	expect_eq("warnings for host.json", warns.n, 0);
	expect_eq("apps in host.json", m.nr_apps, 2);
	expect_eq("tasks in host.json", m.nr_tasks, 7);

	s = must_find(&m, "198.18.100.1", 80, XLB_PROTO_TCP);
	expect_eq("kind of 198.18.100.1:80/tcp", s->kind, XLB_SVC_IP_VIP);
	assert_null(s->name);
	expect_eq("origins of 198.18.100.1:80/tcp", s->nr_origins, 1);
	expect_str_eq("app of 198.18.100.1:80/tcp", s->origins[0].run_id, "/web");
	expect_eq("port index of 198.18.100.1:80/tcp", s->origins[0].port_index, 0);
	expect_str_eq("label of 198.18.100.1:80/tcp", s->origins[0].label_key, "VIP_0");
	expect_false("198.18.100.1:80/tcp comes from a pod", s->origins[0].pod);
	expect_str_eq("task of backend 198.18.2.11:31001",
		      backend_at(s, "198.18.2.11", 31001)->task_id, "web.instance-0001._app.1");
	expect_str_eq("task of backend 198.18.2.13:31005",
		      backend_at(s, "198.18.2.13", 31005)->task_id, "web.instance-0004._app.1");
	expect_eq("health of backend 198.18.2.11:31001 (app without checks)",
		  backend_at(s, "198.18.2.11", 31001)->health, XLB_HEALTH_NONE);
	expect_eq("default weight of 198.18.100.1:80/tcp", s->default_weight, 1);

	s = must_find(&m, "198.19.206.142", 53, XLB_PROTO_UDP);
	expect_eq("kind of 198.19.206.142:53/udp", s->kind, XLB_SVC_NAMED_VIP);
	expect_str_eq("name of 198.19.206.142:53/udp", s->name, "/web-dns");
	expect_str_eq("DNS name of 198.19.206.142:53/udp", s->dns_name, "web-dns" DNS);
	expect_eq("port index of 198.19.206.142:53/udp", s->origins[0].port_index, 1);

	/* The legacy vip_PORT0 app label of a pre-portDefinitions app. */
	s = must_find(&m, "198.18.100.20", 5000, XLB_PROTO_TCP);
	expect_str_eq("label of 198.18.100.20:5000/tcp", s->origins[0].label_key, "vip_PORT0");
	/* Only agent names reach the resolver, once per name and family: agent-1, -2, -3. */
	expect_eq("resolver calls for three agent names", resolver.calls, 3);
	xlb_mara_model_free(&m);
	expect_eq("services after xlb_mara_model_free", m.nr_services, 0);
}

static void test_bridge_mode(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "bridge.json", NULL, &o);
	/*
	 * Bridge: host:ports[i], never the 172.17 address. The mapping without a
	 * hostPort still got a host port (ports[1]). portDefinitions are ignored
	 * in bridge mode, so 198.18.100.99 does not exist.
	 */
	assert_model(&m, "198.18.2.254:10101/tcp port: 198.18.2.11:31010 A1, 198.18.2.12:31012 A1\n"
			 "198.18.2.254:10102/udp port: 198.18.2.11:31011 A1, 198.18.2.12:31013 A1\n"
			 "198.18.100.2:8080/tcp ip: 198.18.2.13:31014 A1\n"
			 "198.19.56.179:80/tcp named shopbridge" DNS
			 ": 198.18.2.11:31010 A1, 198.18.2.12:31012 A1");
	expect_eq("warnings for bridge.json", warns.n, 0);
	assert_no_bridge_ips(&m);
	s = must_find(&m, NODE_ADDR, 10101, XLB_PROTO_TCP);
	expect_eq("kind of the service port 10101/tcp", s->kind, XLB_SVC_SERVICE_PORT);
	assert_null(s->origins[0].label_key);
	expect_str_eq("app of the service port 10101/tcp", s->origins[0].run_id, "/shop/bridge");
	assert_null(find(&m, "198.18.100.99", 1, XLB_PROTO_TCP));
	xlb_mara_model_free(&m);
}

static void test_container_mode(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "container.json", NULL, &o);
	/*
	 * /overlay walks ports[] only for mappings with a hostPort: admin takes
	 * ports[0], "same" ports[1]; api and raw use the container IP. The task
	 * without ipAddresses only serves the host-port mappings. /ippc-legacy:
	 * discovery ports. /docker-user: hostPort 0 but nothing allocated -> the
	 * container. /dual: the IPv6 VIP gets the IPv6 container address, the
	 * named (IPv4) VIP the IPv4 one; a v4-only task cannot serve the v6 VIP.
	 */
	assert_model(&m,
		     "198.18.100.3:6000/tcp ip: 198.18.2.11:31021 A1, 198.18.2.12:31023 A1\n"
		     "198.18.100.3:7000/udp ip: 198.18.3.5:7000 A1\n"
		     "198.18.100.3:9000/tcp ip: 198.18.2.11:31020 A1, 198.18.2.12:31022 A1\n"
		     "198.18.100.4:80/tcp ip: 198.18.3.6:8080 A1\n"
		     "198.18.100.5:5000/tcp ip: 198.18.3.7:5000 A1\n"
		     "198.19.79.212:80/tcp named dual" DNS ": 198.18.3.8:80 A1, 198.18.3.9:80 A1\n"
		     "198.19.144.86:80/tcp named overlay" DNS ": 198.18.3.5:8080 A1\n"
		     "[fd01:c::10]:80/tcp ip: [2001:db8::8]:80 A1");
	expect_eq("warnings for container.json", warns.n, 3);
	/* DSR's agents: a host-port backend is its own agent; a container's is its task's host. */
	{
		const struct xlb_mara_service *sv = must_find(&m, "198.18.100.3", 6000, XLB_PROTO_TCP);
		const struct xlb_mara_service *sc = must_find(&m, "198.18.100.5", 5000, XLB_PROTO_TCP);

		expect_eq("host-port backend: its own address is its agent",
			  sv->backends[0].agent.v4, sv->backends[0].addr.v4);
		expect_eq("host-port backend: agent family", sv->backends[0].agent_family,
			  XLB_AF_INET);
		expect_eq("container backend 198.18.3.7: agent agent-3.xlb.test",
			  sc->backends[0].agent.v4, inet_addr("198.18.2.13"));
		expect_eq("container backend: agent family", sc->backends[0].agent_family,
			  XLB_AF_INET);
	}
	expect_eq("warnings on /overlay port 0 task 0202 without a container IP",
		  warns_count("app /overlay port 0 task overlay.instance-0202._app.1: no "
			      "container IP address yet: backend skipped"),
		  1);
	expect_eq("warnings on /overlay port 2 task 0202 without a container IP",
		  warns_count("app /overlay port 2 task overlay.instance-0202._app.1: no "
			      "container IP address yet"),
		  1);
	assert_warned(
	    "app /dual port 0 task dual.instance-0502._app.1: backend 198.18.3.9 is IPv4, "
	    "service [fd01:c::10]:80/tcp is IPv6: backend skipped");
	xlb_mara_model_free(&m);
}

static void test_health(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "health.json", NULL, &o);
	/*
	 * Running + all results alive -> active; any result not alive (false or
	 * null) -> draining; no result yet ([] or absent) -> draining; killing ->
	 * draining; no "state" but startedAt (Marathon < 1.2) -> running; neither
	 * -> not a backend. Without checks, running is enough.
	 */
	assert_model(&m, "198.18.100.6:80/tcp ip: 198.18.2.11:31030 A1, 198.18.2.11:31031 D0, "
			 "198.18.2.12:31032 D0, 198.18.2.12:31033 D0, 198.18.2.13:31034 D0, "
			 "198.18.2.13:31035 A1, 198.18.2.13:31037 D0\n"
			 "198.18.100.6:81/tcp ip: 198.18.2.11:31040 A1, 198.18.2.12:31041 D0");
	s = must_find(&m, "198.18.100.6", 80, XLB_PROTO_TCP);
	expect_eq("health of backend 198.18.2.11:31030 (all results alive)",
		  backend_at(s, "198.18.2.11", 31030)->health, XLB_HEALTH_ALIVE);
	expect_eq("health of backend 198.18.2.11:31031 (a result not alive)",
		  backend_at(s, "198.18.2.11", 31031)->health, XLB_HEALTH_FAILED);
	expect_eq("health of backend 198.18.2.12:31032 (results [])",
		  backend_at(s, "198.18.2.12", 31032)->health, XLB_HEALTH_UNKNOWN);
	expect_eq("health of backend 198.18.2.12:31033 (no results)",
		  backend_at(s, "198.18.2.12", 31033)->health, XLB_HEALTH_UNKNOWN);
	expect_eq("health of backend 198.18.2.13:31035 (no state, startedAt)",
		  backend_at(s, "198.18.2.13", 31035)->health, XLB_HEALTH_ALIVE);
	expect_eq("health of backend 198.18.2.13:31037 (a result alive: null)",
		  backend_at(s, "198.18.2.13", 31037)->health, XLB_HEALTH_FAILED);
	s = must_find(&m, "198.18.100.6", 81, XLB_PROTO_TCP);
	expect_eq("health of backend 198.18.2.11:31040 (app without checks)",
		  backend_at(s, "198.18.2.11", 31040)->health, XLB_HEALTH_NONE);
	expect_eq("warnings for health.json", warns.n, 0);
	xlb_mara_model_free(&m);
}

/* Leader failover: tasks without results take the daemon's last known health. */
static void test_health_cache(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	o.health_lookup = cache_lookup;
	o.health_store = cache_store;
	build_ok(&m, FIXTURES "health.json", NULL, &o);
	s = must_find(&m, "198.18.100.6", 80, XLB_PROTO_TCP);
	expect_eq("state of backend 198.18.2.12:31032 (cached alive)",
		  backend_at(s, "198.18.2.12", 31032)->state, XLB_BE_ACTIVE);
	expect_eq("weight of backend 198.18.2.12:31032 (cached alive)",
		  backend_at(s, "198.18.2.12", 31032)->weight, 1);
	expect_eq("health of backend 198.18.2.12:31032 (cached alive)",
		  backend_at(s, "198.18.2.12", 31032)->health, XLB_HEALTH_CACHED_ALIVE);
	expect_eq("state of backend 198.18.2.12:31033 (cached failed)",
		  backend_at(s, "198.18.2.12", 31033)->state, XLB_BE_DRAINING);
	expect_eq("health of backend 198.18.2.12:31033 (cached failed)",
		  backend_at(s, "198.18.2.12", 31033)->health, XLB_HEALTH_CACHED_FAILED);
	/* Reported results never consult the cache: the failing task stays draining. */
	expect_eq("state of backend 198.18.2.11:31031 (reported failing)",
		  backend_at(s, "198.18.2.11", 31031)->state, XLB_BE_DRAINING);
	/* Every reported verdict is offered to the cache, in task order, once per task. */
	expect_eq("verdicts offered to the cache", hstore.n, 4);
	expect_str_eq("task of cached verdict 0", hstore.stored[0], "hc.alive");
	expect_true("cached verdict 0 (hc.alive)", hstore.alive[0]);
	expect_str_eq("task of cached verdict 1", hstore.stored[1], "hc.failing");
	expect_false("cached verdict 1 (hc.failing)", hstore.alive[1]);
	expect_str_eq("task of cached verdict 2", hstore.stored[2], "hc.old-marathon");
	expect_true("cached verdict 2 (hc.old-marathon)", hstore.alive[2]);
	expect_str_eq("task of cached verdict 3", hstore.stored[3], "hc.alive-null");
	expect_false("cached verdict 3 (hc.alive-null)", hstore.alive[3]);
	xlb_mara_model_free(&m);
}

static void test_weights(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "weights.json", NULL, &o);
	/* HAPROXY_{n}_BACKEND_WEIGHT per port; XLB_WEIGHT wins over it; 0 drains. */
	assert_model(&m, "198.18.100.30:80/tcp ip: 198.18.2.11:31050 A5\n"
			 "198.18.100.30:81/tcp ip: 198.18.2.11:31051 D0\n"
			 "198.18.100.31:80/tcp ip: 198.18.2.11:31052 D0\n"
			 "198.18.100.32:80/tcp ip: 198.18.2.11:31053 A1\n"
			 "198.18.100.33:80/tcp ip: 198.18.2.11:31054 A7");
	expect_eq("warnings for weights.json", warns.n, 2);
	assert_warned("app /w-bad: label XLB_WEIGHT=\"heavy\": not an integer 0-65535, ignored");
	assert_warned("app /w-bad: label HAPROXY_0_BACKEND_WEIGHT=\"65536\": not an integer "
		      "0-65535, ignored");
	xlb_mara_model_free(&m);

	/* A different default weight applies to every backend without labels. */
	test_opts(&o);
	o.default_weight = 100;
	build_ok(&m, FIXTURES "weights.json", NULL, &o);
	expect_eq(
	    "weight of backend 198.18.2.11:31053 with default weight 100",
	    backend_at(must_find(&m, "198.18.100.32", 80, XLB_PROTO_TCP), "198.18.2.11", 31053)
		->weight,
	    100);
	expect_eq("default weight of 198.18.100.32:80/tcp with default weight 100",
		  must_find(&m, "198.18.100.32", 80, XLB_PROTO_TCP)->default_weight, 100);
	xlb_mara_model_free(&m);
}

static void test_haproxy_group(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "haproxy.json", NULL, &o);
	assert_model(&m, "198.18.2.254:10400/tcp port: 198.18.2.11:31060 A1\n"
			 "198.18.2.254:10401/tcp port: 198.18.2.11:31061 A1\n"
			 "198.18.2.254:10401/udp port: 198.18.2.11:31061 A1\n"
			 "198.18.2.254:10406/tcp port: 198.18.2.12:31066 A1\n"
			 "198.18.2.254:10499/tcp port: 198.18.2.12:31063 A1");
	expect_eq("warnings for haproxy.json", warns.n, 1);
	assert_warned("app /no-service-port port 0: in group \"external\" but no service port: "
		      "skipped");
	xlb_mara_model_free(&m);

	/* Another group selects other apps and ports. */
	test_opts(&o);
	o.haproxy_group = "internal";
	build_ok(&m, FIXTURES "haproxy.json", NULL, &o);
	assert_model(&m, "198.18.2.254:10402/tcp port: 198.18.2.11:31062 A1\n"
			 "198.18.2.254:10404/tcp port: 198.18.2.12:31064 A1\n"
			 "198.18.2.254:10499/tcp port: 198.18.2.12:31063 A1");
	xlb_mara_model_free(&m);

	/* No node address: the marathon-lb services are off. */
	test_opts(&o);
	o.node_family = 0;
	build_ok(&m, FIXTURES "haproxy.json", NULL, &o);
	expect_eq("services without a node address", m.nr_services, 0);
	expect_eq("warnings without a node address", warns.n, 0);
	xlb_mara_model_free(&m);
}

/* The forwarding mode from labels, the most specific winning, and what a bad one does. */
static void test_modes(void **state)
{
	static const struct {
		const char *addr;
		int port;
		int mode;
	} want[] = {
		{"198.18.100.60", 80, XLB_MODE_FULLNAT}, /* the app's XLB_MODE */
		{"198.18.100.60", 81, XLB_MODE_NAT},	 /* XLB_1_MODE beats it */
		{"198.18.100.60", 82, XLB_MODE_NAT},	 /* the port's own label, any case */
		{"198.18.100.61", 80, XLB_MARA_MODE_DEFAULT},
		{"198.18.100.62", 80, XLB_MARA_MODE_DEFAULT}, /* bad labels: the default */
		{"198.18.100.62", 81, XLB_MARA_MODE_DEFAULT},
		{"198.18.100.62", 82, XLB_MARA_MODE_DEFAULT},
		{"198.18.100.62", 83, XLB_MARA_MODE_DEFAULT},
		{"198.18.100.63", 80, XLB_MARA_MODE_DEFAULT}, /* a VIP of an external app */
		{NODE_ADDR, 10608, XLB_MODE_FULLNAT},	      /* its service port */
		{NODE_ADDR, 10609, XLB_MODE_NAT},	      /* a service port with a label */
		{"198.18.100.64", 80, XLB_MODE_NAT},	      /* merged: the first origin's */
		{"198.18.100.65", 80, XLB_MODE_DSR},	      /* the app's XLB_MODE, any case */
	};
	struct xlb_mara_model m, m2;
	struct xlb_mara_opts o;
	char what[64];
	size_t i;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "modes.json", NULL, &o);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(what, sizeof(what), "mode of %s:%d/tcp", want[i].addr, want[i].port);
		expect_eq(what, must_find(&m, want[i].addr, want[i].port, XLB_PROTO_TCP)->mode,
			  want[i].mode);
	}
	assert_warned("app /m-bad: label XLB_MODE=\"tunnel\": not a mode (nat, fullnat, dsr): the "
		      "default mode is used");
	assert_warned("app /m-bad port 1: label XLB_1_MODE=\"direct\": not a mode (nat, fullnat, "
		      "dsr): the default mode is used");
	assert_warned("app /m-bad port 2: label XLB_2_MODE=\"\": value is not a string: the "
		      "default mode is used");
	assert_warned("app /m-shared port 0 label VIP_0: IP VIP 198.18.100.64:80/tcp asks for mode "
		      "fullnat, app /m-other port 0 label VIP_0 for nat: the first one's is used");
	/* The app-wide label is read by four ports and reported once. */
	expect_eq("warnings for modes.json", warns.n, 4);

	/* A mode is part of the service: a model that differs only there is not equal. */
	test_opts(&o);
	build_ok(&m2, FIXTURES "modes.json", NULL, &o);
	expect_true("the same document builds an equal model", xlb_mara_model_equal(&m, &m2));
	m2.services[0].mode = m2.services[0].mode == XLB_MODE_NAT ? XLB_MODE_FULLNAT : XLB_MODE_NAT;
	expect_true("a model with one mode changed is not equal", !xlb_mara_model_equal(&m, &m2));
	xlb_mara_model_free(&m2);
	xlb_mara_model_free(&m);
}

static void test_merge_and_conflict(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "merge.json", NULL, &o);
	/*
	 * Two apps on one VIP merge; the killing green.2 on the same address as
	 * blue.1 is one backend, active. The IP VIP on the node address beats the
	 * marathon-lb service port of /lb-app, whose backend is not added.
	 */
	assert_model(&m, "198.18.2.254:10502/tcp ip: 198.18.2.13:31072 A1\n"
			 "198.18.100.7:80/tcp ip: 198.18.2.11:31070 A1, 198.18.2.12:31071 A1\n"
			 "198.19.233.9:80/tcp named shared" DNS
			 ": 198.18.2.11:31070 A1, 198.18.2.12:31071 A1");
	expect_eq("warnings for merge.json", warns.n, 1);
	assert_warned(
	    "app /lb-app port 0: service port 198.18.2.254:10502/tcp is already the IP VIP "
	    "of app /claims-node-port port 0 label VIP_0: ignored");
	s = must_find(&m, "198.18.100.7", 80, XLB_PROTO_TCP);
	expect_eq("origins of 198.18.100.7:80/tcp", s->nr_origins, 3);
	expect_str_eq("app of origin 0 of 198.18.100.7:80/tcp", s->origins[0].run_id, "/blue");
	expect_str_eq("app of origin 1 of 198.18.100.7:80/tcp", s->origins[1].run_id, "/green");
	expect_str_eq("label of origin 1 of 198.18.100.7:80/tcp", s->origins[1].label_key, "VIP_0");
	expect_str_eq("label of origin 2 of 198.18.100.7:80/tcp", s->origins[2].label_key,
		      "vip_dup");
	expect_str_eq("task of backend 198.18.2.11:31070 (blue.1, not the killing green.2)",
		      backend_at(s, "198.18.2.11", 31070)->task_id, "blue.1");
	/* "/shared" and "shared" are one DNS name, so one VIP; the first origin names it. */
	s = must_find(&m, "198.19.233.9", 80, XLB_PROTO_TCP);
	expect_eq("origins of 198.19.233.9:80/tcp (\"/shared\" and \"shared\")", s->nr_origins, 2);
	expect_str_eq("name of 198.19.233.9:80/tcp (its first origin's)", s->name, "/shared");
	xlb_mara_model_free(&m);
}

static void test_bad_input_keeps_good_apps(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "bad.json", NULL, &o);
	assert_model(&m, "198.18.100.40:80/tcp ip: 198.18.2.11:31080 A1\n"
			 "198.18.100.43:80/tcp ip: 198.18.2.12:31081 A1\n"
			 "198.18.100.44:81/tcp ip: 198.18.2.12:31083 A1\n"
			 "198.18.100.45:80/tcp ip: 198.18.2.13:31086 A1\n"
			 "198.18.100.46:80/tcp ip: 198.18.2.11:31088 A1");
	assert_warned("apps[1]: not an object: skipped");
	assert_warned("apps[2]: no \"id\" string: skipped");
	assert_warned("app /ports-not-array: port list (host mode) is not an array: app skipped");
	assert_warned("app /tasks-not-array: tasks is not an array: app skipped");
	assert_warned("app /bad-labels port 0: label VIP_0=\"/x:99999\": port 99999 out of range "
		      "1-65535: label skipped");
	assert_warned("app /bad-labels port 0: label VIP_1=\":80\": empty address or name before "
		      "':': label skipped");
	assert_warned("app /bad-labels port 0: label VIP_2: value is not a string: label skipped");
	assert_warned("app /bad-proto port 0: protocol \"sctp\" is not tcp, udp or udp,tcp: port "
		      "skipped");
	/* One warning and one lookup for a host shared by two tasks. */
	expect_eq("warnings for the unresolvable host shared by two tasks",
		  warns_count("host \"nx.xlb.test\" does not resolve"), 1);
	assert_warned("app /unresolvable task unresolvable.1: host \"nx.xlb.test\" does not "
		      "resolve (no such host): backend skipped");
	expect_eq("resolver calls for nx.xlb.test", resolver.nx_calls, 1);
	assert_warned("app /unresolvable: tasks[3] has no \"id\": skipped");
	assert_warned("app /unresolvable port 0 task unresolvable.5: no host port in the task's "
		      "ports[]: backend skipped");
	assert_warned("app /unresolvable port 0 task unresolvable.6: host port 70000 out of range: "
		      "backend skipped");
	expect_eq("warnings for bad.json", warns.n, 12);
	expect_eq("apps in bad.json", m.nr_apps, 9);
	xlb_mara_model_free(&m);
}

static void test_pods(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	build_ok(&m, NULL, FIXTURES "pods.json", &o);
	/*
	 * Host pod: agent:allocatedHostPort, pod label XLB_WEIGHT=2; the web
	 * container has a health check (reported healthy / unreported / failed),
	 * the sidecar none (running / killing / finished). Container pod: the
	 * endpoint without hostPort on the instance's network address, the one
	 * with a hostPort on the agent. Bridge pod: agent:allocatedHostPort.
	 */
	assert_model(&m, "198.18.100.9:9100/tcp ip: 198.18.2.11:31101 A2, 198.18.2.12:31103 D0\n"
			 "198.18.100.9:9100/udp ip: 198.18.2.11:31101 A2, 198.18.2.12:31103 D0\n"
			 "198.18.100.10:80/tcp ip: 198.18.4.1:8080 A1\n"
			 "198.18.100.10:9000/tcp ip: 198.18.2.14:31200 A1\n"
			 "198.18.100.11:80/tcp ip: 198.18.2.13:31300 A1\n"
			 "198.19.202.145:80/tcp named podweb" DNS ": 198.18.2.11:31100 A2, "
			 "198.18.2.12:31102 D0, 198.18.2.13:31104 D0");
	expect_eq("warnings for pods.json", warns.n, 2);
	assert_warned("pods[3]: not a pod status object with an \"id\": skipped");
	assert_warned("pod /pod-no-spec: no \"spec\" object: skipped");
	expect_eq("pods in pods.json", m.nr_pods, 5);
	s = must_find(&m, "198.19.202.145", 80, XLB_PROTO_TCP);
	expect_true("198.19.202.145:80/tcp comes from a pod", s->origins[0].pod);
	expect_str_eq("pod of 198.19.202.145:80/tcp", s->origins[0].run_id, "/pod-host");
	expect_eq("health of backend 198.18.2.11:31100 (reported healthy)",
		  backend_at(s, "198.18.2.11", 31100)->health, XLB_HEALTH_ALIVE);
	expect_str_eq("task of backend 198.18.2.11:31100",
		      backend_at(s, "198.18.2.11", 31100)->task_id, "pod-host.instance-1001.web");
	expect_eq("health of backend 198.18.2.12:31102 (unreported)",
		  backend_at(s, "198.18.2.12", 31102)->health, XLB_HEALTH_UNKNOWN);
	expect_eq("health of backend 198.18.2.13:31104 (failed)",
		  backend_at(s, "198.18.2.13", 31104)->health, XLB_HEALTH_FAILED);
	/* No containerId: the task id is "<instance id>.<container name>". */
	expect_str_eq("task of backend 198.18.2.13:31104 (no containerId)",
		      backend_at(s, "198.18.2.13", 31104)->task_id, "pod-host.instance-1003.web");
	s = must_find(&m, "198.18.100.9", 9100, XLB_PROTO_UDP);
	expect_eq("port index of 198.18.100.9:9100/udp", s->origins[0].port_index, 1);
	expect_eq("health of sidecar backend 198.18.2.11:31101 (no check)",
		  backend_at(s, "198.18.2.11", 31101)->health, XLB_HEALTH_NONE);
	xlb_mara_model_free(&m);

	/* The unreported container takes the cached verdict after a failover. */
	test_opts(&o);
	o.health_lookup = cache_lookup;
	o.health_store = cache_store;
	build_ok(&m, NULL, FIXTURES "pods.json", &o);
	s = must_find(&m, "198.19.202.145", 80, XLB_PROTO_TCP);
	expect_eq("state of backend 198.18.2.12:31102 (cached alive)",
		  backend_at(s, "198.18.2.12", 31102)->state, XLB_BE_ACTIVE);
	expect_eq("weight of backend 198.18.2.12:31102 (pod XLB_WEIGHT)",
		  backend_at(s, "198.18.2.12", 31102)->weight, 2);
	/* instance-1001.web alive, instance-1003.web failed */
	expect_eq("verdicts offered to the cache", hstore.n, 2);
	xlb_mara_model_free(&m);
}

/* Apps and pods in one build share the named pool and the sort. */
static void test_apps_and_pods_together(void **state)
{
	struct xlb_mara_model m, a, p;
	struct xlb_mara_opts o;
	size_t i;

	(void)state;
	test_opts(&o);
	build_ok(&m, FIXTURES "host.json", FIXTURES "pods.json", &o);
	test_opts(&o);
	build_ok(&a, FIXTURES "host.json", NULL, &o);
	test_opts(&o);
	build_ok(&p, NULL, FIXTURES "pods.json", &o);
	expect_eq("services of apps and pods built together against apart", m.nr_services,
		  a.nr_services + p.nr_services);
	for (i = 0; i < a.nr_services; i++)
		expect_true(
		    xlb_whatf("service %zu of host.json alone equals its twin in the joint build",
			      i),
		    xlb_mara_service_equal(&a.services[i],
					   xlb_mara_model_find(&m, &a.services[i].key)));
	for (i = 0; i < p.nr_services; i++)
		expect_true(
		    xlb_whatf("service %zu of pods.json alone equals its twin in the joint build",
			      i),
		    xlb_mara_service_equal(&p.services[i],
					   xlb_mara_model_find(&m, &p.services[i].key)));
	for (i = 1; i < m.nr_services; i++)
		expect_cmp(xlb_whatf("key order of services %zu and %zu", i - 1, i),
			   xlb_vip_key_cmp(&m.services[i - 1].key, &m.services[i].key), <, 0);
	xlb_mara_model_free(&m);
	xlb_mara_model_free(&a);
	xlb_mara_model_free(&p);
}

/* Reverse every array that has no meaning in its order: apps, tasks, labels' insertion. */
static json_t *reversed_copy(json_t *root)
{
	json_t *copy = json_deep_copy(root), *apps = json_object_get(copy, "apps"), *app;
	size_t i, n;

	n = json_array_size(apps);
	for (i = 0; i < n / 2; i++) {
		json_t *x = json_incref(json_array_get(apps, i));

		json_array_set(apps, i, json_array_get(apps, n - 1 - i));
		json_array_set_new(apps, n - 1 - i, x);
	}
	json_array_foreach(apps, i, app)
	{
		json_t *tasks = json_object_get(app, "tasks");
		size_t j, t = json_array_size(tasks);

		for (j = 0; j < t / 2; j++) {
			json_t *x = json_incref(json_array_get(tasks, j));

			json_array_set(tasks, j, json_array_get(tasks, t - 1 - j));
			json_array_set_new(tasks, t - 1 - j, x);
		}
	}
	return copy;
}

static void test_deterministic(void **state)
{
	static const char *const files[] = {"host.json",   "bridge.json",  "container.json",
					    "health.json", "weights.json", "haproxy.json",
					    "merge.json"};
	struct xlb_mara_opts o;
	size_t f;

	(void)state;
	for (f = 0; f < ARRAY_SIZE(files); f++) {
		struct xlb_mara_model m1, m2, m3;
		char path[256], err[256];
		json_error_t jerr;
		json_t *root, *rev;
		char *d1, *d3;

		snprintf(path, sizeof(path), FIXTURES "%s", files[f]);
		root = json_load_file(path, 0, &jerr);
		assert_non_null(root);
		rev = reversed_copy(root);
		test_opts(&o);
		expect_ok(xlb_whatf("%s: first build", files[f]),
			  xlb_mara_model_build_json(&m1, root, NULL, &o, err, sizeof(err)));
		expect_ok(xlb_whatf("%s: second build", files[f]),
			  xlb_mara_model_build_json(&m2, root, NULL, &o, err, sizeof(err)));
		expect_ok(xlb_whatf("%s: build of the reversed copy", files[f]),
			  xlb_mara_model_build_json(&m3, rev, NULL, &o, err, sizeof(err)));
		expect_true(xlb_whatf("%s: two builds give equal models", files[f]),
			    xlb_mara_model_equal(&m1, &m2));
		expect_true(xlb_whatf("%s: reversed arrays give an equal model", files[f]),
			    xlb_mara_model_equal(&m1, &m3));
		d1 = dump(&m1);
		d3 = dump(&m3);
		if (strcmp(d1, d3))
			fail_msg("%s: order changed the model:\n%s\n---\n%s", files[f], d1, d3);
		free(d1);
		free(d3);
		xlb_mara_model_free(&m1);
		xlb_mara_model_free(&m2);
		xlb_mara_model_free(&m3);
		json_decref(root);
		json_decref(rev);
	}
}

static void test_compare_helpers(void **state)
{
	struct xlb_mara_model a, b;
	struct xlb_mara_opts o;
	struct xlb_vip_key k;
	struct xlb_mara_service *s;

	(void)state;
	test_opts(&o);
	build_ok(&a, FIXTURES "host.json", NULL, &o);
	build_ok(&b, FIXTURES "host.json", NULL, &o);
	expect_true("two builds of host.json are equal", xlb_mara_model_equal(&a, &b));
	s = (struct xlb_mara_service *)must_find(&b, "198.18.100.1", 80, XLB_PROTO_TCP);
	s->backends[0].weight = 9;
	expect_false("service with another backend weight equals the original",
		     xlb_mara_service_equal(s, must_find(&a, "198.18.100.1", 80, XLB_PROTO_TCP)));
	expect_false("model with another backend weight equals the original",
		     xlb_mara_model_equal(&a, &b));
	s->backends[0].weight = 3;
	s->backends[0].state = XLB_BE_DRAINING;
	expect_false("model with a draining backend equals the original",
		     xlb_mara_model_equal(&a, &b));
	s->backends[0].state = XLB_BE_ACTIVE;
	/* Task ids and origins do not change what the data plane does. */
	s->origins[0].port_index = 7;
	expect_true("model with another origin port index equals the original",
		    xlb_mara_model_equal(&a, &b));

	k = a.services[0].key;
	expect_ptr_eq("find of the first service's key", xlb_mara_model_find(&a, &k),
		      &a.services[0]);
	k.port = htons(81);
	assert_null(xlb_mara_model_find(&a, &k));
	k = a.services[0].key;
	k.proto = XLB_PROTO_UDP;
	assert_null(xlb_mara_model_find(&a, &k));
	/* Keys order by family, address, port (numerically), protocol. */
	{
		struct xlb_vip_key x = {.family = XLB_AF_INET, .port = htons(255), .proto = 17};
		struct xlb_vip_key y = {.family = XLB_AF_INET, .port = htons(256), .proto = 6};
		struct xlb_vip_key z = {.family = XLB_AF_INET6, .proto = 6};

		expect_cmp("key order: port 255/udp before port 256/tcp", xlb_vip_key_cmp(&x, &y),
			   <, 0);
		expect_cmp("key order: IPv4 before IPv6", xlb_vip_key_cmp(&y, &z), <, 0);
		expect_eq("key compared with itself", xlb_vip_key_cmp(&x, &x), 0);
	}
	xlb_mara_model_free(&a);
	xlb_mara_model_free(&b);
}

static void test_invalid_documents(void **state)
{
	static const struct {
		const char *apps, *pods, *err;
	} v[] = {
	    {"{", NULL, "apps document: invalid JSON at line 1"},
	    {"[]", NULL, "apps document: expected a JSON object with \"apps\", got an array"},
	    {"42", NULL, "apps document: expected a JSON object with \"apps\", got a scalar"},
	    {"{\"apps\": {}}", NULL, "apps document: \"apps\" is not an array"},
	    {"{\"app\": []}", NULL, "apps document: \"app\" is not an object"},
	    {"{\"tasks\": []}", NULL,
	     "apps document: no \"apps\" array (nor \"app\" or an app \"id\")"},
	    {"{\"apps\": [], \"apps\": []}", NULL, "duplicate object key"},
	    {NULL, "{}",
	     "pods document: expected an array of pod status objects, got an "
	     "object without \"id\" and \"spec\""},
	    {NULL, "\"pods\"",
	     "pods document: expected an array of pod status objects, got a "
	     "scalar"},
	    {NULL, "[{]", "pods document: invalid JSON"},
	    {"{\"apps\": []}", "nope", "pods document: invalid JSON"},
	};
	struct xlb_mara_opts o;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct xlb_mara_model m;
		char err[512] = "";
		int ret;

		test_opts(&o);
		ret = xlb_mara_model_build(&m, v[i].apps, v[i].apps ? strlen(v[i].apps) : 0,
					   v[i].pods, v[i].pods ? strlen(v[i].pods) : 0, &o, err,
					   sizeof(err));
		if (ret != -EINVAL || !strstr(err, v[i].err))
			fail_msg("case %zu: ret %d err \"%s\", want -EINVAL \"%s\"", i, ret, err,
				 v[i].err);
		expect_eq(xlb_whatf("case %zu: services after a failed build", i), m.nr_services,
			  0);
		assert_null(m.services);
		xlb_mara_model_free(&m);
	}
}

static void test_empty_and_single_app_documents(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	char err[256];
	const char *single =
	    "{\"app\": {\"id\": \"/one\", \"portDefinitions\": [{\"port\": 1, "
	    "\"labels\": {\"VIP_0\": \"198.18.100.50:80\"}}], \"tasks\": [{\"id\": "
	    "\"one.1\", \"host\": \"agent-1.xlb.test\", \"state\": "
	    "\"TASK_RUNNING\", \"ports\": [31090]}]}}";
	const char *bare = "{\"id\": \"/bare\", \"portDefinitions\": [{\"port\": 1, \"labels\": "
			   "{\"VIP_0\": \"198.18.100.51:80\"}}]}";
	const char *group = "{\"id\": \"/\", \"apps\": [], \"groups\": [{\"id\": \"/g\", \"apps\": "
			    "[{\"id\": \"/g/a\", \"portDefinitions\": [{\"labels\": {\"VIP_0\": "
			    "\"198.18.100.52:80\"}}]}], \"groups\": [{\"id\": \"/g/h\", \"apps\": "
			    "[{\"id\": \"/g/h/b\", \"portDefinitions\": [{\"labels\": {\"VIP_0\": "
			    "\"198.18.100.53:80\"}}]}]}]}]}";

	(void)state;
	test_opts(&o);
	expect_ok("build with no documents",
		  xlb_mara_model_build(&m, NULL, 0, NULL, 0, &o, err, sizeof(err)));
	expect_eq("services with no documents", m.nr_services, 0);
	assert_null(m.services);
	xlb_mara_model_free(&m);
	expect_ok("build of empty apps and pods lists",
		  xlb_mara_model_build(&m, "{\"apps\": []}", 12, "[]", 2, &o, err, sizeof(err)));
	expect_eq("services of empty lists", m.nr_services, 0);
	xlb_mara_model_free(&m);

	expect_ok("build of a single-app document",
		  xlb_mara_model_build(&m, single, strlen(single), NULL, 0, &o, err, sizeof(err)));
	assert_model(&m, "198.18.100.50:80/tcp ip: 198.18.2.11:31090 A1");
	xlb_mara_model_free(&m);

	/* An app definition without tasks still declares its VIP (no backend yet). */
	expect_ok("build of a bare app definition",
		  xlb_mara_model_build(&m, bare, strlen(bare), NULL, 0, &o, err, sizeof(err)));
	assert_model(&m, "198.18.100.51:80/tcp ip:");
	xlb_mara_model_free(&m);

	expect_ok("build of a group tree",
		  xlb_mara_model_build(&m, group, strlen(group), NULL, 0, &o, err, sizeof(err)));
	assert_model(&m, "198.18.100.52:80/tcp ip:\n198.18.100.53:80/tcp ip:");
	expect_eq("apps in the group tree", m.nr_apps, 2);
	xlb_mara_model_free(&m);

	/* NULL opts: the defaults (11.0.0.0/8, getaddrinfo) and no warning sink. */
	expect_ok("build with NULL opts",
		  xlb_mara_model_build(&m, bare, strlen(bare), NULL, 0, NULL, err, sizeof(err)));
	expect_eq("services built with NULL opts", m.nr_services, 1);
	xlb_mara_model_free(&m);
}

/* A tiny pool: the first names in strcmp order are served, the rest warned about. */
static void test_named_pool_exhausted(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	char err[256];
	const char *doc = "{\"apps\": [{\"id\": \"/a\", \"portDefinitions\": [{\"labels\": {"
			  "\"VIP_0\": \"/zeta:80\", \"VIP_1\": \"/alpha:80\", \"VIP_2\": "
			  "\"/mid:80\", \"VIP_3\": \"198.19.0.1:80\"}}]}]}";

	(void)state;
	test_opts(&o);
	expect_ok("parse pool 198.19.0.0/30",
		  xlb_named_pool_parse("198.19.0.0/30", &o.pool, err, sizeof(err)));
	expect_ok("build with three names for one free address",
		  xlb_mara_model_build(&m, doc, strlen(doc), NULL, 0, &o, err, sizeof(err)));
	/* 198.19.0.1 is an IP VIP, so one address is left, for "alpha". */
	assert_model(&m, "198.19.0.1:80/tcp ip:\n"
			 "198.19.0.2:80/tcp named alpha" DNS ":");
	expect_eq("warnings with the pool exhausted", warns.n, 2);
	assert_warned("named VIP mid" DNS ": range 198.19.0.0/30 exhausted (3 names, 2 addresses, "
		      "1 taken by IP VIPs): skipped");
	assert_warned("named VIP zeta" DNS ": range");
	xlb_mara_model_free(&m);
}

static void test_framework_name(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const char *doc = "{\"apps\": [{\"id\": \"/a\", \"portDefinitions\": [{\"labels\": {"
			  "\"VIP_0\": \"/grp/Svc:80\"}}]}]}";
	char err[256];

	(void)state;
	test_opts(&o);
	o.framework = "marathon-user";
	expect_ok("build on framework marathon-user",
		  xlb_mara_model_build(&m, doc, strlen(doc), NULL, 0, &o, err, sizeof(err)));
	expect_eq("services on framework marathon-user", m.nr_services, 1);
	expect_str_eq("DNS name on framework marathon-user", m.services[0].dns_name,
		      "grpsvc.marathon-user.l4lb.thisdcos.directory");
	expect_str_eq("name of the VIP /grp/Svc", m.services[0].name, "/grp/Svc");
	xlb_mara_model_free(&m);
}

/* Cut and corrupted fixtures: never a crash, always 0 or -EINVAL with a message. */
static void test_mangled_documents(void **state)
{
	static const char *const files[] = {"host.json",   "bridge.json", "container.json",
					    "health.json", "bad.json",	  "pods.json"};
	struct xlb_mara_opts o;
	size_t f;

	(void)state;
	for (f = 0; f < ARRAY_SIZE(files); f++) {
		char path[256], err[512];
		size_t len, cut;
		char *text;
		bool pods = !strcmp(files[f], "pods.json");

		snprintf(path, sizeof(path), FIXTURES "%s", files[f]);
		text = must_read(path, &len);
		for (cut = 0; cut < len; cut += 1 + len / 97) {
			struct xlb_mara_model m;
			char saved = text[cut];
			int ret;

			test_opts(&o);
			ret = xlb_mara_model_build(&m, pods ? NULL : text, cut, pods ? text : NULL,
						   cut, &o, err, sizeof(err));
			expect_rc(xlb_whatf("%s cut after %zu bytes: build", files[f], cut), ret,
				  -EINVAL);
			xlb_mara_model_free(&m);
			/* Flip one byte into a quote or brace and parse the whole thing. */
			text[cut] = (cut & 1) ? '"' : '}';
			err[0] = '\0';
			ret = xlb_mara_model_build(&m, pods ? NULL : text, len, pods ? text : NULL,
						   len, &o, err, sizeof(err));
			expect_true(xlb_whatf("%s with byte %zu flipped: build gives 0, or -EINVAL "
					      "with a message (got %d \"%s\")",
					      files[f], cut, ret, err),
				    ret == 0 || (ret == -EINVAL && err[0]));
			xlb_mara_model_free(&m);
			text[cut] = saved;
		}
		free(text);
	}
	warns_reset();
}

/* Wrong types in every field the extractor reads: warnings, never a crash. */
static void test_wrong_types(void **state)
{
	static const char *const docs[] = {
	    "{\"apps\": [{\"id\": 5}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"labels\": [], \"portDefinitions\": [{\"labels\": "
	    "\"VIP_0\"}]}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"portDefinitions\": [5]}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"portDefinitions\": [{\"protocol\": 6, \"labels\": "
	    "{\"VIP_0\": \"198.18.100.60:80\"}}]}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"ports\": [\"a\"]}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"networks\": 3, \"container\": {\"portMappings\": "
	    "7}}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"networks\": [{\"mode\": \"container\"}], "
	    "\"container\": {\"portMappings\": [{\"containerPort\": \"80\", \"labels\": "
	    "{\"VIP_0\": \"198.18.100.61:80\"}}]}, \"tasks\": [{\"id\": \"x.1\", \"state\": "
	    "\"TASK_RUNNING\", \"ipAddresses\": [{\"ipAddress\": 5}, 7, {\"ipAddress\": "
	    "\"not-an-ip\"}]}]}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"portDefinitions\": [{\"labels\": {\"VIP_0\": "
	    "\"198.18.100.62:80\"}}], \"healthChecks\": {}, \"tasks\": [5, {\"id\": 6}, {\"id\": "
	    "\"x.1\", \"state\": 7, \"host\": 8, \"ports\": \"31000\", \"healthCheckResults\": "
	    "{}}, {\"id\": \"x.2\", \"state\": \"TASK_RUNNING\", \"host\": \"\", \"ports\": "
	    "[31000]}]}]}",
	    "{\"apps\": [{\"id\": \"/x\", \"portDefinitions\": [{\"labels\": {\"VIP_0\": "
	    "\"198.18.100.63:80\"}}], \"tasks\": [{\"id\": \"x.1\", \"state\": \"TASK_RUNNING\", "
	    "\"host\": \"agent-1.xlb.test\", \"ports\": [-5]}]}]}",
	};
	static const char *const pods[] = {
	    "[{\"id\": \"/p\", \"spec\": {\"containers\": 5}}]",
	    "[{\"id\": \"/p\", \"spec\": {\"containers\": [5, {\"endpoints\": 7}, {\"name\": "
	    "\"c\", \"endpoints\": [5, {\"name\": 1, \"protocol\": 5, \"labels\": {\"VIP_0\": "
	    "\"198.18.100.64:80\"}}]}]}, \"instances\": 9}]",
	    "[{\"id\": \"/p\", \"spec\": {\"containers\": [{\"name\": \"c\", \"endpoints\": "
	    "[{\"name\": \"e\", \"protocol\": [\"sctp\"], \"labels\": {\"VIP_0\": "
	    "\"198.18.100.65:80\"}}, {\"name\": \"f\", \"protocol\": [5], \"labels\": "
	    "{\"VIP_0\": \"198.18.100.65:81\"}}, {\"name\": \"g\", \"containerPort\": 80, "
	    "\"labels\": {\"VIP_0\": \"198.18.100.65:82\"}}]}], \"networks\": [{\"mode\": "
	    "\"container\"}]}, \"instances\": [5, {\"id\": \"i\", \"containers\": [{\"name\": "
	    "\"c\", \"status\": \"TASK_RUNNING\", \"endpoints\": 4}], \"networks\": "
	    "[{\"addresses\": "
	    "[5, \"bad\"]}]}]}]",
	};
	struct xlb_mara_opts o;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(docs) + ARRAY_SIZE(pods); i++) {
		bool is_pod = i >= ARRAY_SIZE(docs);
		const char *d = is_pod ? pods[i - ARRAY_SIZE(docs)] : docs[i];
		struct xlb_mara_model m;
		char err[512] = "";
		int ret;

		test_opts(&o);
		ret = xlb_mara_model_build(&m, is_pod ? NULL : d, is_pod ? 0 : strlen(d),
					   is_pod ? d : NULL, is_pod ? strlen(d) : 0, &o, err,
					   sizeof(err));
		if (ret)
			fail_msg("doc %zu: %d %s", i, ret, err);
		/* Whatever survived has no backend: none of these tasks is usable. */
		for (size_t s = 0; s < m.nr_services; s++)
			expect_eq(xlb_whatf("doc %zu: backends of service %zu", i, s),
				  m.services[s].nr_backends, 0);
		if (!warns.n && m.nr_services == 0)
			fail_msg("doc %zu: dropped silently", i);
		xlb_mara_model_free(&m);
	}
	warns_reset();
}

static void test_default_resolver_literal(void **state)
{
	union xlb_addr a;
	__u8 fam = 0;

	(void)state;
	expect_ok("resolve the literal 198.18.2.11",
		  xlb_mara_resolve_getaddrinfo(NULL, "198.18.2.11", XLB_AF_INET, &a, &fam));
	expect_eq("family of 198.18.2.11", fam, XLB_AF_INET);
	expect_eq("address of 198.18.2.11", ntohl(a.v4), 0xc612020bu);
	expect_ok("resolve the literal 2001:db8::1",
		  xlb_mara_resolve_getaddrinfo(NULL, "2001:db8::1", XLB_AF_INET6, &a, &fam));
	expect_eq("family of 2001:db8::1", fam, XLB_AF_INET6);
	expect_eq("first byte of 2001:db8::1", a.bytes[0], 0x20);
	expect_eq("last byte of 2001:db8::1", a.bytes[15], 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Shared (real) fixtures                                                                      */

static void shared_opts(struct xlb_mara_opts *o)
{
	test_opts(o);
}

static void build_shared(struct xlb_mara_model *m, const char *rel, bool pods,
			 const struct xlb_mara_opts *o)
{
	char err[512] = "";
	size_t len;
	char *text = shared_read(rel, &len);
	int ret = xlb_mara_model_build(m, pods ? NULL : text, pods ? 0 : len, pods ? text : NULL,
				       pods ? len : 0, o, err, sizeof(err));

	free(text);
	if (ret)
		fail_msg("%s: %d %s", rel, ret, err);
}

/* marathon-lb's Marathon 1.5 snapshot: bridge, servicePort 10101, host:ports[0]. */
static void test_shared_marathon15_apps(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	REQUIRE_SHARED();
	shared_opts(&o);
	build_shared(&m, "marathon-lb/tests/marathon15_apps.json", false, &o);
	assert_model(&m, "198.18.2.254:10101/tcp port: 10.0.2.148:1565 A1");
	assert_no_bridge_ips(&m);
	s = must_find(&m, NODE_ADDR, 10101, XLB_PROTO_TCP);
	expect_str_eq("task of the marathon15_apps backend", s->backends[0].task_id,
		      "pywebserver.8cad6a69-6ca8-11e7-beb2-0e2beceebfcc");
	expect_str_eq("app of 198.18.2.254:10101/tcp", s->origins[0].run_id, "/pywebserver");
	expect_eq("warnings for marathon15_apps.json", warns.n, 0);
	/* "10.0.2.148" is a literal: no resolver call. */
	expect_eq("resolver calls for a literal agent address", resolver.calls, 0);
	xlb_mara_model_free(&m);
}

/* Marathon 1.5 ZDD app: MESOS_HTTP check, all three tasks alive, HAPROXY_0_PORT 10000. */
static void test_shared_zdd_marathon15(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;

	(void)state;
	REQUIRE_SHARED();
	shared_opts(&o);
	build_shared(&m, "marathon-lb/tests/zdd_app_blue_marathon1.5.json", false, &o);
	assert_model(&m, "198.18.2.254:10000/tcp port: 10.0.6.25:16916 A1, 10.0.6.25:23336 A1, "
			 "10.0.6.25:31184 A1");
	expect_eq("health of the first zdd_app_blue_marathon1.5 backend",
		  must_find(&m, NODE_ADDR, 10000, XLB_PROTO_TCP)->backends[0].health,
		  XLB_HEALTH_ALIVE);
	assert_no_bridge_ips(&m);
	expect_eq("warnings for zdd_app_blue_marathon1.5.json", warns.n, 0);
	xlb_mara_model_free(&m);
}

/*
 * Pre-1.4 blue/green pair: no task "state" (startedAt set), results with
 * "taskId". Both apps say HAPROXY_0_PORT=10000, so blue (servicePort 10001)
 * joins green on 10000: four backends, two origins. (ZDD draining of the old
 * colour is not modelled.)
 */
static void test_shared_zdd_apps(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	REQUIRE_SHARED();
	shared_opts(&o);
	build_shared(&m, "marathon-lb/tests/zdd_apps.json", false, &o);
	assert_model(&m, "198.18.2.254:10000/tcp port: 10.0.1.147:25724 A1, 10.0.6.25:16916 A1, "
			 "10.0.6.25:23336 A1, 10.0.6.25:31184 A1");
	s = must_find(&m, NODE_ADDR, 10000, XLB_PROTO_TCP);
	expect_eq("origins of 198.18.2.254:10000/tcp (blue and green)", s->nr_origins, 2);
	expect_str_eq("app of origin 0", s->origins[0].run_id, "/nginx-blue");
	expect_str_eq("app of origin 1", s->origins[1].run_id, "/nginx-green");
	expect_str_eq("task of backend 10.0.1.147:25724",
		      backend_at(s, "10.0.1.147", 25724)->task_id,
		      "nginx-blue.3a58a46a-c937-11e5-9836-026ee08d9f6f");
	assert_no_bridge_ips(&m);
	expect_eq("warnings for zdd_apps.json", warns.n, 0);
	xlb_mara_model_free(&m);

	shared_opts(&o);
	build_shared(&m, "marathon-lb/tests/zdd_app_blue.json", false, &o);
	assert_model(&m, "198.18.2.254:10000/tcp port: 10.0.6.25:16916 A1, 10.0.6.25:23336 A1, "
			 "10.0.6.25:31184 A1");
	xlb_mara_model_free(&m);
}

/* The API example app: "vip" label on a legacy docker BRIDGE mapping. */
static void test_shared_api_examples(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;

	(void)state;
	REQUIRE_SHARED();
	shared_opts(&o);
	build_shared(&m, "marathon/api-examples/app.json", false, &o);
	/* BRIDGE wins over the legacy ipAddress, so the mapping (not portDefinitions) counts. */
	assert_model(&m, "192.168.0.1:80/tcp ip:");
	s = must_find(&m, "192.168.0.1", 80, XLB_PROTO_TCP);
	expect_str_eq("label of 192.168.0.1:80/tcp", s->origins[0].label_key, "vip");
	expect_eq("origins of 192.168.0.1:80/tcp", s->nr_origins, 1);
	xlb_mara_model_free(&m);

	/* With every app in the marathon-lb group its servicePort 10019 appears too. */
	shared_opts(&o);
	o.haproxy_group = "*";
	build_shared(&m, "marathon/api-examples/app.json", false, &o);
	assert_model(&m, "192.168.0.1:80/tcp ip:\n198.18.2.254:10019/tcp port:");
	xlb_mara_model_free(&m);

	/* GET /v2/apps without tasks: legacy "ports" are the service ports. */
	shared_opts(&o);
	build_shared(&m, "marathon/api-examples/app_list.json", false, &o);
	expect_eq("services of app_list.json outside the group", m.nr_services, 0);
	expect_eq("apps in app_list.json", m.nr_apps, 1);
	xlb_mara_model_free(&m);
	shared_opts(&o);
	o.haproxy_group = "*";
	build_shared(&m, "marathon/api-examples/app_list.json", false, &o);
	assert_model(&m, "198.18.2.254:10013/tcp port:\n198.18.2.254:10015/tcp port:");
	xlb_mara_model_free(&m);

	/* A group tree: nested apps are read (three of them, no VIP labels, legacy "ports"). */
	shared_opts(&o);
	build_shared(&m, "marathon/api-examples/group.json", false, &o);
	expect_eq("apps in group.json", m.nr_apps, 3);
	expect_eq("services of group.json outside the group", m.nr_services, 0);
	xlb_mara_model_free(&m);
	shared_opts(&o);
	o.haproxy_group = "*";
	build_shared(&m, "marathon/api-examples/group.json", false, &o);
	assert_model(&m, "198.18.2.254:1980/tcp port:\n198.18.2.254:5000/tcp port:\n"
			 "198.18.2.254:10018/tcp port:");
	xlb_mara_model_free(&m);

	/* {"tasks": [...]} is not an apps document. */
	{
		size_t len;
		char *text = shared_read("marathon/api-examples/app_tasks.json", &len);
		char err[256];

		expect_rc("build app_tasks.json as an apps document",
			  xlb_mara_model_build(&m, text, len, NULL, 0, &o, err, sizeof(err)),
			  -EINVAL);
		free(text);
	}
}

/* marathon-lb's CI app definitions: one service port each, from HAPROXY_0_PORT. */
static void test_shared_ci_backends(void **state)
{
	static const struct {
		const char *file;
		const char *model;
	} v[] = {
	    {"backends-docker_bridge.json", "198.18.2.254:10100/tcp port:"},
	    {"backends-docker_host.json", "198.18.2.254:10300/tcp port:"},
	    {"backends-docker_ippc.json", "198.18.2.254:10200/tcp port:"},
	    {"backends-ucr_bridge.json", "198.18.2.254:10500/tcp port:"},
	    {"backends-ucr_host.json", "198.18.2.254:10400/tcp port:"},
	    /* Container network without portMappings: no port, nothing to serve. */
	    {"backends-ucr_ippc.json", ""},
	    {"backends_1.9-docker_bridge.json", "198.18.2.254:10100/tcp port:"},
	    {"backends_1.9-docker_host.json", "198.18.2.254:10300/tcp port:"},
	    {"backends_1.9-docker_ippc.json", "198.18.2.254:10200/tcp port:"},
	    {"backends_1.9-ucr_host.json", "198.18.2.254:10400/tcp port:"},
	};
	size_t i;

	(void)state;
	REQUIRE_SHARED();
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct xlb_mara_model m;
		struct xlb_mara_opts o;
		char rel[256];

		snprintf(rel, sizeof(rel), "marathon-lb/ci-backends/%s", v[i].file);
		shared_opts(&o);
		build_shared(&m, rel, false, &o);
		print_message("%s\n", v[i].file);
		assert_model(&m, v[i].model);
		xlb_mara_model_free(&m);
	}
}

/* The legacy DC/OS 1.6 app label from Minuteman's example. */
static void test_shared_minuteman_legacy_label(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;

	(void)state;
	REQUIRE_SHARED();
	shared_opts(&o);
	build_shared(&m, "minuteman/example-app.json", false, &o);
	assert_model(&m, "1.2.3.4:5000/tcp ip:");
	expect_str_eq("label of the minuteman example's VIP", m.services[0].origins[0].label_key,
		      "vip_PORT0");
	xlb_mara_model_free(&m);
}

/*
 * The JSON body of the first "- uri: URI" entry with method GET and no
 * "scope:" in go-marathon's methods.yml (content: | block, 4-space indent).
 */
static char *yaml_content(const char *yml, const char *uri)
{
	char want[256];
	const char *p = yml;

	snprintf(want, sizeof(want), "- uri: %s\n", uri);
	while ((p = strstr(p, want))) {
		const char *entry = p + strlen(want), *next = strstr(entry, "\n- uri: ");
		const char *c = strstr(entry, "  content: |\n");
		size_t cap, o = 0;
		char *out;

		p = entry;
		if (!next)
			next = entry + strlen(entry);
		if (!c || c > next || !strstr(entry, "  method: GET") ||
		    strstr(entry, "  method: GET") > next ||
		    (strstr(entry, "  scope:") && strstr(entry, "  scope:") < next))
			continue;
		c += strlen("  content: |\n");
		cap = (size_t)(next - c) + 1;
		out = calloc(1, cap);
		while (c < next) {
			const char *eol = memchr(c, '\n', (size_t)(next - c));
			size_t n = eol ? (size_t)(eol - c) : (size_t)(next - c);

			if (n >= 4 && !strncmp(c, "    ", 4)) {
				memcpy(out + o, c + 4, n - 4);
				o += n - 4;
			} else if (n && strspn(c, " ") < n) {
				break; /* the next YAML key */
			}
			out[o++] = '\n';
			c += n + 1;
		}
		out[o] = '\0';
		return out;
	}
	return NULL;
}

static void test_shared_go_marathon(void **state)
{
	struct xlb_mara_model m;
	struct xlb_mara_opts o;
	const struct xlb_mara_service *s;
	char *yml, *doc, err[512];
	size_t len;

	(void)state;
	REQUIRE_SHARED();
	yml = shared_read("go-marathon/methods.yml", &len);

	/* GET /v2/apps/fake-app: bridge, servicePort 9000, two tasks with alive results. */
	doc = yaml_content(yml, "/v2/apps/fake-app");
	assert_non_null(doc);
	shared_opts(&o);
	o.haproxy_group = "*";
	expect_ok("build /v2/apps/fake-app",
		  xlb_mara_model_build(&m, doc, strlen(doc), NULL, 0, &o, err, sizeof(err)));
	assert_model(&m, "198.18.2.254:9000/tcp port: 10.141.141.10:31045 A1, "
			 "10.141.141.10:31234 A1");
	s = must_find(&m, NODE_ADDR, 9000, XLB_PROTO_TCP);
	expect_str_eq("task of backend 10.141.141.10:31045",
		      backend_at(s, "10.141.141.10", 31045)->task_id,
		      "toggle.802df2ae-3ad4-11e4-a400-56847afe9799");
	expect_eq("health of backend 10.141.141.10:31045",
		  backend_at(s, "10.141.141.10", 31045)->health, XLB_HEALTH_ALIVE);
	xlb_mara_model_free(&m);
	free(doc);

	/* GET /v2/apps: two apps claim servicePort 9000 (merged); the udp mapping has none. */
	doc = yaml_content(yml, "/v2/apps");
	assert_non_null(doc);
	shared_opts(&o);
	o.haproxy_group = "*";
	expect_ok("build /v2/apps",
		  xlb_mara_model_build(&m, doc, strlen(doc), NULL, 0, &o, err, sizeof(err)));
	assert_model(&m, "198.18.2.254:9000/tcp port:");
	expect_eq("origins of 198.18.2.254:9000/tcp", m.services[0].nr_origins, 2);
	expect_eq("warnings on udp mappings without a service port",
		  warns_count("port 1: in group \"*\" but no service port"), 2);
	xlb_mara_model_free(&m);
	free(doc);

	/* The same with legacy docker.network BRIDGE, under a /marathon prefix. */
	doc = yaml_content(yml, "/marathon/v2/apps");
	assert_non_null(doc);
	shared_opts(&o);
	o.haproxy_group = "*";
	expect_ok("build /marathon/v2/apps",
		  xlb_mara_model_build(&m, doc, strlen(doc), NULL, 0, &o, err, sizeof(err)));
	assert_model(&m, "198.18.2.254:9000/tcp port:");
	xlb_mara_model_free(&m);
	free(doc);

	/* Tasks without host, state or startedAt are not backends. */
	doc = yaml_content(yml, "/v2/apps/no-health-check-results-app");
	assert_non_null(doc);
	shared_opts(&o);
	expect_ok("build /v2/apps/no-health-check-results-app",
		  xlb_mara_model_build(&m, doc, strlen(doc), NULL, 0, &o, err, sizeof(err)));
	expect_eq("services of no-health-check-results-app", m.nr_services, 0);
	expect_eq("apps in no-health-check-results-app", m.nr_apps, 1);
	xlb_mara_model_free(&m);
	free(doc);

	/* Pod status documents: one pod, no endpoints, nothing to serve, no complaint. */
	doc = yaml_content(yml, "/v2/pods/::status");
	assert_non_null(doc);
	shared_opts(&o);
	expect_ok("build /v2/pods/::status",
		  xlb_mara_model_build(&m, NULL, 0, doc, strlen(doc), &o, err, sizeof(err)));
	expect_eq("pods in /v2/pods/::status", m.nr_pods, 1);
	expect_eq("services of /v2/pods/::status", m.nr_services, 0);
	expect_eq("warnings for /v2/pods/::status", warns.n, 0);
	xlb_mara_model_free(&m);
	free(doc);
	doc = yaml_content(yml, "/v2/pods/fake-pod2::status");
	assert_non_null(doc);
	expect_ok("build /v2/pods/fake-pod2::status",
		  xlb_mara_model_build(&m, NULL, 0, doc, strlen(doc), &o, err, sizeof(err)));
	expect_eq("pods in /v2/pods/fake-pod2::status", m.nr_pods, 1);
	xlb_mara_model_free(&m);
	free(doc);
	free(yml);
}

/* Every Marathon-shaped JSON file in the shared fixtures, as apps and as pods: no crash. */
static void sweep_dir(const char *rel, int *files)
{
	char dir[1024];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", shared_dir(), rel);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), len;
		char path[2048], err[512];
		struct xlb_mara_model m;
		struct xlb_mara_opts o;
		char *text;
		int ret;

		if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = must_read(path, &len);
		(*files)++;
		shared_opts(&o);
		o.haproxy_group = "*";
		err[0] = '\0';
		ret = xlb_mara_model_build(&m, text, len, NULL, 0, &o, err, sizeof(err));
		if (ret && (ret != -EINVAL || !err[0]))
			fail_msg("%s as apps: %d %s", path, ret, err);
		print_message("%-60s apps: %s, %zu services, %u warnings\n",
			      path + strlen(shared_dir()) + 1, ret ? "rejected" : "ok",
			      m.nr_services, m.nr_warnings);
		xlb_mara_model_free(&m);
		err[0] = '\0';
		ret = xlb_mara_model_build(&m, NULL, 0, text, len, &o, err, sizeof(err));
		if (ret && (ret != -EINVAL || !err[0]))
			fail_msg("%s as pods: %d %s", path, ret, err);
		xlb_mara_model_free(&m);
		free(text);
	}
	closedir(d);
}

static void test_shared_sweep(void **state)
{
	int files = 0;

	(void)state;
	REQUIRE_SHARED();
	sweep_dir("marathon/api-examples", &files);
	sweep_dir("marathon/system-tests", &files);
	sweep_dir("marathon-lb/tests", &files);
	sweep_dir("marathon-lb/ci-backends", &files);
	sweep_dir("go-marathon", &files);
	sweep_dir("minuteman", &files);
	expect_cmp("shared fixture files swept", files, >=, 40);
	warns_reset();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_host_mode),
    cmocka_unit_test(test_modes),
    cmocka_unit_test(test_bridge_mode),
    cmocka_unit_test(test_container_mode),
    cmocka_unit_test(test_health),
    cmocka_unit_test(test_health_cache),
    cmocka_unit_test(test_weights),
    cmocka_unit_test(test_haproxy_group),
    cmocka_unit_test(test_merge_and_conflict),
    cmocka_unit_test(test_bad_input_keeps_good_apps),
    cmocka_unit_test(test_pods),
    cmocka_unit_test(test_apps_and_pods_together),
    cmocka_unit_test(test_deterministic),
    cmocka_unit_test(test_compare_helpers),
    cmocka_unit_test(test_invalid_documents),
    cmocka_unit_test(test_empty_and_single_app_documents),
    cmocka_unit_test(test_named_pool_exhausted),
    cmocka_unit_test(test_framework_name),
    cmocka_unit_test(test_mangled_documents),
    cmocka_unit_test(test_wrong_types),
    cmocka_unit_test(test_default_resolver_literal),
    cmocka_unit_test(test_shared_marathon15_apps),
    cmocka_unit_test(test_shared_zdd_marathon15),
    cmocka_unit_test(test_shared_zdd_apps),
    cmocka_unit_test(test_shared_api_examples),
    cmocka_unit_test(test_shared_ci_backends),
    cmocka_unit_test(test_shared_minuteman_legacy_label),
    cmocka_unit_test(test_shared_go_marathon),
    cmocka_unit_test(test_shared_sweep),
};

XLB_TEST_MAIN("marathon_model", tests)
