// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Counters and the log rate limit (see pfs_stats.h).
 */
#include <errno.h>
#include <stdio.h>

#include "pfs_stats.h"

void pfs_stats_refused(struct pfs_stats *s, int err)
{
	switch (err) {
	case ENOSPC:
		atomic_fetch_add(&s->refused_enospc, 1);
		break;
	case EDQUOT:
		atomic_fetch_add(&s->refused_edquot, 1);
		break;
	case EFBIG:
		atomic_fetch_add(&s->refused_efbig, 1);
		break;
	default:
		atomic_fetch_add(&s->refused_other, 1);
		break;
	}
}

size_t pfs_stats_format(struct pfs_stats *s, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "growths %llu\n"
			 "bytes_allocated %llu\n"
			 "refused_enospc %llu\n"
			 "refused_edquot %llu\n"
			 "refused_efbig %llu\n"
			 "refused_other %llu\n"
			 "fallback_zero %llu\n"
			 "holes_filled %llu\n"
			 "log_suppressed %llu\n",
			 atomic_load(&s->growths), atomic_load(&s->bytes),
			 atomic_load(&s->refused_enospc),
			 atomic_load(&s->refused_edquot),
			 atomic_load(&s->refused_efbig),
			 atomic_load(&s->refused_other),
			 atomic_load(&s->fallback_zero),
			 atomic_load(&s->holes_filled),
			 atomic_load(&s->log_suppressed));

	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

void pfs_ratelimit_init(struct pfs_ratelimit *rl, unsigned int burst,
			unsigned int interval)
{
	*rl = (struct pfs_ratelimit){ .burst = burst, .interval = interval };
	pthread_mutex_init(&rl->lock, NULL);
}

bool pfs_ratelimit_allow(struct pfs_ratelimit *rl, time_t now,
			 unsigned long long *missed)
{
	bool ok;

	pthread_mutex_lock(&rl->lock);
	if (now - rl->window_start >= (time_t)rl->interval ||
	    now < rl->window_start) {
		rl->window_start = now;
		rl->used = 0;
	}
	ok = rl->used < rl->burst;
	if (ok) {
		rl->used++;
		*missed = rl->missed;
		rl->missed = 0;
	} else {
		rl->missed++;
	}
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
