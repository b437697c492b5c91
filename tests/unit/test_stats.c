// SPDX-License-Identifier: GPL-2.0-or-later
/* Counters and the refusal log's rate limit. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "pfs_stats.h"
#include "suites.h"

static void test_refused_by_errno(void)
{
	struct pfs_stats s;
	char buf[1024];

	memset(&s, 0, sizeof(s));
	pfs_stats_refused(&s, ENOSPC);
	pfs_stats_refused(&s, ENOSPC);
	pfs_stats_refused(&s, EDQUOT);
	pfs_stats_refused(&s, EFBIG);
	pfs_stats_refused(&s, EOPNOTSUPP);
	atomic_fetch_add(&s.growths, 3);
	atomic_fetch_add(&s.bytes, 4096);
	pfs_stats_format(&s, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "growths 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "bytes_allocated 4096\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "refused_enospc 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "refused_edquot 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "refused_efbig 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "refused_other 1\n"));
	/* a short buffer is cut, never overrun */
	CU_ASSERT_EQUAL(pfs_stats_format(&s, buf, 8), 7);
	CU_ASSERT_EQUAL(buf[7], '\0');
}

static void test_ratelimit(void)
{
	struct pfs_ratelimit rl;
	unsigned long long missed = 99;
	int allowed = 0;

	pfs_ratelimit_init(&rl, 3, 60);
	for (int i = 0; i < 10; i++)
		allowed += pfs_ratelimit_allow(&rl, 1000, &missed);
	CU_ASSERT_EQUAL(allowed, 3);
	/* still inside the window */
	CU_ASSERT_FALSE(pfs_ratelimit_allow(&rl, 1059, &missed));
	/* a new window: allowed again, and told what was missed */
	CU_ASSERT_TRUE(pfs_ratelimit_allow(&rl, 1060, &missed));
	CU_ASSERT_EQUAL(missed, 8);
	CU_ASSERT_TRUE(pfs_ratelimit_allow(&rl, 1061, &missed));
	CU_ASSERT_EQUAL(missed, 0);
	/* the clock going back starts a new window too */
	for (int i = 0; i < 5; i++)
		pfs_ratelimit_allow(&rl, 1061, &missed);
	CU_ASSERT_TRUE(pfs_ratelimit_allow(&rl, 500, &missed));
}

int pfs_register_stats_suite(void)
{
	CU_pSuite s = CU_add_suite("stats", NULL, NULL);

	return !s || !CU_add_test(s, "refusals by errno", test_refused_by_errno) ||
	       !CU_add_test(s, "rate limit", test_ratelimit);
}
