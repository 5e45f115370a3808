// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of xlbd's configuration parser: the shipped files (etc/xlbd.json,
 * the built-in default, and docs/xlbd.example.json) parse to what they say;
 * every accepted form of every field reads right; and every kind of error is
 * reported once, with its JSON path and what was expected, without hiding the
 * others (one table row per error, and a document with all of them at once).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "check.h"
#include "config.h"
#include "harness.h"

static const char *src_path(const char *rel, char *buf, size_t len)
{
	const char *dir = getenv("XLB_SRCDIR");

	snprintf(buf, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", rel);
	return buf;
}

static __be32 ip4(const char *s)
{
	struct in_addr a;

	expect_eq("inet_pton of a test address", inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Parses text over the defaults; returns the error count, errors kept in *errs. */
static int parse(const char *text, struct xlb_cfg *cfg, struct xlb_cfg_errors *errs)
{
	int ret;

	memset(errs, 0, sizeof(*errs));
	expect_ok("xlb_cfg_init", xlb_cfg_init(cfg));
	ret = xlb_cfg_parse(cfg, text, strlen(text), "test", errs);
	if (ret)
		expect_rc("parse failure code", ret, -EINVAL);
	else
		expect_eq("errors after a clean parse", errs->n, 0);
	return (int)errs->n;
}

static void dump_errors(const struct xlb_cfg_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		print_message("  error: %s\n", e->msgs[i]);
}

static void test_defaults(void **state)
{
	struct xlb_cfg cfg;
	struct xlb_cfg_errors errs;

	(void)state;
	expect_eq("errors parsing {}", parse("{}", &cfg, &errs), 0);
	expect_str_eq("default pin_path", cfg.pin_path, XLB_PIN_PATH_DEFAULT);
	expect_str_eq("default metrics listen address", cfg.metrics_listen, "127.0.0.1:9100");
	assert_null(cfg.metrics_token_file);
	expect_true("default metrics per_backend", cfg.metrics_per_backend);
	expect_eq("default Marathon URL count", cfg.marathon.nr_urls, 0);
	expect_str_eq("default named VIP range", cfg.marathon.named_vip_range, "11.0.0.0/8");
	expect_str_eq("default HAPROXY_GROUP", cfg.marathon.haproxy_group, "external");
	expect_str_eq("default framework name", cfg.marathon.framework, "marathon");
	expect_eq("default resync interval (s)", cfg.marathon.resync_interval_s, 300);
	expect_eq("default health hold (s)", cfg.marathon.health_hold_s, 60);
	expect_eq("default stream timeout (ms)", cfg.marathon.stream_timeout_ms, 30000);
	expect_cmp("default debounce_max_ms", cfg.marathon.debounce_max_ms, <=, 50);
	expect_eq("default max body bytes", cfg.marathon.max_body_bytes, 256ull << 20);
	expect_eq("default confirm_syncs", cfg.marathon.confirm_syncs, 3);
	expect_false("default has_node_addr", cfg.marathon.has_node_addr);
	expect_eq("default interface count", cfg.nr_ifaces, 0);
	expect_eq("default static VIP count", cfg.vips.nr_vips, 0);
	expect_eq("default log level", cfg.log_level, 2);
	expect_eq("default maps.ct6_size (0: the ABI default)", cfg.ct6_size, 0);
	expect_eq("default maps.ct_lru", cfg.ct_lru, XLB_CFG_CT_LRU_PER_CPU);
	expect_eq("default flood.new_per_cpu", cfg.new_per_cpu, XLB_NEW_PER_CPU_DEFAULT);
	expect_eq("default flood.new_per_vip", cfg.new_per_vip, XLB_NEW_PER_VIP_DEFAULT);
	expect_eq("default datapath.mode", cfg.mode, XLB_MODE_NAT);
	expect_eq("default fullnat.ports low", cfg.fnat_port_lo, XLB_FNAT_PORT_LO_DEFAULT);
	expect_eq("default fullnat.ports high", cfg.fnat_port_hi, XLB_FNAT_PORT_HI_DEFAULT);
	expect_eq("default ct_timeouts.tcp_syn", cfg.ct_timeout_s[XLB_CTS_SYN],
		  XLB_CT_TIMEOUT_SYN_DEFAULT);
	expect_eq("default ct_timeouts.tcp_established", cfg.ct_timeout_s[XLB_CTS_EST],
		  XLB_CT_TIMEOUT_EST_DEFAULT);
	expect_eq("default ct_timeouts.tcp_fin", cfg.ct_timeout_s[XLB_CTS_FIN],
		  XLB_CT_TIMEOUT_FIN_DEFAULT);
	expect_eq("default ct_timeouts.tcp_closed", cfg.ct_timeout_s[XLB_CTS_CLOSED],
		  XLB_CT_TIMEOUT_CLOSED_DEFAULT);
	expect_eq("default ct_timeouts.udp", cfg.ct_timeout_s[XLB_CTS_UDP],
		  XLB_CT_TIMEOUT_UDP_DEFAULT);
	xlb_cfg_free(&cfg);
}

/* etc/xlbd.json is the built-in configuration: it must say exactly what the code defaults say. */
static void test_etc_default(void **state)
{
	struct xlb_cfg cfg, def;
	struct xlb_cfg_errors errs = {};
	char p[512], what[96];
	unsigned int i;

	(void)state;
	expect_ok("xlb_cfg_init", xlb_cfg_init(&cfg));
	expect_ok("xlb_cfg_init (defaults)", xlb_cfg_init(&def));
	if (xlb_cfg_load_file(&cfg, src_path("etc/xlbd.json", p, sizeof(p)), &errs))
		dump_errors(&errs);
	expect_eq("errors loading etc/xlbd.json", errs.n, 0);
	expect_eq("etc/xlbd.json Marathon URL count", cfg.marathon.nr_urls, 1);
	expect_str_eq("etc/xlbd.json Marathon URL", cfg.marathon.urls[0],
		      "http://marathon.mesos:8080");
	expect_str_eq("etc/xlbd.json pin_path against the default", cfg.pin_path, def.pin_path);
	expect_str_eq("etc/xlbd.json metrics listen against the default", cfg.metrics_listen,
		      def.metrics_listen);
	expect_eq("etc/xlbd.json metrics per_backend against the default", cfg.metrics_per_backend,
		  def.metrics_per_backend);
	expect_str_eq("etc/xlbd.json named VIP range against the default",
		      cfg.marathon.named_vip_range, def.marathon.named_vip_range);
	expect_str_eq("etc/xlbd.json HAPROXY_GROUP against the default", cfg.marathon.haproxy_group,
		      def.marathon.haproxy_group);
	expect_eq("etc/xlbd.json connect_timeout_ms against the default",
		  cfg.marathon.connect_timeout_ms, def.marathon.connect_timeout_ms);
	expect_eq("etc/xlbd.json request_timeout_ms against the default",
		  cfg.marathon.request_timeout_ms, def.marathon.request_timeout_ms);
	expect_eq("etc/xlbd.json stream_timeout_ms against the default",
		  cfg.marathon.stream_timeout_ms, def.marathon.stream_timeout_ms);
	expect_eq("etc/xlbd.json resync_interval_s against the default",
		  cfg.marathon.resync_interval_s, def.marathon.resync_interval_s);
	expect_eq("etc/xlbd.json debounce_ms against the default", cfg.marathon.debounce_ms,
		  def.marathon.debounce_ms);
	expect_eq("etc/xlbd.json debounce_max_ms against the default", cfg.marathon.debounce_max_ms,
		  def.marathon.debounce_max_ms);
	expect_eq("etc/xlbd.json backoff_min_ms against the default", cfg.marathon.backoff_min_ms,
		  def.marathon.backoff_min_ms);
	expect_eq("etc/xlbd.json backoff_max_ms against the default", cfg.marathon.backoff_max_ms,
		  def.marathon.backoff_max_ms);
	expect_eq("etc/xlbd.json max_body_bytes against the default", cfg.marathon.max_body_bytes,
		  def.marathon.max_body_bytes);
	expect_eq("etc/xlbd.json health_hold_s against the default", cfg.marathon.health_hold_s,
		  def.marathon.health_hold_s);
	expect_eq("etc/xlbd.json targeted_max_apps against the default",
		  cfg.marathon.targeted_max_apps, def.marathon.targeted_max_apps);
	expect_eq("etc/xlbd.json safety min_vips against the default", cfg.marathon.min_vips,
		  def.marathon.min_vips);
	expect_eq("etc/xlbd.json safety confirm_syncs against the default",
		  cfg.marathon.confirm_syncs, def.marathon.confirm_syncs);
	expect_eq("etc/xlbd.json safety confirm_delay_ms against the default",
		  cfg.marathon.confirm_delay_ms, def.marathon.confirm_delay_ms);
	expect_true("etc/xlbd.json safety max_remove_fraction equals the default",
		    cfg.marathon.max_remove_fraction == def.marathon.max_remove_fraction);
	expect_eq("etc/xlbd.json maps.max_vips against the default", cfg.max_vips,
		  XLB_MAX_VIPS_DEFAULT);
	expect_eq("etc/xlbd.json maps.max_backends against the default", cfg.max_backends,
		  XLB_MAX_BACKENDS_DEFAULT);
	expect_eq("etc/xlbd.json maps.ct_size against the default", cfg.ct_size,
		  XLB_CT_SIZE_DEFAULT);
	expect_eq("etc/xlbd.json maps.ct6_size against the default", cfg.ct6_size,
		  XLB_CT6_SIZE_DEFAULT);
	expect_eq("etc/xlbd.json maps.ct_lru against the default", cfg.ct_lru, def.ct_lru);
	expect_eq("etc/xlbd.json flood.new_per_cpu against the default", cfg.new_per_cpu,
		  def.new_per_cpu);
	expect_eq("etc/xlbd.json flood.new_per_vip against the default", cfg.new_per_vip,
		  def.new_per_vip);
	for (i = 0; i < XLB_CTS_MAX; i++) {
		snprintf(what, sizeof(what), "etc/xlbd.json ct_timeouts.%s against the default",
			 xlb_cfg_ct_timeout_key(i));
		expect_eq(what, cfg.ct_timeout_s[i], def.ct_timeout_s[i]);
	}
	xlb_cfg_free(&cfg);
	xlb_cfg_free(&def);
	xlb_cfg_errors_free(&errs);
}

static void test_example(void **state)
{
	struct xlb_cfg cfg;
	struct xlb_cfg_errors errs = {};
	const struct xlb_plan_vip *v;
	struct xlb_vip_key k = {};
	char p[512];

	(void)state;
	expect_ok("xlb_cfg_init", xlb_cfg_init(&cfg));
	if (xlb_cfg_load_file(&cfg, src_path("docs/xlbd.example.json", p, sizeof(p)), &errs))
		dump_errors(&errs);
	expect_eq("errors loading docs/xlbd.example.json", errs.n, 0);
	expect_eq("example interface count", cfg.nr_ifaces, 2);
	expect_str_eq("example interface 0 name", cfg.ifaces[0].name, "eth0");
	expect_eq("example interface 0 attach mode", cfg.ifaces[0].mode, XLB_CFG_ATTACH_XDP);
	expect_str_eq("example interface 1 name", cfg.ifaces[1].name, "eth1");
	expect_eq("example interface 1 attach mode", cfg.ifaces[1].mode,
		  XLB_CFG_ATTACH_XDP_GENERIC);
	expect_eq("example egress interface count", cfg.nr_egress, 1);
	expect_eq("example Marathon URL count", cfg.marathon.nr_urls, 2);
	expect_true("example node_address is set", cfg.marathon.has_node_addr);
	expect_eq("example node_address", cfg.marathon.node_addr.v4, ip4("198.18.0.1"));
	expect_eq("example static VIP count", cfg.vips.nr_vips, 3);
	k.family = XLB_AF_INET;
	k.addr.v4 = ip4("198.18.0.10");
	k.port = htons(80);
	k.proto = XLB_PROTO_TCP;
	v = xlb_plan_state_find(&cfg.vips, &k);
	assert_non_null(v);
	expect_str_eq("example 198.18.0.10:80 name", v->name, "web.static");
	expect_str_eq("example 198.18.0.10:80 app", v->app, "frontends");
	expect_eq("example 198.18.0.10:80 flags", v->flags, 0);
	expect_eq("example 198.18.0.10:80 backend count", v->nr_backends, 3);
	/* sorted by address; the draining one has weight 0 */
	expect_eq("example 198.18.0.10:80 backend 0 weight", v->backends[0].weight, 2);
	expect_eq("example 198.18.0.10:80 backend 1 weight", v->backends[1].weight, 1);
	expect_eq("example 198.18.0.10:80 backend 2 state", v->backends[2].state, XLB_BE_DRAINING);
	expect_eq("example 198.18.0.10:80 backend 2 (draining) weight", v->backends[2].weight, 0);
	k.addr.v4 = ip4("198.18.0.11");
	k.port = htons(53);
	k.proto = XLB_PROTO_UDP;
	v = xlb_plan_state_find(&cfg.vips, &k);
	assert_non_null(v);
	expect_eq("example 198.18.0.11:53/udp flags", v->flags, XLB_VIP_F_DROP_NO_BACKEND);
	expect_str_eq("example 198.18.0.11:53/udp app", v->app, "static");
	expect_eq("example 198.18.0.11:53/udp backend count", v->nr_backends, 2);
	expect_eq("example 198.18.0.11:53/udp backend 0 weight", v->backends[0].weight, 1);
	expect_eq("example 198.18.0.11:53/udp backend 0 state", v->backends[0].state,
		  XLB_BE_ACTIVE);
	k.addr.v4 = ip4("198.18.0.12");
	k.port = htons(80);
	k.proto = XLB_PROTO_TCP;
	v = xlb_plan_state_find(&cfg.vips, &k);
	assert_non_null(v);
	expect_eq("example 198.18.0.12:80 mode", v->mode, XLB_MODE_DSR);
	expect_eq("example 198.18.0.12:80 backend count", v->nr_backends, 2);
	/* sorted by address: 198.18.3.2 with its agent, 198.18.4.13 its own agent */
	expect_eq("example DSR backend 0 agent", v->backends[0].agent.v4, ip4("198.18.4.12"));
	expect_eq("example DSR backend 1 agent: its address", v->backends[1].agent.v4,
		  ip4("198.18.4.13"));
	expect_eq("example DSR backend 1 agent family", v->backends[1].agent_family, XLB_AF_INET);
	expect_eq("example dsr.idle", cfg.dsr_idle_s, 300);
	expect_eq("example dsr.mtu", cfg.dsr_mtu, 1500);
	expect_eq("example maps.ct6_size", cfg.ct6_size, 524288);
	expect_eq("example flood.new_per_cpu", cfg.new_per_cpu, 200000);
	expect_eq("example ct_timeouts.tcp_established", cfg.ct_timeout_s[XLB_CTS_EST], 3600);
	expect_eq("example ct_timeouts.tcp_syn (not set: the default)",
		  cfg.ct_timeout_s[XLB_CTS_SYN], XLB_CT_TIMEOUT_SYN_DEFAULT);
	xlb_cfg_free(&cfg);
	xlb_cfg_errors_free(&errs);
}

static void test_fields(void **state)
{
	static const char *doc =
	    "{\"_comment\": \"ignored\", \"pin_path\": \"/sys/fs/bpf/x\", \"log_level\": \"debug\","
	    " \"interfaces\": [\"a0\", \"a1:tc\", {\"name\": \"a2\"}, {\"name\": \"a3\", \"mode\": "
	    "\"xdp-generic\", \"_c\": 1}], \"egress_interfaces\": [\"a0\"],"
	    " \"metrics\": {\"listen\": null, \"per_backend\": false},"
	    " \"marathon\": {\"urls\": [\"http://198.18.0.2:8080/\", \"https://m.example/svc/"
	    "marathon\"], \"node_address\": \"2001:db8::1\", \"haproxy_group\": null,"
	    " \"no_backend_policy\": \"drop\", \"max_body_bytes\": 1048576,"
	    " \"safety\": {\"max_remove_fraction\": 0, \"confirm_syncs\": 1}},"
	    " \"maps\": {\"max_vips\": 64, \"max_backends\": 256, \"ct_size\": 4096,"
	    " \"ct6_size\": 2048, \"ct_lru\": \"shared\"},"
	    " \"datapath\": {\"flood\": {\"new_per_cpu\": 0, \"new_per_vip\": 7, \"_c\": 1},"
	    " \"ct_timeouts\": {\"tcp_syn\": 1, \"tcp_established\": 2251031, \"tcp_fin\": 5,"
	    " \"tcp_closed\": 2, \"udp\": 300}, \"mode\": \"fullnat\", \"fullnat\": {\"ports\":"
	    " \"40000-40999\"}},"
	    " \"vips\": [{\"vip\": \"[2001:db8::10]:443\", \"backends\": [\"[2001:db8::2]:8443\","
	    " {\"address\": \"[2001:db8::1]:8443\", \"weight\": 0}]}]}";
	struct xlb_cfg cfg;
	struct xlb_cfg_errors errs;
	const struct xlb_plan_vip *v;

	(void)state;
	if (parse(doc, &cfg, &errs))
		dump_errors(&errs);
	expect_eq("errors parsing the every-field document", errs.n, 0);
	expect_str_eq("pin_path", cfg.pin_path, "/sys/fs/bpf/x");
	expect_eq("log_level \"debug\"", cfg.log_level, 3);
	expect_eq("interface count", cfg.nr_ifaces, 4);
	expect_eq("interface \"a1:tc\" attach mode", cfg.ifaces[1].mode, XLB_CFG_ATTACH_TC);
	expect_eq("interface {\"name\": \"a2\"} attach mode", cfg.ifaces[2].mode,
		  XLB_CFG_ATTACH_XDP);
	expect_eq("interface a3 attach mode", cfg.ifaces[3].mode, XLB_CFG_ATTACH_XDP_GENERIC);
	assert_null(cfg.metrics_listen);
	expect_false("metrics per_backend false", cfg.metrics_per_backend);
	expect_str_eq("URL 0 without its trailing slash", cfg.marathon.urls[0],
		      "http://198.18.0.2:8080");
	expect_str_eq("URL 1", cfg.marathon.urls[1], "https://m.example/svc/marathon");
	expect_eq("node_address family", cfg.marathon.node_family, XLB_AF_INET6);
	assert_null(cfg.marathon.haproxy_group);
	expect_eq("marathon vip_flags for no_backend_policy \"drop\"", cfg.marathon.vip_flags,
		  XLB_VIP_F_DROP_NO_BACKEND);
	expect_eq("marathon max_body_bytes", cfg.marathon.max_body_bytes, 1048576);
	expect_true("safety max_remove_fraction is 0", cfg.marathon.max_remove_fraction == 0);
	expect_eq("maps.max_vips", cfg.max_vips, 64);
	expect_eq("maps.ct6_size", cfg.ct6_size, 2048);
	expect_eq("maps.ct_lru \"shared\"", cfg.ct_lru, XLB_CFG_CT_LRU_SHARED);
	expect_eq("flood.new_per_cpu 0 (no limit)", cfg.new_per_cpu, 0);
	expect_eq("flood.new_per_vip", cfg.new_per_vip, 7);
	expect_eq("ct_timeouts.tcp_syn (the least)", cfg.ct_timeout_s[XLB_CTS_SYN], 1);
	expect_eq("ct_timeouts.tcp_established (the most)", cfg.ct_timeout_s[XLB_CTS_EST], 2251031);
	expect_eq("ct_timeouts.tcp_fin", cfg.ct_timeout_s[XLB_CTS_FIN], 5);
	expect_eq("ct_timeouts.tcp_closed", cfg.ct_timeout_s[XLB_CTS_CLOSED], 2);
	expect_eq("ct_timeouts.udp", cfg.ct_timeout_s[XLB_CTS_UDP], 300);
	expect_eq("datapath.mode", cfg.mode, XLB_MODE_FULLNAT);
	expect_eq("fullnat.ports low", cfg.fnat_port_lo, 40000);
	expect_eq("fullnat.ports high", cfg.fnat_port_hi, 40999);
	expect_eq("static VIP count", cfg.vips.nr_vips, 1);
	v = &cfg.vips.vips[0];
	expect_eq("a VIP without a mode: datapath.mode's", v->mode, XLB_MODE_FULLNAT);
	expect_eq("IPv6 VIP family", v->key.family, XLB_AF_INET6);
	expect_eq("VIP protocol without /PROTO (the default)", v->key.proto, XLB_PROTO_TCP);
	expect_eq("VIP port", ntohs(v->key.port), 443);
	expect_eq("VIP backend count", v->nr_backends, 2);
	/* weight 0 means draining; sorted: ::1 before ::2 */
	expect_eq("backend [2001:db8::1]:8443 (weight 0) state", v->backends[0].state,
		  XLB_BE_DRAINING);
	expect_eq("backend [2001:db8::2]:8443 state", v->backends[1].state, XLB_BE_ACTIVE);
	xlb_cfg_free(&cfg);
	xlb_cfg_errors_free(&errs);
}

/* One row per error: the document, the path it must name, and words of the message. */
static const struct {
	const char *doc;
	const char *path;
	const char *words;
} bad[] = {
    {"[]", "$", "expected an object"},
    {"{\"pin_path\": 5}", "$.pin_path", "expected a string"},
    {"{\"pin_path\": \"rel/x\"}", "$.pin_path", "absolute path"},
    {"{\"pin_pat\": \"/x\"}", "$.pin_pat", "did you mean \"pin_path\""},
    {"{\"zzz\": 1}", "$.zzz", "unknown key"},
    {"{\"log_level\": \"loud\"}", "$.log_level", "\"error\", \"warning\", \"info\" or \"debug\""},
    {"{\"interfaces\": \"eth0\"}", "$.interfaces", "expected an array"},
    {"{\"interfaces\": [\"eth0:fast\"]}", "$.interfaces[0]", "xdp, xdp-generic or tc"},
    {"{\"interfaces\": [\"a-very-long-interface-name\"]}", "$.interfaces[0]", "1-15 characters"},
    {"{\"interfaces\": [\"eth0\", \"eth0:tc\"]}", "$.interfaces[1]", "listed twice"},
    {"{\"interfaces\": [{\"mode\": \"tc\"}]}", "$.interfaces[0].name",
     "expected an interface name"},
    {"{\"interfaces\": [{\"name\": \"e\", \"mode\": \"dpdk\"}]}", "$.interfaces[0].mode",
     "\"xdp\", \"xdp-generic\" or \"tc\""},
    {"{\"interfaces\": [{\"name\": \"e\", \"mod\": \"tc\"}]}", "$.interfaces[0].mod",
     "did you mean \"mode\""},
    {"{\"interfaces\": [7]}", "$.interfaces[0]", "got 7"},
    {"{\"egress_interfaces\": [\"eth0:tc\"]}", "$.egress_interfaces[0]", "no attach mode"},
    {"{\"metrics\": []}", "$.metrics", "expected an object"},
    {"{\"metrics\": {\"listen\": \"localhost:9100\"}}", "$.metrics.listen", "ADDR:PORT"},
    {"{\"metrics\": {\"listen\": \"127.0.0.1\"}}", "$.metrics.listen", "ADDR:PORT"},
    {"{\"metrics\": {\"token\": \"x\"}}", "$.metrics.token", "did you mean \"token_file\""},
    {"{\"metrics\": {\"per_backend\": 1}}", "$.metrics.per_backend", "true or false, got 1"},
    {"{\"marathon\": {\"urls\": \"http://m:8080\"}}", "$.marathon.urls", "expected an array"},
    {"{\"marathon\": {\"urls\": [\"ftp://m\"]}}", "$.marathon.urls[0]", "http:// or https://"},
    {"{\"marathon\": {\"urls\": [\"http://\"]}}", "$.marathon.urls[0]", "no host"},
    {"{\"marathon\": {\"urls\": [\"http://m/?a=1\"]}}", "$.marathon.urls[0]", "query"},
    {"{\"marathon\": {\"urls\": [1]}}", "$.marathon.urls[0]", "expected a URL string"},
    {"{\"marathon\": {\"auth_file\": 3}}", "$.marathon.auth_file", "string or null"},
    {"{\"marathon\": {\"connect_timeout_ms\": 5}}", "$.marathon.connect_timeout_ms",
     "integer 100-600000, got 5"},
    {"{\"marathon\": {\"stream_timeout_ms\": \"30s\"}}", "$.marathon.stream_timeout_ms",
     "got \"30s\""},
    {"{\"marathon\": {\"resync_interval_s\": 1.5}}", "$.marathon.resync_interval_s", "got 1.5"},
    {"{\"marathon\": {\"debounce_ms\": 40, \"debounce_max_ms\": 20}}", "$.marathon.debounce_max_ms",
     "at least debounce_ms"},
    {"{\"marathon\": {\"backoff_min_ms\": 4000, \"backoff_max_ms\": 1000}}",
     "$.marathon.backoff_max_ms", "at least backoff_min_ms"},
    {"{\"marathon\": {\"max_body_bytes\": 100}}", "$.marathon.max_body_bytes", "got 100"},
    {"{\"marathon\": {\"framework\": \"!!!\"}}", "$.marathon.framework", "DNS label"},
    {"{\"marathon\": {\"named_vip_range\": \"11.0.0.1/8\"}}", "$.marathon.named_vip_range",
     "11.0.0.1/8"},
    {"{\"marathon\": {\"named_vip_range\": \"eleven\"}}", "$.marathon.named_vip_range", "eleven"},
    {"{\"marathon\": {\"node_address\": \"node1\"}}", "$.marathon.node_address",
     "IPv4 or IPv6 address"},
    {"{\"marathon\": {\"no_backend_policy\": \"rst\"}}", "$.marathon.no_backend_policy",
     "\"reject\" or \"drop\""},
    {"{\"marathon\": {\"safety\": {\"max_remove_fraction\": 1.5}}}",
     "$.marathon.safety.max_remove_fraction", "number 0-1"},
    {"{\"marathon\": {\"safety\": {\"confirm_syncs\": 0}}}", "$.marathon.safety.confirm_syncs",
     "integer 1-100"},
    {"{\"marathon\": {\"safety\": {\"confirm\": 2}}}", "$.marathon.safety.confirm", "unknown key"},
    {"{\"marathon\": {\"url\": []}}", "$.marathon.url", "did you mean \"urls\""},
    {"{\"maps\": {\"max_vips\": 1}}", "$.maps.max_vips", "integer 2-"},
    {"{\"maps\": {\"ct_size\": -1}}", "$.maps.ct_size", "got -1"},
    {"{\"maps\": {\"ct6_size\": 512}}", "$.maps.ct6_size", "integer 1024-268435456, got 512"},
    {"{\"maps\": {\"ct_lru\": \"percpu\"}}", "$.maps.ct_lru",
     "expected \"per_cpu\" or \"shared\", got \"percpu\""},
    {"{\"maps\": {\"ct_lru\": 1}}", "$.maps.ct_lru", "expected a string, got 1"},
    {"{\"datapath\": {\"ct_insert_limit\": 1000}}", "$.datapath.ct_insert_limit",
     "use datapath.flood.new_per_cpu"},
    {"{\"datapath\": {\"ct_insert_limit\": \"many\"}}", "$.datapath.ct_insert_limit",
     "no longer supported"},
    {"{\"datapath\": {\"flood\": 5}}", "$.datapath.flood", "expected an object, got 5"},
    {"{\"datapath\": {\"flood\": {\"new_per_cpu\": -1}}}", "$.datapath.flood.new_per_cpu",
     "integer 0-4294967295, got -1"},
    {"{\"datapath\": {\"flood\": {\"new_per_vip\": 4294967296}}}", "$.datapath.flood.new_per_vip",
     "got 4294967296"},
    {"{\"datapath\": {\"flood\": {\"new_per_vip\": 1.5}}}", "$.datapath.flood.new_per_vip",
     "got 1.5"},
    {"{\"datapath\": {\"flood\": {\"new_percpu\": 1}}}", "$.datapath.flood.new_percpu",
     "did you mean \"new_per_cpu\""},
    {"{\"datapath\": {\"ct_timeouts\": []}}", "$.datapath.ct_timeouts", "expected an object"},
    {"{\"datapath\": {\"ct_timeouts\": {\"tcp_syn\": 0}}}", "$.datapath.ct_timeouts.tcp_syn",
     "integer 1-2251031, got 0"},
    {"{\"datapath\": {\"ct_timeouts\": {\"udp\": 2251032}}}", "$.datapath.ct_timeouts.udp",
     "integer 1-2251031, got 2251032"},
    {"{\"datapath\": {\"ct_timeouts\": {\"tcp_established\": \"2h\"}}}",
     "$.datapath.ct_timeouts.tcp_established", "got \"2h\""},
    {"{\"datapath\": {\"ct_timeouts\": {\"tcp_est\": 60}}}", "$.datapath.ct_timeouts.tcp_est",
     "did you mean \"tcp_established\""},
    {"{\"datapath\": {\"ct_timeout\": {}}}", "$.datapath.ct_timeout",
     "did you mean \"ct_timeouts\""},
    {"{\"datapath\": {\"mode\": \"full-nat\"}}", "$.datapath.mode",
     "expected \"nat\", \"fullnat\" or \"dsr\", got \"full-nat\""},
    {"{\"datapath\": {\"mode\": 1}}", "$.datapath.mode",
     "expected \"nat\", \"fullnat\" or \"dsr\""},
    {"{\"datapath\": {\"fullnat\": {\"ports\": \"61000\"}}}", "$.datapath.fullnat.ports",
     "expected \"LO-HI\""},
    {"{\"datapath\": {\"fullnat\": {\"ports\": \"65000-64000\"}}}", "$.datapath.fullnat.ports",
     "LO <= HI"},
    {"{\"datapath\": {\"fullnat\": {\"ports\": \"80-90\"}}}", "$.datapath.fullnat.ports",
     "1024 <= LO"},
    {"{\"datapath\": {\"fullnat\": {\"port\": \"61000-62000\"}}}", "$.datapath.fullnat.port",
     "did you mean \"ports\""},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"mode\": \"direct\"}]}", "$.vips[0].mode",
     "got \"direct\""},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"mode\": \"NAT\"}]}", "$.vips[0].mode",
     "got \"NAT\""},
    {"{\"vips\": {}}", "$.vips", "expected an array of VIPs"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [{\"address\": "
     "\"198.18.2.1:80\", \"agent\": \"agent-1\"}]}]}",
     "$.vips[0].backends[0].agent", "expected an IPv4 or IPv6 address, got \"agent-1\""},
    {"{\"datapath\": {\"dsr\": {\"mtu\": 100}}}", "$.datapath.dsr.mtu", "100"},
    {"{\"datapath\": {\"fullnat\": {\"closed_ms\": 10}}}", "$.datapath.fullnat.closed_ms",
     "10"},
    {"{\"datapath\": {\"dsr\": {\"idle\": 0}}}", "$.datapath.dsr.idle", "0"},
    {"{\"datapath\": {\"dsr\": {\"idel\": 10}}}", "$.datapath.dsr.idel", "did you mean \"idle\""},
    {"{\"vips\": [3]}", "$.vips[0]", "expected a VIP object"},
    {"{\"vips\": [{}]}", "$.vips[0].vip", "got nothing"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80/sctp\"}]}", "$.vips[0].vip", "tcp or udp"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:0\"}]}", "$.vips[0].vip", "port 1-65535"},
    {"{\"vips\": [{\"vip\": \"2001:db8::1:80\"}]}", "$.vips[0].vip", "[IPv6]"},
    {"{\"vips\": [{\"vip\": \"vip.example:80\"}]}", "$.vips[0].vip", "ADDR:PORT/PROTO"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"policy\": \"rst\"}]}", "$.vips[0].policy",
     "\"reject\" or \"drop\""},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"name\": 5}]}", "$.vips[0].name", "at most 127"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"app\": []}]}", "$.vips[0].app", "at most 127"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backend\": []}]}", "$.vips[0].backend",
     "did you mean \"backends\""},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": {}}]}", "$.vips[0].backends",
     "expected an array of backends"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [1]}]}", "$.vips[0].backends[0]",
     "\"ADDR:PORT\" or an object"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [\"198.18.1.1\"]}]}",
     "$.vips[0].backends[0]", "ADDR:PORT"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [{\"weight\": 1}]}]}",
     "$.vips[0].backends[0].address", "got nothing"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [\"[2001:db8::1]:80\"]}]}",
     "$.vips[0].backends[0]", "backend is IPv6 but the VIP is IPv4"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [{\"address\": \"198.18.1.1:80\","
     " \"weight\": 65536}]}]}",
     "$.vips[0].backends[0].weight", "integer 0-65535, got 65536"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [{\"address\": \"198.18.1.1:80\","
     " \"state\": \"down\"}]}]}",
     "$.vips[0].backends[0].state", "\"active\" or \"draining\", got \"down\""},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [{\"address\": \"198.18.1.1:80\","
     " \"port\": 1}]}]}",
     "$.vips[0].backends[0].port", "unknown key"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\", \"backends\": [\"198.18.1.1:80\","
     " \"198.18.1.1:80\"]}]}",
     "$.vips[0].backends[1]", "listed twice (first as $.vips[0].backends[0])"},
    {"{\"vips\": [{\"vip\": \"198.18.0.1:80\"}, {\"vip\": \"198.18.0.1:80/tcp\"}]}", "$.vips[1]",
     "listed twice (first as $.vips[0])"},
    {"{\"marathon\": {\"named_vip_range\": \"198.18.0.0/24\"}, \"vips\": [{\"vip\": "
     "\"198.18.0.9:80\"}]}",
     "$.vips[0].vip", "lies in marathon.named_vip_range 198.18.0.0/24"},
    {"{\"maps\": {\"max_vips\": 2}, \"vips\": [{\"vip\": \"198.18.0.1:80\"},"
     " {\"vip\": \"198.18.0.2:80\"}]}",
     "$.vips", "do not fit in maps.max_vips"},
    {"{\"a\": 1, \"a\": 2}", "test", "duplicate object key"},
    {"{\"pin_path\": \"/x\",}", "test", "line 1"},
};

static void test_bad(void **state)
{
	struct xlb_cfg cfg;
	struct xlb_cfg_errors errs;
	char want[256];
	size_t i;
	int fails = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int n = parse(bad[i].doc, &cfg, &errs);

		snprintf(want, sizeof(want), "%s: ", bad[i].path);
		if (n != 1 || strncmp(errs.msgs[0], want, strlen(want)) ||
		    !strstr(errs.msgs[0], bad[i].words)) {
			print_message("row %zu: %s\n  want one error \"%s...%s\", got %d:\n", i,
				      bad[i].doc, want, bad[i].words, n);
			dump_errors(&errs);
			fails++;
		}
		xlb_cfg_free(&cfg);
		xlb_cfg_errors_free(&errs);
	}
	expect_eq("rows of bad[] without their one expected error", fails, 0);
}

/* All errors of one document are listed, not only the first. */
static void test_all_errors(void **state)
{
	static const char *doc =
	    "{\"pin_path\": \"x\", \"interfaces\": [\"e:x\"], \"marathon\": {\"urls\": [\"m\"],"
	    " \"debounce_ms\": -1, \"safety\": {\"min_vips\": \"a\"}}, \"vips\": [{\"vip\": "
	    "\"198.18.0.1:80\", \"backends\": [{\"address\": \"x\", \"weight\": -1, \"state\": "
	    "1}]}],"
	    " \"extra\": true}";
	struct xlb_cfg cfg;
	struct xlb_cfg_errors errs;

	(void)state;
	expect_eq("errors in a document with nine", parse(doc, &cfg, &errs), 9);
	xlb_cfg_free(&cfg);
	xlb_cfg_errors_free(&errs);
}

static void test_iface_parse(void **state)
{
	struct xlb_cfg_iface it;
	char err[128];

	(void)state;
	expect_ok("parse \"eth0\"", xlb_cfg_iface_parse("eth0", &it, err, sizeof(err)));
	expect_str_eq("interface name of \"eth0\"", it.name, "eth0");
	expect_eq("attach mode of \"eth0\"", it.mode, XLB_CFG_ATTACH_XDP);
	expect_ok("parse \"veth1:xdp-generic\"",
		  xlb_cfg_iface_parse("veth1:xdp-generic", &it, err, sizeof(err)));
	expect_eq("attach mode of \"veth1:xdp-generic\"", it.mode, XLB_CFG_ATTACH_XDP_GENERIC);
	expect_ok("parse \"e:tc\"", xlb_cfg_iface_parse("e:tc", &it, err, sizeof(err)));
	expect_eq("attach mode of \"e:tc\"", it.mode, XLB_CFG_ATTACH_TC);
	expect_ok("parse \"e:xdp\"", xlb_cfg_iface_parse("e:xdp", &it, err, sizeof(err)));
	expect_rc("parse \"e:bogus\"", xlb_cfg_iface_parse("e:bogus", &it, err, sizeof(err)),
		  -EINVAL);
	expect_substr("error message for \"e:bogus\"", err, "bogus");
	expect_rc("parse \":tc\"", xlb_cfg_iface_parse(":tc", &it, err, sizeof(err)), -EINVAL);
	expect_rc("parse \"a/b\"", xlb_cfg_iface_parse("a/b", &it, err, sizeof(err)), -EINVAL);
	expect_rc("parse a 16-character name",
		  xlb_cfg_iface_parse("0123456789abcdef", &it, err, sizeof(err)), -EINVAL);
	expect_str_eq("name of XLB_CFG_ATTACH_XDP_GENERIC",
		      xlb_cfg_attach_name(XLB_CFG_ATTACH_XDP_GENERIC), "xdp-generic");
}

static void test_urls(void **state)
{
	struct xlb_cfg cfg;
	char err[128];

	(void)state;
	expect_ok("xlb_cfg_init", xlb_cfg_init(&cfg));
	expect_ok("set two URLs", xlb_cfg_set_urls(&cfg, "http://127.0.0.1:8080/,https://h:1/p//",
						   err, sizeof(err)));
	expect_eq("URL count", cfg.marathon.nr_urls, 2);
	expect_str_eq("URL 0 without its trailing slash", cfg.marathon.urls[0],
		      "http://127.0.0.1:8080");
	expect_str_eq("URL 1 with its slashes trimmed", cfg.marathon.urls[1], "https://h:1/p");
	/* a bad list leaves the old one */
	expect_rc("set a list with a gopher:// URL",
		  xlb_cfg_set_urls(&cfg, "http://a,gopher://b", err, sizeof(err)), -EINVAL);
	expect_eq("URL count after a bad list", cfg.marathon.nr_urls, 2);
	expect_rc("set the list \",\"", xlb_cfg_set_urls(&cfg, ",", err, sizeof(err)), -EINVAL);
	xlb_cfg_free(&cfg);
}

static void test_endpoints(void **state)
{
	union xlb_addr a;
	__be16 port;
	__u8 fam;
	char err[128];

	(void)state;
	expect_ok("parse \"198.18.0.1:80\"",
		  xlb_cfg_endpoint_parse("198.18.0.1:80", &a, &port, &fam));
	expect_eq("family of \"198.18.0.1:80\"", fam, XLB_AF_INET);
	expect_eq("port of \"198.18.0.1:80\"", ntohs(port), 80);
	expect_ok("parse \"[::1]:9100\"", xlb_cfg_endpoint_parse("[::1]:9100", &a, &port, &fam));
	expect_eq("family of \"[::1]:9100\"", fam, XLB_AF_INET6);
	expect_rc("parse \"::1:9100\" (IPv6 without brackets)",
		  xlb_cfg_endpoint_parse("::1:9100", &a, &port, &fam), -EINVAL);
	expect_rc("parse port 65536", xlb_cfg_endpoint_parse("198.18.0.1:65536", &a, &port, &fam),
		  -EINVAL);
	expect_rc("parse port -1", xlb_cfg_endpoint_parse("198.18.0.1:-1", &a, &port, &fam),
		  -EINVAL);
	expect_rc("parse an empty port", xlb_cfg_endpoint_parse("198.18.0.1:", &a, &port, &fam),
		  -EINVAL);
	expect_ok("listen check \"127.0.0.1:0\"",
		  xlb_cfg_listen_check("127.0.0.1:0", err, sizeof(err)));
	expect_ok("listen check \"[::1]:9100\"",
		  xlb_cfg_listen_check("[::1]:9100", err, sizeof(err)));
	expect_rc("listen check \"any:9100\"", xlb_cfg_listen_check("any:9100", err, sizeof(err)),
		  -EINVAL);
}

static void test_secret(void **state)
{
	char path[] = "/tmp/xlb-test-secret-XXXXXX";
	struct xlb_cfg_errors errs = {};
	struct xlb_cfg cfg;
	char *s = NULL;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	expect_cmp("mkstemp fd", fd, >=, 0);
	f = fdopen(fd, "w");
	fputs("  token=abc.def.ghi \t\r\nsecond line\n", f);
	fclose(f);
	expect_ok("read a secret file", xlb_cfg_read_secret(path, &s));
	expect_str_eq("secret with blanks and the second line cut", s, "token=abc.def.ghi");
	free(s);
	/* an auth file must be a token or user:password */
	expect_ok("xlb_cfg_init", xlb_cfg_init(&cfg));
	cfg.marathon.auth_file = strdup(path);
	expect_ok("host check with a token auth file", xlb_cfg_check_host(&cfg, &errs));
	f = fopen(path, "w");
	fputs("just-a-word\n", f);
	fclose(f);
	expect_rc("host check with a one-word auth file", xlb_cfg_check_host(&cfg, &errs), -EINVAL);
	expect_eq("errors of the host check", errs.n, 1);
	expect_substr("host check message", errs.msgs[0], "$.marathon.auth_file: ");
	/* the secret never appears in the message */
	assert_null(strstr(errs.msgs[0], "just-a-word"));
	xlb_cfg_errors_free(&errs);
	f = fopen(path, "w");
	fclose(f);
	expect_rc("read an empty secret file", xlb_cfg_read_secret(path, &s), -ENODATA);
	unlink(path);
	expect_rc("host check with the auth file gone", xlb_cfg_check_host(&cfg, &errs), -EINVAL);
	expect_substr("host check message for a missing file", errs.msgs[0], "cannot read");
	xlb_cfg_errors_free(&errs);
	xlb_cfg_free(&cfg);
}

static void test_load_missing(void **state)
{
	struct xlb_cfg_errors errs = {};
	struct xlb_cfg cfg;

	(void)state;
	expect_ok("xlb_cfg_init", xlb_cfg_init(&cfg));
	expect_rc("load a missing file", xlb_cfg_load_file(&cfg, "/nonexistent/xlbd.json", &errs),
		  -EINVAL);
	expect_eq("errors loading a missing file", errs.n, 1);
	expect_substr("error message for a missing file", errs.msgs[0],
		      "/nonexistent/xlbd.json: cannot open");
	xlb_cfg_errors_free(&errs);
	xlb_cfg_free(&cfg);
}

/* xlb_config.ct_timeout[] in ticks of 2^20 ns, exact: never the rounded 954 per second. */
static void test_ct_ticks(void **state)
{
	(void)state;
	expect_eq("1 s in ticks (1e9 >> 20)", xlb_cfg_ct_ticks(1), 953);
	expect_eq("30 s in ticks", xlb_cfg_ct_ticks(30), 28610);
	expect_eq("7200 s in ticks", xlb_cfg_ct_ticks(7200), 6866455);
	expect_eq("the longest timeout in ticks", xlb_cfg_ct_ticks(XLB_CFG_CT_TIMEOUT_MAX),
		  (__u32)((2251031ull * 1000000000ull) >> 20));
	expect_cmp("the longest timeout stays a positive s32 difference",
		   xlb_cfg_ct_ticks(XLB_CFG_CT_TIMEOUT_MAX), <, 1u << 31);
	expect_eq("XLB_CFG_CT_TIMEOUT_MAX", XLB_CFG_CT_TIMEOUT_MAX, 2251031);
	expect_str_eq("key of XLB_CTS_EST", xlb_cfg_ct_timeout_key(XLB_CTS_EST), "tcp_established");
	expect_str_eq("name of XLB_CFG_CT_LRU_SHARED", xlb_cfg_ct_lru_name(XLB_CFG_CT_LRU_SHARED),
		      "shared");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),	 cmocka_unit_test(test_etc_default),
    cmocka_unit_test(test_example),	 cmocka_unit_test(test_fields),
    cmocka_unit_test(test_bad),		 cmocka_unit_test(test_all_errors),
    cmocka_unit_test(test_iface_parse),	 cmocka_unit_test(test_urls),
    cmocka_unit_test(test_endpoints),	 cmocka_unit_test(test_secret),
    cmocka_unit_test(test_load_missing), cmocka_unit_test(test_ct_ticks),
};

XLB_TEST_MAIN("config", tests)
