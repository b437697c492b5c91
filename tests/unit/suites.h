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

#endif /* PFS_TEST_SUITES_H */
