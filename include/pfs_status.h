/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Machine-readable output of --stats and --check (--json, --prometheus).
 * Field names are stable; preallocfs(8) lists them.
 */
#ifndef PFS_STATUS_H
#define PFS_STATUS_H

#include <stdio.h>

#include "pfs_config.h"

/* s as a JSON string, quotes included (NULL: null). */
void pfs_json_str(FILE *out, const char *s);

/*
 * --stats MOUNTPOINT in format f: the counters of a running mount, read
 * from its PFS_STATS_XATTR.  The exit status: 0, or 1 with one line on
 * stderr.
 */
int pfs_status_stats(const char *mnt, enum pfs_format f);

#endif /* PFS_STATUS_H */
