/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Acting as the caller.  A daemon running as root serves every user of an
 * allow_other mount; requests that create or change things must reach the
 * backing store with the caller's fsuid, fsgid and supplementary groups,
 * so new files get the caller's owner and group (setgid directories
 * included) and permission checks are the caller's.
 *
 * The switch is per thread: setfsuid/setfsgid are per-thread syscalls, and
 * the groups are set with the raw setgroups syscall (glibc's wrapper would
 * change every thread of the process).  Changing fsuid away from 0 also
 * drops the filesystem capabilities for that thread, as for a native call.
 *
 * Which requests switch:
 *  - everything that creates, removes, renames, changes attributes or
 *    xattrs, truncates at open, or answers access(2): always
 *    (pfs_creds_enter; mknod, mkdir and create also take on the caller's
 *    umask: pfs_creds_enter_create);
 *  - requests that only look (lookup, readlink, getxattr, listxattr,
 *    opendir, readdirplus, open without O_TRUNC): only where the kernel has
 *    not checked the caller's permissions, i.e. on an allow_other mount
 *    without default_permissions (pfs_creds_enter_look).  With
 *    default_permissions the kernel has checked mode bits and ACLs already;
 *    switching again would cost a /proc read per request for nothing.
 *  - writes, copies, fallocate, hole filling: fsuid and fsgid only
 *    (pfs_creds_enter_ids), for the root reserve and quotas.
 */
#ifndef PFS_CREDS_H
#define PFS_CREDS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pfs_fuse.h"

struct pfs_creds {
	bool switched;	/* fsuid/fsgid were changed */
	bool groups;	/* the supplementary groups were changed too */
	bool umask;	/* this thread's umask was set for the request */
	bool fs_caps;	/* a root daemon's fsuid is 0: CAP_FSETID and co. */
	bool fsetid;	/* pfs_creds_fsetid changed CAP_FSETID */
};

/*
 * Remember the daemon's own credentials, and drop CAP_SYS_RESOURCE: with
 * it, a root daemon's allocations would ignore quota limits whoever asked.
 * kernel_checks: no other user's permissions are left for the daemon to
 * check: the mount has default_permissions (the kernel checks every caller
 * before a request reaches us), or no allow_other (only its owner may use
 * it).  Call once at startup, before any thread is made (threads inherit
 * it).  0 or -errno.
 */
int pfs_creds_init(bool kernel_checks);

/* kernel_checks, as given to pfs_creds_init. */
bool pfs_creds_kernel_checks(void);

/*
 * Take on the credentials of req's caller (nothing to do when the daemon
 * is not root, or the caller is root).  0, or -errno with nothing changed.
 */
int pfs_creds_enter(fuse_req_t req, struct pfs_creds *c);

/*
 * The umask of new files and directories (FUSE_CAP_DONT_MASK): the kernel
 * then leaves the caller's umask to us, to be applied only where the parent
 * directory has no default ACL, which is what the backing filesystem does
 * with the thread's umask.  init tells whether the kernel agreed.
 */
void pfs_creds_set_dont_mask(bool dont_mask);

/*
 * pfs_creds_enter, for mknod, mkdir and create: also take on the caller's
 * umask (the thread gets a umask of its own, with unshare(CLONE_FS), at its
 * first such request).  *mode is the mode to create with: unchanged, or
 * with the umask applied here where the thread cannot have its own umask
 * (then a default ACL no longer overrides the umask).
 */
int pfs_creds_enter_create(fuse_req_t req, struct pfs_creds *c, mode_t *mode);

/*
 * For requests that only look at things: pfs_creds_enter where the kernel
 * has not checked the caller's permissions, nothing where it has (see
 * above).  0, or -errno with nothing changed.
 */
int pfs_creds_enter_look(fuse_req_t req, struct pfs_creds *c);

/*
 * Only fsuid and fsgid, for requests that allocate through an already open
 * file (no permission check involved, so no groups, and no /proc read):
 * enough for the root reserve (ext4 checks the fsuid) and for quota.
 */
void pfs_creds_enter_ids(uid_t uid, gid_t gid, struct pfs_creds *c);

/* Back to the daemon's own credentials. */
void pfs_creds_leave(struct pfs_creds *c);

/*
 * Setuid/setgid clearing with FUSE_CAP_HANDLE_KILLPRIV_V2 (the daemon's
 * job then, not the kernel's).  The backing filesystem clears the bits on
 * every write, truncate and chown exactly as it would for the caller, as
 * long as this thread has CAP_FSETID in its effective set exactly when the
 * caller has it.  A root daemon has it while its fsuid is 0 and loses it
 * with a non-zero fsuid (pfs_creds_enter*), which matches ordinary callers
 * (root with it, users without it); these two are for the others.
 *
 * pfs_creds_caller_fsetid: does req's caller have CAP_FSETID (the CapEff
 * line of /proc/PID/task/PID/status)?  Where that cannot be read (a caller
 * gone, or in another PID namespace: pid 0), a caller with uid 0 is taken
 * to have it and any other not.
 *
 * pfs_creds_fsetid: give this thread CAP_FSETID (on) or take it away, in
 * its effective set only; c says whether pfs_creds_enter* switched.  Does
 * nothing when the thread is already so, or the daemon is not root.
 * pfs_creds_fsetid_end puts it back (call it before pfs_creds_leave).
 */
bool pfs_creds_caller_fsetid(fuse_req_t req);

/*
 * Bits a write or truncate may clear natively: setuid; setgid if
 * group-exec, or for a writer outside the file's group.
 */
static inline bool pfs_has_kill_bits(mode_t mode)
{
	return S_ISREG(mode) && (mode & (S_ISUID | S_ISGID));
}
void pfs_creds_fsetid(struct pfs_creds *c, bool on);
void pfs_creds_fsetid_end(struct pfs_creds *c);

#endif /* PFS_CREDS_H */
