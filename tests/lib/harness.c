// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The filter and summary behind XLB_TEST_MAIN: cmocka has no total that a
 * wrapper script can add up across binaries, so every binary ends with one
 * "SUITE: N passed, N failed" line, counting only the tests the filter kept.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

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
		printf("%s: 0 passed, 0 failed\n", suite);
		free(kept);
		return 0;
	}
	failed = _cmocka_run_group_tests(suite, kept, nkept, setup, teardown);
	printf("%s: %zu passed, %d failed\n", suite, nkept - (size_t)failed, failed);
	fflush(stdout);
	free(kept);
	return failed ? 1 : 0;
}
