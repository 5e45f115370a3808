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
	XLB_M_CT4,
	XLB_M_CT6,
	XLB_M_CONFIG,
	XLB_M_CT_BUDGET,
	XLB_M_VIP_BUDGET,
	XLB_M_VIP_FLOOD,
	XLB_M_VIP_KEYS,
	XLB_M_NH_CACHE,
	XLB_M_STATS,
	XLB_M_VIP_STATS,
	XLB_M_BACKEND_STATS,
	XLB_M_VIP_META,
	XLB_M_ADDR_FILTER,
	XLB_M_SOCK_REVNAT,
	XLB_M_FNAT4,
	XLB_M_FNAT6,
	XLB_M_IF_ADDRS,
	XLB_M_DSR_AGENTS,
	XLB_M_DSR_TAGS,
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
 * The data plane's clock: CLOCK_MONOTONIC in XLB_TICKs (2^20 ns), 32 bits,
 * the time conntrack expiries and flood windows are written in. Compare
 * with (__s32)(a - b), never with < (it wraps every 52 days).
 */
__u32 xlb_tick_now(void);

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
/* Backend id's DSR agent and tag (family 0: none written). */
int xlb_reader_dsr_agent(const struct xlb_reader *r, __u32 id, struct xlb_dsr_agent *out);

/* Counters, summed over CPUs. */
int xlb_reader_stats(const struct xlb_reader *r, struct xlb_stats *out);
int xlb_reader_vip_stats(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_stats *out);
int xlb_reader_backend_stats(const struct xlb_reader *r, __u32 backend_id,
			     struct xlb_backend_stats *out);

/* The derived maps: the address filter's XLB_FILTER_WORDS words, and reference counts. */
int xlb_reader_addr_filter(const struct xlb_reader *r, __u64 *words);
int xlb_reader_vip_addr_refs(const struct xlb_reader *r, const struct xlb_addr_key *key,
			     __u32 *count);
/* An endpoint's entry in xlb_backend_addrs: its live backends and the primary one. */
int xlb_reader_endpoint(const struct xlb_reader *r, const struct xlb_endpoint_key *key,
			struct xlb_endpoint *out);
/* xlb_vip_keys[vip_id]: the key of the VIP that has the id (zero when none has). */
int xlb_reader_vip_key(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_key *out);
/* xlb_vip_flood[vip_id]; -ENOENT when that optional map is absent. */
int xlb_reader_vip_flood(const struct xlb_reader *r, __u32 vip_id, struct xlb_vip_flood *out);

/*
 * Conntrack entries of both tables (xlb_ct4, then xlb_ct6), each given as a
 * struct xlb_flow_key (IPv4 keys widened: the address in v4, family
 * XLB_AF_INET), until deadline_ns on CLOCK_MONOTONIC (0: none): returns 1
 * when it stopped early (time, or a walk restarted too often by evictions).
 */
int xlb_reader_ct_walk(const struct xlb_reader *r, xlb_ct_fn fn, void *ctx, __u64 deadline_ns);
/* One flow's entry, from the table of its family; -ENOENT when there is none. */
int xlb_reader_ct_lookup(const struct xlb_reader *r, const struct xlb_flow_key *key,
			 struct xlb_ct_entry *out);
/* An IPv4 flow key in xlb_ct4's form and back (the widened form is zero-padded). */
void xlb_ct4_key_narrow(struct xlb_ct4_key *k4, const struct xlb_flow_key *fk);
void xlb_ct4_key_widen(struct xlb_flow_key *fk, const struct xlb_ct4_key *k4);

/* What a conntrack table is: size, LRU mode, layout and what the kernel charges for it. */
struct xlb_ct_table_info {
	__u32 max_entries;
	__u32 map_flags; /* as the kernel reports them */
	bool per_cpu_lru; /* BPF_F_NO_COMMON_LRU */
	__u32 key_size, value_size;
	/*
	 * Kernel memory of the whole table (preallocated: the same empty or full),
	 * bytes_memlock of /proc/self/fdinfo as bpftool shows it; 0 when unknown.
	 * memlock / max_entries is what one entry costs.
	 */
	__u64 memlock;
};

/* family: XLB_AF_INET (xlb_ct4) or XLB_AF_INET6 (xlb_ct6). */
int xlb_reader_ct_info(const struct xlb_reader *r, __u8 family, struct xlb_ct_table_info *out);

#endif /* XLB_DP_READ_H */
