/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command line and mount options.  One fuse_opt table (fs/config.c) is
 * mirrored by the help text; standard FUSE options pass through to libfuse.
 */
#ifndef PFS_CONFIG_H
#define PFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "pfs_fuse.h"
#include "pfs_policy.h"

/* Cache lifetime of attributes and names with -o exclusive: one day. */
#define PFS_EXCLUSIVE_TIMEOUT 86400.0

struct pfs_config {
	char *source;		/* BACKING directory (first positional) */
	char *mountpoint;	/* MOUNTPOINT (second positional) */
	double timeout;		/* -o timeout=: attr and entry, in seconds */
	bool timeout_set;	/* -o timeout= was given */
	/*
	 * -o exclusive: nothing but this mount changes the backing tree, so
	 * the kernel may cache attributes and names (found and missing) for
	 * long (PFS_EXCLUSIVE_TIMEOUT) unless a timeout says otherwise.
	 */
	bool exclusive;
	/*
	 * The kernel's cache lifetimes, in seconds, resolved after parsing
	 * from -o attr_timeout=/entry_timeout=/negative_timeout= (each
	 * *_set when given), else timeout=, else the defaults: 1, 1 and 0,
	 * or PFS_EXCLUSIVE_TIMEOUT for all three with exclusive.
	 */
	double attr_timeout;
	double entry_timeout;
	double negative_timeout;	/* a name found missing; 0: not cached */
	bool attr_timeout_set;
	bool entry_timeout_set;
	bool negative_timeout_set;
	bool foreground;	/* -f: do not daemonize */
	bool debug;		/* -d: log every request */
	bool singlethread;	/* -s: one request at a time */
	bool clone_fd;		/* -o clone_fd: one /dev/fuse fd per thread */
	unsigned int max_threads;	/* -o max_threads=: 0 = libfuse default */
	/* -o readahead=KiB (pfs_bdi.h); 0: the kernel's default */
	unsigned int readahead_kb;
	bool readahead_set;	/* -o readahead= was given */
	bool show_help;		/* -h / --help */
	bool show_version;	/* -V / --version */
	bool check;		/* --check BACKING: describe, do not mount */
	bool stats;		/* --stats MOUNTPOINT: print the counters */
	enum pfs_format {
		PFS_FORMAT_TEXT,
		PFS_FORMAT_JSON,	/* --json (--check, --stats) */
		PFS_FORMAT_PROMETHEUS,	/* --prometheus (--stats) */
	} format;
	bool has_fsname;	/* the user gave -o fsname= */
	bool has_subtype;	/* the user gave -o subtype= */
	bool allow_other;	/* -o allow_other: other users see the mount */
	/*
	 * -o default_permissions: the kernel checks permissions from the
	 * attributes.  Turned on with allow_other unless the user says
	 * -o no_default_permissions, because the daemon opens files with
	 * its own (root) credentials.
	 */
	bool default_permissions;
	bool no_default_permissions;
	/*
	 * -o passthrough: reads, writes and mmap of open files go from the
	 * kernel straight to the backing file (off by default: see README).
	 */
	bool passthrough;
	struct pfs_rules rules;	/* holes=, punch_hole=, fallback=, allow_cow, sparse= */
};

/*
 * Parse argv (in args) into cfg.  What libfuse must see (standard -o mount
 * options) is left in args.  0, or -1 with a one-line message in err.
 */
int pfs_config_parse(struct fuse_args *args, struct pfs_config *cfg,
		     char *err, size_t errlen);

/* Free what pfs_config_parse allocated. */
void pfs_config_free(struct pfs_config *cfg);

/* Our part of --help. */
void pfs_config_usage(const char *progname);

#endif /* PFS_CONFIG_H */
