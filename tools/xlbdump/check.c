// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbdump --check: verifies that the pinned maps are consistent the way the
 * programs need them to be, whatever moment a writer died at (the crash tests
 * kill xlbd -9 mid-sync and run this after each kill). Errors are what a
 * packet could trip over: a VIP whose table is missing or of the wrong size,
 * a table slot naming a backend that is free, draining, or another VIP's, a
 * VIP or a backend in a table whose address the fast-path filter or the
 * address maps do not know. Leftovers are what an interrupted write leaves
 * that no packet reaches (a backend of no VIP, a reference count too high)
 * and that the next xlbd repairs when it adopts the maps; --strict counts
 * them as errors too. Tables no VIP points at are only counted.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <xlb/abi.h>

#include "xlbdump.h"

struct ck {
	bool strict;
	unsigned int errors, leftovers;
	__u32 max_vips, max_be;
};

static void bad(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void left(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(struct ck *c, const char *fmt, ...)
{
	va_list ap;

	c->errors++;
	if (c->errors > 50)
		return;
	printf("error: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void left(struct ck *c, const char *fmt, ...)
{
	va_list ap;

	c->leftovers++;
	if (c->leftovers > 50)
		return;
	printf("leftover: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static __u32 max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static bool filter_has(const __u64 *filter, __u32 kind, const union xlb_addr *a, __u8 family)
{
	__u32 bit = xlb_filter_bit(a, family);

	return filter[xlb_filter_word(kind, bit)] & (1ull << (bit & 63));
}

static const char *vip_str(const struct xlb_vip_key *k, char *buf, size_t len)
{
	char ep[80];

	xlbdump_ep_str(&k->addr, k->port, k->family, ep, sizeof(ep));
	snprintf(buf, len, "%s/%s", ep, k->proto == XLB_PROTO_UDP ? "udp" : "tcp");
	return buf;
}

int xlbdump_check(const char *pin, bool strict)
{
	int fd_vips, fd_be, fd_tab, fd_vaddr, fd_baddr, fd_filter, ifd;
	struct ck c = {.strict = strict};
	struct xlb_vip_key key, next, *prev = NULL;
	struct xlb_vip_key *keys = NULL;
	struct xlb_vip *vips = NULL;
	struct xlb_backend *bes = NULL;
	__u64 filter[XLB_FILTER_WORDS] = {};
	__u32 *owner = NULL; /* vip id -> index in vips + 1 */
	__u32 *live = NULL, nlive = 0, l; /* backends of live VIPs */
	static __u32 tslots[XLB_MAGLEV_MAX_SIZE];
	bool *in_table = NULL;
	size_t n = 0, cap = 0, i, j, slots = 0, nbe = 0;
	__u32 id, v, inner_id, count, want, unused = 0;
	char ks[128], es[80];
	int ret = 2;

	fd_vips = xlbdump_fd(pin, XLB_MAP_VIPS);
	fd_be = xlbdump_fd(pin, XLB_MAP_BACKENDS);
	fd_tab = xlbdump_fd(pin, XLB_MAP_TABLES);
	fd_vaddr = xlbdump_fd(pin, XLB_MAP_VIP_ADDRS);
	fd_baddr = xlbdump_fd(pin, XLB_MAP_BACKEND_ADDRS);
	fd_filter = xlbdump_fd(pin, XLB_MAP_ADDR_FILTER);
	if (fd_vips < 0 || fd_be < 0 || fd_tab < 0 || fd_vaddr < 0 || fd_baddr < 0 ||
	    fd_filter < 0)
		return 2;
	c.max_vips = max_entries(fd_vips);
	c.max_be = max_entries(fd_be);
	bes = calloc(c.max_be ? c.max_be : 1, sizeof(*bes));
	in_table = calloc(c.max_be ? c.max_be : 1, sizeof(*in_table));
	live = calloc(c.max_be ? c.max_be : 1, sizeof(*live));
	owner = calloc(c.max_vips ? c.max_vips : 1, sizeof(*owner));
	if (!bes || !in_table || !owner || !live)
		goto out;
	for (id = 0; id < c.max_be; id++)
		bpf_map_lookup_elem(fd_be, &id, &bes[id]);
	for (i = 0; i < XLB_FILTER_WORDS; i++) {
		__u32 w = (__u32)i;

		bpf_map_lookup_elem(fd_filter, &w, &filter[i]);
	}
	while (!bpf_map_get_next_key(fd_vips, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			struct xlb_vip_key *nk;
			struct xlb_vip *nv;

			cap = cap ? cap * 2 : 256;
			nk = realloc(keys, cap * sizeof(*keys));
			if (nk)
				keys = nk;
			nv = nk ? realloc(vips, cap * sizeof(*vips)) : NULL;
			if (!nv)
				goto out;
			vips = nv;
		}
		keys[n] = key;
		if (!bpf_map_lookup_elem(fd_vips, &key, &vips[n]))
			n++;
	}

	/* VIPs, their tables and the backends those name */
	for (i = 0; i < n; i++) {
		const struct xlb_vip *vp = &vips[i];

		vip_str(&keys[i], ks, sizeof(ks));
		if (!vp->vip_id || vp->vip_id >= c.max_vips) {
			bad(&c, "vip %s: id %u out of range", ks, vp->vip_id);
			continue;
		}
		if (owner[vp->vip_id]) {
			bad(&c, "vip %s: id %u also used by another VIP", ks, vp->vip_id);
			continue;
		}
		owner[vp->vip_id] = (__u32)i + 1;
		if (!filter_has(filter, XLB_FILTER_VIP, &keys[i].addr, keys[i].family))
			bad(&c, "vip %s: address not in %s", ks, XLB_MAP_ADDR_FILTER);
		{
			struct xlb_addr_key ak = {.addr = keys[i].addr, .family = keys[i].family};

			for (j = 0, want = 0; j < n; j++)
				want += !memcmp(&keys[j].addr, &ak.addr, sizeof(ak.addr)) &&
					keys[j].family == ak.family;
			if (bpf_map_lookup_elem(fd_vaddr, &ak, &count) || count < want)
				bad(&c, "vip %s: address counted %u times in %s, %u VIPs have it",
				    ks, bpf_map_lookup_elem(fd_vaddr, &ak, &count) ? 0 : count,
				    XLB_MAP_VIP_ADDRS, want);
			else if (count > want)
				left(&c, "vip %s: address counted %u times in %s, %u VIPs have it",
				     ks, count, XLB_MAP_VIP_ADDRS, want);
		}
		if (!vp->table_size)
			continue;
		if (vp->table_id != XLB_TABLE_ID(vp->vip_id, 0) &&
		    vp->table_id != XLB_TABLE_ID(vp->vip_id, 1)) {
			bad(&c, "vip %s: table id %u is not one of its own", ks, vp->table_id);
			continue;
		}
		if (vp->table_size > XLB_MAGLEV_MAX_SIZE) {
			bad(&c, "vip %s: table size %u above the largest, %u", ks, vp->table_size,
			    XLB_MAGLEV_MAX_SIZE);
			continue;
		}
		if (bpf_map_lookup_elem(fd_tab, &vp->table_id, &inner_id)) {
			bad(&c, "vip %s: table %u (size %u) missing", ks, vp->table_id,
			    vp->table_size);
			continue;
		}
		ifd = bpf_map_get_fd_by_id(inner_id);
		if (ifd < 0) {
			bad(&c, "vip %s: table %u: map id %u: %s", ks, vp->table_id, inner_id,
			    strerror(errno));
			continue;
		}
		if (max_entries(ifd) != XLB_TABLE_ENTRIES(vp->table_size))
			bad(&c, "vip %s: table %u has %u elements (%u slots each), the VIP says %u "
				"slots", ks, vp->table_id, max_entries(ifd), XLB_TABLE_SLOTS,
			    vp->table_size);
		if (xlbdump_table_read(ifd, vp->table_size, tslots)) {
			bad(&c, "vip %s: table %u unreadable: %s", ks, vp->table_id, strerror(errno));
			close(ifd);
			continue;
		}
		for (j = 0; j < vp->table_size; j++) {
			__u32 s = (__u32)j;
			const struct xlb_backend *b;

			v = tslots[j];
			slots++;
			if (!v || v >= c.max_be) {
				bad(&c, "vip %s: slot %u names backend id %u", ks, s, v);
				continue;
			}
			b = &bes[v];
			if (b->state != XLB_BE_ACTIVE || b->vip_id != vp->vip_id) {
				bad(&c, "vip %s: slot %u names backend %u (%s), which is %s", ks, s,
				    v,
				    xlbdump_ep_str(&b->addr, b->port, b->family, es, sizeof(es)),
				    b->state == XLB_BE_REMOVED    ? "free"
				    : b->state == XLB_BE_DRAINING ? "draining"
								  : "another VIP's");
				/* one line per backend, not per slot */
				while (j + 1 < vp->table_size && tslots[j + 1] == v)
					j++;
				continue;
			}
			in_table[v] = true;
		}
		close(ifd);
	}

	for (id = 1; id < c.max_be; id++)
		if (bes[id].state != XLB_BE_REMOVED && bes[id].vip_id < c.max_vips &&
		    owner[bes[id].vip_id])
			live[nlive++] = id;

	/* Backends: each belongs to a live VIP; those in a table must be known by address. */
	for (id = 1; id < c.max_be; id++) {
		const struct xlb_backend *b = &bes[id];
		struct xlb_endpoint_key ek = {};
		const struct xlb_vip_key *vk;

		if (b->state == XLB_BE_REMOVED)
			continue;
		xlbdump_ep_str(&b->addr, b->port, b->family, es, sizeof(es));
		if (b->vip_id >= c.max_vips || !owner[b->vip_id]) {
			left(&c, "backend %u (%s): its VIP id %u is gone", id, es, b->vip_id);
			continue;
		}
		nbe++;
		vk = &keys[owner[b->vip_id] - 1];
		ek.addr = b->addr;
		ek.port = b->port;
		ek.proto = vk->proto;
		ek.family = b->family;
		for (l = 0, want = 0; l < nlive; l++) {
			const struct xlb_backend *o = &bes[live[l]];

			if (keys[owner[o->vip_id] - 1].proto != ek.proto)
				continue;
			want += o->family == ek.family && o->port == ek.port &&
				!memcmp(&o->addr, &ek.addr, sizeof(ek.addr));
		}
		if (bpf_map_lookup_elem(fd_baddr, &ek, &count))
			count = 0;
		if (count < want && in_table[id])
			bad(&c, "backend %u (%s) of vip %s: endpoint counted %u times in %s, %u "
				"backends have it", id, es, vip_str(vk, ks, sizeof(ks)), count,
			    XLB_MAP_BACKEND_ADDRS, want);
		else if (count != want)
			left(&c, "backend %u (%s): endpoint counted %u times in %s, %u backends "
				 "have it", id, es, count, XLB_MAP_BACKEND_ADDRS, want);
		if (!filter_has(filter, XLB_FILTER_BACKEND, &b->addr, b->family)) {
			if (in_table[id])
				bad(&c, "backend %u (%s): address not in %s", id, es,
				    XLB_MAP_ADDR_FILTER);
			else
				left(&c, "backend %u (%s): address not in %s", id, es,
				     XLB_MAP_ADDR_FILTER);
		}
	}

	/*
	 * Tables no VIP points at: a swap that never switched over, or a deleted
	 * VIP's. No packet reaches them, and the next swap of that VIP id
	 * overwrites them; xlbd does not look for them on start, so they are only
	 * counted, not held against the maps even by --strict.
	 */
	for (id = 0; id < 2 * c.max_vips; id++) {
		__u32 vid = id / 2;
		const struct xlb_vip *vp;

		if (bpf_map_lookup_elem(fd_tab, &id, &inner_id))
			continue;
		vp = vid < c.max_vips && owner[vid] ? &vips[owner[vid] - 1] : NULL;
		if (!vp || !vp->table_size || vp->table_id != id)
			unused++;
	}

	printf("check %s: %zu VIPs, %zu backends, %zu table slots: %u errors, %u leftovers%s, "
	       "%u unused tables\n",
	       pin, n, nbe, slots, c.errors, c.leftovers,
	       c.leftovers && !strict ? " (repaired when xlbd adopts the maps)" : "", unused);
	ret = c.errors || (strict && c.leftovers) ? 1 : 0;
out:
	if (ret == 2)
		fprintf(stderr, "xlbdump: out of memory\n");
	free(keys);
	free(vips);
	free(bes);
	free(in_table);
	free(owner);
	free(live);
	return ret;
}
