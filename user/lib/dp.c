// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading the data plane (see dp.h): the BPF object with its maps pinned
 * under a versioned path, adopting maps already pinned there (never flushing
 * them) after checking their layout. On open the writer's mirror is rebuilt
 * from the pinned maps, and derived maps (reference counts of VIP addresses
 * and backend endpoints, the address filter) are recomputed from the primary
 * ones, so a daemon killed half-way through a write converges on its next
 * start. Attaching is in dp_attach.c, writes in dp_write.c, reads in dp_read.c.
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
	if (!strcmp(name, XLB_MAP_SOCK_REVNAT))
		return o->ct_size ? o->ct_size : XLB_SOCK_REVNAT_SIZE_DEFAULT;
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

/*
 * Recomputes a reference-count map from the keys it should count (sorted in
 * place), fixing every difference, and rebuilds its mirror. Both sides are
 * sorted, so 100,000 backends cost a few sorts and one pass, not the
 * pairwise comparison (minutes) an unsorted check would.
 */
struct ref_list {
	struct xlb_ref *v;
	size_t n, cap;
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
	memcpy(l->v[l->n].key, key, XLB_REF_KEY);
	memcpy(&l->v[l->n].cnt, value, sizeof(__u32));
	l->n++;
	return 0;
}

static int refs_reconcile(struct xlb_dp *dp, enum xlb_map m, struct xlb_refs *r, void *keys,
			  size_t n)
{
	struct ref_list l = {};
	struct xlb_ref *have, *h, *ref;
	__u8 *k = keys;
	size_t nh, i, j;
	int fixed = 0, err;

	xlb_dp_refs_clear(r);
	/* What the map holds now. */
	err = xlb_reader_map_walk(&dp->rd, m, ref_collect, &l);
	have = l.v;
	nh = l.n;
	if (err < 0)
		goto cleanup;
	err = 0;
	if (nh)
		qsort(have, nh, sizeof(*have), xlb_dp_ref_cmp);
	if (n)
		qsort(k, n, XLB_REF_KEY, xlb_dp_ref_cmp);
	/* Keys nothing counts any more. */
	for (i = 0; i < nh; i++)
		if ((!n || !bsearch(have[i].key, k, n, XLB_REF_KEY, xlb_dp_ref_cmp)) &&
		    !bpf_map_delete_elem(r->fd, have[i].key))
			fixed++;
	/* Each run of equal keys is one entry whose count is the run's length. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1;
		     j < n && !xlb_dp_ref_cmp(k + i * XLB_REF_KEY, k + j * XLB_REF_KEY); j++)
			;
		ref = calloc(1, sizeof(*ref));
		if (!ref) {
			err = -ENOMEM;
			goto cleanup;
		}
		memcpy(ref->key, k + i * XLB_REF_KEY, XLB_REF_KEY);
		ref->cnt = j - i;
		if (!tsearch(ref, &r->root, xlb_dp_ref_cmp)) {
			free(ref);
			err = -ENOMEM;
			goto cleanup;
		}
		h = nh ? bsearch(ref, have, nh, sizeof(*have), xlb_dp_ref_cmp) : NULL;
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
	struct xlb_endpoint_key *eks = NULL;
	struct xlb_addr_key *aks = NULL;
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
	for (i = 1; i < dp->max_vips; i++)
		if (dp->vips[i].used)
			xlb_dp_addr_key(&aks[naks++], &dp->vips[i].key);

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
		err = xlb_dp_vip_state_add(&dp->vips[be->vip_id], i);
		if (err)
			goto cleanup;
		xlb_dp_endpoint_key(&eks[neks++], be, dp->vips[be->vip_id].key.proto);
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
	fixed = refs_reconcile(dp, XLB_M_VIP_ADDRS, &dp->vip_refs, aks, naks);
	if (fixed < 0) {
		err = fixed;
		goto cleanup;
	}
	err = refs_reconcile(dp, XLB_M_BACKEND_ADDRS, &dp->be_refs, eks, neks);
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
	}
	dp->fd_vips = r->fd[XLB_M_VIPS];
	dp->fd_vip_addrs = r->fd[XLB_M_VIP_ADDRS];
	dp->fd_tables = r->fd[XLB_M_TABLES];
	dp->fd_backends = r->fd[XLB_M_BACKENDS];
	dp->fd_backend_addrs = r->fd[XLB_M_BACKEND_ADDRS];
	dp->fd_config = r->fd[XLB_M_CONFIG];
	dp->fd_stats = r->fd[XLB_M_STATS];
	dp->fd_vip_stats = r->fd[XLB_M_VIP_STATS];
	dp->fd_backend_stats = r->fd[XLB_M_BACKEND_STATS];
	dp->fd_vip_meta = r->fd[XLB_M_VIP_META];
	dp->fd_addr_filter = r->fd[XLB_M_ADDR_FILTER];
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
	/* Before the load: the verifier would only say "Permission denied" about it. */
	err = tables_layout_check(dp);
	if (err)
		goto cleanup;
	err = xlb_bpf__load(dp->skel);
	if (err) {
		pr_err("load BPF programs (pin path %s): %s", dp->pin_path, strerror(-err));
		goto cleanup;
	}
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus ? dp->ncpus : -EINVAL;
		goto cleanup;
	}
	err = reader_init(dp);
	if (err)
		goto cleanup;
	dp->max_vips = dp->rd.max_entries[XLB_M_VIP_STATS];
	dp->max_backends = dp->rd.max_entries[XLB_M_BACKENDS];
	dp->vips = calloc(dp->max_vips, sizeof(*dp->vips));
	dp->backends = calloc(dp->max_backends, sizeof(*dp->backends));
	dp->filter_refs = calloc(2u << XLB_FILTER_BITS, sizeof(*dp->filter_refs));
	dp->vip_refs.fd = dp->fd_vip_addrs;
	dp->be_refs.fd = dp->fd_backend_addrs;
	dp->zeros = calloc(1, xlb_dp_percpu_size(dp, sizeof(struct xlb_vip_stats) >
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
	xlb_dp_tables_publish(dp);
	free(dp->pend);
	if (dp->vips)
		for (i = 0; i < dp->max_vips; i++)
			xlb_dp_vip_state_free(&dp->vips[i]);
	free(dp->vips);
	free(dp->backends);
	free(dp->filter_refs);
	free(dp->zeros);
	xlb_dp_refs_clear(&dp->vip_refs);
	xlb_dp_refs_clear(&dp->be_refs);
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

	for (i = 0; i < XLB_M_MAX; i++)
		if (!strcmp(xlb_map_spec(i)->name, name))
			return dp->rd.fd[i] >= 0 ? dp->rd.fd[i] : -ENOENT;
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
