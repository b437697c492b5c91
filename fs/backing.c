// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backing-store layer (see pfs_backing.h).  This is the only file that
 * calls fallocate() or ftruncate() on backing files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "pfs_backing.h"
#include "pfs_compat.h"
#include "pfs_log.h"

/* Magic numbers not in every <linux/magic.h>. */
#define PFS_XFS_MAGIC 0x58465342
#define PFS_ZFS_MAGIC 0x2fc12fc1
#define PFS_BCACHEFS_MAGIC 0xca451a4e

static const struct {
	unsigned long magic;
	const char *name;
	bool cow;
} known_fs[] = {
	{ EXT4_SUPER_MAGIC, "ext2/ext3/ext4", false },
	{ PFS_XFS_MAGIC, "xfs", false },
	{ TMPFS_MAGIC, "tmpfs", false },
	{ BTRFS_SUPER_MAGIC, "btrfs", true },
	{ PFS_ZFS_MAGIC, "zfs", true },
	{ PFS_BCACHEFS_MAGIC, "bcachefs", true },
	{ F2FS_SUPER_MAGIC, "f2fs", false },
	{ NFS_SUPER_MAGIC, "nfs", false },
	{ FUSE_SUPER_MAGIC, "fuse", false },
	{ OVERLAYFS_SUPER_MAGIC, "overlayfs", false },
};

/*
 * ext4's reserved_clusters, from /sys/fs/ext4/<disk>/, for the device that
 * holds the backing root.  0 when anything is missing.
 */
static unsigned long long do_ext4_reserved(dev_t dev, unsigned long bsize)
{
	char link[PATH_MAX], path[PATH_MAX + 64];
	unsigned long long clusters = 0;
	const char *name;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	snprintf(path, sizeof(path), "/sys/fs/ext4/%s/reserved_clusters",
		 name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &clusters) != 1)
		clusters = 0;
	fclose(f);
	/* Without bigalloc a cluster is a block. */
	return clusters * bsize;
}

int pfs_backing_probe(int dirfd, struct pfs_caps *caps)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	*caps = (struct pfs_caps){ .fs_name = "unknown" };
	if (fstatfs(dirfd, &sfs) == -1)
		return pfs_neg_errno();
	caps->fs_type = (unsigned long)sfs.f_type;
	if (fstat(dirfd, &st) == 0) {
		caps->dev = st.st_dev;
		if (caps->fs_type == EXT4_SUPER_MAGIC)
			caps->reserved_bytes = do_ext4_reserved(
				st.st_dev, (unsigned long)sfs.f_bsize);
	}
	for (size_t i = 0; i < PFS_ARRAY_SIZE(known_fs); i++) {
		if (known_fs[i].magic == caps->fs_type) {
			caps->fs_name = known_fs[i].name;
			caps->cow = known_fs[i].cow;
		}
	}
	/*
	 * Try fallocate on an unnamed temporary file: it leaves nothing
	 * behind whatever happens.  Where O_TMPFILE is not supported the
	 * answer stays unknown and every growth finds out for itself.
	 */
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1)
		return 0;
	caps->fallocate_known = true;
	caps->fallocate = fallocate(fd, 0, 0, 4096) == 0;
	close(fd);
	return 0;
}

/* Free space the caller may use, in f_frsize blocks. */
static int do_free_blocks(int fd, const struct stat *st,
			  const struct pfs_caps *caps, bool privileged,
			  uint64_t *blocks, uint64_t *block_size)
{
	struct statvfs sv;
	uint64_t reserved = 0;

	if (fstatvfs(fd, &sv) == -1)
		return pfs_neg_errno();
	*block_size = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	if (!privileged) {
		*blocks = sv.f_bavail;
		return 0;
	}
	/* Root may dip into the root reserve, not into ext4's own. */
	if (caps && caps->dev == st->st_dev)
		reserved = caps->reserved_bytes / *block_size;
	*blocks = sv.f_bfree > reserved ? sv.f_bfree - reserved : 0;
	return 0;
}

int pfs_backing_truncate(int fd, off_t size)
{
	if (ftruncate(fd, size) == -1)
		return pfs_neg_errno();
	return 0;
}

int pfs_backing_settle(int fd, off_t size)
{
	/*
	 * ftruncate() to the size the file should have also releases the
	 * blocks a KEEP_SIZE allocation left past it (ext4 frees blocks
	 * beyond i_size on truncate even when the size does not change).
	 */
	return pfs_backing_truncate(fd, size);
}

int pfs_backing_grow(int fd, const struct pfs_plan *plan,
		     const struct stat *st, const struct pfs_caps *caps,
		     bool privileged)
{
	uint64_t free_blocks = 0, block_size = 0;
	int mode = plan->keep_size ? FALLOC_FL_KEEP_SIZE : 0;
	int ret, err;

	if (plan->kind != PFS_PLAN_GROW)
		return 0;

	/*
	 * Step 1: refuse what cannot be expected to fit before touching the
	 * file.  A failed fallocate can leave metadata behind (ext4 keeps an
	 * extent block it added), and fills the disk for everyone while it
	 * runs, so requests that would not fit must not reach it.
	 */
	ret = do_free_blocks(fd, st, caps, privileged, &free_blocks,
			     &block_size);
	if (ret < 0)
		return ret;
	if (!pfs_policy_may_fit(plan, st->st_size,
				(uint64_t)st->st_blocks * 512, free_blocks,
				block_size))
		return -ENOSPC;

	/* Step 2: the real allocation. */
	if (fallocate(fd, mode, plan->alloc_off, plan->alloc_len) == 0)
		return 0;
	err = errno;

	/*
	 * Step 3: undo partial work.  ext4 raises i_size as it allocates, so
	 * a failed mode-0 fallocate can leave the file larger; the truncate
	 * back to the old size also frees whatever was allocated past it.
	 */
	if (pfs_backing_truncate(fd, st->st_size) < 0)
		pfs_err("cannot restore size %lld after failed allocation: %m",
			(long long)st->st_size);
	/* ENOSYS would make the kernel give up fallocate for the mount. */
	if (err == ENOSYS)
		err = EOPNOTSUPP;
	return -err;
}

int pfs_backing_fallocate(int fd, int mode, off_t off, off_t len,
			  off_t old_size)
{
	struct stat st;
	int err;

	if (fallocate(fd, mode, off, len) == 0)
		return 0;
	err = errno;
	if (fstat(fd, &st) == 0 && st.st_size != old_size &&
	    pfs_backing_truncate(fd, old_size) < 0)
		pfs_err("cannot restore size %lld after failed fallocate: %m",
			(long long)old_size);
	if (err == ENOSYS)
		err = EOPNOTSUPP;
	return -err;
}
