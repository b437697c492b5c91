// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The inode table (see pfs_inode.h for the locking rules).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "pfs_cache.h"
#include "pfs_compat.h"
#include "pfs_inode.h"

#define PFS_INITIAL_BUCKETS 1024

/* Inode numbers handed to the kernel are entry addresses. */
_Static_assert(sizeof(uintptr_t) <= sizeof(uint64_t),
	       "a pointer must fit in a fuse_ino_t");

static size_t do_hash(dev_t dev, ino_t ino, size_t nbuckets)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & (nbuckets - 1);
}

static struct pfs_inode *do_new_inode(int fd, const struct stat *st)
{
	struct pfs_inode *inode = calloc(1, sizeof(*inode));
	pthread_rwlockattr_t attr;

	if (!inode)
		return NULL;
	/*
	 * Writers (size changes) must not starve behind a stream of shared
	 * holders (writes inside the file).
	 */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&inode->size_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&inode->cache_lock, NULL);
	/* A new entry means a new kernel inode: no cached pages yet. */
	pfs_cache_init(inode, st);
	inode->fd = fd;
	inode->dev = st->st_dev;
	inode->ino = st->st_ino;
	inode->nlookup = 1;
	return inode;
}

static void do_free_inode(struct pfs_inode *inode)
{
	close(inode->fd);
	pthread_rwlock_destroy(&inode->size_lock);
	pthread_mutex_destroy(&inode->cache_lock);
	free(inode);
}

/* Table lock held. */
static void do_insert(struct pfs_inode_table *t, struct pfs_inode *inode)
{
	size_t b = do_hash(inode->dev, inode->ino, t->nbuckets);

	inode->next = t->buckets[b];
	t->buckets[b] = inode;
	t->count++;
}

/* Table lock held.  Doubling is best effort: on ENOMEM chains get longer. */
static void do_maybe_grow(struct pfs_inode_table *t)
{
	size_t n = t->nbuckets * 2;
	struct pfs_inode **nb;

	if (t->count < t->nbuckets * 2)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct pfs_inode *in = t->buckets[i];

		while (in) {
			struct pfs_inode *next = in->next;
			size_t b = do_hash(in->dev, in->ino, n);

			in->next = nb[b];
			nb[b] = in;
			in = next;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

int pfs_inode_table_init(struct pfs_inode_table *t, int root_fd)
{
	struct stat st;

	*t = (struct pfs_inode_table){ 0 };
	if (fstatat(root_fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return pfs_neg_errno();
	t->nbuckets = PFS_INITIAL_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->root = do_new_inode(root_fd, &st);
	if (!t->root) {
		free(t->buckets);
		return -ENOMEM;
	}
	t->root->is_root = true;
	pthread_mutex_init(&t->lock, NULL);
	do_insert(t, t->root);
	return 0;
}

void pfs_inode_table_destroy(struct pfs_inode_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct pfs_inode *in = t->buckets[i];

		while (in) {
			struct pfs_inode *next = in->next;

			do_free_inode(in);
			in = next;
		}
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	*t = (struct pfs_inode_table){ 0 };
}

/* The entry for (dev, ino), or NULL.  Table lock held. */
static struct pfs_inode *do_find(struct pfs_inode_table *t, dev_t dev,
				 ino_t ino)
{
	struct pfs_inode *in = t->buckets[do_hash(dev, ino, t->nbuckets)];

	while (in && (in->ino != ino || in->dev != dev))
		in = in->next;
	return in;
}

struct pfs_inode *pfs_inode_get_ref(struct pfs_inode_table *t, int fd,
				    const struct stat *st)
{
	struct pfs_inode *in, *fresh;

	/*
	 * Look first; allocate (outside the lock) only for an inode the table
	 * does not have yet.
	 */
	pthread_mutex_lock(&t->lock);
	in = do_find(t, st->st_dev, st->st_ino);
	if (in) {
		in->nlookup++;
		pthread_mutex_unlock(&t->lock);
		close(fd);
		return in;
	}
	pthread_mutex_unlock(&t->lock);

	fresh = do_new_inode(fd, st);
	if (!fresh) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}

	/* Someone may have inserted the same inode meanwhile: look again. */
	pthread_mutex_lock(&t->lock);
	in = do_find(t, st->st_dev, st->st_ino);
	if (in) {
		in->nlookup++;
		pthread_mutex_unlock(&t->lock);
		do_free_inode(fresh);
		return in;
	}
	do_insert(t, fresh);
	do_maybe_grow(t);
	pthread_mutex_unlock(&t->lock);
	return fresh;
}

void pfs_inode_forget(struct pfs_inode_table *t, struct pfs_inode *inode,
		      uint64_t n)
{
	struct pfs_inode **pp;
	size_t b;

	pthread_mutex_lock(&t->lock);
	if (inode->is_root) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	inode->nlookup = n < inode->nlookup ? inode->nlookup - n : 0;
	if (inode->nlookup) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	b = do_hash(inode->dev, inode->ino, t->nbuckets);
	for (pp = &t->buckets[b]; *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	/* The close happens outside the table lock. */
	do_free_inode(inode);
}

size_t pfs_inode_count(struct pfs_inode_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
