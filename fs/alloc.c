// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The allocation engine's transactions (see pfs_alloc.h): lock, plan,
 * allocate, and after the caller's write, settle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "pfs_alloc.h"
#include "pfs_compat.h"
#include "pfs_log.h"

void pfs_engine_init(struct pfs_engine *eng, const char *root_path)
{
	memset(&eng->stats, 0, sizeof(eng->stats));
	/* A loop of refused growths must not flood the log. */
	pfs_ratelimit_init(&eng->log_rl, 10, 60);
	eng->root_path = root_path;
}

/* The path of fd inside the mount, from its backing path. */
static void do_mount_path(const struct pfs_engine *eng, int fd, char *buf,
			  size_t len)
{
	char proc[32], target[PATH_MAX];
	size_t rl = strlen(eng->root_path);
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, len, "?");
		return;
	}
	target[n] = '\0';
	/* The root itself is "/"; "/" as root would leave no prefix. */
	if (rl > 1 && !strncmp(target, eng->root_path, rl) &&
	    (target[rl] == '/' || target[rl] == '\0'))
		snprintf(buf, len, "%s", target[rl] ? target + rl : "/");
	else
		snprintf(buf, len, "%s", target);
}

/*
 * Count a growth, or count and log (rate-limited) a refused one: the path
 * inside the mount, the size asked for, the free space and the errno.
 */
static void do_account(const struct pfs_alloc_ctx *ctx, int fd,
		       const struct pfs_plan *plan, int ret)
{
	struct pfs_engine *eng = ctx->eng;
	unsigned long long missed = 0, avail = 0;
	char path[PATH_MAX], more[64] = "";
	struct statvfs sv;
	int err = -ret;

	if (!eng || plan->kind != PFS_PLAN_GROW)
		return;
	if (ret == 0) {
		atomic_fetch_add(&eng->stats.growths, 1);
		atomic_fetch_add(&eng->stats.bytes,
				 (unsigned long long)plan->alloc_len);
		return;
	}
	pfs_stats_refused(&eng->stats, err);
	if (!pfs_ratelimit_allow(&eng->log_rl, time(NULL), &missed)) {
		atomic_fetch_add(&eng->stats.log_suppressed, 1);
		return;
	}
	do_mount_path(eng, fd, path, sizeof(path));
	if (fstatvfs(fd, &sv) == 0)
		avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	if (missed)
		snprintf(more, sizeof(more),
			 " (%llu more refusals were not logged)", missed);
	pfs_log(FUSE_LOG_WARNING,
		"refused growth of %s to %lld bytes (+%lld): %s; %llu bytes free%s",
		path, (long long)(plan->alloc_off + plan->alloc_len),
		(long long)plan->alloc_len, strerror(err), avail, more);
}

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
	if (plan.kind == PFS_PLAN_GROW) {
		ret = pfs_backing_grow(fd, &plan, &st,
				       ctx->eng ? &ctx->eng->caps : NULL,
				       ctx->privileged);
		do_account(ctx, fd, &plan, ret);
	} else {
		ret = pfs_backing_truncate(fd, size);
	}
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
	ret = pfs_backing_grow(fd, &x->plan, &x->st,
			       ctx->eng ? &ctx->eng->caps : NULL,
			       ctx->privileged);
	do_account(ctx, fd, &x->plan, ret);
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
