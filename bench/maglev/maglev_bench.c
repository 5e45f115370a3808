// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How long xlb_maglev_build() takes at the largest table size, for 100 and 1000
 * backends of equal weight and 1000 of mixed weight: xlbd rebuilds a VIP's table
 * on every backend change, so this bounds how fast it can follow health checks.
 * Prints the median, min and max of repeated builds as a table and one JSON line
 * per case; it measures only and never fails on a time.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xlb/abi.h>

#include "maglev.h"

#define RUNS_DEFAULT 21
#define RUNS_QUICK 5

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct bench_case {
	const char *name;
	size_t backends;
	int weighted; /* weights 1..4 in turn, else all 1 */
};

static const struct bench_case cases[] = {
    {"maglev_build_100", 100, 0},
    {"maglev_build_1000", 1000, 0},
    {"maglev_build_1000_weighted", 1000, 1},
};

struct bench_result {
	double median, min, max;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Keys laid out as xlbd hashes them: IPv4-mapped address, port (be), family. */
static int run_case(const struct bench_case *c, __u32 size, int runs, struct bench_result *res)
{
	struct xlb_maglev_backend *be = calloc(c->backends, sizeof(*be));
	__u8(*keys)[20] = calloc(c->backends, sizeof(*keys));
	__u32 *table = malloc(size * sizeof(*table));
	double *ms = calloc(runs, sizeof(*ms)), t0;
	int i, err = 0;

	if (!be || !keys || !table || !ms) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < (int)c->backends; i++) {
		keys[i][10] = 0xff;
		keys[i][11] = 0xff;
		keys[i][12] = 10;
		keys[i][13] = 1;
		keys[i][14] = (__u8)(i >> 8);
		keys[i][15] = (__u8)i;
		keys[i][16] = 8080 >> 8;
		keys[i][17] = 8080 & 0xff;
		keys[i][18] = XLB_AF_INET;
		be[i].key = keys[i];
		be[i].key_len = sizeof(keys[i]);
		be[i].weight = c->weighted ? 1 + i % 4 : 1;
		be[i].id = i + 1;
	}
	/* One untimed build warms the caches and the allocator, as a long-running xlbd has. */
	err = xlb_maglev_build(be, c->backends, table, size);
	for (i = 0; !err && i < runs; i++) {
		t0 = now_ms();
		err = xlb_maglev_build(be, c->backends, table, size);
		ms[i] = now_ms() - t0;
	}
	if (err)
		goto cleanup;
	qsort(ms, runs, sizeof(*ms), cmp_double);
	res->median = ms[runs / 2];
	res->min = ms[0];
	res->max = ms[runs - 1];
cleanup:
	free(be);
	free(keys);
	free(table);
	free(ms);
	return err;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [--quick] [--json-only] [--runs N]\n"
		"Times xlb_maglev_build() at m=%u; prints a table and one JSON line per case.\n"
		"  --quick      %d runs per case instead of %d\n"
		"  --json-only  print only the JSON lines\n"
		"  --runs N     N runs per case (N >= 1)\n"
		"  -h, --help   this text\n",
		prog, XLB_MAGLEV_MAX_SIZE, RUNS_QUICK, RUNS_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"json-only", no_argument, NULL, 'j'},
	    {"runs", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct bench_result res[sizeof(cases) / sizeof(cases[0])];
	int opt, runs = RUNS_DEFAULT, json_only = 0, err;
	__u32 size = XLB_MAGLEV_MAX_SIZE;
	size_t i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			runs = RUNS_QUICK;
			break;
		case 'j':
			json_only = 1;
			break;
		case 'r':
			runs = atoi(optarg);
			if (runs < 1) {
				fprintf(stderr, "maglev_bench: --runs %s: need a count >= 1\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return EXIT_OK;
		default:
			usage(stderr, argv[0]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr, argv[0]);
		return EXIT_USAGE;
	}

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = run_case(&cases[i], size, runs, &res[i]);
		if (err) {
			fprintf(stderr, "maglev_bench: %s: build failed: %s\n", cases[i].name,
				strerror(-err));
			return EXIT_FAIL;
		}
	}
	if (!json_only) {
		printf("%-28s %7s %9s %5s %10s %8s %8s\n", "case", "m", "backends", "runs",
		       "ms_median", "ms_min", "ms_max");
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("%-28s %7u %9zu %5d %10.3f %8.3f %8.3f\n", cases[i].name, size,
			       cases[i].backends, runs, res[i].median, res[i].min, res[i].max);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		printf("{\"case\":\"%s\",\"m\":%u,\"backends\":%zu,\"runs\":%d,"
		       "\"ms_median\":%.3f,\"ms_min\":%.3f,\"ms_max\":%.3f}\n",
		       cases[i].name, size, cases[i].backends, runs, res[i].median, res[i].min,
		       res[i].max);
	return EXIT_OK;
}
