// SPDX-License-Identifier: GPL-2.0-or-later
/* Table-driven tests of the pure preallocation policy. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <linux/falloc.h>
#include <stdint.h>

#include "pfs_policy.h"
#include "pfs_compat.h"
#include "suites.h"

#define OFF_MAX INT64_MAX
#define G ((off_t)1 << 30)

static void test_resize(void)
{
	static const struct {
		off_t old_size, new_size;
		int ret;
		enum pfs_plan_kind kind;
		off_t off, len;
	} rows[] = {
		/* grow: allocate only the new range, never from 0 */
		{ 0, 4096, 0, PFS_PLAN_GROW, 0, 4096 },
		{ 5, 1 * G, 0, PFS_PLAN_GROW, 5, 1 * G - 5 },
		{ 4096, 4097, 0, PFS_PLAN_GROW, 4096, 1 },
		{ 0, OFF_MAX, 0, PFS_PLAN_GROW, 0, OFF_MAX },
		/* equal, shrink, zero: pass through */
		{ 4096, 4096, 0, PFS_PLAN_NONE, 0, 0 },
		{ 0, 0, 0, PFS_PLAN_NONE, 0, 0 },
		{ 1 * G, 0, 0, PFS_PLAN_NONE, 0, 0 },
		{ 1 * G, 4095, 0, PFS_PLAN_NONE, 0, 0 },
		/* nonsense */
		{ 0, -1, -EINVAL, PFS_PLAN_NONE, 0, 0 },
		{ -1, 0, -EINVAL, PFS_PLAN_NONE, 0, 0 },
	};

	for (size_t i = 0; i < PFS_ARRAY_SIZE(rows); i++) {
		struct pfs_plan p;
		int ret = pfs_policy_resize(rows[i].old_size, rows[i].new_size,
					    &p);

		CU_ASSERT_EQUAL(ret, rows[i].ret);
		CU_ASSERT_EQUAL(p.kind, rows[i].kind);
		if (p.kind == PFS_PLAN_GROW) {
			CU_ASSERT_EQUAL(p.alloc_off, rows[i].off);
			CU_ASSERT_EQUAL(p.alloc_len, rows[i].len);
			/* the allocation is the size change */
			CU_ASSERT_FALSE(p.keep_size);
		}
	}
}

static void test_extend(void)
{
	static const struct {
		off_t size, off;
		uint64_t len;
		int ret;
		enum pfs_plan_kind kind;
		off_t aoff, alen;
	} rows[] = {
		/* inside the file, or starting at/before EOF: no plan */
		{ 8192, 0, 4096, 0, PFS_PLAN_NONE, 0, 0 },
		{ 8192, 8192, 4096, 0, PFS_PLAN_NONE, 0, 0 },
		{ 8192, 4096, 1 * G, 0, PFS_PLAN_NONE, 0, 0 },
		{ 0, 0, 4096, 0, PFS_PLAN_NONE, 0, 0 },
		/* empty requests change nothing, even past EOF */
		{ 0, 1 * G, 0, 0, PFS_PLAN_NONE, 0, 0 },
		/* past EOF: the gap and the request's own range */
		{ 0, 1, 1, 0, PFS_PLAN_GROW, 0, 2 },
		{ 100, 1 * G, 4096, 0, PFS_PLAN_GROW, 100, 1 * G + 4096 - 100 },
		{ 8192, 8193, 10, 0, PFS_PLAN_GROW, 8192, 11 },
		/* the last representable byte */
		{ 0, OFF_MAX - 1, 1, 0, PFS_PLAN_GROW, 0, OFF_MAX },
		/* overflow and nonsense */
		{ 0, OFF_MAX, 1, -EFBIG, PFS_PLAN_NONE, 0, 0 },
		{ 0, 1, UINT64_MAX, -EFBIG, PFS_PLAN_NONE, 0, 0 },
		{ 0, -1, 1, -EINVAL, PFS_PLAN_NONE, 0, 0 },
		{ -1, 0, 1, -EINVAL, PFS_PLAN_NONE, 0, 0 },
	};

	for (size_t i = 0; i < PFS_ARRAY_SIZE(rows); i++) {
		struct pfs_plan p;
		int ret = pfs_policy_extend(rows[i].size, rows[i].off,
					    rows[i].len, &p);

		CU_ASSERT_EQUAL(ret, rows[i].ret);
		CU_ASSERT_EQUAL(p.kind, rows[i].kind);
		if (p.kind == PFS_PLAN_GROW) {
			CU_ASSERT_EQUAL(p.alloc_off, rows[i].aoff);
			CU_ASSERT_EQUAL(p.alloc_len, rows[i].alen);
			/* the write itself sets the size */
			CU_ASSERT_TRUE(p.keep_size);
		}
	}
}

static void test_copy(void)
{
	static const struct {
		off_t size, off;
		uint64_t len;
		int ret;
		enum pfs_plan_kind kind;
		off_t aoff, alen;
	} rows[] = {
		/* inside the file: no plan */
		{ 8192, 0, 4096, 0, PFS_PLAN_NONE, 0, 0 },
		{ 8192, 4096, 4096, 0, PFS_PLAN_NONE, 0, 0 },
		/* from EOF or inside to past it: the part past EOF */
		{ 0, 0, 4096, 0, PFS_PLAN_GROW, 0, 4096 },
		{ 8192, 8192, 4096, 0, PFS_PLAN_GROW, 8192, 4096 },
		{ 8192, 4096, 1 * G, 0, PFS_PLAN_GROW, 8192, 1 * G - 4096 },
		/* past EOF: the gap too, as for a write */
		{ 100, 1 * G, 4096, 0, PFS_PLAN_GROW, 100, 1 * G + 4096 - 100 },
		/* empty requests change nothing */
		{ 0, 0, 0, 0, PFS_PLAN_NONE, 0, 0 },
		{ 0, 1 * G, 0, 0, PFS_PLAN_NONE, 0, 0 },
		/* overflow and nonsense */
		{ 0, OFF_MAX, 1, -EFBIG, PFS_PLAN_NONE, 0, 0 },
		{ 0, -1, 1, -EINVAL, PFS_PLAN_NONE, 0, 0 },
		{ -1, 0, 1, -EINVAL, PFS_PLAN_NONE, 0, 0 },
	};

	for (size_t i = 0; i < PFS_ARRAY_SIZE(rows); i++) {
		struct pfs_plan p;
		int ret = pfs_policy_copy(rows[i].size, rows[i].off,
					  rows[i].len, &p);

		CU_ASSERT_EQUAL(ret, rows[i].ret);
		CU_ASSERT_EQUAL(p.kind, rows[i].kind);
		if (p.kind == PFS_PLAN_GROW) {
			CU_ASSERT_EQUAL(p.alloc_off, rows[i].aoff);
			CU_ASSERT_EQUAL(p.alloc_len, rows[i].alen);
			CU_ASSERT_TRUE(p.keep_size);
		}
	}
}

static void test_may_fit(void)
{
	static const struct {
		off_t size, len;
		uint64_t allocated, free_blocks, bs;
		bool fits;
	} rows[] = {
		/* 1 GiB into 110 MiB of 1 KiB blocks: certainly not */
		{ 0, 1 * G, 0, 110 * 1024, 1024, false },
		/*
		 * 100 blocks, the first may already be allocated (EOF
		 * block): 99 + 99 / PFS_META_PER_BLOCKS + PFS_META_SLACK
		 */
		{ 0, 100 * 4096, 0, 99 + PFS_META_SLACK, 4096, true },
		{ 0, 100 * 4096, 0, 98 + PFS_META_SLACK, 4096, false },
		/* the metadata allowance grows with the request */
		{ 0, 10000 * 4096, 0, 9999 + 39 + PFS_META_SLACK, 4096, true },
		{ 0, 10000 * 4096, 0, 9999 + 38 + PFS_META_SLACK, 4096, false },
		/* blocks preallocated past EOF count as already there */
		{ 4096, 200 * 4096, 201 * 4096, 0, 4096, true },
		{ 4096, 200 * 4096, 101 * 4096, 99 + PFS_META_SLACK, 4096, true },
		{ 4096, 200 * 4096, 101 * 4096, 10, 4096, false },
		/* no block size known: let fallocate decide */
		{ 0, 1 * G, 0, 0, 0, true },
		/* nothing free, tiny growth inside the EOF block */
		{ 10, 1, 4096, 0, 4096, true },
	};

	for (size_t i = 0; i < PFS_ARRAY_SIZE(rows); i++) {
		struct pfs_plan p = {
			.kind = PFS_PLAN_GROW,
			.alloc_off = rows[i].size,
			.alloc_len = rows[i].len,
		};

		CU_ASSERT_EQUAL(pfs_policy_may_fit(&p, rows[i].size,
						   rows[i].allocated,
						   rows[i].free_blocks,
						   rows[i].bs),
				rows[i].fits);
	}
	/* a NONE plan always fits */
	struct pfs_plan none = { .kind = PFS_PLAN_NONE };
	CU_ASSERT_TRUE(pfs_policy_may_fit(&none, 0, 0, 0, 4096));
}

static void test_check_range(void)
{
	CU_ASSERT_EQUAL(pfs_policy_check_range(0, 0), 0);
	CU_ASSERT_EQUAL(pfs_policy_check_range(0, OFF_MAX), 0);
	CU_ASSERT_EQUAL(pfs_policy_check_range(1, OFF_MAX), -EFBIG);
	CU_ASSERT_EQUAL(pfs_policy_check_range(OFF_MAX, 1), -EFBIG);
	CU_ASSERT_EQUAL(pfs_policy_check_range(-1, 1), -EINVAL);
	CU_ASSERT_EQUAL(pfs_policy_check_range(0, -1), -EINVAL);
}

static void test_exempt(void)
{
	char *globs[] = { "*.img", "downloads/*", "/vm/disk?.raw" };
	struct pfs_rules r = { .sparse = globs, .nsparse = 3 };
	static const struct {
		const char *path;
		bool exempt;
	} rows[] = {
		/* no '/': the base name, in any directory */
		{ "/a.img", true },
		{ "/deep/er/b.img", true },
		{ "b.img", true },
		{ "/a.img.bak", false },
		{ "/img", false },
		/* with '/': the whole path from the mount root */
		{ "/downloads/x.iso", true },
		{ "downloads/x.iso", true },
		{ "/downloads/sub/x.iso", false },
		{ "/other/downloads/x.iso", false },
		{ "/vm/disk1.raw", true },
		{ "/vm/disk10.raw", false },
		{ "/data/db", false },
	};
	struct pfs_rules none = { 0 };

	for (size_t i = 0; i < PFS_ARRAY_SIZE(rows); i++)
		CU_ASSERT_EQUAL(pfs_policy_exempt(&r, rows[i].path),
				rows[i].exempt);
	/* no globs, or no rules: nothing is exempt */
	CU_ASSERT_FALSE(pfs_policy_exempt(&none, "/a.img"));
	CU_ASSERT_FALSE(pfs_policy_exempt(NULL, "/a.img"));
}

static void test_fallocate_mode(void)
{
	static const struct {
		int mode;
		enum pfs_punch rule;
		enum pfs_punch_action act;
	} rows[] = {
		{ FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PFS_PUNCH_ZERO,
		  PFS_FALLOC_ZERO },
		{ FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PFS_PUNCH_ALLOW,
		  PFS_FALLOC_PASS },
		{ FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PFS_PUNCH_DENY,
		  PFS_FALLOC_DENY },
		{ FALLOC_FL_INSERT_RANGE, PFS_PUNCH_ZERO, PFS_FALLOC_INSERT },
		{ FALLOC_FL_INSERT_RANGE, PFS_PUNCH_ALLOW, PFS_FALLOC_INSERT },
		/* the rest keep their meaning under every rule */
		{ 0, PFS_PUNCH_DENY, PFS_FALLOC_PASS },
		{ FALLOC_FL_KEEP_SIZE, PFS_PUNCH_ZERO, PFS_FALLOC_PASS },
		{ FALLOC_FL_ZERO_RANGE, PFS_PUNCH_DENY, PFS_FALLOC_PASS },
		{ FALLOC_FL_COLLAPSE_RANGE, PFS_PUNCH_ZERO, PFS_FALLOC_PASS },
		{ FALLOC_FL_UNSHARE_RANGE, PFS_PUNCH_ZERO, PFS_FALLOC_PASS },
	};

	for (size_t i = 0; i < PFS_ARRAY_SIZE(rows); i++)
		CU_ASSERT_EQUAL(pfs_policy_fallocate_mode(rows[i].mode,
							  rows[i].rule),
				rows[i].act);
}

int pfs_register_policy_suite(void)
{
	CU_pSuite s = CU_add_suite("policy", NULL, NULL);

	return !s || !CU_add_test(s, "resize", test_resize) ||
	       !CU_add_test(s, "extend", test_extend) ||
	       !CU_add_test(s, "copy", test_copy) ||
	       !CU_add_test(s, "may_fit", test_may_fit) ||
	       !CU_add_test(s, "check_range", test_check_range) ||
	       !CU_add_test(s, "sparse= exemption", test_exempt) ||
	       !CU_add_test(s, "fallocate modes", test_fallocate_mode);
}
