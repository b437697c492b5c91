/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether the kernel may keep a file's page cache across an open
 * (FOPEN_KEEP_CACHE).  Each inode remembers a stamp of its backing file
 * (size, mtime, ctime) taken when the kernel's view of the file (its page
 * cache and its cached attributes) was known to match the backing file:
 * when the inode was first looked up (no pages yet) and at every open
 * (after which the kernel's pages are current or dropped).  An open keeps
 * the cache only if the backing file still carries that stamp; any change
 * drops it, behind the mount or through it.
 *
 * A stamp is trusted only if its ctime lies before the moment it was taken
 * (else it is "racy", as in git's index): a filesystem's clock ticks, and a
 * second change within the same tick would carry the same timestamps.
 *
 * Attribute replies (getattr, a lookup of a known inode) do not move the
 * stamp: on such a reply the kernel drops its pages only if the
 * mtime or size changed (auto_inval_data), not for a change the ctime alone
 * shows, and it ignores a reply that raced with its own write.  The next
 * open then compares with the older stamp and drops the pages, which costs
 * nothing where the kernel had dropped them already.
 *
 * Writes through the mount do not move the stamp, although the kernel's
 * pages hold what they wrote.  Moving it would keep nothing: the kernel
 * itself drops all of a file's pages at the first attribute refresh after a
 * write through the mount, because the mtime changed (auto_inval_data;
 * measured: one 4 KiB pwrite, then fstat, then re-reading 4 MiB through the
 * same fd took 32 READs).  And the stamp taken right after a write is racy
 * by construction (same tick), so a change behind the mount in that tick
 * could not be told apart.  The open after writes drops the pages once; the
 * opens after it keep them.
 */
#ifndef PFS_CACHE_H
#define PFS_CACHE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pfs_inode.h"

/* What an open tells the kernel about its cached pages and attributes. */
enum pfs_cache_verdict {
	PFS_CACHE_KEEP,		/* unchanged: keep the pages (keep_cache) */
	PFS_CACHE_DROP,		/* maybe changed: drop the pages */
	PFS_CACHE_DROP_ATTRS,	/* changed: drop pages and cached attributes */
};

/* The stamp of a new inode, from the attributes its lookup replies. */
void pfs_cache_init(struct pfs_inode *inode, const struct stat *st);

/*
 * An open of inode through fd: compare the backing file with the stamp,
 * then take a new stamp (the kernel's view is current after this open).
 */
enum pfs_cache_verdict pfs_cache_open(struct pfs_inode *inode, int fd);

/* Pure helpers, for the unit tests. */
void pfs_stamp_of(struct pfs_stamp *s, const struct stat *st,
		  const struct timespec *now);
bool pfs_stamp_same(const struct pfs_stamp *a, const struct pfs_stamp *b);
bool pfs_stamp_trusted(const struct pfs_stamp *s);

#endif /* PFS_CACHE_H */
