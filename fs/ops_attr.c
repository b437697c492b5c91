// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Attribute handlers: getattr, setattr (a size change goes through the
 * allocation engine), access, statfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "pfs_alloc.h"
#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_handle.h"
#include "pfs_log.h"
#include "pfs_ops.h"

void pfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int ret;

	(void)fi;
	ret = pfs_do_getattr(pfs_inode(req, ino), &st);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, pfs_fs(req)->timeout);
}

/*
 * truncate/ftruncate: a larger size is allocated first (the fallocate is the
 * size change), a smaller or equal one passes straight through.
 */
static int do_resize(fuse_req_t req, struct pfs_inode *inode,
		     struct fuse_file_info *fi, off_t size)
{
	struct pfs_alloc_ctx ctx = pfs_req_alloc_ctx(req);
	char proc[PFS_PROC_PATH_MAX];
	int fd, ret;

	if (fi)
		return pfs_alloc_resize(inode, pfs_file(fi)->fd, size, &ctx);
	/*
	 * truncate(path): the inode fd is O_PATH, which can neither allocate
	 * nor truncate.  Reopen it for writing through /proc/self/fd
	 * (O_NONBLOCK: never hang on a FIFO; the kernel only sends sizes for
	 * regular files anyway).
	 */
	pfs_proc_path(proc, inode->fd);
	fd = open(proc, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return pfs_neg_errno();
	ret = pfs_alloc_resize(inode, fd, size, &ctx);
	close(fd);
	return ret;
}

static struct timespec do_time(int valid, int set_flag, int now_flag,
			       struct timespec t)
{
	if (valid & now_flag)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (valid & set_flag)
		return t;
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

/*
 * Does this mode change look like the kernel clearing setuid/setgid after
 * a write, truncate or chown (we leave FUSE_CAP_HANDLE_KILLPRIV off, so the
 * kernel sends it as a plain mode change)?  It only removes S_ISUID/S_ISGID
 * from the current mode (*st, read here).
 */
static bool do_looks_like_kill(struct pfs_inode *inode, mode_t mode,
			       struct stat *st)
{
	const mode_t priv = S_ISUID | S_ISGID;

	if (pfs_do_getattr(inode, st) < 0)
		return false;
	return (st->st_mode & 07777) != (mode & 07777) &&
	       (mode & 07777) == (st->st_mode & 07777 & ~priv);
}

/*
 * Would a native kernel have cleared the bits here, with its own rights?
 * Only for a chown of a non-directory, and for a regular file the caller
 * may write (they just wrote or truncated it; an ftruncate comes with its
 * open file).  Run as the caller.  A non-owner's chmod that only strips the
 * bits from anything else (a directory above all) is a chmod like any
 * other, refused natively.
 */
static bool do_kernel_would_kill(struct pfs_inode *inode, const struct stat *st,
				 int valid, struct fuse_file_info *fi)
{
	char proc[PFS_PROC_PATH_MAX];

	if (S_ISDIR(st->st_mode))
		return false;
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		return true;
	if (!S_ISREG(st->st_mode))
		return false;
	if (fi && (valid & FUSE_SET_ATTR_SIZE))
		return true;
	pfs_proc_path(proc, inode->fd);
	return faccessat(AT_FDCWD, proc, W_OK, AT_EACCESS) == 0;
}

static int do_chmod(struct pfs_inode *inode, struct fuse_file_info *fi,
		    mode_t mode)
{
	char proc[PFS_PROC_PATH_MAX];

	/* fchmod() refuses O_PATH fds; the magic link does not. */
	pfs_proc_path(proc, inode->fd);
	if ((fi ? fchmod(pfs_file(fi)->fd, mode) : chmod(proc, mode)) == -1)
		return pfs_neg_errno();
	return 0;
}

/*
 * Without KILLPRIV_V2 the kernel sends no word on the caller's CAP_FSETID
 * with a truncate: where the file has bits to clear, read it (pfs_creds.h).
 */
static void do_resize_fsetid(fuse_req_t req, struct pfs_inode *inode,
			     struct pfs_creds *c)
{
	struct stat st;

	if (fstat(inode->fd, &st) == 0 && pfs_has_kill_bits(st.st_mode))
		pfs_creds_fsetid(c, pfs_creds_caller_fsetid(req));
}

/* Clear setuid, and setgid if group-exec, as a native truncate does. */
static int do_kill_bits(struct pfs_inode *inode, struct fuse_file_info *fi)
{
	struct stat st;
	int ret = pfs_do_getattr(inode, &st);

	if (ret < 0 || !pfs_has_kill_bits(st.st_mode))
		return ret;
	if (!(st.st_mode & S_ISUID) && !(st.st_mode & S_IXGRP))
		return 0;
	st.st_mode &= ~(mode_t)S_ISUID;
	if (st.st_mode & S_IXGRP)
		st.st_mode &= ~(mode_t)S_ISGID;
	return do_chmod(inode, fi, st.st_mode & 07777);
}

void pfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		 int valid, struct fuse_file_info *fi)
{
	struct pfs_inode *inode = pfs_inode(req, ino);
	bool v2 = pfs_fs(req)->killpriv_v2;
	struct pfs_creds c;
	struct stat st;
	bool kill;
	int ret;

	/* With KILLPRIV_V2 the kernel sends no mode change to clear bits. */
	kill = !v2 && (valid & FUSE_SET_ATTR_MODE) &&
	       do_looks_like_kill(inode, attr->st_mode, &st);

	/* Owner, mode, times and size change with the caller's rights. */
	ret = pfs_creds_enter(req, &c);
	if (ret < 0)
		goto out_reply;
	if (kill)
		kill = do_kernel_would_kill(inode, &st, valid, fi);
	/*
	 * The size first: it is the change most likely to be refused
	 * (ENOSPC), and a refused request must leave the file unchanged.
	 */
	if (valid & FUSE_SET_ATTR_SIZE) {
		/*
		 * KILLPRIV_V2: FATTR_KILL_SUIDGID (libfuse's KILL_SUID bit)
		 * comes with a truncate when the caller lacks CAP_FSETID;
		 * the backing truncate then clears the bits as natively.
		 */
		if (v2)
			pfs_creds_fsetid(&c, !(valid & FUSE_SET_ATTR_KILL_SUID));
		else
			do_resize_fsetid(req, inode, &c);
		ret = do_resize(req, inode, fi, attr->st_size);
		pfs_creds_fsetid_end(&c);
		if (ret < 0)
			goto out;
	}
	if ((valid & FUSE_SET_ATTR_MODE) && !kill) {
		ret = do_chmod(inode, fi, attr->st_mode);
		if (ret < 0)
			goto out;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(inode->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == -1) {
			ret = pfs_neg_errno();
			goto out;
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {
			do_time(valid, FUSE_SET_ATTR_ATIME,
				FUSE_SET_ATTR_ATIME_NOW, attr->st_atim),
			do_time(valid, FUSE_SET_ATTR_MTIME,
				FUSE_SET_ATTR_MTIME_NOW, attr->st_mtim),
		};

		if ((fi ? futimens(pfs_file(fi)->fd, tv) :
			  utimensat(inode->fd, "", tv, AT_EMPTY_PATH)) == -1) {
			ret = pfs_neg_errno();
			goto out;
		}
	}
out:
	pfs_creds_leave(&c);
	/*
	 * The kernel's clearing of setuid/setgid comes last, once the rest
	 * (a truncate, say) succeeded, as in a native setattr.
	 */
	if (ret == 0 && kill)
		ret = do_chmod(inode, fi, attr->st_mode);
	/*
	 * KILLPRIV_V2 truncate: a growth is a fallocate, which not every
	 * backing filesystem follows with clearing the bits (tmpfs does
	 * not), where a native truncate always does: clear them here when
	 * the kernel asked, with the daemon's rights.
	 */
	if (ret == 0 && v2 && (valid & FUSE_SET_ATTR_SIZE) &&
	    (valid & FUSE_SET_ATTR_KILL_SUID))
		ret = do_kill_bits(inode, fi);
out_reply:
	/*
	 * Reply with attributes read after the change: a stale, smaller
	 * size would shrink the kernel's idea of the file (and bring SIGBUS
	 * back for mapped pages).
	 */
	if (ret == 0)
		ret = pfs_do_getattr(inode, &st);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, pfs_fs(req)->timeout);
}

/*
 * Sent only without default_permissions.  The kernel sends the ids that
 * access(2) checks (the real ones, or the effective ones for AT_EACCESS):
 * take them on and ask with AT_EACCESS, which checks the thread's current
 * fsuid, fsgid and groups (without it, faccessat would check the daemon's
 * real uid).
 */
void pfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	char proc[PFS_PROC_PATH_MAX];
	struct pfs_creds c;
	int ret;

	pfs_proc_path(proc, pfs_inode(req, ino)->fd);
	ret = pfs_creds_enter(req, &c);
	if (ret == 0) {
		if (faccessat(AT_FDCWD, proc, mask, AT_EACCESS) == -1)
			ret = pfs_neg_errno();
		pfs_creds_leave(&c);
	}
	fuse_reply_err(req, -ret);
}

void pfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	/* The backing filesystem's real numbers. */
	if (fstatvfs(pfs_inode(req, ino)->fd, &sv) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}
