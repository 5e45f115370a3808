// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The data plane's write side (see dp.h): VIPs, backends, Maglev tables,
 * names and settings. It keeps a mirror of what it wrote (per-VIP backend
 * lists, the backend array, the live tables) so diffs cost no map scans, and
 * writes in an order that keeps every packet consistent: backends exist
 * before a table names them, a table is complete before a VIP points at it,
 * a VIP is gone before its backends are freed. Derived maps (reference
 * counts of VIP addresses, backend endpoints with their primary backend, the
 * VIP keys by id, the address filter) change with the primary ones. An
 * endpoint that several VIPs' backends share names one of them as its
 * primary; all of them carry XLB_BE_F_REPLY_ENTRY before the endpoint counts
 * a second one, and the last one keeps it until the count is back at one
 * (abi.h says why replies need this).
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "dp_internal.h"
#include "netdev_xdp.h"
#include "log.h"
#include "maglev.h"
#include "names.h"

static int vip_lookup(struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *vip);

int xlb_dp_percpu_size(const struct xlb_dp *dp, size_t value_size)
{
	return dp->ncpus * ((value_size + 7) & ~(size_t)7);
}

static int zero_percpu(struct xlb_dp *dp, int fd, __u32 id)
{
	return bpf_map_update_elem(fd, &id, dp->zeros, BPF_ANY) ? -errno : 0;
}

static int vip_flood_clear(struct xlb_dp *dp, __u32 id)
{
	struct xlb_vip_flood none = {};
	int err = dp->fd_vip_budget >= 0 ? zero_percpu(dp, dp->fd_vip_budget, id) : 0;

	if (err)
		return err;
	if (dp->fd_vip_flood >= 0 && bpf_map_update_elem(dp->fd_vip_flood, &id, &none, BPF_ANY))
		return -errno;
	return 0;
}

static void wb_init(struct xlb_wbatch *b, int fd, __u32 ksz, __u32 vsz)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->ksz = ksz;
	b->vsz = vsz;
}

static void wb_free(struct xlb_wbatch *b)
{
	free(b->k);
	free(b->v);
	b->k = b->v = NULL;
	b->n = b->cap = 0;
}

static int wb_add(struct xlb_wbatch *b, const void *key, const void *val)
{
	if (b->n == b->cap) {
		__u32 cap = b->cap ? b->cap * 2 : 16;
		__u8 *k = realloc(b->k, (size_t)cap * b->ksz), *v;

		if (!k)
			return -ENOMEM;
		b->k = k;
		v = realloc(b->v, (size_t)cap * b->vsz);
		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	memcpy(b->k + (size_t)b->n * b->ksz, key, b->ksz);
	memcpy(b->v + (size_t)b->n * b->vsz, val, b->vsz);
	b->n++;
	return 0;
}

/* Writes what was gathered, in order; one element at a time where batches are unsupported. */
static int wb_flush(struct xlb_wbatch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 done = b->n, i;
	int err = 0;

	if (!b->n)
		return 0;
	if (bpf_map_update_batch(b->fd, b->k, b->v, &done, &opts)) {
		if (done > b->n)
			done = 0;
		for (i = done; i < b->n && !err; i++)
			if (bpf_map_update_elem(b->fd, b->k + (size_t)i * b->ksz,
						b->v + (size_t)i * b->vsz, BPF_ANY))
				err = -errno;
	}
	b->n = 0;
	return err;
}

int xlb_dp_ref_cmp(const void *a, const void *b)
{
	return memcmp(a, b, XLB_REF_KEY);
}

static void ref_free(void *p)
{
	struct xlb_ref *ref = p;

	free(ref->ids);
	free(ref);
}

void xlb_dp_refs_clear(struct xlb_refs *r)
{
	tdestroy(r->root, ref_free);
	r->root = NULL;
}

int xlb_dp_ref_ids_add(struct xlb_ref *ref, __u32 id)
{
	__u32 n = ref->v.refs, *ids;

	if (n == ref->cap) {
		ids = realloc(ref->ids, (n ? 2 * n : 2) * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		ref->ids = ids;
		ref->cap = n ? 2 * n : 2;
	}
	ref->ids[n] = id;
	ref->v.refs = n + 1;
	return 0;
}

/* The entry of key in a mirror, made (empty) when create says so; NULL: none, or no memory. */
static struct xlb_ref *ref_get(struct xlb_refs *r, const void *key, bool create)
{
	struct xlb_ref probe, *ref, **slot;

	memcpy(probe.key, key, XLB_REF_KEY);
	slot = tfind(&probe, &r->root, xlb_dp_ref_cmp);
	if (slot || !create)
		return slot ? *slot : NULL;
	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return NULL;
	memcpy(ref->key, key, XLB_REF_KEY);
	slot = tsearch(ref, &r->root, xlb_dp_ref_cmp);
	if (!slot) {
		free(ref);
		return NULL;
	}
	return *slot;
}

static int ref_drop(struct xlb_refs *r, struct xlb_ref *ref)
{
	__u8 key[XLB_REF_KEY];

	memcpy(key, ref->key, XLB_REF_KEY);
	tdelete(ref, &r->root, xlb_dp_ref_cmp);
	ref_free(ref);
	if (bpf_map_delete_elem(r->fd, key) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Adds delta to a VIP address's count (xlb_vip_addrs), deleting the entry at zero. */
static int ref_add(struct xlb_refs *r, const void *key, int delta)
{
	struct xlb_ref *ref = ref_get(r, key, delta > 0);

	if (!ref)
		return delta > 0 ? -ENOMEM : 0;
	if (delta < 0 && ref->v.refs <= (__u32)-delta)
		return ref_drop(r, ref);
	ref->v.refs += delta;
	return bpf_map_update_elem(r->fd, ref->key, &ref->v, BPF_ANY) ? -errno : 0;
}

/* Writes a backend now, or queues it in wb; the mirror changes at once either way. */
static int backend_write(struct xlb_dp *dp, __u32 id, const struct xlb_backend *be,
			 struct xlb_wbatch *wb);

/*
 * Backend id joins its endpoint. The first backend there is its primary.
 * Once the endpoint is shared, every backend at it has XLB_BE_F_REPLY_ENTRY
 * (*reply_entry for the new one, which the caller writes with the backend;
 * the primary's is written here, at once): the caller flushes backends
 * before the endpoint's new count goes into the map, so the programs never
 * see a shared endpoint with a backend whose flows leave no reply entry.
 * The primary records them too because a tuple's latest flow must always
 * overwrite the reply entry an earlier flow through another VIP left.
 */
static int endpoint_join(struct xlb_dp *dp, const struct xlb_endpoint_key *ek, __u32 id,
			 struct xlb_wbatch *wb, bool *reply_entry)
{
	struct xlb_ref *ref = ref_get(&dp->be_refs, ek, true);
	struct xlb_backend be;
	int err;

	if (!ref)
		return -ENOMEM;
	*reply_entry = ref->v.refs > 0;
	if (ref->v.refs == 1 && !(dp->backends[ref->v.backend_id].flags & XLB_BE_F_REPLY_ENTRY)) {
		be = dp->backends[ref->v.backend_id];
		be.flags |= XLB_BE_F_REPLY_ENTRY;
		err = backend_write(dp, ref->v.backend_id, &be, NULL);
		if (err)
			return err;
	}
	err = xlb_dp_ref_ids_add(ref, id);
	if (err)
		return err;
	if (!*reply_entry)
		ref->v.backend_id = id;
	return wb_add(wb, ref->key, &ref->v);
}

/*
 * Backend id leaves its endpoint (it is already removed). When it was the
 * primary and others remain, the oldest of them is promoted. When one
 * backend is left, the endpoint's count says so first and only then is the
 * flag cleared, so its new flows never go without a reply entry while
 * replies still look for one.
 */
static int endpoint_leave(struct xlb_dp *dp, const struct xlb_endpoint_key *ek, __u32 id)
{
	struct xlb_ref *ref = ref_get(&dp->be_refs, ek, false);
	struct xlb_backend be;
	__u32 i, n;

	if (!ref)
		return 0;
	n = ref->v.refs;
	for (i = 0; i < n && ref->ids[i] != id; i++)
		;
	if (i == n)
		return 0;
	memmove(&ref->ids[i], &ref->ids[i + 1], (n - i - 1) * sizeof(*ref->ids));
	ref->v.refs = --n;
	if (!n)
		return ref_drop(&dp->be_refs, ref);
	if (ref->v.backend_id == id)
		ref->v.backend_id = ref->ids[0];
	if (bpf_map_update_elem(dp->be_refs.fd, ref->key, &ref->v, BPF_ANY))
		return -errno;
	be = dp->backends[ref->v.backend_id];
	if (n > 1 || !(be.flags & XLB_BE_F_REPLY_ENTRY))
		return 0;
	be.flags &= ~XLB_BE_F_REPLY_ENTRY;
	return backend_write(dp, ref->v.backend_id, &be, NULL);
}

int xlb_dp_filter_write(struct xlb_dp *dp, __u32 word, bool force)
{
	__u64 w = 0;
	__u32 bit;

	for (bit = 0; bit < 64; bit++)
		if (dp->filter_refs[word * 64 + bit])
			w |= 1ULL << bit;
	if (w == dp->filter[word] && !force)
		return 0;
	if (bpf_map_update_elem(dp->fd_addr_filter, &word, &w, BPF_ANY))
		return -errno;
	dp->filter[word] = w;
	return 0;
}

/*
 * Counts an address in or out of a filter. Bits are set before the address
 * goes live and cleared after it is gone, so the filter never hides a VIP.
 */
static int filter_ref(struct xlb_dp *dp, __u32 kind, const union xlb_addr *a, __u8 family,
		      int delta)
{
	__u32 bit = xlb_filter_bit(a, family);
	__u32 i = (kind << XLB_FILTER_BITS) | bit;

	if (delta < 0 && !dp->filter_refs[i])
		return 0;
	dp->filter_refs[i] += delta;
	return xlb_dp_filter_write(dp, xlb_filter_word(kind, bit), false);
}

void xlb_dp_endpoint_key(struct xlb_endpoint_key *ek, const struct xlb_backend *be, __u8 proto)
{
	memset(ek, 0, sizeof(*ek));
	ek->addr = be->addr;
	ek->port = be->port;
	ek->proto = proto;
	ek->family = be->family;
}

void xlb_dp_addr_key(struct xlb_addr_key *ak, const struct xlb_vip_key *vk)
{
	memset(ak, 0, sizeof(*ak));
	ak->addr = vk->addr;
	ak->family = vk->family;
}

int xlb_dp_vip_state_add(struct xlb_vip_state *vs, __u32 bid)
{
	__u32 *n;

	if (vs->n == vs->cap) {
		n = realloc(vs->bids, (vs->cap ? vs->cap * 2 : 8) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		vs->bids = n;
		vs->cap = vs->cap ? vs->cap * 2 : 8;
	}
	vs->bids[vs->n++] = bid;
	return 0;
}

void xlb_dp_vip_state_free(struct xlb_vip_state *vs)
{
	free(vs->bids);
	free(vs->table);
	memset(vs, 0, sizeof(*vs));
}

static int alloc_vip_id(struct xlb_dp *dp, __u32 *id)
{
	__u32 i, c;

	for (i = 1; i < dp->max_vips; i++) {
		c = dp->vip_cursor + i - 1;
		if (c >= dp->max_vips)
			c = c - dp->max_vips + 1;
		if (!dp->vips[c].used) {
			dp->vip_cursor = c + 1 < dp->max_vips ? c + 1 : 1;
			*id = c;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Next-fit, so a freed slot is reused as late as possible. */
static int alloc_backend_id(struct xlb_dp *dp, __u32 *id)
{
	__u32 i, c;

	for (i = 1; i < dp->max_backends; i++) {
		c = dp->be_cursor + i - 1;
		if (c >= dp->max_backends)
			c = c - dp->max_backends + 1;
		if (dp->backends[c].state == XLB_BE_REMOVED) {
			dp->be_cursor = c + 1 < dp->max_backends ? c + 1 : 1;
			*id = c;
			return 0;
		}
	}
	return -ENOSPC;
}

/* xlb_vip_keys[id]: the VIP's key, or zero (key NULL) once the id is free. */
static int vip_key_write(struct xlb_dp *dp, __u32 id, const struct xlb_vip_key *key)
{
	struct xlb_vip_key zero = {};

	return bpf_map_update_elem(dp->fd_vip_keys, &id, key ? key : &zero, BPF_ANY) ? -errno : 0;
}

int xlb_vip_put(struct xlb_dp *dp, const struct xlb_vip_key *key, __u16 flags, __u32 *vip_id)
{
	struct xlb_vip vip = {};
	struct xlb_addr_key ak;
	char name[80];
	__u32 id;
	int err;

	xlb_vip_key_str(key, name, sizeof(name));
	if ((key->family != XLB_AF_INET && key->family != XLB_AF_INET6) ||
	    (key->proto != XLB_PROTO_TCP && key->proto != XLB_PROTO_UDP) || !key->port) {
		pr_err("vip %s: bad family, protocol or port", name);
		return -EINVAL;
	}
	if (!vip_lookup(dp, key, &vip)) {
		if (vip_id)
			*vip_id = vip.vip_id;
		if (vip.flags == flags)
			return 0;
		vip.flags = flags;
		err = bpf_map_update_elem(dp->fd_vips, key, &vip, BPF_EXIST) ? -errno : 0;
		if (err)
			pr_err("vip %s: update flags: %s", name, strerror(-err));
		return err;
	}
	err = alloc_vip_id(dp, &id);
	if (err) {
		pr_err("vip %s: no free VIP id (max %u)", name, dp->max_vips - 1);
		return err;
	}
	/*
	 * Its key before the VIP exists: a reply to it is rebuilt from xlb_vip_keys.
	 * A reused id starts with no flood mark and a fresh budget, so replies are
	 * never matched statelessly on the strength of an earlier VIP's flood.
	 */
	err = zero_percpu(dp, dp->fd_vip_stats, id) ?: xlb_vip_meta_set(dp, id, NULL, NULL) ?:
	      vip_key_write(dp, id, key) ?: vip_flood_clear(dp, id);
	if (err)
		goto fail;
	vip.vip_id = id;
	vip.table_id = XLB_TABLE_ID(id, 0);
	vip.flags = flags;
	vip.mode = XLB_MODE_NAT;
	xlb_dp_addr_key(&ak, key);
	err = ref_add(&dp->vip_refs, &ak, 1);
	if (err)
		goto fail_key;
	err = filter_ref(dp, XLB_FILTER_VIP, &key->addr, key->family, 1);
	if (err) {
		ref_add(&dp->vip_refs, &ak, -1);
		goto fail_key;
	}
	if (bpf_map_update_elem(dp->fd_vips, key, &vip, BPF_NOEXIST)) {
		err = -errno;
		ref_add(&dp->vip_refs, &ak, -1);
		filter_ref(dp, XLB_FILTER_VIP, &key->addr, key->family, -1);
		goto fail_key;
	}
	dp->vips[id].used = true;
	dp->vips[id].key = *key;
	dp->vips[id].table_known = true; /* none yet: nothing to read back */
	if (vip_id)
		*vip_id = id;
	return 0;
fail_key:
	vip_key_write(dp, id, NULL);
fail:
	pr_err("vip %s: create: %s", name, strerror(-err));
	return err;
}

static int backend_write(struct xlb_dp *dp, __u32 id, const struct xlb_backend *be,
			 struct xlb_wbatch *wb)
{
	int err = 0;

	if (wb)
		err = wb_add(wb, &id, be);
	else if (bpf_map_update_elem(dp->fd_backends, &id, be, BPF_ANY))
		err = -errno;
	if (!err)
		dp->backends[id] = *be;
	return err;
}

/* Sends queued backend writes; on failure the mirror is re-read so it never lies. */
static int backends_flush(struct xlb_dp *dp, struct xlb_wbatch *wb)
{
	__u32 i, n = wb->n, id;
	int err = wb_flush(wb);

	for (i = 0; err && i < n; i++) {
		memcpy(&id, wb->k + (size_t)i * wb->ksz, sizeof(id));
		bpf_map_lookup_elem(dp->fd_backends, &id, &dp->backends[id]);
	}
	return err;
}

/* DSR's tag of a backend, from its address and port only: every node gives it the same one. */
static __u16 dsr_tag_of(const union xlb_addr *addr, __be16 port, __u8 family)
{
	__u8 k[19];
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	memcpy(k, addr, 16);
	memcpy(k + 16, &port, 2);
	k[18] = family;
	for (i = 0; i < sizeof(k); i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	return (__u16)(h ^ h >> 16 ^ h >> 32 ^ h >> 48);
}

/* Forgets backend id's DSR agent, and its tag where the tag still names it. */
static int dsr_forget(struct xlb_dp *dp, __u32 id, const struct xlb_vip_key *vk)
{
	struct xlb_dsr_tag_key tk = {.vip = *vk};
	struct xlb_dsr_agent none = {};
	__u32 cur;

	if (!dp->dsr[id].pad)
		return 0;
	tk.tag = dp->dsr[id].tag;
	if (!bpf_map_lookup_elem(dp->fd_dsr_tags, &tk, &cur) && cur == id &&
	    bpf_map_delete_elem(dp->fd_dsr_tags, &tk) && errno != ENOENT)
		return -errno;
	if (bpf_map_update_elem(dp->fd_dsr_agents, &id, &none, BPF_ANY))
		return -errno;
	dp->dsr[id] = none;
	return 0;
}

/* Marks a backend removed; its flows are re-picked and its slot may be reused later. */
static int backend_remove(struct xlb_dp *dp, __u32 id, __u8 proto)
{
	struct xlb_backend be = dp->backends[id];
	struct xlb_endpoint_key ek;
	int err;

	if (be.vip_id < dp->max_vips && dp->vips[be.vip_id].used) {
		err = dsr_forget(dp, id, &dp->vips[be.vip_id].key);
		if (err)
			return err;
	}

	xlb_dp_endpoint_key(&ek, &be, proto);
	be.state = XLB_BE_REMOVED;
	be.weight = 0;
	be.flags = 0;
	err = backend_write(dp, id, &be, NULL);
	if (err)
		return err;
	err = filter_ref(dp, XLB_FILTER_BACKEND, &be.addr, be.family, -1);
	return endpoint_leave(dp, &ek, id) ?: err;
}

/* A new table map holding table[] (slot -> backend id); returns its fd or -errno. */
static int table_create(const __u32 *table, __u32 size)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 n = XLB_TABLE_ENTRIES(size), *keys, i, count = n;
	struct xlb_table_entry *ents;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_table", sizeof(__u32),
			    sizeof(struct xlb_table_entry), n, &copts);
	if (fd < 0)
		return -errno;
	keys = malloc(n * sizeof(*keys));
	ents = calloc(n, sizeof(*ents));
	if (!keys || !ents) {
		free(keys);
		free(ents);
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		keys[i] = i;
	memcpy(ents, table, size * sizeof(*table));
	if (bpf_map_update_batch(fd, keys, ents, &count, &bopts)) {
		/* Kernels without batch ops for arrays: one element at a time. */
		for (i = 0; i < n && !err; i++)
			if (bpf_map_update_elem(fd, &i, &ents[i], BPF_ANY))
				err = -errno;
	}
	free(keys);
	free(ents);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The mirror of a table as written (or about to go live). */
static void table_remember(struct xlb_vip_state *vs, const __u32 *table, __u32 size)
{
	free(vs->table);
	vs->table = NULL;
	if (size) {
		vs->table = malloc(size * sizeof(*table));
		if (vs->table)
			memcpy(vs->table, table, size * sizeof(*table));
	}
	vs->table_size = size;
	vs->table_known = vs->table || !size;
}

static int table_defer(struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *vip,
		       __u32 *table, __u32 size)
{
	struct xlb_vip_state *vs = &dp->vips[vip->vip_id];
	struct xlb_pending *p;
	int fd;

	if (dp->npend == dp->cappend) {
		size_t cap = dp->cappend ? dp->cappend * 2 : 256;

		p = realloc(dp->pend, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		dp->pend = p;
		dp->cappend = cap;
	}
	fd = table_create(table, size);
	if (fd < 0)
		return fd;
	p = &dp->pend[dp->npend++];
	p->key = *key;
	p->tid = XLB_TABLE_ID(vip->vip_id, (vip->table_id & 1) ^ 1);
	p->fd = fd;
	vip->table_id = p->tid;
	vip->table_size = size;
	p->vip = *vip;
	vs->pending = true;
	table_remember(vs, table, size);
	return 0;
}

/*
 * Makes the waiting first tables live: all into xlb_tables at once (one grace
 * period), then each VIP switched to its table. A failure leaves that VIP
 * without a table, as it was, and its mirror unknown, so the next write redoes it.
 */
int xlb_dp_tables_publish(struct xlb_dp *dp)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *tids = NULL, count, i;
	int *fds = NULL, err = 0;
	size_t n = dp->npend;

	if (!n)
		return 0;
	tids = malloc(n * sizeof(*tids));
	fds = malloc(n * sizeof(*fds));
	if (tids && fds) {
		for (i = 0; i < n; i++) {
			tids[i] = dp->pend[i].tid;
			fds[i] = dp->pend[i].fd;
		}
		count = n;
		if (bpf_map_update_batch(dp->fd_tables, tids, fds, &count, &opts) && count > n)
			count = 0;
	} else {
		count = 0;
	}
	for (i = 0; i < n; i++) {
		struct xlb_pending *p = &dp->pend[i];
		struct xlb_vip_state *vs = &dp->vips[p->vip.vip_id];
		int e = 0;

		/* Past what the batch did (kernels without batches for map-in-map): one by one. */
		if (i >= count && bpf_map_update_elem(dp->fd_tables, &p->tid, &p->fd, BPF_ANY))
			e = -errno;
		if (!e && bpf_map_update_elem(dp->fd_vips, &p->key, &p->vip, BPF_EXIST))
			e = -errno;
		if (e) {
			char name[80];

			pr_err("vip %s: switch to its first table: %s",
			       xlb_vip_key_str(&p->key, name, sizeof(name)), strerror(-e));
			vs->table_known = false;
			err = err ?: e;
		}
		vs->pending = false;
		close(p->fd);
	}
	dp->npend = 0;
	free(tids);
	free(fds);
	return err;
}

int xlb_dp_batch_begin(struct xlb_dp *dp)
{
	dp->batching = true;
	return 0;
}

int xlb_dp_batch_end(struct xlb_dp *dp)
{
	dp->batching = false;
	return xlb_dp_tables_publish(dp);
}

/*
 * Reads a VIP element; one whose first table is still waiting goes live first,
 * so the caller sees (and changes) what the data plane will have.
 */
static int vip_lookup(struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *vip)
{
	if (bpf_map_lookup_elem(dp->fd_vips, key, vip))
		return -errno;
	if (vip->vip_id < dp->max_vips && dp->vips[vip->vip_id].pending) {
		xlb_dp_tables_publish(dp);
		if (bpf_map_lookup_elem(dp->fd_vips, key, vip))
			return -errno;
	}
	return 0;
}

static int table_swap(struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *vip,
		      __u32 *table, __u32 size)
{
	struct xlb_vip_state *vs = &dp->vips[vip->vip_id];
	__u32 old_tid = vip->table_id, old_size = vip->table_size, new_tid = old_tid;
	int inner = -1, err = 0;

	if (size && !old_size && dp->batching)
		return table_defer(dp, key, vip, table, size);
	if (size) {
		new_tid = XLB_TABLE_ID(vip->vip_id, (old_tid & 1) ^ 1);
		inner = table_create(table, size);
		if (inner < 0) {
			err = inner;
			goto cleanup;
		}
		if (bpf_map_update_elem(dp->fd_tables, &new_tid, &inner, BPF_ANY)) {
			err = -errno;
			goto cleanup;
		}
	}
	/* The switch: one atomic replace of the VIP element. */
	vip->table_id = new_tid;
	vip->table_size = size;
	if (bpf_map_update_elem(dp->fd_vips, key, vip, BPF_EXIST)) {
		err = -errno;
		goto cleanup;
	}
	if (old_size && old_tid != new_tid)
		bpf_map_delete_elem(dp->fd_tables, &old_tid);
	if (!size)
		bpf_map_delete_elem(dp->fd_tables, &old_tid);
	table_remember(vs, table, size);
cleanup:
	if (inner >= 0)
		close(inner);
	return err;
}

static int table_current(struct xlb_dp *dp, const struct xlb_vip_key *key,
			 struct xlb_vip_state *vs)
{
	int n;

	if (vs->table_known)
		return 0;
	free(vs->table);
	vs->table = NULL;
	vs->table_size = 0;
	n = xlb_vip_table_read(dp, key, NULL, 0);
	if (n <= 0) {
		vs->table_known = n == 0;
		return n;
	}
	vs->table = malloc(n * sizeof(__u32));
	if (!vs->table)
		return -ENOMEM;
	n = xlb_vip_table_read(dp, key, vs->table, n);
	if (n < 0)
		return n;
	vs->table_size = n;
	vs->table_known = true;
	return 0;
}

/* Identity bytes of a backend for Maglev: the same on every node. */
struct xlb_maglev_key {
	__u8 family;
	__u8 addr[16];
	__u8 port[2];
} __attribute__((packed));

static int spec_check(const struct xlb_vip_key *key, const struct xlb_backend_spec *specs,
		      size_t n, const char *name)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (specs[i].family != key->family) {
			pr_err("vip %s: backend %zu: address family differs from the VIP's", name, i);
			return -EINVAL;
		}
		if (specs[i].state != XLB_BE_ACTIVE && specs[i].state != XLB_BE_DRAINING) {
			pr_err("vip %s: backend %zu: state must be active or draining", name, i);
			return -EINVAL;
		}
		if (!specs[i].port) {
			pr_err("vip %s: backend %zu: port 0", name, i);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(&specs[i].addr, &specs[j].addr, sizeof(specs[i].addr)) &&
			    specs[i].port == specs[j].port) {
				pr_err("vip %s: backend %zu duplicates backend %zu", name, i, j);
				return -EINVAL;
			}
	}
	return 0;
}

/* One xlb_vip_set_backends call: what it was given, what it found, what it queued. */
struct be_change {
	struct xlb_dp *dp;
	const struct xlb_vip_key *key;
	const struct xlb_backend_spec *specs;
	size_t n;
	char name[80];
	struct xlb_vip vip;
	struct xlb_vip_state *vs;
	__u32 *ids; /* per spec: its backend id, 0 until it has one */
	bool *keep; /* per backend the VIP had: named again by a spec */
	struct xlb_maglev_backend *mb; /* the active backends, Maglev's input */
	struct xlb_maglev_key *mk;
	size_t nact;
	__u32 *table, size; /* the table they make */
	struct xlb_wbatch wb_stats, wb_be, wb_refs;
};

/* Specs that name a backend the VIP has keep its id (and so its flows). */
static void backends_match(struct be_change *c)
{
	struct xlb_vip_state *vs = c->vs;
	size_t i, j;

	for (i = 0; i < c->n; i++)
		for (j = 0; j < vs->n; j++) {
			const struct xlb_backend *be = &c->dp->backends[vs->bids[j]];

			if (!c->keep[j] &&
			    !memcmp(&be->addr, &c->specs[i].addr, sizeof(be->addr)) &&
			    be->port == c->specs[i].port) {
				c->ids[i] = vs->bids[j];
				c->keep[j] = true;
				break;
			}
		}
}

/* A new backend for spec i: a free slot, fresh counters, its endpoint and filter bit counted. */
static int backend_create(struct be_change *c, size_t i, __u8 state)
{
	struct xlb_dp *dp = c->dp;
	const struct xlb_backend_spec *sp = &c->specs[i];
	struct xlb_backend be = {};
	struct xlb_endpoint_key ek;
	bool reply_entry;
	__u32 id;
	int err;

	err = alloc_backend_id(dp, &id);
	if (err) {
		pr_err("vip %s: no free backend slot (max %u)", c->name, dp->max_backends - 1);
		return err;
	}
	err = wb_add(&c->wb_stats, &id, dp->zeros);
	if (err)
		return err;
	be.addr = sp->addr;
	be.port = sp->port;
	be.family = sp->family;
	be.state = state;
	be.gen = dp->backends[id].gen + 1;
	be.vip_id = c->vip.vip_id;
	be.weight = state == XLB_BE_ACTIVE ? sp->weight : 0;
	err = filter_ref(dp, XLB_FILTER_BACKEND, &be.addr, be.family, 1);
	if (err)
		return err;
	xlb_dp_endpoint_key(&ek, &be, c->key->proto);
	err = endpoint_join(dp, &ek, id, &c->wb_refs, &reply_entry);
	if (err)
		return err;
	if (reply_entry)
		be.flags |= XLB_BE_F_REPLY_ENTRY;
	err = backend_write(dp, id, &be, &c->wb_be);
	if (err)
		return err;
	c->ids[i] = id;
	return xlb_dp_vip_state_add(c->vs, id);
}

/*
 * Step 1: new backends, and backends that become active, exist before any
 * table names them; the active ones are gathered as Maglev's input.
 */
static int backends_admit(struct be_change *c)
{
	struct xlb_dp *dp = c->dp;
	size_t i;
	int err;

	for (i = 0; i < c->n; i++) {
		const struct xlb_backend_spec *sp = &c->specs[i];
		__u8 state = sp->state == XLB_BE_ACTIVE && sp->weight ? XLB_BE_ACTIVE
								      : XLB_BE_DRAINING;

		if (!c->ids[i]) {
			err = backend_create(c, i, state);
			if (err)
				return err;
		} else if (state == XLB_BE_ACTIVE &&
			   (dp->backends[c->ids[i]].state != state ||
			    dp->backends[c->ids[i]].weight != sp->weight)) {
			struct xlb_backend be = dp->backends[c->ids[i]];

			be.state = state;
			be.weight = sp->weight;
			err = backend_write(dp, c->ids[i], &be, &c->wb_be);
			if (err)
				return err;
		}
		if (state == XLB_BE_ACTIVE) {
			struct xlb_maglev_key *k = &c->mk[c->nact];

			k->family = sp->family;
			memcpy(k->addr, &sp->addr, sizeof(k->addr));
			memcpy(k->port, &sp->port, sizeof(k->port));
			c->mb[c->nact].key = k;
			c->mb[c->nact].key_len = sizeof(*k);
			c->mb[c->nact].weight = sp->weight;
			c->mb[c->nact].id = c->ids[i];
			c->nact++;
		}
	}
	return 0;
}

/*
 * Step 1b: every backend's DSR agent and tag (abi.h), before a table names
 * it. Tags are unique within the VIP: where two collide, the later in the
 * specs' order (address order, the same on every node that has the same
 * backends) takes the next free one. Only what changed is written (the
 * mirror dp->dsr says what is there); the entry is marked written (pad 1) so
 * that an unknown agent still holds its tag.
 */
static int dsr_update(struct be_change *c)
{
	struct xlb_dsr_tag_key tk = {.vip = *c->key};
	struct xlb_dp *dp = c->dp;
	__u8 *used = calloc(65536 / 8, 1);
	int err = 0;
	size_t i;

	if (!used)
		return -ENOMEM;
	for (i = 0; i < c->n && !err; i++) {
		const struct xlb_backend_spec *sp = &c->specs[i];
		struct xlb_dsr_agent want = {}, *have;
		__u32 id = c->ids[i];
		__u16 tag = dsr_tag_of(&sp->addr, sp->port, sp->family);

		while (used[tag >> 3] & (1u << (tag & 7)))
			tag++;
		used[tag >> 3] |= 1u << (tag & 7);
		if (!id)
			continue;
		want.family = sp->agent_family;
		if (want.family)
			want.addr = sp->agent;
		want.tag = tag;
		want.pad = 1;
		have = &dp->dsr[id];
		if (!memcmp(have, &want, sizeof(want)))
			continue;
		/* Its old tag goes, unless a backend before it in this set took it. */
		if (have->pad && have->tag != tag && !(used[have->tag >> 3] & (1u << (have->tag & 7)))) {
			tk.tag = have->tag;
			bpf_map_delete_elem(dp->fd_dsr_tags, &tk);
		}
		tk.tag = tag;
		if (bpf_map_update_elem(dp->fd_dsr_tags, &tk, &id, BPF_ANY) ||
		    bpf_map_update_elem(dp->fd_dsr_agents, &id, &want, BPF_ANY))
			err = -errno;
		else
			*have = want;
	}
	free(used);
	if (err)
		pr_err("vip %s: write DSR agents and tags: %s", c->name, strerror(-err));
	return err;
}

/* Step 2: the table of the active backends, swapped in only when it changed. */
static int table_update(struct be_change *c)
{
	struct xlb_dp *dp = c->dp;
	struct xlb_vip_state *vs = c->vs;
	int err;

	if (c->nact) {
		c->size = xlb_maglev_size(c->nact);
		c->table = malloc(c->size * sizeof(*c->table));
		if (!c->table)
			return -ENOMEM;
		err = xlb_maglev_build(c->mb, c->nact, c->table, c->size);
		if (err) {
			pr_err("vip %s: build Maglev table (%zu backends, size %u): %s", c->name,
			       c->nact, c->size, strerror(-err));
			return err;
		}
	}
	/* Fresh counters before a backend goes live, its endpoint counted before it answers. */
	err = wb_flush(&c->wb_stats) ?: backends_flush(dp, &c->wb_be) ?: wb_flush(&c->wb_refs);
	if (err)
		return err;
	err = table_current(dp, c->key, vs);
	if (err)
		return err;
	if (vs->table_size == c->size &&
	    (!c->size || !memcmp(vs->table, c->table, c->size * sizeof(*c->table))))
		return 0;
	err = table_swap(dp, c->key, &c->vip, c->table, c->size);
	if (err)
		pr_err("vip %s: swap Maglev table: %s", c->name, strerror(-err));
	return err;
}

/* Step 3: only now may backends leave: the live table no longer names them. */
static int backends_retire(struct be_change *c)
{
	struct xlb_dp *dp = c->dp;
	struct xlb_vip_state *vs = c->vs;
	size_t i, j;
	int err;

	for (i = 0; i < c->n; i++) {
		struct xlb_backend be = dp->backends[c->ids[i]];

		if ((c->specs[i].state == XLB_BE_ACTIVE && c->specs[i].weight) ||
		    (be.state == XLB_BE_DRAINING && !be.weight))
			continue;
		be.state = XLB_BE_DRAINING;
		be.weight = 0;
		err = backend_write(dp, c->ids[i], &be, &c->wb_be);
		if (err)
			return err;
	}
	err = backends_flush(dp, &c->wb_be);
	if (err)
		return err;
	for (j = 0; j < vs->n;) {
		for (i = 0; i < c->n && c->ids[i] != vs->bids[j]; i++)
			;
		if (i < c->n) {
			j++;
			continue;
		}
		err = backend_remove(dp, vs->bids[j], c->key->proto);
		if (err)
			return err;
		vs->bids[j] = vs->bids[--vs->n];
	}
	return 0;
}

int xlb_vip_set_backends(struct xlb_dp *dp, const struct xlb_vip_key *key,
			 const struct xlb_backend_spec *specs, size_t n)
{
	struct be_change c = { .dp = dp, .key = key, .specs = specs, .n = n };
	int err, e;

	wb_init(&c.wb_stats, dp->fd_backend_stats, sizeof(__u32),
		xlb_dp_percpu_size(dp, sizeof(struct xlb_backend_stats)));
	wb_init(&c.wb_be, dp->fd_backends, sizeof(__u32), sizeof(struct xlb_backend));
	wb_init(&c.wb_refs, dp->fd_backend_addrs, XLB_REF_KEY, sizeof(struct xlb_endpoint));
	xlb_vip_key_str(key, c.name, sizeof(c.name));
	if (vip_lookup(dp, key, &c.vip)) {
		pr_err("vip %s: set backends: no such VIP", c.name);
		return -ENOENT;
	}
	if (c.vip.vip_id >= dp->max_vips || !dp->vips[c.vip.vip_id].used)
		return -EINVAL;
	c.vs = &dp->vips[c.vip.vip_id];
	err = spec_check(key, specs, n, c.name);
	if (err)
		return err;
	c.ids = calloc(n ? n : 1, sizeof(*c.ids));
	c.keep = calloc(c.vs->n ? c.vs->n : 1, sizeof(*c.keep));
	c.mb = calloc(n ? n : 1, sizeof(*c.mb));
	c.mk = calloc(n ? n : 1, sizeof(*c.mk));
	if (!c.ids || !c.keep || !c.mb || !c.mk) {
		err = -ENOMEM;
		goto cleanup;
	}
	backends_match(&c);
	err = backends_admit(&c) ?: dsr_update(&c) ?: table_update(&c) ?: backends_retire(&c);
cleanup:
	/* After a failure, what was queued still goes out: the mirror already shows it. */
	e = wb_flush(&c.wb_stats);
	err = err ?: e;
	e = backends_flush(dp, &c.wb_be);
	err = err ?: e;
	e = wb_flush(&c.wb_refs);
	err = err ?: e;
	wb_free(&c.wb_stats);
	wb_free(&c.wb_be);
	wb_free(&c.wb_refs);
	if (err && err != -ENOMEM)
		pr_err("vip %s: set backends: %s", c.name, strerror(-err));
	free(c.ids);
	free(c.keep);
	free(c.mb);
	free(c.mk);
	free(c.table);
	return err;
}

int xlb_vip_delete(struct xlb_dp *dp, const struct xlb_vip_key *key)
{
	struct xlb_vip_state *vs;
	struct xlb_addr_key ak;
	struct xlb_vip vip;
	__u32 i, tid;
	char name[80];
	int err = 0, e;

	xlb_vip_key_str(key, name, sizeof(name));
	if (vip_lookup(dp, key, &vip))
		return -ENOENT;
	/* First the VIP, so no new packet reaches its table or backends. */
	if (bpf_map_delete_elem(dp->fd_vips, key)) {
		err = -errno;
		pr_err("vip %s: delete: %s", name, strerror(-err));
		return err;
	}
	if (vip.vip_id < dp->max_vips && dp->vips[vip.vip_id].used) {
		vs = &dp->vips[vip.vip_id];
		for (i = 0; i < vs->n; i++) {
			e = backend_remove(dp, vs->bids[i], key->proto);
			err = err ?: e;
		}
		xlb_dp_vip_state_free(vs);
	}
	for (i = 0; i < 2; i++) {
		tid = XLB_TABLE_ID(vip.vip_id, i);
		bpf_map_delete_elem(dp->fd_tables, &tid);
	}
	if (vip.vip_id < dp->max_vips) {
		e = vip_key_write(dp, vip.vip_id, NULL);
		err = err ?: e;
	}
	xlb_dp_addr_key(&ak, key);
	e = ref_add(&dp->vip_refs, &ak, -1);
	err = err ?: e;
	e = filter_ref(dp, XLB_FILTER_VIP, &key->addr, key->family, -1);
	err = err ?: e;
	if (err)
		pr_err("vip %s: delete: %s", name, strerror(-err));
	return err;
}

int xlb_vip_backend_ids(const struct xlb_dp *dp, __u32 vip_id, __u32 *ids, size_t max)
{
	const struct xlb_vip_state *vs;
	size_t i;

	if (vip_id >= dp->max_vips || !dp->vips[vip_id].used)
		return -ENOENT;
	vs = &dp->vips[vip_id];
	for (i = 0; i < vs->n && i < max; i++)
		ids[i] = vs->bids[i];
	return vs->n;
}

int xlb_backend_find(const struct xlb_dp *dp, __u32 vip_id, const union xlb_addr *addr,
		     __be16 port, __u8 family, __u32 *id)
{
	const struct xlb_vip_state *vs;
	__u32 i;

	if (vip_id >= dp->max_vips || !dp->vips[vip_id].used)
		return -ENOENT;
	vs = &dp->vips[vip_id];
	for (i = 0; i < vs->n; i++) {
		const struct xlb_backend *be = &dp->backends[vs->bids[i]];

		if (be->family == family && be->port == port &&
		    !memcmp(&be->addr, addr, sizeof(*addr))) {
			*id = vs->bids[i];
			return 0;
		}
	}
	return -ENOENT;
}

int xlb_vip_meta_set(struct xlb_dp *dp, __u32 vip_id, const char *name, const char *app)
{
	struct xlb_vip_meta m = {};

	if (vip_id >= dp->max_vips)
		return -EINVAL;
	snprintf(m.name, sizeof(m.name), "%s", name ? name : "");
	snprintf(m.app, sizeof(m.app), "%s", app ? app : "");
	return bpf_map_update_elem(dp->fd_vip_meta, &vip_id, &m, BPF_ANY) ? -errno : 0;
}

int xlb_vip_set_mode(struct xlb_dp *dp, const struct xlb_vip_key *key, __u8 mode)
{
	struct xlb_vip vip;
	char name[80];
	int err;

	xlb_vip_key_str(key, name, sizeof(name));
	if (mode >= XLB_MODE_MAX) {
		pr_err("vip %s: unknown forwarding mode %u", name, mode);
		return -EINVAL;
	}
	err = vip_lookup(dp, key, &vip);
	if (err || vip.mode == mode)
		return err;
	vip.mode = mode;
	err = bpf_map_update_elem(dp->fd_vips, key, &vip, BPF_EXIST) ? -errno : 0;
	if (err)
		pr_err("vip %s: set mode %s: %s", name, xlb_mode_name(mode), strerror(-err));
	return err;
}

/* The interface's first IPv4 address and first global IPv6 one, from getifaddrs(). */
static void if_addr_take(struct xlb_if_addr *a, const struct ifaddrs *ifa)
{
	if (ifa->ifa_addr->sa_family == AF_INET) {
		if (!a->v4)
			a->v4 = ((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr;
	} else if (ifa->ifa_addr->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;

		if (!IN6_IS_ADDR_LINKLOCAL(in6) && !IN6_IS_ADDR_LOOPBACK(in6) &&
		    !(a->v6.v6[0] | a->v6.v6[1] | a->v6.v6[2] | a->v6.v6[3]))
			memcpy(&a->v6, in6, 16);
	}
}

struct if_want {
	__u32 ifindex;
	char name[IF_NAMESIZE];
	struct xlb_if_addr a;
};

/* Each interface's flags: the kernel's XDP answer where it gives one, else the guess. */
static void if_flags_fill(struct if_want *w, size_t n)
{
	struct xlb_netdev_xdp *devs = NULL;
	size_t nd = 0, i, j;
	bool have = !xlb_netdev_xdp_dump(&devs, &nd);

	for (i = 0; i < n; i++) {
		bool xmit = false, known = false;

		for (j = 0; have && j < nd; j++)
			if (devs[j].ifindex == w[i].ifindex) {
				xmit = devs[j].xmit;
				known = true;
				break;
			}
		if (!known)
			xmit = xlb_netdev_xdp_guess(w[i].name);
		w[i].a.flags = xmit ? 0 : XLB_IF_F_NO_XDP_XMIT;
		if (xlb_netdev_is_veth(w[i].name))
			w[i].a.flags |= XLB_IF_F_TX_REDIRECT;
	}
	free(devs);
}

static struct if_want *if_want_find(struct if_want *w, size_t n, __u32 ifindex)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].ifindex == ifindex)
			return &w[i];
	return NULL;
}

/* Nothing to say about the interface: no address, no flag. */
static bool if_addr_none(const struct xlb_if_addr *a)
{
	return !a->v4 && !a->flags && !(a->v6.v6[0] | a->v6.v6[1] | a->v6.v6[2] | a->v6.v6[3]);
}

int xlb_dp_if_addrs_sync(struct xlb_dp *dp)
{
	int fd = xlb_dp_map_fd(dp, XLB_MAP_IF_ADDRS), err = 0;
	struct if_want *want = NULL, *w;
	struct ifaddrs *ifs, *ifa;
	size_t n = 0, cap = 0, i;
	__u32 ifindex, key, next;
	struct xlb_if_addr have;
	bool more;

	if (fd < 0)
		return fd;
	if (getifaddrs(&ifs))
		return -errno;
	for (ifa = ifs; ifa && !err; ifa = ifa->ifa_next) {
		if (ifa->ifa_flags & IFF_LOOPBACK)
			continue;
		ifindex = if_nametoindex(ifa->ifa_name);
		if (!ifindex)
			continue;
		w = if_want_find(want, n, ifindex);
		if (!w) {
			if (n == cap) {
				struct if_want *m = realloc(want, (cap ? cap * 2 : 16) * sizeof(*m));

				if (!m) {
					err = -ENOMEM;
					break;
				}
				want = m;
				cap = cap ? cap * 2 : 16;
			}
			w = &want[n++];
			memset(w, 0, sizeof(*w));
			w->ifindex = ifindex;
			snprintf(w->name, sizeof(w->name), "%s", ifa->ifa_name);
		}
		if (ifa->ifa_addr)
			if_addr_take(&w->a, ifa);
	}
	freeifaddrs(ifs);
	if (!err)
		if_flags_fill(want, n);
	/* Interfaces gone (or without an address now) first, then each one's addresses. */
	for (more = !err && !bpf_map_get_next_key(fd, NULL, &key); more; key = next) {
		more = !bpf_map_get_next_key(fd, &key, &next);
		w = if_want_find(want, n, key);
		if (!w || if_addr_none(&w->a))
			bpf_map_delete_elem(fd, &key);
	}
	for (i = 0; i < n && !err; i++) {
		if (if_addr_none(&want[i].a) ||
		    (!bpf_map_lookup_elem(fd, &want[i].ifindex, &have) &&
		     !memcmp(&have, &want[i].a, sizeof(have))))
			continue;
		if (bpf_map_update_elem(fd, &want[i].ifindex, &want[i].a, BPF_ANY)) {
			err = -errno;
			pr_err("interface addresses: %u interfaces, the map holds %u: %s", (unsigned)n,
			       XLB_IF_ADDRS_MAX, strerror(-err));
		}
	}
	free(want);
	return err;
}

int xlb_config_set(struct xlb_dp *dp, const struct xlb_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(dp->fd_config, &zero, cfg, BPF_ANY) ? -errno : 0;
}
