/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test packets: a builder that turns a declarative description (Ethernet, one
 * optional 802.1Q tag, IPv4 with options and fragment bits or IPv6 with
 * extension headers, then TCP, UDP, ICMP/ICMPv6 or raw bytes) into a frame with
 * every length and checksum computed, ICMP errors quoting a packet made by the
 * same builder; and an independent parser that reads a frame back into named
 * fields and says, per checksum, whether it verifies. Tests build the input and
 * the frame they expect, then compare field by field. Nothing here knows about
 * xlb's maps or programs, so benchmarks and fuzzers can use it as well.
 */
#ifndef XLB_TEST_PKT_H
#define XLB_TEST_PKT_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include <xlb/abi.h>

/* Big enough for any frame the tests make, plus answers that grow (ICMP errors). */
#define XLB_PKT_BUF 4096

/* IPv4 flags, in the host-order value of the 16-bit flags/fragment offset field. */
#define XLB_PKT_DF 0x4000
#define XLB_PKT_MF 0x2000
#define XLB_PKT_OFFSET_MASK 0x1fff

#define XLB_PKT_TCP_FIN 0x01
#define XLB_PKT_TCP_SYN 0x02
#define XLB_PKT_TCP_RST 0x04
#define XLB_PKT_TCP_PSH 0x08
#define XLB_PKT_TCP_ACK 0x10

/* IPv6 extension header types the builder and parser know. */
#define XLB_PKT_EXT_HOP 0
#define XLB_PKT_EXT_ROUTING 43
#define XLB_PKT_EXT_FRAGMENT 44
#define XLB_PKT_EXT_DEST 60

#define XLB_PKT_EXT_MAX 4

enum xlb_pkt_l4 {
	XLB_PKT_L4_NONE = 0, /* payload right after the IP header (ip_proto names it) */
	XLB_PKT_L4_TCP,
	XLB_PKT_L4_UDP,
	XLB_PKT_L4_ICMP, /* ICMP over IPv4, ICMPv6 over IPv6 */
};

/* One IPv6 extension header. */
struct xlb_pkt_ext {
	__u8 type; /* XLB_PKT_EXT_* */
	__u8 len8; /* options/routing: length in 8-byte units beyond the first 8 (PadN filled) */
	__u16 frag_offset; /* fragment: offset in 8-byte units */
	int more; /* fragment: M flag */
	__u32 frag_id; /* fragment: identification */
};

struct xlb_pkt_spec {
	/* Ethernet */
	__u8 dst_mac[6];
	__u8 src_mac[6];
	int vlan; /* 1: one 802.1Q tag */
	__u16 vlan_tci;
	__u16 vlan_tpid; /* 0: 0x8100 */
	/*
	 * 0: IP, from family. Otherwise this ethertype goes into the (inner) type
	 * field and payload follows the L2 header directly (ARP, a second tag...).
	 */
	__u16 ethertype;

	/* IP */
	int family; /* AF_INET or AF_INET6 */
	union xlb_addr saddr; /* be */
	union xlb_addr daddr; /* be */
	__u8 ttl; /* TTL / hop limit, as given (xlb_pkt_init sets 64) */
	__u8 tos; /* TOS / traffic class */
	__u16 ip_id; /* IPv4 identification */
	__u16 frag; /* IPv4 flags + offset, host order: XLB_PKT_DF | XLB_PKT_MF | offset */
	__u32 flow_label; /* IPv6 */
	const __u8 *ip_opts; /* IPv4 options; padded with EOL to a multiple of 4 */
	size_t ip_opts_len;
	struct xlb_pkt_ext ext[XLB_PKT_EXT_MAX]; /* IPv6 extension headers, in order */
	int n_ext;
	__u8 ip_proto; /* 0: from l4; otherwise written as the (last) next header */
	int ip_version; /* 0: from family; anything else is written instead (malformed tests) */
	int ihl; /* 0: computed; anything else is written instead (malformed tests) */

	/* L4 */
	enum xlb_pkt_l4 l4;
	__u16 sport; /* TCP/UDP ports, host order */
	__u16 dport;
	__u8 tcp_flags;
	__u32 seq;
	__u32 ack;
	__u16 window;
	const __u8 *tcp_opts; /* padded with NOP-free zeros (EOL) to a multiple of 4 */
	size_t tcp_opts_len;
	int tcp_doff; /* 0: computed; anything else is written instead (malformed tests) */
	int udp_no_csum; /* 1: UDP checksum field 0 ("none", IPv4 only by the RFCs) */
	__u8 icmp_type;
	__u8 icmp_code;
	__u32 icmp_data; /* second word: id/sequence, next-hop MTU, unused */
	/*
	 * ICMP error: the packet quoted after the ICMP header, built by this builder
	 * from its IP header on; quote_len bytes of it (0: all of it).
	 */
	const struct xlb_pkt_spec *quote;
	size_t quote_len;
	int l4_csum_set; /* 1: write l4_csum instead of computing the L4 checksum */
	__u16 l4_csum; /* be */
	const void *payload;
	size_t payload_len;

	/* Damage, applied last */
	size_t truncate; /* 0, or cut the frame to this many bytes */
	int truncate_fix_len; /* 1: IP length fields (and IPv4 checksum) describe the cut frame */
};

/* Where the builder put things, in bytes from the frame start. */
struct xlb_pkt_layout {
	size_t len;
	size_t l3_off;
	size_t l4_off; /* 0 for non-IP frames */
	size_t payload_off;
};

/* Defaults: the given family, TTL 64, window 65535; addresses and ports still 0. */
void xlb_pkt_init(struct xlb_pkt_spec *s, int family);

/* Builds the frame into buf; returns its length or -errno (-ENOSPC, -EINVAL). */
int xlb_pkt_build(const struct xlb_pkt_spec *s, void *buf, size_t cap, struct xlb_pkt_layout *lay);

/* Checksum verdicts of the parser. */
enum xlb_pkt_csum {
	XLB_PKT_CSUM_NA = 0, /* no such checksum (non-IP, IPv6 header, ...) */
	XLB_PKT_CSUM_OK,
	XLB_PKT_CSUM_BAD,
	XLB_PKT_CSUM_NONE, /* UDP checksum 0: none sent */
	XLB_PKT_CSUM_PARTIAL, /* not all bytes it covers are present (quotes, fragments) */
};

/* One IP packet as parsed: the frame's own, or the one quoted in an ICMP error. */
struct xlb_pkt_ip {
	int family; /* AF_INET, AF_INET6, 0: none */
	size_t l3_off; /* from the frame start */
	size_t l4_off; /* 0 when the L4 header is absent (fragment, cut quote) */
	size_t payload_off;
	size_t hdr_len; /* IPv4 ihl x 4; IPv6 40 + extension headers */
	size_t ip_len; /* total length per the header (IPv4 tot_len, IPv6 40 + payload_len) */
	size_t avail; /* bytes of this packet present in the frame */
	union xlb_addr saddr; /* be */
	union xlb_addr daddr; /* be */
	__u8 version;
	__u8 ttl;
	__u8 tos;
	__u8 proto; /* upper-layer protocol after extension headers */
	__u16 ip_id;
	__u16 frag; /* IPv4 flags + offset, host order */
	__u32 flow_label;
	int n_ext;
	int is_frag; /* MF or a non-zero offset, or an IPv6 fragment header */
	__u16 ip_check; /* be, as found */
	enum xlb_pkt_csum ip_csum;

	int has_l4; /* ports etc. below are valid */
	__u16 sport; /* host order */
	__u16 dport;
	__u8 tcp_flags;
	__u32 seq;
	__u32 ack;
	__u16 window;
	__u8 doff; /* TCP header length in bytes */
	__u16 udp_len;
	__u8 icmp_type;
	__u8 icmp_code;
	__u32 icmp_data;
	__u16 l4_check; /* be, as found */
	size_t l4_check_off; /* from the frame start; 0 when absent */
	enum xlb_pkt_csum l4_csum;
	size_t payload_len;
};

struct xlb_pkt_info {
	size_t len;
	__u8 dst_mac[6];
	__u8 src_mac[6];
	int vlan;
	__u16 vlan_tci;
	__u16 ethertype; /* after the tag, if any */
	struct xlb_pkt_ip ip;
	int has_quote; /* ICMP error whose quoted IP header parsed */
	struct xlb_pkt_ip quote;
	char err[160]; /* why xlb_pkt_parse failed */
};

/*
 * Parses a frame. Returns 0, or -EINVAL with info->err set when the frame is
 * malformed (truncated header, lengths past the end). Checksums are verdicts
 * in the result, never errors, so a test can name the one that is wrong.
 */
int xlb_pkt_parse(const void *buf, size_t len, struct xlb_pkt_info *info);

/* Internet checksum helpers (RFC 1071): a running 32-bit sum and its folded complement. */
__u32 xlb_pkt_csum_add(__u32 sum, const void *data, size_t len);
__u16 xlb_pkt_csum_fold(__u32 sum);

/* "198.18.0.10" or "2001:db8::10" into *addr; returns AF_INET, AF_INET6, or -EINVAL. */
int xlb_pkt_addr(const char *s, union xlb_addr *addr);
/* Address to text; returns buf. */
char *xlb_pkt_addr_str(int family, const union xlb_addr *addr, char *buf, size_t len);
/* MAC to text; returns buf (18 bytes at least). */
char *xlb_pkt_mac_str(const __u8 *mac, char *buf, size_t len);
/* Canonical hex dump, 16 bytes a line, with a prefix per line. */
void xlb_pkt_hexdump(FILE *f, const char *prefix, const void *buf, size_t len);

#endif /* XLB_TEST_PKT_H */
