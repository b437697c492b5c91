/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The preallocation policy: pure functions from sizes and a request to a
 * plan.  No syscalls, no FUSE types, no globals, so every rule is a row in a
 * unit-test table (tests/unit/test_policy.c).
 *
 * The rule: a request that makes a file larger must first allocate the new
 * range [old size, new end) on the backing store.  Only the new range is
 * allocated, never from 0.  Shrinking and in-place changes need no plan.
 */
#ifndef PFS_POLICY_H
#define PFS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum pfs_plan_kind {
	PFS_PLAN_NONE,	/* nothing to allocate: pass the request through */
	PFS_PLAN_GROW,	/* allocate [alloc_off, alloc_off + alloc_len) first */
};

struct pfs_plan {
	enum pfs_plan_kind kind;
	off_t alloc_off;	/* first byte to allocate (the old size) */
	off_t alloc_len;	/* bytes to allocate, > 0 for PFS_PLAN_GROW */
	/*
	 * true: allocate without changing st_size (FALLOC_FL_KEEP_SIZE),
	 * because the request itself (a write, a copy) sets the new size;
	 * false: the allocation is the size change (truncate to larger).
	 */
	bool keep_size;
};

/* truncate/ftruncate from old_size to new_size.  0 or -EINVAL. */
int pfs_policy_resize(off_t old_size, off_t new_size, struct pfs_plan *plan);

/*
 * A write or copy of len bytes at off into a file of size bytes.  A request
 * starting past end-of-file allocates the gap and its own range first, so no
 * hole is left.  One starting at or before end-of-file allocates its blocks
 * itself, as a native write does.  0, -EINVAL (negative offset) or -EFBIG
 * (off + len overflows).
 */
int pfs_policy_extend(off_t size, off_t off, uint64_t len,
		      struct pfs_plan *plan);

/*
 * A copy (copy_file_range) of len bytes at off: the kernel hands it over
 * whole, so everything it writes past end-of-file is allocated before it
 * starts, also when it starts at or before end-of-file: a copy that does
 * not fit is refused with ENOSPC and copies nothing.  Returns as
 * pfs_policy_extend.
 */
int pfs_policy_copy(off_t size, off_t off, uint64_t len,
		    struct pfs_plan *plan);

/*
 * Free-space pre-check for a GROW plan: false when the allocation cannot be
 * expected to succeed, so the request is refused before anything is
 * touched.  free_blocks/block_size: what the caller may use (statvfs
 * f_bavail, or f_bfree less the filesystem's own reserve for root);
 * allocated_bytes is st_blocks * 512 of the file, which may include blocks
 * preallocated beyond end-of-file (they reduce what is needed).
 *
 * Besides the data blocks, an allocation needs metadata (extent tree blocks)
 * which the backing filesystem takes from the same free space.  A fallocate
 * that runs out of space part-way cannot always be undone completely (ext4
 * keeps an extent block it added), so the check asks for an allowance of
 * PFS_META_PER_BLOCKS data blocks per metadata block plus PFS_META_SLACK
 * blocks: a growth that would leave less than that free is refused.
 */
#define PFS_META_PER_BLOCKS 256
#define PFS_META_SLACK 16
bool pfs_policy_may_fit(const struct pfs_plan *plan, off_t size,
			uint64_t allocated_bytes, uint64_t free_blocks,
			uint64_t block_size);

/* A byte range given by the kernel: 0, -EINVAL or -EFBIG. */
int pfs_policy_check_range(off_t off, off_t len);

/* -o holes=: what an open for writing does with existing holes. */
enum pfs_holes {
	PFS_HOLES_FILL,		/* allocate them first (default) */
	PFS_HOLES_KEEP,		/* leave them */
};

/* -o punch_hole=: what a FALLOC_FL_PUNCH_HOLE request becomes. */
enum pfs_punch {
	PFS_PUNCH_ZERO,		/* zero the range, keep it allocated (default) */
	PFS_PUNCH_ALLOW,	/* pass through: a hole appears */
	PFS_PUNCH_DENY,		/* refuse with EOPNOTSUPP */
};

/* -o fallback=: growth on a backing store without fallocate. */
enum pfs_fallback {
	PFS_FALLBACK_ZERO,	/* write zero blocks over the range (default) */
	PFS_FALLBACK_REFUSE,	/* fail with EOPNOTSUPP */
};

/* The rules of one mount, from its options; read-only once mounted. */
struct pfs_rules {
	enum pfs_holes holes;
	enum pfs_punch punch;
	enum pfs_fallback fallback;
	bool allow_cow;		/* mount on a copy-on-write filesystem */
	char **sparse;		/* -o sparse= globs: exempt paths */
	size_t nsparse;
};

/*
 * Is relpath (inside the mount, with or without a leading '/') exempted by
 * a sparse= glob?  A glob without '/' matches the base name in any
 * directory; one with '/' matches the whole path (fnmatch FNM_PATHNAME).
 */
bool pfs_policy_exempt(const struct pfs_rules *r, const char *relpath);

/* What to do with a fallocate mode under the punch_hole= rule. */
enum pfs_punch_action {
	PFS_FALLOC_PASS,	/* hand the mode to the backing store */
	PFS_FALLOC_ZERO,	/* zero the range instead, keep it allocated */
	PFS_FALLOC_DENY,	/* refuse with EOPNOTSUPP */
	PFS_FALLOC_INSERT,	/* insert, then allocate the inserted range */
};

enum pfs_punch_action pfs_policy_fallocate_mode(int mode,
						enum pfs_punch punch);

#endif /* PFS_POLICY_H */
