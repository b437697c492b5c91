// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The allocation engine on real files (no mount): growth allocates, refusal
 * leaves the file unchanged, and racing size changes never leave a hole.
 * The race test drives the engine from several threads at once, as the
 * multithreaded FUSE loop does; without the size_lock it finds holes.
 *
 * Holes are counted with FIEMAP, so the files must live on a filesystem
 * that has it (ext4, XFS; not tmpfs).  The directory is PFS_UNIT_TMPDIR,
 * else TMPDIR, else /var/tmp; meson's unit-alloc test (tests/unit/alloc.sh)
 * makes an ext4 image for it.  Without FIEMAP there the suite says so and
 * is skipped (its tests inactive, the runner exits 77), never a silent pass.
 */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_alloc.h"
#include "pfs_inode.h"
#include "suites.h"

static char dir[PATH_MAX];
static struct pfs_inode_table table;
static const struct pfs_alloc_ctx ctx = { .privileged = false };
static CU_pSuite alloc_suite;

/*
 * Does FIEMAP work in dir?  Probed on a small file written there (outside
 * any test, so without CUnit asserts).
 */
static bool do_has_fiemap(void)
{
	char p[PATH_MAX + 16];
	char buf[4096] = { 0 };
	struct fiemap fm = { .fm_length = FIEMAP_MAX_OFFSET,
			     .fm_flags = FIEMAP_FLAG_SYNC };
	bool ok;
	int fd;

	snprintf(p, sizeof(p), "%s/probe", dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		return false;
	ok = pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf) &&
	     ioctl(fd, FS_IOC_FIEMAP, &fm) == 0;
	close(fd);
	unlink(p);
	return ok;
}

static int do_setup(void)
{
	const char *base = getenv("PFS_UNIT_TMPDIR");

	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/var/tmp";
	snprintf(dir, sizeof(dir), "%s/pfs-unit-alloc.XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "alloc suite: mkdtemp in %s: %s\n", base,
			strerror(errno));
		return -1;
	}
	if (!do_has_fiemap()) {
		/* Every check here counts holes: none can run.  Say so. */
		fprintf(stderr,
			"SKIP: alloc suite: no FIEMAP in %s (tmpfs?); set "
			"PFS_UNIT_TMPDIR to a directory on ext4 or XFS (meson "
			"test unit-alloc makes one)\n", base);
		pfs_unit_skipped++;
		for (CU_pTest t = alloc_suite->pTest; t; t = t->pNext)
			CU_set_test_active(t, CU_FALSE);
	}
	return pfs_inode_table_init(&table, open(dir, O_PATH)) == 0 ? 0 : -1;
}

static int do_teardown(void)
{
	char cmd[PATH_MAX + 16];

	pfs_inode_table_destroy(&table);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A new empty file: its inode entry and a read-write fd. */
static struct pfs_inode *do_file(const char *name, int *fd)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	*fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(*fd >= 0);
	CU_ASSERT_FATAL(fstat(*fd, &st) == 0);
	return pfs_inode_get_ref(&table, open(p, O_PATH), &st);
}

/*
 * Bytes inside st_size that no extent covers (written or unwritten), by
 * FIEMAP: the holes a mapped store could fault into.  -1 if unsupported.
 */
static long long do_unallocated(int fd)
{
	enum { N = 256 };
	struct fiemap *fm = calloc(1, sizeof(*fm) + N * sizeof(fm->fm_extents[0]));
	unsigned long long pos = 0, covered_to = 0;
	long long holes = 0;
	struct stat st;
	bool last = false;

	CU_ASSERT_FATAL(fm != NULL);
	fsync(fd);
	fstat(fd, &st);
	while (!last && pos < (unsigned long long)st.st_size) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = pos;
		fm->fm_length = FIEMAP_MAX_OFFSET - pos;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = N;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) == -1) {
			free(fm);
			return -1;
		}
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];

			if (e->fe_logical > covered_to)
				holes += e->fe_logical - covered_to;
			covered_to = e->fe_logical + e->fe_length;
			last = e->fe_flags & FIEMAP_EXTENT_LAST;
		}
		pos = covered_to;
	}
	if (covered_to < (unsigned long long)st.st_size)
		holes += st.st_size - covered_to;
	free(fm);
	return holes;
}

static void test_grow_allocates(void)
{
	struct stat st;
	int fd;
	struct pfs_inode *in = do_file("grow", &fd);

	CU_ASSERT_FATAL(in != NULL);
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, 8 << 20, &ctx), 0);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 8 << 20);
	CU_ASSERT_TRUE((long long)st.st_blocks * 512 >= 8 << 20);
	CU_ASSERT_EQUAL(do_unallocated(fd), 0);
	/* shrinking passes through */
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, 4096, &ctx), 0);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 4096);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

static void test_refusal_changes_nothing(void)
{
	struct stat before, after;
	int fd, ret;
	struct pfs_inode *in = do_file("refuse", &fd);

	CU_ASSERT_FATAL(in != NULL);
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, 12345, &ctx), 0);
	fstat(fd, &before);
	/* far more than any disk: refused, by the pre-check or fallocate */
	ret = pfs_alloc_resize(in, fd, (off_t)1 << 60, &ctx);
	CU_ASSERT_TRUE(ret == -ENOSPC || ret == -EFBIG);
	fstat(fd, &after);
	CU_ASSERT_EQUAL(after.st_size, before.st_size);
	CU_ASSERT_EQUAL(after.st_blocks, before.st_blocks);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

static void test_write_past_eof(void)
{
	char buf[4096];
	struct pfs_extend x;
	struct stat st;
	int fd;
	struct pfs_inode *in = do_file("gap", &fd);

	CU_ASSERT_FATAL(in != NULL);
	memset(buf, 'x', sizeof(buf));
	/* 1 MiB past EOF: the gap is allocated, no hole is left */
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, false,
						     1 << 20, sizeof(buf),
						     &ctx), 0);
	CU_ASSERT_EQUAL(x.plan.kind, PFS_PLAN_GROW);
	pfs_alloc_extend_end(&x, pwrite(fd, buf, sizeof(buf), 1 << 20));
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, (1 << 20) + 4096);
	CU_ASSERT_EQUAL(do_unallocated(fd), 0);

	/* a write that fails gives everything back */
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, false,
						     8 << 20, sizeof(buf),
						     &ctx), 0);
	pfs_alloc_extend_end(&x, -EIO);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, (1 << 20) + 4096);
	CU_ASSERT_TRUE((long long)st.st_blocks * 512 < 4 << 20);

	/* O_APPEND: the request lands at end-of-file, nothing to plan */
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, true,
						     64 << 20, sizeof(buf),
						     &ctx), 0);
	CU_ASSERT_EQUAL(x.plan.kind, PFS_PLAN_NONE);
	CU_ASSERT_EQUAL(x.off, st.st_size);
	pfs_alloc_extend_end(&x, 0);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

static void test_fill_holes(void)
{
	struct pfs_rules keep = { .holes = PFS_HOLES_KEEP };
	struct pfs_engine eng = { .rules = &keep, .root_path = dir };
	struct pfs_alloc_ctx keep_ctx = { .eng = &eng };
	char buf[4096];
	struct stat st;
	int fd;
	struct pfs_inode *in = do_file("holes", &fd);

	CU_ASSERT_FATAL(in != NULL);
	/* data, a 1 MiB hole, data: made natively, behind the engine */
	memset(buf, 'd', sizeof(buf));
	CU_ASSERT_EQUAL(pwrite(fd, buf, sizeof(buf), 0), 4096);
	CU_ASSERT_EQUAL(pwrite(fd, buf, sizeof(buf), 1 << 20), 4096);
	CU_ASSERT_TRUE(do_unallocated(fd) > 0);

	/* holes=keep leaves it sparse */
	CU_ASSERT_EQUAL(pfs_alloc_fill_holes(in, fd, &keep_ctx), 0);
	CU_ASSERT_TRUE(do_unallocated(fd) > 0);

	/* holes=fill (the default) allocates the hole, data unchanged */
	CU_ASSERT_EQUAL(pfs_alloc_fill_holes(in, fd, &ctx), 1);
	CU_ASSERT_EQUAL(do_unallocated(fd), 0);
	/* a second open finds nothing to do */
	CU_ASSERT_EQUAL(pfs_alloc_fill_holes(in, fd, &ctx), 0);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, (1 << 20) + 4096);
	CU_ASSERT_EQUAL(pread(fd, buf, 1, 4096), 1);
	CU_ASSERT_EQUAL(buf[0], 0);
	CU_ASSERT_EQUAL(pread(fd, buf, 1, 1 << 20), 1);
	CU_ASSERT_EQUAL(buf[0], 'd');

	/* a punch becomes zeroing: reads zeros, stays allocated */
	CU_ASSERT_EQUAL(pfs_alloc_fallocate(in, fd,
					    FALLOC_FL_PUNCH_HOLE |
						    FALLOC_FL_KEEP_SIZE,
					    0, 4096, &ctx), 0);
	CU_ASSERT_EQUAL(pread(fd, buf, 1, 0), 1);
	CU_ASSERT_EQUAL(buf[0], 0);
	CU_ASSERT_EQUAL(do_unallocated(fd), 0);

	/* a punch past end-of-file allocates nothing there */
	fstat(fd, &st);
	CU_ASSERT_EQUAL(pfs_alloc_fallocate(in, fd,
					    FALLOC_FL_PUNCH_HOLE |
						    FALLOC_FL_KEEP_SIZE,
					    st.st_size, 1 << 20, &ctx), 0);
	{
		struct stat after;

		fstat(fd, &after);
		CU_ASSERT_EQUAL(after.st_blocks, st.st_blocks);
		CU_ASSERT_EQUAL(after.st_size, st.st_size);
	}

	/*
	 * INSERT_RANGE (the kernel does not forward it to FUSE daemons
	 * today; the engine handles it for when it does): the inserted
	 * range is allocated, the data after it shifted.
	 */
	fstat(fd, &st);
	if (pfs_alloc_fallocate(in, fd, FALLOC_FL_INSERT_RANGE, 0, 65536,
				&ctx) == 0) {
		struct stat after;

		fstat(fd, &after);
		CU_ASSERT_EQUAL(after.st_size, st.st_size + 65536);
		CU_ASSERT_EQUAL(do_unallocated(fd), 0);
		CU_ASSERT_EQUAL(pread(fd, buf, 1, (1 << 20) + 65536), 1);
		CU_ASSERT_EQUAL(buf[0], 'd');
	}
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

/*
 * The filesystem's largest file size (caps.max_bytes, here a pretend
 * 1 MiB): growth past it is EFBIG before any space check, the file
 * unchanged; a write that straddles it is planned up to the limit only
 * (natively it is cut short there).
 */
static void test_max_bytes(void)
{
	struct pfs_engine eng = { .root_path = dir };
	struct pfs_alloc_ctx lim_ctx = { .eng = &eng };
	struct pfs_extend x;
	struct stat st;
	int fd;
	struct pfs_inode *in = do_file("efbig", &fd);

	CU_ASSERT_FATAL(in != NULL);
	fstat(fd, &st);
	eng.caps.dev = st.st_dev;
	eng.caps.max_bytes = 1 << 20;
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, 4096, &lim_ctx), 0);
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, (1 << 20) + 1, &lim_ctx),
			-EFBIG);
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, (off_t)1 << 62, &lim_ctx),
			-EFBIG);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 4096);
	CU_ASSERT_EQUAL(pfs_alloc_extend_begin(&x, in, fd, false, 1 << 20, 1,
					       &lim_ctx), -EFBIG);
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, false,
						     (1 << 20) - 2048, 4096,
						     &lim_ctx), 0);
	CU_ASSERT_EQUAL(x.len, 2048);
	CU_ASSERT_EQUAL(x.plan.alloc_off + x.plan.alloc_len, 1 << 20);
	pfs_alloc_extend_end(&x, 2048);
	CU_ASSERT_EQUAL(pfs_alloc_resize(in, fd, 1 << 20, &lim_ctx), 0);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

/*
 * The device table: a device is probed and published once, later sightings
 * find it, a second add of the same device keeps the first entry, and a
 * copy-on-write device (pretended here) is refused without allow_cow.
 */
static void test_devices(void)
{
	struct pfs_rules rules = { 0 };
	struct pfs_engine eng = { 0 };
	struct pfs_alloc_ctx dctx;
	struct pfs_caps fake = { .dev = 12345, .cow = true,
				 .fs_name = "pretend" };
	const struct pfs_caps *c, *c2;
	struct stat st;
	bool added;
	int fd;
	struct pfs_inode *in = do_file("dev", &fd);

	CU_ASSERT_FATAL(in != NULL);
	pfs_engine_init(&eng, dir, &rules);
	dctx = (struct pfs_alloc_ctx){ .eng = &eng };
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	/* eng.caps (the root's) is zeroed: the tmp dir's device is new */
	CU_ASSERT_PTR_NULL(pfs_engine_caps(&eng, st.st_dev));
	CU_ASSERT_EQUAL(pfs_engine_see(&eng, table.root->fd, &st), 0);
	c = pfs_engine_caps(&eng, st.st_dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->dev, st.st_dev);
	CU_ASSERT_TRUE(c->fallocate_known);
	CU_ASSERT_EQUAL(pfs_engine_see(&eng, table.root->fd, &st), 0);
	CU_ASSERT_PTR_EQUAL(pfs_engine_caps(&eng, st.st_dev), c);

	c2 = pfs_devtable_add(&eng.devs, &fake, &added);
	CU_ASSERT_TRUE(added);
	CU_ASSERT_PTR_EQUAL(pfs_engine_caps(&eng, 12345), c2);
	fake.cow = false;
	CU_ASSERT_PTR_EQUAL(pfs_devtable_add(&eng.devs, &fake, &added), c2);
	CU_ASSERT_FALSE(added);
	CU_ASSERT_TRUE(c2->cow);
	CU_ASSERT_TRUE(pfs_caps_refuse_writes(c2, &rules));
	rules.allow_cow = true;
	CU_ASSERT_FALSE(pfs_caps_refuse_writes(c2, &rules));
	/* a file on the tmp dir's (not copy-on-write) device may be written */
	CU_ASSERT_EQUAL(pfs_alloc_may_write(&dctx, in, false), 0);
	pfs_engine_destroy(&eng);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

/* The race: truncaters and writers on one file at once. */
enum { RACE_SPAN = 2 << 20, RACE_ROUNDS = 3000 };

struct racer {
	struct pfs_inode *in;
	int fd;
	unsigned int seed;
	bool truncater;
	int errors;
};

static void *do_race(void *arg)
{
	struct racer *r = arg;
	char buf[8192];

	memset(buf, 'r', sizeof(buf));
	for (int i = 0; i < RACE_ROUNDS; i++) {
		off_t where = (off_t)(rand_r(&r->seed) % RACE_SPAN) & ~4095;

		if (r->truncater) {
			if (pfs_alloc_resize(r->in, r->fd, where, &ctx) < 0)
				r->errors++;
		} else {
			struct pfs_extend x;
			ssize_t n;

			if (pfs_alloc_extend_begin(&x, r->in, r->fd, false,
						   where, sizeof(buf),
						   &ctx) < 0) {
				r->errors++;
				continue;
			}
			n = pwrite(r->fd, buf, sizeof(buf), where);
			pfs_alloc_extend_end(&x, n < 0 ? -errno : n);
		}
	}
	return NULL;
}

static void test_race_leaves_no_hole(void)
{
	enum { THREADS = 6 };
	struct racer r[THREADS];
	pthread_t tid[THREADS];
	int fd;
	struct pfs_inode *in = do_file("race", &fd);

	CU_ASSERT_FATAL(in != NULL);
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racer){ .in = in, .fd = fd, .seed = 7u * i + 1,
				       .truncater = i % 2 == 0 };
		pthread_create(&tid[i], NULL, do_race, &r[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		CU_ASSERT_EQUAL(r[i].errors, 0);
	}
	CU_ASSERT_EQUAL(do_unallocated(fd), 0);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

/* Another process's append (in-place mounting: the backing side). */
static void do_foreign_append(const char *name, const char *data)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_APPEND);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* The bytes at off read as data. */
static bool do_reads(int fd, off_t off, const char *data)
{
	char buf[64] = { 0 };

	return pread(fd, buf, strlen(data), off) == (ssize_t)strlen(data) &&
	       !memcmp(buf, data, strlen(data));
}

/*
 * A growing write that fails or stops short rolls back only what it added:
 * an append made on the backing side between the start of the request and
 * its roll-back survives (old code truncated back to the size remembered
 * at the start, cutting it).
 */
static void test_rollback_keeps_foreign_append(void)
{
	char buf[4096];
	struct pfs_extend x;
	struct stat st;
	int fd;
	struct pfs_inode *in = do_file("foreign", &fd);

	CU_ASSERT_FATAL(in != NULL);
	memset(buf, 'a', sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(pwrite(fd, buf, sizeof(buf), 0), 4096);

	/* a failed write past EOF; the append lands at the old EOF */
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, false,
						     1 << 20, sizeof(buf),
						     &ctx), 0);
	CU_ASSERT_EQUAL(x.plan.kind, PFS_PLAN_GROW);
	do_foreign_append("foreign", "FOREIGN1");
	pfs_alloc_extend_end(&x, -EIO);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 4096 + 8);
	CU_ASSERT_TRUE(do_reads(fd, 4096, "FOREIGN1"));

	/* a short write; the append lands after what it wrote */
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, false,
						     2 << 20, 2 * sizeof(buf),
						     &ctx), 0);
	CU_ASSERT_EQUAL(pwrite(fd, buf, sizeof(buf), 2 << 20), 4096);
	do_foreign_append("foreign", "FOREIGN2");
	pfs_alloc_extend_end(&x, 4096);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, (2 << 20) + 4096 + 8);
	CU_ASSERT_TRUE(do_reads(fd, (2 << 20) + 4096, "FOREIGN2"));

	/* nobody else wrote: the short write's tail is given back */
	CU_ASSERT_EQUAL_FATAL(pfs_alloc_extend_begin(&x, in, fd, false,
						     8 << 20, 2 * sizeof(buf),
						     &ctx), 0);
	CU_ASSERT_EQUAL(pwrite(fd, buf, sizeof(buf), 8 << 20), 4096);
	pfs_alloc_extend_end(&x, 4096);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, (8 << 20) + 4096);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

/*
 * The rule itself, on a growth left part-way (fallocate mode 0 raised the
 * size over unwritten extents): data another process wrote inside the
 * grown range keeps the size; without it the size and blocks go back.
 */
static void test_undo_growth_rule(void)
{
	struct pfs_undo undo = {
		.keep = 4096,
		.produced = 4096 + (2 << 20),
		.unwritten = true,
		.release = true,
	};
	struct stat st;
	int fd;
	struct pfs_inode *in = do_file("undo", &fd);

	CU_ASSERT_FATAL(in != NULL);
	CU_ASSERT_EQUAL_FATAL(pwrite(fd, "0123456789", 10, 4086), 10);
	if (fallocate(fd, 0, 4096, 1 << 20) == -1) {
		close(fd);
		pfs_inode_forget(&table, in, 1);
		return;	/* no fallocate on this /tmp */
	}
	CU_ASSERT_EQUAL(pwrite(fd, "INSIDE", 6, 512 << 10), 6);
	CU_ASSERT_EQUAL(pfs_backing_undo_growth(fd, &undo), 1);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 4096 + (1 << 20));
	CU_ASSERT_TRUE(do_reads(fd, 512 << 10, "INSIDE"));

	/* grown past anything the request could have made: left alone */
	undo.produced = 4096 + (512 << 10);
	CU_ASSERT_EQUAL(pfs_backing_undo_growth(fd, &undo), 1);

	/* only unwritten extents past keep: rolled back */
	CU_ASSERT_EQUAL_FATAL(ftruncate(fd, 4096), 0);
	CU_ASSERT_EQUAL_FATAL(fallocate(fd, 0, 4096, 1 << 20), 0);
	undo.produced = 4096 + (2 << 20);
	CU_ASSERT_EQUAL(pfs_backing_undo_growth(fd, &undo), 0);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 4096);
	CU_ASSERT_TRUE((long long)st.st_blocks * 512 <= 64 << 10);
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

/* A cancel callback: false the first time, then (after an append) true. */
struct cancel_probe {
	int calls;
	const char *append;	/* another writer's data, or NULL */
};

static bool do_cancel_second(void *arg)
{
	struct cancel_probe *p = arg;

	if (++p->calls < 2)
		return false;
	if (p->append)
		do_foreign_append("cancel", p->append);
	return true;
}

/*
 * A growth interrupted between two pieces of its fallocate answers EINTR
 * and is rolled back; an append another process made in that window
 * survives the roll-back.
 */
static void test_grow_cancelled(void)
{
	struct cancel_probe probe = { 0 };
	struct pfs_grow_how how = {
		.cancelled = do_cancel_second,
		.cancel_arg = &probe,
	};
	struct pfs_plan plan;
	struct stat st;
	bool zeroed;
	int fd;
	struct pfs_inode *in = do_file("cancel", &fd);

	CU_ASSERT_FATAL(in != NULL);
	CU_ASSERT_EQUAL_FATAL(pwrite(fd, "0123456789", 10, 4086), 10);
	fstat(fd, &st);
	/* More than the first piece (256 MiB), on the suite's 512 MiB disk. */
	CU_ASSERT_EQUAL_FATAL(pfs_policy_resize(st.st_size, 384 << 20, &plan),
			      0);
	CU_ASSERT_EQUAL(pfs_backing_grow(fd, &plan, &st, &how, &zeroed),
			-EINTR);
	CU_ASSERT_EQUAL(probe.calls, 2);
	fstat(fd, &st);
	CU_ASSERT_EQUAL(st.st_size, 4096);
	CU_ASSERT_TRUE((long long)st.st_blocks * 512 <= 64 << 10);

	/* interrupted after another process appended: the append stays */
	probe = (struct cancel_probe){ .append = "FOREIGN3" };
	CU_ASSERT_EQUAL(pfs_backing_grow(fd, &plan, &st, &how, &zeroed),
			-EINTR);
	fstat(fd, &st);
	CU_ASSERT_TRUE(st.st_size >= 4096 + 8);
	CU_ASSERT_TRUE(do_reads(fd, st.st_size - 8, "FOREIGN3"));
	CU_ASSERT_TRUE(do_reads(fd, 4086, "0123456789"));
	close(fd);
	pfs_inode_forget(&table, in, 1);
}

int pfs_register_alloc_suite(void)
{
	CU_pSuite s = CU_add_suite("alloc", do_setup, do_teardown);

	alloc_suite = s;
	return !s || !CU_add_test(s, "grow allocates", test_grow_allocates) ||
	       !CU_add_test(s, "refusal changes nothing",
			    test_refusal_changes_nothing) ||
	       !CU_add_test(s, "write past EOF", test_write_past_eof) ||
	       !CU_add_test(s, "largest file size is EFBIG", test_max_bytes) ||
	       !CU_add_test(s, "device table", test_devices) ||
	       !CU_add_test(s, "holes filled at open, punch zeroes",
			    test_fill_holes) ||
	       !CU_add_test(s, "racing size changes leave no hole",
			    test_race_leaves_no_hole) ||
	       !CU_add_test(s, "roll-back keeps another writer's append",
			    test_rollback_keeps_foreign_append) ||
	       !CU_add_test(s, "roll-back rule", test_undo_growth_rule) ||
	       !CU_add_test(s, "interrupted growth", test_grow_cancelled);
}
