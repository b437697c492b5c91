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
 * trusted.* attributes are for CAP_SYS_ADMIN only.  The daemon keeps that
 * capability even with the caller's fsuid, so the backing filesystem would
 * show them to anyone: hide and refuse them here, as the kernel does for an
 * unprivileged caller (listxattr leaves the names out, getxattr answers
 * ENODATA, set and remove EPERM).  Root stands for "has CAP_SYS_ADMIN".
 */
static bool do_is_hidden(fuse_req_t req, const char *name)
{
	static const char trusted[] = "trusted.";

	return fuse_req_ctx(req)->uid != 0 &&
	       !strncmp(name, trusted, sizeof(trusted) - 1);
}

/* Drop the hidden names from a listxattr answer; its new length. */
static size_t do_filter_list(fuse_req_t req, char *list, size_t len)
{
	size_t in = 0;
	size_t out = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in) + 1;

		if (!do_is_hidden(req, list + in)) {
			memmove(list + out, list + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

/*
 * The whole name list, filtered: it is fetched even for a size query (a
 * size of 0), since the size the caller gets must be the filtered one.
 * *list is malloc()ed.  Its length, or -errno.
 */
static ssize_t do_list(fuse_req_t req, const char *proc, char **list)
{
	ssize_t n;

	for (;;) {
		n = listxattr(proc, NULL, 0);
		if (n == -1)
			return pfs_neg_errno();
		*list = malloc(n ? (size_t)n : 1);
		if (!*list)
			return -ENOMEM;
		n = listxattr(proc, *list, (size_t)n);
		if (n >= 0)
			return (ssize_t)do_filter_list(req, *list, (size_t)n);
		n = pfs_neg_errno();
		free(*list);
		*list = NULL;
		/* ERANGE: the list grew meanwhile; ask again. */
		if (n != -ERANGE)
			return n;
	}
}

/*
 * get and list share their shape: a size of 0 asks how large the answer
 * is, otherwise the answer itself, into a buffer of that size.  Both run as
 * the caller where the kernel has not checked permissions (user.*
 * attributes need read permission on the file).
 */
static void do_get_or_list(fuse_req_t req, fuse_ino_t ino, const char *name,
			   size_t size)
{
	char proc[PFS_PROC_PATH_MAX];
	struct pfs_creds c;
	char *buf = NULL;
	ssize_t n;

	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	n = pfs_creds_enter_look(req, &c);
	if (n < 0)
		goto out_reply;
	if (!name) {
		n = do_list(req, proc, &buf);
		if (n >= 0 && size && (size_t)n > size)
			n = -ERANGE;
		goto out_leave;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			n = -ENOMEM;
			goto out_leave;
		}
	}
	n = getxattr(proc, name, buf, size);
	if (n == -1)
		n = pfs_neg_errno();
out_leave:
	pfs_creds_leave(&c);
out_reply:
	if (n < 0)
		fuse_reply_err(req, (int)-n);
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
	else if (do_is_hidden(req, name))
		fuse_reply_err(req, ENODATA);
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

	if (do_is_stats(ino, name) || do_is_hidden(req, name)) {
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

	if (do_is_stats(ino, name) || do_is_hidden(req, name)) {
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
