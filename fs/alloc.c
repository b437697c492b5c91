// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The allocation engine's transactions (see pfs_alloc.h): lock, plan,
 * allocate, and after the caller's write, settle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_alloc.h"
#include "pfs_compat.h"
#include "pfs_log.h"

int pfs_alloc_resize(struct pfs_inode *inode, int fd, off_t size,
		     const struct pfs_alloc_ctx *ctx)
{
	struct pfs_plan plan;
	struct stat st;
	int ret;

	pthread_rwlock_wrlock(&inode->size_lock);
	if (fstat(fd, &st) == -1) {
		ret = pfs_neg_errno();
		goto out_unlock;
	}
	ret = pfs_policy_resize(st.st_size, size, &plan);
	if (ret < 0)
		goto out_unlock;
	if (plan.kind == PFS_PLAN_GROW)
		ret = pfs_backing_grow(fd, &plan, &st, ctx);
	else
		ret = pfs_backing_truncate(fd, size);
	pfs_dbg("resize %lld -> %lld: %d", (long long)st.st_size,
		(long long)size, ret);
out_unlock:
	pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

int pfs_alloc_fallocate(struct pfs_inode *inode, int fd, int mode, off_t off,
			off_t len)
{
	struct stat st;
	int ret;

	ret = pfs_policy_check_range(off, len);
	if (ret < 0)
		return ret;
	pthread_rwlock_wrlock(&inode->size_lock);
	if (fstat(fd, &st) == -1)
		ret = pfs_neg_errno();
	else
		ret = pfs_backing_fallocate(fd, mode, off, len, st.st_size);
	pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

int pfs_alloc_extend_begin(struct pfs_extend *x, struct pfs_inode *inode,
			   int fd, bool append, off_t off, uint64_t len,
			   const struct pfs_alloc_ctx *ctx)
{
	bool exclusive = false;
	int ret;

	*x = (struct pfs_extend){
		.inode = inode,
		.fd = fd,
		.off = off,
		.len = len,
	};
	pthread_rwlock_rdlock(&inode->size_lock);
	for (;;) {
		if (fstat(fd, &x->st) == -1) {
			ret = pfs_neg_errno();
			goto out_unlock;
		}
		/* O_APPEND: the backing write lands at end-of-file. */
		if (append)
			x->off = x->st.st_size;
		ret = pfs_policy_extend(x->st.st_size, x->off, len, &x->plan);
		if (ret < 0)
			goto out_unlock;
		if (x->plan.kind == PFS_PLAN_NONE || exclusive)
			break;
		/*
		 * Growth: retake the lock exclusively and look again; the
		 * file may have changed while no lock was held.
		 */
		pthread_rwlock_unlock(&inode->size_lock);
		pthread_rwlock_wrlock(&inode->size_lock);
		exclusive = true;
	}
	if (x->plan.kind == PFS_PLAN_NONE)
		return 0;
	ret = pfs_backing_grow(fd, &x->plan, &x->st, ctx);
	if (ret == 0)
		return 0;
	pfs_dbg("extend %llu at %lld refused: %d", (unsigned long long)len,
		(long long)x->off, ret);
out_unlock:
	pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

void pfs_alloc_extend_end(struct pfs_extend *x, int64_t done)
{
	/*
	 * A growing request that did not complete: give back the space
	 * allocated past what was written, and the size the file had.
	 */
	if (x->plan.kind == PFS_PLAN_GROW && done != (int64_t)x->len)
		pfs_backing_settle(x->fd, done > 0 ? x->off + done :
						     x->st.st_size);
	pthread_rwlock_unlock(&x->inode->size_lock);
}
