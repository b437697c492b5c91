/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fallback definitions for constants older libc headers may lack, so the
 * .c files need no #ifdef.  Everything here is a plain Linux ABI value.
 */
#ifndef PFS_COMPAT_H
#define PFS_COMPAT_H

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/types.h>
#include <sys/syscall.h>

#ifndef O_PATH
#define O_PATH 010000000
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif

/*
 * cachestat(2), Linux 6.5: page-cache residency of a file range.  The same
 * number on every architecture; Debian 12's headers lack the call and its
 * structs (<linux/mman.h> has them from 6.5 on, as struct cachestat_range
 * and struct cachestat: hence the pfs_ names).
 */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct pfs_cachestat_range {
	__u64 off;
	__u64 len;		/* 0: to the end of the file */
};

struct pfs_cachestat {
	__u64 nr_cache;		/* pages in memory (shmem: also fallocated) */
	__u64 nr_dirty;
	__u64 nr_writeback;
	__u64 nr_evicted;	/* shmem: pages swapped out */
	__u64 nr_recently_evicted;
};

#define PFS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "-1 and errno" at a syscall boundary -> -errno (never 0 on failure). */
static inline int pfs_neg_errno(void)
{
	return errno ? -errno : -EIO;
}

#endif /* PFS_COMPAT_H */
