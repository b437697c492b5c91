// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory handlers.  A handle keeps a DIR stream and the telldir() cookie
 * of the next entry, so the kernel's offsets map onto seekdir().
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_handle.h"
#include "pfs_ops.h"

void pfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_dir *d = calloc(1, sizeof(*d));
	struct pfs_creds c;
	int fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * "." relative to the O_PATH fd: a readable fd of the same dir,
	 * opened as the caller unless the kernel checked read permission.
	 */
	err = -pfs_creds_enter_look(req, &c);
	if (err) {
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	fd = openat(pfs_inode(req, ino)->fd, ".",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	pfs_creds_leave(&c);
	errno = err;
	if (fd == -1)
		goto out_err;
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		errno = err;
		goto out_err;
	}
	d->h.kind = PFS_HANDLE_DIR;
	pfs_handle_track(req, &d->h);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		pfs_handle_untrack(req, &d->h);
		closedir(d->dp);
		free(d);
	}
	return;

out_err:
	err = errno;
	free(d);
	fuse_reply_err(req, err);
}

static bool do_is_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, bool plus)
{
	struct pfs_dir *d = pfs_dir(fi);
	struct pfs_fs *fs = pfs_fs(req);
	struct pfs_creds c = { 0 };
	char *buf, *p;
	size_t rem = size;
	int err = 0;

	(void)ino;
	buf = calloc(1, size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * readdirplus looks every name up: as the caller where the kernel
	 * does not check, so a directory the caller may read but not search
	 * lists names without attributes, as natively.
	 */
	if (plus) {
		err = -pfs_creds_enter_look(req, &c);
		if (err) {
			free(buf);
			fuse_reply_err(req, err);
			return;
		}
	}
	p = buf;
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct fuse_entry_param e = { 0 };
		size_t entsize;
		off_t next;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;	/* 0 at the end of the stream */
				break;
			}
		}
		next = d->entry->d_off;
		if (plus) {
			/*
			 * Ino 0 means "no attributes": the kernel makes no
			 * dentry and looks the name up later.  That is the
			 * answer for "." and "..", and for an entry whose
			 * lookup failed (gone meanwhile, or out of fds): the
			 * listing itself must not fail because of it.
			 */
			if (do_is_dot(d->entry->d_name) ||
			    pfs_do_lookup(req, ino, d->entry->d_name, &e) < 0) {
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = d->entry->d_ino;
				e.attr.st_mode = (mode_t)d->entry->d_type << 12;
			}
			entsize = fuse_add_direntry_plus(req, p, rem,
							 d->entry->d_name, &e,
							 next);
		} else {
			e.attr.st_ino = d->entry->d_ino;
			e.attr.st_mode = (mode_t)d->entry->d_type << 12;
			entsize = fuse_add_direntry(req, p, rem,
						    d->entry->d_name, &e.attr,
						    next);
		}
		if (entsize > rem) {
			/* No room: give back the reference just taken. */
			if (e.ino)
				pfs_inode_forget(&fs->table,
						 pfs_inode(req, e.ino), 1);
			break;
		}
		p += entsize;
		rem -= entsize;
		d->entry = NULL;
		d->offset = next;
	}
	pfs_creds_leave(&c);
	/* Entries already packed are returned; the error comes next call. */
	if (err && p == buf)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void pfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void pfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void pfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pfs_dir *d = pfs_dir(fi);

	(void)ino;
	pfs_handle_untrack(req, &d->h);
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

void pfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	int fd = dirfd(pfs_dir(fi)->dp);

	(void)ino;
	if ((datasync ? fdatasync(fd) : fsync(fd)) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_err(req, 0);
}
