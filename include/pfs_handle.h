/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Open-file and open-directory handles, stored in fuse_file_info.fh.
 * A handle is a small struct rather than a bare fd so it can later carry a
 * FUSE passthrough backing id (libfuse >= 3.17) without touching handlers.
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

struct pfs_file {
	int fd;		/* backing fd, opened with the caller's access mode */
	bool append;	/* opened O_APPEND: every write lands at end-of-file */
};

struct pfs_dir {
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
