// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command line and -o options.  Ours are handled here; standard FUSE mount
 * options (allow_other, ro, fsname=, ...) are left in args for libfuse,
 * which rejects what it does not know.  Words that only mean something to
 * mount(8), fstab or systemd are dropped so they never fail the mount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfs_bdi.h"
#include "pfs_config.h"

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_CHECK,
	KEY_STATS,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_CLONE_FD,
	KEY_MAX_THREADS,
	KEY_TIMEOUT,
	KEY_ATTR_TIMEOUT,
	KEY_ENTRY_TIMEOUT,
	KEY_NEGATIVE_TIMEOUT,
	KEY_EXCLUSIVE,
	KEY_NO_EXCLUSIVE,
	KEY_FSNAME,
	KEY_SUBTYPE,
	KEY_ALLOW_OTHER,
	KEY_DEFAULT_PERMISSIONS,
	KEY_NO_DEFAULT_PERMISSIONS,
	KEY_HOLES,
	KEY_PUNCH,
	KEY_FALLBACK,
	KEY_ALLOW_COW,
	KEY_NO_ALLOW_COW,
	KEY_SPARSE,
	KEY_PASSTHROUGH,
	KEY_NO_PASSTHROUGH,
	KEY_DISCARD,
	KEY_JSON,
	KEY_PROMETHEUS,
	KEY_READAHEAD,
};

static const struct fuse_opt pfs_opts[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("--check", KEY_CHECK),
	FUSE_OPT_KEY("--stats", KEY_STATS),
	FUSE_OPT_KEY("--json", KEY_JSON),
	FUSE_OPT_KEY("--prometheus", KEY_PROMETHEUS),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("clone_fd", KEY_CLONE_FD),
	FUSE_OPT_KEY("max_threads=", KEY_MAX_THREADS),
	FUSE_OPT_KEY("readahead=", KEY_READAHEAD),
	FUSE_OPT_KEY("timeout=", KEY_TIMEOUT),
	FUSE_OPT_KEY("attr_timeout=", KEY_ATTR_TIMEOUT),
	FUSE_OPT_KEY("entry_timeout=", KEY_ENTRY_TIMEOUT),
	FUSE_OPT_KEY("negative_timeout=", KEY_NEGATIVE_TIMEOUT),
	FUSE_OPT_KEY("exclusive", KEY_EXCLUSIVE),
	FUSE_OPT_KEY("no_exclusive", KEY_NO_EXCLUSIVE),
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	FUSE_OPT_KEY("no_default_permissions", KEY_NO_DEFAULT_PERMISSIONS),
	FUSE_OPT_KEY("holes=", KEY_HOLES),
	FUSE_OPT_KEY("punch_hole=", KEY_PUNCH),
	FUSE_OPT_KEY("fallback=", KEY_FALLBACK),
	FUSE_OPT_KEY("allow_cow", KEY_ALLOW_COW),
	FUSE_OPT_KEY("no_allow_cow", KEY_NO_ALLOW_COW),
	FUSE_OPT_KEY("sparse=", KEY_SPARSE),
	FUSE_OPT_KEY("passthrough", KEY_PASSTHROUGH),
	FUSE_OPT_KEY("no_passthrough", KEY_NO_PASSTHROUGH),
	/* mount(8), fstab and systemd words: meaningless to the daemon. */
	FUSE_OPT_KEY("defaults", KEY_DISCARD),
	FUSE_OPT_KEY("auto", KEY_DISCARD),
	FUSE_OPT_KEY("noauto", KEY_DISCARD),
	FUSE_OPT_KEY("user", KEY_DISCARD),
	FUSE_OPT_KEY("nouser", KEY_DISCARD),
	FUSE_OPT_KEY("users", KEY_DISCARD),
	FUSE_OPT_KEY("nofail", KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", KEY_DISCARD),
	FUSE_OPT_KEY("-n", KEY_DISCARD),
	/*
	 * Generic VFS words an fstab line may carry that libfuse does not
	 * know; on a FUSE mount they change nothing (relatime is the
	 * kernel's default, timestamps are the backing filesystem's).
	 */
	FUSE_OPT_KEY("relatime", KEY_DISCARD),
	FUSE_OPT_KEY("norelatime", KEY_DISCARD),
	FUSE_OPT_KEY("strictatime", KEY_DISCARD),
	FUSE_OPT_KEY("nostrictatime", KEY_DISCARD),
	FUSE_OPT_KEY("lazytime", KEY_DISCARD),
	FUSE_OPT_KEY("nolazytime", KEY_DISCARD),
	FUSE_OPT_KEY("diratime", KEY_DISCARD),
	FUSE_OPT_KEY("nodiratime", KEY_DISCARD),
	FUSE_OPT_KEY("iversion", KEY_DISCARD),
	FUSE_OPT_KEY("noiversion", KEY_DISCARD),
	FUSE_OPT_KEY("silent", KEY_DISCARD),
	FUSE_OPT_KEY("loud", KEY_DISCARD),
	FUSE_OPT_END
};

struct parse_state {
	struct pfs_config *cfg;
	char *err;
	size_t errlen;
	int nonopts;
};

/* Append one complaint to the error line ("a; b; c"). */
static void do_complain(struct parse_state *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void do_complain(struct parse_state *ps, const char *fmt, ...)
{
	size_t used = strlen(ps->err);
	va_list ap;

	if (used && used + 2 < ps->errlen) {
		strcpy(ps->err + used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(ps->err + used, ps->errlen - used, fmt, ap);
	va_end(ap);
}

static const char *do_value(const char *arg)
{
	const char *eq = strchr(arg, '=');

	return eq ? eq + 1 : "";
}

/*
 * value of "name=value" among `words` (NULL-terminated): its index, or -1
 * after complaining with the list of valid words.
 */
static int do_word(struct parse_state *ps, const char *arg,
		   const char *const *words)
{
	const char *v = do_value(arg);
	char list[128] = "";

	for (int i = 0; words[i]; i++) {
		if (!strcmp(v, words[i]))
			return i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? "|" : "", words[i]);
	}
	do_complain(ps, "bad value in '%s' (one of %s)", arg, list);
	return -1;
}

/* sparse=GLOB[:GLOB...], possibly given several times: append each glob. */
static int do_add_sparse(struct parse_state *ps, const char *arg)
{
	struct pfs_rules *r = &ps->cfg->rules;
	const char *v = do_value(arg);
	char *copy = strdup(v), *save = NULL;

	if (!copy)
		return -1;
	if (!*v)
		do_complain(ps, "bad value in '%s' (GLOB[:GLOB...])", arg);
	for (char *g = strtok_r(copy, ":", &save); g;
	     g = strtok_r(NULL, ":", &save)) {
		char **n = realloc(r->sparse, (r->nsparse + 1) * sizeof(*n));

		if (!n || !(n[r->nsparse] = strdup(g))) {
			if (n)
				r->sparse = n;
			free(copy);
			return -1;
		}
		r->sparse = n;
		r->nsparse++;
	}
	free(copy);
	return 0;
}

/* NAME=SECONDS (0 or more, finite) into *v; complain otherwise.  Returns 0. */
static int do_seconds(struct parse_state *ps, const char *arg, double *v,
		      bool *set)
{
	const char *s = do_value(arg);
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(d) || d < 0) {
		do_complain(ps, "bad value in '%s' (seconds, 0 or more)", arg);
		return 0;
	}
	*v = d;
	*set = true;
	return 0;
}

/*
 * The cache lifetimes: each one given, else timeout=, else the default
 * (pfs_config.h).  Names found missing are cached only when asked for,
 * or with exclusive.
 */
static void do_resolve_timeouts(struct pfs_config *cfg)
{
	double base = cfg->exclusive ? PFS_EXCLUSIVE_TIMEOUT : 1.0;

	if (cfg->timeout_set)
		base = cfg->timeout;
	if (!cfg->attr_timeout_set)
		cfg->attr_timeout = base;
	if (!cfg->entry_timeout_set)
		cfg->entry_timeout = base;
	if (!cfg->negative_timeout_set)
		cfg->negative_timeout = cfg->exclusive ? base : 0;
}

static int do_opt_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct parse_state *ps = data;
	struct pfs_config *cfg = ps->cfg;
	char *end;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		cfg->show_help = true;
		return 0;
	case KEY_VERSION:
		cfg->show_version = true;
		return 0;
	case KEY_CHECK:
		cfg->check = true;
		return 0;
	case KEY_STATS:
		cfg->stats = true;
		return 0;
	case KEY_JSON:
	case KEY_PROMETHEUS:
		if (cfg->format != PFS_FORMAT_TEXT) {
			do_complain(ps, "--json and --prometheus exclude each other");
			return 0;
		}
		cfg->format = key == KEY_JSON ? PFS_FORMAT_JSON :
						PFS_FORMAT_PROMETHEUS;
		return 0;
	case KEY_FOREGROUND:
		cfg->foreground = true;
		return 0;
	case KEY_DEBUG:
		/* libfuse prints every request with -d, and -d implies -f. */
		cfg->debug = true;
		cfg->foreground = true;
		return 1;
	case KEY_SINGLE:
		cfg->singlethread = true;
		return 0;
	case KEY_CLONE_FD:
		cfg->clone_fd = true;
		return 0;
	case KEY_MAX_THREADS: {
		unsigned long v;

		errno = 0;
		v = strtoul(do_value(arg), &end, 10);
		if (errno || *end || end == do_value(arg) || v == 0 ||
		    v > 100000)
			do_complain(ps, "bad value in '%s' (a count of threads, 1 or more)",
				    arg);
		else
			cfg->max_threads = (unsigned int)v;
		return 0;
	}
	case KEY_READAHEAD: {
		unsigned long v;

		errno = 0;
		v = strtoul(do_value(arg), &end, 10);
		if (errno || *end || end == do_value(arg) ||
		    do_value(arg)[0] == '-' || v > PFS_READAHEAD_KB_MAX)
			do_complain(ps, "bad value in '%s' (KiB, 0 to %u; 0 keeps the kernel's)",
				    arg, PFS_READAHEAD_KB_MAX);
		cfg->readahead_kb = (unsigned int)v;
		cfg->readahead_set = true;
		return 0;
	}
	case KEY_TIMEOUT:
		return do_seconds(ps, arg, &cfg->timeout, &cfg->timeout_set);
	case KEY_ATTR_TIMEOUT:
		return do_seconds(ps, arg, &cfg->attr_timeout,
				  &cfg->attr_timeout_set);
	case KEY_ENTRY_TIMEOUT:
		return do_seconds(ps, arg, &cfg->entry_timeout,
				  &cfg->entry_timeout_set);
	case KEY_NEGATIVE_TIMEOUT:
		return do_seconds(ps, arg, &cfg->negative_timeout,
				  &cfg->negative_timeout_set);
	case KEY_EXCLUSIVE:
		cfg->exclusive = true;
		return 0;
	case KEY_NO_EXCLUSIVE:
		cfg->exclusive = false;
		return 0;
	case KEY_FSNAME:
		cfg->has_fsname = true;
		return 1;
	case KEY_SUBTYPE:
		cfg->has_subtype = true;
		return 1;
	case KEY_ALLOW_OTHER:
		cfg->allow_other = true;
		return 1;
	case KEY_DEFAULT_PERMISSIONS:
		cfg->default_permissions = true;
		cfg->no_default_permissions = false;
		return 1;
	case KEY_NO_DEFAULT_PERMISSIONS:
		cfg->no_default_permissions = true;
		cfg->default_permissions = false;
		return 0;
	case KEY_HOLES: {
		static const char *const w[] = { "fill", "keep", NULL };
		int i = do_word(ps, arg, w);

		if (i >= 0)
			cfg->rules.holes = (enum pfs_holes)i;
		return 0;
	}
	case KEY_PUNCH: {
		static const char *const w[] = { "zero", "allow", "deny", NULL };
		int i = do_word(ps, arg, w);

		if (i >= 0)
			cfg->rules.punch = (enum pfs_punch)i;
		return 0;
	}
	case KEY_FALLBACK: {
		static const char *const w[] = { "zero", "refuse", NULL };
		int i = do_word(ps, arg, w);

		if (i >= 0)
			cfg->rules.fallback = (enum pfs_fallback)i;
		return 0;
	}
	case KEY_ALLOW_COW:
		cfg->rules.allow_cow = true;
		return 0;
	case KEY_NO_ALLOW_COW:
		cfg->rules.allow_cow = false;
		return 0;
	case KEY_PASSTHROUGH:
		cfg->passthrough = true;
		return 0;
	case KEY_NO_PASSTHROUGH:
		cfg->passthrough = false;
		return 0;
	case KEY_SPARSE:
		return do_add_sparse(ps, arg) == 0 ? 0 : -1;
	case KEY_DISCARD:
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.*, x-gvfs-*, X-mount.*: for other programs. */
		if (!strncmp(arg, "x-", 2) || !strncmp(arg, "X-", 2))
			return 0;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		ps->nonopts++;
		if (ps->nonopts == 1)
			cfg->source = strdup(arg);
		else if (ps->nonopts == 2)
			cfg->mountpoint = strdup(arg);
		else
			do_complain(ps, "unexpected argument '%s'", arg);
		if ((ps->nonopts == 1 && !cfg->source) ||
		    (ps->nonopts == 2 && !cfg->mountpoint))
			return -1;
		return 0;
	}
	return 1;
}

int pfs_config_parse(struct fuse_args *args, struct pfs_config *cfg,
		     char *err, size_t errlen)
{
	struct parse_state ps = {
		.cfg = cfg,
		.err = err,
		.errlen = errlen,
	};

	*cfg = (struct pfs_config){
		.timeout = 1.0,
		.readahead_kb = PFS_READAHEAD_KB_DEFAULT,
	};
	err[0] = '\0';
	if (fuse_opt_parse(args, &ps, pfs_opts, do_opt_proc) == -1) {
		if (!err[0])
			snprintf(err, errlen, "cannot parse the command line");
		return -1;
	}
	if (err[0])
		return -1;
	do_resolve_timeouts(cfg);
	if (cfg->show_help || cfg->show_version)
		return 0;
	/* One directory, no mount: BACKING for --check, MNT for --stats. */
	if (cfg->check || cfg->stats) {
		const char *what = cfg->check ? "--check BACKING" :
						"--stats MOUNTPOINT";

		if (cfg->check && cfg->stats)
			snprintf(err, errlen, "--check and --stats exclude each other");
		else if (cfg->check && cfg->format == PFS_FORMAT_PROMETHEUS)
			snprintf(err, errlen, "--prometheus goes with --stats only");
		else if (!cfg->source || cfg->mountpoint)
			snprintf(err, errlen, "usage: preallocfs %s", what);
		return err[0] ? -1 : 0;
	}
	if (cfg->format != PFS_FORMAT_TEXT) {
		snprintf(err, errlen, "%s goes with --check or --stats only",
			 cfg->format == PFS_FORMAT_JSON ? "--json" :
							  "--prometheus");
		return -1;
	}
	if (!cfg->source) {
		snprintf(err, errlen,
			 "missing BACKING and MOUNTPOINT (see --help)");
		return -1;
	}
	if (!cfg->mountpoint) {
		snprintf(err, errlen, "missing MOUNTPOINT (see --help)");
		return -1;
	}
	/*
	 * Other users' requests are served with the daemon's credentials:
	 * let the kernel check their permissions unless told not to.
	 */
	if (cfg->allow_other && !cfg->default_permissions &&
	    !cfg->no_default_permissions) {
		/* At 1, not at the end: args may hold a "--". */
		if (fuse_opt_insert_arg(args, 1, "-odefault_permissions") ==
		    -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		cfg->default_permissions = true;
	}
	return 0;
}

void pfs_config_free(struct pfs_config *cfg)
{
	for (size_t i = 0; i < cfg->rules.nsparse; i++)
		free(cfg->rules.sparse[i]);
	free(cfg->rules.sparse);
	cfg->rules.sparse = NULL;
	cfg->rules.nsparse = 0;
	free(cfg->source);
	free(cfg->mountpoint);
	cfg->source = NULL;
	cfg->mountpoint = NULL;
}

void pfs_config_usage(const char *progname)
{
	printf("usage: %s [options] BACKING MOUNTPOINT\n"
	       "       %s --check [--json] BACKING\n"
	       "       %s --stats [--json|--prometheus] MOUNTPOINT\n"
	       "\n"
	       "Serve the directory BACKING at MOUNTPOINT.  Every request that makes a\n"
	       "file larger first allocates the new range on BACKING (fallocate), or\n"
	       "fails with ENOSPC/EDQUOT and leaves the file as it was.\n"
	       "\n"
	       "general options:\n"
	       "    -h   --help            print this help and exit\n"
	       "    -V   --version         print the version and exit\n"
	       "         --check           describe what BACKING supports and what\n"
	       "                           preallocfs guarantees there; no mount\n"
	       "         --stats           print the live counters of a mount\n"
	       "         --json            --check or --stats as one JSON object\n"
	       "         --prometheus      --stats in Prometheus' text format\n"
	       "    -f                     stay in the foreground, log to stderr\n"
	       "    -d   -o debug          log every request (implies -f)\n"
	       "    -s                     serve one request at a time\n"
	       "    -o opt,[opt...]        mount options (below, and FUSE's own)\n"
	       "\n"
	       "preallocfs options:\n"
	       "    -o timeout=SECONDS     attribute and entry cache timeout (default 1)\n"
	       "    -o attr_timeout=SECONDS, entry_timeout=SECONDS\n"
	       "                           the same, one at a time\n"
	       "    -o negative_timeout=SECONDS\n"
	       "                           cache a name found missing (default 0)\n"
	       "    -o exclusive           nothing else changes BACKING: cache\n"
	       "                           attributes and names for a day (unless a\n"
	       "                           timeout above is given); changes made\n"
	       "                           behind the mount may go unseen that long\n"
	       "    -o max_threads=N       upper limit of worker threads\n"
	       "    -o readahead=KIB       the mount's readahead, set by a root\n"
	       "                           daemon (default 0: the kernel's 128)\n"
	       "    -o clone_fd            one /dev/fuse descriptor per worker thread\n"
	       "    -o holes=fill|keep     opening a file for writing first allocates\n"
	       "                           the holes inside it (fill, the default)\n"
	       "    -o punch_hole=zero|allow|deny\n"
	       "                           a hole punch zeroes the range and keeps it\n"
	       "                           allocated (zero, the default), passes\n"
	       "                           through (allow) or fails (deny)\n"
	       "    -o fallback=zero|refuse\n"
	       "                           without fallocate, grow by writing zeros\n"
	       "                           (zero, the default) or fail (refuse)\n"
	       "    -o allow_cow           mount on a copy-on-write filesystem (btrfs,\n"
	       "                           bcachefs, zfs), where stores may still fail\n"
	       "    -o sparse=GLOB[:GLOB...]\n"
	       "                           paths (from the mount root) left to behave\n"
	       "                           like the backing filesystem; a glob without\n"
	       "                           '/' matches the base name in any directory\n"
	       "    -o passthrough         reads, writes and mmap go straight to the\n"
	       "                           backing file (kernel >= 6.9, root); a write\n"
	       "                           that starts past end-of-file leaves a hole\n"
	       "                           that is allocated only at the next open for\n"
	       "                           writing (default: no_passthrough)\n"
	       "    -o no_default_permissions\n"
	       "                           with allow_other, do not turn on\n"
	       "                           default_permissions (it is on by default)\n"
	       "\n"
	       "ignored, for mount(8), fstab and systemd:\n"
	       "    defaults auto noauto user nouser users nofail _netdev x-* X-* -n\n"
	       "    relatime norelatime strictatime nostrictatime lazytime\n"
	       "    nolazytime diratime nodiratime iversion noiversion silent loud\n"
	       "\n",
	       progname, progname, progname);
}
