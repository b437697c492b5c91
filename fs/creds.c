// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-thread caller credentials (see pfs_creds.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pfs_creds.h"
#include "pfs_log.h"

#define PFS_MAX_GROUPS 256

/* The daemon's own credentials, read once at startup. */
static bool daemon_is_root;
static bool kernel_checks;
static bool dont_mask;		/* set by init, before any request */

/* This thread has its own umask (unshare(CLONE_FS) succeeded). */
static __thread bool own_umask;
static __thread bool own_umask_tried;
static uid_t daemon_fsuid;
static gid_t daemon_fsgid;
static gid_t daemon_groups[PFS_MAX_GROUPS];
static int daemon_ngroups;

/* The thread-local setgroups (see the header). */
static int do_setgroups(int n, const gid_t *groups)
{
	return syscall(SYS_setgroups, (size_t)n, groups) == 0 ? 0 : -errno;
}

/* Remove CAP_SYS_RESOURCE from this thread's effective and permitted sets. */
static int do_drop_sys_resource(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	const int cap = CAP_SYS_RESOURCE;

	if (syscall(SYS_capget, &hdr, data) == -1)
		return -errno;
	data[cap / 32].effective &= ~(1u << (cap % 32));
	data[cap / 32].permitted &= ~(1u << (cap % 32));
	if (syscall(SYS_capset, &hdr, data) == -1)
		return -errno;
	return 0;
}

int pfs_creds_init(bool default_permissions)
{
	kernel_checks = default_permissions;
	daemon_is_root = geteuid() == 0;
	daemon_fsuid = geteuid();
	daemon_fsgid = getegid();
	daemon_ngroups = getgroups(PFS_MAX_GROUPS, daemon_groups);
	if (daemon_ngroups < 0) {
		daemon_ngroups = 0;
		return -errno;
	}
	return daemon_is_root ? do_drop_sys_resource() : 0;
}

int pfs_creds_enter(fuse_req_t req, struct pfs_creds *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[PFS_MAX_GROUPS];
	int n, ret;

	c->switched = false;
	c->groups = false;
	c->umask = false;
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
	c->groups = true;
	return 0;
}

bool pfs_creds_kernel_checks(void)
{
	return kernel_checks;
}

int pfs_creds_enter_look(fuse_req_t req, struct pfs_creds *c)
{
	if (kernel_checks) {
		c->switched = false;
		c->groups = false;
		c->umask = false;
		return 0;
	}
	return pfs_creds_enter(req, c);
}

void pfs_creds_set_dont_mask(bool on)
{
	dont_mask = on;
}

/*
 * umask is per fs_struct, which threads share: a thread unshares its own
 * once, then may set it per request without touching other threads.
 */
static bool do_own_umask(void)
{
	if (!own_umask_tried) {
		own_umask_tried = true;
		own_umask = unshare(CLONE_FS) == 0;
		if (!own_umask) {
			static atomic_bool warned;

			if (!atomic_exchange(&warned, true))
				pfs_warn("unshare(CLONE_FS): %m: the caller's umask is applied even where a default ACL should override it");
		}
	}
	return own_umask;
}

int pfs_creds_enter_create(fuse_req_t req, struct pfs_creds *c, mode_t *mode)
{
	mode_t mask = dont_mask ? fuse_req_ctx(req)->umask : 0;
	int ret = pfs_creds_enter(req, c);

	if (ret < 0 || !mask)
		return ret;
	if (do_own_umask()) {
		umask(mask);
		c->umask = true;
	} else {
		*mode &= ~mask;
	}
	return 0;
}

void pfs_creds_enter_ids(uid_t uid, gid_t gid, struct pfs_creds *c)
{
	c->switched = false;
	c->groups = false;
	c->umask = false;
	if (!daemon_is_root || (uid == daemon_fsuid && gid == daemon_fsgid))
		return;
	setfsgid(gid);
	setfsuid(uid);
	c->switched = true;
}

void pfs_creds_leave(struct pfs_creds *c)
{
	/* The daemon's own umask is 0 (main.c). */
	if (c->umask)
		umask(0);
	c->umask = false;
	if (!c->switched)
		return;
	setfsuid(daemon_fsuid);
	setfsgid(daemon_fsgid);
	if (c->groups && do_setgroups(daemon_ngroups, daemon_groups) < 0)
		pfs_err("cannot restore the daemon's groups: %m");
	c->switched = false;
	c->groups = false;
}
