// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The logger behind log.h. Messages are formatted into one buffer and written
 * with a single call so lines from several threads never interleave.
 */
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum xlb_log_level log_level = XLB_LOG_INFO;
static xlb_log_sink_t log_sink;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void xlb_log_set_level(enum xlb_log_level level)
{
	log_level = level;
}

enum xlb_log_level xlb_log_get_level(void)
{
	return log_level;
}

void xlb_log_set_sink(xlb_log_sink_t sink)
{
	log_sink = sink;
}

static void xlb_vlog(enum xlb_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (log_sink) {
		log_sink(level, msg);
		return;
	}
	fprintf(stderr, "xlb: %s: %s\n", level_names[level], msg);
}

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xlb_vlog(level, fmt, ap);
	va_end(ap);
}

static int xlb_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum xlb_log_level l;

	switch (level) {
	case LIBBPF_WARN:
		l = XLB_LOG_INFO;
		break;
	case LIBBPF_INFO:
		l = XLB_LOG_DEBUG;
		break;
	default:
		return 0;
	}
	xlb_vlog(l, fmt, ap);
	return 0;
}

void xlb_log_hook_libbpf(void)
{
	libbpf_set_print(xlb_libbpf_print);
}
