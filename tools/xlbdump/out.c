// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the dump (xlbdump.c) and the check (check.c) both call: opening the
 * pins through libxlb's read side, and printing JSON and errors, so that -j
 * means one thing for both and neither file depends on the other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>

#include "dp_read.h"
#include "xlbdump.h"

void xlbdump_error(const struct xlbdump_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->json) {
		json_t *e = json_object();

		json_object_set_new(e, "error", json_string(msg));
		xlbdump_json_print(o, e);
	} else {
		fprintf(stderr, "xlbdump: %s\n", msg);
	}
}

int xlbdump_json_print(const struct xlbdump_opts *o, json_t *v)
{
	int err = json_dumpf(v, stdout, o->pretty ? JSON_INDENT(2) : JSON_COMPACT);

	fputc('\n', stdout);
	json_decref(v);
	fflush(stdout);
	return err || ferror(stdout) ? -EIO : 0;
}

int xlbdump_open(const struct xlbdump_opts *o, struct xlb_reader **r)
{
	struct xlb_reader_opts ro = { .pin_path = o->pin, .user = "xlbdump" };
	char err[512];
	int e;

	e = xlb_reader_open(r, &ro, err, sizeof(err));
	if (e)
		xlbdump_error(o, "%s", err);
	return e;
}
