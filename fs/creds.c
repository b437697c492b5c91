// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-thread caller credentials (see pfs_creds.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pfs_creds.h"
#include "pfs_log.h"

#define PFS_MAX_GROUPS 256

/* The daemon's own credentials, read once at startup. */
static bool daemon_is_root;
static uid_t daemon_fsuid;
static gid_t daemon_fsgid;
static gid_t daemon_groups[PFS_MAX_GROUPS];
static int daemon_ngroups;

/* The thread-local setgroups (see the header). */
static int do_setgroups(int n, const gid_t *groups)
{
	return syscall(SYS_setgroups, (size_t)n, groups) == 0 ? 0 : -errno;
}

int pfs_creds_init(void)
{
	daemon_is_root = geteuid() == 0;
	daemon_fsuid = geteuid();
	daemon_fsgid = getegid();
	daemon_ngroups = getgroups(PFS_MAX_GROUPS, daemon_groups);
	if (daemon_ngroups < 0) {
		daemon_ngroups = 0;
		return -errno;
	}
	return 0;
}

int pfs_creds_enter(fuse_req_t req, struct pfs_creds *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[PFS_MAX_GROUPS];
	int n, ret;

	c->switched = false;
	if (!daemon_is_root || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	/*
	 * The caller's supplementary groups, from /proc: the kernel does
	 * not send them.  A caller that is gone has no groups left to use.
	 */
	n = fuse_req_getgroups(req, PFS_MAX_GROUPS, groups);
	if (n < 0)
		n = 0;
	if (n > PFS_MAX_GROUPS)
		n = PFS_MAX_GROUPS;
	ret = do_setgroups(n, groups);
	if (ret < 0)
		return ret;
	/* gid first: after fsuid changes we may no longer set it. */
	setfsgid(ctx->gid);
	setfsuid(ctx->uid);
	c->switched = true;
	return 0;
}

void pfs_creds_leave(struct pfs_creds *c)
{
	if (!c->switched)
		return;
	setfsuid(daemon_fsuid);
	setfsgid(daemon_fsgid);
	if (do_setgroups(daemon_ngroups, daemon_groups) < 0)
		pfs_err("cannot restore the daemon's groups: %m");
	c->switched = false;
}
