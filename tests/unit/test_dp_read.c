// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of libxlb's read side (dp_read.h). Without root: the table of
 * map expectations and the pin path derived from the ABI version. As root
 * with bpffs, on real maps under private pin paths made by xlb_dp_open: the
 * read-only open refusing each way a pin set can be wrong (a map missing, of
 * another type, key size or value size, a pinned object that is not a map,
 * nothing pinned) with the message that names it, an optional map absent;
 * the iterators over VIPs, backends and tables agreeing with what the writer
 * wrote, with and without batch lookups, from the pins and from the open
 * data plane; the configuration reader; per-CPU sums of known values; a
 * read-only reader refusing writes; and pinned tables of another element
 * size refused by both the reader and the loader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "dp.h"
#include "dp_read.h"
#include "harness.h"
#include "log.h"
#include "maglev.h"

static bool have_bpffs(void)
{
	struct statfs sf;

	return geteuid() == 0 && !statfs("/sys/fs/bpf", &sf) && sf.f_type == BPF_FS_MAGIC;
}

static void pin_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/sys/fs/bpf/xlb-test-dp-read-%d-%s", (int)getpid(), tag);
}

/* A fresh pin set under pin, made by the daemon's loader, closed again. */
static void make_pins(const char *pin)
{
	struct xlb_dp_opts o = {
		.pin_path = pin, .max_vips = 64, .max_backends = 512, .ct_size = 1024
	};
	struct xlb_dp *dp = NULL;

	xlb_dp_unpin(pin);
	assert_int_equal(xlb_dp_open(&dp, &o), 0);
	xlb_dp_close(dp);
}

static struct xlb_dp *open_dp(const char *pin)
{
	struct xlb_dp_opts o = {
		.pin_path = pin, .max_vips = 64, .max_backends = 512, .ct_size = 1024
	};
	struct xlb_dp *dp = NULL;

	assert_int_equal(xlb_dp_open(&dp, &o), 0);
	return dp;
}

static int reader_open(struct xlb_reader **r, const char *pin, unsigned int flags, char *err,
		       size_t errlen)
{
	struct xlb_reader_opts o = { .pin_path = pin, .user = "test_dp_read", .flags = flags };

	err[0] = '\0';
	return xlb_reader_open(r, &o, err, errlen);
}

static struct xlb_vip_key vk(const char *addr, __u16 port, __u8 proto)
{
	struct xlb_vip_key k = {};

	k.family = XLB_AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &k.addr.v4), 1);
	k.port = htons(port);
	k.proto = proto;
	return k;
}

static void test_pin_path_from_abi(void **state)
{
	char want[64];

	(void)state;
	snprintf(want, sizeof(want), "%s/v%d", XLB_PIN_ROOT, XLB_ABI_VERSION);
	assert_string_equal(XLB_PIN_PATH_DEFAULT, want);
}

static void test_specs(void **state)
{
	int i, j, optional = 0;

	(void)state;
	assert_null(xlb_map_spec(XLB_M_MAX));
	for (i = 0; i < XLB_M_MAX; i++) {
		const struct xlb_map_spec *s = xlb_map_spec(i);

		assert_non_null(s);
		assert_non_null(s->name);
		assert_true(s->key_size > 0 && s->value_size > 0);
		optional += s->optional;
		for (j = 0; j < i; j++)
			assert_string_not_equal(s->name, xlb_map_spec(j)->name);
	}
	/*
	 * Only the names, the programs' scratch (budgets, flood marks, next hops)
	 * and socket balancing's reverse entries (no reader needs them) may be
	 * missing; everything else is the ABI.
	 */
	assert_int_equal(optional, 6);
	assert_true(xlb_map_spec(XLB_M_VIP_META)->optional);
	assert_true(xlb_map_spec(XLB_M_CT_BUDGET)->optional);
	assert_true(xlb_map_spec(XLB_M_VIP_BUDGET)->optional);
	assert_true(xlb_map_spec(XLB_M_VIP_FLOOD)->optional);
	assert_true(xlb_map_spec(XLB_M_NH_CACHE)->optional);
	assert_false(xlb_map_spec(XLB_M_VIP_KEYS)->optional);
	assert_true(xlb_map_spec(XLB_M_SOCK_REVNAT)->optional);
	assert_int_equal(xlb_map_spec(XLB_M_SOCK_REVNAT)->key_size, sizeof(struct xlb_sock_key));
	assert_int_equal(xlb_map_spec(XLB_M_VIPS)->key_size, sizeof(struct xlb_vip_key));
	assert_int_equal(xlb_map_spec(XLB_M_VIPS)->value_size, sizeof(struct xlb_vip));
	assert_int_equal(xlb_map_spec(XLB_M_CT4)->key_size, sizeof(struct xlb_ct4_key));
	assert_int_equal(xlb_map_spec(XLB_M_CT6)->key_size, sizeof(struct xlb_flow_key));
	assert_int_equal(xlb_map_spec(XLB_M_CT4)->value_size, sizeof(struct xlb_ct_entry));
	assert_int_equal(xlb_map_spec(XLB_M_CONFIG)->value_size, sizeof(struct xlb_config));
	assert_int_equal(xlb_map_spec(XLB_M_TABLES)->type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
}

/* Replaces the pin of map name under pin with a fresh map of that shape. */
static void repin_map(const char *pin, const char *name, enum bpf_map_type type, __u32 key,
		      __u32 value)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	assert_int_equal(unlink(path), 0);
	fd = bpf_map_create(type, "xlb_test", key, value, 4, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
}

/* Pins a two-instruction program where map name should be. */
static void repin_prog(const char *pin, const char *name)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	assert_int_equal(unlink(path), 0);
	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "xlb_test", "GPL", insns, 2, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
}

enum tamper { T_NONE, T_UNLINK, T_TYPE, T_KEY, T_VALUE, T_PROG, T_EMPTY_DIR };

static const struct {
	const char *what;
	enum tamper how;
	const char *map;
	enum bpf_map_type type;
	__u32 key, value;
	int err;
	const char *msg; /* after "map PIN/NAME: " or "PIN: " */
} open_cases[] = {
	{ "a map missing", T_UNLINK, XLB_MAP_VIP_STATS, 0, 0, 0, -ENOENT,
	  "/xlb_vip_stats: missing, expected a percpu_array map (an xlb of another version "
	  "pinned these maps?)" },
	{ "a map of another type", T_TYPE, XLB_MAP_BACKENDS, BPF_MAP_TYPE_HASH, 4,
	  sizeof(struct xlb_backend), -EPROTO, "/xlb_backends: type hash, expected array" },
	{ "a map with another key size", T_KEY, XLB_MAP_VIPS, BPF_MAP_TYPE_HASH, 16,
	  sizeof(struct xlb_vip), -EPROTO, "/xlb_vips: key size 16 bytes, expected 20" },
	{ "a map with another value size", T_VALUE, XLB_MAP_CONFIG, BPF_MAP_TYPE_ARRAY, 4, 4,
	  -EPROTO, "/xlb_config: value size 4 bytes, expected 44 (an xlb of another version" },
	{ "a program where a map should be", T_PROG, XLB_MAP_STATS, 0, 0, 0, -EPROTO,
	  "/xlb_stats: pinned object is not a map, expected a percpu_array map" },
	{ "nothing pinned", T_EMPTY_DIR, NULL, 0, 0, 0, -ENOENT,
	  " (is xlbd running? --pin-path to look elsewhere)" },
	{ "an optional map missing", T_UNLINK, XLB_MAP_VIP_META, 0, 0, 0, 0, "" },
};

static void test_open_checks(void **state)
{
	char pin[128], path[256], err[512];
	struct xlb_vip_meta meta;
	struct xlb_reader *r;
	size_t i;
	int e;

	(void)state;
	if (!have_bpffs())
		xlb_skip_env("needs root and bpffs at /sys/fs/bpf");
	xlb_log_set_level(XLB_LOG_WARN);
	libbpf_set_print(NULL);
	pin_path(pin, sizeof(pin), "open");
	for (i = 0; i < ARRAY_SIZE(open_cases); i++) {
		print_message("case: %s\n", open_cases[i].what);
		if (open_cases[i].how == T_EMPTY_DIR) {
			xlb_dp_unpin(pin);
			assert_int_equal(mkdir(pin, 0700), 0);
		} else {
			make_pins(pin);
		}
		snprintf(path, sizeof(path), "%s/%s", pin,
			 open_cases[i].map ? open_cases[i].map : "");
		switch (open_cases[i].how) {
		case T_UNLINK:
			assert_int_equal(unlink(path), 0);
			break;
		case T_TYPE:
		case T_KEY:
		case T_VALUE:
			repin_map(pin, open_cases[i].map, open_cases[i].type, open_cases[i].key,
				  open_cases[i].value);
			break;
		case T_PROG:
			repin_prog(pin, open_cases[i].map);
			break;
		default:
			break;
		}
		e = reader_open(&r, pin, 0, err, sizeof(err));
		assert_int_equal(e, open_cases[i].err);
		if (e) {
			assert_null(r);
			assert_non_null(strstr(err, pin));
			if (!strstr(err, open_cases[i].msg))
				fail_msg("%s: message '%s' lacks '%s'", open_cases[i].what, err,
					 open_cases[i].msg);
		} else {
			/* Absent optional maps read as absent, not as an error of the open. */
			assert_int_equal(xlb_reader_map_fd(r, XLB_M_VIP_META), -1);
			assert_int_equal(xlb_reader_vip_meta(r, 1, &meta), -ENOENT);
			assert_true(xlb_reader_map_fd(r, XLB_M_VIPS) >= 0);
			xlb_reader_close(r);
		}
		assert_int_equal(xlb_dp_unpin(pin), 0);
	}
}

/* Three VIPs: two backends, three (one draining), none; names on the first. */
static void fill(struct xlb_dp *dp)
{
	struct xlb_backend_spec s[3] = {};
	struct xlb_vip_key k;
	struct xlb_config cfg = { .new_per_cpu = 1234, .new_per_vip = 567 };
	__u32 id, i;

	for (i = 0; i < 3; i++) {
		s[i].family = XLB_AF_INET;
		s[i].addr.v4 = htonl(0xc6120200 + 10 + i); /* 198.18.2.10+i */
		s[i].port = htons(8080);
		s[i].state = XLB_BE_ACTIVE;
		s[i].weight = 1;
	}
	k = vk("198.18.0.10", 80, XLB_PROTO_TCP);
	assert_int_equal(xlb_vip_put(dp, &k, 0, &id), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &k, s, 2), 0);
	assert_int_equal(xlb_vip_meta_set(dp, id, "web.example", "/prod/web"), 0);
	s[2].state = XLB_BE_DRAINING;
	s[2].weight = 0;
	k = vk("198.18.0.9", 53, XLB_PROTO_UDP);
	assert_int_equal(xlb_vip_put(dp, &k, 0, &id), 0);
	assert_int_equal(xlb_vip_set_backends(dp, &k, s, 3), 0);
	k = vk("198.18.0.11", 443, XLB_PROTO_TCP);
	assert_int_equal(xlb_vip_put(dp, &k, XLB_VIP_F_DROP_NO_BACKEND, &id), 0);
	assert_int_equal(xlb_config_set(dp, &cfg), 0);
}

struct be_seen {
	__u32 n, last;
	bool ascending;
	const struct xlb_reader *r;
};

static int be_count(void *ctx, __u32 id, const struct xlb_backend *be)
{
	struct be_seen *s = ctx;
	struct xlb_backend again;

	if (s->n && id <= s->last)
		s->ascending = false;
	s->last = id;
	s->n++;
	/* What the walk gives is what a lookup of that id gives. */
	if (xlb_reader_backend_get(s->r, id, &again) || memcmp(&again, be, sizeof(again)))
		return -EIO;
	return be->state == XLB_BE_REMOVED ? -EINVAL : 0;
}

static int table_count(void *ctx, __u32 tid, __u32 map_id)
{
	(void)tid;
	if (!map_id)
		return -EINVAL;
	(*(__u32 *)ctx)++;
	return 0;
}

static int stop_at_first(void *ctx, const struct xlb_vip_key *key, const struct xlb_vip *vip)
{
	(void)key;
	(void)vip;
	(*(int *)ctx)++;
	return 7;
}

/* Everything the reader r shows about the maps dp wrote. */
static void check_reader(const struct xlb_reader *r, struct xlb_dp *dp)
{
	static __u32 slots[XLB_MAGLEV_MAX_SIZE], want[XLB_MAGLEV_MAX_SIZE];
	struct be_seen seen = { .ascending = true, .r = r };
	struct xlb_vip_entry *v = NULL;
	struct xlb_backend *bes = NULL;
	struct xlb_vip_meta meta;
	struct xlb_config cfg;
	struct xlb_vip vip;
	__u32 n, map_id, entries, tables = 0;
	size_t nv, i;
	int fd, calls = 0;
	char ks[64];

	assert_int_equal(xlb_reader_vips(r, &v, &nv), 0);
	assert_int_equal(nv, 3);
	/* key order: family, address bytes, port, protocol */
	assert_string_equal(xlb_vip_key_str(&v[0].key, ks, sizeof(ks)), "198.18.0.9:53/udp");
	assert_string_equal(xlb_vip_key_str(&v[1].key, ks, sizeof(ks)), "198.18.0.10:80/tcp");
	assert_string_equal(xlb_vip_key_str(&v[2].key, ks, sizeof(ks)), "198.18.0.11:443/tcp");
	for (i = 0; i < nv; i++) {
		assert_int_equal(xlb_vip_get(dp, &v[i].key, &vip), 0);
		assert_memory_equal(&vip, &v[i].vip, sizeof(vip));
	}
	assert_int_equal(v[2].vip.flags, XLB_VIP_F_DROP_NO_BACKEND);
	assert_int_equal(v[2].vip.table_size, 0);
	assert_int_equal(xlb_reader_vip_walk(r, stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);

	assert_int_equal(xlb_reader_backend_walk(r, be_count, &seen), 0);
	assert_int_equal(seen.n, 5);
	assert_true(seen.ascending);
	assert_int_equal(xlb_reader_backends(r, &bes, &n), 0);
	assert_int_equal(n, xlb_reader_max_entries(r, XLB_M_BACKENDS));
	assert_int_equal(n, 512);
	assert_int_equal(bes[0].state, XLB_BE_REMOVED);
	for (i = 1, entries = 0; i < n; i++)
		entries += bes[i].state == XLB_BE_DRAINING;
	assert_int_equal(entries, 1);

	/* Tables: the two VIPs with active backends have one each, slot for slot the writer's. */
	for (i = 0; i < 2; i++) {
		int sz = xlb_vip_table_read(dp, &v[i].key, want, XLB_MAGLEV_MAX_SIZE);

		assert_int_equal(sz, xlb_maglev_size(2));
		assert_int_equal(v[i].vip.table_size, sz);
		assert_int_equal(xlb_reader_vip_table(r, &v[i].vip, slots, &map_id), 0);
		assert_true(map_id > 0);
		assert_memory_equal(slots, want, sz * sizeof(*slots));
		for (int s = 0; s < sz; s++)
			assert_int_equal(bes[slots[s]].state, XLB_BE_ACTIVE);
		fd = xlb_reader_table_open(r, v[i].vip.table_id, &map_id, &entries);
		assert_true(fd >= 0);
		assert_int_equal(entries, XLB_TABLE_ENTRIES(sz));
		close(fd);
	}
	assert_int_equal(xlb_reader_vip_table(r, &v[2].vip, slots, NULL), -ENOENT);
	assert_int_equal(xlb_reader_table_id(r, v[2].vip.table_id, &map_id), -ENOENT);
	assert_int_equal(xlb_reader_table_walk(r, table_count, &tables), 0);
	assert_int_equal(tables, 2);

	assert_int_equal(xlb_reader_vip_meta(r, v[1].vip.vip_id, &meta), 0);
	assert_string_equal(meta.name, "web.example");
	assert_string_equal(meta.app, "/prod/web");
	assert_int_equal(xlb_reader_config(r, &cfg), 0);
	assert_int_equal(cfg.new_per_cpu, 1234);
	assert_int_equal(cfg.new_per_vip, 567);
	free(v);
	free(bes);
}

static void test_iterators(void **state)
{
	char pin[128], err[512];
	struct xlb_reader *r;
	struct xlb_config cfg = {};
	__u32 zero = 0;
	struct xlb_dp *dp;

	(void)state;
	if (!have_bpffs())
		xlb_skip_env("needs root and bpffs at /sys/fs/bpf");
	xlb_log_set_level(XLB_LOG_WARN);
	pin_path(pin, sizeof(pin), "iter");
	xlb_dp_unpin(pin);
	dp = open_dp(pin);
	fill(dp);
	print_message("reader of the open data plane\n");
	check_reader(xlb_dp_reader(dp), dp);
	assert_string_equal(xlb_reader_pin_path(xlb_dp_reader(dp)), pin);
	print_message("reader of the pins, batch lookups\n");
	assert_int_equal(reader_open(&r, pin, 0, err, sizeof(err)), 0);
	check_reader(r, dp);
	/* Read-only: the kernel refuses a write through the reader's descriptor. */
	assert_int_not_equal(bpf_map_update_elem(xlb_reader_map_fd(r, XLB_M_CONFIG), &zero, &cfg,
						 BPF_ANY),
			     0);
	assert_int_equal(errno, EPERM);
	xlb_reader_close(r);
	print_message("reader of the pins, one element at a time\n");
	assert_int_equal(reader_open(&r, pin, XLB_READER_NO_BATCH, err, sizeof(err)), 0);
	check_reader(r, dp);
	xlb_reader_close(r);
	xlb_dp_close(dp);
	assert_int_equal(xlb_dp_unpin(pin), 0);
}

/* Writes CPU c's copy of every counter i as base + 1000 * c + i (per-CPU array element id). */
static void percpu_fill(int fd, __u32 id, size_t size, int ncpus, __u64 base)
{
	size_t n = size / 8, c, i;
	__u64 *vals = calloc(ncpus, size);

	assert_non_null(vals);
	for (c = 0; c < (size_t)ncpus; c++)
		for (i = 0; i < n; i++)
			vals[c * n + i] = base + 1000 * c + i;
	assert_int_equal(bpf_map_update_elem(fd, &id, vals, BPF_ANY), 0);
	free(vals);
}

/* The sum over CPUs of what percpu_fill wrote, counter by counter. */
static void percpu_expect(const __u64 *got, size_t size, int ncpus, __u64 base)
{
	__u64 cpus = ncpus, want;
	size_t i;

	for (i = 0; i < size / 8; i++) {
		want = cpus * (base + i) + 1000 * cpus * (cpus - 1) / 2;
		if (got[i] != want)
			fail_msg("counter %zu: %llu, want %llu", i, (unsigned long long)got[i],
				 (unsigned long long)want);
	}
}

static void test_percpu_sums(void **state)
{
	char pin[128], err[512];
	struct xlb_backend_stats bst;
	struct xlb_vip_stats vst;
	struct xlb_stats st;
	struct xlb_reader *r;
	struct xlb_dp *dp;
	int ncpus;

	(void)state;
	if (!have_bpffs())
		xlb_skip_env("needs root and bpffs at /sys/fs/bpf");
	xlb_log_set_level(XLB_LOG_WARN);
	pin_path(pin, sizeof(pin), "sums");
	xlb_dp_unpin(pin);
	dp = open_dp(pin);
	ncpus = xlb_dp_ncpus(dp);
	assert_true(ncpus > 0);
	percpu_fill(xlb_dp_map_fd(dp, XLB_MAP_STATS), 0, sizeof(st), ncpus, 5);
	percpu_fill(xlb_dp_map_fd(dp, XLB_MAP_VIP_STATS), 3, sizeof(vst), ncpus, 70);
	percpu_fill(xlb_dp_map_fd(dp, XLB_MAP_BACKEND_STATS), 9, sizeof(bst), ncpus, 11);
	assert_int_equal(reader_open(&r, pin, 0, err, sizeof(err)), 0);
	assert_int_equal(xlb_reader_ncpus(r), ncpus);
	assert_int_equal(xlb_reader_stats(r, &st), 0);
	percpu_expect(st.c, sizeof(st), ncpus, 5);
	assert_int_equal(xlb_reader_vip_stats(r, 3, &vst), 0);
	percpu_expect((__u64 *)&vst, sizeof(vst), ncpus, 70);
	assert_int_equal(xlb_reader_backend_stats(r, 9, &bst), 0);
	percpu_expect((__u64 *)&bst, sizeof(bst), ncpus, 11);
	/* An id past the end is an error, not a zero. */
	assert_int_equal(xlb_reader_vip_stats(r, 64, &vst), -ENOENT);
	xlb_reader_close(r);
	/* The data plane's own reads are the same sums. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(xlb_stats_read(dp, &st), 0);
	percpu_expect(st.c, sizeof(st), ncpus, 5);
	assert_int_equal(xlb_backend_stats_read(dp, 9, &bst), 0);
	percpu_expect((__u64 *)&bst, sizeof(bst), ncpus, 11);
	xlb_dp_close(dp);
	assert_int_equal(xlb_dp_unpin(pin), 0);
}

/*
 * Tables of another element size (another xlb version's outer map and
 * tables): the reader refuses to read such a table, and the loader refuses
 * to adopt the pins, saying why, before the verifier would.
 */
static void test_foreign_tables(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, iopts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_create_opts, oopts);
	struct xlb_dp_opts o = {
		.pin_path = NULL, .max_vips = 64, .max_backends = 512, .ct_size = 1024
	};
	char pin[128], path[256], err[512];
	struct xlb_reader *r;
	struct xlb_vip_key k;
	struct xlb_vip vip;
	struct xlb_dp *dp;
	int tmpl, outer, inner;

	(void)state;
	if (!have_bpffs())
		xlb_skip_env("needs root and bpffs at /sys/fs/bpf");
	xlb_log_set_level(XLB_LOG_ERROR);
	pin_path(pin, sizeof(pin), "foreign");
	xlb_dp_unpin(pin);
	dp = open_dp(pin);
	fill(dp);
	k = vk("198.18.0.10", 80, XLB_PROTO_TCP);
	assert_int_equal(xlb_vip_get(dp, &k, &vip), 0);
	assert_true(vip.table_size > 0);
	xlb_dp_close(dp);
	/* The same outer map, but its tables have 32-byte elements. */
	tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_t_tmpl", 4, 32, 8, &iopts);
	assert_true(tmpl >= 0);
	oopts.inner_map_fd = tmpl;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xlb_tables", 4, 4, 128, &oopts);
	assert_true(outer >= 0);
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_t_inner", 4, 32, 8, &iopts);
	assert_true(inner >= 0);
	assert_int_equal(bpf_map_update_elem(outer, &vip.table_id, &inner, BPF_ANY), 0);
	snprintf(path, sizeof(path), "%s/%s", pin, XLB_MAP_TABLES);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bpf_obj_pin(outer, path), 0);
	close(inner);
	close(outer);
	close(tmpl);

	assert_int_equal(reader_open(&r, pin, 0, err, sizeof(err)), 0);
	assert_int_equal(xlb_reader_table_open(r, vip.table_id, NULL, NULL), -EPROTO);
	xlb_reader_close(r);
	o.pin_path = pin;
	dp = NULL;
	assert_int_equal(xlb_dp_open(&dp, &o), -EPROTO);
	assert_null(dp);
	assert_int_equal(xlb_dp_unpin(pin), 0);
}

static int unpin_all(void **state)
{
	static const char *const tags[] = { "open", "iter", "sums", "foreign" };
	char pin[128];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tags); i++) {
		pin_path(pin, sizeof(pin), tags[i]);
		xlb_dp_unpin(pin);
	}
	return 0;
}

/*
 * Conntrack sizes as the kernel makes them: with per-CPU LRU lists it rounds
 * max_entries up to a multiple of the possible CPUs, and a pinned table is
 * adopted only when the size asked for is the rounded one. Odd CPU counts
 * and the 32-bit edge by the arithmetic; this machine's count by the kernel.
 */
static void test_ct_sizing(void **state)
{
	static const struct {
		__u32 want, ncpus;
		bool per_cpu;
		__u32 got;
	} rows[] = {
		{ 1000, 3, true, 1002 },	  { 1000, 3, false, 1000 },
		{ 524288, 7, true, 524293 },	  { 524288, 2, true, 524288 },
		{ 131072, 6, true, 131076 },	  { 65536, 1, true, 65536 },
		{ 5, 8, true, 8 },		  { 4096, 0, true, 4096 },
		{ 0xffffffffu, 3, true, 0xffffffffu }, { 0xfffffffeu, 4, true, 0xfffffffcu },
	};
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), want = 1001, n;
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_COMMON_LRU);
	size_t i;
	int fd, cpus = libbpf_num_possible_cpus();

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = xlb_ct_map_entries(rows[i].want, rows[i].ncpus, rows[i].per_cpu);
		if (n != rows[i].got)
			fail_msg("xlb_ct_map_entries(%u, %u CPUs, %s): %u, want %u", rows[i].want,
				 rows[i].ncpus, rows[i].per_cpu ? "per-CPU" : "shared", n,
				 rows[i].got);
	}
	assert_true(cpus > 0);
	/* An odd size, so a machine with an even CPU count shows the rounding too. */
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "xlb_t_size", 16, 16, want, &o);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	assert_int_equal(info.max_entries, xlb_ct_map_entries(want, (__u32)cpus, true));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_pin_path_from_abi),
	cmocka_unit_test(test_specs),
	cmocka_unit_test(test_ct_sizing),
	cmocka_unit_test_teardown(test_open_checks, unpin_all),
	cmocka_unit_test_teardown(test_iterators, unpin_all),
	cmocka_unit_test_teardown(test_percpu_sums, unpin_all),
	cmocka_unit_test_teardown(test_foreign_tables, unpin_all),
};

XLB_TEST_MAIN("dp_read", tests)
