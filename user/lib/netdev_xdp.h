/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Whether native XDP can transmit into an interface (XDP_REDIRECT's
 * ndo_xdp_xmit): from the kernel where it says (netdev_xdp.c), else guessed.
 */
#ifndef XLB_NETDEV_XDP_H
#define XLB_NETDEV_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct xlb_netdev_xdp {
	__u32 ifindex;
	bool xmit; /* NETDEV_XDP_ACT_NDO_XMIT */
};

/*
 * Every device of this network namespace with its answer, from the "netdev"
 * generic netlink family: 0 with *out (free it) and *n, or -errno (-ENOENT:
 * the kernel has no such family, before Linux 6.3).
 */
int xlb_netdev_xdp_dump(struct xlb_netdev_xdp **out, size_t *n);

/* The guess without the kernel's answer: a NIC (a device behind it), a veth or a tun. */
bool xlb_netdev_xdp_guess(const char *ifname);
/* Whether the interface is a veth (its driver, by ethtool). */
bool xlb_netdev_is_veth(const char *ifname);

#endif /* XLB_NETDEV_XDP_H */
