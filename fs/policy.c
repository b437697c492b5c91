// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The preallocation policy (see pfs_policy.h): pure functions only.
 */
#include <errno.h>
#include <fnmatch.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <string.h>

#include "pfs_policy.h"

#define PFS_OFF_MAX INT64_MAX

int pfs_policy_check_range(off_t off, off_t len)
{
	if (off < 0 || len < 0)
		return -EINVAL;
	/* off + len must stay representable as a file offset. */
	if (len > PFS_OFF_MAX - off)
		return -EFBIG;
	return 0;
}

int pfs_policy_resize(off_t old_size, off_t new_size, struct pfs_plan *plan)
{
	*plan = (struct pfs_plan){ .kind = PFS_PLAN_NONE };
	if (old_size < 0 || new_size < 0)
		return -EINVAL;
	/* Shrinking or keeping the size passes straight through. */
	if (new_size <= old_size)
		return 0;
	plan->kind = PFS_PLAN_GROW;
	plan->alloc_off = old_size;
	plan->alloc_len = new_size - old_size;
	plan->keep_size = false;
	return 0;
}

int pfs_policy_extend(off_t size, off_t off, uint64_t len,
		      struct pfs_plan *plan)
{
	*plan = (struct pfs_plan){ .kind = PFS_PLAN_NONE };
	if (size < 0 || off < 0)
		return -EINVAL;
	if (len > (uint64_t)(PFS_OFF_MAX - off))
		return -EFBIG;
	/*
	 * A request that starts at or before end-of-file creates no hole:
	 * its own blocks are allocated (or refused with ENOSPC) by the
	 * backing write itself.  An empty request changes nothing.
	 */
	if (len == 0 || off <= size)
		return 0;
	/* Past end-of-file: the gap and the request's own range, at once. */
	plan->kind = PFS_PLAN_GROW;
	plan->alloc_off = size;
	plan->alloc_len = off + (off_t)len - size;
	plan->keep_size = true;
	return 0;
}

int pfs_policy_copy(off_t size, off_t off, uint64_t len,
		    struct pfs_plan *plan)
{
	int ret = pfs_policy_extend(size, off, len, plan);

	if (ret < 0 || plan->kind == PFS_PLAN_GROW || len == 0 ||
	    off + (off_t)len <= size)
		return ret;
	/* From inside the file or end-of-file to past it: the new part. */
	plan->kind = PFS_PLAN_GROW;
	plan->alloc_off = size;
	plan->alloc_len = off + (off_t)len - size;
	plan->keep_size = true;
	return 0;
}

bool pfs_policy_may_fit(const struct pfs_plan *plan, off_t size,
			uint64_t allocated_bytes, uint64_t free_blocks,
			uint64_t block_size)
{
	uint64_t need, have_past_eof, eof_block_end;

	if (plan->kind != PFS_PLAN_GROW || block_size == 0)
		return true;
	/* Blocks the range needs, rounded up. */
	need = (uint64_t)plan->alloc_len / block_size +
	       ((uint64_t)plan->alloc_len % block_size != 0);
	/*
	 * The block holding the old end-of-file may already be allocated,
	 * and so may blocks preallocated past it (fallocate KEEP_SIZE): what
	 * the file holds beyond its size rounded up to a block is not needed
	 * again.  Blocks inside the size (or holes there) only make this an
	 * underestimate, which keeps the check on the "may fit" side.
	 */
	eof_block_end = ((uint64_t)size + block_size - 1) / block_size *
			block_size;
	have_past_eof = allocated_bytes > eof_block_end ?
				(allocated_bytes - eof_block_end) / block_size :
				0;
	need = need > have_past_eof + 1 ? need - have_past_eof - 1 : 0;
	if (need == 0)
		return true;
	return need + need / PFS_META_PER_BLOCKS + PFS_META_SLACK <=
	       free_blocks;
}

bool pfs_policy_exempt(const struct pfs_rules *r, const char *relpath)
{
	const char *base;

	if (!r || r->nsparse == 0)
		return false;
	while (*relpath == '/')
		relpath++;
	base = strrchr(relpath, '/');
	base = base ? base + 1 : relpath;
	for (size_t i = 0; i < r->nsparse; i++) {
		const char *glob = r->sparse[i];

		while (*glob == '/')
			glob++;
		if (strchr(glob, '/')) {
			if (fnmatch(glob, relpath, FNM_PATHNAME) == 0)
				return true;
		} else if (fnmatch(glob, base, 0) == 0) {
			return true;
		}
	}
	return false;
}

enum pfs_punch_action pfs_policy_fallocate_mode(int mode,
						enum pfs_punch punch)
{
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		switch (punch) {
		case PFS_PUNCH_ALLOW:
			return PFS_FALLOC_PASS;
		case PFS_PUNCH_DENY:
			return PFS_FALLOC_DENY;
		case PFS_PUNCH_ZERO:
			break;
		}
		return PFS_FALLOC_ZERO;
	}
	/* INSERT_RANGE opens a hole by design: it must be allocated. */
	if (mode & FALLOC_FL_INSERT_RANGE)
		return PFS_FALLOC_INSERT;
	/* mode 0, KEEP_SIZE, ZERO_RANGE, COLLAPSE, UNSHARE keep their meaning */
	return PFS_FALLOC_PASS;
}
