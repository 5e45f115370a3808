// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading the data plane (see dp.h): the BPF object with its maps pinned
 * under a versioned path, adopting maps already pinned there (never flushing
 * them) after checking their layout; the conntrack tables are sized (and
 * their LRU mode set) as the options say, rounded as the kernel rounds them,
 * so a pinned table of that shape is adopted and one of another is made
 * again. On open the writer's mirror is rebuilt from the pinned maps, and
 * derived maps (reference counts of VIP addresses, backend endpoints with
 * their primaries and the backends' reply-entry flags, the VIP keys by id,
 * the address filter) are recomputed from the primary ones, so a daemon
 * killed half-way through a write converges on its next start. The
 * conntrack sweep (xlb_dp_ct_gc) is here too. Attaching is in dp_attach.c,
 * writes in dp_write.c, reads in dp_read.c.
 */
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "dp_internal.h"
#include "dp_read.h"
#include "log.h"
#include "xlb.skel.h"

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

__u32 xlb_ct_map_entries(__u32 want, __u32 ncpus, bool per_cpu_lru)
{
	__u32 up;

	if (!per_cpu_lru || !ncpus)
		return want;
	/* The kernel's roundup() in 32 bits: the sum may wrap, which is how overflow shows. */
	up = (__u32)(want + (ncpus - 1)) / ncpus * ncpus;
	if (up < want)
		up = want - want % ncpus;
	return up;
}

static bool is_ct_map(const char *name)
{
	return !strcmp(name, XLB_MAP_CT4) || !strcmp(name, XLB_MAP_CT6);
}

static __u32 map_default_size(const char *name, const struct xlb_dp_opts *o)
{
	__u32 vips = o->max_vips ? o->max_vips : XLB_MAX_VIPS_DEFAULT;
	__u32 bes = o->max_backends ? o->max_backends : XLB_MAX_BACKENDS_DEFAULT;

	if (!strcmp(name, XLB_MAP_VIPS) || !strcmp(name, XLB_MAP_VIP_ADDRS) ||
	    !strcmp(name, XLB_MAP_VIP_STATS) || !strcmp(name, XLB_MAP_VIP_META) ||
	    !strcmp(name, XLB_MAP_VIP_KEYS) || !strcmp(name, XLB_MAP_VIP_BUDGET) ||
	    !strcmp(name, XLB_MAP_VIP_FLOOD))
		return vips;
	if (!strcmp(name, XLB_MAP_TABLES))
		return 2 * vips;
	if (!strcmp(name, XLB_MAP_BACKENDS) || !strcmp(name, XLB_MAP_BACKEND_ADDRS) ||
	    !strcmp(name, XLB_MAP_BACKEND_STATS) || !strcmp(name, XLB_MAP_DSR_AGENTS) ||
	    !strcmp(name, XLB_MAP_DSR_TAGS))
		return bes;
	if (!strcmp(name, XLB_MAP_CT4))
		return o->ct_size ? o->ct_size : XLB_CT_SIZE_DEFAULT;
	if (!strcmp(name, XLB_MAP_CT6))
		return o->ct6_size ? o->ct6_size : XLB_CT6_SIZE_DEFAULT;
	if (!strcmp(name, XLB_MAP_SOCK_REVNAT))
		return o->ct_size ? o->ct_size : XLB_SOCK_REVNAT_SIZE_DEFAULT;
	return 0;
}

/*
 * A conntrack table is made as the options say: size (as the kernel will
 * round it) and LRU mode. libbpf reuses a pinned map only when its size and
 * flags equal what it would create, which is why the size asked for is the
 * kernel's rounded one: a pinned table of the wanted shape is adopted, flows
 * and all, on every start. One of another shape (the configuration
 * changed) is unpinned here so that libbpf makes the new one; its flows are
 * lost, and said so.
 */
static int prepare_ct_map(struct xlb_dp *dp, struct bpf_map *map, const struct xlb_dp_opts *o,
			  const char *path, const struct bpf_map_info *pinned)
{
	bool per_cpu = o->ct_lru == XLB_CT_LRU_PER_CPU;
	__u32 flags = bpf_map__map_flags(map) & ~BPF_F_NO_COMMON_LRU;
	__u32 size;
	int err;

	if (per_cpu)
		flags |= BPF_F_NO_COMMON_LRU;
	size = xlb_ct_map_entries(map_default_size(bpf_map__name(map), o), dp->ncpus, per_cpu);
	err = bpf_map__set_map_flags(map, flags) ?: bpf_map__set_max_entries(map, size);
	if (err || !pinned || (pinned->max_entries == size && pinned->map_flags == flags))
		return err;
	pr_warn("map %s: pinned with %u entries (%s LRU), the options ask for %u (%s): made "
		"again, the flows it held are forgotten", path, pinned->max_entries,
		pinned->map_flags & BPF_F_NO_COMMON_LRU ? "per-CPU" : "shared", size,
		per_cpu ? "per-CPU" : "shared");
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

static bool abi_map(const char *name)
{
	int i;

	for (i = 0; i < XLB_M_MAX; i++)
		if (!strcmp(xlb_map_spec(i)->name, name))
			return true;
	return false;
}

/*
 * Sizes a map before load: a pinned map keeps its size (libbpf only reuses an
 * identical one), and a pinned map of another layout is refused by name.
 * The conntrack tables are the exception (prepare_ct_map).
 */
static int prepare_map(struct xlb_dp *dp, struct bpf_map *map, const struct xlb_dp_opts *o)
{
	const char *name = bpf_map__name(map);
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	bool pinned = false;
	char path[PATH_MAX];
	__u32 size;
	int fd, err = 0;

	/* Only the ABI's maps are pinned: the rest is the programs' per-packet scratch. */
	if (!abi_map(name))
		return 0;
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
		} else if (!is_ct_map(name)) {
			err = bpf_map__set_max_entries(map, info.max_entries);
		}
		pinned = !err;
		close(fd);
	} else if (!is_ct_map(name)) {
		size = map_default_size(name, o);
		if (size)
			err = bpf_map__set_max_entries(map, size);
	}
	if (!err && is_ct_map(name))
		err = prepare_ct_map(dp, map, o, path, pinned ? &info : NULL);
	if (!err)
		err = bpf_map__set_pin_path(map, path);
	return err;
}

/*
 * Recomputes a reference-count map from what it should count (sorted in
 * place), fixing every difference, and rebuilds its mirror. Both sides are
 * sorted, so 100,000 backends cost a few sorts and one pass, not the
 * pairwise comparison (minutes) an unsorted check would.
 */
struct ref_item {
	__u8 key[XLB_REF_KEY];
	__u32 id; /* endpoints: a live backend there */
};

static int item_cmp(const void *a, const void *b)
{
	const struct ref_item *x = a, *y = b;
	int c = memcmp(x->key, y->key, XLB_REF_KEY);

	return c ?: (x->id > y->id) - (x->id < y->id);
}

struct ref_list {
	struct xlb_ref *v;
	size_t n, cap, vsz;
};

static int ref_collect(void *ctx, const void *key, const void *value)
{
	struct ref_list *l = ctx;

	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 1024;
		struct xlb_ref *v = realloc(l->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = c;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	memcpy(l->v[l->n].key, key, XLB_REF_KEY);
	memcpy(&l->v[l->n].v, value, l->vsz);
	l->n++;
	return 0;
}

/*
 * The primary an adopted endpoint keeps: the one the map names if it is
 * still there; else the backend without XLB_BE_F_REPLY_ENTRY (it was
 * primary and its flows have no reply entries: a write died before the
 * endpoint named it); else the oldest.
 */
static __u32 primary_pick(const struct xlb_dp *dp, const struct xlb_ref *ref,
			  const struct xlb_ref *have)
{
	__u32 i;

	for (i = 0; have && i < ref->v.refs; i++)
		if (ref->ids[i] == have->v.backend_id)
			return have->v.backend_id;
	for (i = 0; i < ref->v.refs; i++)
		if (!(dp->backends[ref->ids[i]].flags & XLB_BE_F_REPLY_ENTRY))
			return ref->ids[i];
	return ref->ids[0];
}

/* After the endpoint names its primary: every backend flagged when it is shared, none when not. */
static int flags_fix(struct xlb_dp *dp, const struct xlb_ref *ref)
{
	int fixed = 0;
	__u32 i, id;

	for (i = 0; i < ref->v.refs; i++) {
		struct xlb_backend be;
		bool want;

		id = ref->ids[i];
		be = dp->backends[id];
		want = ref->v.refs > 1;
		if (!!(be.flags & XLB_BE_F_REPLY_ENTRY) == want)
			continue;
		be.flags ^= XLB_BE_F_REPLY_ENTRY;
		if (bpf_map_update_elem(dp->fd_backends, &id, &be, BPF_ANY))
			return -errno;
		dp->backends[id] = be;
		fixed++;
	}
	return fixed;
}

/* One run of equal keys in items: its mirror entry, written when the map differs. */
static int ref_rebuild(struct xlb_dp *dp, struct xlb_refs *r, const struct ref_list *have,
		       const struct ref_item *items, size_t n, bool endpoints)
{
	struct xlb_ref *ref, *h;
	int err = 0, fixed = 0;
	size_t i;

	ref = calloc(1, sizeof(*ref));
	if (!ref)
		return -ENOMEM;
	memcpy(ref->key, items[0].key, XLB_REF_KEY);
	for (i = 0; i < n && !err; i++)
		err = endpoints ? xlb_dp_ref_ids_add(ref, items[i].id) : (ref->v.refs++, 0);
	if (err || !tsearch(ref, &r->root, xlb_dp_ref_cmp)) {
		free(ref->ids);
		free(ref);
		return -ENOMEM;
	}
	h = have->n ? bsearch(ref, have->v, have->n, sizeof(*have->v), xlb_dp_ref_cmp) : NULL;
	if (endpoints)
		ref->v.backend_id = primary_pick(dp, ref, h);
	if (!h || memcmp(&h->v, &ref->v, have->vsz)) {
		if (bpf_map_update_elem(r->fd, ref->key, &ref->v, BPF_ANY))
			return -errno;
		fixed++;
	}
	if (!endpoints)
		return fixed;
	err = flags_fix(dp, ref);
	return err < 0 ? err : fixed + err;
}

static int refs_reconcile(struct xlb_dp *dp, enum xlb_map m, struct xlb_refs *r,
			  struct ref_item *items, size_t n, bool endpoints)
{
	struct ref_list l = { .vsz = xlb_map_spec(m)->value_size };
	size_t i, j;
	int fixed = 0, err;

	xlb_dp_refs_clear(r);
	/* What the map holds now. */
	err = xlb_reader_map_walk(&dp->rd, m, ref_collect, &l);
	if (err < 0)
		goto cleanup;
	err = 0;
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), xlb_dp_ref_cmp);
	if (n)
		qsort(items, n, sizeof(*items), item_cmp);
	/* Keys nothing counts any more (the key leads both structs). */
	for (i = 0; i < l.n; i++)
		if ((!n || !bsearch(l.v[i].key, items, n, sizeof(*items), xlb_dp_ref_cmp)) &&
		    !bpf_map_delete_elem(r->fd, l.v[i].key))
			fixed++;
	/* Each run of equal keys is one entry whose count is the run's length. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !xlb_dp_ref_cmp(&items[i], &items[j]); j++)
			;
		err = ref_rebuild(dp, r, &l, &items[i], j - i, endpoints);
		if (err < 0)
			goto cleanup;
		fixed += err;
		err = 0;
	}
cleanup:
	free(l.v);
	return err ?: fixed;
}

/* xlb_vip_keys: each used id holds its VIP's key, every other id zero. */
struct vip_keys_fix {
	struct xlb_dp *dp;
	int fixed, err;
};

static int vip_key_check(void *ctx, const void *key, const void *value)
{
	struct vip_keys_fix *f = ctx;
	struct xlb_dp *dp = f->dp;
	struct xlb_vip_key want = {};
	__u32 id;

	memcpy(&id, key, sizeof(id));
	if (id < dp->max_vips && dp->vips[id].used)
		want = dp->vips[id].key;
	if (!memcmp(&want, value, sizeof(want)))
		return 0;
	if (bpf_map_update_elem(dp->fd_vip_keys, &id, &want, BPF_ANY)) {
		f->err = -errno;
		return f->err;
	}
	f->fixed++;
	return 0;
}

static int vip_keys_reconcile(struct xlb_dp *dp)
{
	struct vip_keys_fix f = { .dp = dp };
	int err = xlb_reader_map_walk(&dp->rd, XLB_M_VIP_KEYS, vip_key_check, &f);

	return err < 0 ? err : f.fixed;
}

/* Reads the whole backend array into the mirror, in one batch where the kernel has them. */
static int backends_read(struct xlb_dp *dp)
{
	struct xlb_backend *bes;
	__u32 n;
	int err;

	err = xlb_reader_backends(&dp->rd, &bes, &n);
	if (err)
		return err;
	if (n != dp->max_backends) {
		free(bes);
		return -EPROTO;
	}
	free(dp->backends);
	dp->backends = bes;
	return 0;
}

/* The first VIP with a table shows the layout (the outer array's empty slots do not). */
struct first_table {
	const struct xlb_reader *r;
	__u32 inner_id;
};

static int first_table(void *ctx, const struct xlb_vip_key *key, const struct xlb_vip *vip)
{
	struct first_table *ft = ctx;

	(void)key;
	return vip->table_size && !xlb_reader_table_id(ft->r, vip->table_id, &ft->inner_id);
}

/*
 * Tables pinned by an xlb with another table layout cannot share the outer
 * map with ours (the kernel refuses the inner map): say so once, clearly,
 * instead of failing every VIP write.
 */
static int tables_layout_check(struct xlb_dp *dp)
{
	struct xlb_reader_opts ro = { .pin_path = dp->pin_path };
	struct bpf_map_info info = {};
	struct first_table ft = {};
	__u32 len = sizeof(info), inner_id;
	struct xlb_reader *r;
	char msg[256];
	int fd, err = 0;

	/* Nothing pinned yet, or not all of it: nothing to compare with. */
	if (xlb_reader_open(&r, &ro, msg, sizeof(msg)))
		return 0;
	ft.r = r;
	inner_id = xlb_reader_vip_walk(r, first_table, &ft) == 1 ? ft.inner_id : 0;
	xlb_reader_close(r);
	if (!inner_id)
		return 0;
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
static int adopt_vip(void *ctx, const struct xlb_vip_key *key, const struct xlb_vip *vip)
{
	struct xlb_dp *dp = ctx;

	if (!vip->vip_id || vip->vip_id >= dp->max_vips || dp->vips[vip->vip_id].used) {
		pr_warn("pinned VIP with bad or duplicate id %u ignored", vip->vip_id);
		return 0;
	}
	dp->vips[vip->vip_id].used = true;
	dp->vips[vip->vip_id].key = *key;
	return 0;
}

static int adopt(struct xlb_dp *dp)
{
	struct ref_item *eks = NULL, *aks = NULL;
	struct xlb_endpoint_key ek;
	struct xlb_addr_key ak;
	size_t neks = 0, naks = 0;
	__u32 i, nvips = 0, nbes = 0;
	int err, fixed;

	err = xlb_reader_vip_walk(&dp->rd, adopt_vip, dp);
	if (err)
		return err;
	for (i = 1; i < dp->max_vips; i++)
		nvips += dp->vips[i].used;
	aks = calloc(nvips ? nvips : 1, sizeof(*aks));
	eks = calloc(dp->max_backends, sizeof(*eks));
	if (!aks || !eks) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 1; i < dp->max_vips; i++) {
		if (!dp->vips[i].used)
			continue;
		xlb_dp_addr_key(&ak, &dp->vips[i].key);
		memcpy(aks[naks++].key, &ak, XLB_REF_KEY);
	}

	err = backends_read(dp);
	if (err)
		goto cleanup;
	/* DSR's agents and tags, mirrored for the live backends (a removed one has none). */
	for (i = 1; i < dp->max_backends; i++)
		if (dp->backends[i].state != XLB_BE_REMOVED)
			bpf_map_lookup_elem(dp->fd_dsr_agents, &i, &dp->dsr[i]);
	for (i = 1; i < dp->max_backends; i++) {
		struct xlb_backend *be = &dp->backends[i];

		if (be->state == XLB_BE_REMOVED)
			continue;
		if (be->vip_id >= dp->max_vips || !dp->vips[be->vip_id].used) {
			/* Its VIP is gone (a write interrupted): free the slot. */
			be->state = XLB_BE_REMOVED;
			be->flags = 0;
			bpf_map_update_elem(dp->fd_backends, &i, be, BPF_ANY);
			continue;
		}
		err = xlb_dp_vip_state_add(&dp->vips[be->vip_id], i);
		if (err)
			goto cleanup;
		xlb_dp_endpoint_key(&ek, be, dp->vips[be->vip_id].key.proto);
		memcpy(eks[neks].key, &ek, XLB_REF_KEY);
		eks[neks++].id = i;
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
		err = xlb_dp_filter_write(dp, i, true);
		if (err)
			goto cleanup;
	}
	fixed = refs_reconcile(dp, XLB_M_VIP_ADDRS, &dp->vip_refs, aks, naks, false);
	if (fixed < 0) {
		err = fixed;
		goto cleanup;
	}
	/* Endpoints with their primaries, and the backends' flags to match. */
	err = refs_reconcile(dp, XLB_M_BACKEND_ADDRS, &dp->be_refs, eks, neks, true);
	if (err < 0)
		goto cleanup;
	fixed += err;
	err = vip_keys_reconcile(dp);
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

/*
 * The data plane's reader: the loaded maps' own descriptors (a reader of
 * the pins would hold second ones), and the shorthands the writer uses.
 */
static int reader_init(struct xlb_dp *dp)
{
	struct xlb_reader *r = &dp->rd;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const struct bpf_map *map;
	int i;

	snprintf(r->pin_path, sizeof(r->pin_path), "%s", dp->pin_path);
	r->ncpus = dp->ncpus;
	for (i = 0; i < XLB_M_MAX; i++) {
		map = bpf_object__find_map_by_name(dp->skel->obj, xlb_map_spec(i)->name);
		r->fd[i] = map ? bpf_map__fd(map) : -1;
		if (r->fd[i] < 0) {
			pr_err("BPF object: no map %s", xlb_map_spec(i)->name);
			return -ENOENT;
		}
		r->max_entries[i] = bpf_map__max_entries(map);
		/* What the kernel made (a conntrack table's size is rounded), not what was asked. */
		if (!bpf_obj_get_info_by_fd(r->fd[i], &info, &len))
			r->max_entries[i] = info.max_entries;
		len = sizeof(info);
	}
	dp->fd_vips = r->fd[XLB_M_VIPS];
	dp->fd_vip_addrs = r->fd[XLB_M_VIP_ADDRS];
	dp->fd_tables = r->fd[XLB_M_TABLES];
	dp->fd_backends = r->fd[XLB_M_BACKENDS];
	dp->fd_backend_addrs = r->fd[XLB_M_BACKEND_ADDRS];
	dp->fd_dsr_agents = r->fd[XLB_M_DSR_AGENTS];
	dp->fd_dsr_tags = r->fd[XLB_M_DSR_TAGS];
	dp->fd_config = r->fd[XLB_M_CONFIG];
	dp->fd_stats = r->fd[XLB_M_STATS];
	dp->fd_vip_stats = r->fd[XLB_M_VIP_STATS];
	dp->fd_backend_stats = r->fd[XLB_M_BACKEND_STATS];
	dp->fd_vip_meta = r->fd[XLB_M_VIP_META];
	dp->fd_addr_filter = r->fd[XLB_M_ADDR_FILTER];
	dp->fd_vip_keys = r->fd[XLB_M_VIP_KEYS];
	dp->fd_ct4 = r->fd[XLB_M_CT4];
	dp->fd_ct6 = r->fd[XLB_M_CT6];
	dp->fd_fnat4 = r->fd[XLB_M_FNAT4];
	dp->fd_fnat6 = r->fd[XLB_M_FNAT6];
	dp->fd_vip_budget = r->fd[XLB_M_VIP_BUDGET];
	dp->fd_vip_flood = r->fd[XLB_M_VIP_FLOOD];
	return 0;
}

/* The tail calls' program arrays (bpf/xlb.bpf.c), pinned beside the maps by name. */
static const char *const jump_tables[] = {"xlb_jmp_xdp", "xlb_jmp_tc"};

/*
 * Pins the program arrays of the tail calls (ICMP, DSR). The kernel empties a
 * program array when its last user-space reference goes, and programs stay
 * attached after an xlbd --once, or one that exits or crashes: without a pin
 * their tail calls would fall through from then on. A later xlbd pins its own
 * in their place; until it attaches, the programs of the one before lose their
 * tail calls (ICMP errors pass untranslated, DSR packets are dropped).
 */
static int pin_jump_tables(struct xlb_dp *dp)
{
	struct bpf_map *maps[] = {dp->skel->maps.xlb_jmp_xdp, dp->skel->maps.xlb_jmp_tc};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dp->pin_path, jump_tables[i]) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT)
			return -errno;
		if (bpf_obj_pin(bpf_map__fd(maps[i]), path))
			return -errno;
	}
	return 0;
}

int xlb_dp_open(struct xlb_dp **dpp, const struct xlb_dp_opts *opts)
{
	struct xlb_dp_opts none = {};
	struct xlb_dp *dp;
	struct bpf_map *map;
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
	/* Before the maps are sized: a per-CPU LRU table's size depends on it. */
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus ? dp->ncpus : -EINVAL;
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
	if (opts->no_sock_progs) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, dp->skel->obj)
			if (bpf_program__type(prog) == BPF_PROG_TYPE_CGROUP_SOCK_ADDR)
				bpf_program__set_autoload(prog, false);
	}
	/* Kernels before 5.14 have no syscall programs: their clock stays the coarse one. */
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) != 1)
		bpf_program__set_autoload(dp->skel->progs.xlb_clock_read, false);
	/* Before the load: the verifier would only say "Permission denied" about it. */
	err = tables_layout_check(dp);
	if (err)
		goto cleanup;
	err = xlb_bpf__load(dp->skel);
	if (err) {
		pr_err("load BPF programs (pin path %s): %s", dp->pin_path, strerror(-err));
		goto cleanup;
	}
	err = pin_jump_tables(dp);
	if (err) {
		pr_err("pin the tail calls' program arrays under %s: %s", dp->pin_path,
		       strerror(-err));
		goto cleanup;
	}
	err = xlb_dp_clock_calibrate(dp, false);
	if (err)
		pr_warn("data plane clock not calibrated (%s): the programs read the coarse clock, "
			"about 10 ns more per packet",
			strerror(-err));
	err = reader_init(dp);
	if (err)
		goto cleanup;
	dp->max_vips = dp->rd.max_entries[XLB_M_VIP_STATS];
	dp->max_backends = dp->rd.max_entries[XLB_M_BACKENDS];
	dp->vips = calloc(dp->max_vips, sizeof(*dp->vips));
	dp->backends = calloc(dp->max_backends, sizeof(*dp->backends));
	dp->dsr = calloc(dp->max_backends, sizeof(*dp->dsr));
	dp->filter_refs = calloc(2u << XLB_FILTER_BITS, sizeof(*dp->filter_refs));
	dp->vip_refs.fd = dp->fd_vip_addrs;
	dp->be_refs.fd = dp->fd_backend_addrs;
	dp->zeros = calloc(1, xlb_dp_percpu_size(dp, sizeof(struct xlb_vip_stats) >
						  sizeof(struct xlb_backend_stats)
					      ? sizeof(struct xlb_vip_stats)
					      : sizeof(struct xlb_backend_stats)));
	if (!dp->vips || !dp->backends || !dp->dsr || !dp->filter_refs || !dp->zeros) {
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
	xlb_dp_tables_publish(dp);
	free(dp->pend);
	if (dp->vips)
		for (i = 0; i < dp->max_vips; i++)
			xlb_dp_vip_state_free(&dp->vips[i]);
	free(dp->vips);
	free(dp->dsr);
	free(dp->backends);
	free(dp->filter_refs);
	free(dp->zeros);
	xlb_dp_refs_clear(&dp->vip_refs);
	xlb_dp_refs_clear(&dp->be_refs);
	free(dp->gc.keys);
	free(dp->gc.vals);
	xlb_bpf__destroy(dp->skel);
	free(dp);
}

int xlb_dp_unpin(const char *pin_path)
{
	char path[PATH_MAX];
	int i, err = 0;

	if (!pin_path)
		pin_path = XLB_PIN_PATH_DEFAULT;
	/* The socket programs' links first: they live in the same directory. */
	err = xlb_dp_sock_detach(pin_path);
	for (i = 0; i < XLB_M_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, xlb_map_spec(i)->name);
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	for (i = 0; i < (int)(sizeof(jump_tables) / sizeof(jump_tables[0])); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, jump_tables[i]);
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
	case XLB_PROG_TC_HANDOFF:
		return bpf_program__fd(dp->skel->progs.xlb_tc_handoff);
	case XLB_PROG_CONNECT4:
		return bpf_program__fd(dp->skel->progs.xlb_connect4);
	case XLB_PROG_CONNECT6:
		return bpf_program__fd(dp->skel->progs.xlb_connect6);
	case XLB_PROG_SENDMSG4:
		return bpf_program__fd(dp->skel->progs.xlb_sendmsg4);
	case XLB_PROG_SENDMSG6:
		return bpf_program__fd(dp->skel->progs.xlb_sendmsg6);
	case XLB_PROG_RECVMSG4:
		return bpf_program__fd(dp->skel->progs.xlb_recvmsg4);
	case XLB_PROG_RECVMSG6:
		return bpf_program__fd(dp->skel->progs.xlb_recvmsg6);
	case XLB_PROG_PEERNAME4:
		return bpf_program__fd(dp->skel->progs.xlb_peername4);
	case XLB_PROG_PEERNAME6:
		return bpf_program__fd(dp->skel->progs.xlb_peername6);
	}
	return -EINVAL;
}

int xlb_dp_map_fd(const struct xlb_dp *dp, const char *name)
{
	int i;

	struct bpf_map *m;

	for (i = 0; i < XLB_M_MAX; i++)
		if (!strcmp(xlb_map_spec(i)->name, name))
			return dp->rd.fd[i] >= 0 ? dp->rd.fd[i] : -ENOENT;
	/* The programs' private maps (never pinned), for tests and tools. */
	m = dp->skel ? bpf_object__find_map_by_name(dp->skel->obj, name) : NULL;
	return m && bpf_map__fd(m) >= 0 ? bpf_map__fd(m) : -ENOENT;
}

const char *xlb_dp_pin_path(const struct xlb_dp *dp)
{
	return dp->pin_path;
}

int xlb_dp_ncpus(const struct xlb_dp *dp)
{
	return dp->ncpus;
}

const struct xlb_reader *xlb_dp_reader(const struct xlb_dp *dp)
{
	return &dp->rd;
}

/* The dp.h reads: the same, through the data plane's reader. */

int xlb_vip_get(const struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *out)
{
	return xlb_reader_vip_get(&dp->rd, key, out);
}

int xlb_backend_get(const struct xlb_dp *dp, __u32 id, struct xlb_backend *out)
{
	return xlb_reader_backend_get(&dp->rd, id, out);
}

int xlb_vip_table_read(const struct xlb_dp *dp, const struct xlb_vip_key *key, __u32 *table,
		       __u32 max)
{
	struct xlb_vip vip;
	__u32 *all;
	int err;

	err = xlb_reader_vip_get(&dp->rd, key, &vip);
	if (err)
		return err;
	if (!vip.table_size)
		return 0;
	if (!table)
		return vip.table_size;
	if (max >= vip.table_size)
		return xlb_reader_vip_table(&dp->rd, &vip, table, NULL) ?: (int)vip.table_size;
	all = malloc(vip.table_size * sizeof(*all));
	if (!all)
		return -ENOMEM;
	err = xlb_reader_vip_table(&dp->rd, &vip, all, NULL);
	if (!err)
		memcpy(table, all, max * sizeof(*all));
	free(all);
	return err ?: (int)vip.table_size;
}

int xlb_vip_meta_get(const struct xlb_dp *dp, __u32 vip_id, struct xlb_vip_meta *out)
{
	return xlb_reader_vip_meta(&dp->rd, vip_id, out);
}

int xlb_stats_read(const struct xlb_dp *dp, struct xlb_stats *out)
{
	return xlb_reader_stats(&dp->rd, out);
}

int xlb_vip_stats_read(const struct xlb_dp *dp, __u32 vip_id, struct xlb_vip_stats *out)
{
	return xlb_reader_vip_stats(&dp->rd, vip_id, out);
}

int xlb_backend_stats_read(const struct xlb_dp *dp, __u32 backend_id,
			   struct xlb_backend_stats *out)
{
	return xlb_reader_backend_stats(&dp->rd, backend_id, out);
}

/*
 * The conntrack sweep (dp.h). Batch lookups walk a hash table by bucket, and
 * the position between two batches is a bucket index, which deletes in
 * between leave valid: so a sweep can stop after XLB_CT_GC_PER_CALL entries
 * and go on at the next call. An entry refreshed by a packet between its
 * lookup here and its delete is lost; the programs then take that packet for
 * a new flow, which Maglev sends to the same backend unless its set changed.
 */
#define XLB_GC_BATCH 4096
#define XLB_GC_TABLES 4

/*
 * The swept tables in order: conntrack, then full-NAT's flows (whose values
 * start with the same xlb_ct_entry), IPv4 before IPv6; odd ones are IPv6.
 */
static int gc_fd(const struct xlb_dp *dp, int t)
{
	const int fds[XLB_GC_TABLES] = { dp->fd_ct4, dp->fd_ct6, dp->fd_fnat4, dp->fd_fnat6 };

	return fds[t];
}

static const enum xlb_map gc_map[XLB_GC_TABLES] = { XLB_M_CT4, XLB_M_CT6, XLB_M_FNAT4,
						    XLB_M_FNAT6 };
static const __u32 gc_vsz[XLB_GC_TABLES] = { sizeof(struct xlb_ct_entry),
					     sizeof(struct xlb_ct_entry),
					     sizeof(struct xlb_fnat_entry),
					     sizeof(struct xlb_fnat_entry) };
/* The kernel's internal ENOTSUPP: no batch ops for this map type. */
#define XLB_GC_ENOTSUPP 524

static bool ct_expired(const struct xlb_ct_entry *e, __u32 now)
{
	return (__s32)(now - e->expires) > 0;
}

static void ct_count(struct xlb_ct_gc_count *c, const void *key, bool v6,
		     const struct xlb_ct_entry *e, bool expired)
{
	__u8 dir = v6 ? ((const struct xlb_flow_key *)key)->dir
		      : ((const struct xlb_ct4_key *)key)->dir;

	c->scanned++;
	if (expired) {
		c->expired++;
		return;
	}
	c->live++;
	c->reply += dir == XLB_DIR_REPLY;
}

/* Deletes n keys: in one batch, else one by one (an entry evicted meanwhile is no error). */
static int ct_delete(int fd, __u8 *keys, __u32 ksz, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 done = n, i;

	if (!n || !bpf_map_delete_batch(fd, keys, &done, &opts))
		return 0;
	if (done > n)
		done = 0;
	for (i = done; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + (size_t)i * ksz) && errno != ENOENT)
			return -errno;
	return 0;
}

/* One batch of table t from the cursor; *end at the table's end. -EOPNOTSUPP: no batch ops. */
static int gc_step(struct xlb_dp *dp, int t, __u32 now, struct xlb_ct_gc_count *c, bool *end)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct xlb_ct_gc_cursor *g = &dp->gc;
	int fd = gc_fd(dp, t), v6 = t & 1;
	__u32 ksz = v6 ? sizeof(struct xlb_flow_key) : sizeof(struct xlb_ct4_key);
	const __u8 *vals = g->vals;
	__u8 *keys = g->keys;
	__u32 count = XLB_GC_BATCH, i, ndel = 0;
	int rc;

	rc = bpf_map_lookup_batch(fd, g->started ? g->token : NULL, g->token, keys, g->vals,
				  &count, &opts);
	if (rc && errno != ENOENT) {
		if (!g->started && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP ||
				    errno == XLB_GC_ENOTSUPP))
			return -EOPNOTSUPP;
		return -errno;
	}
	g->started = true;
	*end = rc != 0;
	if (count > XLB_GC_BATCH)
		count = 0;
	for (i = 0; i < count; i++) {
		const struct xlb_ct_entry *e = (const void *)(vals + (size_t)i * gc_vsz[t]);
		bool expired = ct_expired(e, now);

		ct_count(c, keys + (size_t)i * ksz, v6, e, expired);
		/* The expired keys, packed at the front for one delete. */
		if (expired && ndel++ != i)
			memmove(keys + (size_t)(ndel - 1) * ksz, keys + (size_t)i * ksz, ksz);
	}
	return ct_delete(fd, keys, ksz, ndel);
}

/* Kernels without batch ops for LRU maps: a whole sweep per call, one element at a time. */
struct gc_slow {
	__u32 now, ksz, n, cap;
	bool v6;
	__u8 *dead;
	struct xlb_ct_gc_count *c;
};

static int gc_slow_elem(void *ctx, const void *key, const void *value)
{
	struct gc_slow *s = ctx;
	bool expired = ct_expired(value, s->now);

	ct_count(s->c, key, s->v6, value, expired);
	if (!expired)
		return 0;
	if (s->n == s->cap) {
		__u32 cap = s->cap ? 2 * s->cap : 1024;
		__u8 *d = realloc(s->dead, (size_t)cap * s->ksz);

		if (!d)
			return -ENOMEM;
		s->dead = d;
		s->cap = cap;
	}
	memcpy(s->dead + (size_t)s->n++ * s->ksz, key, s->ksz);
	return 0;
}

static int gc_slow(struct xlb_dp *dp, __u32 now, struct xlb_ct_gc *res)
{
	struct gc_slow s = { .now = now };
	__u32 i;
	int t, err = 0;

	for (t = 0; t < XLB_GC_TABLES && !err; t++) {
		s.v6 = t & 1;
		s.ksz = s.v6 ? sizeof(struct xlb_flow_key) : sizeof(struct xlb_ct4_key);
		s.c = s.v6 ? &res->v6 : &res->v4;
		s.n = 0;
		err = xlb_reader_map_walk(&dp->rd, gc_map[t], gc_slow_elem, &s);
		if (err > 0)
			err = 0; /* stopped by the restart bound: the rest next time */
		for (i = 0; i < s.n && !err; i++)
			if (bpf_map_delete_elem(gc_fd(dp, t), s.dead + (size_t)i * s.ksz) &&
			    errno != ENOENT)
				err = -errno;
	}
	free(s.dead);
	return err;
}

static void gc_add(struct xlb_ct_gc_count *to, const struct xlb_ct_gc_count *c)
{
	to->scanned += c->scanned;
	to->expired += c->expired;
	to->live += c->live;
	to->reply += c->reply;
}

/* Batches from the cursor until the budget is spent or a sweep ends; *done: it ended. */
static int gc_batches(struct xlb_dp *dp, __u32 now, struct xlb_ct_gc *res, bool *done)
{
	struct xlb_ct_gc_cursor *g = &dp->gc;
	int err = 0;

	*done = false;
	while (res->v4.scanned + res->v6.scanned < XLB_CT_GC_PER_CALL) {
		bool end = false;

		err = gc_step(dp, g->table, now, (g->table & 1) ? &res->v6 : &res->v4, &end);
		if (err)
			break;
		if (!end)
			continue;
		g->started = false;
		if (g->table + 1 < XLB_GC_TABLES) {
			g->table++;
			continue;
		}
		/* One sweep per call at most: a small table is not swept again at once. */
		g->table = 0;
		*done = true;
		break;
	}
	return err;
}

int xlb_dp_ct_gc(struct xlb_dp *dp, __u32 now, struct xlb_ct_gc *out)
{
	struct xlb_ct_gc_cursor *g = &dp->gc;
	struct xlb_ct_gc res = {};
	bool done = false;
	int err;

	if (!g->keys)
		g->keys = malloc((size_t)XLB_GC_BATCH * sizeof(struct xlb_flow_key));
	if (!g->vals)
		g->vals = malloc((size_t)XLB_GC_BATCH * sizeof(struct xlb_fnat_entry));
	if (!g->keys || !g->vals)
		return -ENOMEM;
	err = g->one_by_one ? -EOPNOTSUPP : gc_batches(dp, now, &res, &done);
	if (err == -EOPNOTSUPP) {
		/* From the start, whatever a first batch counted: the slow sweep sees it all. */
		memset(&res, 0, sizeof(res));
		memset(g->sweep, 0, sizeof(g->sweep));
		g->one_by_one = true;
		g->table = 0;
		err = gc_slow(dp, now, &res);
		done = !err;
	}
	if (err) {
		/* The next call starts a fresh sweep. */
		g->started = false;
		g->table = 0;
		memset(g->sweep, 0, sizeof(g->sweep));
		return err;
	}
	gc_add(&g->sweep[0], &res.v4);
	gc_add(&g->sweep[1], &res.v6);
	if (done) {
		memcpy(g->last, g->sweep, sizeof(g->last));
		memset(g->sweep, 0, sizeof(g->sweep));
	}
	res.pass_done = done;
	res.pass_v4 = g->last[0];
	res.pass_v6 = g->last[1];
	if (out)
		*out = res;
	return 0;
}
