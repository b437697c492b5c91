// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-thread caller credentials (see pfs_creds.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_log.h"

/*
 * Groups are read into a buffer on the stack up to this many, into one on
 * the heap beyond (up to the kernel's NGROUPS_MAX, 65536).
 */
#define PFS_STACK_GROUPS 256
/* /proc/PID/task/TID/status is about 1.5 KiB with few groups. */
#define PFS_STATUS_BUF 4096

/* The daemon's own credentials, read once at startup. */
static bool daemon_is_root;
static bool kernel_checks;
static bool dont_mask;		/* set by init, before any request */
static uid_t daemon_fsuid;
static gid_t daemon_fsgid;
static gid_t *daemon_groups;	/* malloc()ed; never freed */
static int daemon_ngroups;

/* This thread has its own umask (unshare(CLONE_FS) succeeded). */
static __thread bool own_umask;
static __thread bool own_umask_tried;

/* Log msg once per process (flag: its own static atomic_bool). */
#define pfs_warn_once(flag, ...)                           \
	do {                                               \
		static atomic_bool flag;                   \
		if (!atomic_exchange(&flag, true))         \
			pfs_warn(__VA_ARGS__);             \
	} while (0)

/*
 * The thread-local setgroups (see the header).  On 32-bit x86 and ARM,
 * SYS_setgroups is the old call with 16-bit gids; SYS_setgroups32 takes
 * full gid_t values there.
 */
static int do_setgroups(int n, const gid_t *groups)
{
#ifdef SYS_setgroups32
	long nr = SYS_setgroups32;
#else
	long nr = SYS_setgroups;
#endif
	return syscall(nr, (size_t)n, groups) == 0 ? 0 : -errno;
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

int pfs_creds_init(bool checked)
{
	int n;

	kernel_checks = checked;
	daemon_is_root = geteuid() == 0;
	daemon_fsuid = geteuid();
	daemon_fsgid = getegid();
	n = getgroups(0, NULL);
	daemon_groups = malloc((n > 0 ? (size_t)n : 1) * sizeof(gid_t));
	if (n < 0 || !daemon_groups)
		return n < 0 ? -errno : -ENOMEM;
	daemon_ngroups = getgroups(n, daemon_groups);
	if (daemon_ngroups < 0) {
		daemon_ngroups = 0;
		return -errno;
	}
	return daemon_is_root ? do_drop_sys_resource() : 0;
}

/*
 * Read all of a /proc status file into buf (size bytes on the caller's
 * stack), or into a malloc()ed buffer left in *heap when it is larger.
 * NUL-terminated; its length, or -errno.
 */
static ssize_t do_read_status(const char *path, char *buf, size_t size,
			      char **heap)
{
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	*heap = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return pfs_neg_errno();
	for (;;) {
		if (len + 1 == size) {
			char *bigger = realloc(*heap, size * 4);

			if (!bigger) {
				ret = -ENOMEM;
				goto out_free;
			}
			if (!*heap)
				memcpy(bigger, buf, len);
			*heap = bigger;
			buf = bigger;
			size *= 4;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1) {
			ret = pfs_neg_errno();
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;

out_free:
	close(fd);
	free(*heap);
	*heap = NULL;
	return ret;
}

/*
 * The supplementary groups of the caller of req, from /proc (the kernel
 * does not send them; they are per thread, hence the task path).  Into
 * groups (PFS_STACK_GROUPS entries) or a malloc()ed array left in *heap.
 * Their number; 0 when they cannot be known (a caller that is gone, or one
 * in a PID namespace we cannot see: pid 0).
 */
static int do_caller_groups(fuse_req_t req, gid_t *groups, gid_t **heap)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	char stack[PFS_STATUS_BUF];
	char path[64];
	char *buf, *hbuf, *p, *end;
	long max = sysconf(_SC_NGROUPS_MAX);
	int n = 0;

	*heap = NULL;
	if (pid == 0) {
		pfs_warn_once(warned_pidns,
			      "a caller in another PID namespace (pid 0): its supplementary groups cannot be read, so its requests run with its uid and gid and no supplementary groups (logged once)");
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)pid);
	if (do_read_status(path, stack, sizeof(stack), &hbuf) < 0)
		return 0;
	buf = hbuf ? hbuf : stack;
	p = strstr(buf, "\nGroups:");
	if (!p)
		goto out_free;
	p += strlen("\nGroups:");
	if (max <= 0)
		max = 65536;
	for (;;) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		p = end;
		if (n == max) {
			pfs_warn_once(warned_max,
				      "a caller has more than %ld supplementary groups: only the first %ld are used (logged once)",
				      max, max);
			break;
		}
		if (n == PFS_STACK_GROUPS && !*heap) {
			*heap = malloc((size_t)max * sizeof(gid_t));
			if (!*heap) {
				pfs_warn_once(warned_nomem,
					      "out of memory for a caller's supplementary groups: only the first %d are used (logged once)",
					      PFS_STACK_GROUPS);
				break;
			}
			memcpy(*heap, groups, (size_t)n * sizeof(gid_t));
		}
		(*heap ? *heap : groups)[n++] = (gid_t)v;
	}
out_free:
	free(hbuf);
	return n;
}

int pfs_creds_enter(fuse_req_t req, struct pfs_creds *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t stack[PFS_STACK_GROUPS];
	gid_t *heap;
	int n, ret;

	c->switched = false;
	c->groups = false;
	c->umask = false;
	c->fsetid = false;
	if (!daemon_is_root || (ctx->uid == 0 && ctx->gid == 0))
		return 0;
	n = do_caller_groups(req, stack, &heap);
	ret = do_setgroups(n, heap ? heap : stack);
	free(heap);
	if (ret < 0)
		return ret;
	/* gid first: after fsuid changes we may no longer set it. */
	setfsgid(ctx->gid);
	setfsuid(ctx->uid);
	c->switched = true;
	c->groups = true;
	c->fs_caps = ctx->uid == 0;
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
		c->fsetid = false;
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
		if (!own_umask)
			pfs_warn_once(warned_unshare,
				      "unshare(CLONE_FS): %m: the caller's umask is applied even where a default ACL should override it (logged once)");
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
	c->fsetid = false;
	if (!daemon_is_root || (uid == daemon_fsuid && gid == daemon_fsgid))
		return;
	setfsgid(gid);
	setfsuid(uid);
	c->switched = true;
	c->fs_caps = uid == 0;
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

bool pfs_creds_caller_fsetid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char stack[PFS_STATUS_BUF];
	char path[64];
	char *hbuf, *p;
	bool has;

	if (ctx->pid == 0)
		return ctx->uid == 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)ctx->pid,
		 (int)ctx->pid);
	if (do_read_status(path, stack, sizeof(stack), &hbuf) < 0)
		return ctx->uid == 0;
	p = strstr(hbuf ? hbuf : stack, "\nCapEff:");
	if (p) {
		unsigned long long eff = strtoull(p + strlen("\nCapEff:"),
						  NULL, 16);

		has = (eff >> CAP_FSETID) & 1;
	} else {
		has = ctx->uid == 0;
	}
	free(hbuf);
	return has;
}

/* Raise or drop one capability in this thread's effective set. */
static void do_set_effective(int cap, bool on)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) == -1)
		goto fail;
	if (on)
		data[cap / 32].effective |= 1u << (cap % 32);
	else
		data[cap / 32].effective &= ~(1u << (cap % 32));
	if (syscall(SYS_capset, &hdr, data) == 0)
		return;
fail:
	pfs_warn_once(warned_capset,
		      "cannot change CAP_FSETID for a request: %m (setuid/setgid bits may be cleared differently from the backing filesystem; logged once)");
}

/*
 * A root daemon's thread has CAP_FSETID while its fsuid is 0: the kernel
 * drops the filesystem capabilities with a non-zero fsuid and raises them
 * again when it goes back to 0 (pfs_creds_leave).
 */
static bool do_has_fsetid(const struct pfs_creds *c)
{
	return !c->switched || c->fs_caps;
}

void pfs_creds_fsetid(struct pfs_creds *c, bool on)
{
	c->fsetid = daemon_is_root && on != do_has_fsetid(c);
	if (c->fsetid)
		do_set_effective(CAP_FSETID, on);
}

void pfs_creds_fsetid_end(struct pfs_creds *c)
{
	if (c->fsetid)
		do_set_effective(CAP_FSETID, do_has_fsetid(c));
	c->fsetid = false;
}
