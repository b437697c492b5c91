// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * -o auto_unmount, made reliable.
 *
 * With auto_unmount, fusermount3 mounts and then waits for EOF on a socket
 * it shares with the daemon: the daemon holds the other end until it dies.
 * At EOF fusermount3 (3.14 as 3.17) opens the mount point and unmounts
 * only if that fails with ENOTCONN, the sign of a connection without a
 * daemon.  But a dying process releases its files one at a time (as task
 * work, the last closed first, with a reschedule point between two), so
 * the socket can reach EOF before /dev/fuse is released: fusermount3's
 * open then reaches the still connected mount, the release of /dev/fuse
 * aborts it with ECONNABORTED, and fusermount3 leaves the dead mount in
 * place.  Measured: 2 SIGKILLs in 65 with the CPUs and the disk busy
 * (t-signals failed so in a CI run; fusermount3's strace shows the
 * ECONNABORTED).  With the guard: 0 in 150.
 *
 * So a small child holds a second reference to the socket and waits on a
 * pidfd until the daemon is gone: a process's pidfd is readable only once
 * every thread has exited, after each released its files, /dev/fuse
 * included.  The socket's EOF comes after that, and fusermount3 sees
 * ENOTCONN.  The daemon keeps its own reference too, so a guard killed
 * early leaves auto_unmount as it was without one.
 *
 * libfuse (>= 3.17) names the socket in the environment variable
 * _FUSE_COMMFD2 when it mounts through fusermount3 (auto_unmount, or a
 * user's mount).  An older libfuse does not, and gets no guard.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pfs_guard.h"

#define COMMFD2_ENV "_FUSE_COMMFD2"

/* The socket libfuse kept for fusermount3, or -1. */
static int do_commfd(void)
{
	const char *s = getenv(COMMFD2_ENV);
	struct stat st;
	char *end;
	long fd;
	int type;
	socklen_t len = sizeof(type);

	if (!s || !*s)
		return -1;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno || *end || fd < 0 || fd > INT_MAX)
		return -1;
	/* Without auto_unmount libfuse closed it: the number may be reused. */
	if (fstat((int)fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return -1;
	return (int)fd;
}

/* Close every descriptor but a and b. */
static void do_close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 0)
		close_range(0, (unsigned int)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned int)lo + 1, (unsigned int)hi - 1, 0);
	close_range((unsigned int)hi + 1, ~0U, 0);
}

/* The child: system calls only, then _exit. */
static void __attribute__((noreturn)) do_guard(int sock, int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	sigset_t all;

	/*
	 * Nothing but the daemon's end ends it: signals to the daemon's
	 * process group (Ctrl-C) or cgroup (systemd's stop) are for the
	 * daemon, which stops in order.  SIGKILL still ends it, as it may.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* /dev/fuse above all, and the caller's pipes (mount(8), meson). */
	do_close_all_but(sock, pidfd);
	prctl(PR_SET_NAME, "preallocfs-aum", 0, 0, 0);
	while (poll(&p, 1, -1) == -1 && errno == EINTR)
		;
	_exit(0);
}

void pfs_guard_init(void)
{
	/*
	 * Only the value libfuse sets while it mounts counts, never one
	 * inherited from whoever started us (it would name another socket).
	 */
	unsetenv(COMMFD2_ENV);
}

int pfs_guard_auto_unmount(void)
{
	int sock = do_commfd(), pidfd;
	pid_t pid;

	if (sock == -1)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd == -1)
		return -errno;
	pid = fork();
	if (pid == 0)
		do_guard(sock, pidfd);
	close(pidfd);
	return pid == -1 ? -errno : 0;
}
