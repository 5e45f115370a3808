/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the data plane. Layouts come from include/xlb/abi.h; sizes here
 * are defaults that the loader resizes before load. The loader pins each map
 * by its name under the versioned pin path, so a restarted daemon, lbstat and
 * the programs all share the same instances.
 */
#ifndef XLB_MAPS_H
#define XLB_MAPS_H

#include "xlb_common.h"

/* VIPs. No prealloc: an update swaps in a new element under RCU, so readers never see a mix. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vips SEC(".maps");

/* Addresses that carry at least one VIP: fragments and unparseable packets to them are dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_addr_key);
	__type(value, __u32);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vip_addrs SEC(".maps");

/* Address bitmaps: a fast "certainly not ours" before any hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, XLB_FILTER_WORDS);
} xlb_addr_filter SEC(".maps");

/*
 * One Maglev table: slot -> backend id, 16 slots per element (abi.h). Sizes
 * differ per VIP (BPF_F_INNER_MAP).
 */
/* struct xlb_table_entry as an array: an array's BTF is complete, a pointee struct's may not be. */
typedef __u32 xlb_table_slots[XLB_TABLE_SLOTS];

struct xlb_table_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, xlb_table_slots);
	__uint(max_entries, XLB_TABLE_ENTRIES(XLB_MAGLEV_MIN_SIZE));
};

/* Table id (XLB_TABLE_ID) -> table. Two ids per VIP so a new table is filled before it is live. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2 * XLB_MAX_VIPS_DEFAULT);
	__type(key, __u32);
	__array(values, struct xlb_table_inner);
} xlb_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_backend);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
} xlb_backends SEC(".maps");

/* Endpoint -> live backends there and the primary one, whose flows need no reply entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_endpoint_key);
	__type(value, struct xlb_endpoint);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
} xlb_backend_addrs SEC(".maps");

/* Vip id -> its key: a reply's flow is rebuilt from the VIP its backend serves. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_vip_key);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vip_keys SEC(".maps");

/*
 * Conntrack, one table per family so IPv4 keys stay 16 bytes. The loader may
 * set BPF_F_NO_COMMON_LRU (an LRU list per CPU) and sizes them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_ct4_key);
	__type(value, struct xlb_ct_entry);
	__uint(max_entries, XLB_CT_SIZE_DEFAULT);
} xlb_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_ct_entry);
	__uint(max_entries, XLB_CT6_SIZE_DEFAULT);
} xlb_ct6 SEC(".maps");

/* Full-NAT flows, both directions (abi.h, bpf/xlb_fnat.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_ct4_key);
	__type(value, struct xlb_fnat_entry);
	__uint(max_entries, XLB_FNAT4_SIZE_DEFAULT);
} xlb_fnat4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_fnat_entry);
	__uint(max_entries, XLB_FNAT6_SIZE_DEFAULT);
} xlb_fnat6 SEC(".maps");

/* Per interface: this node's address (full-NAT sources), whether XDP can send to it; by xlbd. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct xlb_if_addr);
	__uint(max_entries, XLB_IF_ADDRS_MAX);
} xlb_if_addrs SEC(".maps");

/* DSR, by xlbd (abi.h): each backend's agent and tag, and the backend of a VIP's tag. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_dsr_agent);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
} xlb_dsr_agents SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xlb_dsr_tag_key);
	__type(value, __u32);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
} xlb_dsr_tags SEC(".maps");

/*
 * What the main path found before it tail-called the DSR program, per CPU
 * (a tail call runs at once, on the same CPU): the backend id of the
 * packet's recorded DSR flow, its entry already touched; 0: none (pick one).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} xlb_dsr_jump SEC(".maps");

/* Next hops by destination, per CPU (abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_nh_slot);
	__uint(max_entries, XLB_NH_CACHE_SIZE);
} xlb_nh_cache SEC(".maps");

/* bpf_fib_lookup's argument, per CPU: 64 bytes the 512-byte stack of the inlined path lacks. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
	__uint(max_entries, 1);
} xlb_fib_scratch SEC(".maps");

/* XDP's handoffs to TC, by translated tuple (abi.h); never pinned: a restart starts empty. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_handoff);
	__uint(max_entries, XLB_HANDOFF_MAX);
} xlb_handoff SEC(".maps");

/* Set once XDP has handed a packet over: until then xlb_tc_handoff looks at nothing. */
__u32 xlb_handoff_used;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_config);
	__uint(max_entries, 1);
} xlb_config SEC(".maps");

/* New-flow budgets of the current second: per CPU, and per VIP per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_budget);
	__uint(max_entries, 1);
} xlb_ct_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_budget);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vip_budget SEC(".maps");

/* Per VIP, shared by all CPUs: whether replies may belong to stateless flows. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_vip_flood);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vip_flood SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_stats);
	__uint(max_entries, 1);
} xlb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_vip_stats);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_backend_stats);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
} xlb_backend_stats SEC(".maps");

/* Names for operators; the programs never touch it, it is pinned with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xlb_vip_meta);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
} xlb_vip_meta SEC(".maps");

/* Socket cookie + backend -> the VIP a translated socket asked for (bpf/xlb_sock.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xlb_sock_key);
	__type(value, struct xlb_sock_revnat);
	__uint(max_entries, XLB_SOCK_REVNAT_SIZE_DEFAULT);
} xlb_sock_revnat SEC(".maps");

/* One bit of an address bitmap: 0 proves the address is none of that kind. */
static __always_inline int xlb_filter_hit(__u32 kind, const union xlb_addr *a, __u8 family)
{
	__u32 bit = xlb_filter_bit(a, family), key = xlb_filter_word(kind, bit);
	__u64 *w = bpf_map_lookup_elem(&xlb_addr_filter, &key);

	return w && ((*w >> (bit & 63)) & 1);
}

#endif /* XLB_MAPS_H */
