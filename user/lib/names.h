/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Names and one-line explanations of every counter in the ABI, generated from
 * the same X-macros as the enums, so lbstat, /metrics and the docs can never
 * disagree with the data plane about what a slot means.
 */
#ifndef XLB_NAMES_H
#define XLB_NAMES_H

#include <xlb/abi.h>

/* snake_case name of a global counter ("pass_not_vip", "verdict_drop", ...). */
const char *xlb_counter_name(unsigned int id);
const char *xlb_counter_help(unsigned int id);
/* "reason", "verdict" or "event". */
const char *xlb_counter_kind(unsigned int id);
const char *xlb_vip_drop_name(unsigned int id);
/* A VIP's forwarding mode (enum xlb_mode) as configs and lbstat spell it: "nat", "fullnat", "dsr". */
const char *xlb_mode_name(unsigned int mode);
/* 0 with *mode set, or -EINVAL for a name that is none of them. */
int xlb_mode_parse(const char *s, __u8 *mode);
const char *xlb_backend_state_name(unsigned int state);

#endif /* XLB_NAMES_H */
