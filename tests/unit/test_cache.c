// SPDX-License-Identifier: GPL-2.0-or-later
/* Page cache across opens: stamp comparison and trust, and opens of a file. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pfs_cache.h"
#include "suites.h"

#define S 1000000000LL

static struct pfs_stamp do_stamp(int64_t size, int64_t m, int64_t c,
				 int64_t taken)
{
	return (struct pfs_stamp){ .size = size, .mtime_ns = m,
				   .ctime_ns = c, .taken_ns = taken,
				   .valid = true };
}

static void test_same(void)
{
	struct pfs_stamp a = do_stamp(10, 5 * S + 1, 6 * S + 2, 9 * S);
	struct pfs_stamp b = a;
	struct pfs_stamp invalid = { .valid = false };

	CU_ASSERT_TRUE(pfs_stamp_same(&a, &b));
	b.taken_ns = 20 * S;	/* when it was taken does not matter */
	CU_ASSERT_TRUE(pfs_stamp_same(&a, &b));
	b = a;
	b.size = 11;		/* append, truncate */
	CU_ASSERT_FALSE(pfs_stamp_same(&a, &b));
	b = a;
	b.mtime_ns++;		/* rewrite of the same size */
	CU_ASSERT_FALSE(pfs_stamp_same(&a, &b));
	b = a;
	b.ctime_ns++;		/* rewrite with the mtime set back */
	CU_ASSERT_FALSE(pfs_stamp_same(&a, &b));
	CU_ASSERT_FALSE(pfs_stamp_same(&a, &invalid));
	CU_ASSERT_FALSE(pfs_stamp_same(&invalid, &invalid));
}

static void test_trusted(void)
{
	static const struct {
		int64_t ctime, mtime, taken;
		bool trusted;
	} rows[] = {
		/* nanosecond timestamps: the change is in an earlier tick */
		{ 5 * S + 7, 5 * S + 7, 5 * S + 8, true },
		/* ... or in the tick the stamp was taken: racy */
		{ 5 * S + 8, 5 * S + 8, 5 * S + 8, false },
		{ 5 * S + 9, 5 * S + 9, 5 * S + 8, false },
		/* whole seconds: two seconds of margin */
		{ 5 * S, 5 * S, 6 * S, false },
		{ 5 * S, 5 * S, 7 * S, false },
		{ 5 * S, 5 * S, 7 * S + 1, true },
		/* an mtime set to a whole second does not make it coarse */
		{ 5 * S + 3, 5 * S, 5 * S + 4, true },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pfs_stamp s = do_stamp(1, rows[i].mtime, rows[i].ctime,
					      rows[i].taken);

		CU_ASSERT_EQUAL(pfs_stamp_trusted(&s), rows[i].trusted);
	}
	CU_ASSERT_FALSE(pfs_stamp_trusted(&(struct pfs_stamp){ 0 }));
}

/* A real file: the verdicts of successive opens. */
static void test_open(void)
{
	char path[] = "/tmp/pfs-unit-cache.XXXXXX";
	struct pfs_inode inode = { 0 };
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct stat st;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	CU_ASSERT_FATAL(write(fd, "abcd", 4) == 4);
	pthread_mutex_init(&inode.cache_lock, NULL);
	CU_ASSERT_FATAL(fstat(fd, &st) == 0);
	pfs_cache_init(&inode, &st);
	nanosleep(&pause, NULL);
	/* Changed in the tick of the lookup: racy, pages dropped once. */
	CU_ASSERT_NOT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_KEEP);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_KEEP);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_KEEP);
	/* A rewrite of the same size, then opens in later ticks. */
	CU_ASSERT_FATAL(pwrite(fd, "x", 1, 0) == 1);
	nanosleep(&pause, NULL);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_DROP_ATTRS);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_KEEP);
	/*
	 * Opened in the tick of the change (almost always: a tick boundary
	 * may fall between the two calls): the next open drops the pages
	 * too, and only the one after keeps them.
	 */
	CU_ASSERT_FATAL(pwrite(fd, "y", 1, 0) == 1);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_DROP_ATTRS);
	nanosleep(&pause, NULL);
	CU_ASSERT_NOT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_DROP_ATTRS);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_KEEP);
	/* A truncate. */
	CU_ASSERT_FATAL(ftruncate(fd, 2) == 0);
	CU_ASSERT_EQUAL(pfs_cache_open(&inode, fd), PFS_CACHE_DROP_ATTRS);
	pthread_mutex_destroy(&inode.cache_lock);
	close(fd);
}

int pfs_register_cache_suite(void)
{
	CU_pSuite s = CU_add_suite("cache", NULL, NULL);

	if (!s || !CU_add_test(s, "stamp comparison", test_same) ||
	    !CU_add_test(s, "racy stamps", test_trusted) ||
	    !CU_add_test(s, "opens of a file", test_open))
		return 1;
	return 0;
}
