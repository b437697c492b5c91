// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Session-wide handlers (init, destroy), helpers shared by the handlers, and
 * the operations table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pfs_compat.h"
#include "pfs_creds.h"
#include "pfs_handle.h"
#include "pfs_log.h"
#include "pfs_notify.h"
#include "pfs_ops.h"

void pfs_proc_path(char buf[PFS_PROC_PATH_MAX], int fd)
{
	snprintf(buf, PFS_PROC_PATH_MAX, "/proc/self/fd/%d", fd);
}

int pfs_do_getattr(struct pfs_inode *inode, struct stat *st)
{
	if (fstatat(inode->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return pfs_neg_errno();
	return 0;
}

/*
 * Running out of descriptors is the typical failure of a passthrough that
 * holds one fd per known inode: say so once, plainly, instead of leaving
 * only scattered EMFILE errors.
 */
static void do_note_fd_exhaustion(int err)
{
	static atomic_bool warned;
	struct rlimit rl;

	if ((err != EMFILE && err != ENFILE) || atomic_exchange(&warned, true))
		return;
	getrlimit(RLIMIT_NOFILE, &rl);
	pfs_err("%s (open-file limit %llu): requests fail with %s until the "
		"kernel forgets inodes; raise the limit (LimitNOFILE=, ulimit -n)",
		err == EMFILE ? "out of file descriptors" :
				"the system file table is full",
		(unsigned long long)rl.rlim_cur, err == EMFILE ? "EMFILE" : "ENFILE");
}

int pfs_do_entry(fuse_req_t req, int fd, struct fuse_entry_param *e)
{
	struct pfs_fs *fs = pfs_fs(req);
	struct pfs_inode *inode;
	int ret;

	memset(e, 0, sizeof(*e));
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		ret = pfs_neg_errno();
		close(fd);
		return ret;
	}
	/*
	 * A filesystem mounted inside the backing tree is first reached
	 * here, through its root directory: probe its device now, so that
	 * its own rules (copy-on-write, fallback, size limit) apply to every
	 * file on it.  A list walk for devices already known; no lock of the
	 * inode table is held.
	 */
	ret = pfs_engine_see(&fs->eng, fd, &e->attr);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	inode = pfs_inode_get_ref(&fs->table, fd, &e->attr);
	if (!inode)
		return pfs_neg_errno();
	e->ino = inode == fs->table.root ? FUSE_ROOT_ID : (uintptr_t)inode;
	e->attr_timeout = fs->timeout;
	/*
	 * Without default_permissions the kernel trusts a cached name
	 * without asking: another user could walk through a directory they
	 * may not search.  Names are then never cached, so every walk is
	 * a lookup as its caller.
	 */
	e->entry_timeout = pfs_creds_kernel_checks() ? fs->entry_timeout : 0;
	return 0;
}

int pfs_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
		  struct fuse_entry_param *e)
{
	struct pfs_inode *dir = pfs_inode(req, parent);
	int fd;

	/*
	 * The kernel resolves ".." itself, but nothing may lead above the
	 * backing root: ".." of the root is the root.
	 */
	if (dir->is_root && !strcmp(name, ".."))
		name = ".";
	/* O_NOFOLLOW: a symlink is an inode of its own, never followed. */
	fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		int ret = pfs_neg_errno();

		do_note_fd_exhaustion(-ret);
		return ret;
	}
	return pfs_do_entry(req, fd, e);
}

/* The allocation engine's cancel callback: has the kernel interrupted req? */
static bool do_req_interrupted(void *req)
{
	return fuse_req_interrupted(req);
}

struct pfs_alloc_ctx pfs_req_alloc_ctx(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);

	return (struct pfs_alloc_ctx){
		.eng = &pfs_fs(req)->eng,
		/* uid 0 may use the root-reserved blocks, as natively. */
		.privileged = c->uid == 0,
		.uid = c->uid,
		.gid = c->gid,
		/* Long zero-filling, hole filling and unsharing stop on an
		 * interrupt (the caller got a signal) and roll back. */
		.cancelled = do_req_interrupted,
		.cancel_arg = req,
	};
}

void pfs_handle_track(fuse_req_t req, struct pfs_handle *h)
{
	struct pfs_fs *fs = pfs_fs(req);

	pthread_mutex_lock(&fs->open_lock);
	h->prev = NULL;
	h->next = fs->open;
	if (fs->open)
		fs->open->prev = h;
	fs->open = h;
	pthread_mutex_unlock(&fs->open_lock);
}

void pfs_handle_untrack(fuse_req_t req, struct pfs_handle *h)
{
	struct pfs_fs *fs = pfs_fs(req);

	pthread_mutex_lock(&fs->open_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->open = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->open_lock);
}

/* Does this thread have CAP_SYS_ADMIN (the backing-file ioctl needs it)? */
static bool do_have_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	const int cap = CAP_SYS_ADMIN;

	if (syscall(SYS_capget, &hdr, data) == -1)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/*
 * In the initial user namespace?  Its uid_map is the identity over the
 * whole range; a user namespace's root has CAP_SYS_ADMIN only there, and the
 * backing-file ioctl wants it in the initial one.
 */
static bool do_in_init_userns(void)
{
	unsigned long inside = 1, outside = 1, count = 0;
	FILE *f = fopen("/proc/self/uid_map", "re");

	if (!f)
		return true;	/* no /proc: let the kernel decide */
	if (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) != 3)
		count = 0;
	fclose(f);
	return inside == 0 && outside == 0 && count == 4294967295UL;
}

const char *pfs_passthrough_unavailable(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (!PFS_HAVE_PASSTHROUGH)
		return "this build's libfuse has none (needs libfuse >= 3.17)";
	if (!do_have_sys_admin() || !do_in_init_userns())
		return "the daemon lacks CAP_SYS_ADMIN in the initial user namespace";
	if (uname(&u) == 0 &&
	    sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 6 || (major == 6 && minor < 9)))
		return "needs Linux >= 6.9";
	return NULL;
}

/*
 * -o passthrough: ask the kernel to run open files' reads, writes and mmap
 * itself.  Without libfuse >= 3.17, CAP_SYS_ADMIN or a kernel that offers
 * it (>= 6.9, CONFIG_FUSE_PASSTHROUGH) the mount keeps the classic data
 * path and says so in one line.  Passthrough excludes the writeback cache,
 * which preallocfs never wants anyway.
 */
static void do_init_passthrough(struct pfs_fs *fs, struct fuse_conn_info *conn)
{
	const char *why;

	if (!fs->passthrough)
		return;
	why = pfs_passthrough_unavailable();
	if (!why && !pfs_conn_want_passthrough(conn))
		why = "the kernel does not offer it (needs Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH)";
	fs->pt_active = !why;
	if (why)
		pfs_warn("passthrough unavailable: %s; using the classic data path",
			 why);
	else
		pfs_info("passthrough: reads, writes and mmap go straight to "
			 "the backing files; %s", PFS_PASSTHROUGH_CAVEAT);
}

static bool do_killpriv_v2_allowed(void)
{
	const char *v = getenv("PREALLOCFS_KILLPRIV_V2");

	return !v || strcmp(v, "0") != 0;
}

static void pfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct pfs_fs *fs = userdata;

	/*
	 * No writeback cache: with it the kernel acknowledges write() and
	 * sends the data later, so ENOSPC from the backing store could only
	 * surface at fsync/close, where legacy programs never look.  Every
	 * write must reach the daemon (and the caller must get its error)
	 * synchronously.
	 */
	pfs_conn_unwant(conn, FUSE_CAP_WRITEBACK_CACHE);
	/*
	 * Clearing setuid/setgid and security.capability on write, truncate
	 * and chown.  Without KILLPRIV_V2 the kernel does it (an explicit
	 * mode change, a removexattr), and to know whether there is a
	 * capability to remove it asks for security.capability before every
	 * single write: one GETXATTR round trip per write.  With v2 the
	 * kernel leaves it to the daemon and can mark inodes S_NOSEC: the
	 * backing filesystem clears the bits itself on the daemon's backing
	 * write, truncate or chown, as for the caller, once the thread's
	 * CAP_FSETID matches the caller's (pfs_creds_fsetid).  Version 1
	 * (kill on every write, whoever writes) stays off.
	 * PREALLOCFS_KILLPRIV_V2=0 in the environment turns v2 off too.
	 */
	pfs_conn_unwant(conn, FUSE_CAP_HANDLE_KILLPRIV);
	if (do_killpriv_v2_allowed())
		fs->killpriv_v2 =
			pfs_conn_want(conn, FUSE_CAP_HANDLE_KILLPRIV_V2);
	else
		pfs_conn_unwant(conn, FUSE_CAP_HANDLE_KILLPRIV_V2);
	/*
	 * Parallel lookups and readdirs in one directory: never negotiated
	 * so far (3.14 set the flag by default but never sent it to the
	 * kernel; 3.17 would send it), so off until the handlers are
	 * checked for it.
	 */
	pfs_conn_unwant(conn, FUSE_CAP_PARALLEL_DIROPS);
	/*
	 * POSIX ACLs: with them the kernel's permission checks (under
	 * default_permissions) read the ACLs too, as the backing filesystem
	 * would.  Asking for them turns default_permissions on, so not on a
	 * no_default_permissions mount: there the backing filesystem checks,
	 * ACLs included, as the caller.
	 */
	if (pfs_creds_kernel_checks())
		pfs_conn_want(conn, FUSE_CAP_POSIX_ACL);
	/*
	 * The umask is ours to apply (the kernel sends it with the request):
	 * the backing filesystem ignores it where the parent directory has
	 * a default ACL, as natively.  See pfs_creds_enter_create.
	 */
	pfs_creds_set_dont_mask(pfs_conn_want(conn, FUSE_CAP_DONT_MASK));
	/*
	 * No asynchronous direct I/O: with it the kernel sends an O_DIRECT
	 * write as several requests at once and turns any short reply among
	 * them into EIO (fuse_get_res_by_io), so a write that met a full
	 * disk part-way reported EIO instead of ENOSPC.  Without it the
	 * requests go one after the other and a short one ends the write
	 * with the count written so far, as natively; the next write gets
	 * ENOSPC.  O_DIRECT requests lose their parallelism, and AIO on an
	 * O_DIRECT file completes at submission.
	 */
	pfs_conn_unwant(conn, FUSE_CAP_ASYNC_DIO);
	/*
	 * Whenever a reply shows a file's mtime or size changed, the kernel
	 * drops its pages itself (a libfuse default, asked for here to say
	 * so): pages kept across opens (keep_cache, pfs_cache.h) still go
	 * when an attribute reply shows a change while the file is open.
	 */
	pfs_conn_want(conn, FUSE_CAP_AUTO_INVAL_DATA);
	/*
	 * readdirplus: each entry carries its attributes and a lookup
	 * reference (pfs_do_entry), so `ls -l` of 2000 files costs 11
	 * READDIRPLUS and no LOOKUP.  Adaptive (AUTO): the kernel asks for
	 * "plus" while the lister also stats what it lists, plain readdir
	 * otherwise.  Measured on 2000 files, cold: always-plus made `ls`
	 * and `find` 8x slower (7 -> 55 ms; every name looked up, every
	 * inode pinned) to save `stat *` its 1800 LOOKUPs (100 -> 70 ms).
	 */
	pfs_conn_want(conn, FUSE_CAP_READDIRPLUS);
	pfs_conn_want(conn, FUSE_CAP_READDIRPLUS_AUTO);
	/*
	 * Written data may come from /dev/fuse by splice.  libfuse does so
	 * only where its pipe can grow to a whole request (max_write and a
	 * header: more than the default pipe-max-size of 1 MiB); otherwise
	 * it reads the request into its buffer.  READ replies never splice
	 * (pfs_read says why).
	 */
	pfs_conn_want(conn, FUSE_CAP_SPLICE_READ);
	/*
	 * Locks go to the daemon, which takes them on the backing file, so
	 * that they meet the locks of processes on the backing side;
	 * without these the kernel keeps them to the mount alone.
	 */
	pfs_conn_want(conn, FUSE_CAP_POSIX_LOCKS);
	pfs_conn_want(conn, FUSE_CAP_FLOCK_LOCKS);
	do_init_passthrough(userdata, conn);
	pfs_dbg("init: want 0x%llx max_write %u",
		(unsigned long long)pfs_conn_wanted(conn), conn->max_write);
	/* The session answers from here on (the kernel waits for init). */
	pfs_notify_ready(&fs->eng.stats);
}

static void pfs_destroy(void *userdata)
{
	struct pfs_fs *fs = userdata;
	struct pfs_handle *h, *next;

	/* First: lock waiters in threads of their own still use the session. */
	pfs_locks_destroy();
	/*
	 * The session is over: handles the kernel did not release (files
	 * still open when the daemon was stopped) are closed here.  No
	 * request runs any more, so no lock is needed.
	 */
	for (h = fs->open; h; h = next) {
		next = h->next;
		if (h->kind == PFS_HANDLE_FILE) {
			close(((struct pfs_file *)h)->fd);
		} else {
			closedir(((struct pfs_dir *)h)->dp);
		}
		free(h);
	}
	fs->open = NULL;
}

const struct fuse_lowlevel_ops pfs_ops = {
	.init = pfs_init,
	.destroy = pfs_destroy,
	.lookup = pfs_lookup,
	.forget = pfs_forget,
	.forget_multi = pfs_forget_multi,
	.getattr = pfs_getattr,
	.setattr = pfs_setattr,
	.readlink = pfs_readlink,
	.mknod = pfs_mknod,
	.mkdir = pfs_mkdir,
	.unlink = pfs_unlink,
	.rmdir = pfs_rmdir,
	.symlink = pfs_symlink,
	.rename = pfs_rename,
	.link = pfs_link,
	.open = pfs_open,
	.read = pfs_read,
	.write_buf = pfs_write_buf,
	.flush = pfs_flush,
	.release = pfs_release,
	.fsync = pfs_fsync,
	.opendir = pfs_opendir,
	.readdir = pfs_readdir,
	.readdirplus = pfs_readdirplus,
	.releasedir = pfs_releasedir,
	.fsyncdir = pfs_fsyncdir,
	.statfs = pfs_statfs,
	.setxattr = pfs_setxattr,
	.getxattr = pfs_getxattr,
	.listxattr = pfs_listxattr,
	.removexattr = pfs_removexattr,
	.access = pfs_access,
	.create = pfs_create,
	.fallocate = pfs_fallocate,
	.copy_file_range = pfs_copy_file_range,
	.lseek = pfs_lseek,
	.getlk = pfs_getlk,
	.setlk = pfs_setlk,
	.flock = pfs_flock,
};
