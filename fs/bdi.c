// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mount's readahead (-o readahead=).  The kernel gives a FUSE mount
 * 128 KiB, and every readahead window is a round trip through the daemon;
 * the default keeps it (pfs_bdi.h says why).  Only root can write the
 * setting, in sysfs, and only after the FUSE init: the init reply's
 * max_readahead is where the kernel takes the lower of the two.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pfs_bdi.h"
#include "pfs_log.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

struct ra_job {
	unsigned int kb;
	bool asked;
	char mnt[];
};

/* Write "kb" to the mount's read_ahead_kb; 0 or -errno. */
static int do_set(dev_t dev, unsigned int kb, char *path, size_t len)
{
	char val[16];
	int fd, n, ret = 0;

	snprintf(path, len, "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev),
		 minor(dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	n = snprintf(val, sizeof(val), "%u\n", kb);
	if (write(fd, val, (size_t)n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

static void *do_readahead(void *arg)
{
	struct ra_job *job = arg;
	char path[64];
	struct statfs sfs;
	struct stat st;
	int ret;

	/*
	 * statfs() on the mount waits in the kernel until the init reply is
	 * in (every request does), and always reaches the daemon.  Then the
	 * mount point must still be this mount: a FUSE filesystem, not the
	 * directory below after an early unmount.
	 */
	if (statfs(job->mnt, &sfs) == -1 || stat(job->mnt, &st) == -1)
		ret = -errno;
	else if ((unsigned long)sfs.f_type != FUSE_SUPER_MAGIC ||
		 major(st.st_dev) != 0)
		ret = -ENODEV;
	else
		ret = do_set(st.st_dev, job->kb, path, sizeof(path));
	if (ret == 0)
		pfs_dbg("readahead %u KiB (%s)", job->kb, path);
	else if (job->asked)
		pfs_warn("cannot set readahead=%u for %s: %s", job->kb,
			 job->mnt, strerror(-ret));
	else
		pfs_dbg("readahead left at the kernel's default: %s",
			strerror(-ret));
	free(job);
	return NULL;
}

int pfs_bdi_readahead_start(const char *mnt, unsigned int kb, bool asked)
{
	struct ra_job *job;
	pthread_t t;
	int ret;

	if (kb == 0)
		return 0;
	job = malloc(sizeof(*job) + strlen(mnt) + 1);
	if (!job)
		return -ENOMEM;
	job->kb = kb;
	job->asked = asked;
	strcpy(job->mnt, mnt);
	ret = pthread_create(&t, NULL, do_readahead, job);
	if (ret != 0) {
		free(job);
		return -ret;
	}
	pthread_detach(t);
	return 0;
}
