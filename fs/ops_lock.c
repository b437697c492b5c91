// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock handlers: POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW, also
 * OFD locks taken through the mount) and BSD flock(), passed through to the
 * backing file, so that locks taken through the mount and on the backing
 * side (in-place mounting, databases migrating under the mount) see each
 * other.
 *
 * POSIX locks belong to a lock owner (the kernel's fi->lock_owner: the
 * caller's file table, or the open file for OFD locks), not to an open file.
 * Each (inode, owner) that locks gets an open file description of its own
 * on the backing file, and its locks are OFD locks there: one owner's locks
 * merge and never conflict with each other, and conflict with every other
 * owner's, through the mount or not.  POSIX releases an owner's locks when
 * it closes any descriptor of the file: the kernel sends FLUSH with the
 * owner, and pfs_locks_flush() closes that description.  Locks of an OFD
 * owner go when its open file is released (pfs_locks_release).
 *
 * flock() locks belong to the open file: flock() on the handle's own
 * backing fd, which lives exactly as long as the open file.
 *
 * A blocking request (F_SETLKW, flock without LOCK_NB) that cannot be
 * granted at once waits in a thread of its own, which replies; an interrupt
 * from the kernel (the caller got a signal, SIGKILL included) breaks the
 * wait with a signal to that thread, and the request ends with EINTR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "pfs_compat.h"
#include "pfs_handle.h"
#include "pfs_log.h"
#include "pfs_ops.h"

/* One lock owner's description of one backing file. */
struct lock_owner {
	struct lock_owner *next;	/* owners_lock */
	const struct pfs_inode *inode;	/* key; immutable */
	uint64_t owner;			/* key: fi->lock_owner; immutable */
	const struct pfs_file *handle;	/* last used through; owners_lock */
	pid_t pid;			/* who locked last, for F_GETLK;
					 * owners_lock */
	int refs;			/* owners_lock; the table holds one */
	int fd;				/* immutable; closed with the last ref */
};

#define OWNER_BUCKETS 256
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lock_owner *owners[OWNER_BUCKETS];	/* owners_lock */

static struct lock_owner **do_bucket(const struct pfs_inode *inode,
				     uint64_t owner)
{
	uintptr_t h = (uintptr_t)inode / sizeof(void *) ^ (uintptr_t)owner ^
		      (uintptr_t)(owner >> 32);

	return &owners[h % OWNER_BUCKETS];
}

static void do_put(struct lock_owner *o)
{
	bool last;

	pthread_mutex_lock(&owners_lock);
	last = --o->refs == 0;
	pthread_mutex_unlock(&owners_lock);
	if (!last)
		return;
	/* Closing the only fd of the description drops its OFD locks. */
	close(o->fd);
	free(o);
}

/* A second description of the file behind the handle's fd. */
static int do_reopen(const struct pfs_file *f)
{
	char proc[PFS_PROC_PATH_MAX];
	int fd, fl;

	pfs_proc_path(proc, f->fd);
	/*
	 * Read-write if the daemon may, so that one description serves
	 * read and write locks of the owner through any of its handles (the
	 * kernel has checked the caller's access mode for the lock type).
	 * O_NONBLOCK: a FIFO must not wait for a peer here.
	 */
	fd = open(proc, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd != -1)
		return fd;
	fl = fcntl(f->fd, F_GETFL);
	if (fl == -1)
		return -1;
	return open(proc, (fl & O_ACCMODE) | O_NONBLOCK | O_NOCTTY |
				  O_CLOEXEC);
}

/*
 * The owner's entry for inode, with a reference; made if create.  NULL with
 * *err = 0 when there is none and create is false, or with *err = -errno.
 */
static struct lock_owner *do_get(const struct pfs_inode *inode,
				 uint64_t owner, const struct pfs_file *f,
				 bool create, int *err)
{
	struct lock_owner **b = do_bucket(inode, owner);
	struct lock_owner *o, *made = NULL;

	*err = 0;
	for (;;) {
		pthread_mutex_lock(&owners_lock);
		for (o = *b; o; o = o->next)
			if (o->inode == inode && o->owner == owner)
				break;
		if (!o && made) {
			made->next = *b;
			*b = made;
			o = made;
			made = NULL;
		}
		if (o) {
			o->refs++;
			o->handle = f;
		}
		pthread_mutex_unlock(&owners_lock);
		if (o || !create)
			break;
		/* No syscall under owners_lock: open, then insert. */
		made = calloc(1, sizeof(*made));
		if (!made) {
			*err = -ENOMEM;
			return NULL;
		}
		made->fd = do_reopen(f);
		if (made->fd == -1) {
			*err = pfs_neg_errno();
			free(made);
			return NULL;
		}
		made->inode = inode;
		made->owner = owner;
		made->refs = 1;
	}
	if (made) {	/* another thread made it first */
		close(made->fd);
		free(made);
	}
	return o;
}

/* Which entries to drop: one owner's, one open file's, or all. */
struct lock_match {
	const struct pfs_inode *inode;	/* with owner; or NULL */
	uint64_t owner;
	const struct pfs_file *handle;	/* or NULL */
	bool all;
};

static bool do_matches(const struct lock_owner *o, const struct lock_match *m)
{
	if (m->all)
		return true;
	if (m->inode)
		return o->inode == m->inode && o->owner == m->owner;
	return o->handle == m->handle;
}

/*
 * Take the matching entries out of the table, unlock everything they hold
 * (now, even if a waiter still has a reference) and drop the table's refs.
 */
static void do_drop(const struct lock_match *m)
{
	struct lock_owner *gone = NULL, *o, **p;

	pthread_mutex_lock(&owners_lock);
	for (size_t i = 0; i < OWNER_BUCKETS; i++) {
		/* An owner's entry can only be in its own bucket. */
		if (m->inode && &owners[i] != do_bucket(m->inode, m->owner))
			continue;
		for (p = &owners[i]; (o = *p);) {
			if (!do_matches(o, m)) {
				p = &o->next;
				continue;
			}
			*p = o->next;
			o->next = gone;
			gone = o;
		}
	}
	pthread_mutex_unlock(&owners_lock);
	while ((o = gone)) {
		struct flock all = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

		gone = o->next;
		fcntl(o->fd, F_OFD_SETLK, &all);
		do_put(o);
	}
}

void pfs_locks_flush(fuse_req_t req, fuse_ino_t ino, uint64_t owner)
{
	struct lock_match m = { .inode = pfs_inode(req, ino), .owner = owner };

	do_drop(&m);
}

void pfs_locks_release(const struct pfs_file *f)
{
	struct lock_match m = { .handle = f };

	do_drop(&m);
}

/* --- Waiting, interruptibly ------------------------------------------ */

/* Any signal without SA_RESTART will do; this one is ours alone. */
#define WAIT_SIGNAL (SIGRTMIN + 3)

struct lock_wait {
	struct lock_wait *next;	/* waits_lock */
	pthread_t thread;	/* the waiting worker */
	atomic_bool interrupted;
	atomic_bool done;	/* the waiter is out of its syscall for good */
};

/*
 * Every wait in progress, and the waiting threads of our own not yet done
 * replying: at the session's end (pfs_locks_destroy) these are woken and
 * waited for, because they use the session (reply, notify) and the session
 * is freed next.  A connection the kernel aborted while a program waited
 * for a lock held by another, still running, leaves such a waiter behind.
 */
static pthread_mutex_t waits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lock_wait *waits;		/* waits_lock */
static unsigned int wait_threads;	/* waits_lock */
static atomic_bool waits_ending;	/* set under waits_lock */

static void do_wake(int sig)
{
	(void)sig;	/* only to make the blocking syscall return EINTR */
}

static void do_install_wake(void)
{
	struct sigaction sa = { .sa_handler = do_wake };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the wait must return EINTR. */
	if (sigaction(WAIT_SIGNAL, &sa, NULL) == -1)
		pfs_err("cannot install the lock-wait signal handler: %m");
}

/*
 * libfuse calls this when the kernel interrupts the request (with the
 * request's lock held; or at registration if it came before).  The waiter
 * may be just about to enter its syscall, where one signal would be lost:
 * signal it until it says it is out.  It says so before unregistering, so
 * this cannot wait for it forever.
 */
static void do_interrupt(fuse_req_t req, void *data)
{
	struct lock_wait *w = data;

	(void)req;
	atomic_store(&w->interrupted, true);
	if (pthread_equal(pthread_self(), w->thread))
		return;
	while (!atomic_load(&w->done)) {
		pthread_kill(w->thread, WAIT_SIGNAL);
		usleep(1000);
	}
}

/* A blocking lock call, as one step of do_wait. */
struct lock_call {
	int fd;
	int cmd;		/* F_OFD_SETLKW, or 0 for flock() */
	struct flock *fl;	/* for fcntl */
	int op;			/* for flock() */
};

static int do_call(const struct lock_call *c)
{
	int r = c->cmd ? fcntl(c->fd, c->cmd, c->fl) : flock(c->fd, c->op);

	return r == -1 ? pfs_neg_errno() : 0;
}

/* Run a blocking lock call until it is granted, fails or is interrupted. */
static int do_wait(fuse_req_t req, const struct lock_call *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct lock_wait w = { .thread = pthread_self() };
	int ret;

	pthread_once(&once, do_install_wake);
	pthread_mutex_lock(&waits_lock);
	if (atomic_load(&waits_ending))
		atomic_store(&w.interrupted, true);
	w.next = waits;
	waits = &w;
	pthread_mutex_unlock(&waits_lock);
	fuse_req_interrupt_func(req, do_interrupt, &w);
	for (;;) {
		if (atomic_load(&w.interrupted)) {
			ret = -EINTR;
			break;
		}
		ret = do_call(c);
		if (ret != -EINTR)
			break;
	}
	atomic_store(&w.done, true);
	/* Waits for a running do_interrupt: w is on this stack. */
	fuse_req_interrupt_func(req, NULL, NULL);
	pthread_mutex_lock(&waits_lock);
	for (struct lock_wait **p = &waits; *p; p = &(*p)->next) {
		if (*p == &w) {
			*p = w.next;
			break;
		}
	}
	pthread_mutex_unlock(&waits_lock);
	return ret;
}

/*
 * End every wait with EINTR and wait until the threads of our own have
 * replied.  A signal can come just before a waiter enters its syscall and
 * be lost: signal again until each is out (it leaves the list then).
 */
static void do_end_waits(void)
{
	pthread_mutex_lock(&waits_lock);
	atomic_store(&waits_ending, true);
	while (waits || wait_threads) {
		for (struct lock_wait *w = waits; w; w = w->next) {
			atomic_store(&w->interrupted, true);
			pthread_kill(w->thread, WAIT_SIGNAL);
		}
		pthread_mutex_unlock(&waits_lock);
		usleep(1000);
		pthread_mutex_lock(&waits_lock);
	}
	pthread_mutex_unlock(&waits_lock);
}

void pfs_locks_destroy(void)
{
	struct lock_match m = { .all = true };

	do_end_waits();
	do_drop(&m);
}

/* --- Handlers --------------------------------------------------------- */

/*
 * F_GETLK answers l_pid -1 for a conflicting OFD lock; when the lock is one
 * taken through the mount, find its owner to report its process.  An owner
 * holds the conflicting lock when the same test made from its own
 * description no longer finds it.
 */
static pid_t do_holder(const struct pfs_inode *inode,
		       const struct lock_owner *self, const struct flock *ask,
		       const struct flock *found)
{
	pid_t pid = -1;

	pthread_mutex_lock(&owners_lock);
	for (size_t i = 0; i < OWNER_BUCKETS && pid == -1; i++) {
		for (struct lock_owner *o = owners[i]; o; o = o->next) {
			struct flock t = *ask;

			if (o->inode != inode || o == self)
				continue;
			/* F_OFD_GETLK does not block: fine under the lock. */
			if (fcntl(o->fd, F_OFD_GETLK, &t) == 0 &&
			    (t.l_type == F_UNLCK || t.l_start != found->l_start ||
			     t.l_len != found->l_len)) {
				pid = o->pid;
				break;
			}
		}
	}
	pthread_mutex_unlock(&owners_lock);
	return pid;
}

void pfs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct flock *lock)
{
	struct pfs_inode *inode = pfs_inode(req, ino);
	struct lock_owner *o;
	struct flock fl = *lock;
	int err;

	o = do_get(inode, fi->lock_owner, pfs_file(fi), false, &err);
	/*
	 * Without locks of its own the owner asks from the handle's
	 * description, which holds no OFD locks either.
	 */
	fl.l_pid = 0;
	if (fcntl(o ? o->fd : pfs_file(fi)->fd, F_OFD_GETLK, &fl) == -1) {
		err = errno;
		if (o)
			do_put(o);
		fuse_reply_err(req, err);
		return;
	}
	if (fl.l_type != F_UNLCK && fl.l_pid == -1) {
		struct flock ask = *lock;

		ask.l_pid = 0;
		fl.l_pid = do_holder(inode, o, &ask, &fl);
	}
	if (o)
		do_put(o);
	fuse_reply_lock(req, &fl);
}

/* A lock request, from the handler to its reply (maybe in another thread). */
struct lock_job {
	fuse_req_t req;
	struct lock_owner *o;	/* a reference, for fcntl locks; or NULL */
	struct lock_call c;	/* c.fl points to fl */
	struct flock fl;
	pid_t pid;		/* the locking process, for F_GETLK */
	int dup_fd;		/* flock: our duplicate of the handle's fd */
	fuse_ino_t ino;
	bool locking;		/* not an unlock */
};

static void do_finish(struct lock_job *j, int ret)
{
	/*
	 * A lock granted: what the kernel caches of the file (pages, size)
	 * may be stale, because processes on the backing side write it
	 * without the kernel's FUSE cache knowing.  Drop it before the
	 * caller reads under its new lock, as NFS revalidates on locking:
	 * the locks a database takes to read and write then also make what
	 * it reads fresh.  (Its own writes through the mount go straight
	 * through: no writeback cache.)  The caller waits for this reply and
	 * holds no inode lock, so the invalidation does not wait on it.
	 */
	if (ret == 0 && j->locking)
		fuse_lowlevel_notify_inval_inode(pfs_fs(j->req)->se, j->ino, 0,
						 0);
	if (j->o) {
		if (ret == 0 && j->fl.l_type != F_UNLCK) {
			pthread_mutex_lock(&owners_lock);
			j->o->pid = j->pid;
			pthread_mutex_unlock(&owners_lock);
		}
		do_put(j->o);
	}
	if (j->dup_fd != -1)
		close(j->dup_fd);
	/* At the session's end the connection is gone: nobody to answer. */
	if (atomic_load(&waits_ending))
		fuse_reply_none(j->req);
	else
		fuse_reply_err(j->req, -ret);
	free(j);
}

static void *do_wait_thread(void *arg)
{
	struct lock_job *j = arg;

	do_finish(j, do_wait(j->req, &j->c));
	pthread_mutex_lock(&waits_lock);
	wait_threads--;
	pthread_mutex_unlock(&waits_lock);
	return NULL;
}

/*
 * Run a lock request.  A blocking one that cannot be granted at once waits
 * in a thread of its own and replies from there: waiting in the worker
 * thread would take one of the session's few workers (10 by default) per
 * waiter, and with them all waiting, the request that would release the
 * lock could never be read.
 */
static void do_run(struct lock_job *j, bool blocking)
{
	int block_cmd = j->c.cmd, block_op = j->c.op;
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	/* Try without blocking first: most requests end here. */
	if (j->c.cmd)
		j->c.cmd = F_OFD_SETLK;
	else
		j->c.op |= LOCK_NB;
	ret = do_call(&j->c);
	if (!blocking || ret != -EAGAIN) {
		do_finish(j, ret);
		return;
	}
	j->c.cmd = block_cmd;
	j->c.op = block_op;
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 << 10);
		pthread_mutex_lock(&waits_lock);
		ret = pthread_create(&t, &attr, do_wait_thread, j);
		if (ret == 0)
			wait_threads++;
		pthread_mutex_unlock(&waits_lock);
		pthread_attr_destroy(&attr);
		if (ret == 0)
			return;
	}
	/* No thread: wait here after all. */
	do_finish(j, do_wait(j->req, &j->c));
}

void pfs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       struct flock *lock, int sleep)
{
	bool unlock = lock->l_type == F_UNLCK;
	struct lock_job *j;
	int ret;

	j = calloc(1, sizeof(*j));
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	j->o = do_get(pfs_inode(req, ino), fi->lock_owner, pfs_file(fi),
		      !unlock, &ret);
	if (!j->o) {
		/* Unlocking what was never locked succeeds, as natively. */
		free(j);
		fuse_reply_err(req, -ret);
		return;
	}
	j->req = req;
	j->ino = ino;
	j->locking = !unlock;
	j->pid = lock->l_pid;
	j->dup_fd = -1;
	j->fl = *lock;
	j->fl.l_pid = 0;	/* required for OFD locks */
	j->c = (struct lock_call){
		.fd = j->o->fd,
		.cmd = F_OFD_SETLKW,
		.fl = &j->fl,
	};
	do_run(j, sleep && !unlock);
}

void pfs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
	       int op)
{
	struct lock_job *j;

	j = calloc(1, sizeof(*j));
	if (!j) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * The same open file description as the handle's (flock locks
	 * belong to it), held by a duplicate of our own while we wait.
	 */
	j->dup_fd = dup(pfs_file(fi)->fd);
	if (j->dup_fd == -1) {
		free(j);
		fuse_reply_err(req, errno);
		return;
	}
	j->req = req;
	j->ino = ino;
	j->locking = !(op & LOCK_UN);
	j->c = (struct lock_call){ .fd = j->dup_fd, .op = op & ~LOCK_NB };
	do_run(j, !(op & (LOCK_NB | LOCK_UN)));
}
