// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attaching the data plane's programs (see dp.h): ingress on native XDP,
 * falling back to TC (generic XDP, asked for, to TC; with XDP, the TC handoff
 * beside it), TC egress, and detaching only
 * programs that are xlb's. The TC filter has a fixed handle and priority, so
 * a restarted daemon replaces its own filter instead of adding a second.
 * The cgroup socket programs are attached by bpf links pinned next to the
 * maps, so they outlive the daemon; a restarted one swaps its new programs
 * into the same links.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "log.h"

/* Fixed TC handle and priority, so a restarted daemon replaces its own filter. */
#define XLB_TC_HANDLE 0x786c
#define XLB_TC_PRIO 0x786c

static int tc_attach(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = XLB_TC_HANDLE, .priority = XLB_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &tc);
}

static const char *mode_name(enum xlb_attach_mode m)
{
	switch (m) {
	case XLB_ATTACH_XDP_NATIVE:
		return "native XDP";
	case XLB_ATTACH_XDP_GENERIC:
		return "generic XDP";
	case XLB_ATTACH_TC:
		return "TC ingress";
	}
	return "?";
}

int xlb_dp_attach(struct xlb_dp *dp, int ifindex, enum xlb_attach_mode want,
		  enum xlb_attach_mode *used)
{
	char ifname[IF_NAMESIZE] = "?";
	enum xlb_attach_mode m = want;
	int err = -EINVAL;

	if_indextoname(ifindex, ifname);
	if (m == XLB_ATTACH_XDP_NATIVE) {
		err = bpf_xdp_attach(ifindex, xlb_dp_prog_fd(dp, XLB_PROG_XDP), XDP_FLAGS_DRV_MODE,
				     NULL);
		/*
		 * Without native XDP (a bridge, a VXLAN device), TC: generic XDP sees
		 * what GRO built as one large linear packet, which it cannot send on
		 * to a device of a smaller MTU, where TC keeps the skb's segmentation.
		 */
		if (err)
			m = XLB_ATTACH_TC;
	}
	if (m == XLB_ATTACH_XDP_GENERIC) {
		err = bpf_xdp_attach(ifindex, xlb_dp_prog_fd(dp, XLB_PROG_XDP), XDP_FLAGS_SKB_MODE,
				     NULL);
		if (err)
			m = XLB_ATTACH_TC;
	}
	if (m == XLB_ATTACH_TC) {
		err = tc_attach(ifindex, BPF_TC_INGRESS, xlb_dp_prog_fd(dp, XLB_PROG_TC_INGRESS));
	} else if (!err) {
		err = tc_attach(ifindex, BPF_TC_INGRESS, xlb_dp_prog_fd(dp, XLB_PROG_TC_HANDOFF));
		if (err) {
			pr_err("%s: attach the TC handoff beside %s: %s", ifname, mode_name(m),
			       strerror(-err));
			bpf_xdp_detach(ifindex,
				       m == XLB_ATTACH_XDP_NATIVE ? XDP_FLAGS_DRV_MODE
								  : XDP_FLAGS_SKB_MODE,
				       NULL);
			return err;
		}
	}
	if (err) {
		pr_err("%s: attach ingress: %s", ifname, strerror(-err));
		return err;
	}
	if (m != want)
		pr_warn("%s: %s not available, attached with %s", ifname, mode_name(want),
			mode_name(m));
	else
		pr_info("%s: attached with %s", ifname, mode_name(m));
	if (used)
		*used = m;
	return 0;
}

int xlb_dp_attach_egress(struct xlb_dp *dp, int ifindex)
{
	char ifname[IF_NAMESIZE] = "?";
	int err = tc_attach(ifindex, BPF_TC_EGRESS, xlb_dp_prog_fd(dp, XLB_PROG_TC_EGRESS));

	if_indextoname(ifindex, ifname);
	if (err)
		pr_err("%s: attach TC egress: %s", ifname, strerror(-err));
	else
		pr_info("%s: attached TC egress", ifname);
	return err;
}

static int prog_is_xlb(__u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id), ours;

	if (fd < 0)
		return 0;
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "xlb_", 4);
	close(fd);
	return ours;
}

int xlb_dp_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = 0, e;

	if (!bpf_xdp_query(ifindex, 0, &q)) {
		if (q.drv_prog_id && prog_is_xlb(q.drv_prog_id))
			err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		if (q.skb_prog_id && prog_is_xlb(q.skb_prog_id)) {
			e = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
			err = err ?: e;
		}
	}
	for (int point = 0; point < 2; point++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, tc, .handle = XLB_TC_HANDLE, .priority = XLB_TC_PRIO);

		e = bpf_tc_detach(&hook, &tc);
		if (e && e != -ENOENT && e != -EINVAL)
			err = err ?: e;
	}
	return err;
}

/* The socket programs, their hooks and the names of their pinned links. */
static const struct {
	enum xlb_dp_prog prog;
	enum bpf_attach_type type;
	const char *pin;
} xlb_sock_progs[] = {
    {XLB_PROG_CONNECT4, BPF_CGROUP_INET4_CONNECT, "link_xlb_connect4"},
    {XLB_PROG_CONNECT6, BPF_CGROUP_INET6_CONNECT, "link_xlb_connect6"},
    {XLB_PROG_SENDMSG4, BPF_CGROUP_UDP4_SENDMSG, "link_xlb_sendmsg4"},
    {XLB_PROG_SENDMSG6, BPF_CGROUP_UDP6_SENDMSG, "link_xlb_sendmsg6"},
    {XLB_PROG_RECVMSG4, BPF_CGROUP_UDP4_RECVMSG, "link_xlb_recvmsg4"},
    {XLB_PROG_RECVMSG6, BPF_CGROUP_UDP6_RECVMSG, "link_xlb_recvmsg6"},
    {XLB_PROG_PEERNAME4, BPF_CGROUP_INET4_GETPEERNAME, "link_xlb_peername4"},
    {XLB_PROG_PEERNAME6, BPF_CGROUP_INET6_GETPEERNAME, "link_xlb_peername6"},
};
#define XLB_SOCK_PROGS (sizeof(xlb_sock_progs) / sizeof(xlb_sock_progs[0]))

/* A pinned cgroup link: its id, cgroup and hook; -EPROTO when the pin is something else. */
static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, len);
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	return info->type == BPF_LINK_TYPE_CGROUP ? 0 : -EPROTO;
}

/* One socket program onto cgroup cgfd (cgroup id cgid), adopting a pinned link. */
static int sock_attach_one(struct xlb_dp *dp, unsigned int i, int cgfd, __u64 cgid,
			   const char *cgpath, int *adopted)
{
	int prog_fd = xlb_dp_prog_fd(dp, xlb_sock_progs[i].prog), old, fd, err;
	struct bpf_link_info info;
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", xlb_dp_pin_path(dp), xlb_sock_progs[i].pin) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	old = bpf_obj_get(path);
	if (old >= 0 && !link_info(old, &info) && info.cgroup.cgroup_id == cgid && info.prog_id &&
	    info.id) {
		/* Ours, on this cgroup: the new program goes into the same link, no gap. */
		err = bpf_link_update(old, prog_fd, NULL) ? -errno : 0;
		close(old);
		if (err)
			pr_err("%s: replace the program of link %u: %s", path, info.id,
			       strerror(-err));
		else
			(*adopted)++;
		return err;
	}
	fd = bpf_link_create(prog_fd, cgfd, xlb_sock_progs[i].type, NULL);
	if (fd < 0) {
		err = -errno;
		pr_err("%s: attach %s to cgroup %s: %s", xlb_sock_progs[i].pin,
		       xlb_sock_progs[i].pin + 5, cgpath, strerror(-err));
		if (old >= 0)
			close(old);
		return err;
	}
	/* The old link (another cgroup, or no link at all) goes only once the new one is in. */
	if (old >= 0) {
		unlink(path);
		if (!link_info(old, &info))
			bpf_link_detach(old);
		close(old);
	}
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	if (err) {
		pr_err("%s: pin: %s", path, strerror(-err));
		bpf_link_detach(fd);
	}
	close(fd);
	return err;
}

int xlb_dp_sock_attach(struct xlb_dp *dp, const char *cgroup_path)
{
	int cgfd, err = 0, adopted = 0;
	struct stat st;
	unsigned int i;

	cgfd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0 || fstat(cgfd, &st)) {
		err = -errno;
		pr_err("cgroup %s: %s", cgroup_path, strerror(-err));
		goto cleanup;
	}
	/* A cgroup v2 directory's inode number is its cgroup id (what link info reports). */
	for (i = 0; i < XLB_SOCK_PROGS && !err; i++)
		err = sock_attach_one(dp, i, cgfd, st.st_ino, cgroup_path, &adopted);
	if (err) {
		/* Half a set would translate connect() but not getpeername(): none at all. */
		xlb_dp_sock_detach(xlb_dp_pin_path(dp));
		goto cleanup;
	}
	if (adopted == (int)XLB_SOCK_PROGS)
		pr_info("socket balancing: adopted the pinned links on cgroup %s, new programs in "
			"place",
			cgroup_path);
	else
		pr_info("socket balancing: attached to cgroup %s (links pinned under %s)",
			cgroup_path, xlb_dp_pin_path(dp));
cleanup:
	if (cgfd >= 0)
		close(cgfd);
	return err;
}

int xlb_dp_sock_detach(const char *pin_path)
{
	struct bpf_link_info info;
	char path[PATH_MAX];
	unsigned int i;
	int fd, err = 0, n = 0;

	if (!pin_path)
		pin_path = XLB_PIN_PATH_DEFAULT;
	for (i = 0; i < XLB_SOCK_PROGS; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, xlb_sock_progs[i].pin);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT && !err)
				err = -errno;
			continue;
		}
		/* Detached, not only unpinned: a process holding it must not keep it alive. */
		if (!link_info(fd, &info) && bpf_link_detach(fd) && !err)
			err = -errno;
		close(fd);
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
		n++;
	}
	if (n && !err)
		pr_info("socket balancing: %d links under %s detached", n, pin_path);
	return err;
}

int xlb_dp_cgroup2_root(char *buf, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64];
	int err = -ENOENT;
	size_t i, j;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		/* Spaces and the like come as octal escapes ("\040"). */
		for (i = j = 0; dir[i] && j + 1 < len; j++) {
			if (dir[i] == '\\' && dir[i + 1] >= '0' && dir[i + 1] <= '3' &&
			    dir[i + 2] && dir[i + 3]) {
				buf[j] = (char)((dir[i + 1] - '0') * 64 + (dir[i + 2] - '0') * 8 +
						(dir[i + 3] - '0'));
				i += 4;
			} else {
				buf[j] = dir[i++];
			}
		}
		buf[j] = '\0';
		err = dir[i] ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return err;
}
