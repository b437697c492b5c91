/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backing-store layer: the only code that allocates or resizes backing
 * files (fallocate, ftruncate), and the capability probe.  Every function
 * returns 0 (or a count) on success and -errno on failure.
 *
 * The allocation engine (pfs_backing_grow) runs a pfs_plan: pre-check free
 * space, fallocate mode 0 (or KEEP_SIZE), and on failure put the file back as
 * it was: the same size and no blocks left allocated past it.  Callers hold
 * the inode's size_lock exclusively.
 */
#ifndef PFS_BACKING_H
#define PFS_BACKING_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pfs_policy.h"

/* What the backing filesystem can do; probed once at mount. */
struct pfs_caps {
	unsigned long fs_type;	/* statfs f_type */
	const char *fs_name;	/* readable name of fs_type */
	bool fallocate;		/* fallocate mode 0 worked in the probe */
	bool fallocate_known;	/* the probe could run (O_TMPFILE worked) */
	bool cow;		/* copy-on-write: overwrites need new space */
	dev_t dev;		/* st_dev of the backing root */
	/*
	 * Space in f_bfree that not even root's allocations may use: ext4's
	 * reserved_clusters (for metadata and punching holes when full).
	 * Counted against privileged callers on `dev`.  0 when unknown.
	 */
	unsigned long long reserved_bytes;
	/*
	 * The largest file size the filesystem allows (the kernel's
	 * s_maxbytes): growth past it fails with EFBIG, as natively, before
	 * any free-space check.  0 when unknown (no O_TMPFILE to probe on).
	 */
	off_t max_bytes;
	/*
	 * FALLOC_FL_ZERO_RANGE frees the range before it allocates it again
	 * (XFS): on a full disk a refused zeroing leaves a hole inside the
	 * file.  Ranges inside the file are then zeroed by writing zeros
	 * over their blocks instead, which needs no new space.
	 */
	bool zero_frees;
};


/*
 * Probe the filesystem that holds dirfd: its type, whether fallocate works,
 * whether it is copy-on-write, its largest file size.  dirfd may be an
 * O_PATH fd; where it is not a directory (or O_TMPFILE is not supported),
 * fallocate and the size limit stay unknown.  0 or -errno.
 */
int pfs_backing_probe(int dirfd, struct pfs_caps *caps);

/* How an allocation may be carried out. */
struct pfs_grow_how {
	const struct pfs_caps *caps;	/* may be NULL */
	bool privileged;		/* may use root-reserved blocks */
	bool zero_fallback;		/* no fallocate: write zeros instead */
	/*
	 * Asked between the steps of long work (each MiB of zeros, each
	 * hole, each chunk of unsharing): true when the request was
	 * interrupted (the caller got a signal, SIGKILL included); the work
	 * then stops, is rolled back, and -EINTR is returned.  NULL: never.
	 */
	bool (*cancelled)(void *arg);
	void *cancel_arg;
};

/*
 * Run a GROW plan on fd, whose state before the request is *st.  A plan
 * that ends past the filesystem's largest file size (caps->max_bytes, when
 * caps describe fd's device) fails with -EFBIG before anything else.  A
 * privileged caller may use the root-reserved blocks (the pre-check then
 * counts f_bfree, less caps->reserved_bytes, instead of f_bavail).  Where
 * fallocate is not supported and how->zero_fallback is set, zeros are
 * written over the range instead (*zeroed tells; the size then already
 * covers the range, also for keep_size plans).  Interrupted (how->cancelled)
 * between two pieces of the work: -EINTR.  0, or -errno with the file
 * as in *st (unless another process wrote to it meanwhile: then what it
 * wrote is kept, see pfs_backing_undo_growth).
 */
int pfs_backing_grow(int fd, const struct pfs_plan *plan,
		     const struct stat *st, const struct pfs_grow_how *how,
		     bool *zeroed);

/*
 * Allocate every hole inside the size of fd (state *st), and unshare
 * extents shared with other files (reflinks), so no store inside the file
 * can need new space.  On failure (-EINTR when how->cancelled says so) the
 * holes filled here are punched again (where the backing store can punch,
 * and unless someone wrote into them meanwhile) and -errno is returned.
 * *filled gets the number of holes allocated.
 */
int pfs_backing_fill_holes(int fd, const struct stat *st,
			   const struct pfs_grow_how *how,
			   unsigned long long *filled);

/*
 * Make [off, off + len) read as zeros while keeping it allocated (what a
 * hole punch becomes): FALLOC_FL_ZERO_RANGE, or zeros written where the
 * backing store lacks it.  size: the file size (nothing past it changes).
 */
int pfs_backing_zero_range(int fd, off_t off, off_t len, off_t size,
			   const struct pfs_grow_how *how);

/*
 * FALLOC_FL_INSERT_RANGE, then allocate the inserted range; if that fails
 * the insert is collapsed again.  0 or -errno (file unchanged).  Linux 6.x
 * answers INSERT_RANGE (and COLLAPSE, UNSHARE) on a FUSE file with
 * EOPNOTSUPP itself, without asking the daemon: this runs only for kernels
 * that forward it (and is tested on the engine directly).
 */
int pfs_backing_insert_range(int fd, off_t off, off_t len,
			     const struct stat *st,
			     const struct pfs_grow_how *how);

/*
 * What a growing request that failed or stopped short may take back, for
 * pfs_backing_undo_growth().
 */
struct pfs_undo {
	off_t keep;	/* the size to go back to */
	off_t produced;	/* the largest size the request alone can have
			 * given the file (>= keep) */
	bool unwritten;	/* past keep the request only allocated, wrote
			 * nothing: data found there is another writer's */
	bool release;	/* also truncate when the size is keep already, to
			 * free blocks the request allocated past it */
};

/*
 * Roll a growth back to u->keep, without cutting what another process
 * (in-place mounting: the backing side) wrote meanwhile: the rule is written
 * out in backing.c.  0 when rolled back, 1 when the size was left because
 * someone else changed the file, -errno on error.
 */
int pfs_backing_undo_growth(int fd, const struct pfs_undo *u);

/*
 * Copy len bytes at off_in of fd_in to off_out of fd_out by reading and
 * writing, never by copy_file_range() or a clone: those share extents on
 * XFS and btrfs, and a shared extent needs new space at the next store into
 * either file.  The destination gets blocks of its own for every byte;
 * holes in the source become written zeros.  Stops early at the source's
 * end-of-file.  The bytes copied (fewer than len after an error part-way),
 * or -errno when nothing was copied.
 */
ssize_t pfs_backing_copy(int fd_in, off_t off_in, int fd_out, off_t off_out,
			 size_t len);

/* ftruncate(); 0 or -errno. */
int pfs_backing_truncate(int fd, off_t size);

/*
 * A fallocate() asked for by the kernel, passed through; if it fails after
 * changing the size, the size is put back (old_size) under the roll-back
 * rule of pfs_backing_undo_growth().  ENOSYS is reported as
 * EOPNOTSUPP: the kernel disables fallocate for the whole mount on ENOSYS.
 */
int pfs_backing_fallocate(int fd, int mode, off_t off, off_t len,
			  off_t old_size);

#endif /* PFS_BACKING_H */
