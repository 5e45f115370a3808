/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane from user space: load the BPF object with its maps pinned
 * under a versioned path (adopting maps already pinned there, never flushing
 * them; dp.c), attach to interfaces (dp_attach.c), and typed writes of VIPs,
 * backends, Maglev tables and names (dp_write.c). Writes follow an order
 * that keeps every packet consistent: backends exist before a table names
 * them, a table is complete before a VIP points at it, a VIP is gone before
 * its backends are freed. The reads declared here are the read side's
 * (dp_read.h) through the data plane's own reader. Used by xlbd and the
 * tests; lbstat and xlbdump only read, through dp_read.h.
 */
#ifndef XLB_DP_H
#define XLB_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "addr.h"

struct xlb_dp;

/* How the conntrack tables keep their LRU lists (xlb_dp_opts.ct_lru). */
enum xlb_ct_lru {
	/*
	 * One list per CPU (BPF_F_NO_COMMON_LRU): no lock shared by all CPUs on
	 * every new flow. The kernel rounds the size to a multiple of the CPU
	 * count, and a CPU evicts from its own share only.
	 */
	XLB_CT_LRU_PER_CPU = 0,
	XLB_CT_LRU_SHARED = 1, /* one list for the whole table */
};

struct xlb_dp_opts {
	const char *pin_path; /* NULL: XLB_PIN_PATH_DEFAULT */
	/*
	 * Map sizes used when the maps are created; 0: the ABI defaults. Pinned
	 * maps keep theirs, except the conntrack tables: one pinned with another
	 * size or LRU mode than these ask for is made again (its flows are lost).
	 */
	__u32 max_vips;
	__u32 max_backends;
	__u32 ct_size; /* xlb_ct4 (and xlb_sock_revnat) */
	__u32 ct6_size; /* xlb_ct6; 0: XLB_CT6_SIZE_DEFAULT */
	__u8 ct_lru; /* enum xlb_ct_lru */
	/* Leave the cgroup socket programs unloaded (socket balancing off; old kernels). */
	bool no_sock_progs;
};

/*
 * The size the kernel gives a conntrack table asked for want entries: with a
 * per-CPU LRU, htab_map_alloc() rounds it up to a multiple of ncpus (the
 * possible CPUs), or down when that overflows 32 bits. The loader asks for
 * exactly this, so a pinned table of the right size is recognised as such.
 */
__u32 xlb_ct_map_entries(__u32 want, __u32 ncpus, bool per_cpu_lru);

enum xlb_dp_prog {
	XLB_PROG_XDP,
	XLB_PROG_TC_INGRESS,
	XLB_PROG_TC_EGRESS,
	XLB_PROG_TC_HANDOFF, /* TC ingress beside XDP: sends on what XDP cannot (xlb_handoff) */
	/* The cgroup socket programs (bpf/xlb_sock.h), in the order of xlb_sock_progs. */
	XLB_PROG_CONNECT4,
	XLB_PROG_CONNECT6,
	XLB_PROG_SENDMSG4,
	XLB_PROG_SENDMSG6,
	XLB_PROG_RECVMSG4,
	XLB_PROG_RECVMSG6,
	XLB_PROG_PEERNAME4,
	XLB_PROG_PEERNAME6,
};

enum xlb_attach_mode {
	XLB_ATTACH_XDP_NATIVE, /* driver XDP; falls back to generic, then TC */
	XLB_ATTACH_XDP_GENERIC,
	XLB_ATTACH_TC,
};

/* Loads the programs and creates or adopts the pinned maps. */
int xlb_dp_open(struct xlb_dp **dpp, const struct xlb_dp_opts *opts);
/* Closes descriptors; pins and attachments stay, so forwarding goes on. */
void xlb_dp_close(struct xlb_dp *dp);
/* Removes every pin under pin_path (socket links detached first) and the directory. */
int xlb_dp_unpin(const char *pin_path);

int xlb_dp_prog_fd(const struct xlb_dp *dp, enum xlb_dp_prog prog);
/* A map's fd by its pinned name (XLB_MAP_*), or -ENOENT. */
int xlb_dp_map_fd(const struct xlb_dp *dp, const char *name);
const char *xlb_dp_pin_path(const struct xlb_dp *dp);
int xlb_dp_ncpus(const struct xlb_dp *dp);
/*
 * Nanoseconds per jiffy of the programs' calibrated clock (bpf/xlb_clock.h),
 * which lags xlb_tick_now() by less than two of them; 0 when the programs read
 * the coarse clock helper instead (the same time, a little slower).
 */
__u64 xlb_dp_clock_jiffy_ns(const struct xlb_dp *dp);
/*
 * Calibrates that clock again (xlb_dp_open does it once), or with coarse puts
 * the programs on the coarse clock helper. 0 or -errno (then the coarse one).
 */
int xlb_dp_clock_calibrate(struct xlb_dp *dp, bool coarse);
/* The kernel's HZ measured over about 0.1 s, as calibrating does without a kernel config. */
long xlb_dp_clock_measure_hz(struct xlb_dp *dp);

/*
 * Attaches ingress processing to ifindex in the wanted mode, falling back from
 * native XDP (or generic XDP) to TC ingress; *used says which one took. With
 * XDP, xlb_tc_handoff goes on TC ingress too: it sends on the packets XDP
 * translated for a device XDP cannot transmit into (xlb_dp_if_addrs_sync
 * tells the programs which ones).
 */
int xlb_dp_attach(struct xlb_dp *dp, int ifindex, enum xlb_attach_mode want,
		  enum xlb_attach_mode *used);
int xlb_dp_attach_egress(struct xlb_dp *dp, int ifindex);
/* Removes xlb's XDP and TC programs from ifindex (whichever are there). */
int xlb_dp_detach(int ifindex);

/*
 * Socket-level balancing: the cgroup programs attached to the cgroup v2
 * directory cgroup_path by bpf links pinned under the pin path
 * ("link_<program>"), so they outlive xlbd. Links pinned by an earlier xlbd
 * are adopted: on the same cgroup their program is replaced in place (no
 * moment without one, the link id stays), on another cgroup the new link is
 * made before the old one goes. Never attaches twice.
 */
int xlb_dp_sock_attach(struct xlb_dp *dp, const char *cgroup_path);
/* Detaches and unpins the socket programs' links under pin_path (NULL: the default). */
int xlb_dp_sock_detach(const char *pin_path);
/* The mount point of the cgroup v2 hierarchy, from /proc/self/mounts; -ENOENT: none. */
int xlb_dp_cgroup2_root(char *buf, size_t len);

struct xlb_backend_spec {
	union xlb_addr addr; /* be */
	__be16 port; /* be */
	__u8 family;
	__u8 state; /* XLB_BE_ACTIVE or XLB_BE_DRAINING */
	__u16 weight; /* 0 drains */
	__u8 agent_family; /* DSR: the agent that runs it; 0: unknown */
	union xlb_addr agent; /* be */
};

/*
 * Many VIP changes at once (a full sync): between begin and end, a VIP's first
 * table goes live only at end (or when that VIP is written again), all of
 * them together, because every table put into the outer map costs an RCU
 * grace period. Such a VIP answers "no backend" until then, as it did before
 * it had a table. end returns 0 or the first -errno of those switches.
 */
int xlb_dp_batch_begin(struct xlb_dp *dp);
int xlb_dp_batch_end(struct xlb_dp *dp);

/* Creates a VIP (no backends yet: new flows are rejected) or updates its flags. */
int xlb_vip_put(struct xlb_dp *dp, const struct xlb_vip_key *key, __u16 flags, __u32 *vip_id);
/* Deletes a VIP, then frees its table and its backends. */
int xlb_vip_delete(struct xlb_dp *dp, const struct xlb_vip_key *key);
/*
 * Makes specs the VIP's whole backend set: existing backends (same family,
 * address, port) keep their ids and flows, new ones get fresh slots (new
 * generation), missing ones are removed; the Maglev table of the active ones
 * is rebuilt and swapped in atomically when it changed.
 */
int xlb_vip_set_backends(struct xlb_dp *dp, const struct xlb_vip_key *key,
			 const struct xlb_backend_spec *specs, size_t n);
int xlb_vip_get(const struct xlb_dp *dp, const struct xlb_vip_key *key, struct xlb_vip *out);
/* The backend ids of a VIP (any state but removed); returns the count or -errno. */
int xlb_vip_backend_ids(const struct xlb_dp *dp, __u32 vip_id, __u32 *ids, size_t max);
int xlb_backend_get(const struct xlb_dp *dp, __u32 id, struct xlb_backend *out);
/* The id of a VIP's backend at addr:port, or -ENOENT. */
int xlb_backend_find(const struct xlb_dp *dp, __u32 vip_id, const union xlb_addr *addr,
		     __be16 port, __u8 family, __u32 *id);
/* Copies the VIP's live Maglev table; returns its size (0: none) or -errno. */
int xlb_vip_table_read(const struct xlb_dp *dp, const struct xlb_vip_key *key, __u32 *table,
		       __u32 max);

/* Names shown by lbstat and /metrics; cleared when a VIP id is (re)assigned. */
int xlb_vip_meta_set(struct xlb_dp *dp, __u32 vip_id, const char *name, const char *app);
int xlb_vip_meta_get(const struct xlb_dp *dp, __u32 vip_id, struct xlb_vip_meta *out);

int xlb_config_set(struct xlb_dp *dp, const struct xlb_config *cfg);

/* The VIP's forwarding mode (enum xlb_mode; xlb_vip_put makes a VIP in nat). */
int xlb_vip_set_mode(struct xlb_dp *dp, const struct xlb_vip_key *key, __u8 mode);
/*
 * Writes xlb_if_addrs from this network namespace's interfaces as they are
 * now (their first IPv4 and first global IPv6 address): the sources
 * full-NAT flows take; and which ones native XDP cannot transmit into
 * (XLB_IF_F_NO_XDP_XMIT, xlb_handoff). xlbd calls it at start and on its
 * timer. 0 or -errno.
 */
int xlb_dp_if_addrs_sync(struct xlb_dp *dp);

/*
 * Conntrack garbage collection. The programs treat an entry whose expiry has
 * passed as absent, but only a delete frees it: xlbd calls xlb_dp_ct_gc on a
 * timer with now = xlb_tick_now(). Each call scans at most
 * XLB_CT_GC_PER_CALL entries, going on where the last call stopped (xlb_ct4,
 * xlb_ct6, full-NAT's xlb_fnat4 and xlb_fnat6, then xlb_ct4 again), and
 * deletes those with (__s32)(now - expires) > 0: for full-NAT flows this is
 * what frees their source ports. The v4 and v6 counts include full-NAT's
 * entries (two per flow, the backend's counted as reply entries).
 */
#define XLB_CT_GC_PER_CALL 65536

struct xlb_ct_gc_count {
	__u64 scanned; /* entries looked at */
	__u64 expired; /* of those, past their lifetime and deleted */
	__u64 live; /* of those, still alive */
	__u64 reply; /* of the live ones, reply entries (flows to a shared endpoint) */
};

struct xlb_ct_gc {
	struct xlb_ct_gc_count v4, v6; /* this call's */
	bool pass_done; /* this call finished a sweep of both tables */
	/* The last finished sweep, whole (zero before the first): how full the tables are. */
	struct xlb_ct_gc_count pass_v4, pass_v6;
};

/* Returns 0 (out filled) or -errno; out may be NULL. */
int xlb_dp_ct_gc(struct xlb_dp *dp, __u32 now, struct xlb_ct_gc *out);

/* Counters, summed over CPUs (xlb_reader_stats and friends on xlb_dp_reader(dp)). */
int xlb_stats_read(const struct xlb_dp *dp, struct xlb_stats *out);
int xlb_vip_stats_read(const struct xlb_dp *dp, __u32 vip_id, struct xlb_vip_stats *out);
int xlb_backend_stats_read(const struct xlb_dp *dp, __u32 backend_id,
			   struct xlb_backend_stats *out);

#endif /* XLB_DP_H */
