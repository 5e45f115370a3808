// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * VIP label parsing, DNS names, protocol strings and named-VIP allocation.
 * One table row per label value (good and bad, each a subtest named after the
 * row) checks the parse result field by field and the exact error text; the
 * allocation tests pin determinism (order independence, collision handling in
 * a /30, exhaustion, reserved addresses) and the address one fixed name gets,
 * because every node of every xlb version must agree on it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "mara_labels.h"

#define DNS_SUFFIX ".marathon.l4lb.thisdcos.directory"

struct label_case {
	const char *name;
	const char *key;
	const char *value;
	int ret;	  /* 0, -EINVAL or -ENOENT */
	int family;	  /* IP VIP: XLB_AF_*; named: 0 */
	const char *addr; /* IP VIP literal as inet_ntop prints it */
	unsigned int port;
	const char *vip_name; /* named VIP: the name part */
	const char *dns;      /* named VIP: the DNS name with the default framework */
	const char *err;      /* -EINVAL: the exact message, or a substring when prefixed by '~' */
};

#define A70 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
#define A63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"
#define A300 A70 A70 A70 A70 "abcdefghijabcdefghij"

/* X(id, key, value, ret, family, addr, port, vip_name, dns, err) */
#define LABEL_CASES(X)                                                                             \
	X(ipv4, "VIP_0", "198.18.0.10:80", 0, XLB_AF_INET, "198.18.0.10", 80, NULL, NULL, NULL)    \
	X(ipv4_port_max, "VIP_0", "198.18.0.10:65535", 0, XLB_AF_INET, "198.18.0.10", 65535, NULL, \
	  NULL, NULL)                                                                              \
	X(ipv4_port_min, "VIP_0", "198.18.0.10:1", 0, XLB_AF_INET, "198.18.0.10", 1, NULL, NULL,   \
	  NULL)                                                                                    \
	X(ipv6_doc_example, "VIP_0", "fd01:c::1:80", 0, XLB_AF_INET6, "fd01:c::1", 80, NULL, NULL, \
	  NULL)                                                                                    \
	X(ipv6_long, "VIP_1", "2001:db8:0:0:0:0:0:10:443", 0, XLB_AF_INET6, "2001:db8::10", 443,   \
	  NULL, NULL, NULL)                                                                        \
	X(ipv6_brackets, "VIP_0", "[2001:db8::10]:8080", 0, XLB_AF_INET6, "2001:db8::10", 8080,    \
	  NULL, NULL, NULL)                                                                        \
	X(named_slash, "VIP_0", "/myapp:80", 0, 0, NULL, 80, "/myapp", "myapp" DNS_SUFFIX, NULL)   \
	X(named_group_doc_example, "VIP_0", "/mygroup/myapp:80", 0, 0, NULL, 80, "/mygroup/myapp", \
	  "mygroupmyapp" DNS_SUFFIX, NULL)                                                         \
	X(named_no_slash, "VIP_0", "asbc:9033", 0, 0, NULL, 9033, "asbc", "asbc" DNS_SUFFIX, NULL) \
	X(named_dots_doc_example, "VIP_0", "/api.hello-world:80", 0, 0, NULL, 80,                  \
	  "/api.hello-world", "api.hello-world" DNS_SUFFIX, NULL)                                  \
	X(named_uppercase, "VIP_0", "/MyGroup/MyApp:8080", 0, 0, NULL, 8080, "/MyGroup/MyApp",     \
	  "mygroupmyapp" DNS_SUFFIX, NULL)                                                         \
	X(named_underscore, "VIP_0", "/my_app:80", 0, 0, NULL, 80, "/my_app", "my-app" DNS_SUFFIX, \
	  NULL)                                                                                    \
	X(named_special_chars, "VIP_0", "/my$app!:80", 0, 0, NULL, 80, "/my$app!",                 \
	  "myapp" DNS_SUFFIX, NULL)                                                                \
	X(named_leading_trailing_dash, "VIP_0", "-app-:80", 0, 0, NULL, 80, "-app-",               \
	  "app" DNS_SUFFIX, NULL)                                                                  \
	X(named_empty_fragment, "VIP_0", "a..b:80", 0, 0, NULL, 80, "a..b", "a.b" DNS_SUFFIX,      \
	  NULL)                                                                                    \
	X(named_long_truncated, "VIP_0", "/" A70 ":80", 0, 0, NULL, 80, "/" A70, A63 DNS_SUFFIX,   \
	  NULL)                                                                                    \
	X(named_short_ipv4_is_a_name, "VIP_0", "198.18.1:80", 0, 0, NULL, 80, "198.18.1",          \
	  "198.18.1" DNS_SUFFIX, NULL)                                                             \
	X(named_port_leading_zero, "VIP_0", "/app:080", 0, 0, NULL, 80, "/app", "app" DNS_SUFFIX,  \
	  NULL)                                                                                    \
	X(key_lowercase_vip, "vip", "/app:80", 0, 0, NULL, 80, "/app", "app" DNS_SUFFIX, NULL)     \
	X(key_sdk_uuid, "VIP_5e4b1c2a-9d3f-4b61-a0d6-2f9c1e7b3a10", "198.18.0.11:443", 0,          \
	  XLB_AF_INET, "198.18.0.11", 443, NULL, NULL, NULL)                                       \
	X(key_mixed_case_ignored, "Vip_0", "/app:80", -ENOENT, 0, NULL, 0, NULL, NULL, NULL)       \
	X(key_other_ignored, "HAPROXY_GROUP", "external", -ENOENT, 0, NULL, 0, NULL, NULL, NULL)   \
	X(key_empty_ignored, "", "/app:80", -ENOENT, 0, NULL, 0, NULL, NULL, NULL)                 \
	X(key_prefix_later_ignored, "MY_VIP_0", "/app:80", -ENOENT, 0, NULL, 0, NULL, NULL, NULL)  \
	X(empty_value, "VIP_0", "", -EINVAL, 0, NULL, 0, NULL, NULL,                               \
	  "label VIP_0=\"\": empty value, expected <address or name>:<port>")                      \
	X(missing_port, "VIP_0", "/app", -EINVAL, 0, NULL, 0, NULL, NULL,                          \
	  "label VIP_0=\"/app\": no ':<port>' at the end")                                         \
	X(trailing_colon, "VIP_0", "/app:", -EINVAL, 0, NULL, 0, NULL, NULL,                       \
	  "label VIP_0=\"/app:\": missing port after the last ':'")                                \
	X(port_zero, "VIP_0", "/app:0", -EINVAL, 0, NULL, 0, NULL, NULL,                           \
	  "label VIP_0=\"/app:0\": port 0 out of range 1-65535")                                   \
	X(port_65536, "VIP_0", "198.18.0.10:65536", -EINVAL, 0, NULL, 0, NULL, NULL,               \
	  "label VIP_0=\"198.18.0.10:65536\": port 65536 out of range 1-65535")                    \
	X(port_99999_brief_example, "VIP_0", "/app:99999", -EINVAL, 0, NULL, 0, NULL, NULL,        \
	  "label VIP_0=\"/app:99999\": port 99999 out of range 1-65535")                           \
	X(port_huge, "VIP_0", "/app:123456789012345678901234567890", -EINVAL, 0, NULL, 0, NULL,    \
	  NULL, "~port 123456789012345678901234567890 out of range 1-65535")                       \
	X(port_not_numeric, "VIP_0", "/app:http", -EINVAL, 0, NULL, 0, NULL, NULL,                 \
	  "label VIP_0=\"/app:http\": port \"http\" is not a number")                              \
	X(port_negative, "VIP_0", "/app:-80", -EINVAL, 0, NULL, 0, NULL, NULL,                     \
	  "~port \"-80\" is not a number")                                                         \
	X(port_space, "VIP_0", "/app: 80", -EINVAL, 0, NULL, 0, NULL, NULL,                        \
	  "~port \" 80\" is not a number")                                                         \
	X(empty_name, "VIP_0", ":80", -EINVAL, 0, NULL, 0, NULL, NULL,                             \
	  "label VIP_0=\":80\": empty address or name before ':'")                                 \
	X(ipv6_without_port, "VIP_0", "fd01:c::1", -EINVAL, 0, NULL, 0, NULL, NULL,                \
	  "~name \"fd01:c:\" contains ':' (an IPv6 address without a port?)")                      \
	X(two_colons_name, "VIP_0", "foo:bar:80", -EINVAL, 0, NULL, 0, NULL, NULL,                 \
	  "~name \"foo:bar\" contains ':'")                                                        \
	X(ipv4_unspecified, "VIP_0", "0.0.0.0:80", -EINVAL, 0, NULL, 0, NULL, NULL,                \
	  "label VIP_0=\"0.0.0.0:80\": unspecified address cannot be a VIP")                       \
	X(ipv4_multicast, "VIP_0", "239.1.2.3:5000", -EINVAL, 0, NULL, 0, NULL, NULL,              \
	  "~multicast address cannot be a VIP")                                                    \
	X(ipv6_unspecified, "VIP_0", "[::]:80", -EINVAL, 0, NULL, 0, NULL, NULL,                   \
	  "~unspecified address cannot be a VIP")                                                  \
	X(brackets_not_ipv6, "VIP_0", "[myapp]:80", -EINVAL, 0, NULL, 0, NULL, NULL,               \
	  "~[myapp] is not an IPv6 address")                                                       \
	X(name_without_dns_chars, "VIP_0", "///:80", -EINVAL, 0, NULL, 0, NULL, NULL,              \
	  "label VIP_0=\"///:80\": name \"///\" has no DNS-usable character")                      \
	X(name_too_long, "VIP_0", "/" A300 ":80", -EINVAL, 0, NULL, 0, NULL, NULL,                 \
	  "~name longer than 255 characters")                                                      \
	X(quote_escaped_in_message, "VIP_0", "/a\"b:x\n", -EINVAL, 0, NULL, 0, NULL, NULL,         \
	  "label VIP_0=\"/a\\\"b:x\\x0a\": port \"x\\x0a\" is not a number")

#define X_ENUM(id, ...) CASE_##id,
enum { LABEL_CASES(X_ENUM) NR_LABEL_CASES };
#undef X_ENUM

#define X_CASE(id, k, v, r, f, a, p, n, d, e) {#id, k, v, r, f, a, p, n, d, e},
static const struct label_case label_cases[] = {LABEL_CASES(X_CASE)};
#undef X_CASE

static void test_label_case(void **state)
{
	const struct label_case *c = *state;
	struct xlb_vip_label vip;
	char err[512] = "", addr[INET6_ADDRSTRLEN], q[512];
	int ret;

	print_message("case %s: %s=\"%s\"\n", c->name, c->key,
		      xlb_mara_quote(c->value, 400, q, sizeof(q)));
	ret = xlb_vip_label_parse(c->key, c->value, &vip, err, sizeof(err));
	expect_rc(xlb_whatf("%s=\"%s\": parse result", c->key, c->value), ret, c->ret);
	if (ret == -EINVAL) {
		assert_non_null(c->err);
		if (c->err[0] == '~') {
			if (!strstr(err, c->err + 1))
				fail_msg("error \"%s\" lacks \"%s\"", err, c->err + 1);
		} else {
			expect_str_eq(xlb_whatf("%s=\"%s\": error message", c->key, c->value), err,
				      c->err);
		}
		return;
	}
	if (ret)
		return;
	expect_eq(xlb_whatf("%s=\"%s\": port", c->key, c->value), vip.port, c->port);
	if (c->family) {
		expect_eq(xlb_whatf("%s=\"%s\": kind (IP VIP)", c->key, c->value), vip.kind,
			  XLB_VIP_IP);
		expect_eq(xlb_whatf("%s=\"%s\": family", c->key, c->value), vip.family, c->family);
		inet_ntop(c->family == XLB_AF_INET ? AF_INET : AF_INET6, vip.addr.bytes, addr,
			  sizeof(addr));
		expect_str_eq(xlb_whatf("%s=\"%s\": address", c->key, c->value), addr, c->addr);
		if (c->family == XLB_AF_INET) {
			/* The other 12 bytes of the union must stay zero (abi.h). */
			for (int i = 4; i < 16; i++)
				expect_eq(xlb_whatf("%s=\"%s\": IPv4 address byte %d", c->key,
						    c->value, i),
					  vip.addr.bytes[i], 0);
		}
	} else {
		char dns[XLB_DNS_NAME_MAX];

		expect_eq(xlb_whatf("%s=\"%s\": kind (named VIP)", c->key, c->value), vip.kind,
			  XLB_VIP_NAMED);
		expect_str_eq(xlb_whatf("%s=\"%s\": name", c->key, c->value), vip.name,
			      c->vip_name);
		expect_ok(xlb_whatf("%s=\"%s\": DNS name", c->key, c->value),
			  xlb_vip_dns_name(vip.name, "marathon", dns, sizeof(dns)));
		expect_str_eq(xlb_whatf("%s=\"%s\": DNS name", c->key, c->value), dns, c->dns);
	}
}

static void test_key_is_vip(void **state)
{
	(void)state;
	assert_true(xlb_vip_key_is_vip("VIP_0"));
	assert_true(xlb_vip_key_is_vip("VIP"));
	assert_true(xlb_vip_key_is_vip("vip"));
	assert_true(xlb_vip_key_is_vip("vip_PORT0"));
	assert_false(xlb_vip_key_is_vip("Vip_0"));
	assert_false(xlb_vip_key_is_vip("VI"));
	assert_false(xlb_vip_key_is_vip(""));
	assert_false(xlb_vip_key_is_vip(NULL));
}

/* mesos_state's own remap_test vectors for label/1, plus domain_frag splitting. */
static void test_domain_frag(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"fd%gsf---gs7-f$gs--d7fddg-123", "fdgsf---gs7-fgs--d7fddg-123"},
	    {"4abc123", "4abc123"},
	    {"89fdgsf---gs7-fgs--d7fddg-123", "89fdgsf---gs7-fgs--d7fddg-123"},
	    {"##fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-",
	     "fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789"},
	    {"fd%gsf---gs7-f$gs--d7fddg123456789012345678901234567890123456789-123",
	     "fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891"},
	    {"89fdgsf---gs7-fgs--d7fddg---123", "89fdgsf---gs7-fgs--d7fddg---123"},
	    {"%%fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789---123",
	     "fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891"},
	    {"-4abc123", "4abc123"},
	    {"89fdgsf---gs7-fgs--d7fddg-", "89fdgsf---gs7-fgs--d7fddg"},
	    {"0-0", "0-0"},
	    {"/mygroup/myapp", "mygroupmyapp"},
	    {"/api.hello-world", "api.hello-world"},
	    {"Marathon-User", "marathon-user"},
	    {".a.", "a"},
	    {"é.b", "b"},
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		int n = xlb_dns_domain_frag(v[i].in, out, sizeof(out));

		if (n < 0 || strcmp(out, v[i].out))
			fail_msg("domain_frag(\"%s\") = %d \"%s\", want \"%s\"", v[i].in, n, out,
				 v[i].out);
		expect_eq(xlb_whatf("domain_frag(\"%s\") length", v[i].in), n,
			  (int)strlen(v[i].out));
	}
	expect_rc("domain_frag of \"$$$.///\"", xlb_dns_domain_frag("$$$.///", out, sizeof(out)),
		  -EINVAL);
	expect_rc("domain_frag into 4 bytes", xlb_dns_domain_frag("abcdef", out, 4), -ENOSPC);
}

static void test_dns_name(void **state)
{
	char dns[XLB_DNS_NAME_MAX], name[400];
	size_t i;

	(void)state;
	expect_ok("DNS name of /myapp on marathon-user",
		  xlb_vip_dns_name("/myapp", "marathon-user", dns, sizeof(dns)));
	expect_str_eq("DNS name of /myapp on marathon-user", dns,
		      "myapp.marathon-user.l4lb.thisdcos.directory");
	expect_ok("DNS name of /broker on Kafka",
		  xlb_vip_dns_name("/broker", "Kafka", dns, sizeof(dns)));
	expect_str_eq("DNS name of /broker on Kafka (lower-cased)", dns,
		      "broker.kafka.l4lb.thisdcos.directory");
	expect_ok("DNS name with no framework", xlb_vip_dns_name("/app", NULL, dns, sizeof(dns)));
	expect_str_eq("DNS name with no framework (marathon)", dns,
		      "app.marathon.l4lb.thisdcos.directory");
	expect_rc("DNS name with framework \"///\"",
		  xlb_vip_dns_name("/app", "///", dns, sizeof(dns)), -EINVAL);
	/* 4 x 63-character labels: 255 + suffix > 253. */
	for (i = 0; i < 4; i++)
		snprintf(name + i * 64, sizeof(name) - i * 64, "%s.", A63);
	expect_rc("DNS name of four 63-character labels",
		  xlb_vip_dns_name(name, "marathon", dns, sizeof(dns)), -ENAMETOOLONG);
}

/* The items of a comma-separated label value, blanks trimmed, empty ones kept. */
static void test_label_list(void **state)
{
	static const char *const want[] = { "external", "internal", "", "x y" };
	const char *p = " external,internal ,, x y ", *item;
	size_t n, i = 0;

	(void)state;
	while (xlb_label_list_next(&p, &item, &n)) {
		expect_cmp("items of the list", i, <, ARRAY_SIZE(want));
		expect_eq(xlb_whatf("item %zu: length", i), n, strlen(want[i]));
		expect_true(xlb_whatf("item %zu is \"%s\"", i, want[i]), !strncmp(item, want[i], n));
		i++;
	}
	expect_eq("items of the list", i, ARRAY_SIZE(want));
	p = NULL;
	expect_false("a NULL list has no item", xlb_label_list_next(&p, &item, &n));
	p = "";
	expect_true("an empty list has one empty item", xlb_label_list_next(&p, &item, &n));
	expect_eq("the empty item's length", n, 0);
	expect_false("and no second", xlb_label_list_next(&p, &item, &n));
}

static void test_proto_list(void **state)
{
	static const struct {
		const char *in;
		int ret;
		unsigned int mask;
	} v[] = {
	    {"tcp", 0, XLB_PROTO_BIT_TCP},
	    {"udp", 0, XLB_PROTO_BIT_UDP},
	    {"udp,tcp", 0, XLB_PROTO_BIT_TCP | XLB_PROTO_BIT_UDP},
	    {"tcp,udp", 0, XLB_PROTO_BIT_TCP | XLB_PROTO_BIT_UDP},
	    {"TCP", 0, XLB_PROTO_BIT_TCP},
	    {" tcp , udp ", 0, XLB_PROTO_BIT_TCP | XLB_PROTO_BIT_UDP},
	    {"tcp,tcp", 0, XLB_PROTO_BIT_TCP},
	    {"sctp", -EINVAL, 0},
	    {"http", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"tcp,", -EINVAL, 0},
	    {"tcpudp", -EINVAL, 0},
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		unsigned int mask = 99;
		int ret = xlb_proto_list_parse(v[i].in, &mask, err, sizeof(err));

		if (ret != v[i].ret || (!ret && mask != v[i].mask))
			fail_msg("proto \"%s\": ret %d mask %u, want %d %u", v[i].in, ret, mask,
				 v[i].ret, v[i].mask);
	}
	expect_rc("protocol list \"sctp\"",
		  xlb_proto_list_parse("sctp", &(unsigned int){0}, err, sizeof(err)), -EINVAL);
	expect_str_eq("message for protocol list \"sctp\"", err,
		      "protocol \"sctp\" is not tcp, udp or udp,tcp");
}

static void test_pool_parse(void **state)
{
	struct xlb_named_pool pool;
	char err[256];

	(void)state;
	expect_ok("parse pool 198.19.0.0/16",
		  xlb_named_pool_parse("198.19.0.0/16", &pool, err, sizeof(err)));
	expect_eq("base of 198.19.0.0/16", pool.base, 0xc6130000u);
	expect_eq("prefix length of 198.19.0.0/16", pool.prefix_len, 16);
	expect_eq("addresses in 198.19.0.0/16", xlb_named_pool_capacity(&pool), 65534);
	expect_ok("parse the default pool",
		  xlb_named_pool_parse(XLB_NAMED_POOL_DEFAULT, &pool, err, sizeof(err)));
	expect_eq("addresses in the default pool", xlb_named_pool_capacity(&pool), 16777214);
	expect_rc("parse pool 198.19.0.1/16",
		  xlb_named_pool_parse("198.19.0.1/16", &pool, err, sizeof(err)), -EINVAL);
	expect_str_eq("message for pool 198.19.0.1/16", err,
		      "named VIP range \"198.19.0.1/16\": host bits set after /16");
	expect_rc("parse pool 198.19.0.0/31",
		  xlb_named_pool_parse("198.19.0.0/31", &pool, err, sizeof(err)), -EINVAL);
	expect_substr("message for pool 198.19.0.0/31", err, "prefix length must be 1-30");
	/* Found by labels_fuzz: ranges that would hand out multicast addresses. */
	expect_rc("parse pool 224.0.0.0/8",
		  xlb_named_pool_parse("224.0.0.0/8", &pool, err, sizeof(err)), -EINVAL);
	expect_str_eq("message for pool 224.0.0.0/8", err,
		      "named VIP range \"224.0.0.0/8\": overlaps multicast 224.0.0.0/4");
	expect_rc("parse pool 128.0.0.0/1 (holds multicast)",
		  xlb_named_pool_parse("128.0.0.0/1", &pool, err, sizeof(err)), -EINVAL);
	expect_ok("parse pool 0.0.0.0/1",
		  xlb_named_pool_parse("0.0.0.0/1", &pool, err, sizeof(err)));
	expect_ok("parse pool 240.0.0.0/8",
		  xlb_named_pool_parse("240.0.0.0/8", &pool, err, sizeof(err)));
	expect_rc("parse pool \"198.19.0.0/\"",
		  xlb_named_pool_parse("198.19.0.0/", &pool, err, sizeof(err)), -EINVAL);
	expect_rc("parse pool without a prefix length",
		  xlb_named_pool_parse("198.19.0.0", &pool, err, sizeof(err)), -EINVAL);
	expect_rc("parse an IPv6 pool",
		  xlb_named_pool_parse("fd01:c::/64", &pool, err, sizeof(err)), -EINVAL);
	expect_rc("parse pool \"pool/8\"", xlb_named_pool_parse("pool/8", &pool, err, sizeof(err)),
		  -EINVAL);
	expect_substr("message for pool \"pool/8\"", err, "is not an IPv4 address");
}

static void test_fnv1a64_vectors(void **state)
{
	(void)state;
	/* Published FNV-1a 64-bit test vectors. */
	expect_true("fnv1a64 of \"\"", xlb_fnv1a64("", 0) == 0xcbf29ce484222325ull);
	expect_true("fnv1a64 of \"a\"", xlb_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
	expect_true("fnv1a64 of \"foobar\"", xlb_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
}

static __u32 h(__be32 a)
{
	return ntohl(a);
}

static void test_alloc_order_independent(void **state)
{
	static const char *const fwd[] = {
	    "a.marathon.l4lb.thisdcos.directory",     "b.marathon.l4lb.thisdcos.directory",
	    "web.marathon.l4lb.thisdcos.directory",   "db.marathon.l4lb.thisdcos.directory",
	    "cache.marathon.l4lb.thisdcos.directory", "api.marathon.l4lb.thisdcos.directory",
	};
	const char *rev[ARRAY_SIZE(fwd)];
	__be32 a1[ARRAY_SIZE(fwd)], a2[ARRAY_SIZE(fwd)];
	struct xlb_named_pool pool;
	char err[256];
	size_t i, j, n = ARRAY_SIZE(fwd);

	(void)state;
	expect_ok("parse pool 198.19.0.0/16",
		  xlb_named_pool_parse("198.19.0.0/16", &pool, err, sizeof(err)));
	for (i = 0; i < n; i++)
		rev[i] = fwd[n - 1 - i];
	expect_ok("allocate in forward order",
		  xlb_named_pool_alloc(&pool, fwd, n, NULL, 0, a1, err, sizeof(err)));
	expect_ok("allocate in reverse order",
		  xlb_named_pool_alloc(&pool, rev, n, NULL, 0, a2, err, sizeof(err)));
	for (i = 0; i < n; i++) {
		expect_eq(xlb_whatf("%s: address in reverse order against forward", fwd[i]), a1[i],
			  a2[n - 1 - i]);
		/* Inside the range, never its first (network) or last (broadcast) address. */
		expect_true(
		    xlb_whatf("%s: address inside 198.19.0.0/16, not its first or last", fwd[i]),
		    h(a1[i]) > 0xc6130000u && h(a1[i]) < 0xc613ffffu);
		for (j = 0; j < i; j++)
			expect_ne(xlb_whatf("%s: address against that of %s", fwd[i], fwd[j]),
				  a1[i], a1[j]);
		/* Without collisions each name sits at its hash slot. */
		expect_eq(xlb_whatf("%s: address at its hash slot", fwd[i]), h(a1[i]),
			  0xc6130001u + (__u32)(xlb_fnv1a64(fwd[i], strlen(fwd[i])) % 65534));
	}
}

/* A golden value: changing the hash or the slot rule would split a mixed-version cluster. */
static void test_alloc_pinned(void **state)
{
	static const char *const names[] = {"myapp.marathon.l4lb.thisdcos.directory"};
	struct xlb_named_pool pool;
	char err[256], buf[INET_ADDRSTRLEN];
	__be32 a;
	__u64 hv = xlb_fnv1a64(names[0], strlen(names[0]));

	(void)state;
	expect_ok("parse pool 11.0.0.0/8",
		  xlb_named_pool_parse("11.0.0.0/8", &pool, err, sizeof(err)));
	expect_ok("allocate myapp",
		  xlb_named_pool_alloc(&pool, names, 1, NULL, 0, &a, err, sizeof(err)));
	expect_eq("myapp address at its hash slot", h(a), 0x0b000001u + (__u32)(hv % 16777214u));
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	print_message("myapp -> %s (fnv1a64 %016llx)\n", buf, (unsigned long long)hv);
	expect_str_eq("myapp address (pinned)", buf, "11.207.69.47");
}

static void test_alloc_collision_slash30(void **state)
{
	/* A /30 has 2 usable addresses (.1, .2); find two names that hash to the same one. */
	char names_buf[64][16];
	const char *pair[2] = {NULL, NULL}, *swapped[2];
	__be32 a[2], b[2];
	struct xlb_named_pool pool;
	char err[256];
	int i, first_slot = -1;

	(void)state;
	expect_ok("parse pool 198.19.0.0/30",
		  xlb_named_pool_parse("198.19.0.0/30", &pool, err, sizeof(err)));
	expect_eq("addresses in a /30", xlb_named_pool_capacity(&pool), 2);
	for (i = 0; i < 64 && !pair[1]; i++) {
		int slot;

		snprintf(names_buf[i], sizeof(names_buf[i]), "svc%02d", i);
		slot = (int)(xlb_fnv1a64(names_buf[i], strlen(names_buf[i])) % 2);
		if (!pair[0]) {
			pair[0] = names_buf[i];
			first_slot = slot;
		} else if (slot == first_slot) {
			pair[1] = names_buf[i];
		}
	}
	assert_non_null(pair[1]);
	expect_cmp(xlb_whatf("strcmp(\"%s\", \"%s\")", pair[0], pair[1]), strcmp(pair[0], pair[1]),
		   <, 0);
	expect_ok("allocate two names hashing to one slot",
		  xlb_named_pool_alloc(&pool, pair, 2, NULL, 0, a, err, sizeof(err)));
	/* The name first in strcmp order keeps its slot; the other takes the next one. */
	expect_eq("address of the name first in strcmp order (its own slot)", h(a[0]),
		  0xc6130001u + (__u32)first_slot);
	expect_eq("address of the second name (the next slot)", h(a[1]),
		  0xc6130001u + (__u32)(1 - first_slot));
	swapped[0] = pair[1];
	swapped[1] = pair[0];
	expect_ok("allocate the pair swapped",
		  xlb_named_pool_alloc(&pool, swapped, 2, NULL, 0, b, err, sizeof(err)));
	expect_eq("first name's address with the pair swapped", a[0], b[1]);
	expect_eq("second name's address with the pair swapped", a[1], b[0]);
}

static void test_alloc_exhausted(void **state)
{
	static const char *const names[] = {"one", "two", "three"};
	struct xlb_named_pool pool;
	char err[256];
	__be32 a[3];

	(void)state;
	expect_ok("parse pool 198.19.0.0/30",
		  xlb_named_pool_parse("198.19.0.0/30", &pool, err, sizeof(err)));
	expect_rc("allocate three names in two addresses",
		  xlb_named_pool_alloc(&pool, names, 3, NULL, 0, a, err, sizeof(err)), -ENOSPC);
	expect_str_eq("message for a full pool", err,
		      "named VIP pool 198.19.0.0/30 full: 3 names, 2 addresses, "
		      "0 used by IP VIPs");
	expect_ok("allocate two names in two addresses",
		  xlb_named_pool_alloc(&pool, names, 2, NULL, 0, a, err, sizeof(err)));
}

static void test_alloc_reserved(void **state)
{
	static const char *const names[] = {"one", "two"};
	struct xlb_named_pool pool;
	__be32 reserved[3], a[2];
	char err[256];

	(void)state;
	expect_ok("parse pool 198.19.0.0/30",
		  xlb_named_pool_parse("198.19.0.0/30", &pool, err, sizeof(err)));
	reserved[0] = htonl(0xc6130001u); /* in the pool */
	reserved[1] = htonl(0xc6130001u); /* duplicate: counted once */
	reserved[2] = htonl(0xc6120001u); /* outside: irrelevant */
	expect_ok("allocate one name beside a reserved address",
		  xlb_named_pool_alloc(&pool, names, 1, reserved, 3, a, err, sizeof(err)));
	expect_eq("address beside the reserved .1", h(a[0]), 0xc6130002u);
	expect_rc("allocate two names beside a reserved address",
		  xlb_named_pool_alloc(&pool, names, 2, reserved, 3, a, err, sizeof(err)), -ENOSPC);
	expect_substr("message for a pool full because of an IP VIP", err, "1 used by IP VIPs");
}

static void test_alloc_duplicate(void **state)
{
	static const char *const names[] = {"one", "two", "one"};
	struct xlb_named_pool pool;
	char err[256];
	__be32 a[3];

	(void)state;
	expect_ok("parse pool 198.19.0.0/16",
		  xlb_named_pool_parse("198.19.0.0/16", &pool, err, sizeof(err)));
	expect_rc("allocate a list with a name twice",
		  xlb_named_pool_alloc(&pool, names, 3, NULL, 0, a, err, sizeof(err)), -EINVAL);
	expect_str_eq("message for a name listed twice", err,
		      "named VIP allocation: duplicate name \"one\"");
}

static void test_quote(void **state)
{
	char buf[64];

	(void)state;
	expect_str_eq("quote of a quote, a backslash and a newline",
		      xlb_mara_quote("a\"b\\c\n", 80, buf, sizeof(buf)), "a\\\"b\\\\c\\x0a");
	expect_str_eq("quote cut at 4 characters", xlb_mara_quote("abcdefgh", 4, buf, sizeof(buf)),
		      "abcd...");
	expect_str_eq("quote of NULL", xlb_mara_quote(NULL, 80, buf, sizeof(buf)), "(null)");
	expect_str_eq("quote into a 5-byte buffer", xlb_mara_quote("abcdefgh", 80, buf, 5), "abcd");
}

static const struct CMUnitTest tests[] = {
#define X_T(id, ...) {"label_" #id, test_label_case, NULL, NULL, (void *)&label_cases[CASE_##id]},
    LABEL_CASES(X_T)
#undef X_T
	cmocka_unit_test(test_key_is_vip),
    cmocka_unit_test(test_domain_frag),
    cmocka_unit_test(test_dns_name),
    cmocka_unit_test(test_proto_list),
    cmocka_unit_test(test_pool_parse),
    cmocka_unit_test(test_fnv1a64_vectors),
    cmocka_unit_test(test_alloc_order_independent),
    cmocka_unit_test(test_alloc_pinned),
    cmocka_unit_test(test_alloc_collision_slash30),
    cmocka_unit_test(test_alloc_exhausted),
    cmocka_unit_test(test_alloc_reserved),
    cmocka_unit_test(test_alloc_duplicate),
    cmocka_unit_test(test_quote),
    cmocka_unit_test(test_label_list),
};

XLB_TEST_MAIN("marathon_labels", tests)
