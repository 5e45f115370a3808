// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Tables behind names.h, expanded from the ABI's X-macros. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "names.h"

static const char *const counter_names[XLB_CNT_MAX] = {
#define XLB_X_VERDICT(v) [XLB_CNT_V_##v] = "verdict_" #v,
	XLB_VERDICTS(XLB_X_VERDICT)
#undef XLB_X_VERDICT
#define XLB_X_REASON(r, v, h) [XLB_CNT_##r] = #r,
	XLB_REASONS(XLB_X_REASON)
#undef XLB_X_REASON
#define XLB_X_EVENT(e, h) [XLB_CNT_##e] = #e,
	XLB_EVENTS(XLB_X_EVENT)
#undef XLB_X_EVENT
};

static const char *const counter_help[XLB_CNT_MAX] = {
#define XLB_X_VERDICT(v) [XLB_CNT_V_##v] = "packets that ended in " #v,
	XLB_VERDICTS(XLB_X_VERDICT)
#undef XLB_X_VERDICT
#define XLB_X_REASON(r, v, h) [XLB_CNT_##r] = h,
	XLB_REASONS(XLB_X_REASON)
#undef XLB_X_REASON
#define XLB_X_EVENT(e, h) [XLB_CNT_##e] = h,
	XLB_EVENTS(XLB_X_EVENT)
#undef XLB_X_EVENT
};

/* The X-macros spell names in capitals (they are enum suffixes); lbstat wants snake_case. */
static char lower_names[XLB_CNT_MAX][48];

const char *xlb_counter_name(unsigned int id)
{
	const char *s;
	size_t i;

	if (id >= XLB_CNT_MAX)
		return "unknown";
	if (!lower_names[id][0]) {
		s = counter_names[id];
		for (i = 0; s[i] && i < sizeof(lower_names[id]) - 1; i++)
			lower_names[id][i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i];
		lower_names[id][i] = '\0';
	}
	return lower_names[id];
}

const char *xlb_counter_help(unsigned int id)
{
	return id < XLB_CNT_MAX ? counter_help[id] : "unknown";
}

const char *xlb_counter_kind(unsigned int id)
{
	if (id < XLB_CNT_FIRST_REASON)
		return "verdict";
	if (id < XLB_CNT_FIRST_EVENT)
		return "reason";
	return id < XLB_CNT_MAX ? "event" : "unknown";
}

static const char *const mode_names[XLB_MODE_MAX] = {
	[XLB_MODE_NAT] = "nat",
	[XLB_MODE_FULLNAT] = "fullnat",
	[XLB_MODE_DSR] = "dsr",
};

const char *xlb_mode_name(unsigned int mode)
{
	return mode < XLB_MODE_MAX ? mode_names[mode] : "unknown";
}

int xlb_mode_parse(const char *s, __u8 *mode)
{
	unsigned int i;

	for (i = 0; i < XLB_MODE_MAX; i++)
		if (!strcmp(s, mode_names[i])) {
			*mode = (__u8)i;
			return 0;
		}
	return -EINVAL;
}

const char *xlb_vip_drop_name(unsigned int id)
{
	static const char *const names[XLB_VIP_DROP_MAX] = {
		[XLB_VIP_DROP_NO_BACKEND] = "no_backend",
		[XLB_VIP_DROP_NO_TABLE] = "no_table",
		[XLB_VIP_DROP_REJECT_FAILED] = "reject_failed",
		[XLB_VIP_DROP_FIB] = "fib",
		[XLB_VIP_DROP_FNAT_EXHAUSTED] = "fnat_exhausted",
		[XLB_VIP_DROP_FNAT_NO_ADDR] = "fnat_no_addr",
	};

	return id < XLB_VIP_DROP_MAX ? names[id] : "unknown";
}

const char *xlb_backend_state_name(unsigned int state)
{
	switch (state) {
	case XLB_BE_ACTIVE:
		return "active";
	case XLB_BE_DRAINING:
		return "draining";
	case XLB_BE_REMOVED:
		return "removed";
	}
	return "unknown";
}
