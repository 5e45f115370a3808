/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data plane library's files share and nobody else sees: the data
 * plane handle with its mirror of what was written (and its reader, whose
 * layout is dp_read_internal.h's), and the helpers that more than one concern
 * needs. dp.c loads, pins, adopts and sweeps conntrack;
 * dp_attach.c attaches; dp_write.c writes VIPs, backends and tables;
 * dp_read.c reads; dp_clock.c calibrates the programs' clock. Not installed, not for the tools: they use dp.h and
 * dp_read.h.
 */
#ifndef XLB_DP_INTERNAL_H
#define XLB_DP_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "dp.h"
#include "dp_read.h"
#include "dp_read_internal.h"

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

/*
 * One key of a reference-count map. v is the value as the map holds it: an
 * endpoint's {refs, primary backend} (xlb_backend_addrs), or for a VIP
 * address its count alone, v.refs, which is the first field so &v is the
 * value of either map. Endpoints also keep their live backends, oldest
 * first, so a primary that leaves has a successor without a scan.
 */
struct xlb_ref {
	__u8 key[XLB_REF_KEY];
	struct xlb_endpoint v;
	__u32 *ids; /* endpoints only: the v.refs live backends there */
	__u32 cap;
};

/*
 * Where the conntrack sweep (xlb_dp_ct_gc) goes on from: a table and the
 * batch lookup's position in it, and the counts of the sweep so far.
 */
struct xlb_ct_gc_cursor {
	int table; /* 0: xlb_ct4, 1: xlb_ct6, 2: xlb_fnat4, 3: xlb_fnat6 */
	bool started; /* token holds a position in that table */
	__u8 token[8]; /* a hash map's batch position is a bucket index (u32) */
	bool one_by_one; /* the kernel has no batch ops for LRU maps: whole passes */
	struct xlb_ct_gc_count sweep[2], last[2];
	void *keys, *vals; /* batch buffers, kept between calls */
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
	struct xlb_reader rd; /* the same maps, for the read side (xlb_dp_reader) */
	int fd_vips, fd_vip_addrs, fd_tables, fd_backends, fd_backend_addrs, fd_config;
	int fd_dsr_agents, fd_dsr_tags;
	int fd_stats, fd_vip_stats, fd_backend_stats, fd_vip_meta, fd_addr_filter;
	int fd_vip_keys, fd_ct4, fd_ct6, fd_fnat4, fd_fnat6;
	int fd_vip_budget, fd_vip_flood; /* -1 when absent (optional) */
	__u32 max_vips, max_backends;
	int ncpus;
	struct xlb_vip_state *vips; /* indexed by vip id */
	struct xlb_backend *backends; /* mirror of xlb_backends */
	struct xlb_dsr_agent *dsr; /* mirror of xlb_dsr_agents */
	__u32 vip_cursor, be_cursor;
	__u32 *filter_refs; /* per filter bit: live VIPs / backends hashing to it */
	__u64 filter[XLB_FILTER_WORDS]; /* what xlb_addr_filter holds */
	struct xlb_refs vip_refs, be_refs; /* mirrors of xlb_vip_addrs, xlb_backend_addrs */
	void *zeros; /* one zeroed per-CPU value of the largest stats struct */
	bool batching; /* between xlb_dp_batch_begin and _end */
	struct xlb_pending *pend;
	size_t npend, cappend;
	struct xlb_ct_gc_cursor gc;
	__u64 jiffy_ns; /* the programs' clock calibration (dp_clock.c); 0: the coarse clock */
};

/* dp_write.c, for adopting pinned maps (dp.c) and closing (tables still waiting). */
int xlb_dp_percpu_size(const struct xlb_dp *dp, size_t value_size);
int xlb_dp_ref_cmp(const void *a, const void *b);
void xlb_dp_refs_clear(struct xlb_refs *r);
int xlb_dp_ref_ids_add(struct xlb_ref *ref, __u32 id);
int xlb_dp_filter_write(struct xlb_dp *dp, __u32 word, bool force);
void xlb_dp_endpoint_key(struct xlb_endpoint_key *ek, const struct xlb_backend *be, __u8 proto);
void xlb_dp_addr_key(struct xlb_addr_key *ak, const struct xlb_vip_key *vk);
int xlb_dp_vip_state_add(struct xlb_vip_state *vs, __u32 bid);
void xlb_dp_vip_state_free(struct xlb_vip_state *vs);
int xlb_dp_tables_publish(struct xlb_dp *dp);

#endif /* XLB_DP_INTERNAL_H */
