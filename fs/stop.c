// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The stop thread: on SIGTERM, SIGINT or SIGHUP, write back and unmount
 * while the session keeps serving; never detach lazily (see pfs_stop.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfs_log.h"
#include "pfs_stop.h"

extern char **environ;

int pfs_stop_block(struct pfs_stop *st, const char *mountpoint)
{
	int ret;

	*st = (struct pfs_stop){ .mountpoint = mountpoint };
	sigemptyset(&st->signals);
	sigaddset(&st->signals, SIGTERM);
	sigaddset(&st->signals, SIGINT);
	sigaddset(&st->signals, SIGHUP);
	/* A vanished reader must not kill the daemon (libfuse does this). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -errno;
	ret = pthread_sigmask(SIG_BLOCK, &st->signals, &st->old_mask);
	return -ret;
}

/*
 * The daemon may not unmount by itself (not root): fusermount3 -u, never
 * -z, with the signal mask the daemon started with.  -q: it is retried
 * every second while busy, and we log the reason ourselves.
 */
static int do_fusermount_unmount(const struct pfs_stop *st)
{
	char *argv[] = { "fusermount3", "-u", "-q", "--",
			 (char *)st->mountpoint, NULL };
	posix_spawnattr_t attr;
	int status;
	pid_t pid;
	int ret;

	ret = posix_spawnattr_init(&attr);
	if (ret)
		return -ret;
	posix_spawnattr_setsigmask(&attr, &st->old_mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	ret = posix_spawnp(&pid, "fusermount3", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (ret)
		return -ret;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -errno;
	/* It says no more than "failed": busy is by far the likeliest. */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBUSY;
}

/*
 * One attempt: write back every dirty page, then unmount.  0 when the
 * mount is gone, -EBUSY while programs use it, -ESTALE when the mount at
 * the mount point is no longer ours (detached or covered), else -errno.
 */
static int do_try_stop(const struct pfs_stop *st)
{
	struct stat s;
	int fd, ret;

	fd = open(st->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (fstat(fd, &s) == -1) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/*
	 * As root, umount2() takes whatever is mounted there: after a lazy
	 * `umount -l` of an in-place mount that is the backing filesystem.
	 */
	if (st->dev && s.st_dev != st->dev) {
		close(fd);
		return -ESTALE;
	}
	/* The kernel sends the dirty pages to our own WRITE handler. */
	if (syncfs(fd) == -1)
		pfs_warn("writing back %s: %m", st->mountpoint);
	/*
	 * Our own descriptor would keep the mount busy.  A store after the
	 * syncfs can only come from a program that has a file open or
	 * mapped, and then the unmount below fails: nothing is lost.
	 */
	close(fd);
	if (umount2(st->mountpoint, UMOUNT_NOFOLLOW) == 0)
		return 0;
	ret = -errno;
	if (ret == -EPERM)
		ret = do_fusermount_unmount(st);
	return ret;
}

static void do_report(const struct pfs_stop *st, int ret, bool asked)
{
	const char *mnt = st->mountpoint;

	switch (ret) {
	case 0:
		pfs_info("unmounted %s", mnt);
		break;
	case -EBUSY:
		/* Once per signal, not on every retry. */
		if (asked)
			pfs_warn("not stopping yet: %s is busy (a program has a file open or mapped there, or its working directory inside); serving on and stopping once it is free (`fuser -vm %s` names the programs; `umount -l %s` detaches the mount now and open files are served until closed)",
				 mnt, mnt, mnt);
		break;
	case -ESTALE:
		if (asked)
			pfs_info("%s is no longer this daemon's mount (detached or covered): serving open files until they are closed",
				 mnt);
		break;
	default:
		if (asked)
			pfs_warn("cannot unmount %s: %s; serving on", mnt,
				 strerror(-ret));
		break;
	}
}

/*
 * Learn our mount's device number, to recognize the mount later.  The
 * stat waits until the session loop answers it.
 */
static void do_learn_dev(struct pfs_stop *st)
{
	struct stat s;

	if (stat(st->mountpoint, &s) == 0)
		st->dev = s.st_dev;
}

static void *do_stop_thread(void *arg)
{
	struct pfs_stop *st = arg;
	const struct timespec retry = { .tv_sec = PFS_STOP_RETRY_SEC };
	bool stopping = false;
	siginfo_t si;
	int sig, ret;

	do_learn_dev(st);
	for (;;) {
		sig = stopping ? sigtimedwait(&st->signals, &si, &retry) :
				 sigwaitinfo(&st->signals, &si);
		if (atomic_load(&st->ending))
			break;
		if (sig == -1 && errno != EAGAIN)
			continue;
		if (sig > 0)
			pfs_info("SIG%s from pid %d: writing back and unmounting %s",
				 sigabbrev_np(sig), (int)si.si_pid,
				 st->mountpoint);
		stopping = true;
		ret = do_try_stop(st);
		do_report(st, ret, sig > 0);
		if (ret == 0)
			break;
	}
	return NULL;
}

int pfs_stop_start(struct pfs_stop *st)
{
	int ret = pthread_create(&st->thread, NULL, do_stop_thread, st);

	if (ret)
		return -ret;
	st->started = true;
	return 0;
}

/*
 * Not pthread_cancel(): a cancelled thread unwinds out of sigtimedwait,
 * which ASan reports as a stack overflow at thread exit.  A signal sent
 * to the thread alone wakes it, and the flag tells it to end.
 */
void pfs_stop_end(struct pfs_stop *st)
{
	if (!st->started)
		return;
	atomic_store(&st->ending, true);
	pthread_kill(st->thread, SIGTERM);
	pthread_join(st->thread, NULL);
	st->started = false;
}
