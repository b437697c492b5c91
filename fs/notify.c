// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sd_notify(3)'s protocol, spoken directly (see pfs_notify.h).  The
 * protocol is small and documented as stable (one AF_UNIX datagram of
 * newline-separated KEY=VALUE assignments to the socket named by
 * $NOTIFY_SOCKET, '@' for the abstract namespace): doing it here keeps the
 * daemon free of libsystemd, which a bundled, statically linked build
 * would otherwise have to carry, for five short messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pfs_log.h"
#include "pfs_notify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len;	/* 0: not under systemd */
static atomic_bool started;
static atomic_bool stopping;	/* STATUS= now says why */

void pfs_notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (!path || !*path)
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof(notify_addr.sun_path)) {
		pfs_warn("NOTIFY_SOCKET=%s: not a socket path: no readiness notification",
			 path);
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, len);
	/* '@': the abstract namespace, a leading NUL and no terminator. */
	if (path[0] == '@')
		notify_addr.sun_path[0] = '\0';
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
				 (path[0] == '@' ? 0 : 1));
	unsetenv("NOTIFY_SOCKET");
}

int pfs_notify(const char *state)
{
	static atomic_bool warned;
	ssize_t n;
	int fd, err;

	if (!notify_len)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (const struct sockaddr *)&notify_addr, notify_len);
	err = errno;
	close(fd);
	errno = err;
	if (n >= 0)
		return 0;
fail:
	err = errno;
	if (!atomic_exchange(&warned, true))
		pfs_warn("cannot notify systemd: %s (logged once)",
			 strerror(err));
	return -err;
}

static void do_send_status(struct pfs_stats *stats, char *last, size_t size)
{
	char line[256], msg[300];

	pfs_stats_summary(stats, line, sizeof(line));
	if (!strcmp(line, last))
		return;
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	if (pfs_notify(msg) == 0)
		snprintf(last, size, "%s", line);
}

static void *do_status_thread(void *arg)
{
	struct pfs_stats *stats = arg;
	char last[256] = "";

	/* Ends with the process; it holds nothing but its stack. */
	pfs_stats_summary(stats, last, sizeof(last));	/* sent with READY=1 */
	for (;;) {
		sleep(PFS_NOTIFY_STATUS_SEC);
		if (!atomic_load(&stopping))
			do_send_status(stats, last, sizeof(last));
	}
	return NULL;
}

void pfs_notify_ready(struct pfs_stats *stats)
{
	char line[256], msg[360];
	pthread_attr_t attr;
	pthread_t thread;

	if (!notify_len || atomic_exchange(&started, true))
		return;
	pfs_stats_summary(stats, line, sizeof(line));
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d\nSTATUS=%s",
		 (int)getpid(), line);
	pfs_notify(msg);
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, do_status_thread, stats) != 0)
		pfs_warn("cannot start the status thread: STATUS= is not updated");
	pthread_attr_destroy(&attr);
}

void pfs_notify_stopping(const char *why)
{
	char msg[512];

	atomic_store(&stopping, true);
	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", why);
	pfs_notify(msg);
}
