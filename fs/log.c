// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Log sink: libfuse's default (stderr) until the daemon detaches, then
 * syslog, which the journal picks up on systemd machines.
 */
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#include "pfs_log.h"

bool pfs_debug;

static void do_syslog(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static const char prefix[] = "preallocfs: ";

	/* syslog names the program already (openlog's ident). */
	if (!strncmp(fmt, prefix, sizeof(prefix) - 1))
		fmt += sizeof(prefix) - 1;
	/* fuse_log levels are syslog priorities. */
	vsyslog((int)level, fmt, ap);
}

void pfs_log_to_syslog(void)
{
	openlog("preallocfs", LOG_PID | LOG_CONS, LOG_DAEMON);
	fuse_set_log_func(do_syslog);
}
