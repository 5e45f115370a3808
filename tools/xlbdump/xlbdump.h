/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What xlbdump's dump (xlbdump.c) and its consistency check (check.c) share:
 * opening a pinned map by name, reading a Maglev table, printing an endpoint.
 */
#ifndef XLBDUMP_H
#define XLBDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <xlb/abi.h>

/* The pinned map PIN/NAME, or -1 after saying why on stderr. */
int xlbdump_fd(const char *pin, const char *name);
const char *xlbdump_ep_str(const union xlb_addr *a, __be16 port, __u8 family, char *buf,
			   size_t len);
/*
 * Reads size slots of the table map ifd (16 per element, abi.h) into out.
 * Returns 0, or -errno of the first element that cannot be read.
 */
int xlbdump_table_read(int ifd, __u32 size, __u32 *out);
/* --check: 0 consistent, 1 errors (or leftovers with strict), 2 the maps cannot be read. */
int xlbdump_check(const char *pin, bool strict);

#endif /* XLBDUMP_H */
