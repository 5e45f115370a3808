// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The BPF_PROG_TEST_RUN suite's entry: one cmocka test per case-table row and
 * per program the row names ("nat_tcp4_syn/xdp", ".../tc_ingress", ...), then
 * the multi-step scenarios, all under one group fixture (see fixture.c). T=glob
 * selects tests by name; the last line is the harness's "N passed, N failed, N skipped".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"

struct t_row {
	const struct xlb_case *c;
	enum t_hook hook;
};

static void t_row_test(void **state)
{
	const struct t_row *r = *state;

	t_case_run(r->c, r->hook);
}

static const struct {
	const char *name;
	CMUnitTestFunction fn;
} t_scenarios[] = {
	{ "scenario_sticky_across_table_change", t_sticky_table_change },
	{ "scenario_draining", t_draining },
	{ "scenario_slot_reuse_repicks", t_slot_reuse },
	{ "scenario_flood_budget", t_flood_budget },
	{ "scenario_shared_endpoint", t_shared_endpoint },
	{ "scenario_ct_lifetimes", t_ct_lifetimes },
	{ "scenario_clock", t_clock },
	{ "scenario_endpoint_cache", t_endpoint_cache },
	{ "scenario_fullnat", t_fullnat },
	{ "scenario_xdp_handoff", t_handoff },
	{ "scenario_dsr", t_dsr },
	{ "scenario_weights_3_to_1", t_weights },
	{ "scenario_vip_without_table", t_no_table },
	{ "scenario_batch_first_tables", t_batch_first_tables },
};

int main(void)
{
	const struct {
		const struct xlb_case *rows;
		size_t n;
	} tables[] = {
		{ t_cases_nat, t_cases_nat_n },
		{ t_cases_reject, t_cases_reject_n },
		{ t_cases_icmp, t_cases_icmp_n },
		{ t_cases_parse, t_cases_parse_n },
	};
	static const enum t_hook hooks[] = { T_XDP, T_TCI, T_TCE };
	struct CMUnitTest *tests;
	struct t_row *rows;
	size_t i, j, h, n = ARRAY_SIZE(t_scenarios), k = 0;
	int rc;

	for (i = 0; i < ARRAY_SIZE(tables); i++)
		n += tables[i].n * ARRAY_SIZE(hooks);
	tests = calloc(n, sizeof(*tests));
	rows = calloc(n, sizeof(*rows));
	if (!tests || !rows)
		return 1;
	for (i = 0; i < ARRAY_SIZE(tables); i++)
		for (j = 0; j < tables[i].n; j++)
			for (h = 0; h < ARRAY_SIZE(hooks); h++) {
				const struct xlb_case *c = &tables[i].rows[j];
				char *name;

				if (!(c->hooks & hooks[h]))
					continue;
				if (asprintf(&name, "%s/%s", c->name, t_hook_name(hooks[h])) < 0)
					return 1;
				rows[k] = (struct t_row){ c, hooks[h] };
				tests[k] = (struct CMUnitTest){ .name = name,
								.test_func = t_row_test,
								.initial_state = &rows[k] };
				k++;
			}
	for (i = 0; i < ARRAY_SIZE(t_scenarios); i++)
		tests[k++] = (struct CMUnitTest){ .name = t_scenarios[i].name,
						  .test_func = t_scenarios[i].fn };
	rc = xlb_test_run("test_bpf", tests, k, t_setup, t_teardown);
	for (i = 0; i < k; i++)
		if (tests[i].test_func == t_row_test)
			free((char *)tests[i].name);
	free(tests);
	free(rows);
	return rc;
}
