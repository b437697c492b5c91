/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/self/mountinfo, read without touching the mounts themselves: the
 * daemon must never make a request to its own mount, because a thread
 * waiting for an answer its own (dying) workers read but never sent keeps
 * the process from exiting on SIGKILL, and with it the connection.
 */
#ifndef PFS_MOUNTINFO_H
#define PFS_MOUNTINFO_H

#include <stdint.h>
#include <sys/types.h>

/* Undo the octal escapes of a mountinfo field (\040 for a space...). */
void pfs_mountinfo_unescape(char *s);

/*
 * The newest mount at the absolute path mnt whose type starts with
 * "fuse": its device number and mount id (statx's stx_mnt_id).  0, or
 * -ENOENT when there is none, or -errno.
 */
int pfs_mountinfo_fuse(const char *mnt, dev_t *dev, uint64_t *mnt_id);

#endif
