// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CUnit runner for the unit suites.  Exits non-zero on any failure or on a
 * registry error, so meson (and CI) cannot mistake a broken run for a pass.
 */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "suites.h"

int main(void)
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
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		fprintf(stderr, "cannot run tests: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	failures = CU_get_number_of_failures() +
		   CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
