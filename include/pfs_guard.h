/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PFS_GUARD_H
#define PFS_GUARD_H

/*
 * -o auto_unmount: hold the socket that the system's fusermount3 watches
 * until the daemon is wholly gone (see guard.c).  Call once, in the process
 * that serves, after the mount and before any thread starts.  0 when the
 * guard runs or is not needed (no auto_unmount socket), else -errno.
 */
int pfs_guard_auto_unmount(void);
/* Before the mount and before any thread: forget an inherited socket name. */
void pfs_guard_init(void);

#endif
