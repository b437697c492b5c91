/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filesystem state shared by all handlers, and the handler prototypes
 * grouped by concern.  Handlers only adapt a request: decode, ask the
 * policy, call the backing layer, reply exactly once.
 */
#ifndef PFS_OPS_H
#define PFS_OPS_H

#include <stdbool.h>

#include "pfs_alloc.h"
#include "pfs_backing.h"
#include "pfs_config.h"
#include "pfs_fuse.h"
#include "pfs_inode.h"

struct pfs_handle;

struct pfs_fs {
	struct pfs_inode_table table;
	struct pfs_engine eng;		/* caps, counters, refusal log */
	double timeout;			/* attr timeout (s); read-only */
	double entry_timeout;		/* names found (s); read-only */
	double negative_timeout;	/* names missing (s); read-only */
	struct fuse_session *se;	/* for notifications; set before the loop */
	pthread_mutex_t open_lock;	/* guards the list of open handles */
	struct pfs_handle *open;	/* open files and dirs; open_lock */
	bool passthrough;		/* -o passthrough asked; read-only */
	bool pt_active;			/* ... and the kernel agreed (init) */
	/*
	 * FUSE_CAP_HANDLE_KILLPRIV_V2 negotiated (init): clearing setuid,
	 * setgid and security.capability on write, truncate and chown is
	 * the daemon's job (pfs_creds_fsetid), and the kernel no longer asks
	 * for security.capability before every write.
	 */
	bool killpriv_v2;
	/*
	 * Guards every inode's pt_* fields.  Held across the backing-id
	 * ioctl (no request is ever waited for under it).
	 */
	pthread_mutex_t pt_lock;
};

/*
 * -o passthrough: why it cannot work here (libfuse, CAP_SYS_ADMIN, kernel
 * version), or NULL.  The kernel's own answer comes only at init.
 */
const char *pfs_passthrough_unavailable(void);

/* The one promise -o passthrough gives up, for the log and --check. */
#define PFS_PASSTHROUGH_CAVEAT                                              \
	"a write that starts past end-of-file leaves a hole that is only "  \
	"allocated at the next open for writing (a mapped store into it "   \
	"may raise SIGBUS on a full disk until then)"

/* Put a new handle on / take a released one off the open list. */
void pfs_handle_track(fuse_req_t req, struct pfs_handle *h);
void pfs_handle_untrack(fuse_req_t req, struct pfs_handle *h);

extern const struct fuse_lowlevel_ops pfs_ops;

static inline struct pfs_fs *pfs_fs(fuse_req_t req)
{
	return (struct pfs_fs *)fuse_req_userdata(req);
}

static inline struct pfs_inode *pfs_inode(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return pfs_fs(req)->table.root;
	return (struct pfs_inode *)(uintptr_t)ino;
}

/* "/proc/self/fd/N": reopen an O_PATH fd with a real access mode. */
#define PFS_PROC_PATH_MAX 32
void pfs_proc_path(char buf[PFS_PROC_PATH_MAX], int fd);

/* Look name up in parent and fill e (one lookup reference).  0 or -errno. */
int pfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		  struct fuse_entry_param *e);

/*
 * Fill e for the object behind fd (an O_PATH fd, taken over in every case)
 * and take one lookup reference on it.  0 or -errno.
 */
int pfs_do_entry(fuse_req_t req, int fd, struct fuse_entry_param *e);

/* Fresh attributes of an inode.  0 or -errno. */
int pfs_do_getattr(struct pfs_inode *inode, struct stat *st);

/* The allocation context of a request: its caller and the backing caps. */
struct pfs_alloc_ctx pfs_req_alloc_ctx(fuse_req_t req);

/* ops_entry.c */
void pfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void pfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void pfs_forget_multi(fuse_req_t req, size_t count,
		      struct fuse_forget_data *forgets);
void pfs_readlink(fuse_req_t req, fuse_ino_t ino);
void pfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode, dev_t rdev);
void pfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode);
void pfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name);
void pfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname);
void pfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void pfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void pfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags);

/* ops_attr.c */
void pfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		 int valid, struct fuse_file_info *fi);
void pfs_access(fuse_req_t req, fuse_ino_t ino, int mask);
void pfs_statfs(fuse_req_t req, fuse_ino_t ino);

/* ops_file.c */
void pfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi);
void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi);
void pfs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf,
		   off_t off, struct fuse_file_info *fi);
void pfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi);
void pfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
		   off_t len, struct fuse_file_info *fi);
void pfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			 struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			 off_t off_out, struct fuse_file_info *fi_out,
			 size_t len, int flags);
void pfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi);

/* ops_lock.c: POSIX and flock locks, passed through to the backing file */
struct pfs_file;
void pfs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct flock *lock);
void pfs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct flock *lock, int sleep);
void pfs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       int op);
/* FLUSH: the owner closed a descriptor of the file: drop its POSIX locks. */
void pfs_locks_flush(fuse_req_t req, fuse_ino_t ino, uint64_t owner);
/* RELEASE of an open file: drop the locks owned by it (OFD locks). */
void pfs_locks_release(const struct pfs_file *f);
/*
 * The session is over: end every lock wait (EINTR) and wait for the threads
 * replying to them, then drop every lock still held.
 */
void pfs_locks_destroy(void);

/* ops_dir.c */
void pfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void pfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void pfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);

/* ops_xattr.c */
void pfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void pfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif /* PFS_OPS_H */
