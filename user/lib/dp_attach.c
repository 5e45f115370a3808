// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attaching the data plane's programs (see dp.h): ingress on native XDP,
 * falling back to generic XDP and then to TC, TC egress, and detaching only
 * programs that are xlb's. The TC filter has a fixed handle and priority, so
 * a restarted daemon replaces its own filter instead of adding a second.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>
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
		if (err)
			m = XLB_ATTACH_XDP_GENERIC;
	}
	if (m == XLB_ATTACH_XDP_GENERIC) {
		err = bpf_xdp_attach(ifindex, xlb_dp_prog_fd(dp, XLB_PROG_XDP), XDP_FLAGS_SKB_MODE,
				     NULL);
		if (err)
			m = XLB_ATTACH_TC;
	}
	if (m == XLB_ATTACH_TC)
		err = tc_attach(ifindex, BPF_TC_INGRESS, xlb_dp_prog_fd(dp, XLB_PROG_TC_INGRESS));
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
