// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which interfaces native XDP can transmit into, asked from the kernel's
 * "netdev" generic netlink family (Linux 6.3+: each device's xdp-features,
 * NETDEV_XDP_ACT_NDO_XMIT), with plain netlink because Debian's libbpf 1.1
 * predates bpf_xdp_query()'s feature_flags. Where the family is missing the
 * answer is a guess, said so in the return value: NICs (a device behind the
 * interface) and veths can, the software devices (bridge, VXLAN, VLAN...)
 * cannot. The data plane hands packets for the latter to TC (xlb_handoff).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sockios.h>

#include "netdev_xdp.h"

/* linux/netdev.h (6.3), absent from Debian 12's headers. */
#define NETDEV_FAMILY "netdev"
#define NETDEV_CMD_DEV_GET 1
#define NETDEV_A_DEV_IFINDEX 1
#define NETDEV_A_DEV_XDP_FEATURES 3
#define NETDEV_XDP_ACT_NDO_XMIT 4

struct nl_req {
	struct nlmsghdr nh;
	struct genlmsghdr g;
	char attrs[64];
};

static int nl_send(int fd, __u16 type, __u16 flags, __u8 cmd, const char *name)
{
	struct nl_req req;
	struct nlattr *a;
	size_t len = NLMSG_LENGTH(GENL_HDRLEN);

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | flags;
	req.nh.nlmsg_seq = 1;
	req.g.cmd = cmd;
	req.g.version = 1;
	if (name) {
		a = (struct nlattr *)((char *)&req + NLMSG_ALIGN(len));
		a->nla_type = CTRL_ATTR_FAMILY_NAME;
		a->nla_len = NLA_HDRLEN + strlen(name) + 1;
		memcpy((char *)a + NLA_HDRLEN, name, strlen(name) + 1);
		len = NLMSG_ALIGN(len) + NLA_ALIGN(a->nla_len);
	}
	req.nh.nlmsg_len = len;
	return send(fd, &req, len, 0) == (ssize_t)len ? 0 : -errno;
}

/* Calls fn for each attribute of each message in buf; a netlink error ends it as -errno. */
static int nl_walk(const char *buf, ssize_t n, bool *done,
		   void (*fn)(void *ctx, const struct nlattr *a), void *ctx)
{
	const struct nlmsghdr *nh;

	for (nh = (const void *)buf; NLMSG_OK(nh, (__u32)n); nh = NLMSG_NEXT(nh, n)) {
		const struct nlattr *a;
		int left;

		if (nh->nlmsg_type == NLMSG_DONE) {
			*done = true;
			return 0;
		}
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			*done = true;
			return e->error;
		}
		a = (const void *)((const char *)NLMSG_DATA(nh) + GENL_HDRLEN);
		left = (int)nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
		fn(ctx, NULL);
		for (; left >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left;
		     left -= NLA_ALIGN(a->nla_len),
		     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))
			fn(ctx, a);
		if (!(nh->nlmsg_flags & NLM_F_MULTI))
			*done = true;
	}
	return 0;
}

static void family_id(void *ctx, const struct nlattr *a)
{
	if (a && a->nla_type == CTRL_ATTR_FAMILY_ID && a->nla_len >= NLA_HDRLEN + 2)
		memcpy(ctx, (const char *)a + NLA_HDRLEN, 2);
}

struct dev_dump {
	struct xlb_netdev_xdp *devs;
	size_t n, cap;
	int err;
};

static void dev_attr(void *ctx, const struct nlattr *a)
{
	struct dev_dump *d = ctx;
	struct xlb_netdev_xdp *e;

	if (!a) { /* a new device */
		if (d->n == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 32;
			void *m = realloc(d->devs, cap * sizeof(*d->devs));

			if (!m) {
				d->err = -ENOMEM;
				return;
			}
			d->devs = m;
			d->cap = cap;
		}
		memset(&d->devs[d->n++], 0, sizeof(*d->devs));
		return;
	}
	if (!d->n)
		return;
	e = &d->devs[d->n - 1];
	if (a->nla_type == NETDEV_A_DEV_IFINDEX && a->nla_len >= NLA_HDRLEN + 4)
		memcpy(&e->ifindex, (const char *)a + NLA_HDRLEN, 4);
	else if (a->nla_type == NETDEV_A_DEV_XDP_FEATURES && a->nla_len >= NLA_HDRLEN + 8) {
		__u64 f;

		memcpy(&f, (const char *)a + NLA_HDRLEN, 8);
		e->xmit = !!(f & NETDEV_XDP_ACT_NDO_XMIT);
	}
}

static int nl_recv_all(int fd, void (*fn)(void *, const struct nlattr *), void *ctx)
{
	static char buf[32768];
	bool done = false;
	int err = 0;

	while (!done && !err) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		err = nl_walk(buf, n, &done, fn, ctx);
	}
	return err;
}

int xlb_netdev_xdp_dump(struct xlb_netdev_xdp **out, size_t *n)
{
	struct timeval tv = {.tv_sec = 2};
	struct dev_dump d = {0};
	__u16 id = 0;
	int fd, err;

	*out = NULL;
	*n = 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	err = nl_send(fd, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, NETDEV_FAMILY);
	if (!err)
		err = nl_recv_all(fd, family_id, &id);
	if (!err && !id)
		err = -ENOENT;
	if (!err)
		err = nl_send(fd, id, NLM_F_DUMP, NETDEV_CMD_DEV_GET, NULL);
	if (!err)
		err = nl_recv_all(fd, dev_attr, &d);
	close(fd);
	err = err ?: d.err;
	if (err) {
		free(d.devs);
		return err;
	}
	*out = d.devs;
	*n = d.n;
	return 0;
}

/* The driver's name (ethtool), or "" where there is none to ask. */
static void driver_of(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	int fd;

	buf[0] = '\0';
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		snprintf(buf, len, "%s", di.driver);
	close(fd);
}

bool xlb_netdev_is_veth(const char *ifname)
{
	char drv[32];

	driver_of(ifname, drv, sizeof(drv));
	return !strcmp(drv, "veth");
}

bool xlb_netdev_xdp_guess(const char *ifname)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	char path[64 + IF_NAMESIZE];
	struct ifreq ifr;
	bool ok = false;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device", ifname);
	if (!access(path, F_OK))
		return true;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		ok = !strcmp(di.driver, "veth") || !strcmp(di.driver, "tun");
	close(fd);
	return ok;
}
