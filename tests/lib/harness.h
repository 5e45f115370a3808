/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test harness shared by every C test binary: cmocka does the running and the
 * assertions; this adds a name filter (environment T, a shell pattern) and the
 * closing line "NAME: N passed, N failed" that tests/run.sh adds up.
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

/* Skips a test with a reason on stdout (cmocka's skip() says nothing). */
#define xlb_skip(...)                                                                  \
	do {                                                                           \
		print_message("SKIP: " __VA_ARGS__);                                   \
		print_message("\n");                                                   \
		skip();                                                                \
	} while (0)

#endif /* XLB_TEST_HARNESS_H */
