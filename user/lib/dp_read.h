/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's read side: one way to read the maps, for every program
 * that does (lbstat, xlbdump, xlbd's /metrics and start-up, the planner). A
 * reader is either opened on the pins under a path, read-only (BPF_F_RDONLY:
 * it cannot write a map even by mistake, and loads no program), with every
 * map's type, key size and value size checked against the ABI; or borrowed
 * from an open struct xlb_dp, whose maps it reads through the daemon's own
 * descriptors. A reader never changes after it is made, so several threads
 * may read through one. Walks use batch lookups where the kernel has them;
 * per-CPU counters come back summed over the CPUs.
 */
#ifndef XLB_DP_READ_H
#define XLB_DP_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

struct xlb_dp;
struct xlb_reader;

/* Every pinned map, in the order the ABI lists them. */
enum xlb_map {
	XLB_M_VIPS,
	XLB_M_VIP_ADDRS,
	XLB_M_TABLES,
	XLB_M_BACKENDS,
	XLB_M_BACKEND_ADDRS,
	XLB_M_CT,
	XLB_M_CONFIG,
	XLB_M_CT_BUDGET,
	XLB_M_STATS,
	XLB_M_VIP_STATS,
	XLB_M_BACKEND_STATS,
	XLB_M_VIP_META,
	XLB_M_ADDR_FILTER,
	XLB_M_SOCK_REVNAT,
	XLB_M_MAX,
};

/* What the ABI says a map is; optional maps may be absent (their reads give -ENOENT). */
struct xlb_map_spec {
	const char *name; /* XLB_MAP_*: the pinned name */
	__u32 type; /* enum bpf_map_type */
	__u32 key_size, value_size;
	bool optional;
};

const struct xlb_map_spec *xlb_map_spec(enum xlb_map m);

enum xlb_reader_flags {
	XLB_READER_NO_BATCH = 1 << 0, /* one element at a time (tests of the fallback path) */
};

struct xlb_reader_opts {
	const char *pin_path; /* NULL: XLB_PIN_PATH_DEFAULT */
	const char *user; /* named in permission errors ("lbstat needs root"); NULL: "reading" */
	unsigned int flags; /* enum xlb_reader_flags */
};

/*
 * Opens every map under the pin path read-only and checks it against the ABI.
 * On failure err says which map and what was expected, and the return is
 * -ENOENT (no maps at all, or a required one missing), -EPROTO (a map of
 * another layout, or a pinned object that is not a map), -EACCES/-EPERM
 * (not allowed to read the pins) or another -errno.
 */
int xlb_reader_open(struct xlb_reader **rp, const struct xlb_reader_opts *opts, char *err,
		    size_t errlen);
/* Closes what xlb_reader_open opened; NULL is fine. */
void xlb_reader_close(struct xlb_reader *r);
/* The reader of an open data plane: its descriptors, valid as long as dp is open. */
const struct xlb_reader *xlb_dp_reader(const struct xlb_dp *dp);

const char *xlb_reader_pin_path(const struct xlb_reader *r);
/* A map's descriptor, or -1 for an optional map that is absent. */
int xlb_reader_map_fd(const struct xlb_reader *r, enum xlb_map m);
__u32 xlb_reader_max_entries(const struct xlb_reader *r, enum xlb_map m);
int xlb_reader_ncpus(const struct xlb_reader *r);

/*
 * Walks call fn for each element; a non-zero return from fn stops the walk and
 * is returned. A hash map walked while it changes may show an element twice.
 */
typedef int (*xlb_vip_fn)(void *ctx, const struct xlb_vip_key *key, const struct xlb_vip *vip);
typedef int (*xlb_backend_fn)(void *ctx, __u32 id, const struct xlb_backend *be);
typedef int (*xlb_table_fn)(void *ctx, __u32 table_id, __u32 map_id);
typedef int (*xlb_ct_fn)(void *ctx, const struct xlb_flow_key *key,
			 const struct xlb_ct_entry *entry);

struct xlb_vip_entry {
	struct xlb_vip_key key;
	struct xlb_vip vip;
};

int xlb_reader_vip_walk(const struct xlb_reader *r, xlb_vip_fn fn, void *ctx);
/* Every VIP once, in key order (xlb_vip_key_cmp); *vips is malloc'ed (NULL when none). */
int xlb_reader_vips(const struct xlb_reader *r, struct xlb_vip_entry **vips, size_t *n);
int xlb_reader_vip_get(const struct xlb_reader *r, const struct xlb_vip_key *key,
		       struct xlb_vip *out);

/* Every backend that is not removed, ascending id. */
int xlb_reader_backend_walk(const struct xlb_reader *r, xlb_backend_fn fn, void *ctx);
/* The whole backend array, removed slots too, indexed by id; *bes malloc'ed, *n entries. */
int xlb_reader_backends(const struct xlb_reader *r, struct xlb_backend **bes, __u32 *n);
int xlb_reader_backend_get(const struct xlb_reader *r, __u32 id, struct xlb_backend *out);

/* Every table id that holds a table, with the kernel id of the table map. */
int xlb_reader_table_walk(const struct xlb_reader *r, xlb_table_fn fn, void *ctx);
/* The kernel id of the table map at table id tid; -ENOENT when that id holds no table. */
int xlb_reader_table_id(const struct xlb_reader *r, __u32 tid, __u32 *map_id);
/*
 * A table map by kernel id, opened read-only: returns its fd (the caller
 * closes it) and its element count; -EPROTO when its elements are not
 * struct xlb_table_entry (another xlb version's table).
 */
int xlb_table_open(__u32 map_id, __u32 *entries);
/* Both: the table map behind table id tid (map_id and entries may be NULL). */
int xlb_reader_table_open(const struct xlb_reader *r, __u32 tid, __u32 *map_id,
			  __u32 *entries);
/* Slots 0 to size - 1 of an open table map (16 per element, abi.h). */
int xlb_table_slots_read(int fd, __u32 size, __u32 *slots);
/* A VIP's live table: vip->table_size slots; -ENOENT when it has none. map_id may be NULL. */
int xlb_reader_vip_table(const struct xlb_reader *r, const struct xlb_vip *vip, __u32 *slots,
			 __u32 *map_id);

/* Its name and app, NUL-terminated; -ENOENT when the names map is absent. */
int xlb_reader_vip_meta(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_meta *out);
/* The runtime settings the programs use now (xlb_config[0]). */
int xlb_reader_config(const struct xlb_reader *r, struct xlb_config *out);

/* Counters, summed over CPUs. */
int xlb_reader_stats(const struct xlb_reader *r, struct xlb_stats *out);
int xlb_reader_vip_stats(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_stats *out);
int xlb_reader_backend_stats(const struct xlb_reader *r, __u32 backend_id,
			     struct xlb_backend_stats *out);

/* The derived maps: the address filter's XLB_FILTER_WORDS words, and reference counts. */
int xlb_reader_addr_filter(const struct xlb_reader *r, __u64 *words);
int xlb_reader_vip_addr_refs(const struct xlb_reader *r, const struct xlb_addr_key *key,
			     __u32 *count);
int xlb_reader_endpoint_refs(const struct xlb_reader *r, const struct xlb_endpoint_key *key,
			     __u32 *count);

/*
 * Conntrack entries, until deadline_ns on CLOCK_MONOTONIC (0: none): returns 1
 * when it stopped early (time, or a walk restarted too often by evictions).
 */
int xlb_reader_ct_walk(const struct xlb_reader *r, xlb_ct_fn fn, void *ctx, __u64 deadline_ns);

#endif /* XLB_DP_READ_H */
