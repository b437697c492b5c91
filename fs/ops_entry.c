// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory-entry handlers: lookup, forget, the ones that create or remove
 * names, and readlink.  All are *at() calls on the parent's O_PATH fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_log.h"
#include "pfs_ops.h"

void pfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct pfs_creds c;
	int ret;

	pfs_dbg("lookup(parent=%" PRIu64 ", name=%s)", (uint64_t)parent, name);
	/*
	 * Without default_permissions the search permission on parent is
	 * checked here, by the backing filesystem, as the caller.
	 */
	ret = pfs_creds_enter_look(req, &c);
	if (ret == 0) {
		ret = pfs_do_lookup(req, parent, name, &e);
		pfs_creds_leave(&c);
	}
	if (ret == -ENOENT && pfs_fs(req)->negative_timeout > 0 &&
	    pfs_creds_kernel_checks()) {
		/*
		 * A missing name, cached (negative_timeout=, exclusive): an
		 * entry with inode 0.  Not without default_permissions, for
		 * the reason names are not cached there (pfs_do_entry).
		 */
		e = (struct fuse_entry_param){
			.entry_timeout = pfs_fs(req)->negative_timeout,
		};
		fuse_reply_entry(req, &e);
	} else if (ret < 0) {
		fuse_reply_err(req, -ret);
	} else {
		fuse_reply_entry(req, &e);
	}
}

void pfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pfs_inode_forget(&pfs_fs(req)->table, pfs_inode(req, ino), nlookup);
	fuse_reply_none(req);
}

void pfs_forget_multi(fuse_req_t req, size_t count,
		      struct fuse_forget_data *forgets)
{
	struct pfs_fs *fs = pfs_fs(req);

	for (size_t i = 0; i < count; i++)
		pfs_inode_forget(&fs->table, pfs_inode(req, forgets[i].ino),
				 forgets[i].nlookup);
	fuse_reply_none(req);
}

void pfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	struct pfs_creds c;
	ssize_t n;
	int ret;

	ret = pfs_creds_enter_look(req, &c);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	n = readlinkat(pfs_inode(req, ino)->fd, "", buf, sizeof(buf));
	ret = n == -1 ? pfs_neg_errno() : 0;
	pfs_creds_leave(&c);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Reply to a request that made a new name: the entry, or the error. */
static void do_reply_new_entry(fuse_req_t req, fuse_ino_t parent,
			       const char *name, int ret)
{
	struct fuse_entry_param e;

	if (ret == 0)
		ret = pfs_do_lookup(req, parent, name, &e);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

void pfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode, dev_t rdev)
{
	struct pfs_creds c;
	int ret = pfs_creds_enter_create(req, &c, &mode);

	if (ret == 0) {
		if (mknodat(pfs_inode(req, parent)->fd, name, mode, rdev) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	do_reply_new_entry(req, parent, name, ret);
}

void pfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode)
{
	struct pfs_creds c;
	int ret = pfs_creds_enter_create(req, &c, &mode);

	if (ret == 0) {
		if (mkdirat(pfs_inode(req, parent)->fd, name, mode) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	do_reply_new_entry(req, parent, name, ret);
}

void pfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name)
{
	struct pfs_creds c;
	int ret = pfs_creds_enter(req, &c);

	if (ret == 0) {
		if (symlinkat(link, pfs_inode(req, parent)->fd, name) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	do_reply_new_entry(req, parent, name, ret);
}

void pfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname)
{
	char proc[PFS_PROC_PATH_MAX];
	struct pfs_creds c;
	int ret;

	/*
	 * linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the
	 * /proc/self/fd magic link with AT_SYMLINK_FOLLOW names the same
	 * inode (a symlink included) without it.
	 */
	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	ret = pfs_creds_enter(req, &c);
	if (ret == 0) {
		if (linkat(AT_FDCWD, proc, pfs_inode(req, newparent)->fd,
			   newname, AT_SYMLINK_FOLLOW) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	do_reply_new_entry(req, newparent, newname, ret);
}

void pfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct pfs_creds c;
	int ret = pfs_creds_enter(req, &c);

	if (ret == 0) {
		if (unlinkat(pfs_inode(req, parent)->fd, name, 0) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}

void pfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct pfs_creds c;
	int ret = pfs_creds_enter(req, &c);

	if (ret == 0) {
		if (unlinkat(pfs_inode(req, parent)->fd, name, AT_REMOVEDIR) ==
		    -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}

void pfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct pfs_creds c;
	int ret = pfs_creds_enter(req, &c);

	/* flags (RENAME_NOREPLACE, RENAME_EXCHANGE, ...) pass through. */
	if (ret == 0) {
		if (renameat2(pfs_inode(req, parent)->fd, name,
			      pfs_inode(req, newparent)->fd, newname,
			      flags) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}
