// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The table of backing devices and their caps (see pfs_devcaps.h), and the
 * guarantee each device gets, in words.
 */
#include <errno.h>
#include <stdlib.h>

#include "pfs_devcaps.h"

void pfs_devtable_init(struct pfs_devtable *t)
{
	pthread_mutex_init(&t->lock, NULL);
	atomic_init(&t->head, NULL);
}

void pfs_devtable_destroy(struct pfs_devtable *t)
{
	struct pfs_devcaps *d = atomic_load(&t->head), *next;

	for (; d; d = next) {
		next = d->next;
		free(d);
	}
	atomic_store(&t->head, NULL);
}

const struct pfs_caps *pfs_devtable_find(struct pfs_devtable *t, dev_t dev)
{
	const struct pfs_devcaps *d =
		atomic_load_explicit(&t->head, memory_order_acquire);

	for (; d; d = d->next)
		if (d->caps.dev == dev)
			return &d->caps;
	return NULL;
}

const struct pfs_caps *pfs_devtable_add(struct pfs_devtable *t,
					const struct pfs_caps *caps,
					bool *added)
{
	const struct pfs_caps *found;
	struct pfs_devcaps *d = malloc(sizeof(*d));

	*added = false;
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->caps = *caps;
	pthread_mutex_lock(&t->lock);
	found = pfs_devtable_find(t, caps->dev);
	if (!found) {
		d->next = atomic_load_explicit(&t->head, memory_order_relaxed);
		/* Release: a reader that sees d sees it filled in. */
		atomic_store_explicit(&t->head, d, memory_order_release);
		found = &d->caps;
		d = NULL;
		*added = true;
	}
	pthread_mutex_unlock(&t->lock);
	free(d);
	return found;
}

const char *pfs_caps_fallocate_word(const struct pfs_caps *caps)
{
	if (!caps->fallocate_known)
		return "not probed";
	return caps->fallocate ? "works" : "not supported";
}

bool pfs_caps_refuse_writes(const struct pfs_caps *caps,
			    const struct pfs_rules *rules)
{
	return caps->cow && !rules->allow_cow;
}

const char *pfs_caps_guarantee(const struct pfs_caps *caps,
			       const struct pfs_rules *rules, bool below_root)
{
	if (caps->cow && rules->allow_cow)
		return "partial: growth is allocated, but overwrites on a "
		       "copy-on-write filesystem may still need new space";
	if (caps->cow)
		return below_root ?
			       "none: copy-on-write filesystem, opening files "
			       "for writing, creating and growing them there "
			       "fail with EROFS unless -o allow_cow" :
			       "none: copy-on-write filesystem, the mount is "
			       "refused unless -o allow_cow";
	if (caps->fallocate_known && !caps->fallocate)
		return rules->fallback == PFS_FALLBACK_ZERO ?
			       "full, by writing zeros (no fallocate): every "
			       "growth is written out as zero blocks, or "
			       "refused with ENOSPC/EDQUOT" :
			       "none: growth is refused with EOPNOTSUPP "
			       "(no fallocate, fallback=refuse)";
	if (!caps->fallocate_known)
		return "probably full: fallocate could not be probed (no "
		       "O_TMPFILE); each growth finds out";
	return "full: every growth is allocated when the size changes, or "
	       "refused with ENOSPC/EDQUOT, and later stores into it cannot "
	       "fail for lack of space";
}
