/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one place that picks the libfuse API version and bridges the two
 * libfuse versions we build against: >= 3.17 (the default: the system's or
 * the bundled static one) and 3.14 (Debian 12's, with -Dlibfuse=system).
 * The .c files use the pfs_conn_* helpers below and need no #if.
 */
#ifndef PFS_FUSE_H
#define PFS_FUSE_H

#include <stdbool.h>
#include <stdint.h>

/* libfuse >= 3.17 defines its version here; 3.14's libfuse_config.h not. */
#include <libfuse_config.h>
#if defined(FUSE_MINOR_VERSION) && FUSE_MAJOR_VERSION == 3 && \
	FUSE_MINOR_VERSION >= 17
#define FUSE_USE_VERSION 317
#else
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>

/*
 * Capability negotiation in init.  libfuse 3.17 keeps the 64-bit
 * capable_ext/want_ext and wants them changed only through
 * fuse_{set,unset}_feature_flag(): changing both want and want_ext by hand is
 * an error there.  3.14 has only the 32-bit capable/want.  Use these, never
 * the fields.
 */
#if FUSE_USE_VERSION >= 317
static inline bool pfs_conn_capable(const struct fuse_conn_info *conn,
				    uint64_t cap)
{
	return (conn->capable_ext & cap) == cap;
}

/* Ask for CAP if the kernel offers it; true if it is now wanted. */
static inline bool pfs_conn_want(struct fuse_conn_info *conn, uint64_t cap)
{
	return fuse_set_feature_flag(conn, cap);
}

static inline void pfs_conn_unwant(struct fuse_conn_info *conn, uint64_t cap)
{
	fuse_unset_feature_flag(conn, cap);
}

static inline uint64_t pfs_conn_wanted(const struct fuse_conn_info *conn)
{
	return conn->want_ext;
}
#else
static inline bool pfs_conn_capable(const struct fuse_conn_info *conn,
				    uint64_t cap)
{
	return cap <= UINT32_MAX && (conn->capable & cap) == cap;
}

static inline bool pfs_conn_want(struct fuse_conn_info *conn, uint64_t cap)
{
	if (!pfs_conn_capable(conn, cap))
		return false;
	conn->want |= (uint32_t)cap;
	return true;
}

static inline void pfs_conn_unwant(struct fuse_conn_info *conn, uint64_t cap)
{
	conn->want &= ~(uint32_t)cap;
}

static inline uint64_t pfs_conn_wanted(const struct fuse_conn_info *conn)
{
	return conn->want;
}
#endif

/*
 * Flags 3.14 does not know, with their 3.17 values: 3.14 never offers them,
 * so wanting one is a no-op there and unwanting one is harmless.
 */
#ifndef FUSE_CAP_HANDLE_KILLPRIV_V2
#define FUSE_CAP_HANDLE_KILLPRIV_V2 (1 << 21)
#endif

/*
 * FUSE passthrough (libfuse >= 3.17, kernel >= 6.9): an open file's reads,
 * writes and mmap go from the kernel straight to a backing file.  With
 * 3.14 it is simply unavailable: init never asks for it, so the rest of
 * these are never called there.
 */
#if FUSE_USE_VERSION >= 317 && defined(FUSE_CAP_PASSTHROUGH)
#define PFS_HAVE_PASSTHROUGH 1

static inline bool pfs_conn_want_passthrough(struct fuse_conn_info *conn)
{
	/*
	 * Stack depth 0: the backing files are on an ordinary filesystem
	 * (a backing file on overlayfs or FUSE fails to register, and that
	 * open falls back to the classic path).
	 */
	conn->max_backing_stack_depth = 0;
	return pfs_conn_want(conn, FUSE_CAP_PASSTHROUGH);
}

/* Register fd as a backing file: its id (> 0), or 0 (libfuse logs why). */
static inline int pfs_passthrough_open(fuse_req_t req, int fd)
{
	return fuse_passthrough_open(req, fd);
}

static inline void pfs_passthrough_close(fuse_req_t req, int backing_id)
{
	fuse_passthrough_close(req, backing_id);
}

static inline void pfs_fi_set_backing(struct fuse_file_info *fi, int id)
{
	fi->backing_id = id;
}
#else
#define PFS_HAVE_PASSTHROUGH 0

static inline bool pfs_conn_want_passthrough(struct fuse_conn_info *conn)
{
	(void)conn;
	return false;
}

static inline int pfs_passthrough_open(fuse_req_t req, int fd)
{
	(void)req;
	(void)fd;
	return 0;
}

static inline void pfs_passthrough_close(fuse_req_t req, int backing_id)
{
	(void)req;
	(void)backing_id;
}

static inline void pfs_fi_set_backing(struct fuse_file_info *fi, int id)
{
	(void)fi;
	(void)id;
}
#endif

#endif /* PFS_FUSE_H */
