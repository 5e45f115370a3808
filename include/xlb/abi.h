/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel/user ABI of xlb: every map key and value, state, flag, limit and
 * counter that the BPF programs and user space (xlbd, lbstat, tests) share.
 * This header is the only definition of these layouts. Structs have fixed-width
 * fields, explicit padding and a size assertion each; byte order is noted per
 * field ("be" = network order, otherwise host order). Changing a layout means
 * bumping XLB_ABI_VERSION, which is also the last element of the pin path, so
 * an old daemon never misreads a new map.
 */
#ifndef XLB_ABI_H
#define XLB_ABI_H

#ifdef __bpf__
/* BPF objects are built against vmlinux.h, which already has the __u* types. */
#else
#include <linux/types.h>
#endif

/* A plain decimal literal: the pin path below is made of its digits. */
#define XLB_ABI_VERSION 4
#define XLB_PIN_ROOT "/sys/fs/bpf/xlb"
#define XLB_STRINGIFY_(x) #x
#define XLB_STRINGIFY(x) XLB_STRINGIFY_(x)
/* "/sys/fs/bpf/xlb/v1": the version is the ABI's, never a second literal to keep in step. */
#define XLB_PIN_PATH_DEFAULT XLB_PIN_ROOT "/v" XLB_STRINGIFY(XLB_ABI_VERSION)

/* Address families, with Linux's values so user space can pass AF_INET/AF_INET6. */
#define XLB_AF_INET 2
#define XLB_AF_INET6 10

#define XLB_PROTO_TCP 6
#define XLB_PROTO_UDP 17

/*
 * Default map sizes. The loader may change them before load (xlb_dp_opts);
 * ids are indexes, so 0 is reserved as "none" in both id spaces.
 */
#define XLB_MAX_VIPS_DEFAULT 16384
#define XLB_MAX_BACKENDS_DEFAULT 131072
#define XLB_CT_SIZE_DEFAULT 524288 /* xlb_ct4 */
#define XLB_CT6_SIZE_DEFAULT (XLB_CT_SIZE_DEFAULT / 4) /* xlb_ct6: fewer clusters speak IPv6 */

/*
 * Maglev table sizes: the smallest prime above 100 x backends, so each backend
 * owns about a hundred slots, capped so that one huge VIP stays bounded.
 */
#define XLB_MAGLEV_SLOTS_PER_BACKEND 100
#define XLB_MAGLEV_MIN_SIZE 101
#define XLB_MAGLEV_MAX_SIZE 65537

/*
 * A table map's value: XLB_TABLE_SLOTS consecutive slots. Writing a table
 * costs one map element per 16 slots instead of per slot, and a full sync
 * writes some 10 million slots. Slot s is slot[s % 16] of element s / 16;
 * the last element's unused slots are 0.
 */
#define XLB_TABLE_SLOTS 16
#define XLB_TABLE_ENTRIES(size) (((size) + XLB_TABLE_SLOTS - 1) / XLB_TABLE_SLOTS)

struct xlb_table_entry {
	__u32 slot[XLB_TABLE_SLOTS];
};

/* Table ids: two per VIP (double buffering), so a table swap never edits a live table. */
#define XLB_TABLE_ID(vip_id, slot) ((vip_id) * 2 + ((slot) & 1))

/* An IPv4 address sits in v4 (= v6[0]), the other 12 bytes are zero. Network order. */
union xlb_addr {
	__be32 v4;
	__be32 v6[4];
	__u8 bytes[16];
};

/* xlb_vips key: one virtual service. */
struct xlb_vip_key {
	union xlb_addr addr; /* be */
	__be16 port; /* be */
	__u8 proto; /* XLB_PROTO_TCP or XLB_PROTO_UDP */
	__u8 family; /* XLB_AF_INET or XLB_AF_INET6 */
};

enum xlb_vip_flags {
	XLB_VIP_F_DROP_NO_BACKEND = 1 << 0, /* policy "drop": no RST/ICMP when no backend */
};

/*
 * Forwarding modes (docs/north-south.md). nat: DNAT to the backend, replies
 * must come back through this node. fullnat: also SNAT to an address of this
 * node's (the one of the interface towards the backend) and a source port it
 * allocates, so replies come back to it in any topology (bpf/xlb_fnat.h).
 * dsr: the client's packet, untouched, encapsulated (IPIP, IP6IP6) to the
 * agent that runs the backend, whose xlb delivers it and answers the client
 * directly from the VIP (bpf/xlb_dsr.h).
 */
enum xlb_mode {
	XLB_MODE_NAT = 0,
	XLB_MODE_FULLNAT = 1,
	XLB_MODE_DSR = 2,
	XLB_MODE_MAX,
};

/* xlb_vips value. */
struct xlb_vip {
	__u32 vip_id; /* index into xlb_vip_stats; stable while the VIP lives */
	__u32 table_id; /* key in xlb_tables of the live Maglev table */
	__u32 table_size; /* slots in that table; 0: no backend takes new flows */
	__u16 flags; /* enum xlb_vip_flags */
	__u8 mode; /* enum xlb_mode */
	__u8 pad;
};

enum xlb_backend_state {
	XLB_BE_REMOVED = 0, /* slot free or backend gone: its flows are re-picked */
	XLB_BE_ACTIVE = 1, /* in the Maglev table, takes new flows */
	XLB_BE_DRAINING = 2, /* keeps established flows, takes no new ones */
};

/* xlb_backends value, indexed by backend id. */
struct xlb_backend {
	union xlb_addr addr; /* be */
	__be16 port; /* be */
	__u8 family;
	__u8 state; /* enum xlb_backend_state */
	__u32 gen; /* bumped each time the slot is given to a new backend */
	__u32 vip_id; /* the VIP this backend serves */
	__u16 weight; /* Maglev weight; 0 while draining */
	__u8 flags; /* enum xlb_backend_flags */
	__u8 pad;
};

enum xlb_backend_flags {
	/*
	 * Its endpoint (address, port, protocol) is shared with another VIP's
	 * backend, so a reply cannot tell which VIP it belongs to: this backend's
	 * flows also record a reply entry. Set on every backend of an endpoint
	 * with refs > 1 (the primary too), cleared when refs falls back to 1.
	 */
	XLB_BE_F_REPLY_ENTRY = 1 << 0,
};


/*
 * xlb_backend_addrs key: the (address, port, protocol) a backend answers from.
 * Replies are recognised by it: a reply from an endpoint is checked against
 * the conntrack entry of its primary backend's flow, rebuilt from the VIP that
 * backend serves, so most flows need no second entry for their replies.
 */
struct xlb_endpoint_key {
	union xlb_addr addr; /* be */
	__be16 port; /* be */
	__u8 proto;
	__u8 family;
};

/*
 * xlb_backend_addrs value. refs counts the live backends at the endpoint; the
 * primary is one of them (the first, until it is removed). While refs > 1
 * every backend there has XLB_BE_F_REPLY_ENTRY, and replies try the reply
 * entry before the primary's flow (which covers flows recorded while the
 * endpoint was not shared).
 */
struct xlb_endpoint {
	__u32 refs;
	__u32 backend_id; /* the primary backend */
};

/*
 * xlb_addr_filter: two bitmaps of XLB_FILTER_BITS-bit address hashes, one of
 * VIP addresses (kind 0) and one of backend addresses (kind 1), as u64 words;
 * word (kind << (XLB_FILTER_BITS - 6)) + bit / 64. A clear bit proves a packet
 * is neither to a VIP nor from a backend with two array reads and no hash
 * lookup, which is what keeps non-VIP traffic near the cost of no program.
 */
#define XLB_FILTER_BITS 16
#define XLB_FILTER_VIP 0
#define XLB_FILTER_BACKEND 1
#define XLB_FILTER_WORDS (2u << (XLB_FILTER_BITS - 6))

static inline __u32 xlb_filter_bit(const union xlb_addr *a, __u8 family)
{
	__u32 x = a->v6[0];

	if (family == XLB_AF_INET6)
		x ^= (a->v6[1] * 0x85ebca6bu) ^ (a->v6[2] * 0xc2b2ae35u) ^ (a->v6[3] * 0x27d4eb2fu);
	return (x * 0x9e3779b1u) >> (32 - XLB_FILTER_BITS);
}

static inline __u32 xlb_filter_word(__u32 kind, __u32 bit)
{
	return (kind << (XLB_FILTER_BITS - 6)) | (bit >> 6);
}

/* xlb_vip_addrs key: any address that has at least one VIP (fragments, ICMP errors). */
struct xlb_addr_key {
	union xlb_addr addr; /* be */
	__u8 family;
	__u8 pad[3];
};

enum xlb_ct_dir {
	XLB_DIR_ORIG = 0, /* client -> VIP */
	XLB_DIR_REPLY = 1, /* backend -> client */
};

/*
 * A flow as seen on the wire in one direction, in the form the programs parse
 * a packet into: the destination half comes first and is laid out as struct
 * xlb_vip_key, so the VIP lookup takes the packet's own tuple. It is also the
 * key of xlb_ct6, and the form user space's conntrack iterator gives entries
 * of both tables in.
 */
struct xlb_flow_key {
	union xlb_addr daddr; /* be */
	__be16 dport; /* be */
	__u8 proto;
	__u8 family;
	union xlb_addr saddr; /* be */
	__be16 sport; /* be */
	__u8 dir; /* enum xlb_ct_dir */
	__u8 pad;
};

/* xlb_ct4 key: an IPv4 flow in 16 bytes instead of 40. */
struct xlb_ct4_key {
	__be32 daddr; /* be */
	__be32 saddr; /* be */
	__be16 dport; /* be */
	__be16 sport; /* be */
	__u8 proto;
	__u8 dir; /* enum xlb_ct_dir */
	__u16 pad;
};

/* The xlb_ct4 key of an IPv4 flow key: the programs' and the readers' one conversion. */
static inline void xlb_ct4_key_of(struct xlb_ct4_key *k, const struct xlb_flow_key *t)
{
	k->daddr = t->daddr.v4;
	k->saddr = t->saddr.v4;
	k->dport = t->dport;
	k->sport = t->sport;
	k->proto = t->proto;
	k->dir = t->dir;
	k->pad = 0;
}

/*
 * Conntrack time: CLOCK_MONOTONIC in units of 2^20 ns, about a millisecond,
 * in 32 bits (it wraps after 52 days; lifetimes are compared as signed
 * differences). User space reads CLOCK_MONOTONIC; the programs derive it from
 * jiffies as calibrated by user space (bpf/xlb_clock.h), and lag it by less
 * than two jiffies.
 */
#define XLB_TICK_SHIFT 20
#define XLB_TICKS_PER_SEC 954 /* 1e9 / 2^20, rounded */

/* ctx of the xlb_clock_read program: one calibration sample. */
struct xlb_clock_sample {
	__u64 jiffies; /* bpf_jiffies64() */
	__u64 ns; /* bpf_ktime_get_ns(), CLOCK_MONOTONIC, read right after */
	__u64 hz; /* the kernel's CONFIG_HZ as libbpf read it; 0: unknown */
};

/* What a flow's packets have shown so far; each state has its lifetime. */
enum xlb_ct_state {
	XLB_CTS_SYN = 0, /* opened by a SYN, handshake not seen to complete */
	XLB_CTS_EST = 1, /* TCP established (or picked up mid-flow) */
	XLB_CTS_FIN = 2, /* a FIN seen in one direction */
	XLB_CTS_CLOSED = 3, /* FIN seen both ways, or a RST */
	XLB_CTS_UDP = 4, /* UDP */
	XLB_CTS_MAX,
};

/* Default lifetimes, seconds (idle time after the last packet in that state). */
#define XLB_CT_TIMEOUT_SYN_DEFAULT 30
#define XLB_CT_TIMEOUT_EST_DEFAULT 7200
#define XLB_CT_TIMEOUT_FIN_DEFAULT 60
#define XLB_CT_TIMEOUT_CLOSED_DEFAULT 10
#define XLB_CT_TIMEOUT_UDP_DEFAULT 120

enum xlb_ct_flags {
	XLB_CT_F_FIN_ORIG = 1 << 0, /* the client sent a FIN */
	XLB_CT_F_FIN_REPLY = 1 << 1, /* the backend sent a FIN */
	XLB_CT_F_REPLY_ENTRY = 1 << 2, /* the flow also has a reply entry */
	XLB_CT_F_DSR = 1 << 3, /* a balancer's DSR flow: its packets go encapsulated to the agent */
};

/*
 * xlb_ct4 / xlb_ct6 value, 16 bytes. An ORIG entry names the backend (id and
 * generation, so a reused slot never inherits flows); its VIP is the one the
 * key is addressed to. A REPLY entry, recorded only for backends with
 * XLB_BE_F_REPLY_ENTRY, names the same backend, whose vip_id gives the VIP to
 * restore. The next hop is not here: it is cached per CPU and destination
 * (xlb_nh_cache), so flows to one backend share it.
 */
struct xlb_ct_entry {
	__u32 backend_id;
	__u32 backend_gen;
	__u32 expires; /* XLB_TICK time after which the entry counts as gone */
	__u8 state; /* enum xlb_ct_state */
	__u8 flags; /* enum xlb_ct_flags */
	__u16 touched; /* XLB_TICK time >> XLB_CT_TOUCH_SHIFT of the last write */
};

/*
 * A packet that changes no state writes its entry only when this coarser
 * clock (about a second) has moved since the last write, so an established
 * flow writes about once a second and reads nothing else to decide it.
 */
#define XLB_CT_TOUCH_SHIFT 10

/* xlb_vip_keys (array by vip id) value: struct xlb_vip_key, to rebuild a reply's flow. */

/*
 * Next hop: a FIB lookup costs more than the whole rest of the forwarding
 * path, so its answer is kept per CPU and destination for XLB_NH_TTL_MS (route
 * and neighbour changes reach established flows within that time).
 */
#define XLB_NH_TTL_MS 500
struct xlb_nh {
	__u32 stamp; /* XLB_TICK time of the FIB answer; 0: none */
	__u32 ifindex; /* egress interface */
	__u8 dmac[6];
	__u8 smac[6];
	__u16 len_ok; /* largest L3 length the FIB approved (route and device MTU) */
	__u16 flags; /* enum xlb_nh_flags */
};

enum xlb_nh_flags {
	/*
	 * The egress device takes no XDP frames (a bridge, VXLAN, VLAN device...):
	 * native XDP passes the translated packet to the stack with its way out
	 * noted in xlb_handoff, and xlb_tc_handoff on the receiving interface's
	 * TC ingress redirects it there, as XDP itself would see it dropped.
	 */
	XLB_NH_F_HANDOFF = 1 << 0,
	/* Back out of the interface it came in by: by bpf_redirect, not XDP_TX (XLB_IF_F_TX_REDIRECT). */
	XLB_NH_F_TX_REDIRECT = 1 << 1,
};

/*
 * xlb_handoff (LRU hash) value, keyed by the translated packet's tuple
 * (struct xlb_flow_key, dir 0): where xlb_tc_handoff sends packets of it.
 * Written by XDP only when it changes, so a flow writes it once. (XDP
 * metadata would carry it per packet, but not every kernel lets XDP write it.)
 */
struct xlb_handoff {
	__u32 ifindex; /* where to send it */
	__u32 flags; /* enum xlb_handoff_flags */
};

enum xlb_handoff_flags {
	XLB_HANDOFF_F_NEIGH = 1 << 0, /* no MACs set: bpf_redirect_neigh resolves them */
};

#define XLB_HANDOFF_MAX 16384

/*
 * xlb_nh_cache (per CPU, direct-mapped): slot = hash of the destination. The
 * FIB is asked again when the slot holds another destination or input
 * interface, is older than XLB_NH_TTL_MS, or the packet is bigger than it
 * approved. Source-based policy routing is looked up once per destination
 * and interval, not per source.
 */
#define XLB_NH_CACHE_BITS 14
#define XLB_NH_CACHE_SIZE (1u << XLB_NH_CACHE_BITS)
struct xlb_nh_slot {
	union xlb_addr dst; /* be */
	__u32 ifindex_in; /* the interface the packet arrived on */
	__u8 family;
	__u8 pad[3];
	struct xlb_nh nh;
};

/*
 * xlb_sock_revnat: what a socket the cgroup hooks translated was really
 * talking to. connect()/sendmsg() to a VIP record (socket cookie, backend,
 * protocol) -> the VIP, so getpeername() and the source of received datagrams
 * show the VIP again. Keyed by the backend as well as the cookie because an
 * unconnected UDP socket may send to several VIPs; an LRU, because nothing
 * tells the programs when a socket closes.
 */
struct xlb_sock_key {
	__u64 cookie; /* bpf_get_socket_cookie() */
	union xlb_addr addr; /* be: the backend */
	__be16 port; /* be */
	__u8 proto;
	__u8 family;
	__u32 pad;
};

/* xlb_sock_revnat value: the VIP the socket asked for, and the ids for counters. */
struct xlb_sock_revnat {
	union xlb_addr addr; /* be */
	__be16 port; /* be */
	__u16 pad;
	__u32 vip_id;
	__u32 backend_id;
	__u32 pad2;
};

#define XLB_SOCK_REVNAT_SIZE_DEFAULT 262144

/*
 * Flood protection: budgets of recorded new flows per second, per CPU and per
 * VIP per CPU (counted per CPU so no counter is shared on the fast path).
 * Above either, a new flow is forwarded by Maglev without a conntrack entry
 * (stateless, counted), never dropped. The defaults are xlbd's; 0 in the map
 * means no limit.
 */
#define XLB_NEW_PER_CPU_DEFAULT 125000
#define XLB_NEW_PER_VIP_DEFAULT 50000
/* After a stateless flow, replies without an entry are checked against Maglev this long. */
#define XLB_STATELESS_GRACE_SEC 60

/* Runtime settings, xlb_config[0]; may change while the programs run. */
struct xlb_config {
	__u32 new_per_cpu; /* recorded new flows per CPU per second; 0: no limit */
	__u32 new_per_vip; /* the same per VIP (per CPU); 0: no limit */
	__u32 ct_timeout[XLB_CTS_MAX]; /* lifetime per state, in XLB_TICKs; 0: the default */
	/* Full-NAT source ports, inclusive, host order; lo 0: full-NAT VIPs drop new flows. */
	__u16 fnat_port_lo;
	__u16 fnat_port_hi;
	/*
	 * DSR: the balancer sees only the client's half of a flow, so an
	 * established DSR flow lives dsr_idle ticks after its last packet (0: the
	 * default). The agent clamps the MSS of its backends' SYN-ACKs to
	 * dsr_mss4 / dsr_mss6 (IPv4 / IPv6 flows; 0: the defaults), so the
	 * client's segments still fit the path's MTU once encapsulated.
	 */
	__u32 dsr_idle;
	__u16 dsr_mss4;
	__u16 dsr_mss6;
	/*
	 * A closed full-NAT flow (both FINs or a RST seen) keeps its source port
	 * fnat_closed ticks (0: the default), not the closed lifetime of
	 * conntrack: the port is what limits new connections per second.
	 */
	__u32 fnat_closed;
};

#define XLB_FNAT_CLOSED_MS_DEFAULT 250

#define XLB_DSR_IDLE_DEFAULT 300 /* seconds */
/* MTU 1500 less the outer header, the inner IP header and TCP's 20 bytes. */
#define XLB_DSR_MTU_DEFAULT 1500
#define XLB_DSR_MSS(mtu, v6) ((mtu) - ((v6) ? 40 + 40 + 20 : 20 + 20 + 20))

/*
 * xlb_dsr_agents value, an array by backend id: where a DSR flow to the
 * backend is encapsulated to (the agent that runs it; family 0: unknown, and
 * the balancer translates as in NAT mode), and the backend's tag, which the
 * outer header carries (IPv4 ID, IPv6 flow label) so the agent delivers the
 * flow to the backend the balancer chose. Tags are derived from the backend's
 * address and port, so every node gives a backend the same one.
 */
struct xlb_dsr_agent {
	union xlb_addr addr; /* be */
	__u8 family;
	__u8 pad;
	__u16 tag;
};

/* xlb_dsr_tags key: a VIP and a tag; the value is the backend id (__u32). */
struct xlb_dsr_tag_key {
	struct xlb_vip_key vip;
	__u16 tag;
	__u16 pad;
};

/*
 * Full-NAT's source ports by default: above Linux's default ephemeral range
 * (32768-60999), so the node's own connections never take one.
 */
#define XLB_FNAT_PORT_LO_DEFAULT 61000
#define XLB_FNAT_PORT_HI_DEFAULT 65535
/* Ports tried for a new full-NAT flow before it fails as exhausted. */
#define XLB_FNAT_PROBES 16

/*
 * xlb_fnat4 (key struct xlb_ct4_key) and xlb_fnat6 (key struct xlb_flow_key)
 * value: a full-NAT flow has two entries. The client's (dir ORIG, client ->
 * VIP) holds the source it is given (this node's address and port); the
 * backend's (dir REPLY, backend -> that address and port, which is how a
 * source port is known to be taken) holds the client to send replies back
 * to. Each has the conntrack fields of its direction.
 */
struct xlb_fnat_entry {
	struct xlb_ct_entry ct;
	union xlb_addr addr; /* be: ORIG the SNAT address, REPLY the client's */
	__be16 port; /* be: ORIG the SNAT port, REPLY the client's */
	__u16 pad;
	/*
	 * Added to the client's TCP timestamps on the way to the backend, taken
	 * off the backend's echo of them on the way back (0: none). A backend
	 * still in TIME_WAIT on a reused source port takes a new SYN only with a
	 * newer timestamp, and clients' timestamps have random offsets per
	 * connection: towards the backend, every flow's start at this node's clock.
	 */
	__u32 ts_delta;
};

#define XLB_FNAT4_SIZE_DEFAULT 262144 /* entries: two per flow */
#define XLB_FNAT6_SIZE_DEFAULT 65536

/*
 * xlb_if_addrs value, by ifindex: this node's address on the interface, which
 * full-NAT flows leaving by it take as their source. Written by xlbd from the
 * interfaces' addresses (the first IPv4 one, the first global IPv6 one); a
 * zero address: none of that family. Interfaces without an address are
 * there too where flags are not 0.
 */
struct xlb_if_addr {
	__be32 v4;
	__u32 flags; /* enum xlb_if_flags */
	union xlb_addr v6;
};

enum xlb_if_flags {
	/* Native XDP cannot transmit into it (not a NIC or veth): see XLB_NH_F_HANDOFF. */
	XLB_IF_F_NO_XDP_XMIT = 1 << 0,
	/*
	 * A veth: XDP_TX frames wait in its peer's queue until the peer runs
	 * for another reason (only a redirect kicks it, unless the peer has an
	 * XDP program), so XDP sends back out of it with bpf_redirect.
	 */
	XLB_IF_F_TX_REDIRECT = 1 << 1,
};

#define XLB_IF_ADDRS_MAX 1024

/* xlb_ct_budget (per CPU, one entry) and xlb_vip_budget (per CPU, by vip id) value. */
struct xlb_budget {
	__u32 window; /* XLB_TICK time the current second started */
	__u32 used; /* flows recorded in it */
};

/* xlb_vip_flood value, by vip id: until when replies may belong to stateless flows. */
struct xlb_vip_flood {
	__u32 stateless_until; /* XLB_TICK time */
};

/*
 * xlb_vip_meta value, indexed by vip id: what the VIP is called, for lbstat and
 * /metrics. Written by xlbd, never read by the programs. NUL-terminated strings.
 */
#define XLB_META_NAME_LEN 128
#define XLB_META_APP_LEN 128
struct xlb_vip_meta {
	char name[XLB_META_NAME_LEN]; /* DNS name of a named VIP, or "" */
	char app[XLB_META_APP_LEN]; /* Marathon app or pod id(s), or the config's label */
};

/* Per-VIP drop reasons (xlb_vip_stats.drops). */
enum xlb_vip_drop {
	XLB_VIP_DROP_NO_BACKEND, /* no backend may take the flow, policy drop */
	XLB_VIP_DROP_NO_TABLE, /* table_id points at no table (writer bug or race) */
	XLB_VIP_DROP_REJECT_FAILED, /* could not build the RST/ICMP answer */
	XLB_VIP_DROP_FIB, /* route to the backend is blackhole/unreachable/prohibited */
	XLB_VIP_DROP_FNAT_EXHAUSTED, /* full-NAT: no free source port */
	XLB_VIP_DROP_FNAT_NO_ADDR, /* full-NAT: no address of ours towards the backend */
	XLB_VIP_DROP_MAX,
};

/* xlb_vip_stats value (per CPU), indexed by vip id. */
struct xlb_vip_stats {
	__u64 pkts_in; /* client -> VIP, forwarded */
	__u64 bytes_in;
	__u64 pkts_out; /* replies translated back to the VIP */
	__u64 bytes_out;
	__u64 new_flows; /* recorded or not */
	__u64 rejected; /* RST or ICMP unreachable sent */
	__u64 stateless; /* new flows over a budget, forwarded without a conntrack entry */
	__u64 drops[XLB_VIP_DROP_MAX];
};

/* xlb_backend_stats value (per CPU), indexed by backend id. */
struct xlb_backend_stats {
	__u64 pkts_in;
	__u64 bytes_in;
	__u64 pkts_out;
	__u64 bytes_out;
	__u64 new_flows;
};

/*
 * Global counters (xlb_stats, one per-CPU entry of XLB_CNT_MAX u64). Every packet
 * ends in exactly one verdict and one reason; events count what happened on the way.
 * X(name, verdict, help): the verdict is what that reason returns.
 */
#define XLB_REASONS(X)                                                                 \
	X(PASS_NOT_IP, PASS, "not IPv4/IPv6 (or more than one VLAN tag)")                  \
	X(PASS_TRUNCATED, PASS, "truncated header, not addressed to a VIP")                 \
	X(PASS_NOT_VIP, PASS, "IP traffic that is neither for a VIP nor a reply")           \
	X(PASS_PROTO, PASS, "L4 protocol other than TCP/UDP/ICMP")                          \
	X(PASS_FRAGMENT, PASS, "IP fragment not addressed to a VIP")                        \
	X(PASS_ICMP, PASS, "ICMP that is not an error about a known flow")                  \
	X(PASS_NO_NEIGH, PASS, "translated, next hop not resolved: kernel forwards")        \
	X(PASS_FIB, PASS, "translated, FIB gave no forwarding answer: kernel forwards")     \
	X(PASS_LOCAL, PASS, "translated, backend or client is local: kernel delivers")      \
	X(FWD_HANDOFF, PASS, "translated by XDP, handed to TC for a device XDP cannot send to") \
	X(FWD_TX, TX, "forwarded out of the receiving interface")                           \
	X(FWD_REDIRECT, REDIRECT, "forwarded out of another interface")                     \
	X(REJECT_TX, TX, "no backend: RST or ICMP unreachable sent back")                   \
	X(REJECT_REDIRECT, REDIRECT, "no backend: RST or ICMP unreachable to the local host") \
	X(DROP_NO_BACKEND, DROP, "no backend and the VIP's policy is drop")                 \
	X(DROP_NO_TABLE, DROP, "VIP without its Maglev table")                             \
	X(DROP_REJECT_FAILED, DROP, "no backend and the answer could not be built")         \
	X(DROP_FRAGMENT, DROP, "IP fragment addressed to a VIP")                            \
	X(DROP_MALFORMED_VIP, DROP, "addressed to a VIP address but not parseable")         \
	X(DROP_FIB, DROP, "route to the destination is blackhole/unreachable/prohibited")   \
	X(DROP_FNAT_EXHAUSTED, DROP, "full-NAT: no free source port towards the backend")   \
	X(DROP_FNAT_NO_ADDR, DROP, "full-NAT: no address of ours on the way to the backend") \
	X(PASS_TUNNEL, PASS, "IPIP/IP6IP6 that is not a DSR packet to this node")            \
	X(DSR_TOO_BIG, TX, "DSR: too big once encapsulated: fragmentation needed sent back") \
	X(DSR_TOO_BIG_LOCAL, REDIRECT, "DSR: too big once encapsulated: told the local sender") \
	X(DROP_DSR_MALFORMED, DROP, "DSR: the encapsulated packet to a VIP is not parseable") \
	X(DROP_DSR_UNKNOWN, DROP, "DSR: the backend the balancer chose is not known here")   \
	X(DROP_DSR_NO_ROUTE, DROP, "DSR: no route to the agent, or too big and may not be told") \
	X(DROP_DSR_NO_ADDR, DROP, "DSR: no address of ours on the way to the agent")        \
	X(DROP_INTERNAL, DROP, "map lookup that cannot fail failed")

#define XLB_EVENTS(X)                                                                  \
	X(CT_HIT, "packet matched a conntrack entry")                                       \
	X(CT_NEW, "new flow recorded in conntrack")                                         \
	X(CT_REPICK, "flow's backend gone or reused: picked again")                         \
	X(CT_INSERT_FAILED, "conntrack insert failed")                                      \
	X(CT_EXPIRED, "conntrack entry past its lifetime: treated as none")                 \
	X(CT_SYN_RECORDED, "SYN on a recorded tuple (retransmit or reused port)")           \
	X(CT_REPLY_ENTRY, "flow to a shared endpoint: reply entry recorded too")            \
	X(CT_STATELESS, "new flow over a budget: forwarded by Maglev, not recorded")        \
	X(CT_STATELESS_REPLY, "reply with no entry matched Maglev in a flood: translated")  \
	X(NH_MISS, "next hop not cached (or stale): FIB asked")                             \
	X(NAT_ORIG, "client -> VIP translated to a backend")                                \
	X(NAT_REPLY, "backend -> client translated back to the VIP")                        \
	X(ICMP_ORIG, "ICMP error about a VIP flow sent to its backend")                     \
	X(ICMP_REPLY, "ICMP error from a backend side translated for the client")           \
	X(FNAT_NEW, "full-NAT flow recorded: source port allocated, both directions")        \
	X(FNAT_HIT, "packet matched a full-NAT entry")                                      \
	X(FNAT_PORT_TAKEN, "full-NAT source port taken towards the backend: next one tried") \
	X(DSR_ENCAP, "DSR: client packet encapsulated to the backend's agent")              \
	X(DSR_LOCAL, "DSR: the backend runs here: translated as in NAT mode")              \
	X(DSR_DECAP, "DSR: encapsulated packet decapsulated and sent to its backend")       \
	X(MSS_CLAMP, "DSR: a backend's SYN-ACK MSS lowered to fit the encapsulation")      \
	X(VLAN, "packet carried an 802.1Q tag")                                             \
	X(HANDOFF_SENT, "packet handed over by XDP: redirected by xlb_tc_handoff")          \
	X(SOCK_CONNECT, "socket connect() to a VIP: connected to a backend instead")        \
	X(SOCK_SENDMSG, "datagram sent to a VIP (unconnected UDP): sent to a backend")      \
	X(SOCK_RECVMSG, "datagram from a backend: its source shown as the VIP")             \
	X(SOCK_PEERNAME, "getpeername() of a translated socket: the VIP shown")             \
	X(SOCK_NO_BACKEND, "socket connect()/sendmsg() to a VIP with no backend: refused")  \
	X(SOCK_NO_TABLE, "socket call to a VIP without its Maglev table: refused")          \
	X(SOCK_REVNAT_FAILED, "socket translated, but its reverse entry was not recorded")

#define XLB_VERDICTS(X) X(PASS) X(DROP) X(TX) X(REDIRECT)

enum xlb_counter {
#define XLB_X_VERDICT(v) XLB_CNT_V_##v,
	XLB_VERDICTS(XLB_X_VERDICT)
#undef XLB_X_VERDICT
#define XLB_X_REASON(r, v, h) XLB_CNT_##r,
	XLB_REASONS(XLB_X_REASON)
#undef XLB_X_REASON
#define XLB_X_EVENT(e, h) XLB_CNT_##e,
	XLB_EVENTS(XLB_X_EVENT)
#undef XLB_X_EVENT
	XLB_CNT_MAX,
};

#define XLB_CNT_FIRST_REASON XLB_CNT_PASS_NOT_IP
#define XLB_CNT_FIRST_EVENT XLB_CNT_CT_HIT

struct xlb_stats {
	__u64 c[XLB_CNT_MAX];
};

/* Pinned map names; each equals the map's C name in bpf/xlb.bpf.c. */
#define XLB_MAP_VIPS "xlb_vips"
#define XLB_MAP_VIP_ADDRS "xlb_vip_addrs"
#define XLB_MAP_TABLES "xlb_tables"
#define XLB_MAP_BACKENDS "xlb_backends"
#define XLB_MAP_BACKEND_ADDRS "xlb_backend_addrs"
#define XLB_MAP_CT4 "xlb_ct4"
#define XLB_MAP_CT6 "xlb_ct6"
#define XLB_MAP_CONFIG "xlb_config"
#define XLB_MAP_CT_BUDGET "xlb_ct_budget"
#define XLB_MAP_VIP_BUDGET "xlb_vip_budget"
#define XLB_MAP_VIP_FLOOD "xlb_vip_flood"
#define XLB_MAP_VIP_KEYS "xlb_vip_keys"
#define XLB_MAP_NH_CACHE "xlb_nh_cache"
#define XLB_MAP_HANDOFF "xlb_handoff"
#define XLB_MAP_STATS "xlb_stats"
#define XLB_MAP_VIP_STATS "xlb_vip_stats"
#define XLB_MAP_BACKEND_STATS "xlb_backend_stats"
#define XLB_MAP_VIP_META "xlb_vip_meta"
#define XLB_MAP_ADDR_FILTER "xlb_addr_filter"
#define XLB_MAP_SOCK_REVNAT "xlb_sock_revnat"
#define XLB_MAP_FNAT4 "xlb_fnat4"
#define XLB_MAP_FNAT6 "xlb_fnat6"
#define XLB_MAP_IF_ADDRS "xlb_if_addrs"
#define XLB_MAP_DSR_AGENTS "xlb_dsr_agents"
#define XLB_MAP_DSR_TAGS "xlb_dsr_tags"

#ifndef __bpf__
_Static_assert(XLB_ABI_VERSION > 0, "XLB_ABI_VERSION is a positive decimal literal");
/* "/v" and the digits of the version, nothing else after the root (tests compare the text). */
_Static_assert(sizeof(XLB_PIN_PATH_DEFAULT) ==
		       sizeof(XLB_PIN_ROOT "/v") + sizeof(XLB_STRINGIFY(XLB_ABI_VERSION)) - 1,
	       "XLB_PIN_PATH_DEFAULT is XLB_PIN_ROOT/v<XLB_ABI_VERSION>");
_Static_assert(sizeof(union xlb_addr) == 16, "xlb_addr layout");
_Static_assert(sizeof(struct xlb_vip_key) == 20, "xlb_vip_key layout");
_Static_assert(sizeof(struct xlb_vip) == 16, "xlb_vip layout");
_Static_assert(sizeof(struct xlb_backend) == 32, "xlb_backend layout");
_Static_assert(sizeof(struct xlb_endpoint_key) == 20, "xlb_endpoint_key layout");
_Static_assert(sizeof(struct xlb_table_entry) == 64, "xlb_table_entry layout");
_Static_assert(sizeof(struct xlb_addr_key) == 20, "xlb_addr_key layout");
_Static_assert(sizeof(struct xlb_endpoint) == 8, "xlb_endpoint layout");
_Static_assert(sizeof(struct xlb_budget) == 8, "xlb_budget layout");
_Static_assert(sizeof(struct xlb_vip_flood) == 4, "xlb_vip_flood layout");
_Static_assert(sizeof(struct xlb_ct4_key) == 16, "xlb_ct4_key layout");
_Static_assert(sizeof(struct xlb_nh_slot) == 48, "xlb_nh_slot layout");
_Static_assert(sizeof(struct xlb_flow_key) == 40, "xlb_flow_key layout");
_Static_assert(__builtin_offsetof(struct xlb_flow_key, dport) ==
		       __builtin_offsetof(struct xlb_vip_key, port) &&
	       __builtin_offsetof(struct xlb_flow_key, proto) ==
		       __builtin_offsetof(struct xlb_vip_key, proto) &&
	       __builtin_offsetof(struct xlb_flow_key, family) ==
		       __builtin_offsetof(struct xlb_vip_key, family),
	       "a flow key must start with a VIP key");
_Static_assert(sizeof(struct xlb_nh) == 24, "xlb_nh layout");
_Static_assert(sizeof(struct xlb_ct_entry) == 16, "xlb_ct_entry layout");
_Static_assert(sizeof(struct xlb_config) == 24 + 4 * XLB_CTS_MAX, "xlb_config layout");
_Static_assert(sizeof(struct xlb_dsr_agent) == 20, "xlb_dsr_agent layout");
_Static_assert(sizeof(struct xlb_dsr_tag_key) == 24, "xlb_dsr_tag_key layout");
_Static_assert(sizeof(struct xlb_fnat_entry) == 40, "xlb_fnat_entry layout");
_Static_assert(sizeof(struct xlb_if_addr) == 24, "xlb_if_addr layout");
_Static_assert(sizeof(struct xlb_sock_key) == 32, "xlb_sock_key layout");
_Static_assert(sizeof(struct xlb_sock_revnat) == 32, "xlb_sock_revnat layout");
_Static_assert(sizeof(struct xlb_vip_stats) == 8 * (7 + XLB_VIP_DROP_MAX), "xlb_vip_stats");
_Static_assert(sizeof(struct xlb_backend_stats) == 40, "xlb_backend_stats layout");
_Static_assert(sizeof(struct xlb_vip_meta) == 256, "xlb_vip_meta layout");
_Static_assert(sizeof(struct xlb_stats) == 8 * XLB_CNT_MAX, "xlb_stats layout");
#endif

#endif /* XLB_ABI_H */
