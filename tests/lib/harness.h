/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test harness shared by every C test binary: cmocka does the running and the
 * assertions; this adds a name filter (environment T, a shell pattern), skips
 * that say why and of which class (tests/lib/test.sh lists the classes), and
 * the closing line "NAME: N passed, N failed, N skipped" that tests/run.sh adds up.
 */
#ifndef XLB_TEST_HARNESS_H
#define XLB_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Runs the tests whose names match $T (all when unset); returns the exit code. */
int xlb_test_run(const char *suite, const struct CMUnitTest *tests, size_t n,
		 CMFixtureFunction setup, CMFixtureFunction teardown);

#define XLB_TEST_MAIN(suite, tests)                                                    \
	int main(void)                                                                 \
	{                                                                              \
		return xlb_test_run(suite, tests, ARRAY_SIZE(tests), NULL, NULL);      \
	}

/* Records the class and reason the next skip() prints ("# SKIP(class): reason"). */
void xlb_skip_reason(const char *class, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Skips the running test with a class and a reason. env: the machine lacks what
 * `make deps`, `make bpffs` or root provide (tests/run.sh counts it as a failure);
 * kernel: this kernel lacks a feature; fixtures: ../shared/fixtures is absent;
 * bug: a known bug, marked where it is tested. A bare skip() is "unclassified",
 * which tests/run.sh also counts as a failure.
 */
#define xlb_skip_as(class, ...)                                                        \
	do {                                                                           \
		xlb_skip_reason(class, __VA_ARGS__);                                   \
		skip();                                                                \
	} while (0)
#define xlb_skip_env(...) xlb_skip_as("env", __VA_ARGS__)
#define xlb_skip_kernel(...) xlb_skip_as("kernel", __VA_ARGS__)
#define xlb_skip_fixtures(...) xlb_skip_as("fixtures", __VA_ARGS__)
#define xlb_skip_bug(...) xlb_skip_as("bug", __VA_ARGS__)

#endif /* XLB_TEST_HARNESS_H */
