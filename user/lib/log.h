/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Logging for xlb's user space: levels, one line per event on stderr (or a
 * sink a program installs), and libbpf's own chatter routed through it one
 * level lower, as xdp-tools does, so a verifier log shows only with -v.
 */
#ifndef XLB_LOG_H
#define XLB_LOG_H

#include <stdarg.h>

enum xlb_log_level {
	XLB_LOG_ERROR = 0,
	XLB_LOG_WARN = 1,
	XLB_LOG_INFO = 2,
	XLB_LOG_DEBUG = 3,
};

typedef void (*xlb_log_sink_t)(enum xlb_log_level level, const char *msg);

void xlb_log_set_level(enum xlb_log_level level);
enum xlb_log_level xlb_log_get_level(void);
/* NULL restores the default sink (stderr, "xlb: level: msg"). */
void xlb_log_set_sink(xlb_log_sink_t sink);
/* Routes libbpf's messages through xlb_log, one level lower than libbpf says. */
void xlb_log_hook_libbpf(void);

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) xlb_log(XLB_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) xlb_log(XLB_LOG_WARN, __VA_ARGS__)
#define pr_info(...) xlb_log(XLB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xlb_log(XLB_LOG_DEBUG, __VA_ARGS__)

#endif /* XLB_LOG_H */
