// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What every pass of the Marathon model build shares (mara_build.h): errors
 * and warnings that name what they are about, allocation that turns a failure
 * into the build's ENOMEM, keys and addresses as text for those messages,
 * sorted label keys so warnings come out in a stable order, and number
 * parsing. Apart from the builder so that the files of the passes depend on
 * it, and the builder on them, never both ways.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "mara_build.h"

PRINTF(3, 4) void mara_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

PRINTF(2, 3) void mara_warn(struct build *b, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	b->m->nr_warnings++;
	if (!b->o->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->o->warn(b->o->warn_ctx, msg);
}

char *mara_strdup(struct build *b, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		b->oom = -ENOMEM;
	return d;
}

bool mara_grow(struct build *b, void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n) {
		b->oom = -ENOMEM;
		return false;
	}
	*arr = n;
	*cap = ncap;
	return true;
}

const char *mara_family_str(__u8 family)
{
	return family == XLB_AF_INET6 ? "IPv6" : "IPv4";
}

const char *mara_addr_str(const union xlb_addr *addr, __u8 family, char *buf, size_t len)
{
	inet_ntop(family == XLB_AF_INET6 ? AF_INET6 : AF_INET, addr->bytes, buf, (socklen_t)len);
	return buf;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a labels object in strcmp order, so warnings come out in a stable order. */
const char **mara_sorted_keys(struct build *b, const json_t *obj, size_t *n)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t i = 0;

	*n = json_is_object(obj) ? json_object_size(obj) : 0;
	if (!*n)
		return NULL;
	keys = calloc(*n, sizeof(*keys));
	if (!keys) {
		b->oom = -ENOMEM;
		*n = 0;
		return NULL;
	}
	json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

/* "0".."65535" into *out; false otherwise. */
bool mara_parse_u16(const char *s, long min, __u16 *out)
{
	long v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > 5)
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > 65535)
		return false;
	*out = (__u16)v;
	return true;
}
