/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What xlbdump's dump (xlbdump.c) and its consistency check (check.c) share:
 * the options, and (out.c) the maps opened through libxlb's read side and one
 * way to print JSON and errors, so -j means the same thing for both.
 */
#ifndef XLBDUMP_H
#define XLBDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <xlb/abi.h>

#include "dp_read.h"

/* Exit codes of the dump; --check has its own (0 consistent, 1 errors, 2 cannot read). */
#define XLBDUMP_EXIT_OK 0
#define XLBDUMP_EXIT_ERR 1
#define XLBDUMP_EXIT_USAGE 2

#ifndef XLB_VERSION
#define XLB_VERSION "unknown"
#endif

struct xlbdump_opts {
	const char *pin;
	bool raw, slots, check, strict, json, pretty;
};

/* Opens the pins read-only; on failure says why (stderr, or {"error": ...} with -j). */
int xlbdump_open(const struct xlbdump_opts *o, struct xlb_reader **r);
/* One error: "xlbdump: MSG" on stderr, or {"error": "MSG"} on stdout with -j. */
void xlbdump_error(const struct xlbdump_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints and frees a JSON value, one line (or indented with --pretty). */
int xlbdump_json_print(const struct xlbdump_opts *o, json_t *v);
/* --check: 0 consistent, 1 errors (or leftovers with strict), 2 the maps cannot be read. */
int xlbdump_check(const struct xlbdump_opts *o);

#endif /* XLBDUMP_H */
