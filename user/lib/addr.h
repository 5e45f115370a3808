/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VIP keys and endpoints as text, and the order of VIP keys (addr.c). No
 * stage owns these: the model, the planner, the data plane library and the
 * tools all use them, and this header depends on the ABI alone.
 */
#ifndef XLB_ADDR_H
#define XLB_ADDR_H

#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

/* Parses "198.18.0.10:80/tcp" or "[2001:db8::1]:53/udp" into a key; -EINVAL with a message. */
int xlb_vip_key_parse(const char *s, struct xlb_vip_key *key, char *err, size_t errlen);
/* Formats a key as above; returns buf. */
char *xlb_vip_key_str(const struct xlb_vip_key *key, char *buf, size_t len);
/* Formats addr:port ("[v6]:port" for IPv6); returns buf. */
char *xlb_endpoint_str(const union xlb_addr *addr, __be16 port, __u8 family, char *buf,
		       size_t len);
/* Orders endpoints by family, address bytes (4 for IPv4), port in host order: <0, 0, >0. */
int xlb_endpoint_cmp(const union xlb_addr *a, __be16 aport, __u8 afamily,
		     const union xlb_addr *b, __be16 bport, __u8 bfamily);
/* Orders keys as endpoints, then by protocol. */
int xlb_vip_key_cmp(const struct xlb_vip_key *a, const struct xlb_vip_key *b);

#endif /* XLB_ADDR_H */
