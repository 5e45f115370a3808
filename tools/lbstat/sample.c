// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading the data plane's pinned maps without the data plane library: each
 * map is opened read-only by path (BPF_F_RDONLY, so lbstat cannot write a map
 * even by mistake, and loads no program), checked against the ABI's layout,
 * and read into a sample. Big maps are read with batch lookups where the
 * kernel has them. Rates are differences between two samples over the
 * monotonic time between them; a VIP or backend whose identity changed or
 * whose counters went down (recreated in between) gets no rate rather than a
 * wrong one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lbstat.h"

_Static_assert(sizeof(struct xlb_vip_stats) == LBS_C_VIP_MAX * sizeof(__u64), "vip stats");
_Static_assert(sizeof(struct xlb_backend_stats) == LBS_C_BACKEND_MAX * sizeof(__u64),
	       "backend stats");
_Static_assert(offsetof(struct xlb_vip_stats, new_flows) == LBS_C_NEW_FLOWS * 8, "vip new_flows");
_Static_assert(offsetof(struct xlb_vip_stats, rejected) == LBS_C_REJECTED * 8, "vip rejected");
_Static_assert(offsetof(struct xlb_vip_stats, drops) == LBS_C_DROPS * 8, "vip drops");
_Static_assert(offsetof(struct xlb_backend_stats, new_flows) == LBS_C_NEW_FLOWS * 8,
	       "backend new_flows");

const char *const lbs_ctr_key[LBS_C_DROPS] = {
	[LBS_C_PKTS_IN] = "packets_in",	  [LBS_C_BYTES_IN] = "bytes_in",
	[LBS_C_PKTS_OUT] = "packets_out", [LBS_C_BYTES_OUT] = "bytes_out",
	[LBS_C_NEW_FLOWS] = "new_flows",  [LBS_C_REJECTED] = "rejected",
};

/* Batch lookups move this many elements per system call. */
#define LBS_BATCH 4096
/* The kernel's internal ENOTSUPP, which the bpf syscall returns for map types without batch ops. */
#define LBS_ENOTSUPP 524

static const struct {
	const char *name;
	enum bpf_map_type type;
	__u32 key_size, value_size;
	bool optional; /* missing: lbstat works without it (names are blank) */
} map_specs[LBS_M_MAX] = {
	[LBS_M_VIPS] = { XLB_MAP_VIPS, BPF_MAP_TYPE_HASH, sizeof(struct xlb_vip_key),
			 sizeof(struct xlb_vip) },
	[LBS_M_BACKENDS] = { XLB_MAP_BACKENDS, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			     sizeof(struct xlb_backend) },
	[LBS_M_VIP_STATS] = { XLB_MAP_VIP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			      sizeof(struct xlb_vip_stats) },
	[LBS_M_BACKEND_STATS] = { XLB_MAP_BACKEND_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				  sizeof(struct xlb_backend_stats) },
	[LBS_M_STATS] = { XLB_MAP_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			  sizeof(struct xlb_stats) },
	[LBS_M_VIP_META] = { XLB_MAP_VIP_META, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			     sizeof(struct xlb_vip_meta), true },
	[LBS_M_CT] = { XLB_MAP_CT, BPF_MAP_TYPE_LRU_HASH, sizeof(struct xlb_flow_key),
		       sizeof(struct xlb_ct_entry) },
};

/* Set by the tests (LBSTAT_NO_BATCH=1) to exercise the one-element-at-a-time path. */
static bool no_batch(void)
{
	const char *e = getenv("LBSTAT_NO_BATCH");

	return e && *e && strcmp(e, "0");
}

__u64 lbs_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * LBS_NSEC_PER_SEC + ts.tv_nsec;
}

static const char *map_type_str(enum bpf_map_type t)
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

static int open_one(struct lbs_maps *m, enum lbs_map i, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_obj_get_opts, gopts, .file_flags = BPF_F_RDONLY);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX + 32];
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", m->pin_path, map_specs[i].name);
	fd = bpf_obj_get_opts(path, &gopts);
	if (fd < 0) {
		e = -errno;
		if (e == -ENOENT && map_specs[i].optional)
			return 0;
		if (e == -ENOENT)
			snprintf(err, errlen,
				 "map %s: missing, expected a %s map (an xlb of another version "
				 "pinned these maps?)",
				 path, map_type_str(map_specs[i].type));
		else if (e == -EPERM || e == -EACCES)
			snprintf(err, errlen, "map %s: %s (lbstat needs root, or CAP_BPF and read "
				 "access to the pins)", path, strerror(-e));
		else
			snprintf(err, errlen, "map %s: %s", path, strerror(-e));
		return e;
	}
	if (!fd_is_map(fd)) {
		close(fd);
		snprintf(err, errlen, "%s: pinned object is not a map, expected a %s map", path,
			 map_type_str(map_specs[i].type));
		return -EPROTO;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		e = -errno;
		close(fd);
		snprintf(err, errlen, "map %s: read map info: %s", path, strerror(-e));
		return e;
	}
	m->fd[i] = fd;
	m->max_entries[i] = info.max_entries;
	if (info.type != map_specs[i].type) {
		snprintf(err, errlen, "map %s: type %s, expected %s (an xlb of another version "
			 "pinned these maps?)", path, map_type_str(info.type),
			 map_type_str(map_specs[i].type));
		return -EPROTO;
	}
	if (info.key_size != map_specs[i].key_size) {
		snprintf(err, errlen, "map %s: key size %u bytes, expected %u (an xlb of another "
			 "version pinned these maps?)", path, info.key_size, map_specs[i].key_size);
		return -EPROTO;
	}
	if (info.value_size != map_specs[i].value_size) {
		snprintf(err, errlen, "map %s: value size %u bytes, expected %u (an xlb of another "
			 "version pinned these maps?)", path, info.value_size,
			 map_specs[i].value_size);
		return -EPROTO;
	}
	return 0;
}

int lbs_maps_open(struct lbs_maps *m, const char *pin_path, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	int i, found = 0, e;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < LBS_M_MAX; i++)
		m->fd[i] = -1;
	if (strlen(pin_path) >= sizeof(m->pin_path)) {
		snprintf(err, errlen, "pin path too long");
		return -ENAMETOOLONG;
	}
	strcpy(m->pin_path, pin_path);
	/* None of the maps there at all is the common case (xlb never ran): say so plainly. */
	for (i = 0; i < LBS_M_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, map_specs[i].name);
		if (!access(path, F_OK)) {
			found++;
		} else if (errno == EACCES) {
			/* The pin directory is root's, 0700: not "missing", but not ours to read. */
			snprintf(err, errlen, "%s: %s (lbstat needs root, or CAP_BPF and read "
				 "access to the pins)", pin_path, strerror(EACCES));
			return -EACCES;
		}
	}
	if (!found) {
		snprintf(err, errlen, "no xlb maps at %s (is xlbd running? --pin-path to look "
			 "elsewhere)", pin_path);
		return -ENOENT;
	}
	for (i = 0; i < LBS_M_MAX; i++) {
		e = open_one(m, i, err, errlen);
		if (e) {
			lbs_maps_close(m);
			return e;
		}
	}
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0) {
		snprintf(err, errlen, "cannot count the possible CPUs: %s", strerror(-m->ncpus));
		lbs_maps_close(m);
		return m->ncpus ? m->ncpus : -EINVAL;
	}
	return 0;
}

void lbs_maps_close(struct lbs_maps *m)
{
	int i;

	for (i = 0; i < LBS_M_MAX; i++) {
		if (m->fd[i] >= 0)
			close(m->fd[i]);
		m->fd[i] = -1;
	}
}

/* Sums a per-CPU value of n u64 counters; vals has room for every CPU's copy. */
static int percpu_sum(const struct lbs_maps *m, enum lbs_map map, __u32 id, __u64 *out, size_t n,
		      __u64 *vals)
{
	size_t stride = (map_specs[map].value_size + 7) / 8, c, i;

	if (bpf_map_lookup_elem(m->fd[map], &id, vals))
		return -errno;
	memset(out, 0, n * sizeof(*out));
	for (c = 0; c < (size_t)m->ncpus; c++)
		for (i = 0; i < n; i++)
			out[i] += vals[c * stride + i];
	return 0;
}

/*
 * Calls fn for every element of a map: batch lookups when the kernel has them
 * for this map type, else get_next_key + lookup. A hash map that changes under
 * a get_next_key walk may restart it (the kernel starts over when the current
 * key is gone), so fn must tolerate duplicates and the walk is bounded by
 * deadline_ns (0: none) and twice max_entries. An array needs no walk: its
 * keys are 0 to max_entries - 1. Returns 1 when it stopped early.
 */
typedef int (*elem_fn)(void *ctx, const void *key, const void *value);

static int map_walk(int fd, bool array, __u32 key_size, __u32 value_size, __u32 max_entries,
		    elem_fn fn, void *ctx, __u64 deadline_ns)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u8 token[64] = {}, key[64], next[64], *keys = NULL, *vals = NULL, *value = NULL;
	__u64 steps = 0, limit = 2ULL * max_entries + 1;
	bool first = true;
	__u32 count, i;
	int err = 0, rc;

	if (key_size > sizeof(key))
		return -EINVAL;
	if (no_batch())
		goto one_by_one;
	/* Zeroed: valgrind cannot see the kernel fill them (BPF_MAP_LOOKUP_BATCH is unknown to it). */
	keys = calloc(LBS_BATCH, key_size);
	vals = calloc(LBS_BATCH, value_size);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = LBS_BATCH;
		rc = bpf_map_lookup_batch(fd, first ? NULL : token, token, keys, vals, &count,
					  &bopts);
		if (rc && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP ||
				      errno == LBS_ENOTSUPP))
				goto one_by_one;
			err = -errno;
			goto out;
		}
		first = false;
		for (i = 0; i < count && !err; i++)
			err = fn(ctx, keys + (size_t)i * key_size, vals + (size_t)i * value_size);
		if (err || rc)
			goto out; /* rc: ENOENT, the end */
		if (deadline_ns && lbs_now_ns(CLOCK_MONOTONIC) > deadline_ns) {
			err = 1;
			goto out;
		}
	}

one_by_one:
	value = malloc(value_size);
	if (!value) {
		err = -ENOMEM;
		goto out;
	}
	if (array) {
		for (__u32 k = 0; k < max_entries && !err; k++)
			if (!bpf_map_lookup_elem(fd, &k, value))
				err = fn(ctx, &k, value);
		goto out;
	}
	first = true;
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
		if (deadline_ns && !(steps & 1023) && lbs_now_ns(CLOCK_MONOTONIC) > deadline_ns) {
			err = 1;
			break;
		}
	}
out:
	free(keys);
	free(vals);
	free(value);
	return err;
}

struct vip_walk {
	struct lbs_sample *s;
	size_t cap;
	__u32 max_vips;
};

static int vip_add(void *ctx, const void *key, const void *value)
{
	struct vip_walk *w = ctx;
	const struct xlb_vip *vip = value;
	struct lbs_vip *v;

	if (!vip->vip_id || vip->vip_id >= w->max_vips)
		return 0;
	if (w->s->nvips == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;

		v = realloc(w->s->vips, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->s->vips = v;
		w->cap = cap;
	}
	v = &w->s->vips[w->s->nvips++];
	memset(v, 0, sizeof(*v));
	memcpy(&v->key, key, sizeof(v->key));
	v->vip = *vip;
	return 0;
}

static int cmp_vip_id(const void *a, const void *b)
{
	const struct lbs_vip *x = a, *y = b;

	return x->vip.vip_id < y->vip.vip_id ? -1 : x->vip.vip_id > y->vip.vip_id;
}

static const struct lbs_vip *vip_by_id(const struct lbs_sample *s, __u32 id)
{
	struct lbs_vip k = { .vip.vip_id = id };

	if (!s->nvips)
		return NULL;
	return bsearch(&k, s->vips, s->nvips, sizeof(k), cmp_vip_id);
}

struct be_walk {
	struct lbs_sample *s;
	size_t cap;
};

static int be_add(void *ctx, const void *key, const void *value)
{
	struct be_walk *w = ctx;
	const struct xlb_backend *be = value;
	const struct lbs_vip *v;
	struct lbs_be *b;

	if (be->state == XLB_BE_REMOVED)
		return 0;
	v = vip_by_id(w->s, be->vip_id);
	if (!v)
		return 0; /* its VIP went away, or came after we read the VIPs */
	if (w->s->nbes == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;

		b = realloc(w->s->bes, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		w->s->bes = b;
		w->cap = cap;
	}
	b = &w->s->bes[w->s->nbes++];
	memset(b, 0, sizeof(*b));
	memcpy(&b->id, key, sizeof(b->id));
	b->be = *be;
	b->vip = v - w->s->vips;
	return 0;
}

static int cmp_be_id(const void *a, const void *b)
{
	const struct lbs_be *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Names come from a map anyone with write access can fill: escape sequences
 * would reach the operator's terminal and bytes that are not UTF-8 would break
 * JSON. Names and app ids are ASCII, so anything else becomes '?'.
 */
static void meta_sanitize(char *s, size_t len)
{
	size_t i;

	s[len - 1] = '\0';
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
}

/* Groups backend indexes by VIP (a counting sort), keeping ascending ids inside a group. */
static int group_backends(struct lbs_sample *s)
{
	size_t i, *pos;

	s->be_by_vip = calloc(s->nbes ? s->nbes : 1, sizeof(*s->be_by_vip));
	pos = calloc(s->nvips + 1, sizeof(*pos));
	if (!s->be_by_vip || !pos) {
		free(pos);
		return -ENOMEM;
	}
	for (i = 0; i < s->nbes; i++)
		pos[s->bes[i].vip + 1]++;
	for (i = 0; i < s->nvips; i++) {
		pos[i + 1] += pos[i];
		s->vips[i].be = s->be_by_vip + pos[i];
	}
	for (i = 0; i < s->nbes; i++) {
		struct lbs_vip *v = &s->vips[s->bes[i].vip];

		v->be[v->n_be++] = i;
		if (s->bes[i].be.state == XLB_BE_ACTIVE)
			v->n_active++;
		else
			v->n_draining++;
	}
	free(pos);
	return 0;
}

int lbs_sample_read(const struct lbs_maps *m, struct lbs_sample *s, char *err, size_t errlen)
{
	struct vip_walk vw = { .s = s, .max_vips = m->max_entries[LBS_M_VIP_STATS] };
	struct be_walk bw = { .s = s };
	/* Room for one CPU's copy of the biggest per-CPU value read here. */
	size_t stride = sizeof(struct xlb_stats) > sizeof(struct xlb_vip_stats)
				? sizeof(struct xlb_stats)
				: sizeof(struct xlb_vip_stats);
	size_t i, j;
	__u64 *vals;
	int e;

	memset(s, 0, sizeof(*s));
	snprintf(s->pin_path, sizeof(s->pin_path), "%s", m->pin_path);
	s->mono_ns = lbs_now_ns(CLOCK_MONOTONIC);
	s->real_ns = lbs_now_ns(CLOCK_REALTIME);
	s->have_meta = m->fd[LBS_M_VIP_META] >= 0;
	vals = calloc(m->ncpus, (stride + 7) & ~(size_t)7);
	if (!vals) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}

	e = map_walk(m->fd[LBS_M_VIPS], false, sizeof(struct xlb_vip_key), sizeof(struct xlb_vip),
		     m->max_entries[LBS_M_VIPS], vip_add, &vw, 0);
	if (e < 0) {
		snprintf(err, errlen, "map %s/%s: read: %s", m->pin_path, XLB_MAP_VIPS,
			 strerror(-e));
		goto fail;
	}
	if (s->nvips) /* qsort and bsearch want a base even for nothing */
		qsort(s->vips, s->nvips, sizeof(*s->vips), cmp_vip_id);
	/* A get_next_key walk restarted by a concurrent delete may have seen a VIP twice. */
	for (i = j = 0; i < s->nvips; i++)
		if (!j || s->vips[j - 1].vip.vip_id != s->vips[i].vip.vip_id)
			s->vips[j++] = s->vips[i];
	s->nvips = j;

	e = map_walk(m->fd[LBS_M_BACKENDS], true, sizeof(__u32), sizeof(struct xlb_backend),
		     m->max_entries[LBS_M_BACKENDS], be_add, &bw, 0);
	if (e < 0) {
		snprintf(err, errlen, "map %s/%s: read: %s", m->pin_path, XLB_MAP_BACKENDS,
			 strerror(-e));
		goto fail;
	}
	if (s->nbes)
		qsort(s->bes, s->nbes, sizeof(*s->bes), cmp_be_id);
	for (i = j = 0; i < s->nbes; i++)
		if (!j || s->bes[j - 1].id != s->bes[i].id)
			s->bes[j++] = s->bes[i];
	s->nbes = j;
	e = group_backends(s);
	if (e) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	for (i = 0; i < s->nvips; i++) {
		struct lbs_vip *v = &s->vips[i];

		e = percpu_sum(m, LBS_M_VIP_STATS, v->vip.vip_id, v->c, LBS_C_VIP_MAX, vals);
		if (e) {
			snprintf(err, errlen, "map %s/%s: read vip id %u: %s", m->pin_path,
				 XLB_MAP_VIP_STATS, v->vip.vip_id, strerror(-e));
			goto fail;
		}
		for (j = 0; j < XLB_VIP_DROP_MAX; j++)
			v->drops += v->c[LBS_C_DROPS + j];
		if (s->have_meta &&
		    !bpf_map_lookup_elem(m->fd[LBS_M_VIP_META], &v->vip.vip_id, &v->meta)) {
			meta_sanitize(v->meta.name, sizeof(v->meta.name));
			meta_sanitize(v->meta.app, sizeof(v->meta.app));
		}
	}
	for (i = 0; i < s->nbes; i++) {
		e = percpu_sum(m, LBS_M_BACKEND_STATS, s->bes[i].id, s->bes[i].c, LBS_C_BACKEND_MAX,
			       vals);
		if (e) {
			snprintf(err, errlen, "map %s/%s: read backend id %u: %s", m->pin_path,
				 XLB_MAP_BACKEND_STATS, s->bes[i].id, strerror(-e));
			goto fail;
		}
	}
	e = percpu_sum(m, LBS_M_STATS, 0, s->global.c, XLB_CNT_MAX, vals);
	if (e) {
		snprintf(err, errlen, "map %s/%s: read: %s", m->pin_path, XLB_MAP_STATS,
			 strerror(-e));
		goto fail;
	}
	free(vals);
	return 0;
fail:
	free(vals);
	lbs_sample_free(s);
	return e;
}

struct ct_walk {
	struct lbs_ct *ct;
};

static int ct_add(void *ctx, const void *key, const void *value)
{
	struct ct_walk *w = ctx;
	const struct xlb_flow_key *fk = key;

	w->ct->entries++;
	if (fk->dir == XLB_DIR_ORIG)
		w->ct->flows++;
	return 0;
}

int lbs_ct_count(const struct lbs_maps *m, struct lbs_ct *ct, __u64 budget_ns, char *err,
		 size_t errlen)
{
	struct ct_walk w = { .ct = ct };
	__u64 t0 = lbs_now_ns(CLOCK_MONOTONIC);
	int e;

	memset(ct, 0, sizeof(*ct));
	ct->max_entries = m->max_entries[LBS_M_CT];
	e = map_walk(m->fd[LBS_M_CT], false, sizeof(struct xlb_flow_key),
		     sizeof(struct xlb_ct_entry), ct->max_entries, ct_add, &w,
		     budget_ns ? t0 + budget_ns : 0);
	if (e < 0) {
		snprintf(err, errlen, "map %s/%s: read: %s", m->pin_path, XLB_MAP_CT, strerror(-e));
		return e;
	}
	/* A walk restarted by concurrent evictions can count twice; never claim more than fits. */
	if (ct->entries > ct->max_entries)
		ct->entries = ct->max_entries;
	ct->counted = true;
	ct->complete = e == 0;
	ct->walk_ns = lbs_now_ns(CLOCK_MONOTONIC) - t0;
	return 0;
}

static bool ctrs_grew(const __u64 *cur, const __u64 *prev, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cur[i] < prev[i])
			return false;
	return true;
}

void lbs_sample_link(struct lbs_sample *cur, const struct lbs_sample *prev)
{
	size_t i;

	cur->prev = prev;
	cur->interval_ns = prev && cur->mono_ns > prev->mono_ns ? cur->mono_ns - prev->mono_ns : 0;
	if (!cur->interval_ns) {
		cur->prev = NULL;
		return;
	}
	for (i = 0; i < cur->nvips; i++) {
		struct lbs_vip *v = &cur->vips[i];
		const struct lbs_vip *p = vip_by_id(prev, v->vip.vip_id);

		if (p && !memcmp(&p->key, &v->key, sizeof(v->key)) &&
		    ctrs_grew(v->c, p->c, LBS_C_VIP_MAX))
			v->prev = p;
	}
	for (i = 0; i < cur->nbes; i++) {
		struct lbs_be *b = &cur->bes[i], k = { .id = b->id };
		const struct lbs_be *p = NULL;

		if (prev->nbes)
			p = bsearch(&k, prev->bes, prev->nbes, sizeof(k), cmp_be_id);
		if (p && p->be.gen == b->be.gen && p->be.vip_id == b->be.vip_id &&
		    ctrs_grew(b->c, p->c, LBS_C_BACKEND_MAX))
			b->prev = p;
	}
}

void lbs_sample_free(struct lbs_sample *s)
{
	if (!s)
		return;
	free(s->vips);
	free(s->bes);
	free(s->be_by_vip);
	s->vips = NULL;
	s->bes = NULL;
	s->be_by_vip = NULL;
	s->nvips = s->nbes = 0;
}

static double rate(const struct lbs_sample *s, __u64 cur, __u64 prev)
{
	return (double)(cur - prev) * LBS_NSEC_PER_SEC / s->interval_ns;
}

double lbs_vip_rate(const struct lbs_sample *s, const struct lbs_vip *v, unsigned int ctr)
{
	if (!s->prev || !v->prev || ctr >= LBS_C_VIP_MAX)
		return -1;
	return rate(s, v->c[ctr], v->prev->c[ctr]);
}

double lbs_vip_drop_rate(const struct lbs_sample *s, const struct lbs_vip *v)
{
	if (!s->prev || !v->prev)
		return -1;
	return rate(s, v->drops, v->prev->drops);
}

double lbs_be_rate(const struct lbs_sample *s, const struct lbs_be *b, unsigned int ctr)
{
	if (!s->prev || !b->prev || ctr >= LBS_C_BACKEND_MAX)
		return -1;
	return rate(s, b->c[ctr], b->prev->c[ctr]);
}

double lbs_global_rate(const struct lbs_sample *s, unsigned int ctr)
{
	if (!s->prev || ctr >= XLB_CNT_MAX || s->global.c[ctr] < s->prev->global.c[ctr])
		return -1;
	return rate(s, s->global.c[ctr], s->prev->global.c[ctr]);
}

double lbs_be_share(const struct lbs_sample *s, const struct lbs_be *b)
{
	__u64 all = s->vips[b->vip].c[LBS_C_NEW_FLOWS];

	if (!all)
		return -1;
	return 100.0 * b->c[LBS_C_NEW_FLOWS] / all;
}
