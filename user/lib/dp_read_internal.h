/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The reader's layout, private to the data plane library: dp_read.c owns it,
 * and dp.c builds one over its own descriptors (xlb_dp_reader), so the read
 * side needs nothing of the write side's handle. Not for the tools: they use
 * dp_read.h.
 */
#ifndef XLB_DP_READ_INTERNAL_H
#define XLB_DP_READ_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>

#include "dp_read.h"

/* A reader's maps: opened by xlb_reader_open (owned), or the data plane's (borrowed). */
struct xlb_reader {
	char pin_path[PATH_MAX];
	int fd[XLB_M_MAX]; /* -1: an optional map that is absent */
	__u32 max_entries[XLB_M_MAX];
	int ncpus;
	unsigned int flags; /* enum xlb_reader_flags */
	bool owned; /* close the fds and free the reader in xlb_reader_close */
};

/* dp_read.c: walks every element of map m (see dp_read.h for fn and the return). */
int xlb_reader_map_walk(const struct xlb_reader *r, enum xlb_map m,
			int (*fn)(void *ctx, const void *key, const void *value), void *ctx);

#endif /* XLB_DP_READ_INTERNAL_H */
