// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File-data handlers.  A write or copy that starts past end-of-file, and a
 * fallocate, change the size: they run under the inode's size_lock held
 * exclusively and allocate through the backing layer first.  Writes inside
 * the file share the lock, so the size cannot shrink under them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_backing.h"
#include "pfs_compat.h"
#include "pfs_handle.h"
#include "pfs_log.h"
#include "pfs_ops.h"
#include "pfs_policy.h"

/* Open flags for the backing file, from the flags the caller opened with. */
static int do_backing_flags(int flags)
{
	/*
	 * O_DIRECT: the kernel already bypasses its own page cache for an
	 * O_DIRECT open of the FUSE file and sends every read and write to
	 * us.  Our request buffers are not aligned to the backing device's
	 * blocks (the data follows a header), so O_DIRECT on the backing fd
	 * would fail every such write with EINVAL.  It is dropped here.
	 * O_NOFOLLOW: we open through the /proc/self/fd magic link, which
	 * O_NOFOLLOW would refuse; the inode is already resolved.
	 */
	flags &= ~(O_DIRECT | O_NOFOLLOW | O_CREAT | O_EXCL | O_NOCTTY);
	return flags | O_CLOEXEC;
}

static struct pfs_file *do_new_file(int fd, int flags)
{
	struct pfs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = fd;
	f->append = flags & O_APPEND;
	return f;
}

static void do_free_file(struct pfs_file *f)
{
	close(f->fd);
	free(f);
}

void pfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi)
{
	char proc[PFS_PROC_PATH_MAX];
	struct fuse_entry_param e;
	struct pfs_file *f;
	int fd, pfd, ret;

	fd = openat(pfs_inode(req, parent)->fd, name,
		    do_backing_flags(fi->flags) | O_CREAT, mode);
	if (fd == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	/* The inode is taken from the new fd, not by name: no race. */
	pfs_proc_path(proc, fd);
	pfd = open(proc, O_PATH | O_CLOEXEC);
	ret = pfd == -1 ? pfs_neg_errno() : pfs_do_entry(req, pfd, &e);
	if (ret < 0)
		goto out_close;
	f = do_new_file(fd, fi->flags);
	if (!f) {
		ret = -ENOMEM;
		pfs_inode_forget(&pfs_fs(req)->table, pfs_inode(req, e.ino), 1);
		goto out_close;
	}
	fi->fh = (uintptr_t)f;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		/* Interrupted: the kernel will send no release or forget. */
		pfs_inode_forget(&pfs_fs(req)->table, pfs_inode(req, e.ino), 1);
		do_free_file(f);
	}
	return;

out_close:
	close(fd);
	fuse_reply_err(req, -ret);
}

void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_inode *inode = pfs_inode(req, ino);
	char proc[PFS_PROC_PATH_MAX];
	bool trunc = fi->flags & O_TRUNC;
	struct pfs_file *f;
	int fd, err;

	pfs_proc_path(proc, inode->fd);
	/* O_TRUNC changes the size: serialize it like any other change. */
	if (trunc)
		pthread_rwlock_wrlock(&inode->size_lock);
	fd = open(proc, do_backing_flags(fi->flags));
	err = errno;
	if (trunc)
		pthread_rwlock_unlock(&inode->size_lock);
	if (fd == -1) {
		fuse_reply_err(req, err);
		return;
	}
	f = do_new_file(fd, fi->flags);
	if (!f) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)f;
	if (fuse_reply_open(req, fi) == -ENOENT)
		do_free_file(f);
}

void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	/* libfuse reads (or splices) straight from the backing fd. */
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = pfs_file(fi)->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

/*
 * Take inode->size_lock for a request that writes [off, off + len) of the
 * file behind fd, and plan the allocation it needs.  Shared when the request
 * starts inside the file, exclusive when it must grow it.  *st is the state
 * under the lock.  0 with the lock held, or -errno without it.
 */
static int do_lock_for_extend(struct pfs_inode *inode, int fd, bool append,
			      off_t off, uint64_t len, struct stat *st,
			      struct pfs_plan *plan)
{
	bool exclusive = false;
	int ret;

	pthread_rwlock_rdlock(&inode->size_lock);
	for (;;) {
		if (fstat(fd, st) == -1) {
			ret = pfs_neg_errno();
			break;
		}
		/* O_APPEND: the backing write lands at end-of-file. */
		ret = pfs_policy_extend(st->st_size, append ? st->st_size : off,
					len, plan);
		if (ret < 0 || plan->kind == PFS_PLAN_NONE || exclusive)
			break;
		/* Growth: retake the lock exclusively and look again. */
		pthread_rwlock_unlock(&inode->size_lock);
		pthread_rwlock_wrlock(&inode->size_lock);
		exclusive = true;
	}
	if (ret < 0)
		pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

void pfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
		   off_t off, struct fuse_file_info *fi)
{
	struct pfs_inode *inode = pfs_inode(req, ino);
	struct pfs_file *f = pfs_file(fi);
	size_t len = fuse_buf_size(in_buf);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(len);
	struct pfs_plan plan;
	struct stat st;
	ssize_t res;
	int ret;

	ret = do_lock_for_extend(inode, f->fd, f->append, off, len, &st, &plan);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (plan.kind == PFS_PLAN_GROW) {
		ret = pfs_backing_grow(f->fd, &plan, &st,
				       pfs_req_privileged(req));
		if (ret < 0) {
			pthread_rwlock_unlock(&inode->size_lock);
			pfs_dbg("write %zu at %lld refused: %d", len,
				(long long)off, ret);
			fuse_reply_err(req, -ret);
			return;
		}
	}

	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = f->fd;
	out.buf[0].pos = off;
	res = fuse_buf_copy(&out, in_buf, 0);

	/*
	 * A growing write that did not complete: give back the space
	 * allocated past what was written, and the size the file had.
	 */
	if (plan.kind == PFS_PLAN_GROW && res != (ssize_t)len)
		pfs_backing_settle(f->fd, res > 0 ? off + res : st.st_size);
	pthread_rwlock_unlock(&inode->size_lock);

	if (res < 0)
		fuse_reply_err(req, (int)-res);
	else
		fuse_reply_write(req, (size_t)res);
}

void pfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int fd;

	(void)ino;
	/*
	 * close() of a duplicate runs the backing filesystem's flush (and
	 * releases POSIX locks) exactly as the caller's close() would.
	 */
	fd = dup(pfs_file(fi)->fd);
	if (fd == -1 || close(fd) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

void pfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	do_free_file(pfs_file(fi));
	fuse_reply_err(req, 0);
}

void pfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi)
{
	int fd = pfs_file(fi)->fd;

	(void)ino;
	if ((datasync ? fdatasync(fd) : fsync(fd)) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

void pfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
		   off_t len, struct fuse_file_info *fi)
{
	struct pfs_inode *inode = pfs_inode(req, ino);
	int fd = pfs_file(fi)->fd;
	struct stat st;
	int ret;

	ret = pfs_policy_check_range(off, len);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	pthread_rwlock_wrlock(&inode->size_lock);
	if (fstat(fd, &st) == -1)
		ret = pfs_neg_errno();
	else
		ret = pfs_backing_fallocate(fd, mode, off, len, st.st_size);
	pthread_rwlock_unlock(&inode->size_lock);
	fuse_reply_err(req, -ret);
}

void pfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			 struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			 off_t off_out, struct fuse_file_info *fi_out,
			 size_t len, int flags)
{
	struct pfs_inode *inode = pfs_inode(req, ino_out);
	int fd_in = pfs_file(fi_in)->fd;
	int fd_out = pfs_file(fi_out)->fd;
	off_t start_out = off_out;
	struct stat src, dst;
	struct pfs_plan plan;
	uint64_t n = len;
	ssize_t res = 0;
	int ret;

	(void)ino_in;
	/*
	 * The copy stops at the source's end-of-file: only what will really
	 * be copied may grow the destination.
	 */
	if (fstat(fd_in, &src) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	if (off_in >= src.st_size)
		n = 0;
	else if (n > (uint64_t)(src.st_size - off_in))
		n = (uint64_t)(src.st_size - off_in);

	ret = do_lock_for_extend(inode, fd_out, false, off_out, n, &dst, &plan);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (plan.kind == PFS_PLAN_NONE) {
		res = copy_file_range(fd_in, &off_in, fd_out, &off_out, len,
				      (unsigned int)flags);
		if (res == -1)
			res = pfs_neg_errno();
		goto out_unlock;
	}

	ret = pfs_backing_grow(fd_out, &plan, &dst, pfs_req_privileged(req));
	if (ret < 0) {
		res = ret;
		goto out_unlock;
	}
	/* A copy may stop short; go on until the planned range is filled. */
	while ((uint64_t)(off_out - start_out) < n) {
		ssize_t r = copy_file_range(fd_in, &off_in, fd_out, &off_out,
					    n - (uint64_t)(off_out - start_out),
					    (unsigned int)flags);
		if (r == -1) {
			if (off_out == start_out)
				res = pfs_neg_errno();
			break;
		}
		if (r == 0)
			break;
	}
	if (res == 0)
		res = off_out - start_out;
	if ((uint64_t)(off_out - start_out) != n)
		pfs_backing_settle(fd_out, off_out > start_out ? off_out :
								 dst.st_size);
out_unlock:
	pthread_rwlock_unlock(&inode->size_lock);
	if (res < 0)
		fuse_reply_err(req, (int)-res);
	else
		fuse_reply_write(req, (size_t)res);
}

void pfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi)
{
	off_t res;

	(void)ino;
	res = lseek(pfs_file(fi)->fd, off, whence);
	if (res == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}
