/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The capabilities of every backing device below the root.  A backing tree
 * can hold other filesystems mounted inside it (btrfs at BACKING/sub on an
 * ext4 root, an ext2 without fallocate at BACKING/sub2); the rules that
 * depend on the filesystem (copy-on-write refusal, fallback, the largest
 * file size, ext4's reserve) must follow each file's own device, not the
 * root's.  The engine (pfs_alloc.h) probes a device the first time an
 * object on it is looked up, and keeps its caps here, keyed by st_dev.
 *
 * Locking:
 *  - Lookups (pfs_devtable_find) take no lock: entries are published with a
 *    release store of `head` and read with an acquire load, and an entry
 *    never changes or goes away once published (only destroy frees them,
 *    when no request runs any more).  Lookups run on every lookup and every
 *    allocation, so they must be cheap; devices are few, so a list is
 *    enough.
 *  - table->lock serializes insertions only, so that two threads seeing a
 *    new device at once publish it (and log it) once.  No syscall runs
 *    under it: the probe runs before, without the lock; a thread that
 *    loses the race throws its probe away.
 *  - Independent of the inode table's locks and of size_lock: it is never
 *    taken with one of them held, nor the other way round.
 */
#ifndef PFS_DEVCAPS_H
#define PFS_DEVCAPS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pfs_backing.h"
#include "pfs_policy.h"

struct pfs_devcaps {
	struct pfs_caps caps;		/* immutable once published */
	struct pfs_devcaps *next;	/* immutable once published */
};

struct pfs_devtable {
	pthread_mutex_t lock;			/* serializes insertions */
	_Atomic(struct pfs_devcaps *) head;	/* newest first; see above */
};

/* An empty table.  A zeroed struct is an empty table too. */
void pfs_devtable_init(struct pfs_devtable *t);

/* Free every entry (no request may run any more). */
void pfs_devtable_destroy(struct pfs_devtable *t);

/* The caps of device dev, or NULL when it was never added.  No lock. */
const struct pfs_caps *pfs_devtable_find(struct pfs_devtable *t, dev_t dev);

/*
 * Publish a copy of *caps for caps->dev, unless that device is there
 * already (another thread was first): *added says which.  Returns the
 * published caps, or NULL with errno set (ENOMEM).
 */
const struct pfs_caps *pfs_devtable_add(struct pfs_devtable *t,
					const struct pfs_caps *caps,
					bool *added);

/* "works", "not supported" or "not probed": caps->fallocate in words. */
const char *pfs_caps_fallocate_word(const struct pfs_caps *caps);

/*
 * What preallocfs guarantees on a device with these caps under these
 * rules, in words for the log and --check.  below_root: a device mounted
 * inside the backing tree (a copy-on-write one is refused file by file
 * there, not the whole mount).
 */
const char *pfs_caps_guarantee(const struct pfs_caps *caps,
			       const struct pfs_rules *rules, bool below_root);

/*
 * Must writes to regular files on this device be refused (EROFS)?  On a
 * copy-on-write filesystem without -o allow_cow: every overwrite may need
 * new space, which no preallocation can provide.  (The root is refused at
 * startup instead; this is for the devices below it.)
 */
bool pfs_caps_refuse_writes(const struct pfs_caps *caps,
			    const struct pfs_rules *rules);

#endif /* PFS_DEVCAPS_H */
