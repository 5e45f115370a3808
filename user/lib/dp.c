// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The data plane's user-space side (see dp.h). It keeps a mirror of what it
 * wrote (per-VIP backend lists, the backend array, the live tables) so diffs
 * cost no map scans; on open the mirror is rebuilt from the pinned maps, and
 * derived maps (reference counts of VIP addresses and backend endpoints) are
 * recomputed from the primary ones, so a daemon killed half-way through a
 * write converges on its next start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "log.h"
#include "maglev.h"
#include "xlb.skel.h"

/* Fixed TC handle and priority, so a restarted daemon replaces its own filter. */
#define XLB_TC_HANDLE 0x786c
#define XLB_TC_PRIO 0x786c

struct xlb_vip_state {
	bool used;
	struct xlb_vip_key key;
	__u32 *bids; /* backends of the VIP that are not removed */
	__u32 n, cap;
	__u32 *table; /* the live table, as last written or read */
	__u32 table_size;
	bool table_known;
	bool pending; /* its first table waits in dp->pend (xlb_dp_batch_begin) */
};

/*
 * A VIP's first table, filled but not yet live. Putting a table into
 * xlb_tables makes the kernel wait for an RCU grace period, which on a busy
 * host takes a millisecond or more: a full sync of 10,000 new VIPs spent most
 * of its time there. In a batch, first tables wait here and go live together,
 * one grace period for all. Only first tables: a VIP without a table sends
 * nobody to any backend, so nothing else has to wait for the switch.
 */
struct xlb_pending {
	struct xlb_vip_key key;
	struct xlb_vip vip; /* with the new table id and size */
	__u32 tid;
	int fd;
};

struct xlb_map_ref {
	const char *name;
	int fd;
};

/* Both reference-counted maps have 20-byte keys (abi.h asserts the sizes). */
#define XLB_REF_KEY 20

/*
 * What a reference-count map holds, kept in a tree so a change costs one map
 * write instead of a lookup and a write.
 */
struct xlb_refs {
	int fd;
	void *root; /* tsearch() tree of struct xlb_ref */
};

struct xlb_ref {
	__u8 key[XLB_REF_KEY];
	__u32 cnt;
};

/*
 * Map writes gathered while one VIP changes and sent as one batch: a syscall
 * costs microseconds, and a full sync writes some 100,000 backends.
 */
struct xlb_wbatch {
	int fd;
	__u32 ksz, vsz, n, cap;
	__u8 *k, *v;
};

struct xlb_dp {
	struct xlb_bpf *skel;
	char pin_path[PATH_MAX];
	struct xlb_map_ref maps[16];
	int nmaps;
	int fd_vips, fd_vip_addrs, fd_tables, fd_backends, fd_backend_addrs, fd_config;
	int fd_stats, fd_vip_stats, fd_backend_stats, fd_vip_meta, fd_addr_filter;
	__u32 max_vips, max_backends;
	int ncpus;
	struct xlb_vip_state *vips; /* indexed by vip id */
	struct xlb_backend *backends; /* mirror of xlb_backends */
	__u32 vip_cursor, be_cursor;
	__u32 *filter_refs; /* per filter bit: live VIPs / backends hashing to it */
	__u64 filter[XLB_FILTER_WORDS]; /* what xlb_addr_filter holds */
	struct xlb_refs vip_refs, be_refs; /* mirrors of xlb_vip_addrs, xlb_backend_addrs */
	void *zeros; /* one zeroed per-CPU value of the largest stats struct */
	bool batching; /* between xlb_dp_batch_begin and _end */
	struct xlb_pending *pend;
	size_t npend, cappend;
};

static int tables_publish(struct xlb_dp *dp);
static int vip_lookup(struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *vip);

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static __u32 map_default_size(const char *name, const struct xlb_dp_opts *o)
{
	__u32 vips = o->max_vips ? o->max_vips : XLB_MAX_VIPS_DEFAULT;
	__u32 bes = o->max_backends ? o->max_backends : XLB_MAX_BACKENDS_DEFAULT;

	if (!strcmp(name, XLB_MAP_VIPS) || !strcmp(name, XLB_MAP_VIP_ADDRS) ||
	    !strcmp(name, XLB_MAP_VIP_STATS) || !strcmp(name, XLB_MAP_VIP_META))
		return vips;
	if (!strcmp(name, XLB_MAP_TABLES))
		return 2 * vips;
	if (!strcmp(name, XLB_MAP_BACKENDS) || !strcmp(name, XLB_MAP_BACKEND_ADDRS) ||
	    !strcmp(name, XLB_MAP_BACKEND_STATS))
		return bes;
	if (!strcmp(name, XLB_MAP_CT))
		return o->ct_size ? o->ct_size : XLB_CT_SIZE_DEFAULT;
	return 0;
}

/*
 * Sizes a map before load: a pinned map keeps its size (libbpf only reuses an
 * identical one), and a pinned map of another layout is refused by name.
 */
static int prepare_map(struct xlb_dp *dp, struct bpf_map *map, const struct xlb_dp_opts *o)
{
	const char *name = bpf_map__name(map);
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];
	__u32 size;
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dp->pin_path, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
			err = -errno;
			pr_err("map %s: read info: %s", path, strerror(-err));
		} else if (info.type != bpf_map__type(map) ||
			   info.key_size != bpf_map__key_size(map) ||
			   info.value_size != bpf_map__value_size(map)) {
			pr_err("map %s: pinned map has type %u key %u value %u bytes, this xlb expects "
			       "type %u key %u value %u (another ABI version pinned here?)",
			       path, info.type, info.key_size, info.value_size, bpf_map__type(map),
			       bpf_map__key_size(map), bpf_map__value_size(map));
			err = -EPROTO;
		} else {
			err = bpf_map__set_max_entries(map, info.max_entries);
		}
		close(fd);
	} else {
		size = map_default_size(name, o);
		if (size)
			err = bpf_map__set_max_entries(map, size);
	}
	if (!err)
		err = bpf_map__set_pin_path(map, path);
	return err;
}

static int add_map(struct xlb_dp *dp, struct bpf_map *map, int *fdp)
{
	int fd = bpf_map__fd(map);

	if (fd < 0 || dp->nmaps >= (int)(sizeof(dp->maps) / sizeof(dp->maps[0])))
		return -EINVAL;
	dp->maps[dp->nmaps].name = bpf_map__name(map);
	dp->maps[dp->nmaps].fd = fd;
	dp->nmaps++;
	if (fdp)
		*fdp = fd;
	return 0;
}

static int percpu_size(const struct xlb_dp *dp, size_t value_size)
{
	return dp->ncpus * ((value_size + 7) & ~(size_t)7);
}

static int zero_percpu(struct xlb_dp *dp, int fd, __u32 id)
{
	return bpf_map_update_elem(fd, &id, dp->zeros, BPF_ANY) ? -errno : 0;
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

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(a, b, XLB_REF_KEY);
}

static void refs_clear(struct xlb_refs *r)
{
	tdestroy(r->root, free);
	r->root = NULL;
}

/*
 * Adds delta to a reference count, deleting the entry at zero. A new count goes
 * into wb when given (the caller flushes it before the key matters), else
 * straight to the map.
 */
static int ref_add(struct xlb_refs *r, const void *key, int delta, struct xlb_wbatch *wb)
{
	struct xlb_ref probe, *ref, **slot;

	memcpy(probe.key, key, XLB_REF_KEY);
	slot = tfind(&probe, &r->root, ref_cmp);
	if (!slot) {
		if (delta <= 0)
			return 0;
		ref = calloc(1, sizeof(*ref));
		if (!ref)
			return -ENOMEM;
		memcpy(ref->key, key, XLB_REF_KEY);
		slot = tsearch(ref, &r->root, ref_cmp);
		if (!slot) {
			free(ref);
			return -ENOMEM;
		}
	}
	ref = *slot;
	if (delta < 0 && ref->cnt <= (__u32)-delta) {
		tdelete(ref, &r->root, ref_cmp);
		free(ref);
		if (bpf_map_delete_elem(r->fd, key) && errno != ENOENT)
			return -errno;
		return 0;
	}
	ref->cnt += delta;
	if (wb)
		return wb_add(wb, ref->key, &ref->cnt);
	return bpf_map_update_elem(r->fd, ref->key, &ref->cnt, BPF_ANY) ? -errno : 0;
}

static int filter_write(struct xlb_dp *dp, __u32 word, bool force)
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
	return filter_write(dp, xlb_filter_word(kind, bit), false);
}

static void endpoint_key(struct xlb_endpoint_key *ek, const struct xlb_backend *be, __u8 proto)
{
	memset(ek, 0, sizeof(*ek));
	ek->addr = be->addr;
	ek->port = be->port;
	ek->proto = proto;
	ek->family = be->family;
}

static void addr_key(struct xlb_addr_key *ak, const struct xlb_vip_key *vk)
{
	memset(ak, 0, sizeof(*ak));
	ak->addr = vk->addr;
	ak->family = vk->family;
}

static int vip_state_add(struct xlb_vip_state *vs, __u32 bid)
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

static void vip_state_free(struct xlb_vip_state *vs)
{
	free(vs->bids);
	free(vs->table);
	memset(vs, 0, sizeof(*vs));
}

/*
 * Recomputes a reference-count map from the keys it should count (sorted in
 * place), fixing every difference, and rebuilds its mirror. Both sides are
 * sorted, so 100,000 backends cost a few sorts and one pass, not the
 * pairwise comparison (minutes) an unsorted check would.
 */
static int refs_reconcile(struct xlb_refs *r, void *keys, size_t n)
{
	struct xlb_ref *have = NULL, *h, *ref;
	__u8 *k = keys, next[XLB_REF_KEY], cur[XLB_REF_KEY];
	size_t nh = 0, caph = 0, i, j;
	void *prev = NULL;
	int fixed = 0, err = 0;
	__u32 cnt;

	refs_clear(r);
	/* What the map holds now. */
	while (!bpf_map_get_next_key(r->fd, prev, next)) {
		memcpy(cur, next, sizeof(cur));
		prev = cur;
		if (bpf_map_lookup_elem(r->fd, cur, &cnt))
			continue;
		if (nh == caph) {
			size_t c = caph ? caph * 2 : 1024;

			h = realloc(have, c * sizeof(*have));
			if (!h) {
				err = -ENOMEM;
				goto cleanup;
			}
			have = h;
			caph = c;
		}
		memcpy(have[nh].key, cur, XLB_REF_KEY);
		have[nh++].cnt = cnt;
	}
	if (nh)
		qsort(have, nh, sizeof(*have), ref_cmp);
	if (n)
		qsort(k, n, XLB_REF_KEY, ref_cmp);
	/* Keys nothing counts any more. */
	for (i = 0; i < nh; i++)
		if ((!n || !bsearch(have[i].key, k, n, XLB_REF_KEY, ref_cmp)) &&
		    !bpf_map_delete_elem(r->fd, have[i].key))
			fixed++;
	/* Each run of equal keys is one entry whose count is the run's length. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !ref_cmp(k + i * XLB_REF_KEY, k + j * XLB_REF_KEY); j++)
			;
		ref = calloc(1, sizeof(*ref));
		if (!ref) {
			err = -ENOMEM;
			goto cleanup;
		}
		memcpy(ref->key, k + i * XLB_REF_KEY, XLB_REF_KEY);
		ref->cnt = j - i;
		if (!tsearch(ref, &r->root, ref_cmp)) {
			free(ref);
			err = -ENOMEM;
			goto cleanup;
		}
		h = nh ? bsearch(ref, have, nh, sizeof(*have), ref_cmp) : NULL;
		if (h && h->cnt == ref->cnt)
			continue;
		if (bpf_map_update_elem(r->fd, ref->key, &ref->cnt, BPF_ANY)) {
			err = -errno;
			goto cleanup;
		}
		fixed++;
	}
cleanup:
	free(have);
	return err ?: fixed;
}

/* Reads the whole backend array into the mirror, in one batch where the kernel has them. */
static int backends_read(struct xlb_dp *dp)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = dp->max_backends, out = 0, i;
	__u32 *keys = malloc(dp->max_backends * sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	if ((!bpf_map_lookup_batch(dp->fd_backends, NULL, &out, keys, dp->backends, &count,
				   &opts) ||
	     errno == ENOENT) &&
	    count == dp->max_backends)
		goto cleanup;
	for (i = 0; i < dp->max_backends; i++)
		if (bpf_map_lookup_elem(dp->fd_backends, &i, &dp->backends[i])) {
			err = -errno;
			break;
		}
cleanup:
	free(keys);
	return err;
}

/*
 * Tables pinned by an xlb with another table layout cannot share the outer
 * map with ours (the kernel refuses the inner map): say so once, clearly,
 * instead of failing every VIP write.
 */
static int tables_layout_check(struct xlb_dp *dp)
{
	struct xlb_vip_key key, next, *prev = NULL;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), inner_id = 0;
	char path[PATH_MAX + 32];
	int outer, vips, fd, err = 0;
	struct xlb_vip vip;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_path, XLB_MAP_TABLES);
	outer = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s", dp->pin_path, XLB_MAP_VIPS);
	vips = bpf_obj_get(path);
	/* The first VIP with a table shows the layout (the outer array's empty slots do not). */
	while (outer >= 0 && vips >= 0 && !inner_id && !bpf_map_get_next_key(vips, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(vips, &key, &vip) && vip.table_size &&
		    bpf_map_lookup_elem(outer, &vip.table_id, &inner_id))
			inner_id = 0;
	}
	if (outer >= 0)
		close(outer);
	if (vips >= 0)
		close(vips);
	if (!inner_id)
		return 0; /* nothing pinned yet, or no table */
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    info.value_size != sizeof(struct xlb_table_entry)) {
		pr_err("pinned Maglev tables under %s have %u-byte elements, this xlb writes %zu: "
		       "they come from another xlb version; take that one off with its "
		       "'xlbd --detach-and-unpin', or use another pin path",
		       dp->pin_path, info.value_size, sizeof(struct xlb_table_entry));
		err = -EPROTO;
	}
	close(fd);
	return err;
}

/* Rebuilds the mirror from pinned maps and repairs the derived ones. */
static int adopt(struct xlb_dp *dp)
{
	struct xlb_vip_key key, next, *prev = NULL;
	struct xlb_endpoint_key *eks = NULL;
	struct xlb_addr_key *aks = NULL;
	size_t neks = 0, naks = 0;
	struct xlb_vip vip;
	__u32 i, nvips = 0, nbes = 0;
	int err = 0, fixed;

	while (!bpf_map_get_next_key(dp->fd_vips, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(dp->fd_vips, &key, &vip))
			continue;
		if (!vip.vip_id || vip.vip_id >= dp->max_vips || dp->vips[vip.vip_id].used) {
			pr_warn("pinned VIP with bad or duplicate id %u ignored", vip.vip_id);
			continue;
		}
		dp->vips[vip.vip_id].used = true;
		dp->vips[vip.vip_id].key = key;
		nvips++;
	}
	aks = calloc(nvips ? nvips : 1, sizeof(*aks));
	eks = calloc(dp->max_backends, sizeof(*eks));
	if (!aks || !eks) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 1; i < dp->max_vips; i++)
		if (dp->vips[i].used)
			addr_key(&aks[naks++], &dp->vips[i].key);

	err = backends_read(dp);
	if (err)
		goto cleanup;
	for (i = 1; i < dp->max_backends; i++) {
		struct xlb_backend *be = &dp->backends[i];

		if (be->state == XLB_BE_REMOVED)
			continue;
		if (be->vip_id >= dp->max_vips || !dp->vips[be->vip_id].used) {
			/* Its VIP is gone (a write interrupted): free the slot. */
			be->state = XLB_BE_REMOVED;
			bpf_map_update_elem(dp->fd_backends, &i, be, BPF_ANY);
			continue;
		}
		err = vip_state_add(&dp->vips[be->vip_id], i);
		if (err)
			goto cleanup;
		endpoint_key(&eks[neks++], be, dp->vips[be->vip_id].key.proto);
		nbes++;
	}
	for (i = 1; i < dp->max_vips; i++)
		if (dp->vips[i].used)
			dp->filter_refs[xlb_filter_bit(&dp->vips[i].key.addr, dp->vips[i].key.family)]++;
	for (i = 1; i < dp->max_backends; i++)
		if (dp->backends[i].state != XLB_BE_REMOVED)
			dp->filter_refs[(XLB_FILTER_BACKEND << XLB_FILTER_BITS) |
					xlb_filter_bit(&dp->backends[i].addr, dp->backends[i].family)]++;
	/* Rewrite every word: what is pinned may predate a crash. */
	for (i = 0; i < XLB_FILTER_WORDS; i++) {
		err = filter_write(dp, i, true);
		if (err)
			goto cleanup;
	}
	fixed = refs_reconcile(&dp->vip_refs, aks, naks);
	if (fixed < 0) {
		err = fixed;
		goto cleanup;
	}
	err = refs_reconcile(&dp->be_refs, eks, neks);
	if (err < 0)
		goto cleanup;
	fixed += err;
	err = 0;
	if (nvips || nbes || fixed)
		pr_info("adopted %u VIPs and %u backends from %s%s", nvips, nbes, dp->pin_path,
			fixed ? " (repaired derived entries)" : "");
cleanup:
	free(aks);
	free(eks);
	return err;
}

int xlb_dp_open(struct xlb_dp **dpp, const struct xlb_dp_opts *opts)
{
	struct xlb_dp_opts none = {};
	struct xlb_dp *dp;
	struct bpf_map *map;
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	int err;

	if (!opts)
		opts = &none;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	snprintf(dp->pin_path, sizeof(dp->pin_path), "%s",
		 opts->pin_path ? opts->pin_path : XLB_PIN_PATH_DEFAULT);
	err = mkdir_p(dp->pin_path, 0700);
	if (err) {
		pr_err("pin path %s: %s", dp->pin_path, strerror(-err));
		goto cleanup;
	}
	dp->skel = xlb_bpf__open();
	if (!dp->skel) {
		err = -errno;
		pr_err("open BPF object: %s", strerror(-err));
		goto cleanup;
	}
	bpf_object__for_each_map(map, dp->skel->obj) {
		if (strchr(bpf_map__name(map), '.'))
			continue;
		err = prepare_map(dp, map, opts);
		if (err)
			goto cleanup;
	}
	/* Before the load: the verifier would only say "Permission denied" about it. */
	err = tables_layout_check(dp);
	if (err)
		goto cleanup;
	err = xlb_bpf__load(dp->skel);
	if (err) {
		pr_err("load BPF programs (pin path %s): %s", dp->pin_path, strerror(-err));
		goto cleanup;
	}
	err = add_map(dp, dp->skel->maps.xlb_vips, &dp->fd_vips) ?:
	      add_map(dp, dp->skel->maps.xlb_vip_addrs, &dp->fd_vip_addrs) ?:
	      add_map(dp, dp->skel->maps.xlb_tables, &dp->fd_tables) ?:
	      add_map(dp, dp->skel->maps.xlb_backends, &dp->fd_backends) ?:
	      add_map(dp, dp->skel->maps.xlb_backend_addrs, &dp->fd_backend_addrs) ?:
	      add_map(dp, dp->skel->maps.xlb_ct, NULL) ?:
	      add_map(dp, dp->skel->maps.xlb_config, &dp->fd_config) ?:
	      add_map(dp, dp->skel->maps.xlb_ct_budget, NULL) ?:
	      add_map(dp, dp->skel->maps.xlb_stats, &dp->fd_stats) ?:
	      add_map(dp, dp->skel->maps.xlb_vip_stats, &dp->fd_vip_stats) ?:
	      add_map(dp, dp->skel->maps.xlb_backend_stats, &dp->fd_backend_stats) ?:
	      add_map(dp, dp->skel->maps.xlb_vip_meta, &dp->fd_vip_meta) ?:
	      add_map(dp, dp->skel->maps.xlb_addr_filter, &dp->fd_addr_filter);
	if (err)
		goto cleanup;
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus ? dp->ncpus : -EINVAL;
		goto cleanup;
	}
	if (bpf_obj_get_info_by_fd(dp->fd_vip_stats, &info, &info_len)) {
		err = -errno;
		goto cleanup;
	}
	dp->max_vips = info.max_entries;
	dp->max_backends = bpf_map__max_entries(dp->skel->maps.xlb_backends);
	dp->vips = calloc(dp->max_vips, sizeof(*dp->vips));
	dp->backends = calloc(dp->max_backends, sizeof(*dp->backends));
	dp->filter_refs = calloc(2u << XLB_FILTER_BITS, sizeof(*dp->filter_refs));
	dp->vip_refs.fd = dp->fd_vip_addrs;
	dp->be_refs.fd = dp->fd_backend_addrs;
	dp->zeros = calloc(1, percpu_size(dp, sizeof(struct xlb_vip_stats) >
						  sizeof(struct xlb_backend_stats)
					      ? sizeof(struct xlb_vip_stats)
					      : sizeof(struct xlb_backend_stats)));
	if (!dp->vips || !dp->backends || !dp->filter_refs || !dp->zeros) {
		err = -ENOMEM;
		goto cleanup;
	}
	dp->vip_cursor = 1;
	dp->be_cursor = 1;
	err = adopt(dp);
	if (err) {
		pr_err("adopt pinned maps under %s: %s", dp->pin_path, strerror(-err));
		goto cleanup;
	}
	*dpp = dp;
	return 0;
cleanup:
	xlb_dp_close(dp);
	return err;
}

void xlb_dp_close(struct xlb_dp *dp)
{
	__u32 i;

	if (!dp)
		return;
	tables_publish(dp);
	free(dp->pend);
	if (dp->vips)
		for (i = 0; i < dp->max_vips; i++)
			vip_state_free(&dp->vips[i]);
	free(dp->vips);
	free(dp->backends);
	free(dp->filter_refs);
	free(dp->zeros);
	refs_clear(&dp->vip_refs);
	refs_clear(&dp->be_refs);
	xlb_bpf__destroy(dp->skel);
	free(dp);
}

int xlb_dp_unpin(const char *pin_path)
{
	static const char *const names[] = {
		XLB_MAP_VIPS,	 XLB_MAP_VIP_ADDRS,	 XLB_MAP_TABLES, XLB_MAP_BACKENDS,
		XLB_MAP_BACKEND_ADDRS, XLB_MAP_CT,	 XLB_MAP_CONFIG, XLB_MAP_CT_BUDGET,
		XLB_MAP_STATS,	 XLB_MAP_VIP_STATS,	 XLB_MAP_BACKEND_STATS, XLB_MAP_VIP_META,
		XLB_MAP_ADDR_FILTER,
	};
	char path[PATH_MAX];
	size_t i;
	int err = 0;

	if (!pin_path)
		pin_path = XLB_PIN_PATH_DEFAULT;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, names[i]);
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	if (rmdir(pin_path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int xlb_dp_prog_fd(const struct xlb_dp *dp, enum xlb_dp_prog prog)
{
	switch (prog) {
	case XLB_PROG_XDP:
		return bpf_program__fd(dp->skel->progs.xlb_xdp);
	case XLB_PROG_TC_INGRESS:
		return bpf_program__fd(dp->skel->progs.xlb_tc_ingress);
	case XLB_PROG_TC_EGRESS:
		return bpf_program__fd(dp->skel->progs.xlb_tc_egress);
	}
	return -EINVAL;
}

int xlb_dp_map_fd(const struct xlb_dp *dp, const char *name)
{
	int i;

	for (i = 0; i < dp->nmaps; i++)
		if (!strcmp(dp->maps[i].name, name))
			return dp->maps[i].fd;
	return -ENOENT;
}

const char *xlb_dp_pin_path(const struct xlb_dp *dp)
{
	return dp->pin_path;
}

int xlb_dp_ncpus(const struct xlb_dp *dp)
{
	return dp->ncpus;
}

static int tc_attach(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = XLB_TC_HANDLE, .priority = XLB_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &tc);
}

static const char *mode_name(enum xlb_attach_mode m)
{
	switch (m) {
	case XLB_ATTACH_XDP_NATIVE:
		return "native XDP";
	case XLB_ATTACH_XDP_GENERIC:
		return "generic XDP";
	case XLB_ATTACH_TC:
		return "TC ingress";
	}
	return "?";
}

int xlb_dp_attach(struct xlb_dp *dp, int ifindex, enum xlb_attach_mode want,
		  enum xlb_attach_mode *used)
{
	char ifname[IF_NAMESIZE] = "?";
	enum xlb_attach_mode m = want;
	int err = -EINVAL;

	if_indextoname(ifindex, ifname);
	if (m == XLB_ATTACH_XDP_NATIVE) {
		err = bpf_xdp_attach(ifindex, xlb_dp_prog_fd(dp, XLB_PROG_XDP), XDP_FLAGS_DRV_MODE,
				     NULL);
		if (err)
			m = XLB_ATTACH_XDP_GENERIC;
	}
	if (m == XLB_ATTACH_XDP_GENERIC) {
		err = bpf_xdp_attach(ifindex, xlb_dp_prog_fd(dp, XLB_PROG_XDP), XDP_FLAGS_SKB_MODE,
				     NULL);
		if (err)
			m = XLB_ATTACH_TC;
	}
	if (m == XLB_ATTACH_TC)
		err = tc_attach(ifindex, BPF_TC_INGRESS, xlb_dp_prog_fd(dp, XLB_PROG_TC_INGRESS));
	if (err) {
		pr_err("%s: attach ingress: %s", ifname, strerror(-err));
		return err;
	}
	if (m != want)
		pr_warn("%s: %s not available, attached with %s", ifname, mode_name(want),
			mode_name(m));
	else
		pr_info("%s: attached with %s", ifname, mode_name(m));
	if (used)
		*used = m;
	return 0;
}

int xlb_dp_attach_egress(struct xlb_dp *dp, int ifindex)
{
	char ifname[IF_NAMESIZE] = "?";
	int err = tc_attach(ifindex, BPF_TC_EGRESS, xlb_dp_prog_fd(dp, XLB_PROG_TC_EGRESS));

	if_indextoname(ifindex, ifname);
	if (err)
		pr_err("%s: attach TC egress: %s", ifname, strerror(-err));
	else
		pr_info("%s: attached TC egress", ifname);
	return err;
}

static int prog_is_xlb(__u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id), ours;

	if (fd < 0)
		return 0;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "xlb_", 4);
	close(fd);
	return ours;
}

int xlb_dp_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = 0, e;

	if (!bpf_xdp_query(ifindex, 0, &q)) {
		if (q.drv_prog_id && prog_is_xlb(q.drv_prog_id))
			err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		if (q.skb_prog_id && prog_is_xlb(q.skb_prog_id)) {
			e = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
			err = err ?: e;
		}
	}
	for (int point = 0; point < 2; point++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, tc, .handle = XLB_TC_HANDLE, .priority = XLB_TC_PRIO);

		e = bpf_tc_detach(&hook, &tc);
		if (e && e != -ENOENT && e != -EINVAL)
			err = err ?: e;
	}
	return err;
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
	err = zero_percpu(dp, dp->fd_vip_stats, id) ?: xlb_vip_meta_set(dp, id, NULL, NULL);
	if (err)
		goto fail;
	vip.vip_id = id;
	vip.table_id = XLB_TABLE_ID(id, 0);
	vip.flags = flags;
	vip.mode = XLB_MODE_NAT;
	addr_key(&ak, key);
	err = ref_add(&dp->vip_refs, &ak, 1, NULL);
	if (err)
		goto fail;
	err = filter_ref(dp, XLB_FILTER_VIP, &key->addr, key->family, 1);
	if (err) {
		ref_add(&dp->vip_refs, &ak, -1, NULL);
		goto fail;
	}
	if (bpf_map_update_elem(dp->fd_vips, key, &vip, BPF_NOEXIST)) {
		err = -errno;
		ref_add(&dp->vip_refs, &ak, -1, NULL);
		filter_ref(dp, XLB_FILTER_VIP, &key->addr, key->family, -1);
		goto fail;
	}
	dp->vips[id].used = true;
	dp->vips[id].key = *key;
	dp->vips[id].table_known = true; /* none yet: nothing to read back */
	if (vip_id)
		*vip_id = id;
	return 0;
fail:
	pr_err("vip %s: create: %s", name, strerror(-err));
	return err;
}

/* Writes a backend now, or queues it in wb; the mirror changes at once either way. */
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

/* Marks a backend removed; its flows are re-picked and its slot may be reused later. */
static int backend_remove(struct xlb_dp *dp, __u32 id, __u8 proto)
{
	struct xlb_backend be = dp->backends[id];
	struct xlb_endpoint_key ek;
	int err;

	endpoint_key(&ek, &be, proto);
	be.state = XLB_BE_REMOVED;
	be.weight = 0;
	err = backend_write(dp, id, &be, NULL);
	if (err)
		return err;
	err = filter_ref(dp, XLB_FILTER_BACKEND, &be.addr, be.family, -1);
	return ref_add(&dp->be_refs, &ek, -1, NULL) ?: err;
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
static int tables_publish(struct xlb_dp *dp)
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
	return tables_publish(dp);
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
		tables_publish(dp);
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

int xlb_vip_set_backends(struct xlb_dp *dp, const struct xlb_vip_key *key,
			 const struct xlb_backend_spec *specs, size_t n)
{
	struct xlb_maglev_backend *mb = NULL;
	struct xlb_wbatch wb_stats, wb_be, wb_refs;
	struct xlb_maglev_key *mk = NULL;
	struct xlb_vip_state *vs;
	struct xlb_vip vip;
	__u32 *ids = NULL, *table = NULL, size = 0, id;
	bool *keep = NULL;
	size_t i, j, nact = 0;
	char name[80];
	int err, e;

	wb_init(&wb_stats, dp->fd_backend_stats, sizeof(__u32),
		percpu_size(dp, sizeof(struct xlb_backend_stats)));
	wb_init(&wb_be, dp->fd_backends, sizeof(__u32), sizeof(struct xlb_backend));
	wb_init(&wb_refs, dp->fd_backend_addrs, XLB_REF_KEY, sizeof(__u32));
	xlb_vip_key_str(key, name, sizeof(name));
	if (vip_lookup(dp, key, &vip)) {
		pr_err("vip %s: set backends: no such VIP", name);
		return -ENOENT;
	}
	if (vip.vip_id >= dp->max_vips || !dp->vips[vip.vip_id].used)
		return -EINVAL;
	vs = &dp->vips[vip.vip_id];
	err = spec_check(key, specs, n, name);
	if (err)
		return err;
	ids = calloc(n ? n : 1, sizeof(*ids));
	keep = calloc(vs->n ? vs->n : 1, sizeof(*keep));
	mb = calloc(n ? n : 1, sizeof(*mb));
	mk = calloc(n ? n : 1, sizeof(*mk));
	if (!ids || !keep || !mb || !mk) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < vs->n; j++) {
			const struct xlb_backend *be = &dp->backends[vs->bids[j]];

			if (!keep[j] && !memcmp(&be->addr, &specs[i].addr, sizeof(be->addr)) &&
			    be->port == specs[i].port) {
				ids[i] = vs->bids[j];
				keep[j] = true;
				break;
			}
		}

	/* 1. New backends, and backends that become active, exist before any table names them. */
	for (i = 0; i < n; i++) {
		struct xlb_backend be = {};
		__u8 state = specs[i].state == XLB_BE_ACTIVE && specs[i].weight ? XLB_BE_ACTIVE
										 : XLB_BE_DRAINING;

		if (!ids[i]) {
			struct xlb_endpoint_key ek;

			err = alloc_backend_id(dp, &id);
			if (err) {
				pr_err("vip %s: no free backend slot (max %u)", name,
				       dp->max_backends - 1);
				goto cleanup;
			}
			err = wb_add(&wb_stats, &id, dp->zeros);
			if (err)
				goto cleanup;
			be.addr = specs[i].addr;
			be.port = specs[i].port;
			be.family = specs[i].family;
			be.state = state;
			be.gen = dp->backends[id].gen + 1;
			be.vip_id = vip.vip_id;
			be.weight = state == XLB_BE_ACTIVE ? specs[i].weight : 0;
			err = filter_ref(dp, XLB_FILTER_BACKEND, &be.addr, be.family, 1);
			if (err)
				goto cleanup;
			err = backend_write(dp, id, &be, &wb_be);
			if (err)
				goto cleanup;
			endpoint_key(&ek, &be, key->proto);
			err = ref_add(&dp->be_refs, &ek, 1, &wb_refs);
			if (err)
				goto cleanup;
			ids[i] = id;
			err = vip_state_add(vs, id);
			if (err)
				goto cleanup;
		} else if (state == XLB_BE_ACTIVE && (dp->backends[ids[i]].state != state ||
						      dp->backends[ids[i]].weight != specs[i].weight)) {
			be = dp->backends[ids[i]];
			be.state = state;
			be.weight = specs[i].weight;
			err = backend_write(dp, ids[i], &be, &wb_be);
			if (err)
				goto cleanup;
		}
		if (state == XLB_BE_ACTIVE) {
			struct xlb_maglev_key *k = &mk[nact];

			k->family = specs[i].family;
			memcpy(k->addr, &specs[i].addr, sizeof(k->addr));
			memcpy(k->port, &specs[i].port, sizeof(k->port));
			mb[nact].key = k;
			mb[nact].key_len = sizeof(*k);
			mb[nact].weight = specs[i].weight;
			mb[nact].id = ids[i];
			nact++;
		}
	}

	/* 2. The table of the active backends, swapped in only when it changed. */
	if (nact) {
		size = xlb_maglev_size(nact);
		table = malloc(size * sizeof(*table));
		if (!table) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = xlb_maglev_build(mb, nact, table, size);
		if (err) {
			pr_err("vip %s: build Maglev table (%zu backends, size %u): %s", name, nact,
			       size, strerror(-err));
			goto cleanup;
		}
	}
	/* Fresh counters before a backend goes live, its endpoint counted before it answers. */
	err = wb_flush(&wb_stats) ?: backends_flush(dp, &wb_be) ?: wb_flush(&wb_refs);
	if (err)
		goto cleanup;
	err = table_current(dp, key, vs);
	if (err)
		goto cleanup;
	if (vs->table_size != size || (size && memcmp(vs->table, table, size * sizeof(*table)))) {
		err = table_swap(dp, key, &vip, table, size);
		if (err) {
			pr_err("vip %s: swap Maglev table: %s", name, strerror(-err));
			goto cleanup;
		}
	}

	/* 3. Only now may backends leave: the live table no longer names them. */
	for (i = 0; i < n; i++) {
		struct xlb_backend be = dp->backends[ids[i]];

		if ((specs[i].state == XLB_BE_ACTIVE && specs[i].weight) ||
		    (be.state == XLB_BE_DRAINING && !be.weight))
			continue;
		be.state = XLB_BE_DRAINING;
		be.weight = 0;
		err = backend_write(dp, ids[i], &be, &wb_be);
		if (err)
			goto cleanup;
	}
	err = backends_flush(dp, &wb_be);
	if (err)
		goto cleanup;
	for (j = 0; j < vs->n;) {
		for (i = 0; i < n && ids[i] != vs->bids[j]; i++)
			;
		if (i < n) {
			j++;
			continue;
		}
		err = backend_remove(dp, vs->bids[j], key->proto);
		if (err)
			goto cleanup;
		vs->bids[j] = vs->bids[--vs->n];
	}
cleanup:
	/* After a failure, what was queued still goes out: the mirror already shows it. */
	e = wb_flush(&wb_stats);
	err = err ?: e;
	e = backends_flush(dp, &wb_be);
	err = err ?: e;
	e = wb_flush(&wb_refs);
	err = err ?: e;
	wb_free(&wb_stats);
	wb_free(&wb_be);
	wb_free(&wb_refs);
	if (err && err != -ENOMEM)
		pr_err("vip %s: set backends: %s", name, strerror(-err));
	free(ids);
	free(keep);
	free(mb);
	free(mk);
	free(table);
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
		vip_state_free(vs);
	}
	for (i = 0; i < 2; i++) {
		tid = XLB_TABLE_ID(vip.vip_id, i);
		bpf_map_delete_elem(dp->fd_tables, &tid);
	}
	addr_key(&ak, key);
	e = ref_add(&dp->vip_refs, &ak, -1, NULL);
	err = err ?: e;
	e = filter_ref(dp, XLB_FILTER_VIP, &key->addr, key->family, -1);
	err = err ?: e;
	if (err)
		pr_err("vip %s: delete: %s", name, strerror(-err));
	return err;
}

int xlb_vip_get(const struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *out)
{
	return bpf_map_lookup_elem(dp->fd_vips, key, out) ? -errno : 0;
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

int xlb_backend_get(const struct xlb_dp *dp, __u32 id, struct xlb_backend *out)
{
	return bpf_map_lookup_elem(dp->fd_backends, &id, out) ? -errno : 0;
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

int xlb_vip_table_read(const struct xlb_dp *dp, const struct xlb_vip_key *key, __u32 *table,
		       __u32 max)
{
	struct xlb_vip vip;
	__u32 inner_id, i;
	int fd, err = 0;

	if (bpf_map_lookup_elem(dp->fd_vips, key, &vip))
		return -errno;
	if (!vip.table_size)
		return 0;
	if (!table)
		return vip.table_size;
	if (bpf_map_lookup_elem(dp->fd_tables, &vip.table_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	for (i = 0; i < vip.table_size && i < max; i += XLB_TABLE_SLOTS) {
		struct xlb_table_entry e;
		__u32 k = i / XLB_TABLE_SLOTS, j;

		if (bpf_map_lookup_elem(fd, &k, &e)) {
			err = -errno;
			break;
		}
		for (j = 0; j < XLB_TABLE_SLOTS && i + j < vip.table_size && i + j < max; j++)
			table[i + j] = e.slot[j];
	}
	close(fd);
	return err ? err : (int)vip.table_size;
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

int xlb_vip_meta_get(const struct xlb_dp *dp, __u32 vip_id, struct xlb_vip_meta *out)
{
	return bpf_map_lookup_elem(dp->fd_vip_meta, &vip_id, out) ? -errno : 0;
}

int xlb_config_set(struct xlb_dp *dp, const struct xlb_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(dp->fd_config, &zero, cfg, BPF_ANY) ? -errno : 0;
}

/* Sums a per-CPU value made of u64 counters. */
static int percpu_sum(const struct xlb_dp *dp, int fd, __u32 id, __u64 *out, size_t size)
{
	size_t n = size / sizeof(__u64), stride = (size + 7) / 8, c, i;
	__u64 *vals = calloc(dp->ncpus, stride * 8);

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &id, vals)) {
		free(vals);
		return -errno;
	}
	memset(out, 0, size);
	for (c = 0; c < (size_t)dp->ncpus; c++)
		for (i = 0; i < n; i++)
			out[i] += vals[c * stride + i];
	free(vals);
	return 0;
}

int xlb_stats_read(const struct xlb_dp *dp, struct xlb_stats *out)
{
	return percpu_sum(dp, dp->fd_stats, 0, out->c, sizeof(*out));
}

int xlb_vip_stats_read(const struct xlb_dp *dp, __u32 vip_id, struct xlb_vip_stats *out)
{
	return percpu_sum(dp, dp->fd_vip_stats, vip_id, (__u64 *)out, sizeof(*out));
}

int xlb_backend_stats_read(const struct xlb_dp *dp, __u32 backend_id,
			   struct xlb_backend_stats *out)
{
	return percpu_sum(dp, dp->fd_backend_stats, backend_id, (__u64 *)out, sizeof(*out));
}
