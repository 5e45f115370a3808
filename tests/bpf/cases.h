/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet cases, written once: the rows of the BPF suite's case tables
 * (cases_*.c: what a packet is, what the program under each hook must make of
 * it) and the frame a row describes, built with the tests' packet library for
 * whatever topology the caller names (struct t_case_env). The suite runs every
 * row against its fixture and checks the outcome; the data plane benchmark and
 * lbstat-testgen look rows up by name and send the same frames in their own
 * namespaces, so what they measure or count is a packet the suite has checked.
 * Nothing here touches a map, a program or cmocka: this file and cases*.c link
 * into any binary with tests/lib/pkt.c.
 */
#ifndef XLB_TEST_CASES_H
#define XLB_TEST_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <xlb/abi.h>

#include "pkt.h"

/* Programs under test, as a bit each so a row can name several. */
enum t_hook {
	T_XDP = 1 << 0,
	T_TCI = 1 << 1, /* TC ingress */
	T_TCE = 1 << 2, /* TC egress */
};
#define T_XDP_TC (T_XDP | T_TCI)
#define T_ALL (T_XDP | T_TCI | T_TCE)

/*
 * The services the suite's fixture creates once; rows refer to them by these
 * names. Other users of a row give it a service of their own (struct t_case_env).
 */
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

/* An event counter as a bit of xlb_case.events. */
#define T_EV(cnt) (1ULL << ((cnt) - XLB_CNT_FIRST_EVENT))
/* The events of the usual paths. */
#define T_E_NEW (T_EV(XLB_CNT_CT_NEW) | T_EV(XLB_CNT_NAT_ORIG))
#define T_E_HIT (T_EV(XLB_CNT_CT_HIT) | T_EV(XLB_CNT_NAT_ORIG))
#define T_E_REPLY T_EV(XLB_CNT_NAT_REPLY)

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
	T_M_NOOPT = 1 << 22, /* a SYN without TCP options: the bare 20-byte header */
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

/* The row of that name in any of the tables, or NULL. */
const struct xlb_case *t_case_find(const char *name);

/*
 * The topology around one row's service, as the frame builder needs it: the
 * suite fills it from its fixture, a benchmark or a test double from its own
 * namespace. Addresses are of the service's family.
 */
struct t_case_env {
	struct xlb_vip_key vip; /* the row's service */
	union xlb_addr be_addr; /* be: its backend, the sender of reply rows */
	__u16 be_port; /* host order */
	__u8 be_mac[6];
	union xlb_addr client; /* be */
	union xlb_addr other; /* be: routed, not a VIP, not a backend */
	union xlb_addr router_c; /* be: a router on the client side */
	union xlb_addr router_b; /* be: a router on the backend side */
	__u8 client_mac[6];
	__u8 router_mac[6]; /* the routers' MAC (one is enough) */
	__u8 lb_mac_c[6]; /* the load balancer's MAC on the client side */
	__u8 lb_mac_b[6]; /* and on the backend side */
	int if_c; /* the interfaces a frame from that side arrives on */
	int if_b;
};

/* A frame built from a row: the spec (and quoted packet) it came from, and its bytes. */
struct t_frame {
	struct xlb_pkt_spec spec;
	struct xlb_pkt_spec quote;
	__u8 payload[1400];
	__u8 l2_payload[32]; /* ARP and neighbour solicitation bodies */
	__u8 buf[XLB_PKT_BUF];
	struct xlb_pkt_layout lay;
	size_t len;
	int ifindex; /* e->if_c or e->if_b: where the frame arrives */
};

/*
 * The input frame of row c for client port cport (host order), into f (which
 * the caller zeroes). Returns 0 or -errno from the builder (a bug in the row).
 */
int t_case_frame(const struct xlb_case *c, const struct t_case_env *e, __u16 cport,
		 struct t_frame *f);
/* The opening packet of the row's flow (a SYN, or a first datagram): what .prime sends. */
int t_case_opening(const struct t_case_env *e, __u16 cport, struct t_frame *f);

#endif /* XLB_TEST_CASES_H */
