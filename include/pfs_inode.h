/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode table: one entry per backing object the kernel knows about,
 * keyed by (st_dev, st_ino), holding an O_PATH fd of that object.  Every
 * backing call is an *at() call relative to such an fd, so no path to the
 * backing store is ever built.  The entry's address is the FUSE inode number
 * (FUSE_ROOT_ID stands for the root entry).
 *
 * Locking:
 *  - table->lock guards the hash buckets, every entry's `next` and
 *    `nlookup`, and table->count.  No syscall runs under it (the fd of a
 *    forgotten entry is closed after the entry is unlinked).
 *  - inode->size_lock serializes size changes of one file: held exclusive
 *    by every request that changes st_size or allocation (setattr size,
 *    growing write, growing copy, fallocate), shared by writes that stay
 *    inside the current size (so the size cannot shrink under them).
 *  - inode->cache_lock guards inode->stamp only (pfs_cache.h); it is taken
 *    after any other lock, for a comparison or a copy, never across a
 *    syscall.
 *  - Order: size_lock before table->lock; never two size_locks at once.
 *  - fd, dev, ino and is_root never change after insertion: read them
 *    without a lock.  The kernel sends no request for an inode after its
 *    last forget, so an entry is never used after it is freed.
 */
#ifndef PFS_INODE_H
#define PFS_INODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * A backing file's state as the kernel last saw it (see pfs_cache.h): the
 * attributes that change with its data, and when they were read.
 */
struct pfs_stamp {
	int64_t size;		/* st_size */
	int64_t mtime_ns;	/* st_mtim in ns */
	int64_t ctime_ns;	/* st_ctim in ns */
	int64_t taken_ns;	/* CLOCK_REALTIME_COARSE after the fstat */
	bool valid;		/* false: nothing known, never keep */
};

struct pfs_inode {
	int fd;				/* O_PATH fd; immutable */
	dev_t dev;			/* key; immutable */
	ino_t ino;			/* key; immutable */
	bool is_root;			/* never forgotten; immutable */
	uint64_t nlookup;		/* kernel references; table->lock */
	struct pfs_inode *next;		/* hash chain; table->lock */
	pthread_rwlock_t size_lock;	/* see above */
	pthread_mutex_t cache_lock;	/* guards stamp */
	struct pfs_stamp stamp;		/* kernel's view; cache_lock */
	/*
	 * -o passthrough: the kernel lets an inode's opens be either all
	 * passthrough (one backing file) or all classic at any one time,
	 * and fails an open that breaks this with EIO.  The daemon keeps
	 * them apart per inode; fs->pt_lock guards these four.
	 */
	int pt_backing_id;		/* > 0 while pt_opens > 0 */
	unsigned int pt_opens;		/* open passthrough handles */
	unsigned int pt_cached;		/* open classic handles */
	bool pt_failed;			/* registration failed: classic */
};

struct pfs_inode_table {
	pthread_mutex_t lock;
	struct pfs_inode **buckets;	/* table->lock */
	size_t nbuckets;		/* table->lock; a power of two */
	size_t count;			/* entries incl. root; table->lock */
	struct pfs_inode *root;		/* immutable after init */
};

/*
 * Set up the table with the root directory's O_PATH fd (taken over: closed
 * by pfs_inode_table_destroy).  0 or -errno.
 */
int pfs_inode_table_init(struct pfs_inode_table *t, int root_fd);

/* Close every fd and free every entry. */
void pfs_inode_table_destroy(struct pfs_inode_table *t);

/*
 * Take one lookup reference on the entry for *st, creating it from fd if it
 * is new.  fd is taken over in every case: kept by a new entry, closed when
 * the entry already existed or on failure.  Returns the entry, or NULL with
 * errno set (ENOMEM).
 */
struct pfs_inode *pfs_inode_get_ref(struct pfs_inode_table *t, int fd,
				    const struct stat *st);

/* Drop n lookup references; free the entry when none are left. */
void pfs_inode_forget(struct pfs_inode_table *t, struct pfs_inode *inode,
		      uint64_t n);

/* Number of entries, root included (for tests and statistics). */
size_t pfs_inode_count(struct pfs_inode_table *t);

#endif /* PFS_INODE_H */
