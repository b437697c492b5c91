// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CUnit runner for the unit suites.  Exits non-zero on any failure or on a
 * registry error, so meson (and CI) cannot mistake a broken run for a pass;
 * exits 77 (meson: SKIP) when a suite could not run here and nothing failed.
 *
 * usage: pfs-unit [SUITE...]     only these suites
 *        pfs-unit -x SUITE...    every suite but these
 *        pfs-unit                every suite
 */
#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"

unsigned int pfs_unit_skipped;

static bool do_listed(const char *name, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(name, argv[i]))
			return true;
	return false;
}

/* Make the suites the command line leaves out inactive. */
static int do_select(int argc, char **argv)
{
	bool exclude = argc > 1 && !strcmp(argv[1], "-x");
	int first = exclude ? 2 : 1;
	int found = 0;

	if (argc <= 1)
		return 0;
	for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
		bool listed = do_listed(s->pName, argc - first, argv + first);

		found += listed;
		if (listed == exclude)
			CU_set_suite_active(s, CU_FALSE);
	}
	if (found != argc - first) {
		fprintf(stderr, "pfs-unit: unknown suite name among:");
		for (int i = first; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (pfs_register_policy_suite() || pfs_register_config_suite() ||
	    pfs_register_inode_suite() || pfs_register_alloc_suite() ||
	    pfs_register_stats_suite() || pfs_register_cache_suite()) {
		fprintf(stderr, "cannot register suites: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	if (do_select(argc, argv)) {
		CU_cleanup_registry();
		return 2;
	}
	/* Suites left out, or skipped, are inactive: not failures. */
	CU_set_fail_on_inactive(CU_FALSE);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		fprintf(stderr, "cannot run tests: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	failures = CU_get_number_of_failures() +
		   CU_get_number_of_tests_failed() +
		   CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failures)
		return 1;
	if (pfs_unit_skipped) {
		fprintf(stderr, "SKIP: %u suite(s) could not run here (see above)\n",
			pfs_unit_skipped);
		return 77;
	}
	return 0;
}
