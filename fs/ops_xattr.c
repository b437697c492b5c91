// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes.  The f*xattr() calls refuse O_PATH fds, so they go
 * through the /proc/self/fd magic link, which names the inode itself (for a
 * symlink: the link, as l*xattr() would).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_ops.h"

/* Reply to a get/list call: the size asked about, or the data. */
static void do_reply_xattr(fuse_req_t req, size_t size, ssize_t n,
			   const char *buf)
{
	if (n == -1)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size)
{
	char proc[PFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;

	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = getxattr(proc, name, buf, size);
	do_reply_xattr(req, size, n, buf);
	free(buf);
}

void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char proc[PFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;

	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = listxattr(proc, buf, size);
	do_reply_xattr(req, size, n, buf);
	free(buf);
}

void pfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	char proc[PFS_PROC_PATH_MAX];
	struct pfs_creds c;
	int ret = pfs_creds_enter(req, &c);

	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	if (ret == 0) {
		if (setxattr(proc, name, value, size, flags) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}

void pfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char proc[PFS_PROC_PATH_MAX];
	struct pfs_creds c;
	int ret = pfs_creds_enter(req, &c);

	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	if (ret == 0) {
		if (removexattr(proc, name) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}
