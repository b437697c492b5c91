/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The allocation engine's transactions: every request that can change a
 * file's size or allocation runs through one of these, under the inode's
 * size_lock (see pfs_inode.h), asking the pure policy for a plan and the
 * backing layer to carry it out.  Handlers stay thin adapters around them,
 * and the unit tests can race them on real files without a mount.
 *
 * All functions return 0 (or a count) on success and -errno on failure; on
 * failure the file keeps its size and allocation as before the request.
 */
#ifndef PFS_ALLOC_H
#define PFS_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pfs_backing.h"
#include "pfs_creds.h"
#include "pfs_devcaps.h"
#include "pfs_inode.h"
#include "pfs_policy.h"
#include "pfs_stats.h"

/* The engine's state for one mount, shared by all requests. */
struct pfs_engine {
	struct pfs_caps caps;		/* the root's, probed before the
					 * mount; read-only */
	struct pfs_devtable devs;	/* devices below the root: see
					 * pfs_devcaps.h for its locking */
	struct pfs_stats stats;		/* atomics */
	struct pfs_ratelimit log_rl;	/* lines about refused growths */
	const char *root_path;		/* backing root, for paths; read-only */
	const struct pfs_rules *rules;	/* the mount's options; read-only */
};

/*
 * Set up the counters, the log rate limit and the device table (the root's
 * caps are probed apart).  root_path and rules must outlive the engine.
 */
void pfs_engine_init(struct pfs_engine *eng, const char *root_path,
		     const struct pfs_rules *rules);

/* Free what the engine holds (the device table).  No request may run. */
void pfs_engine_destroy(struct pfs_engine *eng);

/*
 * The backing object fd (any O_PATH fd; st its fstat) was reached by a
 * lookup or a create.  If it lies on a device not seen before (a
 * filesystem mounted inside the backing tree: fd is then the root
 * directory of that mount, where the probe's O_TMPFILE can run), probe the
 * device, remember its caps and log its guarantee, once.  Costs a list walk
 * otherwise.  0 or -errno (ENOMEM, the probe's fstatfs failing).
 */
int pfs_engine_see(struct pfs_engine *eng, int fd, const struct stat *st);

/*
 * The caps of device dev: the root's, or those of a device seen below it;
 * NULL for a device never seen.
 */
const struct pfs_caps *pfs_engine_caps(struct pfs_engine *eng, dev_t dev);

/*
 * Who asks, and the engine: input to every allocation.  Allocations run
 * with the caller's fsuid/fsgid (every write and copy, fallocate, hole
 * filling switch to them), so the root reserve and quotas apply as to a
 * native call; resize runs inside setattr, which has switched to the caller
 * fully already.
 */
struct pfs_alloc_ctx {
	struct pfs_engine *eng;		/* may be NULL (unit tests) */
	bool privileged;		/* may use root-reserved blocks */
	uid_t uid;			/* the caller */
	gid_t gid;
	/*
	 * The request is seen whole (copy_file_range, unlike a write the
	 * kernel splits): extend_begin allocates all it writes past
	 * end-of-file first (pfs_policy_copy).
	 */
	bool whole;
	/* Has the request been interrupted?  NULL: never (see
	 * pfs_grow_how). */
	bool (*cancelled)(void *arg);
	void *cancel_arg;
};

/*
 * May inode be opened for writing (create false), or a file be created in
 * the directory inode (create true)?  -EROFS for regular files on a
 * copy-on-write device below the root mounted without allow_cow (logged
 * once per device, when it was first seen); 0 otherwise.  One list walk;
 * an fstat only on a refused device.
 */
int pfs_alloc_may_write(const struct pfs_alloc_ctx *ctx,
			struct pfs_inode *inode, bool create);

/* truncate/ftruncate of the file behind fd (open for writing) to size. */
int pfs_alloc_resize(struct pfs_inode *inode, int fd, off_t size,
		     const struct pfs_alloc_ctx *ctx);

/*
 * fallocate(mode, off, len) asked for by the kernel, under the punch_hole=
 * rule: a punch becomes zeroing (or is refused), an inserted range is
 * allocated.
 */
int pfs_alloc_fallocate(struct pfs_inode *inode, int fd, int mode, off_t off,
			off_t len, const struct pfs_alloc_ctx *ctx);

/*
 * A regular file was opened for writing: under holes=fill, allocate the
 * holes inside it (and unshare reflinked extents) before the open succeeds.
 * 0 (nothing to do), 1 (holes allocated: cached attributes are stale), or
 * -errno (ENOSPC...) with the file unchanged.
 */
int pfs_alloc_fill_holes(struct pfs_inode *inode, int fd,
			 const struct pfs_alloc_ctx *ctx);

/*
 * A write-like request (write, copy_file_range) of len bytes at off:
 * pfs_alloc_extend_begin() takes the size_lock (shared when the request
 * starts inside the file, exclusive when it grows it) and allocates what the
 * plan says; the caller then writes; pfs_alloc_extend_end() gives back what
 * a short or failed write left allocated and drops the lock.
 */
struct pfs_extend {
	struct pfs_inode *inode;
	int fd;
	off_t off;		/* where the request writes */
	uint64_t len;		/* how much it means to write */
	struct stat st;		/* the file before the request */
	struct pfs_plan plan;
	bool zeroed;		/* the plan ran as zeros written (no fallocate) */
	struct pfs_creds creds;	/* the caller's, while the request allocates */
};

/* 0 with the lock held, or -errno without it (nothing changed). */
int pfs_alloc_extend_begin(struct pfs_extend *x, struct pfs_inode *inode,
			   int fd, bool append, off_t off, uint64_t len,
			   const struct pfs_alloc_ctx *ctx);

/* done: bytes written, or -errno.  Always drops the lock. */
void pfs_alloc_extend_end(struct pfs_extend *x, int64_t done);

#endif /* PFS_ALLOC_H */
