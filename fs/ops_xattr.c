// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes.  The f*xattr() calls refuse O_PATH fds, so they go
 * through the /proc/self/fd magic link, which names the inode itself (for a
 * symlink: the link, as l*xattr() would).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_ops.h"
#include "pfs_stats.h"

/*
 * get and list share their shape: a size of 0 asks how large the answer
 * is, otherwise the answer itself, into a buffer of that size.
 */
static void do_get_or_list(fuse_req_t req, fuse_ino_t ino, const char *name,
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
	n = name ? getxattr(proc, name, buf, size) : listxattr(proc, buf, size);
	if (n == -1)
		fuse_reply_err(req, errno);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/*
 * The engine's counters, as a read-only attribute of the mount root: any
 * administrator reads them with getfattr or `preallocfs --stats MNT`
 * without stopping the daemon.
 */
static bool do_is_stats(fuse_ino_t ino, const char *name)
{
	return ino == FUSE_ROOT_ID && !strcmp(name, PFS_STATS_XATTR);
}

static void do_reply_stats(fuse_req_t req, size_t size)
{
	char buf[1024];
	size_t n = pfs_stats_format(&pfs_fs(req)->eng.stats, buf, sizeof(buf));

	if (size == 0)
		fuse_reply_xattr(req, n);
	else if (size < n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, n);
}

void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size)
{
	if (do_is_stats(ino, name))
		do_reply_stats(req, size);
	else
		do_get_or_list(req, ino, name, size);
}

void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	do_get_or_list(req, ino, NULL, size);
}

void pfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	char proc[PFS_PROC_PATH_MAX];
	struct pfs_creds c;
	int ret;

	if (do_is_stats(ino, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	ret = pfs_creds_enter(req, &c);
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
	int ret;

	if (do_is_stats(ino, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	ret = pfs_creds_enter(req, &c);
	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	if (ret == 0) {
		if (removexattr(proc, name) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}
