/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live counters of the allocation engine, and the rate limit of its log
 * lines.  Counters are lock-free atomics, bumped on the request path and
 * read at any time (the "user.preallocfs.stats" attribute of the mount
 * root, `preallocfs --stats MOUNTPOINT`).
 */
#ifndef PFS_STATS_H
#define PFS_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The name of the read-only attribute that carries the counters. */
#define PFS_STATS_XATTR "user.preallocfs.stats"

struct pfs_stats {
	atomic_ullong growths;		/* growths allocated */
	atomic_ullong bytes;		/* bytes those growths allocated */
	atomic_ullong refused_enospc;	/* growths refused with ENOSPC */
	atomic_ullong refused_edquot;	/* ... with EDQUOT */
	atomic_ullong refused_efbig;	/* ... with EFBIG */
	atomic_ullong refused_other;	/* ... with any other errno */
	atomic_ullong fallback_zero;	/* growths done by writing zeros */
	atomic_ullong holes_filled;	/* holes allocated at open */
	atomic_ullong log_suppressed;	/* refusals not logged (rate limit) */
};

/*
 * The counters' stable names, in output order, with the help line of each
 * (the text, JSON and Prometheus outputs all come from this one table; see
 * preallocfs(8)).  All are counters: they only go up while a mount lives.
 */
struct pfs_stats_field {
	const char *name;
	const char *help;
	size_t offset;		/* of its atomic_ullong in struct pfs_stats */
};
extern const struct pfs_stats_field pfs_stats_fields[];
extern const size_t pfs_stats_nfields;

/* The value of field f in s. */
unsigned long long pfs_stats_get(struct pfs_stats *s,
				 const struct pfs_stats_field *f);

/* The field named name (a prefix of len bytes), or NULL. */
const struct pfs_stats_field *pfs_stats_field_find(const char *name,
						   size_t len);

/*
 * One line for people and systemd's STATUS=: growths, bytes, refusals.
 * Returns the length (truncated to len).
 */
size_t pfs_stats_summary(struct pfs_stats *s, char *buf, size_t len);

/* Count one refused growth under its errno (positive). */
void pfs_stats_refused(struct pfs_stats *s, int err);

/* "name value\n" lines into buf; returns the length (truncated to len). */
size_t pfs_stats_format(struct pfs_stats *s, char *buf, size_t len);

/*
 * At most `burst` log lines per `interval` seconds; the rest are counted.
 * Refusals are rare, so one mutex is enough.
 */
struct pfs_ratelimit {
	pthread_mutex_t lock;
	time_t window_start;	/* lock */
	unsigned int used;	/* lines logged in this window; lock */
	unsigned int burst;	/* immutable */
	unsigned int interval;	/* seconds; immutable */
	unsigned long long missed;	/* suppressed since the last line; lock */
};

void pfs_ratelimit_init(struct pfs_ratelimit *rl, unsigned int burst,
			unsigned int interval);

/*
 * May a line be logged now?  *missed gets how many were suppressed since
 * the last allowed line (to report them with it).
 */
bool pfs_ratelimit_allow(struct pfs_ratelimit *rl, time_t now,
			 unsigned long long *missed);

#endif /* PFS_STATS_H */
