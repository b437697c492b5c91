/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging over fuse_log(): stderr in the foreground, syslog once the daemon
 * has detached.  Debug lines are gated by one global flag read without a
 * lock (it is set once before the session starts).
 */
#ifndef PFS_LOG_H
#define PFS_LOG_H

#include <stdbool.h>
#include <fuse_log.h>

extern bool pfs_debug;

#define pfs_log(level, fmt, ...) \
	fuse_log(level, "preallocfs: " fmt "\n", ##__VA_ARGS__)
#define pfs_err(fmt, ...) pfs_log(FUSE_LOG_ERR, fmt, ##__VA_ARGS__)
#define pfs_warn(fmt, ...) pfs_log(FUSE_LOG_WARNING, fmt, ##__VA_ARGS__)
#define pfs_info(fmt, ...) pfs_log(FUSE_LOG_INFO, fmt, ##__VA_ARGS__)
#define pfs_dbg(fmt, ...)                                          \
	do {                                                       \
		if (__builtin_expect(pfs_debug, 0))                \
			pfs_log(FUSE_LOG_DEBUG, fmt, ##__VA_ARGS__); \
	} while (0)

/* Send log lines to syslog (daemon mode) instead of stderr. */
void pfs_log_to_syslog(void);

#endif /* PFS_LOG_H */
