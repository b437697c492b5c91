// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File-data handlers.  Everything that can change a file's size or
 * allocation (write, copy_file_range, fallocate) runs inside an allocation
 * engine transaction (pfs_alloc.h); the handlers only decode and reply.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_alloc.h"
#include "pfs_bdi.h"
#include "pfs_cache.h"
#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_handle.h"
#include "pfs_fuse.h"
#include "pfs_log.h"
#include "pfs_ops.h"

/*
 * Open flags for the backing file, from the flags the caller opened with.
 * Shared by open and create; open() then drops O_NOFOLLOW itself (see
 * pfs_open), create keeps it.
 */
static int do_backing_flags(int flags)
{
	/*
	 * O_DIRECT: the kernel already bypasses its own page cache for an
	 * O_DIRECT open of the FUSE file and sends every read and write to
	 * us.  Our request buffers are not aligned to the backing device's
	 * blocks (the data follows a header), so O_DIRECT on the backing fd
	 * would fail every such write with EINVAL.  It is dropped here.
	 * O_CREAT and O_EXCL are not dropped: the kernel leaves O_EXCL to
	 * the filesystem, and in create the name may have appeared on the
	 * backing side since the kernel's lookup (in-place mounting), where
	 * only the backing openat() can still refuse it.  In open the inode
	 * exists already and the kernel never sends them.
	 */
	flags &= ~(O_DIRECT | O_NOCTTY);
	return flags | O_CLOEXEC;
}

/* A tracked handle for fd; NULL (fd untouched) when out of memory. */
static struct pfs_file *do_new_file(fuse_req_t req, int fd, int flags)
{
	struct pfs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->h.kind = PFS_HANDLE_FILE;
	f->fd = fd;
	f->append = flags & O_APPEND;
	pfs_handle_track(req, &f->h);
	return f;
}

/*
 * -o passthrough.  The kernel does a passthrough file's reads, writes,
 * splice and mmap on the backing file itself; size changes (setattr),
 * fallocate and copy_file_range still come here, so the growth rule holds,
 * and holes were filled at open.  What the daemon cannot see is a write
 * that starts past end-of-file: its gap stays a hole until the next open
 * for writing fills it (PFS_PASSTHROUGH_CAVEAT).
 *
 * The kernel takes an inode's opens as either all passthrough, sharing one
 * backing file, or all classic at any one time, and fails an open that
 * breaks the rule with EIO.  So an open joins the mode its inode is in,
 * and only an inode without open handles may start passthrough; if that
 * fails the open stays classic.  A user's open() never fails because of
 * passthrough.
 */

/* The unprivileged identity passthrough reads and writes run as. */
#define PFS_PT_NOBODY 65534

/*
 * Register fd (this open's backing fd) as the inode's backing file: its id,
 * or 0.  The kernel runs the passthrough reads and writes with the
 * credentials of this call, so it is made as nobody (a non-zero fsuid also
 * drops CAP_FSETID; CAP_SYS_ADMIN, which the ioctl needs, stays): such
 * writes never take ext4's root reserve, whoever opens the file, and they
 * clear setuid and setgid bits as an ordinary user's writes do.
 */
static int do_backing_register(fuse_req_t req, int fd)
{
	struct pfs_creds c;
	int id;

	pfs_creds_enter_ids(PFS_PT_NOBODY, PFS_PT_NOBODY, &c);
	id = pfs_passthrough_open(req, fd);
	pfs_creds_leave(&c);
	return id > 0 ? id : 0;
}

static void do_passthrough_open(fuse_req_t req, struct pfs_inode *inode,
				struct pfs_file *f, struct fuse_file_info *fi)
{
	struct pfs_fs *fs = pfs_fs(req);

	if (!fs->pt_active)
		return;
	pthread_mutex_lock(&fs->pt_lock);
	if (!inode->pt_opens && !inode->pt_cached && !inode->pt_failed) {
		inode->pt_backing_id = do_backing_register(req, f->fd);
		/* Not again for this inode: libfuse logs every failure. */
		inode->pt_failed = !inode->pt_backing_id;
	}
	if (inode->pt_backing_id) {
		inode->pt_opens++;
		f->backing_id = inode->pt_backing_id;
	} else {
		inode->pt_cached++;
	}
	f->pt_inode = inode;
	pthread_mutex_unlock(&fs->pt_lock);
	if (!f->backing_id)
		return;
	pfs_fi_set_backing(fi, f->backing_id);
	/*
	 * Pages cached by earlier classic opens may be stale: drop them.
	 * FOPEN_DIRECT_IO would override passthrough in the kernel.
	 */
	fi->keep_cache = 0;
	fi->direct_io = 0;
}

/* The release side: the last passthrough open unregisters the backing. */
static void do_passthrough_release(fuse_req_t req, struct pfs_file *f)
{
	struct pfs_fs *fs = pfs_fs(req);
	struct pfs_inode *inode = f->pt_inode;

	if (!inode)
		return;
	pthread_mutex_lock(&fs->pt_lock);
	if (!f->backing_id) {
		inode->pt_cached--;
	} else if (--inode->pt_opens == 0) {
		pfs_passthrough_close(req, inode->pt_backing_id);
		inode->pt_backing_id = 0;
	}
	pthread_mutex_unlock(&fs->pt_lock);
}

static void do_free_file(fuse_req_t req, struct pfs_file *f)
{
	do_passthrough_release(req, f);
	pfs_handle_untrack(req, &f->h);
	close(f->fd);
	free(f);
}

/*
 * Keep the kernel's pages of a file across this open only if the backing
 * file has not changed since the kernel last saw it (pfs_cache.h).  When it
 * has, the kernel's attributes (its size above all) are stale too: drop
 * them (offset -1: attributes only; the pages go because keep_cache is
 * off, after the reply, so nothing here waits on a page lock).
 */
static void do_cache_verdict(fuse_req_t req, fuse_ino_t ino, int fd,
			     struct fuse_file_info *fi)
{
	switch (pfs_cache_open(pfs_inode(req, ino), fd)) {
	case PFS_CACHE_KEEP:
		fi->keep_cache = 1;
		break;
	case PFS_CACHE_DROP_ATTRS:
		fuse_lowlevel_notify_inval_inode(pfs_fs(req)->se, ino, -1, 0);
		/* fall through */
	case PFS_CACHE_DROP:
		fi->keep_cache = 0;
		break;
	}
}

/*
 * Writing to (or creating) a regular file on a copy-on-write device below
 * the root mounted without allow_cow could lose stores: -EROFS there.
 */
static int do_may_write(fuse_req_t req, struct pfs_inode *inode, bool create)
{
	struct pfs_alloc_ctx ctx = pfs_req_alloc_ctx(req);

	return pfs_alloc_may_write(&ctx, inode, create);
}

/*
 * openat(O_CREAT) that tells whether this call created the file (*created),
 * so that a failure later in create removes only a file it made.  Without
 * O_EXCL the caller may open an existing file: try O_EXCL first, then open
 * what is there; a name removed in between is tried again, a few times
 * (then plain O_CREAT, as natively, e.g. over a dangling symlink).
 */
static int do_create_open(int dirfd, const char *name, int flags,
			  mode_t mode, bool *created)
{
	int fd;

	*created = false;
	if (!(flags & O_EXCL)) {
		for (int i = 0; i < 8; i++) {
			fd = openat(dirfd, name, flags | O_CREAT | O_EXCL,
				    mode);
			if (fd != -1) {
				*created = true;
				return fd;
			}
			if (errno != EEXIST)
				return -1;
			fd = openat(dirfd, name, flags & ~O_CREAT);
			if (fd != -1 || errno != ENOENT)
				return fd;
		}
	}
	fd = openat(dirfd, name, flags | O_CREAT, mode);
	*created = fd != -1 && (flags & O_EXCL);
	return fd;
}

/*
 * Undo the creation of name (the file behind fd) after a later step of
 * create failed: unlink it, if the name still leads to that file.
 */
static void do_uncreate(int dirfd, const char *name, int fd)
{
	struct stat mine, now;
	int saved = errno;

	if (fstat(fd, &mine) == 0 &&
	    fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    mine.st_dev == now.st_dev && mine.st_ino == now.st_ino &&
	    unlinkat(dirfd, name, 0) == -1)
		pfs_err("cannot remove %s again after a failed create: %m",
			name);
	errno = saved;
}

/*
 * An O_TRUNC open of an existing file with setuid/setgid bits (name in
 * dirfd, or "" for dirfd itself): the backing truncate clears them as for
 * a caller with this thread's CAP_FSETID; give it the caller's
 * (pfs_creds.h).  Undone by pfs_creds_fsetid_end.
 */
static void do_trunc_fsetid(fuse_req_t req, int dirfd, const char *name,
			    struct pfs_creds *c)
{
	struct stat st;

	if (fstatat(dirfd, name, &st,
		    AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) == 0 &&
	    pfs_has_kill_bits(st.st_mode))
		pfs_creds_fsetid(c, pfs_creds_caller_fsetid(req));
}

void pfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi)
{
	char proc[PFS_PROC_PATH_MAX];
	struct fuse_entry_param e;
	struct pfs_creds c;
	struct pfs_file *f;
	bool created;
	int fd, pfd, ret;

	/* With the daemon's own credentials: it writes to /sys. */
	pfs_bdi_readahead_apply();
	ret = do_may_write(req, pfs_inode(req, parent), true);
	if (ret == 0)
		ret = pfs_creds_enter_create(req, &c, &mode);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (fi->flags & O_TRUNC)
		do_trunc_fsetid(req, pfs_inode(req, parent)->fd, name, &c);
	fd = do_create_open(pfs_inode(req, parent)->fd, name,
			    do_backing_flags(fi->flags), mode, &created);
	ret = fd == -1 ? pfs_neg_errno() : 0;
	pfs_creds_fsetid_end(&c);
	pfs_creds_leave(&c);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	/* The inode is taken from the new fd, not by name: no race. */
	pfs_proc_path(proc, fd);
	pfd = open(proc, O_PATH | O_CLOEXEC);
	ret = pfd == -1 ? pfs_neg_errno() : pfs_do_entry(req, pfd, &e);
	if (ret < 0)
		goto out_close;
	/*
	 * O_CREAT without O_EXCL may open an existing file, holes and all:
	 * the same rule as open() (a new, empty file costs one fstat).
	 */
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		struct pfs_alloc_ctx ctx = pfs_req_alloc_ctx(req);

		ret = pfs_alloc_fill_holes(pfs_inode(req, e.ino), fd, &ctx);
		if (ret < 0) {
			pfs_inode_forget(&pfs_fs(req)->table,
					 pfs_inode(req, e.ino), 1);
			goto out_close;
		}
		/* The reply carries st_blocks: read it after the filling. */
		if (ret > 0)
			fstat(fd, &e.attr);
	}
	do_cache_verdict(req, e.ino, fd, fi);
	f = do_new_file(req, fd, fi->flags);
	if (!f) {
		ret = -ENOMEM;
		pfs_inode_forget(&pfs_fs(req)->table, pfs_inode(req, e.ino), 1);
		goto out_close;
	}
	fi->fh = (uintptr_t)f;
	do_passthrough_open(req, pfs_inode(req, e.ino), f, fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		/* Interrupted: the kernel will send no release or forget. */
		if (created)
			do_uncreate(pfs_inode(req, parent)->fd, name, f->fd);
		do_free_file(req, f);
		pfs_inode_forget(&pfs_fs(req)->table, pfs_inode(req, e.ino), 1);
	}
	return;

out_close:
	if (created)
		do_uncreate(pfs_inode(req, parent)->fd, name, fd);
	close(fd);
	fuse_reply_err(req, -ret);
}

void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_inode *inode = pfs_inode(req, ino);
	char proc[PFS_PROC_PATH_MAX];
	bool trunc = fi->flags & O_TRUNC;
	struct pfs_creds c;
	struct pfs_file *f;
	int fd, err;

	/* With the daemon's own credentials: it writes to /sys. */
	pfs_bdi_readahead_apply();

	if ((fi->flags & O_ACCMODE) != O_RDONLY || trunc) {
		err = -do_may_write(req, inode, false);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
	}
	pfs_proc_path(proc, inode->fd);
	/*
	 * O_TRUNC changes the size: serialize it like any other change, and
	 * truncate as the caller, so the backing filesystem clears setuid
	 * and setgid bits as it would for them (the kernel sends no separate
	 * mode change for an atomic O_TRUNC open).  Any other open is the
	 * caller's where the kernel has not checked their permissions.
	 */
	err = -(trunc ? pfs_creds_enter(req, &c) :
			pfs_creds_enter_look(req, &c));
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (trunc) {
		pthread_rwlock_wrlock(&inode->size_lock);
		do_trunc_fsetid(req, inode->fd, "", &c);
	}
	/*
	 * O_NOFOLLOW would refuse the /proc/self/fd magic link itself; the
	 * inode is resolved already (a symlink is never opened here).
	 */
	fd = open(proc, do_backing_flags(fi->flags) & ~(O_NOFOLLOW | O_CREAT |
							 O_EXCL));
	err = errno;
	pfs_creds_fsetid_end(&c);
	if (trunc)
		pthread_rwlock_unlock(&inode->size_lock);
	pfs_creds_leave(&c);
	if (fd == -1) {
		fuse_reply_err(req, err);
		return;
	}
	/*
	 * holes=fill: a file opened for writing gets its holes allocated
	 * now, while open() can still report ENOSPC; a mapped store into a
	 * hole could only fault later.
	 */
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		struct pfs_alloc_ctx ctx = pfs_req_alloc_ctx(req);
		int ret = pfs_alloc_fill_holes(inode, fd, &ctx);

		if (ret < 0) {
			close(fd);
			fuse_reply_err(req, -ret);
			return;
		}
		/*
		 * The kernel's cached st_blocks predates the filling: drop
		 * the cached attributes (offset -1: attributes only, no page
		 * cache, so nothing here can wait on this open).
		 */
		if (ret > 0)
			fuse_lowlevel_notify_inval_inode(pfs_fs(req)->se, ino,
							 -1, 0);
	}
	do_cache_verdict(req, ino, fd, fi);
	f = do_new_file(req, fd, fi->flags);
	if (!f) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)f;
	do_passthrough_open(req, inode, f, fi);
	if (fuse_reply_open(req, fi) == -ENOENT)
		do_free_file(req, f);
}

/*
 * READ replies come from a buffer each worker thread keeps (freed when the
 * thread ends), not from libfuse's fuse_reply_data().  That one splices
 * the backing file through a per-thread pipe, but only replies that fit
 * the pipe: libfuse first asks for a pipe of a whole request (max_write
 * and a header, over pipe-max-size's 1 MiB: EPERM without the
 * CAP_SYS_RESOURCE the daemon drops), then for pipe-max-size, whose value
 * 3.17.2 fails to parse (the trailing newline), so the pipe keeps its
 * 64 KiB.  Every larger reply takes its fallback, a buffer allocated per
 * request, and glibc maps each of those sizes anew: an mmap, a page fault
 * per page and an munmap for every READ of 128 KiB (the kernel's readahead
 * window) or more (strace, t-readahead).  A reused buffer costs one copy
 * more than a splice would.
 */
static pthread_key_t read_buf_key;
static pthread_once_t read_buf_once = PTHREAD_ONCE_INIT;
static bool read_buf_ok;

struct read_buf {
	size_t size;
	char data[];
};

/*
 * The smallest buffer made, one request's most (max_read): readahead asks
 * for 16 KiB, 64 KiB, ... up to its window as a sequential read goes on,
 * and growing a step at a time would map and unmap each size once per
 * thread.  Only the pages a thread has used count in the daemon's RSS.
 */
#define PFS_READ_BUF_MIN ((size_t)1 << 20)

static void do_read_buf_init(void)
{
	read_buf_ok = pthread_key_create(&read_buf_key, free) == 0;
}

/* This thread's buffer of at least size bytes; NULL when out of memory. */
static char *do_read_buf(size_t size)
{
	struct read_buf *b;

	pthread_once(&read_buf_once, do_read_buf_init);
	if (!read_buf_ok)
		return NULL;
	b = pthread_getspecific(read_buf_key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	pthread_setspecific(read_buf_key, NULL);
	if (size < PFS_READ_BUF_MIN)
		size = PFS_READ_BUF_MIN;
	b = malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	if (pthread_setspecific(read_buf_key, b) != 0) {
		free(b);
		return NULL;
	}
	return b->data;
}

void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	char *mem = do_read_buf(size);
	ssize_t n;

	(void)ino;
	if (!mem) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	do
		n = pread(pfs_file(fi)->fd, mem, size, off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, mem, (size_t)n);
}

void pfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
		   off_t off, struct fuse_file_info *fi)
{
	struct pfs_file *f = pfs_file(fi);
	size_t len = fuse_buf_size(in_buf);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(len);
	struct pfs_alloc_ctx ctx;
	struct pfs_extend x;
	ssize_t res;
	int ret;

	ctx = pfs_req_alloc_ctx(req);
	ret = pfs_alloc_extend_begin(&x, pfs_inode(req, ino), f->fd,
				     f->append, off, len, &ctx);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	/*
	 * The backing write clears setuid/setgid as natively for a caller
	 * with this thread's CAP_FSETID; where there are bits to clear,
	 * match the caller's (pfs_creds.h).  With KILLPRIV_V2 that is the
	 * whole job; without it the kernel cleared them already where the
	 * caller lacks CAP_FSETID, and this keeps a caller who has it from
	 * losing them.  The file's mode comes from the engine's fstat; no
	 * other file pays anything.
	 */
	if (pfs_has_kill_bits(x.st.st_mode)) {
		pfs_creds_fsetid(&x.creds, pfs_creds_caller_fsetid(req));
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = f->fd;
	out.buf[0].pos = off;
	res = fuse_buf_copy(&out, in_buf, 0);
	pfs_creds_fsetid_end(&x.creds);
	pfs_alloc_extend_end(&x, res);

	if (res < 0)
		fuse_reply_err(req, (int)-res);
	else
		fuse_reply_write(req, (size_t)res);
}

void pfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int fd;

	/*
	 * close() of a duplicate runs the backing filesystem's flush (and
	 * releases POSIX locks) exactly as the caller's close() would.
	 */
	/*
	 * The caller closed a descriptor of the file: POSIX drops every
	 * lock its owner holds on it, whichever descriptor took them.
	 */
	pfs_locks_flush(req, ino, fi->lock_owner);
	fd = dup(pfs_file(fi)->fd);
	if (fd == -1 || close(fd) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}

void pfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	pfs_locks_release(pfs_file(fi));
	do_free_file(req, pfs_file(fi));
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
	struct pfs_alloc_ctx ctx = pfs_req_alloc_ctx(req);

	fuse_reply_err(req, -pfs_alloc_fallocate(pfs_inode(req, ino),
						 pfs_file(fi)->fd, mode, off,
						 len, &ctx));
}

/*
 * The most one reply can report: fuse_write_out carries a 32-bit count.  A
 * larger request (a kernel that does not clamp it) gets a short count.
 */
#define PFS_COPY_MAX ((size_t)UINT32_MAX & ~(size_t)4095)

void pfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			 struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			 off_t off_out, struct fuse_file_info *fi_out,
			 size_t len, int flags)
{
	int fd_in = pfs_file(fi_in)->fd;
	int fd_out = pfs_file(fi_out)->fd;
	struct pfs_alloc_ctx ctx;
	struct pfs_extend x;
	struct stat src;
	size_t n = len < PFS_COPY_MAX ? len : PFS_COPY_MAX;
	ssize_t res;
	int ret;

	(void)ino_in;
	/* No flag is defined; the kernel refuses any before asking us. */
	if (flags != 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
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
		n = (size_t)(src.st_size - off_in);

	ctx = pfs_req_alloc_ctx(req);
	ctx.whole = true;	/* all of it is allocated, or nothing copied */
	ret = pfs_alloc_extend_begin(&x, pfs_inode(req, ino_out), fd_out,
				     false, off_out, n, &ctx);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	/*
	 * The data is copied by the daemon, inside the file and past its
	 * end alike: the backing copy_file_range() would share extents on
	 * XFS and btrfs (see pfs_backing_copy).
	 */
	res = pfs_backing_copy(fd_in, off_in, fd_out, off_out, n);
	pfs_alloc_extend_end(&x, res);

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
