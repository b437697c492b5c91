// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * preallocfs: a passthrough FUSE filesystem where growing a file means
 * allocating it.  main() only: parse, validate, open the backing root, create
 * the session, mount, serve, and unwind in reverse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "pfs_bdi.h"
#include "pfs_compat.h"
#include "pfs_config.h"
#include "pfs_creds.h"
#include "pfs_guard.h"
#include "pfs_log.h"
#include "pfs_mountinfo.h"
#include "pfs_ops.h"
#include "pfs_notify.h"
#include "pfs_stats.h"
#include "pfs_status.h"
#include "pfs_stop.h"

/*
 * A passthrough keeps one O_PATH fd per inode the kernel knows, so a common
 * limit of 1024 (or even 20000) open files is soon too low for a real tree.
 * Root may raise the hard limit up to fs.nr_open; others take the soft limit
 * up to their hard limit.
 */
static void do_raise_nofile(void)
{
	struct rlimit rl;
	unsigned long nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { .rlim_cur = nr_open, .rlim_max = nr_open };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Add -o NAME=VALUE with ',' and '\' escaped as fuse_opt expects; at
 * position 1, because the arguments may end in "-- BACKING MOUNTPOINT".
 */
static int do_add_opt(struct fuse_args *args, const char *name,
		      const char *value)
{
	size_t n = strlen(name) + 2 * strlen(value) + 4;
	char *opt = malloc(n), *p;
	int ret;

	if (!opt)
		return -1;
	p = opt + sprintf(opt, "-o%s=", name);
	for (const char *v = value; *v; v++) {
		if (*v == ',' || *v == '\\')
			*p++ = '\\';
		*p++ = *v;
	}
	*p = '\0';
	ret = fuse_opt_insert_arg(args, 1, opt);
	free(opt);
	return ret;
}

/* Open the backing root before the mount, so mounting over it works. */
static int do_open_source(const char *source)
{
	struct stat st;
	int fd;

	fd = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "preallocfs: cannot open backing directory '%s': %s\n",
			source, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "preallocfs: backing '%s' is not a directory\n",
			source);
		close(fd);
		return -1;
	}
	/* O_PATH needs no permission; serving the tree needs read+search. */
	if (faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) == -1) {
		fprintf(stderr, "preallocfs: cannot read backing directory '%s': %s\n",
			source, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int do_check_mountpoint(const char *mnt)
{
	struct stat st;

	if (stat(mnt, &st) == -1) {
		fprintf(stderr, "preallocfs: bad mount point '%s': %s\n", mnt,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "preallocfs: bad mount point '%s': not a directory\n",
			mnt);
		return -1;
	}
	return 0;
}

static void do_log_caps(const char *source, const struct pfs_caps *caps,
			const struct pfs_rules *rules)
{
	pfs_info("backing %s: %s, fallocate %s; guarantee %s", source,
		 caps->fs_name, pfs_caps_fallocate_word(caps),
		 pfs_caps_guarantee(caps, rules, false));
}

/* A sysctl holding one unsigned number; 0 when absent or unreadable. */
static unsigned int do_read_sysctl(const char *path)
{
	unsigned int v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%u", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/*
 * Linux 6.14+: the kernel aborts a FUSE connection whose request waits
 * longer than fs.fuse.default_request_timeout seconds (for a daemon that
 * asks for none, as this one) or max_request_timeout (for every daemon).
 * Here a request may wait for a long time by design: a blocking lock, a
 * large growth, an fsync of much dirty data.  An abort ends the mount and
 * drops the dirty pages of mapped files.  The seconds that apply, 0 for
 * none (the default of both).
 */
static unsigned int do_kernel_request_timeout(void)
{
	unsigned int def = do_read_sysctl(
		"/proc/sys/fs/fuse/default_request_timeout");
	unsigned int max = do_read_sysctl(
		"/proc/sys/fs/fuse/max_request_timeout");

	if (max && (!def || def > max))
		return max;
	return def;
}

#define PFS_TIMEOUT_WARNING \
	"the kernel aborts this mount when a request waits longer than %u s (sysctl fs.fuse.default_request_timeout / fs.fuse.max_request_timeout): a blocking lock wait or a long write-back then ends it, and dirty pages of mapped files are lost; set both to 0"

/*
 * --check, below the root: every filesystem mounted inside the backing tree
 * (from /proc/self/mountinfo), probed as the mount would probe it when it
 * is first reached, with the guarantee it gets.  Nothing is printed when
 * there is none or mountinfo cannot be read.
 */
static void do_check_below(const char *source, const struct pfs_rules *rules,
			   bool json)
{
	bool first = true;

	char *root = realpath(source, NULL), *line = NULL;
	char **seen = NULL;
	size_t len = 0, rl, nseen = 0;
	FILE *f;

	if (!root)
		return;
	rl = strlen(root);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		goto out_free_root;
	while (getline(&line, &len, f) != -1) {
		char *mnt = NULL, *save = NULL, *tok, **more;
		struct pfs_caps caps;
		bool dup = false;
		int fd, i = 0;

		/* Field 5 is the mount point. */
		for (tok = strtok_r(line, " \n", &save); tok && i < 4;
		     tok = strtok_r(NULL, " \n", &save))
			i++;
		mnt = tok;
		if (!mnt)
			continue;
		pfs_mountinfo_unescape(mnt);
		/* Strictly below the root ("/" as root: everything else). */
		if (rl == 1 ? mnt[1] == '\0' :
			      strncmp(mnt, root, rl) != 0 || mnt[rl] != '/')
			continue;
		/* Mounts stacked on one path: the top one is what is served. */
		for (size_t k = 0; k < nseen && !dup; k++)
			dup = !strcmp(seen[k], mnt);
		if (dup)
			continue;
		more = realloc(seen, (nseen + 1) * sizeof(*seen));
		if (!more)
			break;
		seen = more;
		seen[nseen] = strdup(mnt);
		if (!seen[nseen])
			break;
		nseen++;
		fd = open(mnt, O_PATH | O_CLOEXEC);
		if (fd == -1 || pfs_backing_probe(fd, &caps) < 0) {
			int err = errno;

			if (json) {
				printf("%s{\"path\": ", first ? "" : ", ");
				pfs_json_str(stdout, mnt + (rl == 1 ? 0 : rl));
				printf(", \"error\": ");
				pfs_json_str(stdout, strerror(err));
				printf("}");
				first = false;
			} else {
				printf("below:          %s: cannot probe: %s\n",
				       mnt + (rl == 1 ? 0 : rl), strerror(err));
			}
			if (fd != -1)
				close(fd);
			continue;
		}
		close(fd);
		if (json) {
			printf("%s{\"path\": ", first ? "" : ", ");
			pfs_json_str(stdout, mnt + (rl == 1 ? 0 : rl));
			printf(", \"filesystem\": ");
			pfs_json_str(stdout, caps.fs_name);
			printf(", \"fallocate\": ");
			pfs_json_str(stdout, pfs_caps_fallocate_word(&caps));
			printf(", \"copy_on_write\": %s, \"guarantee\": ",
			       caps.cow ? "true" : "false");
			pfs_json_str(stdout,
				     pfs_caps_guarantee(&caps, rules, true));
			printf("}");
			first = false;
			continue;
		}
		printf("below:          %s: %s, fallocate %s, "
		       "copy-on-write %s; guarantee %s\n",
		       mnt + (rl == 1 ? 0 : rl), caps.fs_name,
		       pfs_caps_fallocate_word(&caps), caps.cow ? "yes" : "no",
		       pfs_caps_guarantee(&caps, rules, true));
	}
	free(line);
	fclose(f);
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
out_free_root:
	free(root);
}

/* --check --json: the same facts as one object (preallocfs(8)). */
static void do_check_json(const char *source, const struct pfs_rules *rules,
			  bool passthrough, const struct pfs_caps *caps,
			  const struct statvfs *sv, const char *no_pt)
{
	printf("{\"backing\": ");
	pfs_json_str(stdout, source);
	printf(", \"filesystem\": ");
	pfs_json_str(stdout, caps->fs_name);
	printf(", \"f_type\": %lu, \"fallocate\": ", caps->fs_type);
	pfs_json_str(stdout, !caps->fallocate_known ? "not probed" :
			     caps->fallocate	    ? "works" :
						      "not supported");
	printf(", \"copy_on_write\": %s", caps->cow ? "true" : "false");
	if (caps->max_bytes)
		printf(", \"largest_file_bytes\": %lld",
		       (long long)caps->max_bytes);
	else
		printf(", \"largest_file_bytes\": null");
	printf(", \"free_bytes_users\": %llu, \"free_bytes_root\": %llu"
	       ", \"reserved_bytes\": %llu, \"guarantee\": ",
	       (unsigned long long)sv->f_bavail * sv->f_frsize,
	       (unsigned long long)sv->f_bfree * sv->f_frsize,
	       (unsigned long long)caps->reserved_bytes);
	pfs_json_str(stdout, pfs_caps_guarantee(caps, rules, false));
	printf(", \"passthrough\": {\"available\": %s, \"unavailable_because\": ",
	       no_pt ? "false" : "true");
	pfs_json_str(stdout, no_pt);
	printf(", \"on\": %s, \"gives_up\": ",
	       passthrough && !no_pt ? "true" : "false");
	pfs_json_str(stdout, PFS_PASSTHROUGH_CAVEAT);
	printf("}, \"kernel_request_timeout_s\": %u, \"below\": [",
	       do_kernel_request_timeout());
	do_check_below(source, rules, true);
	printf("]}\n");
}

/* --check BACKING: what the backing store supports, without mounting. */
static int do_check(const char *source, const struct pfs_rules *rules,
		    bool passthrough, bool json)
{
	const char *no_pt = pfs_passthrough_unavailable();
	unsigned int timeout;
	struct pfs_caps caps;
	struct statvfs sv;
	int fd = do_open_source(source);

	if (fd == -1)
		return 1;
	if (pfs_backing_probe(fd, &caps) < 0 || fstatvfs(fd, &sv) == -1) {
		fprintf(stderr, "preallocfs: cannot probe '%s': %s\n", source,
			strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	if (json) {
		do_check_json(source, rules, passthrough, &caps, &sv, no_pt);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	printf("backing:        %s\n", source);
	printf("filesystem:     %s (f_type 0x%lx)\n", caps.fs_name,
	       caps.fs_type);
	printf("fallocate:      %s\n",
	       !caps.fallocate_known ? "not probed (no O_TMPFILE)" :
	       caps.fallocate	    ? "works" :
				      "not supported");
	printf("copy-on-write:  %s\n", caps.cow ? "yes" : "no");
	if (caps.max_bytes)
		printf("largest file:   %lld bytes\n",
		       (long long)caps.max_bytes);
	printf("free space:     %llu bytes for users, %llu for root",
	       (unsigned long long)sv.f_bavail * sv.f_frsize,
	       (unsigned long long)sv.f_bfree * sv.f_frsize);
	if (caps.reserved_bytes)
		printf(" (of which %llu kept back by ext4 even from root)",
		       caps.reserved_bytes);
	printf("\nguarantee:      %s\n",
	       pfs_caps_guarantee(&caps, rules, false));
	/* -o passthrough: whether it can work, and what it gives up. */
	if (no_pt)
		printf("passthrough:    unavailable (%s)%s\n", no_pt,
		       passthrough ? ": -o passthrough mounts use the classic data path" : "");
	else if (passthrough)
		printf("passthrough:    on (-o passthrough): %s\n",
		       PFS_PASSTHROUGH_CAVEAT);
	else
		printf("passthrough:    off (-o passthrough would give up one case: %s)\n",
		       PFS_PASSTHROUGH_CAVEAT);
	timeout = do_kernel_request_timeout();
	if (timeout)
		printf("request timeout: %u s: " PFS_TIMEOUT_WARNING "\n",
		       timeout, timeout);
	else
		printf("request timeout: none (the kernel waits for every answer)\n");
	do_check_below(source, rules, false);
	return 0;
}

static int do_serve(struct fuse_session *se, const struct pfs_config *cfg)
{
	struct fuse_loop_config *lc;
	int ret;

	if (cfg->singlethread)
		return fuse_session_loop(se);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, cfg->clone_fd);
	if (cfg->max_threads)
		fuse_loop_cfg_set_max_threads(lc, cfg->max_threads);
	ret = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_session *se;
	struct pfs_config cfg;
	struct pfs_fs fs = { 0 };
	struct pfs_stop stop;
	char *abs_source = NULL;
	char *abs_mnt = NULL;
	char err[512];
	unsigned int timeout;
	int root_fd, ret = 1;

	if (pfs_config_parse(&args, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "preallocfs: %s\n", err);
		goto out_free_args;
	}
	if (cfg.show_help) {
		pfs_config_usage(argv[0]);
		printf("FUSE options:\n");
		fuse_lowlevel_help();
		ret = 0;
		goto out_free_args;
	}
	if (cfg.show_version) {
		printf("preallocfs version %s\n", PACKAGE_VERSION);
		/* libfuse bundled (static) or the system's (shared). */
		printf("using FUSE library version %s (%s)\n",
		       fuse_pkgversion(), PFS_FUSE_LINKAGE);
		ret = 0;
		goto out_free_args;
	}
	if (cfg.check || cfg.stats) {
		ret = cfg.check ? do_check(cfg.source, &cfg.rules,
					   cfg.passthrough,
					   cfg.format == PFS_FORMAT_JSON) :
				  pfs_status_stats(cfg.source, cfg.format);
		goto out_free_args;
	}
	pfs_debug = cfg.debug;
	/* Before any thread: it edits the environment. */
	pfs_notify_init();
	fs.timeout = cfg.attr_timeout;
	fs.entry_timeout = cfg.entry_timeout;
	fs.negative_timeout = cfg.negative_timeout;
	pthread_mutex_init(&fs.open_lock, NULL);
	pthread_mutex_init(&fs.pt_lock, NULL);
	fs.passthrough = cfg.passthrough;
	do_raise_nofile();
	/*
	 * The daemon's own umask is 0: the caller's umask is applied per
	 * request, in the worker thread's own umask (pfs_creds_enter_create),
	 * or by the kernel where it does not grant FUSE_CAP_DONT_MASK.
	 */
	umask(0);
	/*
	 * Without allow_other the only caller is whoever mounted (the
	 * daemon's own user): nobody else's rights need checking.
	 */
	if (pfs_creds_init(cfg.default_permissions || !cfg.allow_other) < 0)
		pfs_warn("cannot set up per-caller credentials (groups, "
			 "CAP_SYS_RESOURCE)");

	root_fd = do_open_source(cfg.source);
	if (root_fd == -1)
		goto out_free_args;
	if (do_check_mountpoint(cfg.mountpoint) == -1)
		goto out_close_root;
	/*
	 * Absolute paths from here on: a detached daemon works in "/"
	 * (fuse_daemonize), and the stop thread unmounts by path, which
	 * would name nothing for "preallocfs b m" and leave a dead mount.
	 * findmnt shows the backing directory as the source.
	 */
	abs_source = realpath(cfg.source, NULL);
	abs_mnt = realpath(cfg.mountpoint, NULL);
	if (!abs_source || !abs_mnt) {
		fprintf(stderr, "preallocfs: cannot resolve '%s': %s\n",
			abs_source ? cfg.mountpoint : cfg.source,
			strerror(errno));
		goto out_close_root;
	}
	if (pfs_backing_probe(root_fd, &fs.eng.caps) < 0)
		pfs_warn("cannot probe backing %s", abs_source);
	pfs_engine_init(&fs.eng, abs_source, &cfg.rules);
	/*
	 * On a copy-on-write filesystem every overwrite may need new space,
	 * which no preallocation can provide: refuse unless told otherwise.
	 */
	if (fs.eng.caps.cow && !cfg.rules.allow_cow) {
		fprintf(stderr,
			"preallocfs: backing '%s' is %s, a copy-on-write filesystem: stores into allocated ranges may still fail there; mount with -o allow_cow to accept that\n",
			cfg.source, fs.eng.caps.fs_name);
		goto out_close_root;
	}
	if ((!cfg.has_fsname &&
	     do_add_opt(&args, "fsname", abs_source)) ||
	    (!cfg.has_subtype && do_add_opt(&args, "subtype", "preallocfs"))) {
		fprintf(stderr, "preallocfs: out of memory\n");
		goto out_close_root;
	}
	ret = pfs_inode_table_init(&fs.table, root_fd);
	if (ret < 0) {
		fprintf(stderr, "preallocfs: cannot set up the inode table: %s\n",
			strerror(-ret));
		ret = 1;
		goto out_close_root;
	}
	/* The table owns root_fd from here on. */
	root_fd = -1;
	ret = 1;

	/* libfuse prints its own one-line reason (unknown option...). */
	se = fuse_session_new(&args, &pfs_ops, sizeof(pfs_ops), &fs);
	if (!se)
		goto out_destroy_table;
	fs.se = se;
	/* Not libfuse's handlers: they end the loop and lose dirty pages. */
	ret = pfs_stop_block(&stop, abs_mnt);
	if (ret < 0) {
		fprintf(stderr, "preallocfs: cannot set up signal handling: %s\n",
			strerror(-ret));
		ret = 1;
		goto out_destroy_session;
	}
	ret = 1;
	pfs_guard_init();
	if (fuse_session_mount(se, abs_mnt) != 0)
		goto out_destroy_session;
	/* Returns in the child once the mount is in place. */
	if (fuse_daemonize(cfg.foreground) != 0)
		goto out_unmount;
	/* In the process that serves, before its threads. */
	ret = pfs_guard_auto_unmount();
	if (ret < 0)
		pfs_warn("auto_unmount: cannot start the process that holds fusermount3's socket (%s): a killed daemon may leave its mount behind",
			 strerror(-ret));
	ret = 1;
	/*
	 * From here on a detached daemon logs to syslog: mount(8) and
	 * scripts see nothing on stderr from a successful mount.
	 */
	if (!cfg.foreground)
		pfs_log_to_syslog();
	do_log_caps(cfg.source, &fs.eng.caps, &cfg.rules);
	timeout = do_kernel_request_timeout();
	if (timeout)
		pfs_warn(PFS_TIMEOUT_WARNING, timeout);
	if (fs.eng.caps.cow)
		pfs_warn("allow_cow: on %s, growth is allocated but overwrites "
			 "(also of allocated ranges) may fail with ENOSPC, and "
			 "mapped stores may still raise SIGBUS",
			 fs.eng.caps.fs_name);
	/*
	 * After the fork (a child keeps only the thread that forked) and
	 * after the log sink is chosen (fuse_set_log_func is not atomic).
	 */
	if (pfs_stop_start(&stop) < 0) {
		pfs_err("cannot start the stop thread");
		goto out_unmount;
	}
	if (pfs_bdi_readahead_arm(abs_mnt, cfg.readahead_kb,
				  cfg.readahead_set) < 0 && cfg.readahead_set)
		pfs_warn("readahead=%u: cannot find the mount in mountinfo",
			 cfg.readahead_kb);

	/*
	 * Returns 0 when the kernel ends the connection: an unmount by
	 * umount(8), or by the stop thread on SIGTERM, SIGINT or SIGHUP.
	 */
	ret = do_serve(se, &cfg);
	/*
	 * An unmount ends the connection with ENODEV, as a rule; with
	 * ECONNABORTED now and then (seen on 6.18 after our own umount2,
	 * under load: 1 stop in 8 in one run of t-systemd).  Once the mount
	 * is gone that is an end like any other, not a failure for systemd
	 * to restart.
	 */
	if (ret == -ECONNABORTED && !pfs_stop_still_mounted(&stop)) {
		pfs_info("connection ended (%s) after the unmount",
			 strerror(-ret));
		ret = 0;
	}
	/*
	 * libfuse ends its loop with 0 on ENODEV, which the kernel also
	 * answers after aborting the connection (fusectl's abort, or a
	 * request that waited longer than fs.fuse.*_request_timeout) while
	 * the mount stays, dead: ENOTCONN for every program.  That is a
	 * failure (a supervisor restarts on it), never a clean end.
	 */
	if (ret == 0 && stop.mnt_id && pfs_stop_still_mounted(&stop)) {
		pfs_err("the kernel ended the connection while %s is still mounted (aborted through fusectl, or a request timed out): programs get ENOTCONN there until `umount -l %s`",
			abs_mnt, abs_mnt);
		ret = -ECONNABORTED;
	} else if (ret < 0) {
		pfs_err("session ended: %s", strerror(-ret));
	}
	ret = ret ? 1 : 0;

out_unmount:
	/* Only a mount still connected (an error above) is detached here. */
	fuse_session_unmount(se);
	/* Closing the connection frees a stop thread waiting on the mount. */
	pfs_stop_end(&stop);
out_destroy_session:
	fuse_session_destroy(se);
out_destroy_table:
	pfs_inode_table_destroy(&fs.table);
out_close_root:
	if (root_fd != -1)
		close(root_fd);
	pfs_engine_destroy(&fs.eng);
out_free_args:
	free(abs_mnt);
	free(abs_source);
	pfs_config_free(&cfg);
	fuse_opt_free_args(&args);
	return ret;
}
