// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The stop thread: on SIGTERM, SIGINT or SIGHUP, write back and unmount
 * while the session keeps serving; never detach lazily (see pfs_stop.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfs_log.h"
#include "pfs_mountinfo.h"
#include "pfs_notify.h"
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

/* ---- The programs that use the mount ---------------------------------- */

/*
 * syncfs(2) does not wait for a FUSE mount's writeback on kernels that mark
 * FUSE superblocks SB_I_NO_DATA_INTEGRITY (6.18 stable, 7.0): it only wakes
 * the flusher.  fsync(2) still waits.  So on a stop signal, every regular
 * file of the mount that a program has open, or mapped shared and
 * writable, is opened again through /proc and fsync()ed: its dirty pages
 * reach our WRITE handler, and the backing file is synced, before the
 * unmount is tried.  The same scan names the programs for the log.
 *
 * The scan reads /proc only, and nothing outside our mount is touched: an
 * fd is only followed when its fdinfo names our mount (mnt_id), a mapping
 * only when /proc/PID/maps gives our device, so another hung filesystem
 * cannot hang this thread.  The files themselves are opened and synced by
 * the child of do_try_stop() (see there).  Best effort: a process that
 * exits meanwhile is skipped, and a bind mount of ours elsewhere is not
 * seen (syncfs still starts its writeback).
 */
#define PFS_STOP_LINK_MAX 96	/* "/proc/PID/map_files/START-END" */
#define PFS_STOP_SEEN_MAX 64

struct pfs_stop_users {
	unsigned int procs;	/* programs found using the mount */
	unsigned int files;	/* files synced */
	char names[200];	/* "1234 (app), 99 (db)" for the first few */
	char (*links)[PFS_STOP_LINK_MAX];	/* /proc links to sync */
	unsigned int nlinks, cap;
};

/* Remember LINK, a /proc magic link known to lead into our mount. */
static void do_add_link(struct pfs_stop_users *u, const char *link)
{
	if (u->nlinks == u->cap) {
		unsigned int cap = u->cap ? 2 * u->cap : 64;
		void *p = reallocarray(u->links, cap, sizeof(*u->links));

		if (!p)
			return;	/* best effort: syncfs still starts it */
		u->links = p;
		u->cap = cap;
	}
	snprintf(u->links[u->nlinks++], sizeof(*u->links), "%s", link);
}

/* The mnt_id line of /proc/PID/fdinfo/N, or -1. */
static long do_fd_mnt_id(int pid, int fd)
{
	char path[64], line[128];
	long id = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %ld", &id) == 1)
			break;
	fclose(f);
	return id;
}

/*
 * Does the /proc link LINK name a path at or under the mount point?  Only
 * the kernel's path string is read, nothing is followed.
 */
static bool do_under_mount(const struct pfs_stop *st, const char *link)
{
	size_t len = strlen(st->mountpoint);
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = '\0';
	/* "/" as mount point: every path is under it. */
	if (len == 1)
		return true;
	return !strncmp(target, st->mountpoint, len) &&
	       (target[len] == '/' || target[len] == '\0' ||
		target[len] == ' ');
}

static bool do_scan_fds(const struct pfs_stop *st, struct pfs_stop_users *u,
			int pid)
{
	char path[64];
	struct dirent *e;
	bool used = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		/* The cheap test first: most descriptors are elsewhere. */
		if (!do_under_mount(st, path) ||
		    do_fd_mnt_id(pid, fd) != (long)st->mnt_id)
			continue;
		used = true;
		do_add_link(u, path);
	}
	closedir(d);
	return used;
}

static bool do_scan_maps(const struct pfs_stop *st, struct pfs_stop_users *u,
			 int pid)
{
	char path[96], line[512], perms[8];
	unsigned long start, end, ino;
	unsigned int maj, min;
	bool used = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %*s %x:%x %lu", &start, &end,
			   perms, &maj, &min, &ino) != 6 ||
		    makedev(maj, min) != st->dev)
			continue;
		used = true;
		/* Only shared writable mappings can hold dirty pages. */
		if (perms[1] != 'w' || perms[3] != 's')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid,
			 start, end);
		do_add_link(u, path);
	}
	fclose(f);
	return used;
}

static void do_add_name(struct pfs_stop_users *u, int pid)
{
	char path[64], comm[32] = "?";
	size_t n = strlen(u->names);
	FILE *f;

	if (++u->procs > 4 || n + 48 > sizeof(u->names))
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			strcpy(comm, "?");
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(u->names + n, sizeof(u->names) - n, "%s%d (%s)",
		 n ? ", " : "", pid, comm);
}

static void do_scan_users(const struct pfs_stop *st, struct pfs_stop_users *u)
{
	struct dirent *e;
	bool fds, maps;
	DIR *d;
	int pid;

	if (!st->dev || !st->mnt_id)
		return;
	d = opendir("/proc");
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = atoi(e->d_name);
		if (pid == getpid())
			continue;
		fds = do_scan_fds(st, u, pid);
		maps = do_scan_maps(st, u, pid);
		if (fds || maps)
			do_add_name(u, pid);
	}
	closedir(d);
}

/* ---- Stopping ----------------------------------------------------------- */

/*
 * Every access to our own mount during a stop (the open and fstat of the
 * mount point, the fsyncs, syncfs, umount2) is made by a child process
 * that does not hold /dev/fuse.  A thread waiting for its own mount's
 * answer cannot be killed once a worker has read the request, and the
 * fsyncs wait on write-back that only our workers can finish: a SIGKILL
 * of the daemon in the middle of a stop left it unkillable for good, its
 * /dev/fuse held open by the waiting thread, until someone aborted the
 * connection by hand.  Now the daemon dies at once, its /dev/fuse closes,
 * the kernel ends the connection, and the child's calls fail and it ends
 * too (PR_SET_PDEATHSIG).
 *
 * The child only makes system calls (no locks, no allocation, no log:
 * another thread may hold them at the fork) and sends its result back
 * through a pipe.  The parent logs.
 */
#define PFS_STOP_ERR_MAX 8

struct pfs_stop_result {
	int ret;		/* 0, -EBUSY, -ESTALE or -errno */
	int syncfs_err;		/* errno of syncfs, 0 if it worked */
	unsigned int files;	/* files synced */
	unsigned int nerrs;	/* files whose fsync failed (at most ERR_MAX) */
	struct {
		unsigned int link;	/* index into pfs_stop_users.links */
		int err;
	} errs[PFS_STOP_ERR_MAX];
};

/* In the child: fsync LINK (u->links[i]) if it is a file on our mount. */
static void do_sync_link(const struct pfs_stop *st,
			 const struct pfs_stop_users *u, unsigned int i,
			 struct pfs_stop_result *r, ino_t *seen,
			 unsigned int *nseen)
{
	struct stat s;
	unsigned int j;
	int fd;

	if (stat(u->links[i], &s) == -1 || s.st_dev != st->dev ||
	    !S_ISREG(s.st_mode))
		return;
	for (j = 0; j < *nseen; j++)
		if (seen[j] == s.st_ino)
			return;
	if (*nseen < PFS_STOP_SEEN_MAX)
		seen[(*nseen)++] = s.st_ino;
	fd = open(u->links[i], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return;
	if (fsync(fd) == 0) {
		r->files++;
	} else if (r->nerrs < PFS_STOP_ERR_MAX) {
		/* The program gets the error too, at its own fsync/msync. */
		r->errs[r->nerrs].link = i;
		r->errs[r->nerrs++].err = errno;
	}
	close(fd);
}

/*
 * In the child: one attempt.  Write back every dirty page, then unmount.
 * 0 when the mount is gone, -EBUSY while programs use it, -ESTALE when the
 * mount at the mount point is no longer ours (detached or covered), else
 * -errno (-EPERM: the parent runs fusermount3).
 */
static int do_stop_here(const struct pfs_stop *st,
			const struct pfs_stop_users *u,
			struct pfs_stop_result *r)
{
	ino_t seen[PFS_STOP_SEEN_MAX];
	unsigned int nseen = 0;
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
	/*
	 * The kernel sends the dirty pages to our own WRITE handler.  On a
	 * signal (u), fsync the files programs hold, which waits; syncfs
	 * starts the write-back of everything else.
	 */
	for (unsigned int i = 0; u && i < u->nlinks; i++)
		do_sync_link(st, u, i, r, seen, &nseen);
	if (syncfs(fd) == -1)
		r->syncfs_err = errno;
	/*
	 * Our own descriptor would keep the mount busy.  A store after the
	 * syncfs can only come from a program that has a file open or
	 * mapped, and then the unmount below fails: nothing is lost.
	 */
	close(fd);
	if (umount2(st->mountpoint, UMOUNT_NOFOLLOW) == 0)
		return 0;
	return -errno;
}

static void do_child(const struct pfs_stop *st, const struct pfs_stop_users *u,
		     int out, pid_t parent)
{
	struct pfs_stop_result r = { 0 };

	/* Above all /dev/fuse: its last holder must be the daemon. */
	if (out != 3 && (dup2(out, 3) == -1 || close(out) == -1))
		_exit(1);
	if (close_range(4, ~0U, 0) == -1 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	r.ret = do_stop_here(st, u, &r);
	/* Smaller than PIPE_BUF: one write, whole or nothing. */
	if (write(3, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(0);
}

/*
 * One attempt, u: the programs using the mount, on a signal (NULL on a
 * retry of our own).  See do_stop_here() for the result.
 */
static int do_try_stop(const struct pfs_stop *st, struct pfs_stop_users *u)
{
	struct pfs_stop_result r = { .ret = -EIO };
	pid_t self = getpid(), pid;
	int fds[2], status = 0;
	ssize_t n;

	if (u) {
		*u = (struct pfs_stop_users){ 0 };
		do_scan_users(st, u);
	}
	if (pipe2(fds, O_CLOEXEC) == -1)
		return -errno;
	pid = fork();
	if (pid == 0)
		do_child(st, u, fds[1], self);
	close(fds[1]);
	if (pid == -1) {
		r.ret = -errno;
		close(fds[0]);
		goto out;
	}
	do
		n = read(fds[0], &r, sizeof(r));
	while (n == -1 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r)) {
		r = (struct pfs_stop_result){ .ret = -EIO };
		pfs_warn("stopping %s: the write-back child ended without a result (status %#x)",
			 st->mountpoint, (unsigned int)status);
		goto out;
	}
	for (unsigned int i = 0; u && i < r.nerrs && r.errs[i].link < u->nlinks;
	     i++) {
		const char *link = u->links[r.errs[i].link];
		char target[PATH_MAX];
		ssize_t len = readlink(link, target, sizeof(target) - 1);

		target[len > 0 ? len : 0] = '\0';
		pfs_warn("writing back %s: %s", len > 0 ? target : link,
			 strerror(r.errs[i].err));
	}
	if (r.syncfs_err)
		pfs_warn("writing back %s: %s", st->mountpoint,
			 strerror(r.syncfs_err));
	if (u)
		u->files = r.files;
	if (r.ret == -EPERM)
		r.ret = do_fusermount_unmount(st);
out:
	if (u) {
		free(u->links);
		u->links = NULL;
		u->nlinks = u->cap = 0;
	}
	return r.ret;
}

/* u: what the scan found, on a signal; NULL on a retry of our own. */
static void do_report(const struct pfs_stop *st, int ret,
		      const struct pfs_stop_users *u)
{
	const char *mnt = st->mountpoint;
	bool asked = u != NULL;

	switch (ret) {
	case 0:
		pfs_info("unmounted %s", mnt);
		break;
	case -EBUSY:
		/* Once per signal, not on every retry. */
		if (!asked)
			break;
		pfs_notify(u->procs ?
			   "STATUS=not stopping yet: busy (programs have files open or mapped there); serving on until they let go" :
			   "STATUS=not stopping yet: busy; serving on until it is free");
		if (u->procs)
			pfs_warn("not stopping yet: %s is busy, in use by %s%s (%u open or mapped file(s) written back); serving on and stopping once it is free (`fuser -vm %s` names them all; `umount -l %s` detaches the mount now and open files are served until closed)",
				 mnt, u->names,
				 u->procs > 4 ? " and others" : "", u->files,
				 mnt, mnt);
		else
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
 * Learn our mount's device number and mount id, to recognize the mount
 * and the files on it later.  From mountinfo, never from the mount itself
 * (pfs_mountinfo.h says why): a statx of the mount point used to hang a
 * daemon killed with SIGKILL right after mounting, for good.
 */
static void do_learn_dev(struct pfs_stop *st)
{
	if (pfs_mountinfo_fuse(st->mountpoint, &st->dev, &st->mnt_id) < 0) {
		st->dev = 0;
		st->mnt_id = 0;
	}
}

static void *do_stop_thread(void *arg)
{
	struct pfs_stop *st = arg;
	const struct timespec retry = { .tv_sec = PFS_STOP_RETRY_SEC };
	struct pfs_stop_users users;
	bool stopping = false;
	siginfo_t si;
	int sig, ret;

	for (;;) {
		sig = stopping ? sigtimedwait(&st->signals, &si, &retry) :
				 sigwaitinfo(&st->signals, &si);
		if (atomic_load(&st->ending))
			break;
		if (sig == -1 && errno != EAGAIN)
			continue;
		if (sig > 0) {
			char why[160];

			pfs_info("SIG%s from pid %d: writing back and unmounting %s",
				 sigabbrev_np(sig), (int)si.si_pid,
				 st->mountpoint);
			snprintf(why, sizeof(why),
				 "SIG%s: writing back and unmounting",
				 sigabbrev_np(sig));
			pfs_notify_stopping(why);
		}
		stopping = true;
		ret = do_try_stop(st, sig > 0 ? &users : NULL);
		do_report(st, ret, sig > 0 ? &users : NULL);
		if (ret == 0)
			break;
	}
	return NULL;
}

int pfs_stop_start(struct pfs_stop *st)
{
	int ret;

	/* Here, before the thread: main() reads them after the loop too. */
	do_learn_dev(st);
	ret = pthread_create(&st->thread, NULL, do_stop_thread, st);

	if (ret)
		return -ret;
	st->started = true;
	return 0;
}

bool pfs_stop_still_mounted(const struct pfs_stop *st)
{
	uint64_t id;
	dev_t dev;

	if (!st->mnt_id)
		return true;
	return pfs_mountinfo_fuse(st->mountpoint, &dev, &id) == 0 &&
	       id == st->mnt_id;
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
	/* It waits for SIGTERM in sigtimedwait(): this wakes, not kills. */
	pthread_kill(st->thread, SIGTERM); /* NOLINT(bugprone-bad-signal-to-kill-thread) */
	pthread_join(st->thread, NULL);
	st->started = false;
}
