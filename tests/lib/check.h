/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Assertions that name what they compare, for the cmocka unit tests: a failure
 * prints one sentence, "plan ops for equal states: got 2, want 0", above
 * cmocka's own file:line, instead of a bare "0x2 != 0x0" that sends the reader to
 * the source. cmocka 1.1 has no message variants of assert_int_equal and its
 * kin, so these print with print_error and fail through _fail. Each compares
 * exactly as the cmocka assertion it stands for (expect_eq as assert_int_equal,
 * on the values widened to 64 bits; expect_cmp in the operands' own types, as
 * assert_true(a < b) did), evaluates each operand once while it passes, and
 * evaluates `what` (so builds any xlb_whatf message) only when the check fails.
 */
#ifndef XLB_TEST_CHECK_H
#define XLB_TEST_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/*
 * A what built with printf formatting, for checks inside loops:
 * expect_eq(xlb_whatf("row %s: ops", row->name), plan.nr_ops, row->ops). Only
 * evaluated on failure; four rotating buffers so one message may use two.
 */
static inline const char *xlb_whatf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *xlb_whatf(const char *fmt, ...)
{
	static char buf[4][256];
	static unsigned int next;
	char *b = buf[next++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(buf[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* A value as a reader wants it: decimal, and hex too when it looks like a mask or address. */
static inline const char *xlb_check_int(char *b, size_t n, unsigned long long v)
{
	long long s = (long long)v;

	if (s >= -4096 && s <= 999999)
		snprintf(b, n, "%lld", s);
	else if (s < 0 && s >= -(1LL << 31))
		snprintf(b, n, "%lld (0x%llx)", s, v);
	else
		snprintf(b, n, "%llu (0x%llx)", v, v);
	return b;
}

/* A 0/-errno return code, with the errno's text when negative. */
static inline const char *xlb_check_rc(char *b, size_t n, long long v)
{
	if (v < 0 && v > -4096)
		snprintf(b, n, "%lld (%s)", v, strerror((int)-v));
	else
		snprintf(b, n, "%lld", v);
	return b;
}

static inline void xlb_check_fail_int(const char *file, int line, const char *what,
				      const char *want_op, unsigned long long got,
				      unsigned long long want)
{
	char g[64], w[64];

	print_error("%s: got %s, want %s%s\n", what, xlb_check_int(g, sizeof(g), got), want_op,
		    xlb_check_int(w, sizeof(w), want));
	_fail(file, line);
}

/* expect_eq: the two integers are equal (as assert_int_equal compares them). */
#define expect_eq(what, got, want)                                                       \
	do {                                                                             \
		unsigned long long got_ = (unsigned long long)(got);                     \
		unsigned long long want_ = (unsigned long long)(want);                   \
		if (got_ != want_)                                                       \
			xlb_check_fail_int(__FILE__, __LINE__, (what), "", got_, want_); \
	} while (0)

/* expect_ne: the integer is anything but the one given. */
#define expect_ne(what, got, other)                                                           \
	do {                                                                                  \
		unsigned long long got_ = (unsigned long long)(got);                          \
		unsigned long long other_ = (unsigned long long)(other);                      \
		if (got_ == other_)                                                           \
			xlb_check_fail_int(__FILE__, __LINE__, (what), "anything but ", got_, \
					   other_);                                           \
	} while (0)

/*
 * expect_cmp: got OP bound holds, e.g. expect_cmp("files read", files, >=, 5). The bound
 * stays an expression in the test (a constant keeps -Wsign-compare content, as in
 * assert_true(n >= 5)), so it is evaluated again for the message when the check fails.
 */
#define expect_cmp(what, got, op, bound)                                                           \
	do {                                                                                       \
		__auto_type got_ = (got);                                                          \
		if (!(got_ op(bound)))                                                             \
			xlb_check_fail_int(__FILE__, __LINE__, (what), #op " ",                    \
					   (unsigned long long)got_, (unsigned long long)(bound)); \
	} while (0)

static inline void xlb_check_fail_rc(const char *file, int line, const char *what, long long got,
				     long long want)
{
	char g[96], w[96];

	print_error("%s: got %s, want %s\n", what, xlb_check_rc(g, sizeof(g), got),
		    xlb_check_rc(w, sizeof(w), want));
	_fail(file, line);
}

/* expect_rc: a 0/-errno return equals the one wanted; the message spells errnos out. */
#define expect_rc(what, got, want)                                                     \
	do {                                                                           \
		unsigned long long got_ = (unsigned long long)(got);                   \
		unsigned long long want_ = (unsigned long long)(want);                 \
		if (got_ != want_)                                                     \
			xlb_check_fail_rc(__FILE__, __LINE__, (what), (long long)got_, \
					  (long long)want_);                           \
	} while (0)

/* expect_ok: a 0/-errno call succeeded. */
#define expect_ok(what, rc) expect_rc(what, rc, 0)

/* expect_true / expect_false: a condition, named, with its source text. */
#define expect_true(what, cond)                                                        \
	do {                                                                           \
		if (!(cond)) {                                                         \
			print_error("%s: got false, want true (%s)\n", (what), #cond); \
			_fail(__FILE__, __LINE__);                                     \
		}                                                                      \
	} while (0)

#define expect_false(what, cond)                                                       \
	do {                                                                           \
		if (cond) {                                                            \
			print_error("%s: got true, want false (%s)\n", (what), #cond); \
			_fail(__FILE__, __LINE__);                                     \
		}                                                                      \
	} while (0)

static inline void xlb_check_fail_str(const char *file, int line, const char *what, const char *got,
				      const char *want)
{
	print_error("%s: got %s%s%s, want %s%s%s\n", what, got ? "\"" : "", got ? got : "NULL",
		    got ? "\"" : "", want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
	_fail(file, line);
}

/* expect_str_eq: the strings are equal (a NULL on either side fails, and says so). */
#define expect_str_eq(what, got, want)                                               \
	do {                                                                         \
		const char *got_ = (got), *want_ = (want);                           \
		if (!got_ || !want_ || strcmp(got_, want_))                          \
			xlb_check_fail_str(__FILE__, __LINE__, (what), got_, want_); \
	} while (0)

/* expect_substr: text contains part (what assert_non_null(strstr(text, part)) checked). */
#define expect_substr(what, text, part)                                                            \
	do {                                                                                       \
		const char *text_ = (text), *part_ = (part);                                       \
		if (!strstr(text_, part_)) {                                                       \
			print_error("%s: \"%s\" does not contain \"%s\"\n", (what), text_, part_); \
			_fail(__FILE__, __LINE__);                                                 \
		}                                                                                  \
	} while (0)

static inline void xlb_check_fail_mem(const char *file, int line, const char *what, const void *got,
				      const void *want, size_t len)
{
	const unsigned char *g = got, *w = want;
	size_t i = 0;

	while (i < len - 1 && g[i] == w[i])
		i++;
	print_error("%s: first difference at byte %zu of %zu: got 0x%02x, want 0x%02x\n", what, i,
		    len, g[i], w[i]);
	_fail(file, line);
}

/* expect_mem_eq: len bytes are equal; the message gives the first byte that is not. */
#define expect_mem_eq(what, got, want, len)                                                \
	do {                                                                               \
		const void *got_ = (got), *want_ = (want);                                 \
		size_t len_ = (len);                                                       \
		if (memcmp(got_, want_, len_))                                             \
			xlb_check_fail_mem(__FILE__, __LINE__, (what), got_, want_, len_); \
	} while (0)

/* expect_ptr_eq: the same object. */
#define expect_ptr_eq(what, got, want)                                             \
	do {                                                                       \
		const void *got_ = (got), *want_ = (want);                         \
		if (got_ != want_) {                                               \
			print_error("%s: got %p, want %p\n", (what), got_, want_); \
			_fail(__FILE__, __LINE__);                                 \
		}                                                                  \
	} while (0)

#endif /* XLB_TEST_CHECK_H */
