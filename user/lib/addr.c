// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses as text and in order: VIP keys and backend endpoints parsed from
 * and printed as "198.18.0.10:80/tcp" or "[2001:db8::1]:53/udp", and the one
 * ordering of VIP keys (family, address, port, protocol) that the model, the
 * planner, /metrics and lbstat all sort by, so every view lists VIPs alike.
 * It depends on nothing but the ABI, so any stage may use it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int xlb_vip_key_parse(const char *s, struct xlb_vip_key *key, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port, *proto, *end;
	unsigned long pv;
	char *ep;
	size_t hl;

	memset(key, 0, sizeof(*key));
	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPv6]:PORT/PROTO", s);
			return -EINVAL;
		}
		hl = end - s - 1;
		port = end + 2;
		s++;
	} else {
		end = strrchr(s, ':');
		if (!end) {
			snprintf(err, errlen, "'%s': expected ADDR:PORT/PROTO", s);
			return -EINVAL;
		}
		hl = end - s;
		port = end + 1;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "'%s': address too long", s);
		return -EINVAL;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &key->addr.v4) == 1) {
		key->family = XLB_AF_INET;
	} else if (inet_pton(AF_INET6, host, &key->addr) == 1) {
		key->family = XLB_AF_INET6;
	} else {
		snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	errno = 0;
	pv = strtoul(port, &ep, 10);
	if (errno || ep == port || pv == 0 || pv > 65535 || (*ep && *ep != '/')) {
		snprintf(err, errlen, "'%s': port must be 1-65535", port);
		return -EINVAL;
	}
	key->port = htons(pv);
	proto = *ep == '/' ? ep + 1 : "tcp";
	if (!strcmp(proto, "tcp")) {
		key->proto = XLB_PROTO_TCP;
	} else if (!strcmp(proto, "udp")) {
		key->proto = XLB_PROTO_UDP;
	} else {
		snprintf(err, errlen, "'%s': protocol must be tcp or udp", proto);
		return -EINVAL;
	}
	return 0;
}

char *xlb_endpoint_str(const union xlb_addr *addr, __be16 port, __u8 family, char *buf,
		       size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (family == XLB_AF_INET6) {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(port));
	} else {
		inet_ntop(AF_INET, &addr->v4, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(port));
	}
	return buf;
}

char *xlb_vip_key_str(const struct xlb_vip_key *key, char *buf, size_t len)
{
	char ep[INET6_ADDRSTRLEN + 10];

	xlb_endpoint_str(&key->addr, key->port, key->family, ep, sizeof(ep));
	snprintf(buf, len, "%s/%s", ep,
		 key->proto == XLB_PROTO_TCP ? "tcp" : key->proto == XLB_PROTO_UDP ? "udp" : "?");
	return buf;
}

int xlb_endpoint_cmp(const union xlb_addr *a, __be16 aport, __u8 afamily,
		     const union xlb_addr *b, __be16 bport, __u8 bfamily)
{
	int r;

	if (afamily != bfamily)
		return afamily < bfamily ? -1 : 1;
	r = memcmp(a->bytes, b->bytes, afamily == XLB_AF_INET6 ? 16 : 4);
	if (r)
		return r < 0 ? -1 : 1;
	if (aport != bport)
		return ntohs(aport) < ntohs(bport) ? -1 : 1;
	return 0;
}

int xlb_vip_key_cmp(const struct xlb_vip_key *a, const struct xlb_vip_key *b)
{
	int r = xlb_endpoint_cmp(&a->addr, a->port, a->family, &b->addr, b->port, b->family);

	if (r)
		return r;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return 0;
}
