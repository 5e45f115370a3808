/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pure rules behind a Marathon VIP, as DC/OS's Minuteman/dcos-l4lb read
 * them: VIP label keys and values, Marathon's protocol strings, the DNS name of
 * a named VIP, and the deterministic allocation of named-VIP addresses from an
 * IPv4 pool. Implemented in mara_labels.c; nothing here does I/O or prints, so
 * the config parser, the model and the tools share one reading of a label.
 * docs/marathon.md (§7.1, §7.2) holds the rules.
 */
#ifndef XLB_MARA_LABELS_H
#define XLB_MARA_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <xlb/abi.h>

#include "addr.h"

/* ---------------------------------------------------------------------------------------------
 * VIP labels (docs/marathon.md §7.1, §7.2)
 */

/* Longest named-VIP name (the part before the last ':') this code accepts. */
#define XLB_VIP_NAME_MAX 255
/* A DNS name: 253 characters plus the terminating NUL. */
#define XLB_DNS_NAME_MAX 254
/* Suffix of every named VIP, after "<name>.<framework>". */
#define XLB_L4LB_DOMAIN "l4lb.thisdcos.directory"
#define XLB_FRAMEWORK_DEFAULT "marathon"

enum xlb_vip_kind {
	XLB_VIP_IP = 1,	   /* "198.18.0.10:80", "fd01:c::1:80": the address is the VIP */
	XLB_VIP_NAMED = 2, /* "/group/app:80": address allocated from the named pool */
};

/* One parsed VIP label value. */
struct xlb_vip_label {
	enum xlb_vip_kind kind;
	union xlb_addr addr;		 /* be; XLB_VIP_IP only */
	__u8 family;			 /* XLB_AF_INET or XLB_AF_INET6; XLB_VIP_IP only */
	__u16 port;			 /* host order, 1..65535 */
	char name[XLB_VIP_NAME_MAX + 1]; /* XLB_VIP_NAMED: the name as written ("/group/app") */
};

/* True when a label key names a VIP: it starts with "VIP" or "vip" (not "Vip"), as in dcos-net. */
bool xlb_vip_key_is_vip(const char *key);

/*
 * Parses one label. Returns 0 and fills *vip; -ENOENT when the key is not a VIP
 * key (not an error: the label is simply not ours); -EINVAL with a message in
 * err such as `label VIP_0="/app:99999": port 99999 out of range 1-65535`.
 * The value is split on its last ':'. A left part that is an IPv4 or IPv6
 * literal (also "[v6]") makes an IP VIP, anything else a named VIP. Beyond
 * dcos-net, names containing ':' (an IPv6 address without a port, most likely),
 * names without any DNS-usable character, and the unspecified or multicast
 * addresses are rejected, because they could never be reached.
 */
int xlb_vip_label_parse(const char *key, const char *value, struct xlb_vip_label *vip, char *err,
			size_t errlen);

/*
 * mesos_state:domain_frag/1: split on '.', per fragment lower-case, keep [a-z0-9],
 * turn '-', '_' into '-', drop everything else, strip leading and trailing '-',
 * at most 63 characters; fragments left empty are dropped (Erlang would keep an
 * empty DNS label). Returns the length written, -ENOSPC if out is too small,
 * -EINVAL if nothing usable remains.
 */
int xlb_dns_domain_frag(const char *in, char *out, size_t outlen);

/*
 * "<frag(name)>.<frag(framework)>.l4lb.thisdcos.directory" into out (at least
 * XLB_DNS_NAME_MAX bytes for any name). Returns 0, -EINVAL (nothing usable),
 * -ENAMETOOLONG (more than 253 characters).
 */
int xlb_vip_dns_name(const char *name, const char *framework, char *out, size_t outlen);

/* Protocol bits as used in masks below. */
/*
 * Comma-separated label values ("udp,tcp", HAPROXY_GROUP "external, internal"):
 * the next item of *p with the blanks around it trimmed (empty items too), and
 * *p moved past it; false once the list is done (or *p is NULL).
 */
bool xlb_label_list_next(const char **p, const char **item, size_t *len);

#define XLB_PROTO_BIT_TCP (1u << 0)
#define XLB_PROTO_BIT_UDP (1u << 1)

/*
 * Marathon's port protocol: "tcp", "udp", "udp,tcp" or "tcp,udp" (case and spaces
 * around items ignored) into a mask of XLB_PROTO_BIT_*. Returns 0 or -EINVAL with
 * a message.
 */
int xlb_proto_list_parse(const char *s, unsigned int *mask, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------------
 * Named VIP addresses
 */

/* An IPv4 range for named VIPs. Addresses base+1 .. base+size-2 are handed out. */
struct xlb_named_pool {
	__u32 base;	 /* host order, aligned to the prefix */
	__u8 prefix_len; /* 1..30 */
};

#define XLB_NAMED_POOL_DEFAULT "11.0.0.0/8" /* DC/OS dcos_l4lb_min/max_named_ip */

/*
 * "a.b.c.d/len" (len 1..30, host bits zero, no multicast address in it) into
 * *pool. Returns 0 or -EINVAL with a message.
 */
int xlb_named_pool_parse(const char *cidr, struct xlb_named_pool *pool, char *err, size_t errlen);

/* Number of addresses the pool can hand out (size minus network and broadcast). */
__u32 xlb_named_pool_capacity(const struct xlb_named_pool *pool);

/*
 * Allocates one address per name (names must be distinct) into out[i] (be),
 * avoiding the addresses in reserved[] (be; IP VIP literals that fall into the
 * pool). The result depends only on the set of names and reserved addresses,
 * never on their order, so every node agrees: names are processed in strcmp
 * order, each starts at FNV-1a-64(name) mod capacity and takes the next free
 * address, wrapping. The trade-off: a new name whose hash hits an address
 * already held by a later-sorted name moves that name (rare in a /8).
 * Returns 0, -ENOSPC (pool exhausted, message in err), -EINVAL, -ENOMEM.
 */
int xlb_named_pool_alloc(const struct xlb_named_pool *pool, const char *const *names, size_t n,
			 const __be32 *reserved, size_t nr_reserved, __be32 *out, char *err,
			 size_t errlen);

/* The fixed hash behind the allocation (FNV-1a, 64 bit), exported for tests and tools. */
__u64 xlb_fnv1a64(const void *data, size_t len);

/*
 * Copies s into buf for a log message: '"', '\\' and non-printable bytes
 * escaped, cut with "..." beyond max characters. Returns buf.
 */
const char *xlb_mara_quote(const char *s, size_t max, char *buf, size_t len);

#endif /* XLB_MARA_LABELS_H */
