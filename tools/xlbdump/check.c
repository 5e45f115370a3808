// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xlbdump --check: verifies that the pinned maps are consistent the way the
 * programs need them to be, whatever moment a writer died at (the crash tests
 * kill xlbd -9 mid-sync and run this after each kill). Errors are what a
 * packet could trip over: a VIP whose table is missing or of the wrong size,
 * a table slot naming a backend that is free, draining, or another VIP's, a
 * VIP or a backend in a table whose address the fast-path filter or the
 * address maps do not know, a VIP whose id does not give its key back in
 * xlb_vip_keys, an endpoint several backends share where one of them lacks
 * the reply-entry flag (or whose primary is gone with no reply entries to
 * fall back on). Leftovers are what an interrupted write leaves
 * that no packet reaches (a backend of no VIP, a reference count too high)
 * and that the next xlbd repairs when it adopts the maps; --strict counts
 * them as errors too. Tables no VIP points at are only counted. The maps are
 * read through libxlb's read side, read-only; the tables through their
 * kernel map ids.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <xlb/abi.h>

#include "addr.h"
#include "dp_read.h"
#include "xlbdump.h"

/* Lines of each kind printed before the rest are only counted. */
#define CHECK_SHOWN 50

struct ck {
	const struct xlbdump_opts *o;
	const struct xlb_reader *r;
	unsigned int errors, leftovers, unused;
	size_t slots, nbe;
	__u32 max_vips, max_be;
	struct xlb_vip_entry *vips;
	size_t n;
	struct xlb_backend *bes;
	__u64 filter[XLB_FILTER_WORDS];
	__u32 *owner; /* vip id -> index in vips + 1 */
	__u32 *live, nlive; /* backends of live VIPs */
	bool *in_table; /* per backend id: some live table names it */
	json_t *problems; /* with -j: every line shown, as {"kind", "message"} */
};

static void say(struct ck *c, const char *kind, unsigned int nth, const char *fmt, va_list ap)
{
	char msg[512];

	if (nth > CHECK_SHOWN)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->problems)
		json_array_append_new(c->problems,
				      json_pack("{s:s, s:s}", "kind", kind, "message", msg));
	else
		printf("%s: %s\n", kind, msg);
}

static void bad(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void left(struct ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(struct ck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(c, "error", ++c->errors, fmt, ap);
	va_end(ap);
}

static void left(struct ck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(c, "leftover", ++c->leftovers, fmt, ap);
	va_end(ap);
}

static bool filter_has(const __u64 *filter, __u32 kind, const union xlb_addr *a, __u8 family)
{
	__u32 bit = xlb_filter_bit(a, family);

	return filter[xlb_filter_word(kind, bit)] & (1ull << (bit & 63));
}

static const char *be_str(const struct xlb_backend *b, char *buf, size_t len)
{
	return xlb_endpoint_str(&b->addr, b->port, b->family, buf, len);
}

/* The VIP's address is counted in xlb_vip_addrs once per VIP that has it. */
static void vip_addr_check(struct ck *c, size_t i, const char *ks)
{
	const struct xlb_vip_key *k = &c->vips[i].key;
	struct xlb_addr_key ak = { .addr = k->addr, .family = k->family };
	__u32 want = 0, count;
	size_t j;

	for (j = 0; j < c->n; j++)
		want += !memcmp(&c->vips[j].key.addr, &ak.addr, sizeof(ak.addr)) &&
			c->vips[j].key.family == ak.family;
	if (xlb_reader_vip_addr_refs(c->r, &ak, &count))
		count = 0;
	if (count < want)
		bad(c, "vip %s: address counted %u times in %s, %u VIPs have it", ks, count,
		    XLB_MAP_VIP_ADDRS, want);
	else if (count > want)
		left(c, "vip %s: address counted %u times in %s, %u VIPs have it", ks, count,
		     XLB_MAP_VIP_ADDRS, want);
}

/* Every slot of the VIP's live table names an active backend of that VIP. */
static void vip_table_check(struct ck *c, const struct xlb_vip *vp, const char *ks)
{
	static __u32 tslots[XLB_MAGLEV_MAX_SIZE];
	__u32 map_id, entries, v, j;
	char es[80];
	int ifd, e;

	if (vp->table_id != XLB_TABLE_ID(vp->vip_id, 0) &&
	    vp->table_id != XLB_TABLE_ID(vp->vip_id, 1)) {
		bad(c, "vip %s: table id %u is not one of its own", ks, vp->table_id);
		return;
	}
	if (vp->table_size > XLB_MAGLEV_MAX_SIZE) {
		bad(c, "vip %s: table size %u above the largest, %u", ks, vp->table_size,
		    XLB_MAGLEV_MAX_SIZE);
		return;
	}
	if (xlb_reader_table_id(c->r, vp->table_id, &map_id)) {
		bad(c, "vip %s: table %u (size %u) missing", ks, vp->table_id, vp->table_size);
		return;
	}
	ifd = xlb_table_open(map_id, &entries);
	if (ifd < 0) {
		bad(c, "vip %s: table %u: map id %u: %s", ks, vp->table_id, map_id,
		    strerror(-ifd));
		return;
	}
	if (entries != XLB_TABLE_ENTRIES(vp->table_size))
		bad(c, "vip %s: table %u has %u elements (%u slots each), the VIP says %u "
		       "slots", ks, vp->table_id, entries, XLB_TABLE_SLOTS, vp->table_size);
	e = xlb_table_slots_read(ifd, vp->table_size, tslots);
	close(ifd);
	if (e) {
		bad(c, "vip %s: table %u unreadable: %s", ks, vp->table_id, strerror(-e));
		return;
	}
	for (j = 0; j < vp->table_size; j++) {
		const struct xlb_backend *b;

		v = tslots[j];
		c->slots++;
		if (!v || v >= c->max_be) {
			bad(c, "vip %s: slot %u names backend id %u", ks, j, v);
			continue;
		}
		b = &c->bes[v];
		if (b->state != XLB_BE_ACTIVE || b->vip_id != vp->vip_id) {
			bad(c, "vip %s: slot %u names backend %u (%s), which is %s", ks, j, v,
			    be_str(b, es, sizeof(es)),
			    b->state == XLB_BE_REMOVED    ? "free"
			    : b->state == XLB_BE_DRAINING ? "draining"
							  : "another VIP's");
			/* one line per backend, not per slot */
			while (j + 1 < vp->table_size && tslots[j + 1] == v)
				j++;
			continue;
		}
		c->in_table[v] = true;
	}
}

/* VIPs, their tables and the backends those name. */
static void vips_check(struct ck *c)
{
	char ks[128];
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct xlb_vip *vp = &c->vips[i].vip;
		const struct xlb_vip_key *k = &c->vips[i].key;

		xlb_vip_key_str(k, ks, sizeof(ks));
		if (!vp->vip_id || vp->vip_id >= c->max_vips) {
			bad(c, "vip %s: id %u out of range", ks, vp->vip_id);
			continue;
		}
		if (c->owner[vp->vip_id]) {
			bad(c, "vip %s: id %u also used by another VIP", ks, vp->vip_id);
			continue;
		}
		c->owner[vp->vip_id] = (__u32)i + 1;
		if (!filter_has(c->filter, XLB_FILTER_VIP, &k->addr, k->family))
			bad(c, "vip %s: address not in %s", ks, XLB_MAP_ADDR_FILTER);
		vip_addr_check(c, i, ks);
		if (vp->table_size)
			vip_table_check(c, vp, ks);
	}
}

/* A live backend by the endpoint it answers from: the order endpoints are checked in. */
struct ep_item {
	struct xlb_endpoint_key key;
	__u32 id;
};

static int ep_cmp(const void *a, const void *b)
{
	const struct ep_item *x = a, *y = b;
	int d = memcmp(&x->key, &y->key, sizeof(x->key));

	return d ?: (x->id > y->id) - (x->id < y->id);
}

/*
 * One endpoint and its n live backends: xlb_backend_addrs counts them and
 * names one of them as primary. When n > 1 every one carries
 * XLB_BE_F_REPLY_ENTRY, or replies of its flows may be taken for another
 * VIP's. A write that died half-way may leave a primary that is gone or a
 * lone backend still flagged: replies still find their flows, and xlbd
 * repairs it when it adopts the maps.
 */
static void endpoint_check(struct ck *c, const struct ep_item *it, __u32 n)
{
	struct xlb_endpoint ep = {};
	bool in_table = false, primary_ok = false, have;
	char es[96], ks[128];
	size_t l;
	__u32 i;

	for (i = 0; i < n; i++)
		in_table |= c->in_table[it[i].id];
	xlb_endpoint_str(&it->key.addr, it->key.port, it->key.family, es, sizeof(es));
	l = strlen(es);
	snprintf(es + l, sizeof(es) - l, "/%s", it->key.proto == XLB_PROTO_UDP ? "udp" : "tcp");
	have = !xlb_reader_endpoint(c->r, &it->key, &ep);
	if (!have)
		ep.refs = 0;
	if (ep.refs < n && in_table)
		bad(c, "endpoint %s: counted %u times in %s, %u backends have it", es, ep.refs,
		    XLB_MAP_BACKEND_ADDRS, n);
	else if (ep.refs != n)
		left(c, "endpoint %s: counted %u times in %s, %u backends have it", es, ep.refs,
		     XLB_MAP_BACKEND_ADDRS, n);
	if (!have)
		return;
	for (i = 0; i < n; i++)
		primary_ok |= it[i].id == ep.backend_id;
	if (!primary_ok && ep.refs <= 1)
		bad(c, "endpoint %s: primary backend %u is not one of its backends, and with a "
		       "count of %u replies look for no reply entry", es, ep.backend_id, ep.refs);
	else if (!primary_ok)
		left(c, "endpoint %s: primary backend %u is not one of its backends", es,
		     ep.backend_id);
	for (i = 0; i < n; i++) {
		const struct xlb_backend *b = &c->bes[it[i].id];
		bool flagged = b->flags & XLB_BE_F_REPLY_ENTRY;

		xlb_vip_key_str(&c->vips[c->owner[b->vip_id] - 1].key, ks, sizeof(ks));
		if (n == 1 && flagged)
			left(c, "backend %u (%s) of vip %s: alone at its endpoint, yet flagged to "
				"record reply entries", it[i].id, es, ks);
		else if (n > 1 && !flagged)
			bad(c, "backend %u (%s) of vip %s: shares its endpoint with %u other "
			       "backends but lacks the reply-entry flag: replies of its flows may "
			       "be taken for another VIP's", it[i].id, es, ks, n - 1);
	}
}

/* Every endpoint of the live backends, once. */
static int endpoints_check(struct ck *c)
{
	struct ep_item *items = calloc(c->nlive ? c->nlive : 1, sizeof(*items));
	__u32 i, j;

	if (!items)
		return -ENOMEM;
	for (i = 0; i < c->nlive; i++) {
		const struct xlb_backend *b = &c->bes[c->live[i]];

		items[i].key.addr = b->addr;
		items[i].key.port = b->port;
		items[i].key.proto = c->vips[c->owner[b->vip_id] - 1].key.proto;
		items[i].key.family = b->family;
		items[i].id = c->live[i];
	}
	qsort(items, c->nlive, sizeof(*items), ep_cmp);
	for (i = 0; i < c->nlive; i = j) {
		for (j = i + 1;
		     j < c->nlive && !memcmp(&items[i].key, &items[j].key, sizeof(items[i].key)); j++)
			;
		endpoint_check(c, &items[i], j - i);
	}
	free(items);
	return 0;
}

/*
 * xlb_vip_keys: a live VIP's id holds its key (a reply's flow is rebuilt
 * from it); an id no VIP has should be zero, though no packet reaches it.
 */
static void vip_keys_check(struct ck *c)
{
	struct xlb_vip_key k, zero = {};
	char ks[128], hs[128];
	__u32 id;

	for (id = 1; id < c->max_vips; id++) {
		if (xlb_reader_vip_key(c->r, id, &k)) {
			bad(c, "vip id %u: %s unreadable", id, XLB_MAP_VIP_KEYS);
			continue;
		}
		if (c->owner[id]) {
			const struct xlb_vip_key *want = &c->vips[c->owner[id] - 1].key;

			if (memcmp(&k, want, sizeof(k)))
				bad(c, "vip %s: %s[%u] holds %s", xlb_vip_key_str(want, ks, sizeof(ks)),
				    XLB_MAP_VIP_KEYS, id,
				    memcmp(&k, &zero, sizeof(k)) ? xlb_vip_key_str(&k, hs, sizeof(hs))
								 : "nothing");
		} else if (memcmp(&k, &zero, sizeof(k))) {
			left(c, "vip id %u: no VIP has it, %s holds %s", id, XLB_MAP_VIP_KEYS,
			     xlb_vip_key_str(&k, hs, sizeof(hs)));
		}
	}
}

/* Backends: each belongs to a live VIP; those in a table must be known by address. */
static void backends_check(struct ck *c)
{
	char es[80];
	__u32 id;

	for (id = 1; id < c->max_be; id++)
		if (c->bes[id].state != XLB_BE_REMOVED && c->bes[id].vip_id < c->max_vips &&
		    c->owner[c->bes[id].vip_id])
			c->live[c->nlive++] = id;
	for (id = 1; id < c->max_be; id++) {
		const struct xlb_backend *b = &c->bes[id];

		if (b->state == XLB_BE_REMOVED)
			continue;
		be_str(b, es, sizeof(es));
		if (b->vip_id >= c->max_vips || !c->owner[b->vip_id]) {
			left(c, "backend %u (%s): its VIP id %u is gone", id, es, b->vip_id);
			continue;
		}
		c->nbe++;
		if (!filter_has(c->filter, XLB_FILTER_BACKEND, &b->addr, b->family)) {
			if (c->in_table[id])
				bad(c, "backend %u (%s): address not in %s", id, es,
				    XLB_MAP_ADDR_FILTER);
			else
				left(c, "backend %u (%s): address not in %s", id, es,
				     XLB_MAP_ADDR_FILTER);
		}
	}
}

/*
 * Tables no VIP points at: a swap that never switched over, or a deleted
 * VIP's. No packet reaches them, and the next swap of that VIP id overwrites
 * them; xlbd does not look for them on start, so they are only counted, not
 * held against the maps even by --strict.
 */
static int unused_table(void *ctx, __u32 tid, __u32 map_id)
{
	struct ck *c = ctx;
	__u32 vid = tid / 2;
	const struct xlb_vip *vp;

	(void)map_id;
	vp = vid < c->max_vips && c->owner[vid] ? &c->vips[c->owner[vid] - 1].vip : NULL;
	if (!vp || !vp->table_size || vp->table_id != tid)
		c->unused++;
	return 0;
}

static int check_read(struct ck *c)
{
	__u32 n;
	int err;

	c->max_vips = xlb_reader_max_entries(c->r, XLB_M_VIPS);
	err = xlb_reader_vips(c->r, &c->vips, &c->n) ?:
	      xlb_reader_backends(c->r, &c->bes, &n) ?: xlb_reader_addr_filter(c->r, c->filter);
	if (err) {
		xlbdump_error(c->o, "%s: read: %s", xlb_reader_pin_path(c->r), strerror(-err));
		return err;
	}
	c->max_be = n;
	c->in_table = calloc(n ? n : 1, sizeof(*c->in_table));
	c->live = calloc(n ? n : 1, sizeof(*c->live));
	c->owner = calloc(c->max_vips ? c->max_vips : 1, sizeof(*c->owner));
	if (!c->in_table || !c->live || !c->owner) {
		xlbdump_error(c->o, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void check_report(struct ck *c)
{
	const struct xlbdump_opts *o = c->o;
	json_t *top;

	if (!o->json) {
		printf("check %s: %zu VIPs, %zu backends, %zu table slots: %u errors, %u "
		       "leftovers%s, %u unused tables\n",
		       o->pin, c->n, c->nbe, c->slots, c->errors, c->leftovers,
		       c->leftovers && !o->strict ? " (repaired when xlbd adopts the maps)" : "",
		       c->unused);
		return;
	}
	top = json_pack("{s:s, s:I, s:I, s:I, s:i, s:i, s:i, s:b, s:b}", "pin_path", o->pin,
			"vips", (json_int_t)c->n, "backends", (json_int_t)c->nbe, "table_slots",
			(json_int_t)c->slots, "errors", (int)c->errors, "leftovers",
			(int)c->leftovers, "unused_tables", (int)c->unused, "strict", o->strict,
			"consistent", !c->errors && !(o->strict && c->leftovers));
	json_object_set_new(top, "problems", c->problems);
	c->problems = NULL;
	xlbdump_json_print(o, top);
}

int xlbdump_check(const struct xlbdump_opts *o)
{
	struct ck c = { .o = o };
	struct xlb_reader *r;
	int ret = 2;

	if (xlbdump_open(o, &r))
		return 2;
	c.r = r;
	if (o->json)
		c.problems = json_array();
	if (check_read(&c))
		goto out;
	vips_check(&c);
	vip_keys_check(&c);
	backends_check(&c);
	if (endpoints_check(&c)) {
		xlbdump_error(o, "out of memory");
		goto out;
	}
	xlb_reader_table_walk(r, unused_table, &c);
	check_report(&c);
	ret = c.errors || (o->strict && c.leftovers) ? 1 : 0;
out:
	json_decref(c.problems);
	free(c.vips);
	free(c.bes);
	free(c.in_table);
	free(c.owner);
	free(c.live);
	xlb_reader_close(r);
	return ret;
}
