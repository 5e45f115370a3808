/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level load balancing: cgroup v2 sock_addr programs that translate a
 * local socket's VIP into a backend before any packet exists, so a task or
 * host process talks to its backend directly whatever its network namespace
 * (the hooks run for every socket of the cgroup). connect4/6 (TCP, and
 * connected UDP) and sendmsg4/6 (unconnected UDP) pick the backend from the
 * same VIP entry and Maglev table as the packet path (xlb_select); the
 * socket's cookie stands for the source address and port, which are not known
 * yet at connect(), so one socket keeps one backend per VIP. Each translation
 * is recorded in xlb_sock_revnat, from which recvmsg4/6 and getpeername4/6
 * show the VIP again. A VIP with no backend fails connect() and sendmsg() at
 * once with ECONNREFUSED. A dual-stack IPv6 socket talking to an IPv4 VIP
 * (::ffff:a.b.c.d) is balanced like an IPv4 one. Socket calls to anything but a VIP are left alone
 * and not counted: every connect() of the host passes here.
 */
#ifndef XLB_SOCK_H
#define XLB_SOCK_H

#include "xlb_common.h"
#include "xlb_maps.h"
#include "xlb_lb.h"

#define ECONNREFUSED_ 111

/*
 * What the sock_addr context names (the destination, or a peer), as a VIP key.
 * Returns -1 for sockets other than TCP/UDP, 1 for an IPv4-mapped address on
 * an IPv6 socket (::ffff:a.b.c.d, a dual-stack socket talking IPv4: the key
 * is then the IPv4 one), else 0.
 */
static __always_inline int xlb_sock_addr(const struct bpf_sock_addr *ctx, const __u8 family,
					 struct xlb_vip_key *k)
{
	__u32 proto = ctx->protocol;

	if (proto != XLB_PROTO_TCP && proto != XLB_PROTO_UDP)
		return -1;
	k->proto = proto;
	k->family = family;
	k->port = (__be16)ctx->user_port;
	if (family == XLB_AF_INET) {
		k->addr.v4 = ctx->user_ip4;
		return 0;
	}
	k->addr.v6[0] = ctx->user_ip6[0];
	k->addr.v6[1] = ctx->user_ip6[1];
	k->addr.v6[2] = ctx->user_ip6[2];
	k->addr.v6[3] = ctx->user_ip6[3];
	if (k->addr.v6[0] || k->addr.v6[1] || k->addr.v6[2] != bpf_htonl(0xffff))
		return 0;
	k->family = XLB_AF_INET;
	k->addr.v4 = k->addr.v6[3];
	k->addr.v6[1] = k->addr.v6[2] = k->addr.v6[3] = 0;
	return 1;
}

/* Writes an address of the key's family back; mapped: as ::ffff:a.b.c.d. */
static __always_inline void xlb_sock_set_addr(struct bpf_sock_addr *ctx, const __u8 family,
					      int mapped, const union xlb_addr *a, __be16 port)
{
	if (mapped) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = a->v4;
	} else if (family == XLB_AF_INET) {
		ctx->user_ip4 = a->v4;
	} else {
		ctx->user_ip6[0] = a->v6[0];
		ctx->user_ip6[1] = a->v6[1];
		ctx->user_ip6[2] = a->v6[2];
		ctx->user_ip6[3] = a->v6[3];
	}
	ctx->user_port = port;
}

/*
 * connect() or sendmsg() to a VIP: the backend goes into the socket's
 * destination. Returns the program's verdict: 1 go on, 0 refused (errno set).
 */
static __always_inline int xlb_sock_xlate(struct bpf_sock_addr *ctx, const __u8 family,
					  const int sendmsg)
{
	struct xlb_sock_revnat rv = {}, *old;
	struct xlb_backend_stats *bs;
	struct xlb_backend *be = NULL;
	struct xlb_vip_stats *vs;
	struct xlb_sock_key sk = {};
	struct xlb_flow_key fk = {};
	struct xlb_stats *st;
	struct xlb_vip *vip;
	__u32 zero = 0, vip_id, bid = 0;
	__u64 cookie;
	int r, fresh = 1, mapped;

	mapped = xlb_sock_addr(ctx, family, (struct xlb_vip_key *)&fk);
	if (mapped < 0)
		return 1;
	if (!xlb_filter_hit(XLB_FILTER_VIP, &fk.daddr, fk.family))
		return 1;
	vip = bpf_map_lookup_elem(&xlb_vips, &fk);
	if (!vip)
		return 1;
	st = bpf_map_lookup_elem(&xlb_stats, &zero);
	vip_id = vip->vip_id;
	vs = bpf_map_lookup_elem(&xlb_vip_stats, &vip_id);
	/*
	 * The packet path hashes the client's address and port; here they are not
	 * chosen yet, so the socket's cookie (unique while the host runs) stands
	 * in for them: each new socket is a new draw, one socket stays put.
	 */
	cookie = bpf_get_socket_cookie(ctx);
	fk.saddr.v6[0] = (__u32)cookie;
	fk.saddr.v6[1] = (__u32)(cookie >> 32);
	fk.sport = (__be16)(cookie >> 16);
	r = xlb_select(vip, &fk, &bid, &be);
	if (r) {
		if (r == XLB_CNT_DROP_NO_BACKEND) {
			if (st)
				st->c[XLB_CNT_SOCK_NO_BACKEND]++;
			if (vs)
				vs->rejected++;
		} else {
			if (st)
				st->c[XLB_CNT_SOCK_NO_TABLE]++;
			if (vs)
				vs->drops[XLB_VIP_DROP_NO_TABLE]++;
		}
		/* Without it the caller would see EPERM, which reads like a policy. */
		bpf_set_retval(-ECONNREFUSED_);
		return 0;
	}

	sk.cookie = cookie;
	xlb_addr_copy(&sk.addr, &be->addr);
	sk.port = be->port;
	sk.proto = fk.proto;
	sk.family = fk.family;
	xlb_addr_copy(&rv.addr, &fk.daddr);
	rv.port = fk.dport;
	rv.vip_id = vip_id;
	rv.backend_id = bid;
	if (sendmsg) {
		/* Each datagram passes here: only the first to this backend is a new flow. */
		old = bpf_map_lookup_elem(&xlb_sock_revnat, &sk);
		fresh = !old || old->vip_id != vip_id || old->port != rv.port ||
			!xlb_addr_eq(&old->addr, &rv.addr);
	}
	if (fresh && bpf_map_update_elem(&xlb_sock_revnat, &sk, &rv, BPF_ANY) && st)
		st->c[XLB_CNT_SOCK_REVNAT_FAILED]++;
	xlb_sock_set_addr(ctx, family, mapped, &be->addr, be->port);
	if (st)
		st->c[sendmsg ? XLB_CNT_SOCK_SENDMSG : XLB_CNT_SOCK_CONNECT]++;
	if (fresh) {
		if (vs)
			vs->new_flows++;
		bs = bpf_map_lookup_elem(&xlb_backend_stats, &bid);
		if (bs)
			bs->new_flows++;
	}
	return 1;
}

/* getpeername() or a received datagram of a translated socket: the VIP again. */
static __always_inline int xlb_sock_restore(struct bpf_sock_addr *ctx, const __u8 family,
					    const int counter)
{
	struct xlb_sock_revnat *rv;
	struct xlb_sock_key sk = {};
	struct xlb_vip_key peer = {};
	struct xlb_stats *st;
	__u32 zero = 0;
	int mapped;

	mapped = xlb_sock_addr(ctx, family, &peer);
	if (mapped < 0)
		return 1;
	/* Every datagram of the host comes here: the bitmap keeps the rest off the LRU. */
	if (!xlb_filter_hit(XLB_FILTER_BACKEND, &peer.addr, peer.family))
		return 1;
	sk.cookie = bpf_get_socket_cookie(ctx);
	xlb_addr_copy(&sk.addr, &peer.addr);
	sk.port = peer.port;
	sk.proto = peer.proto;
	sk.family = peer.family;
	rv = bpf_map_lookup_elem(&xlb_sock_revnat, &sk);
	if (!rv)
		return 1;
	xlb_sock_set_addr(ctx, family, mapped, &rv->addr, rv->port);
	st = bpf_map_lookup_elem(&xlb_stats, &zero);
	if (st)
		st->c[counter]++;
	return 1;
}

SEC("cgroup/connect4")
int xlb_connect4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_xlate(ctx, XLB_AF_INET, 0);
}

SEC("cgroup/connect6")
int xlb_connect6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_xlate(ctx, XLB_AF_INET6, 0);
}

SEC("cgroup/sendmsg4")
int xlb_sendmsg4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_xlate(ctx, XLB_AF_INET, 1);
}

SEC("cgroup/sendmsg6")
int xlb_sendmsg6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_xlate(ctx, XLB_AF_INET6, 1);
}

SEC("cgroup/recvmsg4")
int xlb_recvmsg4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_restore(ctx, XLB_AF_INET, XLB_CNT_SOCK_RECVMSG);
}

SEC("cgroup/recvmsg6")
int xlb_recvmsg6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_restore(ctx, XLB_AF_INET6, XLB_CNT_SOCK_RECVMSG);
}

SEC("cgroup/getpeername4")
int xlb_peername4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_restore(ctx, XLB_AF_INET, XLB_CNT_SOCK_PEERNAME);
}

SEC("cgroup/getpeername6")
int xlb_peername6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_restore(ctx, XLB_AF_INET6, XLB_CNT_SOCK_PEERNAME);
}

#endif /* XLB_SOCK_H */
