/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stopping without losing data.  SIGTERM, SIGINT and SIGHUP do not end the
 * session loop (libfuse's own handlers do, and its lazy unmount then drops
 * every dirty page of a program's shared mapping: the program gets SIGBUS
 * or ENOTCONN).  Instead a stop thread, while the workers keep serving:
 *
 *   1. writes back every dirty page of the mount: fsync(2) of each file
 *      a program has open or mapped (found through /proc), then
 *      syncfs(2) on the mount; the pages arrive through our own WRITE
 *      handler;
 *   2. unmounts it, never lazily: umount2(MNT, 0), or `fusermount3 -u`
 *      where the daemon may not unmount by itself.  The kernel refuses
 *      (EBUSY) while a file on the mount is open or mapped or a working
 *      directory is inside it; a store after step 1 can only come from
 *      such a program, so nothing can be lost between 1 and 2;
 *   3. if busy, logs why, keeps serving and tries again on every further
 *      stop signal and every PFS_STOP_RETRY_SEC seconds, so the daemon
 *      stops by itself once the programs let go.
 *
 * Steps 1 and 2 run in a child process without /dev/fuse: a SIGKILL of
 * the daemon meanwhile must still end it (stop.c, "Stopping").
 *
 * When the unmount succeeds the kernel ends the connection, the session
 * loop returns and main() unwinds as usual (exit status 0).
 *
 * The signals are blocked in every thread (workers inherit the mask) and
 * taken with sigtimedwait() by the stop thread alone, so no request
 * handler ever sees EINTR.  A signal ignored when the daemon starts (nohup,
 * a shell's background job) stays ignored, as with libfuse.  SIGPIPE is
 * ignored, as libfuse does.
 */
#ifndef PFS_STOP_H
#define PFS_STOP_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* While busy: how often to try again without a new signal. */
#define PFS_STOP_RETRY_SEC 1

struct pfs_stop {
	const char *mountpoint;	/* absolute; owned by the caller */
	sigset_t signals;	/* SIGTERM, SIGINT, SIGHUP */
	sigset_t old_mask;	/* the caller's mask before pfs_stop_block() */
	dev_t dev;		/* st_dev of our mount's root, 0 if unknown */
	uint64_t mnt_id;	/* its mount id (mountinfo), 0 if unknown */
	pthread_t thread;
	bool started;		/* the thread runs (main thread only) */
	atomic_bool ending;	/* set by pfs_stop_end(): leave now */
};

/*
 * Block the stop signals in the calling thread and in every thread it
 * makes later; ignore SIGPIPE.  Call in main() before mounting, so that a
 * signal arriving meanwhile waits for the stop thread.  0 or -errno.
 */
int pfs_stop_block(struct pfs_stop *st, const char *mountpoint);

/*
 * Start the stop thread.  Call after fuse_daemonize() (a fork keeps only
 * the calling thread) and before serving.  0 or -errno.
 */
int pfs_stop_start(struct pfs_stop *st);

/*
 * Is our mount still at the mount point (its mount id, learnt from
 * mountinfo by pfs_stop_start())?  true when that is unknown.  After the session loop: an
 * ended connection to a mount that is gone was an unmount.
 */
bool pfs_stop_still_mounted(const struct pfs_stop *st);

/*
 * After the session loop has returned and the connection is closed: end
 * the stop thread and restore the signal mask of the calling thread.
 */
void pfs_stop_end(struct pfs_stop *st);

#endif /* PFS_STOP_H */
