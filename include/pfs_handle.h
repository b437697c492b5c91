/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Open-file and open-directory handles, stored in fuse_file_info.fh.
 * A handle is a small struct rather than a bare fd, so it also carries the
 * FUSE passthrough state of the open (-o passthrough, libfuse >= 3.17).
 * A handle is used by one request at a time for directories (the kernel
 * serializes readdir per open file); file handles are only read after open.
 */
#ifndef PFS_HANDLE_H
#define PFS_HANDLE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pfs_fuse.h"

/*
 * Every open handle is on the filesystem's list of open handles (pfs_fs
 * open_lock), so that handles the kernel never released (the daemon was
 * stopped with files open) are closed when the session ends.
 */
enum pfs_handle_kind { PFS_HANDLE_FILE, PFS_HANDLE_DIR };

struct pfs_handle {
	enum pfs_handle_kind kind;	/* immutable */
	struct pfs_handle *prev;	/* open_lock */
	struct pfs_handle *next;	/* open_lock */
};

struct pfs_inode;

struct pfs_file {
	struct pfs_handle h;
	int fd;		/* backing fd, opened with the caller's access mode */
	bool append;	/* opened O_APPEND: every write lands at end-of-file */
	/*
	 * -o passthrough: how this open counts in its inode's open mode
	 * (pfs_inode pt_*): the backing id its reads and writes go to, or
	 * counted as a classic (cached) open; set at open, then immutable.
	 */
	int backing_id;			/* > 0: a passthrough open */
	struct pfs_inode *pt_inode;	/* whose pt_* count it, or NULL */
};

struct pfs_dir {
	struct pfs_handle h;
	DIR *dp;
	off_t offset;		/* telldir() cookie of the next entry */
	struct dirent *entry;	/* read but not yet returned, or NULL */
};

static inline struct pfs_file *pfs_file(const struct fuse_file_info *fi)
{
	return (struct pfs_file *)(uintptr_t)fi->fh;
}

static inline struct pfs_dir *pfs_dir(const struct fuse_file_info *fi)
{
	return (struct pfs_dir *)(uintptr_t)fi->fh;
}

#endif /* PFS_HANDLE_H */
