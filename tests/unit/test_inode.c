// SPDX-License-Identifier: GPL-2.0-or-later
/* Inode table: reference counts, identity, growth, forget, no mount. */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_inode.h"
#include "suites.h"

static char dir[] = "/tmp/pfs-unit-inode.XXXXXX";

static int do_setup(void)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int do_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* An O_PATH fd of dir/name (created) and its stat. */
static int do_path_fd(const char *name, struct stat *st)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	fd = open(p, O_PATH);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(fstat(fd, st) == 0);
	return fd;
}

static int do_open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void test_refcount(void)
{
	struct pfs_inode_table t;
	struct pfs_inode *a, *b;
	struct stat st;
	int fds = do_open_fds();

	CU_ASSERT_FATAL(pfs_inode_table_init(&t, open(dir, O_PATH)) == 0);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 1);

	a = pfs_inode_get_ref(&t, do_path_fd("f", &st), &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->nlookup, 1);
	/* the same (dev, ino) is the same entry; the extra fd is closed */
	b = pfs_inode_get_ref(&t, do_path_fd("f", &st), &st);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(a->nlookup, 2);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 2);
	CU_ASSERT_EQUAL(do_open_fds(), fds + 2);

	pfs_inode_forget(&t, a, 1);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 2);
	pfs_inode_forget(&t, a, 1);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 1);
	CU_ASSERT_EQUAL(do_open_fds(), fds + 1);

	/* the root is never forgotten */
	pfs_inode_forget(&t, t.root, 1000);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 1);

	pfs_inode_table_destroy(&t);
	CU_ASSERT_EQUAL(do_open_fds(), fds);
}

static void test_forget_more_than_held(void)
{
	struct pfs_inode_table t;
	struct pfs_inode *a;
	struct stat st;

	CU_ASSERT_FATAL(pfs_inode_table_init(&t, open(dir, O_PATH)) == 0);
	a = pfs_inode_get_ref(&t, do_path_fd("g", &st), &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	pfs_inode_get_ref(&t, do_path_fd("g", &st), &st);
	/* forget_multi may batch: one call drops all references */
	pfs_inode_forget(&t, a, 5);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 1);
	pfs_inode_table_destroy(&t);
}

static void test_many(void)
{
	enum { N = 5000 };
	struct pfs_inode_table t;
	struct pfs_inode **in = calloc(N, sizeof(*in));
	struct stat st;
	char name[32];
	int fds = do_open_fds();

	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	CU_ASSERT_FATAL(pfs_inode_table_init(&t, open(dir, O_PATH)) == 0);
	/* more entries than initial buckets: the table grows */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		in[i] = pfs_inode_get_ref(&t, do_path_fd(name, &st), &st);
		CU_ASSERT_PTR_NOT_NULL_FATAL(in[i]);
	}
	CU_ASSERT_EQUAL(pfs_inode_count(&t), N + 1);
	CU_ASSERT_TRUE(t.nbuckets > 1024);
	/* after growth every entry is still found by its key */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		CU_ASSERT_PTR_EQUAL(
			pfs_inode_get_ref(&t, do_path_fd(name, &st), &st),
			in[i]);
	}
	for (int i = 0; i < N; i++)
		pfs_inode_forget(&t, in[i], 2);
	CU_ASSERT_EQUAL(pfs_inode_count(&t), 1);
	CU_ASSERT_EQUAL(do_open_fds(), fds + 1);
	pfs_inode_table_destroy(&t);
	CU_ASSERT_EQUAL(do_open_fds(), fds);
	free(in);
}

int pfs_register_inode_suite(void)
{
	CU_pSuite s = CU_add_suite("inode", do_setup, do_teardown);

	return !s || !CU_add_test(s, "refcount", test_refcount) ||
	       !CU_add_test(s, "forget more than held",
			    test_forget_more_than_held) ||
	       !CU_add_test(s, "many entries", test_many);
}
