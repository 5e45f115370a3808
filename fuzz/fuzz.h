/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the libFuzzer targets share: turning the fuzzer's bytes into C strings
 * (the parsers take NUL-terminated text), splitting one input into several
 * fields, a resolver that never touches the network, and FUZZ_CHECK, which
 * aborts (a crash libFuzzer records, with the input) when an invariant of a
 * parser's result is broken: a wrong answer is a bug like a bad read.
 */
#ifndef XLB_FUZZ_H
#define XLB_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <xlb/abi.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz invariant broken at %s:%d: %s: ", __FILE__,         \
				__LINE__, #cond);                                                  \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A malloc'd NUL-terminated copy of n bytes (embedded NULs simply end the string early). */
static inline char *fuzz_str(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

/*
 * The next field of an input split on sep: returns a malloc'd string and moves
 * the input past the field and its separator. The last field takes the rest.
 */
static inline char *fuzz_field(const uint8_t **d, size_t *n, uint8_t sep)
{
	const uint8_t *e = memchr(*d, sep, *n);
	size_t len = e ? (size_t)(e - *d) : *n;
	char *s = fuzz_str(*d, len);

	*d += e ? len + 1 : len;
	*n -= e ? len + 1 : len;
	return s;
}

/* An error message must be a terminated string within its buffer. */
static inline int fuzz_terminated(const char *buf, size_t len)
{
	return memchr(buf, '\0', len) != NULL;
}

/* Every host name resolves, to an address derived from it: no DNS, deterministic. */
static inline int fuzz_resolve(void *ctx, const char *host, __u8 hint, union xlb_addr *addr,
			       __u8 *family)
{
	uint32_t h = 2166136261u;
	const char *p;

	(void)ctx;
	for (p = host; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	if (h % 7 == 0)
		return -2; /* -ENOENT: some names do not resolve */
	memset(addr, 0, sizeof(*addr));
	if (hint == XLB_AF_INET6 && (h & 1)) {
		addr->v6[0] = htonl(0x20010db8);
		addr->v6[3] = h;
		*family = XLB_AF_INET6;
	} else {
		addr->v4 = htonl(0xc6120000u | (h & 0xffff));
		*family = XLB_AF_INET;
	}
	return 0;
}

#endif /* XLB_FUZZ_H */
