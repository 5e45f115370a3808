// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The filter and summary behind XLB_TEST_MAIN: cmocka has no total that a
 * wrapper script can add up across binaries, so every binary ends with one
 * "SUITE: N passed, N failed, N skipped" line, counting only the tests the
 * filter kept. cmocka counts a skipped test as neither failed nor anything
 * its runner returns, so this file defines _skip(), which skip() expands to:
 * the binary's own definition comes before libcmocka's, counts the skip, prints
 * its class and reason, and hands over to libcmocka's _skip() (found with
 * dlsym(RTLD_NEXT)) to end the test as skipped. Every skip() is counted, a
 * bare one included.
 */
#include <dlfcn.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static char skip_class[32];
static char skip_text[512];
static int skips;

void xlb_skip_reason(const char *class, const char *fmt, ...)
{
	va_list ap;

	snprintf(skip_class, sizeof(skip_class), "%s", class);
	va_start(ap, fmt);
	vsnprintf(skip_text, sizeof(skip_text), fmt, ap);
	va_end(ap);
}

void _skip(const char *const file, const int line)
{
	static void (*cmocka_skip)(const char *const, const int);

	if (!cmocka_skip)
		*(void **)&cmocka_skip = dlsym(RTLD_NEXT, "_skip");
	skips++;
	if (skip_class[0])
		print_message("# SKIP(%s): %s\n", skip_class, skip_text);
	else
		print_message("# SKIP(unclassified): skip() at %s:%d\n", file, line);
	skip_class[0] = '\0';
	fflush(stdout);
	if (!cmocka_skip) {
		/* Never silently a pass: without libcmocka's _skip the test fails. */
		fail_msg("skip(): libcmocka's _skip not found (%s)", dlerror());
		return;
	}
	cmocka_skip(file, line);
}

int xlb_test_run(const char *suite, const struct CMUnitTest *tests, size_t n,
		 CMFixtureFunction setup, CMFixtureFunction teardown)
{
	const char *pattern = getenv("T");
	struct CMUnitTest *kept;
	size_t i, nkept = 0;
	int failed;

	kept = calloc(n ? n : 1, sizeof(*kept));
	if (!kept) {
		fprintf(stderr, "%s: out of memory\n", suite);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (pattern && *pattern && fnmatch(pattern, tests[i].name, 0) != 0 &&
		    fnmatch(pattern, suite, 0) != 0)
			continue;
		kept[nkept++] = tests[i];
	}
	if (nkept == 0) {
		printf("%s: 0 passed, 0 failed, 0 skipped\n", suite);
		free(kept);
		return 0;
	}
	failed = _cmocka_run_group_tests(suite, kept, nkept, setup, teardown);
	printf("%s: %zu passed, %d failed, %d skipped\n", suite,
	       nkept - (size_t)failed - (size_t)skips, failed, skips);
	fflush(stdout);
	free(kept);
	return failed ? 1 : 0;
}
