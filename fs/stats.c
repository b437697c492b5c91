// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Counters and the log rate limit (see pfs_stats.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

#define PFS_FIELD(member, key, text)                                        \
	{ .name = (key), .help = (text),                                    \
	  .offset = offsetof(struct pfs_stats, member) }

const struct pfs_stats_field pfs_stats_fields[] = {
	PFS_FIELD(growths, "growths", "Growths allocated (truncate, write or copy past end-of-file, fallocate)."),
	PFS_FIELD(bytes, "bytes_allocated", "Bytes allocated by those growths."),
	PFS_FIELD(refused_enospc, "refused_enospc", "Growths refused with ENOSPC (no space)."),
	PFS_FIELD(refused_edquot, "refused_edquot", "Growths refused with EDQUOT (quota)."),
	PFS_FIELD(refused_efbig, "refused_efbig", "Growths refused with EFBIG (past the largest file size)."),
	PFS_FIELD(refused_other, "refused_other", "Growths refused with any other error."),
	PFS_FIELD(fallback_zero, "fallback_zero", "Growths done by writing zeros (no fallocate on the backing filesystem)."),
	PFS_FIELD(holes_filled, "holes_filled", "Holes allocated when a file was opened for writing."),
	PFS_FIELD(log_suppressed, "log_suppressed", "Refusals not logged because of the log rate limit."),
};
const size_t pfs_stats_nfields =
	sizeof(pfs_stats_fields) / sizeof(pfs_stats_fields[0]);

unsigned long long pfs_stats_get(struct pfs_stats *s,
				 const struct pfs_stats_field *f)
{
	return atomic_load((atomic_ullong *)((char *)s + f->offset));
}

const struct pfs_stats_field *pfs_stats_field_find(const char *name,
						   size_t len)
{
	for (size_t i = 0; i < pfs_stats_nfields; i++)
		if (strlen(pfs_stats_fields[i].name) == len &&
		    !strncmp(pfs_stats_fields[i].name, name, len))
			return &pfs_stats_fields[i];
	return NULL;
}

size_t pfs_stats_format(struct pfs_stats *s, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < pfs_stats_nfields && used < len - 1; i++) {
		int n = snprintf(buf + used, len - used, "%s %llu\n",
				 pfs_stats_fields[i].name,
				 pfs_stats_get(s, &pfs_stats_fields[i]));

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return used < len ? used : len - 1;
}

size_t pfs_stats_summary(struct pfs_stats *s, char *buf, size_t len)
{
	unsigned long long enospc = atomic_load(&s->refused_enospc);
	unsigned long long edquot = atomic_load(&s->refused_edquot);
	unsigned long long efbig = atomic_load(&s->refused_efbig);
	unsigned long long other = atomic_load(&s->refused_other);
	int n;

	if (len == 0)
		return 0;
	n = snprintf(buf, len,
		     "%llu growths (%.1f MiB allocated), %llu refused "
		     "(ENOSPC %llu, EDQUOT %llu, EFBIG %llu, other %llu)",
		     atomic_load(&s->growths),
		     (double)atomic_load(&s->bytes) / (1024.0 * 1024.0),
		     enospc + edquot + efbig + other, enospc, edquot, efbig,
		     other);
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
