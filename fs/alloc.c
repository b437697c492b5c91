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
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "pfs_alloc.h"
#include "pfs_compat.h"
#include "pfs_log.h"

/* The defaults: fill holes, zero punched ranges, zero-fill fallback. */
static const struct pfs_rules default_rules;

void pfs_engine_init(struct pfs_engine *eng, const char *root_path,
		     const struct pfs_rules *rules)
{
	memset(&eng->stats, 0, sizeof(eng->stats));
	/* A loop of refused growths must not flood the log. */
	pfs_ratelimit_init(&eng->log_rl, 10, 60);
	eng->root_path = root_path;
	eng->rules = rules;
	pfs_devtable_init(&eng->devs);
}

void pfs_engine_destroy(struct pfs_engine *eng)
{
	pfs_devtable_destroy(&eng->devs);
}

const struct pfs_caps *pfs_engine_caps(struct pfs_engine *eng, dev_t dev)
{
	/* The root's device first: nearly every file lives there. */
	if (eng->caps.dev == dev)
		return &eng->caps;
	return pfs_devtable_find(&eng->devs, dev);
}

static const struct pfs_rules *do_rules(const struct pfs_alloc_ctx *ctx)
{
	return ctx->eng && ctx->eng->rules ? ctx->eng->rules : &default_rules;
}

/* How to allocate for a file on device dev: with that device's caps. */
static struct pfs_grow_how do_how(const struct pfs_alloc_ctx *ctx, dev_t dev)
{
	return (struct pfs_grow_how){
		.caps = ctx->eng ? pfs_engine_caps(ctx->eng, dev) : NULL,
		.privileged = ctx->privileged,
		.zero_fallback = do_rules(ctx)->fallback == PFS_FALLBACK_ZERO,
		.cancelled = ctx->cancelled,
		.cancel_arg = ctx->cancel_arg,
	};
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
 * A device below the root was seen for the first time: say what it is and
 * what it gets, with its path inside the mount, once.
 */
static void do_log_device(struct pfs_engine *eng, int fd,
			  const struct pfs_caps *c)
{
	const struct pfs_rules *r = eng->rules ? eng->rules : &default_rules;
	char path[PATH_MAX];

	do_mount_path(eng, fd, path, sizeof(path));
	pfs_info("backing %s (device %u:%u, below the root): %s, "
		 "fallocate %s; guarantee %s",
		 path, major(c->dev), minor(c->dev), c->fs_name,
		 pfs_caps_fallocate_word(c), pfs_caps_guarantee(c, r, true));
	if (pfs_caps_refuse_writes(c, r))
		pfs_warn("refusing writes below %s: %s is a copy-on-write "
			 "filesystem, where stores into allocated ranges may "
			 "still fail; opening its files for writing, creating "
			 "and growing them fail with EROFS (mount with "
			 "-o allow_cow to accept that)",
			 path, c->fs_name);
	else if (c->cow)
		pfs_warn("allow_cow: below %s, on %s, growth is allocated but "
			 "overwrites (also of allocated ranges) may fail with "
			 "ENOSPC, and mapped stores may still raise SIGBUS",
			 path, c->fs_name);
}

int pfs_engine_see(struct pfs_engine *eng, int fd, const struct stat *st)
{
	const struct pfs_caps *c;
	struct pfs_caps caps;
	bool added;
	int ret;

	if (pfs_engine_caps(eng, st->st_dev))
		return 0;
	/*
	 * A device is first reached through the root directory of its
	 * mount (the kernel looks a mount point up like any name), so fd is
	 * a directory where the probe's O_TMPFILE can run.  (A file bind-
	 * mounted on its own gets the filesystem type only.)  The probe runs
	 * without any lock; two threads racing here both probe, one
	 * publishes.
	 */
	ret = pfs_backing_probe(fd, &caps);
	if (ret < 0)
		return ret;
	caps.dev = st->st_dev;
	c = pfs_devtable_add(&eng->devs, &caps, &added);
	if (!c)
		return -ENOMEM;
	if (added)
		do_log_device(eng, fd, c);
	return 0;
}

int pfs_alloc_may_write(const struct pfs_alloc_ctx *ctx,
			struct pfs_inode *inode, bool create)
{
	const struct pfs_caps *caps;
	struct stat st;

	if (!ctx->eng)
		return 0;
	caps = pfs_engine_caps(ctx->eng, inode->dev);
	if (!caps || !pfs_caps_refuse_writes(caps, do_rules(ctx)))
		return 0;
	/* Only regular files hold data that could be lost. */
	if (!create &&
	    (fstatat(inode->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ==
		     -1 ||
	     !S_ISREG(st.st_mode)))
		return 0;
	/* Counted, not logged: the device's line said it once. */
	pfs_stats_refused(&ctx->eng->stats, EROFS);
	return -EROFS;
}

/*
 * Is the file behind fd exempted by a sparse= glob?  Only looked up (one
 * fstat, one readlink) when globs are configured, and only for requests
 * that would allocate.
 *
 * A file with several hard links is never exempted: /proc/self/fd names
 * only one of them (the name the inode was first looked up by), and the
 * same inode reached under a name that matches no glob must keep the full
 * guarantee.  One exempted name could otherwise leave the database behind
 * another name sparse.  A file with no name left (unlinked, still open) is
 * not exempted either: its path no longer says anything.  So: exempt only
 * when a glob matches and st_nlink == 1.
 */
static bool do_exempt(const struct pfs_alloc_ctx *ctx, int fd)
{
	const struct pfs_rules *r = do_rules(ctx);
	char path[PATH_MAX];
	struct stat st;

	if (r->nsparse == 0 || !ctx->eng)
		return false;
	if (fstat(fd, &st) == -1 || st.st_nlink != 1)
		return false;
	do_mount_path(ctx->eng, fd, path, sizeof(path));
	return pfs_policy_exempt(r, path);
}

/*
 * Count and log (rate-limited) a refused request: "refused VERB PATH
 * DETAIL: errno; N bytes free", with the path inside the mount.
 */
static void do_refused(const struct pfs_alloc_ctx *ctx, int fd, int err,
		       const char *verb, const char *detail)
{
	struct pfs_engine *eng = ctx->eng;
	unsigned long long missed = 0, avail = 0;
	char path[PATH_MAX], more[64] = "";
	struct statvfs sv;

	if (!eng)
		return;
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
	pfs_log(FUSE_LOG_WARNING, "refused %s %s%s: %s; %llu bytes free%s",
		verb, path, detail, strerror(err), avail, more);
}

/* Count a growth that was carried out, or count and log a refused one. */
static void do_account(const struct pfs_alloc_ctx *ctx, int fd,
		       const struct pfs_plan *plan, bool zeroed, int ret)
{
	struct pfs_engine *eng = ctx->eng;

	/* An interrupted request was not refused: nothing to report. */
	if (!eng || plan->kind != PFS_PLAN_GROW || ret == -EINTR)
		return;
	if (ret < 0) {
		char detail[96];

		snprintf(detail, sizeof(detail), " to %lld bytes (+%lld)",
			 (long long)(plan->alloc_off + plan->alloc_len),
			 (long long)plan->alloc_len);
		do_refused(ctx, fd, -ret, "growth of", detail);
		return;
	}
	atomic_fetch_add(&eng->stats.growths, 1);
	atomic_fetch_add(&eng->stats.bytes, (unsigned long long)plan->alloc_len);
	if (zeroed)
		atomic_fetch_add(&eng->stats.fallback_zero, 1);
}

/* Carry out a GROW plan for a request, and account for it. */
static int do_grow(const struct pfs_alloc_ctx *ctx, int fd,
		   const struct pfs_plan *plan, const struct stat *st,
		   bool *zeroed)
{
	struct pfs_grow_how how = do_how(ctx, st->st_dev);
	int ret;

	*zeroed = false;
	/*
	 * A copy-on-write device below the root without allow_cow: no
	 * writable open reaches here (they are refused), but a truncate by
	 * path does.  Counted, not logged (the device's line said it).
	 */
	if (how.caps && plan->kind == PFS_PLAN_GROW &&
	    pfs_caps_refuse_writes(how.caps, do_rules(ctx))) {
		if (ctx->eng)
			pfs_stats_refused(&ctx->eng->stats, EROFS);
		return -EROFS;
	}
	ret = pfs_backing_grow(fd, plan, st, &how, zeroed);
	do_account(ctx, fd, plan, *zeroed, ret);
	return ret;
}

int pfs_alloc_resize(struct pfs_inode *inode, int fd, off_t size,
		     const struct pfs_alloc_ctx *ctx)
{
	struct pfs_plan plan;
	bool zeroed;
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
	/* Exempted paths grow sparsely, as on the backing filesystem. */
	if (plan.kind == PFS_PLAN_GROW && !do_exempt(ctx, fd))
		ret = do_grow(ctx, fd, &plan, &st, &zeroed);
	else
		ret = pfs_backing_truncate(fd, size);
	pfs_dbg("resize %lld -> %lld: %d", (long long)st.st_size,
		(long long)size, ret);
out_unlock:
	pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

/*
 * ZERO_RANGE where the backing filesystem would free the range first (XFS,
 * pfs_caps.zero_frees): what lies past end-of-file is allocated like any
 * growth (mode 0, or KEEP_SIZE as asked), then the part inside the old
 * size is zeroed by writing over the blocks it has.  A refused growth
 * leaves the file as it was; nothing inside it was freed.
 */
static int do_zero_range_in_place(int fd, int mode, off_t off, off_t len,
				  const struct stat *st,
				  const struct pfs_grow_how *how)
{
	off_t end = off + len;
	int ret;

	if (end > st->st_size) {
		off_t from = off > st->st_size ? off : st->st_size;

		ret = pfs_backing_fallocate(fd, mode & FALLOC_FL_KEEP_SIZE,
					    from, end - from, st->st_size);
		if (ret < 0)
			return ret;
	}
	return pfs_backing_zero_range(fd, off, len, st->st_size, how);
}

int pfs_alloc_fallocate(struct pfs_inode *inode, int fd, int mode, off_t off,
			off_t len, const struct pfs_alloc_ctx *ctx)
{
	enum pfs_punch_action act;
	struct pfs_grow_how how;
	struct pfs_creds creds;
	struct stat st;
	int ret;

	ret = pfs_policy_check_range(off, len);
	if (ret < 0)
		return ret;
	act = pfs_policy_fallocate_mode(mode, do_rules(ctx)->punch);
	if (act != PFS_FALLOC_PASS && do_exempt(ctx, fd))
		act = PFS_FALLOC_PASS;
	if (act == PFS_FALLOC_DENY)
		return -EOPNOTSUPP;

	pthread_rwlock_wrlock(&inode->size_lock);
	if (fstat(fd, &st) == -1) {
		ret = pfs_neg_errno();
		goto out_unlock;
	}
	pfs_creds_enter_ids(ctx->uid, ctx->gid, &creds);
	switch (act) {
	case PFS_FALLOC_ZERO:
		/* The range reads as zeros, as after a punch, but stays
		 * allocated: a mapped store into it cannot fault. */
		how = do_how(ctx, st.st_dev);
		ret = pfs_backing_zero_range(fd, off, len, st.st_size, &how);
		break;
	case PFS_FALLOC_INSERT:
		how = do_how(ctx, st.st_dev);
		ret = pfs_backing_insert_range(fd, off, len, &st, &how);
		if (ret < 0) {
			char detail[96];

			snprintf(detail, sizeof(detail),
				 " at %lld (+%lld bytes)", (long long)off,
				 (long long)len);
			do_refused(ctx, fd, -ret, "inserting into", detail);
		}
		break;
	default:
		/*
		 * mode 0 or ZERO_RANGE past end-of-file moves the size to
		 * off + len but allocates only [off, off + len): the gap
		 * from the old size would stay a hole inside the file.
		 * Start the range at the old size: the gap reads as zeros
		 * either way, and now it is allocated.
		 */
		if ((mode & ~FALLOC_FL_ZERO_RANGE) == 0 && off > st.st_size) {
			len += off - st.st_size;
			off = st.st_size;
		}
		how = do_how(ctx, st.st_dev);
		if ((mode & FALLOC_FL_ZERO_RANGE) && how.caps &&
		    how.caps->zero_frees)
			ret = do_zero_range_in_place(fd, mode, off, len, &st,
						     &how);
		else
			ret = pfs_backing_fallocate(fd, mode, off, len,
						    st.st_size);
		if (ret == -ENOSPC || ret == -EDQUOT) {
			char detail[96];

			snprintf(detail, sizeof(detail),
				 " at %lld (+%lld bytes, mode 0x%x)",
				 (long long)off, (long long)len, mode);
			do_refused(ctx, fd, -ret, "fallocate of", detail);
		}
		break;
	}
	pfs_creds_leave(&creds);
out_unlock:
	pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

int pfs_alloc_fill_holes(struct pfs_inode *inode, int fd,
			 const struct pfs_alloc_ctx *ctx)
{
	struct pfs_grow_how how;
	unsigned long long filled = 0;
	struct pfs_creds creds;
	struct stat st;
	int ret = 0;

	if (do_rules(ctx)->holes == PFS_HOLES_KEEP)
		return 0;
	pthread_rwlock_wrlock(&inode->size_lock);
	if (fstat(fd, &st) == -1) {
		ret = pfs_neg_errno();
		goto out_unlock;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0 || do_exempt(ctx, fd))
		goto out_unlock;
	how = do_how(ctx, st.st_dev);
	pfs_creds_enter_ids(ctx->uid, ctx->gid, &creds);
	ret = pfs_backing_fill_holes(fd, &st, &how, &filled);
	pfs_creds_leave(&creds);
	if (ret == 0 && filled)
		ret = 1;	/* the allocation changed: st_blocks is stale */
	if (ret < 0 && ret != -EINTR)
		do_refused(ctx, fd, -ret, "opening",
			   " for writing (allocating its holes or unsharing "
			   "its reflinked extents failed)");
	else if (filled && ctx->eng)
		atomic_fetch_add(&ctx->eng->stats.holes_filled, filled);
out_unlock:
	pthread_rwlock_unlock(&inode->size_lock);
	return ret;
}

/*
 * A write that starts below the filesystem's largest file size and ends
 * past it is cut short natively (pwrite returns the bytes that fit): plan
 * only up to the limit, so the backing write does just that.  A write that
 * starts at or past the limit keeps its plan and gets EFBIG from
 * pfs_backing_grow, as natively.
 */
static void do_clamp_to_max(const struct pfs_alloc_ctx *ctx,
			    struct pfs_extend *x)
{
	struct pfs_grow_how how = do_how(ctx, x->st.st_dev);
	off_t max;

	if (x->plan.kind != PFS_PLAN_GROW || !how.caps ||
	    how.caps->dev != x->st.st_dev || how.caps->max_bytes <= 0)
		return;
	max = how.caps->max_bytes;
	if (x->off >= max || x->len <= (uint64_t)(max - x->off))
		return;
	x->len = (uint64_t)(max - x->off);
	x->plan.alloc_len = max - x->plan.alloc_off;
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
		ret = (ctx->whole ? pfs_policy_copy : pfs_policy_extend)(
			x->st.st_size, x->off, len, &x->plan);
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
	if (x->plan.kind == PFS_PLAN_GROW && do_exempt(ctx, fd))
		x->plan.kind = PFS_PLAN_NONE;
	do_clamp_to_max(ctx, x);
	/*
	 * The write may allocate (the plan's range, an append, a hole left
	 * by holes=keep or made behind the mount's back): it runs as the
	 * caller, so the root reserve (ext4 checks the fsuid) and quotas
	 * apply as to a native write.  Two cheap syscalls each way.
	 */
	pfs_creds_enter_ids(ctx->uid, ctx->gid, &x->creds);
	if (x->plan.kind == PFS_PLAN_NONE)
		return 0;
	ret = do_grow(ctx, fd, &x->plan, &x->st, &x->zeroed);
	if (ret == 0)
		return 0;
	pfs_creds_leave(&x->creds);
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
	 * allocated past what was written, and the size the file had, under
	 * the roll-back rule (pfs_backing_undo_growth): only what this
	 * request added.  The write itself can have produced off + done at
	 * most; the KEEP_SIZE allocation moved no size, but zeros written
	 * where fallocate is missing raised it to the end of the plan.  A
	 * larger file means another process (backing side) wrote meanwhile.
	 */
	if (x->plan.kind == PFS_PLAN_GROW && done != (int64_t)x->len) {
		off_t end = x->plan.alloc_off + x->plan.alloc_len;
		struct pfs_undo undo = {
			.keep = done > 0 ? x->off + done : x->st.st_size,
			.release = true,
		};
		int ret;

		undo.produced = undo.keep;
		if ((x->zeroed || !x->plan.keep_size) && end > undo.produced)
			undo.produced = end;
		/* Past keep: zeros written, or unwritten extents only. */
		undo.unwritten = !x->zeroed;
		ret = pfs_backing_undo_growth(x->fd, &undo);
		/* The request's own result stands; say what was left. */
		if (ret < 0)
			pfs_err("cannot give back the space past %lld after a short write: %s",
				(long long)undo.keep, strerror(-ret));
		else if (ret > 0)
			pfs_dbg("short write: size left as another writer made it");
	}
	pfs_creds_leave(&x->creds);
	pthread_rwlock_unlock(&x->inode->size_lock);
}
