/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mount's own kernel settings (its backing_dev_info, in
 * /sys/class/bdi/MAJOR:MINOR/), set by the daemon once the mount is up.
 */
#ifndef PFS_BDI_H
#define PFS_BDI_H

#include <stdbool.h>

/*
 * -o readahead= when none is given: 0, the kernel's own 128 KiB.  Larger
 * windows read cold files sequentially somewhat faster through the mount
 * (1024: 0.09 s against 0.12 s for 256 MiB, native 0.05 s), but the
 * kernel also reads a whole window around every page fault of a mapping:
 * 2000 random faults on a cold 1 GiB file took 1.2 to 2.0 s with 1024
 * against 0.43 s with 128 (native 0.47 s).  Mapped databases are what the
 * mount is for.
 */
#define PFS_READAHEAD_KB_DEFAULT 0u
/* The largest -o readahead= accepted. */
#define PFS_READAHEAD_KB_MAX 65536u

/*
 * Prepare to set the mount's read_ahead_kb to kb: learn the mount's device
 * (from mountinfo: call after mounting).  kb == 0 keeps the kernel's
 * default.  asked: the user gave -o readahead= (a failure is then a
 * warning, otherwise a debug line: a user's own mount cannot write to
 * /sys).  0 or -errno.
 */
int pfs_bdi_readahead_arm(const char *mnt, unsigned int kb, bool asked);

/*
 * Write the setting, once: from the first OPEN or CREATE, which the
 * kernel sends only after the init reply.  Cheap when there is nothing
 * to do.
 */
void pfs_bdi_readahead_apply(void);

#endif
