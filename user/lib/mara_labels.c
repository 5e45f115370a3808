// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * VIP labels as DC/OS's L4LB reads them (docs/marathon.md §7.1, §7.2): key test,
 * value split on the last ':', IP literal or named VIP, the DNS name a named
 * VIP gets (mesos_state's domain_frag rules), Marathon's protocol strings, and
 * the deterministic allocation of named-VIP addresses from an IPv4 pool. Every
 * function is pure: same input, same output, on every node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mara_labels.h"

#define PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Longest label value quoted in full in an error message. */
#define QUOTE_MAX 80

static PRINTF(3, 4) void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *xlb_mara_quote(const char *s, size_t max, char *buf, size_t len)
{
	size_t o = 0, i;

	if (!len)
		return buf;
	if (!s)
		s = "(null)";
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[5];
		size_t n;

		if (i == max) {
			if (o + 4 > len)
				break;
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			n = 4;
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (o + n + 1 > len)
			break;
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

bool xlb_vip_key_is_vip(const char *key)
{
	/* dcos-net matches the binary prefixes <<"VIP">> and <<"vip">> only. */
	return key && (!strncmp(key, "VIP", 3) || !strncmp(key, "vip", 3));
}

static bool is_dns_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * mesos_state's label/3 state machine for one fragment: skip to the first
 * [a-z0-9], map '-' '_' '.' to '-', drop other characters, and once 63
 * characters are reached strip trailing '-' and only top up with [a-z0-9].
 * out must hold 64 bytes. Returns the length.
 */
static size_t frag_label(const char *s, size_t n, char *out)
{
	enum { START, MIDDLE, TERMINATE } st = START;
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (st == START) {
			if (!is_dns_char(c))
				continue;
			st = MIDDLE;
		}
		if (st == MIDDLE && len > 62) {
			while (len && out[len - 1] == '-')
				len--;
			st = TERMINATE;
		}
		if (st == TERMINATE && len == 63)
			break;
		if (st == MIDDLE && (c == '-' || c == '_' || c == '.')) {
			out[len++] = '-';
			continue;
		}
		if (is_dns_char(c))
			out[len++] = c;
	}
	while (len && out[len - 1] == '-')
		len--;
	out[len] = '\0';
	return len;
}

int xlb_dns_domain_frag(const char *in, char *out, size_t outlen)
{
	const char *p = in, *dot;
	size_t o = 0;

	if (!in || !out || !outlen)
		return -EINVAL;
	for (;;) {
		char lbl[64];
		size_t n;

		dot = strchr(p, '.');
		n = frag_label(p, dot ? (size_t)(dot - p) : strlen(p), lbl);
		if (n) {
			if (o + (o ? 1 : 0) + n + 1 > outlen)
				return -ENOSPC;
			if (o)
				out[o++] = '.';
			memcpy(out + o, lbl, n);
			o += n;
		}
		if (!dot)
			break;
		p = dot + 1;
	}
	out[o] = '\0';
	return o ? (int)o : -EINVAL;
}

int xlb_vip_dns_name(const char *name, const char *framework, char *out, size_t outlen)
{
	char n[512], f[512];
	int nl, fl;

	nl = xlb_dns_domain_frag(name, n, sizeof(n));
	if (nl == -ENOSPC)
		return -ENAMETOOLONG;
	if (nl < 0)
		return nl;
	fl = xlb_dns_domain_frag(framework ? framework : XLB_FRAMEWORK_DEFAULT, f, sizeof(f));
	if (fl == -ENOSPC)
		return -ENAMETOOLONG;
	if (fl < 0)
		return fl;
	if ((size_t)nl + 1 + (size_t)fl + 1 + strlen(XLB_L4LB_DOMAIN) > XLB_DNS_NAME_MAX - 1)
		return -ENAMETOOLONG;
	if ((size_t)snprintf(out, outlen, "%s.%s.%s", n, f, XLB_L4LB_DOMAIN) >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* Parses an address literal, bare or in brackets (IPv6 only). Returns 0 or -EINVAL. */
static int parse_addr(const char *s, size_t n, union xlb_addr *addr, __u8 *family)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		memset(addr, 0, sizeof(*addr));
		if (inet_pton(AF_INET6, buf, addr->bytes) != 1)
			return -EINVAL;
		*family = XLB_AF_INET6;
		return 0;
	}
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, buf, &addr->v4) == 1) {
		*family = XLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr->bytes) == 1) {
		*family = XLB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* Why an address can never be a VIP, or NULL. */
static const char *addr_unusable(const union xlb_addr *addr, __u8 family)
{
	static const __u8 zero[16];

	if (family == XLB_AF_INET) {
		__u32 a = ntohl(addr->v4);

		if (a == 0)
			return "unspecified";
		if ((a >> 28) == 0xe)
			return "multicast";
		if (a == 0xffffffffu)
			return "broadcast";
		return NULL;
	}
	if (!memcmp(addr->bytes, zero, 16))
		return "unspecified";
	if (addr->bytes[0] == 0xff)
		return "multicast";
	return NULL;
}

int xlb_vip_label_parse(const char *key, const char *value, struct xlb_vip_label *vip, char *err,
			size_t errlen)
{
	char qk[QUOTE_MAX * 4 + 8], qv[QUOTE_MAX * 4 + 8], qx[QUOTE_MAX * 4 + 8];
	const char *colon, *portstr;
	unsigned long port = 0;
	size_t namelen, i;
	char dns[XLB_DNS_NAME_MAX];
	int ret;

	if (!key || !vip)
		return -EINVAL;
	if (!xlb_vip_key_is_vip(key))
		return -ENOENT;
	xlb_mara_quote(key, QUOTE_MAX, qk, sizeof(qk));
	xlb_mara_quote(value, QUOTE_MAX, qv, sizeof(qv));
	memset(vip, 0, sizeof(*vip));

	if (!value || !*value) {
		set_err(err, errlen,
			"label %s=\"%s\": empty value, expected <address or name>:<port>", qk, qv);
		return -EINVAL;
	}
	colon = strrchr(value, ':');
	if (!colon) {
		set_err(err, errlen, "label %s=\"%s\": no ':<port>' at the end", qk, qv);
		return -EINVAL;
	}
	portstr = colon + 1;
	if (!*portstr) {
		set_err(err, errlen, "label %s=\"%s\": missing port after the last ':'", qk, qv);
		return -EINVAL;
	}
	for (i = 0; portstr[i]; i++) {
		if (portstr[i] < '0' || portstr[i] > '9') {
			set_err(err, errlen, "label %s=\"%s\": port \"%s\" is not a number", qk, qv,
				xlb_mara_quote(portstr, QUOTE_MAX, qx, sizeof(qx)));
			return -EINVAL;
		}
		/* Saturate instead of overflowing: anything above 65535 is out of range anyway. */
		if (port <= 65535)
			port = port * 10 + (unsigned long)(portstr[i] - '0');
	}
	if (port < 1 || port > 65535) {
		set_err(err, errlen, "label %s=\"%s\": port %s out of range 1-65535", qk, qv,
			xlb_mara_quote(portstr, QUOTE_MAX, qx, sizeof(qx)));
		return -EINVAL;
	}
	vip->port = (__u16)port;

	namelen = (size_t)(colon - value);
	if (!namelen) {
		set_err(err, errlen, "label %s=\"%s\": empty address or name before ':'", qk, qv);
		return -EINVAL;
	}
	if (!parse_addr(value, namelen, &vip->addr, &vip->family)) {
		const char *why = addr_unusable(&vip->addr, vip->family);

		if (why) {
			set_err(err, errlen, "label %s=\"%s\": %s address cannot be a VIP", qk, qv,
				why);
			return -EINVAL;
		}
		vip->kind = XLB_VIP_IP;
		return 0;
	}

	if (namelen > XLB_VIP_NAME_MAX) {
		set_err(err, errlen, "label %s=\"%s\": name longer than %d characters", qk, qv,
			XLB_VIP_NAME_MAX);
		return -EINVAL;
	}
	memcpy(vip->name, value, namelen);
	vip->name[namelen] = '\0';
	xlb_mara_quote(vip->name, QUOTE_MAX, qx, sizeof(qx));
	if (value[0] == '[') {
		set_err(err, errlen, "label %s=\"%s\": %s is not an IPv6 address", qk, qv, qx);
		return -EINVAL;
	}
	if (memchr(vip->name, ':', namelen)) {
		set_err(
		    err, errlen,
		    "label %s=\"%s\": name \"%s\" contains ':' (an IPv6 address without a port?)",
		    qk, qv, qx);
		return -EINVAL;
	}
	ret = xlb_vip_dns_name(vip->name, XLB_FRAMEWORK_DEFAULT, dns, sizeof(dns));
	if (ret == -EINVAL) {
		set_err(err, errlen, "label %s=\"%s\": name \"%s\" has no DNS-usable character", qk,
			qv, qx);
		return -EINVAL;
	}
	if (ret) {
		set_err(err, errlen,
			"label %s=\"%s\": name \"%s\" makes a DNS name over 253 characters", qk, qv,
			qx);
		return -EINVAL;
	}
	vip->kind = XLB_VIP_NAMED;
	return 0;
}

bool xlb_label_list_next(const char **p, const char **item, size_t *len)
{
	const char *s = *p, *end;
	size_t n;

	if (!s)
		return false;
	end = strchr(s, ',');
	n = end ? (size_t)(end - s) : strlen(s);
	while (n && *s == ' ') {
		s++;
		n--;
	}
	while (n && s[n - 1] == ' ')
		n--;
	*item = s;
	*len = n;
	*p = end ? end + 1 : NULL;
	return true;
}

int xlb_proto_list_parse(const char *s, unsigned int *mask, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 8];
	const char *p = s, *item;
	unsigned int m = 0;
	size_t n;

	if (!mask)
		return -EINVAL;
	*mask = 0;
	if (!s || !*s)
		goto bad;
	while (xlb_label_list_next(&p, &item, &n)) {
		if (n == 3 && !strncasecmp(item, "tcp", 3))
			m |= XLB_PROTO_BIT_TCP;
		else if (n == 3 && !strncasecmp(item, "udp", 3))
			m |= XLB_PROTO_BIT_UDP;
		else
			goto bad;
	}
	*mask = m;
	return 0;
bad:
	set_err(err, errlen, "protocol \"%s\" is not tcp, udp or udp,tcp",
		xlb_mara_quote(s ? s : "", QUOTE_MAX, q, sizeof(q)));
	return -EINVAL;
}

int xlb_named_pool_parse(const char *cidr, struct xlb_named_pool *pool, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 8], buf[INET_ADDRSTRLEN];
	const char *slash;
	struct in_addr in;
	unsigned long len;
	char *end;
	__u32 mask;

	xlb_mara_quote(cidr ? cidr : "", QUOTE_MAX, q, sizeof(q));
	if (!cidr || !pool || !(slash = strchr(cidr, '/')) ||
	    (size_t)(slash - cidr) >= sizeof(buf)) {
		set_err(err, errlen, "named VIP range \"%s\": expected a.b.c.d/len", q);
		return -EINVAL;
	}
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1) {
		set_err(err, errlen, "named VIP range \"%s\": \"%s\" is not an IPv4 address", q,
			buf);
		return -EINVAL;
	}
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len < 1 || len > 30) {
		set_err(err, errlen, "named VIP range \"%s\": prefix length must be 1-30", q);
		return -EINVAL;
	}
	mask = ~0u << (32 - len);
	if (ntohl(in.s_addr) & ~mask) {
		set_err(err, errlen, "named VIP range \"%s\": host bits set after /%lu", q, len);
		return -EINVAL;
	}
	/*
	 * As for IP VIP labels, a multicast address could never be a VIP. Two CIDR
	 * blocks overlap when they agree on the shorter prefix (224.0.0.0/4's is 4).
	 */
	mask = ~0u << (32 - (len < 4 ? len : 4));
	if ((ntohl(in.s_addr) & mask) == (0xe0000000u & mask)) {
		set_err(err, errlen, "named VIP range \"%s\": overlaps multicast 224.0.0.0/4", q);
		return -EINVAL;
	}
	pool->base = ntohl(in.s_addr);
	pool->prefix_len = (__u8)len;
	return 0;
}

__u32 xlb_named_pool_capacity(const struct xlb_named_pool *pool)
{
	if (!pool || pool->prefix_len < 1 || pool->prefix_len > 30)
		return 0;
	return (__u32)((1ull << (32 - pool->prefix_len)) - 2);
}

__u64 xlb_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	__u64 h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Open-addressing set of pool offsets; slot value off + 1, 0 = empty. */
struct offset_set {
	__u32 *slots;
	size_t mask;
};

static int offset_set_init(struct offset_set *s, size_t n)
{
	size_t size = 16;

	while (size < 2 * n + 1)
		size <<= 1;
	s->slots = calloc(size, sizeof(*s->slots));
	s->mask = size - 1;
	return s->slots ? 0 : -ENOMEM;
}

/* Returns true if off was already there. */
static bool offset_set_test_add(struct offset_set *s, __u32 off, bool add)
{
	size_t i = (size_t)(xlb_fnv1a64(&off, sizeof(off)) & s->mask);

	while (s->slots[i]) {
		if (s->slots[i] == off + 1)
			return true;
		i = (i + 1) & s->mask;
	}
	if (add)
		s->slots[i] = off + 1;
	return false;
}

struct name_ref {
	const char *name;
	size_t idx;
};

static int name_ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_ref *)a)->name, ((const struct name_ref *)b)->name);
}

int xlb_named_pool_alloc(const struct xlb_named_pool *pool, const char *const *names, size_t n,
			 const __be32 *reserved, size_t nr_reserved, __be32 *out, char *err,
			 size_t errlen)
{
	__u32 cap = xlb_named_pool_capacity(pool);
	struct offset_set used = {0};
	struct name_ref *refs = NULL;
	size_t i, nr_used = 0;
	char base[INET_ADDRSTRLEN];
	struct in_addr in;
	int ret;

	if (!cap || (n && (!names || !out)) || (nr_reserved && !reserved)) {
		set_err(err, errlen, "named VIP allocation: bad arguments");
		return -EINVAL;
	}
	if (!n)
		return 0;
	in.s_addr = htonl(pool->base);
	inet_ntop(AF_INET, &in, base, sizeof(base));

	ret = offset_set_init(&used, n + nr_reserved);
	if (ret)
		goto out;
	for (i = 0; i < nr_reserved; i++) {
		__u32 a = ntohl(reserved[i]);

		if (a <= pool->base || a - pool->base - 1 >= cap)
			continue;
		if (!offset_set_test_add(&used, a - pool->base - 1, true))
			nr_used++;
	}
	if (n > cap - nr_used) {
		set_err(err, errlen,
			"named VIP pool %s/%u full: %zu names, %u addresses, %zu used by IP VIPs",
			base, pool->prefix_len, n, cap, nr_used);
		ret = -ENOSPC;
		goto out;
	}

	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!names[i]) {
			set_err(err, errlen, "named VIP allocation: name %zu is NULL", i);
			ret = -EINVAL;
			goto out;
		}
		refs[i].name = names[i];
		refs[i].idx = i;
	}
	qsort(refs, n, sizeof(*refs), name_ref_cmp);
	for (i = 1; i < n; i++) {
		if (!strcmp(refs[i - 1].name, refs[i].name)) {
			set_err(err, errlen, "named VIP allocation: duplicate name \"%s\"",
				refs[i].name);
			ret = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		__u32 off = (__u32)(xlb_fnv1a64(refs[i].name, strlen(refs[i].name)) % cap);

		/* Terminates: fewer names than free addresses was checked above. */
		while (offset_set_test_add(&used, off, true))
			off = off + 1 == cap ? 0 : off + 1;
		out[refs[i].idx] = htonl(pool->base + 1 + off);
	}
	ret = 0;
out:
	free(refs);
	free(used.slots);
	return ret;
}
