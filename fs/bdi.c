// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mount's readahead (-o readahead=).  The kernel gives a FUSE mount
 * 128 KiB, and every readahead window is a round trip through the daemon;
 * the default keeps it (pfs_bdi.h says why).  Only root can write the
 * setting, in sysfs, and only after the FUSE init: the init reply's
 * max_readahead is where the kernel takes the lower of the two.  So the
 * mount's device is learnt from mountinfo once it is mounted, and the
 * setting written by the worker that serves the first open: the kernel
 * sends none before the init reply.  Never by asking the mount itself
 * (pfs_mountinfo.h says why).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pfs_bdi.h"
#include "pfs_log.h"
#include "pfs_mountinfo.h"

static struct {
	char path[64];		/* .../read_ahead_kb of our mount */
	unsigned int kb;
	bool asked;
} ra;
static atomic_bool ra_pending;

int pfs_bdi_readahead_arm(const char *mnt, unsigned int kb, bool asked)
{
	uint64_t id;
	dev_t dev;
	int ret;

	if (kb == 0)
		return 0;
	ret = pfs_mountinfo_fuse(mnt, &dev, &id);
	if (ret < 0)
		return ret;
	snprintf(ra.path, sizeof(ra.path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(dev), minor(dev));
	ra.kb = kb;
	ra.asked = asked;
	atomic_store(&ra_pending, true);
	return 0;
}

void pfs_bdi_readahead_apply(void)
{
	char val[16];
	int fd, n, ret = 0;

	if (!atomic_load_explicit(&ra_pending, memory_order_relaxed) ||
	    !atomic_exchange(&ra_pending, false))
		return;
	fd = open(ra.path, O_WRONLY | O_CLOEXEC);
	if (fd == -1) {
		ret = -errno;
	} else {
		n = snprintf(val, sizeof(val), "%u\n", ra.kb);
		if (write(fd, val, (size_t)n) != n)
			ret = -errno;
		close(fd);
	}
	if (ret == 0)
		pfs_dbg("readahead %u KiB (%s)", ra.kb, ra.path);
	else if (ra.asked)
		pfs_warn("cannot set readahead=%u (%s): %s", ra.kb, ra.path,
			 strerror(-ret));
	else
		pfs_dbg("readahead left at the kernel's default: %s",
			strerror(-ret));
}
