/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd readiness and status (sd_notify(3)'s protocol), for
 * preallocfs@.service's Type=notify.  Everything is a no-op when
 * $NOTIFY_SOCKET is not set, i.e. when not started by systemd.
 */
#ifndef PFS_NOTIFY_H
#define PFS_NOTIFY_H

#include "pfs_stats.h"

/*
 * Remember $NOTIFY_SOCKET and take it out of the environment (programs
 * the daemon starts, fusermount3, must not notify in its name).  Call once,
 * before any thread is made.
 */
void pfs_notify_init(void);

/* Send one datagram of "KEY=VALUE\n" lines; 0 or -errno (logged once). */
int pfs_notify(const char *state);

/*
 * READY=1 with MAINPID and a first STATUS= line: the session answers
 * requests (sent from the FUSE init callback).  Then, every
 * PFS_NOTIFY_STATUS_SEC seconds, a new STATUS= line when the counters
 * changed (a thread of its own, started here).
 */
#define PFS_NOTIFY_STATUS_SEC 2
void pfs_notify_ready(struct pfs_stats *stats);

/* STOPPING=1 with a STATUS= line saying why (the stop thread). */
void pfs_notify_stopping(const char *why);

#endif /* PFS_NOTIFY_H */
