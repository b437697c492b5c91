// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backing-store layer (see pfs_backing.h).  This is the only file that
 * calls fallocate() or ftruncate() on backing files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pfs_backing.h"
#include "pfs_compat.h"
#include "pfs_log.h"

/* Magic numbers not in every <linux/magic.h>. */
#define PFS_XFS_MAGIC 0x58465342
#define PFS_ZFS_MAGIC 0x2fc12fc1
#define PFS_BCACHEFS_MAGIC 0xca451a4e

static const struct {
	unsigned long magic;
	const char *name;
	bool cow;
} known_fs[] = {
	{ EXT4_SUPER_MAGIC, "ext2/ext3/ext4", false },
	{ PFS_XFS_MAGIC, "xfs", false },
	{ TMPFS_MAGIC, "tmpfs", false },
	{ BTRFS_SUPER_MAGIC, "btrfs", true },
	{ PFS_ZFS_MAGIC, "zfs", true },
	{ PFS_BCACHEFS_MAGIC, "bcachefs", true },
	{ F2FS_SUPER_MAGIC, "f2fs", false },
	{ NFS_SUPER_MAGIC, "nfs", false },
	{ FUSE_SUPER_MAGIC, "fuse", false },
	{ OVERLAYFS_SUPER_MAGIC, "overlayfs", false },
};

/*
 * ext4's reserved_clusters, from /sys/fs/ext4/<disk>/, for the device that
 * holds the backing root.  0 when anything is missing.
 */
static unsigned long long do_ext4_reserved(dev_t dev, unsigned long bsize)
{
	char link[PATH_MAX], path[PATH_MAX + 64];
	unsigned long long clusters = 0;
	const char *name;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	snprintf(path, sizeof(path), "/sys/fs/ext4/%s/reserved_clusters",
		 name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &clusters) != 1)
		clusters = 0;
	fclose(f);
	/* Without bigalloc a cluster is a block. */
	return clusters * bsize;
}

/*
 * The filesystem's largest file size (s_maxbytes), found on an empty file
 * open for writing.  vfs_fallocate() answers EFBIG when offset + len >
 * s_maxbytes before it asks the filesystem, so a binary search with a
 * one-byte PUNCH_HOLE|KEEP_SIZE finds the limit without changing anything
 * (punching an empty file is a no-op; a filesystem that cannot punch
 * answers EOPNOTSUPP below the limit, still not EFBIG).  About 63 calls,
 * once per device.  0 when there is no limit below the largest offset or
 * the answers make no sense.
 */
static off_t do_probe_max_bytes(int fd)
{
	const int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	off_t lo = 0, hi = INT64_MAX - 1;	/* lo: accepted; hi: EFBIG */

	if (fallocate(fd, mode, hi, 1) == 0 || errno != EFBIG)
		return 0;
	if (fallocate(fd, mode, lo, 1) == -1 && errno == EFBIG)
		return 0;
	while (hi - lo > 1) {
		off_t mid = lo + (hi - lo) / 2;

		if (fallocate(fd, mode, mid, 1) == -1 && errno == EFBIG)
			hi = mid;
		else
			lo = mid;
	}
	/* A byte at offset hi - 1 is allowed: the largest size is hi. */
	return hi;
}

int pfs_backing_probe(int dirfd, struct pfs_caps *caps)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	*caps = (struct pfs_caps){ .fs_name = "unknown" };
	/* The device first: it keys the caps even when the rest fails. */
	if (fstat(dirfd, &st) == -1)
		return pfs_neg_errno();
	caps->dev = st.st_dev;
	if (fstatfs(dirfd, &sfs) == -1)
		return pfs_neg_errno();
	caps->fs_type = (unsigned long)sfs.f_type;
	if (caps->fs_type == EXT4_SUPER_MAGIC)
		caps->reserved_bytes =
			do_ext4_reserved(st.st_dev, (unsigned long)sfs.f_bsize);
	for (size_t i = 0; i < PFS_ARRAY_SIZE(known_fs); i++) {
		if (known_fs[i].magic == caps->fs_type) {
			caps->fs_name = known_fs[i].name;
			caps->cow = known_fs[i].cow;
		}
	}
	/* xfs_falloc_zero_range(): free the range, then allocate it. */
	caps->zero_frees = caps->fs_type == PFS_XFS_MAGIC;
	/*
	 * Try fallocate on an unnamed temporary file: it leaves nothing
	 * behind whatever happens.  Where O_TMPFILE is not supported the
	 * answer stays unknown and every growth finds out for itself.
	 */
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1)
		return 0;
	/*
	 * Only "not supported" means no fallocate: a device that is full
	 * (ENOSPC) or over quota when it is probed still has it.
	 */
	caps->fallocate_known = true;
	caps->fallocate = fallocate(fd, 0, 0, 4096) == 0 ||
			  (errno != EOPNOTSUPP && errno != ENOSYS);
	if (ftruncate(fd, 0) == 0)
		caps->max_bytes = do_probe_max_bytes(fd);
	close(fd);
	return 0;
}

/* Free space the caller may use, in f_frsize blocks. */
static int do_free_blocks(int fd, const struct stat *st,
			  const struct pfs_grow_how *how, uint64_t *blocks,
			  uint64_t *block_size)
{
	struct statvfs sv;
	uint64_t reserved = 0;

	if (fstatvfs(fd, &sv) == -1)
		return pfs_neg_errno();
	*block_size = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	if (!how->privileged) {
		*blocks = sv.f_bavail;
		return 0;
	}
	/* Root may dip into the root reserve, not into ext4's own. */
	if (how->caps && how->caps->dev == st->st_dev)
		reserved = how->caps->reserved_bytes / *block_size;
	*blocks = sv.f_bfree > reserved ? sv.f_bfree - reserved : 0;
	return 0;
}

int pfs_backing_truncate(int fd, off_t size)
{
	if (ftruncate(fd, size) == -1)
		return pfs_neg_errno();
	return 0;
}

/*
 * Zeros, for writing over ranges where fallocate is missing.  Never
 * written, so it stays in .bss: reading it maps the shared zero page.
 */
static char zeros[1 << 20];

/*
 * The roll-back rule.  A growing request holds the inode's size_lock
 * exclusively, so nothing through the mount changed the size meanwhile;
 * but with in-place mounting other processes write the backing file
 * directly, and an append of theirs can land in the window between the
 * request's first fstat() and its roll-back.  Truncating back to a size
 * remembered before that window would cut their data.  So:
 *
 *  1. Look again (fstat): now.
 *  2. now > u->produced, the largest size this request alone can have
 *     given the file: someone else extended it past anything the request
 *     did.  Leave the size.  What the request allocated lies inside their
 *     file now (or past its end) and is not released: punching or
 *     truncating there could hit their data too.
 *  3. now < u->keep: someone else shrank the file: leave it.
 *  4. u->keep < now <= u->produced, and the request only allocated past
 *     keep (unwritten extents, which read as zeros and which SEEK_DATA
 *     skips): non-zero data found in [keep, now) is someone else's.  Leave
 *     the size.  Data that reads as zeros is not taken for theirs: ext4
 *     writes zeros itself where it cannot split an unwritten extent on a
 *     full disk (its zero-out fallback), and ZERO_RANGE zeroes the partial
 *     blocks at its edges; both made refused calls keep a moved size
 *     (t-model, seeds 351828 and 351191).
 *     Where the request wrote the bytes itself (zeros of the fallback),
 *     another writer's append pushes the size past produced (rule 2), and
 *     the zero-fill never writes over one (do_grow_zeros).
 *  5. Otherwise truncate to keep: the size as before, and (ext4, XFS) the
 *     blocks allocated past it freed.  With keep == now only when asked
 *     (u->release): a fallocate passed through may find blocks past the
 *     end that were there before it.
 *
 * What remains is the moment between the last check and the ftruncate():
 * there is no "truncate if the size is still N".  Filesystems whose
 * SEEK_DATA reports every byte as data (no SEEK_DATA support) keep the
 * larger size after a failed fallocate: the safe side.
 */
/*
 * Is there data in [from, end) that does not read as zeros?  Only the
 * ranges SEEK_DATA reports are read, 64 KiB at a time.  1 yes, 0 no, or
 * -errno.
 */
static int do_nonzero_data(int fd, off_t from, off_t end)
{
	static const size_t chunk = 64 << 10;
	char *buf = NULL;
	off_t pos = from;
	int ret = 0;

	while (pos < end && ret == 0) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data == -1) {
			ret = errno == ENXIO ? 0 : pfs_neg_errno();
			break;
		}
		if (data >= end)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole == -1 || hole > end)
			hole = end;
		if (!buf && !(buf = malloc(chunk))) {
			ret = 1;	/* cannot tell: the safe side */
			break;
		}
		for (pos = data; pos < hole && ret == 0;) {
			size_t n = hole - pos < (off_t)chunk ?
					   (size_t)(hole - pos) : chunk;
			ssize_t r = pread(fd, buf, n, pos);

			if (r <= 0) {
				ret = r < 0 ? pfs_neg_errno() : 0;
				pos = hole;
				break;
			}
			if (memcmp(buf, zeros, (size_t)r) != 0)
				ret = 1;
			pos += r;
		}
	}
	free(buf);
	return ret;
}

int pfs_backing_undo_growth(int fd, const struct pfs_undo *u)
{
	struct stat st;
	off_t from;
	long align;

	if (fstat(fd, &st) == -1)
		return pfs_neg_errno();
	if (st.st_size > u->produced || st.st_size < u->keep)
		return 1;
	/*
	 * The block and the page that hold byte keep are the file's own (its
	 * old tail): SEEK_DATA reports keep itself as data, and ext4 also
	 * the unwritten blocks that share a cached page with it (1 KiB
	 * blocks).  Look from the next page or block boundary on.
	 */
	align = sysconf(_SC_PAGESIZE);
	if (st.st_blksize > align)
		align = st.st_blksize;
	from = u->keep;
	if (align > 0 && from % align)
		from += align - from % align;
	if (u->unwritten && st.st_size > from) {
		int found = do_nonzero_data(fd, from, st.st_size);

		if (found != 0)
			return found;
	}
	if (st.st_size == u->keep && !u->release)
		return 0;
	return pfs_backing_truncate(fd, u->keep);
}


/*
 * Long work (fallocate of a large range, unsharing) runs in pieces this
 * large, asking between them whether to stop.
 */
#define PFS_CHUNK ((off_t)64 << 20)

/*
 * fallocate pieces are paced by time instead: a piece takes microseconds
 * per hundred MiB on ext4 or XFS (unwritten extents) but milliseconds on
 * tmpfs (it zeroes pages).  The first piece is PFS_PACE_FIRST; each next
 * one doubles while a piece took under PFS_PACE_FAST_NS and halves when it
 * took over PFS_PACE_SLOW_NS, between PFS_CHUNK / 4 and PFS_PACE_MAX.  So
 * a common growth is one fallocate(), and an interrupt still stops a huge
 * one within about PFS_PACE_SLOW_NS.
 */
#define PFS_PACE_FIRST ((off_t)256 << 20)
#define PFS_PACE_MAX ((off_t)4 << 30)
#define PFS_PACE_FAST_NS 20000000LL
#define PFS_PACE_SLOW_NS 100000000LL

struct do_pace {
	off_t piece;
	struct timespec t0;
};

/* Start pacing; the first piece's length. */
static void do_pace_start(struct do_pace *p)
{
	p->piece = PFS_PACE_FIRST;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

/* The next piece of [pos, end), no longer than the pace allows. */
static off_t do_pace_len(const struct do_pace *p, off_t pos, off_t end)
{
	return end - pos < p->piece ? end - pos : p->piece;
}

/* After a piece: adjust the pace to how long it took. */
static void do_pace_done(struct do_pace *p)
{
	struct timespec t1;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (t1.tv_sec - p->t0.tv_sec) * 1000000000LL +
	     (t1.tv_nsec - p->t0.tv_nsec);
	if (ns < PFS_PACE_FAST_NS && p->piece < PFS_PACE_MAX)
		p->piece *= 2;
	else if (ns > PFS_PACE_SLOW_NS && p->piece > PFS_CHUNK / 4)
		p->piece /= 2;
	p->t0 = t1;
}

/* Has the request been interrupted (pfs_grow_how.cancelled)? */
static bool do_cancelled(const struct pfs_grow_how *how)
{
	return how && how->cancelled && how->cancelled(how->cancel_arg);
}

/*
 * pwrite zeros over [off, off + len), in large chunks, asking how (may be
 * NULL) between them whether to stop.  0, -EINTR or -errno.
 */
static int do_write_zeros(int fd, off_t off, off_t len,
			  const struct pfs_grow_how *how)
{
	while (len > 0) {
		size_t n = len < (off_t)sizeof(zeros) ? (size_t)len :
							sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w < 0)
			return pfs_neg_errno();
		if (w == 0)
			return -EIO;
		off += w;
		len -= w;
		if (len > 0 && do_cancelled(how))
			return -EINTR;
	}
	return 0;
}

/*
 * Growth without fallocate: zeros appended up to end, in large chunks.
 * Appended with RWF_APPEND, so that they land at the real end-of-file
 * under the backing inode's lock: another process's append (in-place
 * mounting) made meanwhile is never written over, the zeros go on after
 * it.  Where each chunk landed is read back from the file offset (offset
 * -1 updates it), on a description of our own so that no other request
 * moves it.  Data found before a chunk, or past the last one, is another
 * process's: u->keep is raised past it, so that a roll-back never cuts it.
 * u->produced: the end of the zeros.  An append in the last chunk's window
 * leaves the file that append's length past end.  0 or -errno.
 */
static int do_grow_zeros(int fd, off_t end, const struct pfs_grow_how *how,
			 struct pfs_undo *u)
{
	char proc[32];
	struct iovec iov = { .iov_base = zeros };
	off_t size = u->keep;	/* the size as this request left it */
	struct stat st;
	int ret = 0, zfd;

	/* No description of our own (no right to reopen): share fd's. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	zfd = open(proc, O_WRONLY | O_CLOEXEC);
	if (zfd == -1)
		zfd = fd;
	for (;;) {
		ssize_t w;
		off_t at;

		if (fstat(zfd, &st) == -1) {
			ret = pfs_neg_errno();
			break;
		}
		if (st.st_size != size) {
			if (st.st_size > u->keep)
				u->keep = st.st_size;
			size = st.st_size;
		}
		if (size >= end)
			break;
		iov.iov_len = end - size < (off_t)sizeof(zeros) ?
				      (size_t)(end - size) : sizeof(zeros);
		w = pwritev2(zfd, &iov, 1, -1, RWF_APPEND);
		if (w <= 0) {
			ret = w < 0 ? pfs_neg_errno() : -EIO;
			break;
		}
		at = lseek(zfd, 0, SEEK_CUR);
		if (at == -1) {
			ret = pfs_neg_errno();
			break;
		}
		/* Landed later than expected: data before it is not ours. */
		if (at - w > u->keep && at - w != size)
			u->keep = at - w;
		size = at;
		if (size > u->produced)
			u->produced = size;
		if (size < end && do_cancelled(how)) {
			ret = -EINTR;
			break;
		}
	}
	if (zfd != fd)
		close(zfd);
	return ret;
}

/* Would an allocation of len bytes fit?  0, -ENOSPC or -errno. */
static int do_precheck(int fd, const struct stat *st, off_t size, off_t len,
		       uint64_t allocated, const struct pfs_grow_how *how)
{
	struct pfs_plan plan = {
		.kind = PFS_PLAN_GROW,
		.alloc_off = size,
		.alloc_len = len,
	};
	uint64_t free_blocks = 0, block_size = 0;
	int ret = do_free_blocks(fd, st, how, &free_blocks, &block_size);

	if (ret < 0)
		return ret;
	if (!pfs_policy_may_fit(&plan, size, allocated, free_blocks,
				block_size))
		return -ENOSPC;
	return 0;
}

int pfs_backing_grow(int fd, const struct pfs_plan *plan,
		     const struct stat *st, const struct pfs_grow_how *how,
		     bool *zeroed)
{
	int mode = plan->keep_size ? FALLOC_FL_KEEP_SIZE : 0;
	struct pfs_undo undo;
	struct do_pace pace;
	int ret, err;

	*zeroed = false;
	if (plan->kind != PFS_PLAN_GROW)
		return 0;

	/*
	 * Step 0: a size the filesystem cannot hold at all is EFBIG, as
	 * natively (truncate, a write past the limit), not ENOSPC: callers
	 * and test suites tell "too large" from "disk full" by it.
	 */
	if (how->caps && how->caps->dev == st->st_dev &&
	    how->caps->max_bytes > 0 &&
	    plan->alloc_len > how->caps->max_bytes - plan->alloc_off)
		return -EFBIG;

	/*
	 * Step 1: refuse what cannot be expected to fit before touching the
	 * file.  A failed fallocate can leave metadata behind (ext4 keeps an
	 * extent block it added), and fills the disk for everyone while it
	 * runs, so requests that would not fit must not reach it.
	 */
	ret = do_precheck(fd, st, st->st_size, plan->alloc_len,
			  (uint64_t)st->st_blocks * 512, how);
	if (ret < 0)
		return ret;

	/*
	 * Step 2: the real allocation, in pieces so that an interrupt stops
	 * it (tmpfs takes seconds for gigabytes).  Only a refusal of the
	 * first piece can mean "no fallocate here".
	 */
	do_pace_start(&pace);
	for (off_t pos = plan->alloc_off, end = pos + plan->alloc_len;;) {
		off_t n = do_pace_len(&pace, pos, end);

		if (do_cancelled(how)) {
			err = EINTR;
			break;
		}
		if (fallocate(fd, mode, pos, n) == -1) {
			err = errno;
			if (pos != plan->alloc_off && err == EOPNOTSUPP)
				err = EIO;
			break;
		}
		pos += n;
		if (pos == end)
			return 0;
		do_pace_done(&pace);
	}

	/*
	 * Step 3: no fallocate here (ext2, some network filesystems):
	 * writing zeros takes the space just as surely.  The range lies past
	 * end-of-file, so no data is overwritten.  EOPNOTSUPP is the only
	 * answer that means "not supported"; it is not remembered, because
	 * a backing tree can hold mounts of several kinds.
	 */
	if (err == EOPNOTSUPP && how->zero_fallback) {
		undo = (struct pfs_undo){
			.keep = st->st_size,
			.produced = st->st_size,
			.release = true,
		};
		ret = do_grow_zeros(fd, plan->alloc_off + plan->alloc_len, how,
				    &undo);
		if (ret == 0) {
			*zeroed = true;
			return 0;
		}
		err = -ret;
	} else {
		/*
		 * A failed fallocate: ext4 raises i_size as it allocates
		 * (mode 0), so the file may have grown up to the end of the
		 * range, with unwritten extents.
		 */
		undo = (struct pfs_undo){
			.keep = st->st_size,
			.produced = plan->keep_size ? st->st_size :
					plan->alloc_off + plan->alloc_len,
			.unwritten = true,
			.release = true,
		};
		if (undo.produced < undo.keep)
			undo.produced = undo.keep;
	}

	/*
	 * Step 4: undo partial work, under the roll-back rule (above
	 * pfs_backing_undo_growth): back to the old size, which also frees
	 * what was allocated past it, unless another process wrote there.
	 */
	ret = pfs_backing_undo_growth(fd, &undo);
	if (ret < 0)
		pfs_err("cannot restore size %lld after failed allocation: %s",
			(long long)undo.keep, strerror(-ret));
	/* ENOSYS would make the kernel give up fallocate for the mount. */
	if (err == ENOSYS)
		err = EOPNOTSUPP;
	return -err;
}

/* The largest piece pfs_backing_copy() moves per read/write pair. */
#define PFS_COPY_CHUNK (1 << 20)

ssize_t pfs_backing_copy(int fd_in, off_t off_in, int fd_out, off_t off_out,
			 size_t len)
{
	size_t chunk = len < PFS_COPY_CHUNK ? len : PFS_COPY_CHUNK;
	size_t done = 0;
	ssize_t ret = 0;
	char *buf;

	/*
	 * Never copy_file_range() or FICLONE here: XFS (reflink=1) and btrfs
	 * answer both by sharing the source's extents with the destination,
	 * so the next store into either file needs new space, and on a full
	 * disk a mapped store then has nowhere to land.  Reading and writing
	 * gives the destination blocks of its own; holes and unwritten
	 * extents of the source read as zeros and become written zeros.
	 */
	if (len == 0)
		return 0;
	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;
		ssize_t n = pread(fd_in, buf, want, off_in + (off_t)done);
		ssize_t w = 0;

		if (n < 0) {
			ret = pfs_neg_errno();
			break;
		}
		if (n == 0)
			break;	/* the source ended */
		while (w < n) {
			ssize_t r = pwrite(fd_out, buf + w, (size_t)(n - w),
					   off_out + (off_t)done + w);

			if (r <= 0) {
				ret = r < 0 ? pfs_neg_errno() : -EIO;
				break;
			}
			w += r;
		}
		done += (size_t)w;
		if (ret < 0)
			break;
	}
	free(buf);
	/* What was copied stands, as for a short write. */
	return done > 0 ? (ssize_t)done : ret;
}

/* A byte range. */
struct do_range {
	off_t off;
	off_t len;
};

/* A growable list of ranges. */
struct do_ranges {
	struct do_range *r;
	size_t n, cap;
	off_t bytes;		/* sum of the lengths */
};

static int do_ranges_add(struct do_ranges *l, off_t off, off_t len)
{
	if (len <= 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct do_range *r = realloc(l->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n++] = (struct do_range){ off, len };
	l->bytes += len;
	return 0;
}

/*
 * The holes inside [0, size) by FIEMAP, where unwritten (preallocated) and
 * delayed-allocation extents count as allocated -- unlike SEEK_HOLE, which
 * reports unwritten extents as holes on ext4, XFS and tmpfs.  *shared: the
 * bytes of extents shared with another file (reflinks), which need new
 * space to be unshared.  -EOPNOTSUPP when there is no FIEMAP.
 */
static int do_scan_fiemap(int fd, off_t size, struct do_ranges *holes,
			  off_t *shared)
{
	enum { N = 64 };
	union {
		struct fiemap fm;
		char buf[sizeof(struct fiemap) +
			 N * sizeof(struct fiemap_extent)];
	} u;
	off_t pos = 0;
	bool last = false;
	int ret;

	*shared = 0;
	while (pos < size && !last) {
		memset(&u.fm, 0, sizeof(u.fm));
		u.fm.fm_start = (uint64_t)pos;
		u.fm.fm_length = (uint64_t)(size - pos);
		u.fm.fm_extent_count = N;
		if (ioctl(fd, FS_IOC_FIEMAP, &u.fm) == -1) {
			ret = pfs_neg_errno();
			return ret == -ENOTTY ? -EOPNOTSUPP : ret;
		}
		if (u.fm.fm_mapped_extents == 0)
			break;
		for (unsigned int i = 0; i < u.fm.fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &u.fm.fm_extents[i];
			off_t start = (off_t)e->fe_logical;

			if (start > pos) {
				ret = do_ranges_add(holes, pos,
						    (start < size ? start :
								    size) - pos);
				if (ret < 0)
					return ret;
			}
			if (e->fe_flags & FIEMAP_EXTENT_SHARED)
				*shared += (off_t)e->fe_length;
			if (start + (off_t)e->fe_length > pos)
				pos = start + (off_t)e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
	}
	if (pos < size)
		return do_ranges_add(holes, pos, size - pos);
	return 0;
}

/*
 * The bytes of [0, size) a tmpfs file has no page for, by cachestat(): it
 * counts the pages present, written or only fallocated (nr_cache) or
 * swapped out (nr_evicted).  SEEK_HOLE cannot tell fallocated pages from
 * missing ones.  -ENOSYS before Linux 6.5, -EPERM without write access.
 */
static int do_shmem_missing(int fd, off_t size, off_t *missing)
{
	struct pfs_cachestat_range range = { .off = 0, .len = (__u64)size };
	struct pfs_cachestat cs = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pages = ((uint64_t)size + (uint64_t)page - 1) / (uint64_t)page;
	uint64_t present;

	if (syscall(__NR_cachestat, fd, &range, &cs, 0) == -1)
		return pfs_neg_errno();
	present = cs.nr_cache + cs.nr_evicted;
	*missing = present >= pages ? 0 : (off_t)((pages - present) *
						  (uint64_t)page);
	return 0;
}

/*
 * Without FIEMAP (tmpfs): SEEK_DATA/SEEK_HOLE.  They report fallocated
 * pages as holes too, so the holes found are only an upper bound of what is
 * missing: a file allocated past its end-of-file can have as many blocks as
 * its size and still holes, so st_blocks decides nothing.  On tmpfs,
 * cachestat() counts the missing pages exactly (*missing, the space filling
 * needs; no holes at all when it is 0); elsewhere, or where cachestat() is
 * missing, *missing is the upper bound, which may refuse a file that would
 * have fit, never accept one that does not.
 */
static int do_scan_seek(int fd, off_t size, struct do_ranges *holes,
			off_t *missing)
{
	struct statfs sfs;
	off_t pos = 0;
	int ret = 0;

	while (pos < size) {
		off_t data = lseek(fd, pos, SEEK_DATA);

		if (data == -1) {
			if (errno != ENXIO)
				return pfs_neg_errno();
			data = size;	/* no data after pos: a hole to the end */
		}
		ret = do_ranges_add(holes, pos, (data < size ? data : size) - pos);
		if (ret < 0 || data >= size)
			break;
		pos = lseek(fd, data, SEEK_HOLE);
		if (pos == -1)
			return pfs_neg_errno();
	}
	*missing = holes->bytes;
	if (ret < 0 || holes->n == 0)
		return ret;
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
	    do_shmem_missing(fd, size, missing) == 0 && *missing == 0) {
		holes->n = 0;
		holes->bytes = 0;
	}
	return 0;
}

/*
 * Allocate one hole inside the file: fallocate KEEP_SIZE in chunks (a hole
 * of a huge sparse file takes a while), or zeros where fallocate is
 * missing: inside the size a hole reads as zeros, so writing zeros there
 * changes no data.  0, -EINTR or -errno.
 */
static int do_fill_range(int fd, const struct do_range *h,
			 const struct pfs_grow_how *how)
{
	off_t pos = h->off, end = h->off + h->len;
	struct do_pace pace;
	int ret;

	do_pace_start(&pace);
	while (pos < end) {
		off_t n = do_pace_len(&pace, pos, end);

		if (do_cancelled(how))
			return -EINTR;
		if (fallocate(fd, FALLOC_FL_KEEP_SIZE, pos, n) == 0) {
			pos += n;
			do_pace_done(&pace);
			continue;
		}
		ret = pfs_neg_errno();
		if (ret == -EOPNOTSUPP && how->zero_fallback)
			return do_write_zeros(fd, pos, end - pos, how);
		return ret;
	}
	return 0;
}

/*
 * Punch a hole filled by this request back, unless data was written into it
 * meanwhile (by another process on the backing side): a filled hole holds
 * unwritten extents, which SEEK_DATA skips, so any data found there is not
 * this request's and must not be punched away.
 */
static void do_unfill(int fd, const struct do_range *h)
{
	off_t data = lseek(fd, h->off, SEEK_DATA);

	if (data == -1 && errno != ENXIO)
		return;
	if (data != -1 && data < h->off + h->len)
		return;
	fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, h->off,
		  h->len);
}

int pfs_backing_fill_holes(int fd, const struct stat *st,
			   const struct pfs_grow_how *how,
			   unsigned long long *filled)
{
	struct do_ranges holes = { 0 };
	off_t shared = 0, missing;
	size_t done = 0;
	int ret;

	*filled = 0;
	if (st->st_size == 0)
		return 0;
	ret = do_scan_fiemap(fd, st->st_size, &holes, &shared);
	missing = holes.bytes;
	if (ret == -EOPNOTSUPP) {
		holes.n = 0;
		holes.bytes = 0;
		ret = do_scan_seek(fd, st->st_size, &holes, &missing);
	}
	if (ret < 0 || (holes.n == 0 && shared == 0))
		goto out_free;

	/*
	 * The same pre-check as for growth, over what is missing and the
	 * shared extents together: refuse before touching anything, because
	 * an unshare that fails part-way cannot be shared back.
	 */
	ret = do_precheck(fd, st, 0, missing + shared, 0, how);
	if (ret < 0)
		goto out_free;
	for (done = 0; done < holes.n; done++) {
		ret = do_fill_range(fd, &holes.r[done], how);
		if (ret < 0)
			goto out_undo;
	}
	/*
	 * Shared extents (XFS reflink) need new space at the first
	 * overwrite: unshare them now, while an error can still be returned.
	 * Where unsharing is not supported (btrfs, mounted with allow_cow)
	 * the weaker copy-on-write guarantee is what was accepted.  In
	 * chunks, so that an interrupt stops it; what was unshared stays
	 * unshared (same data, only the allocation differs).
	 */
	for (off_t pos = 0; shared && pos < st->st_size; pos += PFS_CHUNK) {
		off_t n = st->st_size - pos < PFS_CHUNK ? st->st_size - pos :
							   PFS_CHUNK;

		if (do_cancelled(how)) {
			ret = -EINTR;
			goto out_undo;
		}
		if (fallocate(fd, FALLOC_FL_UNSHARE_RANGE, pos, n) == 0)
			continue;
		if (errno == EOPNOTSUPP)
			break;
		ret = pfs_neg_errno();
		goto out_undo;
	}
	*filled = holes.n;
	ret = 0;
	goto out_free;

out_undo:
	/*
	 * Put the holes back, the one that failed part-way included.  Where
	 * the backing store cannot punch (ext2), the zeros stay: the data
	 * is the same, only the allocation differs.
	 */
	for (size_t i = 0; i <= done && i < holes.n; i++)
		do_unfill(fd, &holes.r[i]);
	if (ret == -ENOSYS)
		ret = -EOPNOTSUPP;
out_free:
	free(holes.r);
	return ret;
}

int pfs_backing_zero_range(int fd, off_t off, off_t len, off_t size,
			   const struct pfs_grow_how *how)
{
	/*
	 * A punch never changes the size, and past end-of-file there is
	 * nothing to zero: ZERO_RANGE|KEEP_SIZE there would allocate blocks
	 * beyond EOF instead.
	 */
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	/*
	 * XFS frees the range and allocates it anew: on a full disk that
	 * can fail and leave a hole.  Writing zeros over blocks the file
	 * already has needs no new space (not interruptible: a zeroing half
	 * done is worse than a slow one).
	 */
	if (how && how->caps && how->caps->zero_frees)
		return do_write_zeros(fd, off, len, NULL);
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off,
		      len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return pfs_neg_errno();
	/* tmpfs has no ZERO_RANGE: write the zeros. */
	return do_write_zeros(fd, off, len, NULL);
}

int pfs_backing_insert_range(int fd, off_t off, off_t len,
			     const struct stat *st,
			     const struct pfs_grow_how *how)
{
	int ret;

	/* The file grows by len: the same pre-check as any growth. */
	ret = do_precheck(fd, st, st->st_size, len,
			  (uint64_t)st->st_blocks * 512, how);
	if (ret < 0)
		return ret;
	if (fallocate(fd, FALLOC_FL_INSERT_RANGE, off, len) == -1)
		return pfs_neg_errno();
	if (fallocate(fd, 0, off, len) == 0)
		return 0;
	ret = pfs_neg_errno();
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, off, len) == -1)
		pfs_err("cannot collapse an inserted range again: %m");
	return ret == -ENOSYS ? -EOPNOTSUPP : ret;
}

int pfs_backing_fallocate(int fd, int mode, off_t off, off_t len,
			  off_t old_size)
{
	struct pfs_undo undo = {
		.keep = old_size,
		.produced = old_size,
		.unwritten = true,
	};
	int err, ret;

	if (fallocate(fd, mode, off, len) == 0)
		return 0;
	err = errno;
	/* Only a mode without KEEP_SIZE moves the size, to off + len at most. */
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > old_size)
		undo.produced = off + len;
	ret = pfs_backing_undo_growth(fd, &undo);
	if (ret < 0)
		pfs_err("cannot restore size %lld after failed fallocate: %s",
			(long long)old_size, strerror(-ret));
	if (err == ENOSYS)
		err = EOPNOTSUPP;
	return -err;
}
