/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PFS_TEST_SUITES_H
#define PFS_TEST_SUITES_H

/* Each returns 0, or non-zero when CUnit could not register the suite. */
int pfs_register_policy_suite(void);
int pfs_register_config_suite(void);
int pfs_register_inode_suite(void);
int pfs_register_alloc_suite(void);
int pfs_register_stats_suite(void);
int pfs_register_cache_suite(void);

/*
 * Suites that cannot run here (a missing kernel feature) print a "SKIP:"
 * line, make their tests inactive and add one to this count; the runner
 * then exits 77 (meson: SKIP) unless something failed.
 */
extern unsigned int pfs_unit_skipped;

#endif /* PFS_TEST_SUITES_H */
