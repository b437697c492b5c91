// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The page cache across opens (see pfs_cache.h for the rule).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>

#include "pfs_cache.h"

#define NSEC_PER_SEC 1000000000LL

/*
 * Timestamps with no nanoseconds at all come from a filesystem that keeps
 * whole seconds (ext4 with 128-byte inodes, ext2) or two (FAT): a change
 * up to two seconds later may carry the same ones.
 */
#define PFS_COARSE_MARGIN_NS (2 * NSEC_PER_SEC)

static int64_t do_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

void pfs_stamp_of(struct pfs_stamp *s, const struct stat *st,
		  const struct timespec *now)
{
	s->size = st->st_size;
	s->mtime_ns = do_ns(&st->st_mtim);
	s->ctime_ns = do_ns(&st->st_ctim);
	s->taken_ns = do_ns(now);
	s->valid = true;
}

bool pfs_stamp_same(const struct pfs_stamp *a, const struct pfs_stamp *b)
{
	return a->valid && b->valid && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

bool pfs_stamp_trusted(const struct pfs_stamp *s)
{
	int64_t margin = 0;

	if (s->mtime_ns % NSEC_PER_SEC == 0 && s->ctime_ns % NSEC_PER_SEC == 0)
		margin = PFS_COARSE_MARGIN_NS;
	/*
	 * The file's last change must lie in an earlier clock tick than the
	 * moment the stamp was taken (the coarse clock is the filesystems'
	 * clock): then any later change carries a later ctime.
	 */
	return s->valid && s->ctime_ns < s->taken_ns - margin;
}

/* A stamp of fd now; invalid if fstat fails. */
static void do_take(struct pfs_stamp *s, int fd)
{
	struct timespec now;
	struct stat st;

	if (fstat(fd, &st) == -1) {
		*s = (struct pfs_stamp){ .valid = false };
		return;
	}
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	pfs_stamp_of(s, &st, &now);
}

void pfs_cache_init(struct pfs_inode *inode, const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	/* No lock: the entry is not in the table yet. */
	pfs_stamp_of(&inode->stamp, st, &now);
}

enum pfs_cache_verdict pfs_cache_open(struct pfs_inode *inode, int fd)
{
	enum pfs_cache_verdict v;
	struct pfs_stamp now;

	do_take(&now, fd);
	pthread_mutex_lock(&inode->cache_lock);
	if (!pfs_stamp_same(&inode->stamp, &now))
		v = PFS_CACHE_DROP_ATTRS;
	else if (!pfs_stamp_trusted(&inode->stamp))
		v = PFS_CACHE_DROP;
	else
		v = PFS_CACHE_KEEP;
	/*
	 * After this open the kernel's pages are current (kept because
	 * nothing changed) or gone, and its attributes are refreshed.
	 */
	inode->stamp = now;
	pthread_mutex_unlock(&inode->cache_lock);
	return v;
}
