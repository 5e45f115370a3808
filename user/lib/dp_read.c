// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The read side of the data plane library (see dp_read.h): the ABI's table of
 * what each pinned map must be, the read-only open that holds the pins to it,
 * walks over VIPs, backends, tables and both conntrack tables (batch lookups
 * with a one-element fallback; IPv4 entries widened to the one flow key
 * form), what a conntrack table costs the kernel, per-CPU sums, and the
 * data plane's clock (XLB_TICK). The dp.h read calls (xlb_vip_get,
 * xlb_stats_read, ...) are here too, as the same reads through the data
 * plane's own reader.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "dp_read.h"
#include "dp_read_internal.h"

/* Batch lookups move this many elements per system call. */
#define XLB_READ_BATCH 4096
/* The kernel's internal ENOTSUPP, which the bpf syscall returns for map types without batch ops. */
#define XLB_ENOTSUPP 524

#define SPEC(n, t, k, v, opt) \
	{ .name = n, .type = t, .key_size = k, .value_size = v, .optional = opt }

static const struct xlb_map_spec map_specs[XLB_M_MAX] = {
	[XLB_M_VIPS] = SPEC(XLB_MAP_VIPS, BPF_MAP_TYPE_HASH, sizeof(struct xlb_vip_key),
			    sizeof(struct xlb_vip), false),
	[XLB_M_VIP_ADDRS] = SPEC(XLB_MAP_VIP_ADDRS, BPF_MAP_TYPE_HASH, sizeof(struct xlb_addr_key),
				 sizeof(__u32), false),
	[XLB_M_TABLES] = SPEC(XLB_MAP_TABLES, BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32),
			      sizeof(__u32), false),
	[XLB_M_BACKENDS] = SPEC(XLB_MAP_BACKENDS, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				sizeof(struct xlb_backend), false),
	[XLB_M_BACKEND_ADDRS] = SPEC(XLB_MAP_BACKEND_ADDRS, BPF_MAP_TYPE_HASH,
				     sizeof(struct xlb_endpoint_key), sizeof(struct xlb_endpoint),
				     false),
	[XLB_M_CT4] = SPEC(XLB_MAP_CT4, BPF_MAP_TYPE_LRU_HASH, sizeof(struct xlb_ct4_key),
			   sizeof(struct xlb_ct_entry), false),
	[XLB_M_CT6] = SPEC(XLB_MAP_CT6, BPF_MAP_TYPE_LRU_HASH, sizeof(struct xlb_flow_key),
			   sizeof(struct xlb_ct_entry), false),
	[XLB_M_CONFIG] = SPEC(XLB_MAP_CONFIG, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			      sizeof(struct xlb_config), false),
	/* The programs' own scratch (budgets, next hops): checked when present, never required. */
	[XLB_M_CT_BUDGET] = SPEC(XLB_MAP_CT_BUDGET, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				 sizeof(struct xlb_budget), true),
	[XLB_M_VIP_BUDGET] = SPEC(XLB_MAP_VIP_BUDGET, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				  sizeof(struct xlb_budget), true),
	[XLB_M_VIP_FLOOD] = SPEC(XLB_MAP_VIP_FLOOD, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(struct xlb_vip_flood), true),
	/* Replies are rebuilt from it: as much the ABI as xlb_vips. */
	[XLB_M_VIP_KEYS] = SPEC(XLB_MAP_VIP_KEYS, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				sizeof(struct xlb_vip_key), false),
	[XLB_M_NH_CACHE] = SPEC(XLB_MAP_NH_CACHE, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				sizeof(struct xlb_nh_slot), true),
	[XLB_M_STATS] = SPEC(XLB_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			     sizeof(struct xlb_stats), false),
	[XLB_M_VIP_STATS] = SPEC(XLB_MAP_VIP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				 sizeof(struct xlb_vip_stats), false),
	[XLB_M_BACKEND_STATS] = SPEC(XLB_MAP_BACKEND_STATS, BPF_MAP_TYPE_PERCPU_ARRAY,
				     sizeof(__u32), sizeof(struct xlb_backend_stats), false),
	/* Names only: without them every name reads as blank. */
	[XLB_M_VIP_META] = SPEC(XLB_MAP_VIP_META, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				sizeof(struct xlb_vip_meta), true),
	[XLB_M_ADDR_FILTER] = SPEC(XLB_MAP_ADDR_FILTER, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				   sizeof(__u64), false),
	/* Socket balancing's reverse entries: no reader needs them, pins of older xlbs lack them. */
	[XLB_M_SOCK_REVNAT] = SPEC(XLB_MAP_SOCK_REVNAT, BPF_MAP_TYPE_LRU_HASH,
				   sizeof(struct xlb_sock_key), sizeof(struct xlb_sock_revnat), true),
	/* Full-NAT flows (bpf/xlb_fnat.h) and the addresses they take. */
	[XLB_M_FNAT4] = SPEC(XLB_MAP_FNAT4, BPF_MAP_TYPE_LRU_HASH, sizeof(struct xlb_ct4_key),
			     sizeof(struct xlb_fnat_entry), false),
	[XLB_M_FNAT6] = SPEC(XLB_MAP_FNAT6, BPF_MAP_TYPE_LRU_HASH, sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_fnat_entry), false),
	[XLB_M_IF_ADDRS] = SPEC(XLB_MAP_IF_ADDRS, BPF_MAP_TYPE_HASH, sizeof(__u32),
				sizeof(struct xlb_if_addr), false),
	/* DSR's agents and tags (bpf/xlb_dsr.h): written with the backends. */
	[XLB_M_DSR_AGENTS] = SPEC(XLB_MAP_DSR_AGENTS, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				  sizeof(struct xlb_dsr_agent), false),
	[XLB_M_DSR_TAGS] = SPEC(XLB_MAP_DSR_TAGS, BPF_MAP_TYPE_HASH, sizeof(struct xlb_dsr_tag_key),
				sizeof(__u32), false),
};

#undef SPEC

const struct xlb_map_spec *xlb_map_spec(enum xlb_map m)
{
	return (unsigned int)m < XLB_M_MAX ? &map_specs[m] : NULL;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The programs derive the same clock from jiffies (bpf/xlb_clock.h), a jiffy or two behind. */
__u32 xlb_tick_now(void)
{
	return (__u32)(mono_ns() >> XLB_TICK_SHIFT);
}

static const char *map_type_str(__u32 t)
{
	const char *s = libbpf_bpf_map_type_str(t);

	return s ? s : "unknown";
}

/* A pinned object that is not a map (a program, a link) must not be read as one. */
static bool fd_is_map(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return true; /* no /proc: let the info check decide */
	target[n] = '\0';
	return strstr(target, "bpf-map") != NULL;
}

#define OTHER_VERSION "(an xlb of another version pinned these maps?)"

/* Holds one pinned map to its spec; on a mismatch the fd stays for the caller to close. */
static int spec_check(struct xlb_reader *r, enum xlb_map i, const char *path, char *err,
		      size_t errlen)
{
	const struct xlb_map_spec *sp = &map_specs[i];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = r->fd[i], e;

	if (!fd_is_map(fd)) {
		snprintf(err, errlen, "%s: pinned object is not a map, expected a %s map", path,
			 map_type_str(sp->type));
		return -EPROTO;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		e = -errno;
		snprintf(err, errlen, "map %s: read map info: %s", path, strerror(-e));
		return e;
	}
	r->max_entries[i] = info.max_entries;
	if (info.type != sp->type) {
		snprintf(err, errlen, "map %s: type %s, expected %s " OTHER_VERSION, path,
			 map_type_str(info.type), map_type_str(sp->type));
		return -EPROTO;
	}
	if (info.key_size != sp->key_size) {
		snprintf(err, errlen, "map %s: key size %u bytes, expected %u " OTHER_VERSION, path,
			 info.key_size, sp->key_size);
		return -EPROTO;
	}
	if (info.value_size != sp->value_size) {
		snprintf(err, errlen, "map %s: value size %u bytes, expected %u " OTHER_VERSION,
			 path, info.value_size, sp->value_size);
		return -EPROTO;
	}
	return 0;
}

static int open_one(struct xlb_reader *r, enum xlb_map i, const char *user, char *err,
		    size_t errlen)
{
	LIBBPF_OPTS(bpf_obj_get_opts, gopts, .file_flags = BPF_F_RDONLY);
	const struct xlb_map_spec *sp = &map_specs[i];
	char path[PATH_MAX + 32];
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", r->pin_path, sp->name);
	fd = bpf_obj_get_opts(path, &gopts);
	if (fd < 0) {
		e = -errno;
		if (e == -ENOENT && sp->optional)
			return 0;
		if (e == -ENOENT)
			snprintf(err, errlen, "map %s: missing, expected a %s map " OTHER_VERSION,
				 path, map_type_str(sp->type));
		else if (e == -EPERM || e == -EACCES)
			snprintf(err, errlen, "map %s: %s (%s needs root, or CAP_BPF and read "
				 "access to the pins)", path, strerror(-e), user);
		else
			snprintf(err, errlen, "map %s: %s", path, strerror(-e));
		return e;
	}
	r->fd[i] = fd;
	return spec_check(r, i, path, err, errlen);
}

/* None of the maps there at all is the common case (xlb never ran): said plainly. */
static int any_pinned(const struct xlb_reader *r, const char *user, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	int i;

	for (i = 0; i < XLB_M_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", r->pin_path, map_specs[i].name);
		if (!access(path, F_OK))
			return 0;
		if (errno == EACCES) {
			/* The pin directory is root's, 0700: not "missing", but not ours. */
			snprintf(err, errlen, "%s: %s (%s needs root, or CAP_BPF and read "
				 "access to the pins)", r->pin_path, strerror(EACCES), user);
			return -EACCES;
		}
	}
	snprintf(err, errlen, "no xlb maps at %s (is xlbd running? --pin-path to look elsewhere)",
		 r->pin_path);
	return -ENOENT;
}

int xlb_reader_open(struct xlb_reader **rp, const struct xlb_reader_opts *opts, char *err,
		    size_t errlen)
{
	const char *pin = opts && opts->pin_path ? opts->pin_path : XLB_PIN_PATH_DEFAULT;
	const char *user = opts && opts->user ? opts->user : "reading the maps";
	struct xlb_reader *r;
	int i, e;

	*rp = NULL;
	if (strlen(pin) >= sizeof(r->pin_path)) {
		snprintf(err, errlen, "pin path too long");
		return -ENAMETOOLONG;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->owned = true;
	r->flags = opts ? opts->flags : 0;
	strcpy(r->pin_path, pin);
	for (i = 0; i < XLB_M_MAX; i++)
		r->fd[i] = -1;
	e = any_pinned(r, user, err, errlen);
	for (i = 0; i < XLB_M_MAX && !e; i++)
		e = open_one(r, i, user, err, errlen);
	if (!e) {
		r->ncpus = libbpf_num_possible_cpus();
		if (r->ncpus <= 0) {
			snprintf(err, errlen, "cannot count the possible CPUs: %s",
				 strerror(-r->ncpus));
			e = r->ncpus ? r->ncpus : -EINVAL;
		}
	}
	if (e) {
		xlb_reader_close(r);
		return e;
	}
	*rp = r;
	return 0;
}

void xlb_reader_close(struct xlb_reader *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < XLB_M_MAX && r->owned; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
	if (r->owned)
		free(r);
}

const char *xlb_reader_pin_path(const struct xlb_reader *r)
{
	return r->pin_path;
}

int xlb_reader_map_fd(const struct xlb_reader *r, enum xlb_map m)
{
	return (unsigned int)m < XLB_M_MAX ? r->fd[m] : -1;
}

__u32 xlb_reader_max_entries(const struct xlb_reader *r, enum xlb_map m)
{
	return (unsigned int)m < XLB_M_MAX ? r->max_entries[m] : 0;
}

int xlb_reader_ncpus(const struct xlb_reader *r)
{
	return r->ncpus;
}

/* A lookup in map m, -ENOENT when that optional map is absent. */
static int lookup(const struct xlb_reader *r, enum xlb_map m, const void *key, void *val)
{
	if (r->fd[m] < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(r->fd[m], key, val) ? -errno : 0;
}

typedef int (*elem_fn)(void *ctx, const void *key, const void *value);

/* Walks an array by index: its keys are 0 to max_entries - 1, no walk can restart. */
static int array_walk_one(int fd, __u32 max_entries, __u32 value_size, elem_fn fn, void *ctx)
{
	void *value = malloc(value_size);
	int err = 0;
	__u32 k;

	if (!value)
		return -ENOMEM;
	for (k = 0; k < max_entries && !err; k++)
		if (!bpf_map_lookup_elem(fd, &k, value))
			err = fn(ctx, &k, value);
	free(value);
	return err;
}

/*
 * A hash map one key at a time. A map that changes under a get_next_key walk
 * may restart it (the kernel starts over when the current key is gone), so
 * the walk is bounded by twice max_entries and by the deadline.
 */
static int hash_walk_one(int fd, __u32 key_size, __u32 value_size, __u32 max_entries,
			 elem_fn fn, void *ctx, __u64 deadline_ns)
{
	__u64 steps = 0, limit = 2ULL * max_entries + 1;
	__u8 key[64], next[64], *value;
	bool first = true;
	int err = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	value = malloc(value_size);
	if (!value)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, key_size);
		if (++steps > limit) {
			err = 1;
			break;
		}
		if (bpf_map_lookup_elem(fd, key, value))
			continue; /* deleted meanwhile */
		err = fn(ctx, key, value);
		if (err)
			break;
		if (deadline_ns && !(steps & 1023) && mono_ns() > deadline_ns) {
			err = 1;
			break;
		}
	}
	free(value);
	return err;
}

/*
 * Calls fn for every element of map m: batch lookups when the kernel has them
 * for its type, else one element at a time. Returns fn's first non-zero
 * value, 1 when the deadline (0: none) or the restart bound stopped it, or -errno.
 */
static int map_walk(const struct xlb_reader *r, enum xlb_map m, elem_fn fn, void *ctx,
		    __u64 deadline_ns)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	const struct xlb_map_spec *sp = &map_specs[m];
	bool array = sp->type == BPF_MAP_TYPE_ARRAY || sp->type == BPF_MAP_TYPE_ARRAY_OF_MAPS;
	__u8 token[64] = {}, *keys = NULL, *vals = NULL;
	int fd = r->fd[m], err = 0, rc;
	bool first = true;
	__u32 count, i;

	if (fd < 0)
		return -ENOENT;
	if (r->flags & XLB_READER_NO_BATCH)
		goto one_by_one;
	/* Zeroed: valgrind cannot see the kernel fill them (it does not know batch lookups). */
	keys = calloc(XLB_READ_BATCH, sp->key_size);
	vals = calloc(XLB_READ_BATCH, sp->value_size);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = XLB_READ_BATCH;
		rc = bpf_map_lookup_batch(fd, first ? NULL : token, token, keys, vals, &count,
					  &bopts);
		if (rc && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP ||
				      errno == XLB_ENOTSUPP))
				goto one_by_one;
			err = -errno;
			goto out;
		}
		first = false;
		for (i = 0; i < count && !err; i++)
			err = fn(ctx, keys + (size_t)i * sp->key_size,
				 vals + (size_t)i * sp->value_size);
		if (err || rc)
			goto out; /* rc: ENOENT, the end */
		if (deadline_ns && mono_ns() > deadline_ns) {
			err = 1;
			goto out;
		}
	}
one_by_one:
	if (array)
		err = array_walk_one(fd, r->max_entries[m], sp->value_size, fn, ctx);
	else
		err = hash_walk_one(fd, sp->key_size, sp->value_size, r->max_entries[m], fn, ctx,
				    deadline_ns);
out:
	free(keys);
	free(vals);
	return err;
}

int xlb_reader_map_walk(const struct xlb_reader *r, enum xlb_map m,
			int (*fn)(void *ctx, const void *key, const void *value), void *ctx)
{
	return map_walk(r, m, fn, ctx, 0);
}

struct vip_walk {
	xlb_vip_fn fn;
	void *ctx;
};

static int vip_elem(void *ctx, const void *key, const void *value)
{
	struct vip_walk *w = ctx;

	return w->fn(w->ctx, key, value);
}

int xlb_reader_vip_walk(const struct xlb_reader *r, xlb_vip_fn fn, void *ctx)
{
	struct vip_walk w = { fn, ctx };

	return map_walk(r, XLB_M_VIPS, vip_elem, &w, 0);
}

struct vip_list {
	struct xlb_vip_entry *v;
	size_t n, cap;
};

static int vip_collect(void *ctx, const struct xlb_vip_key *key, const struct xlb_vip *vip)
{
	struct vip_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct xlb_vip_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].key = *key;
	l->v[l->n].vip = *vip;
	l->n++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return xlb_vip_key_cmp(&((const struct xlb_vip_entry *)a)->key,
			       &((const struct xlb_vip_entry *)b)->key);
}

int xlb_reader_vips(const struct xlb_reader *r, struct xlb_vip_entry **vips, size_t *n)
{
	struct vip_list l = {};
	size_t i, j;
	int err;

	*vips = NULL;
	*n = 0;
	err = xlb_reader_vip_walk(r, vip_collect, &l);
	if (err < 0) {
		free(l.v);
		return err;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
	/* A walk restarted by a concurrent delete may show a VIP twice: one copy is kept. */
	for (i = j = 0; i < l.n; i++) {
		if (j && !entry_cmp(&l.v[j - 1], &l.v[i]))
			j--;
		l.v[j++] = l.v[i];
	}
	*vips = l.v;
	*n = j;
	return 0;
}

int xlb_reader_vip_get(const struct xlb_reader *r, const struct xlb_vip_key *key,
		       struct xlb_vip *out)
{
	return lookup(r, XLB_M_VIPS, key, out);
}

struct be_walk {
	xlb_backend_fn fn;
	void *ctx;
};

static int be_elem(void *ctx, const void *key, const void *value)
{
	struct be_walk *w = ctx;
	const struct xlb_backend *be = value;
	__u32 id;

	if (be->state == XLB_BE_REMOVED)
		return 0;
	memcpy(&id, key, sizeof(id));
	return w->fn(w->ctx, id, be);
}

int xlb_reader_backend_walk(const struct xlb_reader *r, xlb_backend_fn fn, void *ctx)
{
	struct be_walk w = { fn, ctx };

	return map_walk(r, XLB_M_BACKENDS, be_elem, &w, 0);
}

struct be_array {
	struct xlb_backend *bes;
	__u32 n;
};

static int be_store(void *ctx, const void *key, const void *value)
{
	struct be_array *a = ctx;
	__u32 id;

	memcpy(&id, key, sizeof(id));
	if (id < a->n)
		memcpy(&a->bes[id], value, sizeof(*a->bes));
	return 0;
}

int xlb_reader_backends(const struct xlb_reader *r, struct xlb_backend **bes, __u32 *n)
{
	struct be_array a = { .n = r->max_entries[XLB_M_BACKENDS] };
	int err;

	*bes = NULL;
	*n = 0;
	a.bes = calloc(a.n ? a.n : 1, sizeof(*a.bes));
	if (!a.bes)
		return -ENOMEM;
	err = map_walk(r, XLB_M_BACKENDS, be_store, &a, 0);
	if (err < 0) {
		free(a.bes);
		return err;
	}
	*bes = a.bes;
	*n = a.n;
	return 0;
}

int xlb_reader_backend_get(const struct xlb_reader *r, __u32 id, struct xlb_backend *out)
{
	return lookup(r, XLB_M_BACKENDS, &id, out);
}

int xlb_reader_table_walk(const struct xlb_reader *r, xlb_table_fn fn, void *ctx)
{
	__u32 tid, map_id;
	int err = 0;

	/*
	 * Walked by index: an array of maps answers a lookup only where a table
	 * is, and older kernels have no batch lookup for it.
	 */
	for (tid = 0; tid < r->max_entries[XLB_M_TABLES] && !err; tid++)
		if (!bpf_map_lookup_elem(r->fd[XLB_M_TABLES], &tid, &map_id))
			err = fn(ctx, tid, map_id);
	return err;
}

int xlb_reader_table_id(const struct xlb_reader *r, __u32 tid, __u32 *map_id)
{
	return lookup(r, XLB_M_TABLES, &tid, map_id);
}

int xlb_table_open(__u32 map_id, __u32 *entries)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, gopts, .open_flags = BPF_F_RDONLY);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_map_get_fd_by_id_opts(map_id, &gopts);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.value_size != sizeof(struct xlb_table_entry)) {
		close(fd);
		return -EPROTO;
	}
	if (entries)
		*entries = info.max_entries;
	return fd;
}

int xlb_reader_table_open(const struct xlb_reader *r, __u32 tid, __u32 *map_id,
			  __u32 *entries)
{
	__u32 id;
	int err;

	err = xlb_reader_table_id(r, tid, &id);
	if (err)
		return err;
	if (map_id)
		*map_id = id;
	return xlb_table_open(id, entries);
}

int xlb_table_slots_read(int fd, __u32 size, __u32 *slots)
{
	struct xlb_table_entry e;
	__u32 i, j, k;

	for (i = 0; i < size; i += XLB_TABLE_SLOTS) {
		k = i / XLB_TABLE_SLOTS;
		if (bpf_map_lookup_elem(fd, &k, &e))
			return -errno;
		for (j = 0; j < XLB_TABLE_SLOTS && i + j < size; j++)
			slots[i + j] = e.slot[j];
	}
	return 0;
}

int xlb_reader_vip_table(const struct xlb_reader *r, const struct xlb_vip *vip, __u32 *slots,
			 __u32 *map_id)
{
	int fd, err;

	if (!vip->table_size)
		return -ENOENT;
	fd = xlb_reader_table_open(r, vip->table_id, map_id, NULL);
	if (fd < 0)
		return fd;
	err = xlb_table_slots_read(fd, vip->table_size, slots);
	close(fd);
	return err;
}

int xlb_reader_vip_meta(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_meta *out)
{
	int err = lookup(r, XLB_M_VIP_META, &vip_id, out);

	if (err)
		return err;
	out->name[sizeof(out->name) - 1] = '\0';
	out->app[sizeof(out->app) - 1] = '\0';
	return 0;
}

int xlb_reader_dsr_agent(const struct xlb_reader *r, __u32 id, struct xlb_dsr_agent *out)
{
	return lookup(r, XLB_M_DSR_AGENTS, &id, out);
}

int xlb_reader_config(const struct xlb_reader *r, struct xlb_config *out)
{
	__u32 zero = 0;

	return lookup(r, XLB_M_CONFIG, &zero, out);
}

/* Sums a per-CPU value made of u64 counters (each CPU's copy is 8-byte aligned). */
static int percpu_sum(const struct xlb_reader *r, enum xlb_map m, __u32 id, __u64 *out)
{
	size_t size = map_specs[m].value_size, n = size / sizeof(__u64), stride = (size + 7) / 8;
	__u64 *vals;
	size_t c, i;
	int err;

	vals = calloc(r->ncpus > 0 ? r->ncpus : 1, stride * 8);
	if (!vals)
		return -ENOMEM;
	err = lookup(r, m, &id, vals);
	if (!err) {
		memset(out, 0, size);
		for (c = 0; c < (size_t)r->ncpus; c++)
			for (i = 0; i < n; i++)
				out[i] += vals[c * stride + i];
	}
	free(vals);
	return err;
}

int xlb_reader_stats(const struct xlb_reader *r, struct xlb_stats *out)
{
	return percpu_sum(r, XLB_M_STATS, 0, out->c);
}

int xlb_reader_vip_stats(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_stats *out)
{
	return percpu_sum(r, XLB_M_VIP_STATS, vip_id, (__u64 *)out);
}

int xlb_reader_backend_stats(const struct xlb_reader *r, __u32 backend_id,
			     struct xlb_backend_stats *out)
{
	return percpu_sum(r, XLB_M_BACKEND_STATS, backend_id, (__u64 *)out);
}

int xlb_reader_addr_filter(const struct xlb_reader *r, __u64 *words)
{
	__u32 i;
	int err;

	for (i = 0; i < XLB_FILTER_WORDS; i++) {
		err = lookup(r, XLB_M_ADDR_FILTER, &i, &words[i]);
		if (err)
			return err;
	}
	return 0;
}

int xlb_reader_vip_addr_refs(const struct xlb_reader *r, const struct xlb_addr_key *key,
			     __u32 *count)
{
	return lookup(r, XLB_M_VIP_ADDRS, key, count);
}

int xlb_reader_endpoint(const struct xlb_reader *r, const struct xlb_endpoint_key *key,
			struct xlb_endpoint *out)
{
	return lookup(r, XLB_M_BACKEND_ADDRS, key, out);
}

int xlb_reader_vip_key(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_key *out)
{
	return lookup(r, XLB_M_VIP_KEYS, &vip_id, out);
}

int xlb_reader_vip_flood(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_flood *out)
{
	return lookup(r, XLB_M_VIP_FLOOD, &vip_id, out);
}

void xlb_ct4_key_narrow(struct xlb_ct4_key *k4, const struct xlb_flow_key *fk)
{
	xlb_ct4_key_of(k4, fk);
}

void xlb_ct4_key_widen(struct xlb_flow_key *fk, const struct xlb_ct4_key *k4)
{
	memset(fk, 0, sizeof(*fk));
	fk->daddr.v4 = k4->daddr;
	fk->saddr.v4 = k4->saddr;
	fk->dport = k4->dport;
	fk->sport = k4->sport;
	fk->proto = k4->proto;
	fk->family = XLB_AF_INET;
	fk->dir = k4->dir;
}

struct ct_walk {
	xlb_ct_fn fn;
	void *ctx;
};

static int ct4_elem(void *ctx, const void *key, const void *value)
{
	struct ct_walk *w = ctx;
	struct xlb_ct4_key k4;
	struct xlb_flow_key fk;

	memcpy(&k4, key, sizeof(k4));
	xlb_ct4_key_widen(&fk, &k4);
	return w->fn(w->ctx, &fk, value);
}

static int ct6_elem(void *ctx, const void *key, const void *value)
{
	struct ct_walk *w = ctx;

	return w->fn(w->ctx, key, value);
}

int xlb_reader_ct_walk(const struct xlb_reader *r, xlb_ct_fn fn, void *ctx, __u64 deadline_ns)
{
	struct ct_walk w = { fn, ctx };
	int err;

	err = map_walk(r, XLB_M_CT4, ct4_elem, &w, deadline_ns);
	if (err)
		return err;
	return map_walk(r, XLB_M_CT6, ct6_elem, &w, deadline_ns);
}

int xlb_reader_ct_lookup(const struct xlb_reader *r, const struct xlb_flow_key *key,
			 struct xlb_ct_entry *out)
{
	struct xlb_ct4_key k4;

	if (key->family == XLB_AF_INET6)
		return lookup(r, XLB_M_CT6, key, out);
	if (key->family != XLB_AF_INET)
		return -EINVAL;
	xlb_ct4_key_narrow(&k4, key);
	return lookup(r, XLB_M_CT4, &k4, out);
}

/* A "name:\tvalue" line of /proc/self/fdinfo/FD; 0 when there is none. */
static __u64 fdinfo_u64(int fd, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int xlb_reader_ct_info(const struct xlb_reader *r, __u8 family, struct xlb_ct_table_info *out)
{
	enum xlb_map m = family == XLB_AF_INET6 ? XLB_M_CT6 : XLB_M_CT4;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	memset(out, 0, sizeof(*out));
	if (family != XLB_AF_INET && family != XLB_AF_INET6)
		return -EINVAL;
	if (r->fd[m] < 0)
		return -ENOENT;
	if (bpf_obj_get_info_by_fd(r->fd[m], &info, &len))
		return -errno;
	out->max_entries = info.max_entries;
	out->map_flags = info.map_flags;
	out->per_cpu_lru = info.map_flags & BPF_F_NO_COMMON_LRU;
	out->key_size = info.key_size;
	out->value_size = info.value_size;
	/* "memlock" is what bpftool reports as bytes_memlock. */
	out->memlock = fdinfo_u64(r->fd[m], "memlock");
	return 0;
}
