/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the BPF_PROG_TEST_RUN suite's files share: the fixture (a private
 * network namespace with two veths, routes and permanent neighbours, and the
 * data plane loaded under a private pin path with a fixed set of services),
 * running one packet through one program, counter snapshots and the checks
 * that compare them, and the case-table row that most tests are made of.
 */
#ifndef XLB_TEST_SUITE_H
#define XLB_TEST_SUITE_H

#include <stdbool.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "dp.h"
#include "harness.h"
#include "pkt.h"

/* Programs under test, as a bit each so a row can name several. */
enum t_hook {
	T_XDP = 1 << 0,
	T_TCI = 1 << 1, /* TC ingress */
	T_TCE = 1 << 2, /* TC egress */
};
#define T_XDP_TC (T_XDP | T_TCI)
#define T_ALL (T_XDP | T_TCI | T_TCE)

/* Sizes of the suite's data plane instance: small, so it loads fast. */
#define T_MAX_VIPS 64
#define T_MAX_BACKENDS 64
#define T_CT_SIZE 65536

/* The services the fixture creates once; rows refer to them by these names. */
enum t_svc {
	T_SVC_TCP4, /* 198.18.0.10:80/tcp -> 198.18.2.10:8080 */
	T_SVC_UDP4, /* 198.18.0.10:53/udp -> 198.18.2.10:5353 */
	T_SVC_TCP6, /* [2001:db8::10]:80/tcp -> [2001:db8:2::10]:8080 */
	T_SVC_UDP6, /* [2001:db8::10]:53/udp -> [2001:db8:2::10]:5353 */
	T_SVC_REJ_TCP4, /* 198.18.0.20:80/tcp, no backend: RST */
	T_SVC_REJ_UDP4, /* 198.18.0.20:53/udp, no backend: ICMP port unreachable */
	T_SVC_REJ_TCP6,
	T_SVC_REJ_UDP6,
	T_SVC_DROP_TCP4, /* 198.18.0.21:80/tcp, no backend, policy drop */
	T_SVC_DROP_UDP6, /* [2001:db8::21]:53/udp, no backend, policy drop */
	T_SVC_NONEIGH4, /* backend 198.18.2.99: routed, no neighbour entry */
	T_SVC_NONEIGH6, /* backend 2001:db8:2::99 */
	T_SVC_BLACKHOLE4, /* backend 198.18.2.66: blackhole route */
	T_SVC_UNREACH4, /* backend 198.18.2.67: unreachable route */
	T_SVC_BLACKHOLE6, /* backend 2001:db8:2::66: blackhole route */
	T_SVC_LOCAL4, /* backend 198.18.2.1: the LB's own address */
	T_SVC_MTU4, /* backend 198.18.2.77: route MTU 1000 (locked) */
	T_SVC_DEVMTU4, /* backend 198.18.2.78: behind a third link of MTU 1000 */
	T_SVC_MAX,
};

struct t_svc_state {
	struct xlb_vip_key key;
	__u32 vip_id;
	int has_backend;
	union xlb_addr be_addr; /* be */
	__u16 be_port; /* host order */
	__u32 be_id;
	__u8 be_mac[6];
	__u8 out_mac[6]; /* the LB's MAC on the link towards the backend */
};

struct t_env {
	struct xlb_dp *dp;
	char pin_path[64];
	int if_c; /* the LB's client-side veth: 198.18.1.1/24, 2001:db8:1::1/64 */
	int if_b; /* the LB's backend-side veth: 198.18.2.1/24, 2001:db8:2::1/64 */
	__u8 mac_c[6];
	__u8 mac_b[6];
	struct t_svc_state svc[T_SVC_MAX];
};

extern struct t_env t_env;

/* Fixed addresses of the topology (documentation ranges only). */
extern const __u8 t_client_mac[6];
extern const __u8 t_router_mac[6];
#define T_CLIENT4 "198.18.1.10"
#define T_CLIENT6 "2001:db8:1::10"
#define T_ROUTER_C4 "198.18.1.254" /* a router on the client side (no neighbour needed) */
#define T_ROUTER_C6 "2001:db8:1::fe"
#define T_ROUTER_B4 "198.18.2.254" /* a router on the backend side */
#define T_ROUTER_B6 "2001:db8:2::fe"
#define T_OTHER4 "198.18.2.200" /* routed, not a VIP, not a backend */
#define T_OTHER6 "2001:db8:2::200"
#define T_CLIENT_PORT_BASE 20000

/* The neighbour MAC the fixture gives a backend address: 02:00:00:00:02:<last byte>. */
void t_backend_mac(int family, const union xlb_addr *addr, __u8 mac[6]);

/* Group setup/teardown: netns, links, data plane, services. */
int t_setup(void **state);
int t_teardown(void **state);
/* Pin paths of extra instances: removed by t_pin_release, or at exit at the latest. */
void t_pin_register(const char *path);
void t_pin_release(const char *path);

/* A fresh client port, so every test's flows are new to conntrack. */
__u16 t_port(void);

/*
 * Runs one packet through one program of an instance (repeat 1); out must hold
 * XLB_PKT_BUF bytes. Returns 0 or -errno; *ret is the program's return value.
 */
int t_prog_run(struct xlb_dp *dp, enum t_hook hook, int ifindex, const void *in, size_t len,
	       void *out, __u32 *out_len, __u32 *ret);
/* The program's return value that a verdict counter (XLB_CNT_V_*) stands for under a hook. */
__u32 t_verdict_ret(enum t_hook hook, int verdict);
/* The verdict counter a reason counter implies (XLB_REASONS). */
int t_reason_verdict(int reason);
const char *t_hook_name(enum t_hook hook);

/* Counters of every VIP and backend id of an instance, summed over CPUs. */
struct t_counters {
	struct xlb_stats g;
	struct xlb_vip_stats vip[T_MAX_VIPS];
	struct xlb_backend_stats be[T_MAX_BACKENDS];
};

void t_counters_read(struct xlb_dp *dp, struct t_counters *c);

#define T_EV(cnt) (1ULL << ((cnt) - XLB_CNT_FIRST_EVENT))
/* The events of the usual paths. */
#define T_E_NEW (T_EV(XLB_CNT_CT_NEW) | T_EV(XLB_CNT_NAT_ORIG))
#define T_E_HIT (T_EV(XLB_CNT_CT_HIT) | T_EV(XLB_CNT_NAT_ORIG))
#define T_E_REPLY T_EV(XLB_CNT_NAT_REPLY)

/*
 * What one packet must have moved: exactly one reason (and its verdict), the
 * events in the mask by one each, one VIP's and up to two backends' counters
 * by the given amounts; every other counter of the instance stays put.
 */
struct t_delta {
	int reason;
	__u64 events;
	__u32 vip_id; /* 0: no VIP counter moves */
	struct xlb_vip_stats vip;
	__u32 be_id[2]; /* 0: unused */
	struct xlb_backend_stats be[2];
};

/* Error collection: checks report every mismatch by name, then the test fails once. */
extern int t_errors;
void t_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void t_eq(const char *what, unsigned long long got, unsigned long long want);
/* Fails the test (cmocka fail) when errors were reported, after printing where. */
void t_done(const char *where);

void t_check_delta(const struct t_counters *before, const struct t_counters *after,
		   const struct t_delta *d);

/*
 * Compares a frame with the one expected: every field by name (addresses, ports,
 * MACs, TTL, flags, seq/ack, ICMP type/code and the quoted packet), each
 * checksum must verify (or be "none" where expected), then every byte.
 */
void t_check_frame(const void *got, size_t got_len, const void *want, size_t want_len);
/* The frame must be byte-identical to the input. */
void t_check_same(const void *got, size_t got_len, const void *want, size_t want_len);

/* Which backend a translated client->VIP frame was sent to (by its destination). */
int t_frame_dst(const void *frame, size_t len, union xlb_addr *addr, __u16 *port);

/* Flow hash of the data plane (xlb_hash_flow), to predict Maglev picks. */
__u32 t_hash_flow(int family, const union xlb_addr *saddr, const union xlb_addr *daddr,
		  __u16 sport, __u16 dport, __u8 proto);

/* ------------------------------------------------------------------------- */
/* The case table. */

/* What the packet is. */
enum t_flow {
	T_F_TO_VIP, /* client -> VIP:port */
	T_F_TO_VIP_ADDR, /* client -> VIP address, a port with no VIP */
	T_F_TO_OTHER, /* client -> a routed non-VIP address */
	T_F_REPLY, /* backend -> client */
	T_F_ICMP_TO_VIP, /* router -> VIP: error quoting VIP -> client */
	T_F_ICMP_TO_VIP_NOSVC, /* router -> VIP: error quoting VIP:other port -> client */
	T_F_ICMP_FROM_BACKEND, /* backend -> client: error quoting client -> backend */
	T_F_ICMP_FROM_ROUTER, /* router near the backend -> client: quoting client -> backend */
	T_F_ICMP_OTHER, /* router -> client: error quoting client -> non-VIP */
	T_F_ECHO_VIP, /* client -> VIP address: echo request */
	T_F_ECHO_OTHER, /* client -> non-VIP: echo request */
	T_F_ARP, /* ARP request for the VIP address */
	T_F_ND, /* IPv6 neighbour solicitation for the VIP address */
};

/* Packet modifiers. */
enum t_mod {
	T_M_VLAN = 1 << 0, /* one 802.1Q tag */
	T_M_QINQ = 1 << 1, /* two 802.1Q tags */
	T_M_IPOPT = 1 << 2, /* IPv4 options (router alert + timestamp, 16 bytes) */
	T_M_HBH = 1 << 3, /* IPv6 hop-by-hop options header */
	T_M_DSTOPT = 1 << 4, /* IPv6 destination options header (after HBH if both) */
	T_M_EXT3 = 1 << 5, /* three IPv6 extension headers: more than the parser walks */
	T_M_FRAG6 = 1 << 6, /* IPv6 fragment header (first fragment, M set) */
	T_M_MF = 1 << 7, /* IPv4 more-fragments, offset 0 */
	T_M_FRAGOFF = 1 << 8, /* IPv4 offset 185 (1480 bytes), no L4 header */
	T_M_DF = 1 << 9, /* IPv4 don't-fragment (not a fragment) */
	T_M_UDP_NOCSUM = 1 << 10, /* UDP checksum 0 */
	T_M_CSUM_FFFF = 1 << 11, /* payload chosen so the translated UDP checksum computes to 0 */
	T_M_PAYLOAD = 1 << 12, /* 100 bytes of data */
	T_M_BIG = 1 << 13, /* 1200 bytes of data */
	T_M_TTL1 = 1 << 14, /* TTL / hop limit 1 */
	T_M_QUOTE8 = 1 << 15, /* ICMP error quotes the IP header + 8 bytes only */
	T_M_GRE = 1 << 16, /* protocol 47 instead of TCP/UDP */
	T_M_BADVER = 1 << 17, /* IP version field 5 */
	T_M_BADIHL = 1 << 18, /* IPv4 ihl 4 */
	T_M_BADDOFF = 1 << 19, /* TCP data offset 4 */
	T_M_FIXLEN = 1 << 20, /* truncation also shrinks the IP length fields */
	T_M_VIA_OTHER = 1 << 21, /* arrives on the other interface (one-armed) */
};

/* Where to cut the frame (header boundaries of the built packet). */
enum t_trunc {
	T_TR_NONE = 0,
	T_TR_L2, /* right after the L2 header (Ethernet, tag): no IP header at all */
	T_TR_VLAN, /* in the VLAN tag */
	T_TR_L3_HALF, /* in the IP header, before the addresses end */
	T_TR_L3, /* right after the fixed IP header */
	T_TR_IPOPT, /* in the IPv4 options */
	T_TR_EXT, /* in the IPv6 extension header */
	T_TR_L4_HALF, /* 4 bytes into the L4 header (ports only) */
	T_TR_L4_END, /* one byte short of the full L4 header */
	T_TR_PAYLOAD, /* in the payload: headers whole, lengths say more */
};

/* What the program must have made of the frame. */
enum t_out {
	T_O_SAME, /* byte-identical */
	T_O_NONE, /* dropped: content not checked */
	T_O_DNAT, /* to the service's backend, forwarded (MACs, TTL-1 unless TC egress) */
	T_O_DNAT_RAW, /* to the backend, left to the kernel: no MAC or TTL change */
	T_O_DNAT_TTL, /* to the backend, TTL-1, MACs for the kernel's neighbour code to fill */
	T_O_SNAT, /* back from the VIP to the client, forwarded */
	T_O_RST, /* TCP RST answer back to the client */
	T_O_UNREACH, /* ICMP / ICMPv6 port unreachable back to the client */
	T_O_ICMP_ORIG, /* the error sent on to the flow's backend */
	T_O_ICMP_REPLY, /* the error sent on to the client with the VIP restored */
};

/* Which of the service's counters move (bytes: the input frame's length). */
enum t_stat {
	T_S_IN = 1 << 0, /* VIP and backend pkts_in/bytes_in */
	T_S_NEW = 1 << 1, /* VIP and backend new_flows */
	T_S_OUT = 1 << 2, /* VIP and backend pkts_out/bytes_out */
	T_S_REJ = 1 << 3, /* VIP rejected */
	T_S_DNB = 1 << 4, /* VIP drops[NO_BACKEND] */
	T_S_DFIB = 1 << 5, /* VIP drops[FIB] */
};

struct xlb_case {
	const char *name;
	unsigned int hooks; /* one cmocka test per program named */
	enum t_svc svc;
	enum t_flow flow;
	__u8 tcp_flags; /* 0: SYN (client), SYN|ACK (reply) */
	unsigned int mods; /* enum t_mod */
	enum t_trunc trunc;
	bool prime; /* first send the flow's opening packet so conntrack knows it */
	int reason; /* XLB_CNT_<REASON> */
	enum t_out out;
	__u64 events; /* T_EV(...) | ...; VLAN is added for tagged frames */
	unsigned int stats; /* enum t_stat */
	/*
	 * A known data plane bug the suite cannot fix within its remit: the row must
	 * fail (it is reported as skipped with this text), and passing is an error
	 * that asks for the mark to go.
	 */
	const char *known_bug;
	/* Overrides for one hook, where it differs. */
	unsigned int alt_hooks;
	int alt_reason;
	enum t_out alt_out;
};

extern const struct xlb_case t_cases_nat[], t_cases_reject[], t_cases_icmp[], t_cases_parse[];
extern const size_t t_cases_nat_n, t_cases_reject_n, t_cases_icmp_n, t_cases_parse_n;

/* Runs one row under one hook (the cmocka test body behind every row). */
void t_case_run(const struct xlb_case *c, enum t_hook hook);

/* Multi-step scenarios (scenarios.c). */
void t_sticky_table_change(void **state);
void t_draining(void **state);
void t_slot_reuse(void **state);
void t_ct_insert_limit(void **state);
void t_weights(void **state);
void t_no_table(void **state);
void t_batch_first_tables(void **state);

#endif /* XLB_TEST_SUITE_H */
