// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * posix_smoke - run a fixed sequence of POSIX operations in a directory and
 * print a normalized transcript.
 *
 * Usage: posix_smoke DIR
 *
 * DIR must exist and should be empty.  Every step prints exactly one line,
 *
 *	section.step ARGS: RESULT
 *
 * where RESULT is "ok", "= N" (a count or an offset), "ERR ENAME" (the errno
 * name), or the stable parts of a stat: type, permission bits, link count,
 * size, owner and group (never inode numbers, st_dev or wall-clock times;
 * timestamps are only compared with what the steps set, or called
 * "now-ish").
 * Run in a plain directory and in a directory seen through preallocfs on the
 * same filesystem, the two transcripts must be identical.
 *
 * Lines that start with "~ " are informational and expected to differ through
 * preallocfs (it fills the gap left by a write past EOF, so a sparse write
 * leaves no hole) or depend on optional FUSE features; callers leave them out
 * of the comparison.
 *
 * Run as root: the "us." section forks a child that drops to uid/gid 1234
 * and checks permission errors and the owner of the files it creates (through
 * preallocfs that needs the mount option allow_other).  Everything is done
 * relative to a descriptor of DIR, so the path above DIR need not be
 * searchable by that user.
 *
 * Exit status: 0 when the sequence ran (failing steps are part of the
 * transcript), 2 on usage or setup errors.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#include <linux/falloc.h>
#endif

#define TEST_UID	1234
#define TEST_GID	1234
#define OTHER_GID	5678
#define BIG_ENTRIES	10000
#define FNV_INIT	0xcbf29ce484222325ULL

static int dfd = -1;		/* the directory under test */

/* ---- output helpers ---------------------------------------------------- */

static const char *errname(int e)
{
	static char buf[24];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

static void out(const char *step, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out(const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ok(): a call that returns 0 or a descriptor, or -1 with errno set. */
static long ok(const char *step, long r)
{
	int e = errno;

	if (r < 0)
		out(step, "ERR %s", errname(e));
	else
		out(step, "ok");
	errno = e;
	return r;
}

/* num(): a call that returns a count or an offset, or -1 with errno set. */
static long num(const char *step, long r)
{
	int e = errno;

	if (r < 0)
		out(step, "ERR %s", errname(e));
	else
		out(step, "= %ld", r);
	errno = e;
	return r;
}

static void closeif(long fd)
{
	if (fd >= 0)
		close((int)fd);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)((i * 7 + seed * 31 + (i >> 9)) | 1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "posix_smoke: out of memory\n");
		exit(2);
	}
	return p;
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "reg";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "lnk";
	case S_IFIFO:
		return "fifo";
	case S_IFCHR:
		return "chr";
	case S_IFBLK:
		return "blk";
	case S_IFSOCK:
		return "sock";
	}
	return "unknown";
}

/* leave out st_size (huge directories); not an AT_* flag */
#define ST_NOSIZE	0x40000000

static void put_stat(const char *step, int r, int e, const struct stat *sb,
		     unsigned int flags)
{
	char size[32] = "", rdev[32] = "";

	if (r < 0) {
		out(step, "ERR %s", errname(e));
		return;
	}
	if (!(flags & ST_NOSIZE))
		snprintf(size, sizeof(size), " size=%lld",
			 (long long)sb->st_size);
	/* The numbers of device nodes we made ourselves are stable. */
	if (S_ISCHR(sb->st_mode) || S_ISBLK(sb->st_mode))
		snprintf(rdev, sizeof(rdev), " rdev=%u:%u",
			 major(sb->st_rdev), minor(sb->st_rdev));
	out(step, "type=%s mode=%04o nlink=%lu%s uid=%u gid=%u%s",
	    ftype(sb->st_mode), (unsigned int)(sb->st_mode & 07777),
	    (unsigned long)sb->st_nlink, size, (unsigned int)sb->st_uid,
	    (unsigned int)sb->st_gid, rdev);
}

/* flags: fstatat() flags, plus ST_NOSIZE */
static void st_at(const char *step, const char *path, int flags)
{
	struct stat sb;
	int r = fstatat(dfd, path, &sb, flags & ~ST_NOSIZE);

	put_stat(step, r, errno, &sb, flags & ST_NOSIZE);
}

static void lst(const char *step, const char *path)
{
	st_at(step, path, AT_SYMLINK_NOFOLLOW);
}

static void st(const char *step, const char *path)
{
	st_at(step, path, 0);
}

static void st_fd(const char *step, int fd)
{
	struct stat s;
	int r = fstat(fd, &s);

	put_stat(step, r, errno, &s, 0);
}

/* read_sum(): read up to len bytes at off, print the count and a checksum. */
static void read_sum(const char *step, int fd, off_t off, size_t len)
{
	char *buf = xmalloc(len);
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n < 0) {
			out(step, "ERR %s", errname(errno));
			free(buf);
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	out(step, "= %zu sum=%016llx", got,
	    (unsigned long long)fnv(FNV_INIT, buf, got));
	free(buf);
}

static void sum_file(const char *step, const char *path)
{
	int fd = openat(dfd, path, O_RDONLY);

	if (fd < 0) {
		out(step, "ERR %s", errname(errno));
		return;
	}
	read_sum(step, fd, 0, 4 << 20);
	close(fd);
}

/*
 * wf(): create path (O_EXCL), write len bytes of pattern seed, set the exact
 * mode (independent of the umask) and close.  One line for the whole step.
 */
static void wf(const char *step, const char *path, mode_t mode, size_t len,
	       unsigned int seed)
{
	char *buf = xmalloc(len);
	const char *what = "open";
	int fd;

	fill(buf, len, seed);
	fd = openat(dfd, path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		goto err;
	what = "write";
	if (write(fd, buf, len) != (ssize_t)len)
		goto err_close;
	what = "fchmod";
	if (fchmod(fd, mode) < 0)
		goto err_close;
	what = "close";
	if (close(fd) < 0)
		goto err;
	out(step, "ok");
	free(buf);
	return;
err_close:
	if (errno == 0)
		errno = EIO;
	{
		int e = errno;

		close(fd);
		errno = e;
	}
err:
	out(step, "ERR %s in %s", errname(errno), what);
	free(buf);
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static const char *tclass(const struct timespec *got,
			  const struct timespec *want)
{
	long long d;

	if (want && ts_eq(got, want))
		return "expected";
	d = (long long)got->tv_sec - (long long)time(NULL);
	if (d >= -120 && d <= 120)
		return "now-ish";
	return "other";
}

/*
 * show_times(): atime and mtime, each "expected" (equal to what the steps
 * set, wa/wm), "now-ish" (within two minutes of now) or "other".
 */
static void show_times(const char *step, const char *path, int flags,
		       const struct timespec *wa, const struct timespec *wm)
{
	struct stat s;

	if (fstatat(dfd, path, &s, flags) < 0) {
		out(step, "ERR %s", errname(errno));
		return;
	}
	out(step, "atime=%s mtime=%s", tclass(&s.st_atim, wa),
	    tclass(&s.st_mtim, wm));
}

static void xget(const char *step, const char *path, const char *name,
		 bool nofollow)
{
	char buf[4096];
	ssize_t n;

	if (nofollow)
		n = lgetxattr(path, name, buf, sizeof(buf));
	else
		n = getxattr(path, name, buf, sizeof(buf));
	if (n < 0) {
		out(step, "ERR %s", errname(errno));
		return;
	}
	if (n <= 64 && memchr(buf, 0, (size_t)n) == NULL) {
		out(step, "= %zd \"%.*s\"", n, (int)n, buf);
		return;
	}
	out(step, "= %zd sum=%016llx", n,
	    (unsigned long long)fnv(FNV_INIT, buf, (size_t)n));
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void xlist(const char *step, const char *path)
{
	char buf[8192], line[1024] = "";
	char *names[64];
	ssize_t n, i;
	size_t k = 0, j;

	n = listxattr(path, buf, sizeof(buf));
	if (n < 0) {
		out(step, "ERR %s", errname(errno));
		return;
	}
	for (i = 0; i < n && k < 64; i += (ssize_t)strlen(buf + i) + 1)
		names[k++] = buf + i;
	qsort(names, k, sizeof(names[0]), cmpstr);
	for (j = 0; j < k; j++) {
		if (j)
			strncat(line, ",", sizeof(line) - strlen(line) - 1);
		strncat(line, names[j], sizeof(line) - strlen(line) - 1);
	}
	out(step, "= %zd [%s]", n, line);
}

/*
 * The xattr calls take paths; run them relative to DIR via /proc/self/fd so
 * that nothing depends on where DIR is.
 */
static const char *P(const char *rel)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ & 3];

	snprintf(b, sizeof(bufs[0]), "/proc/self/fd/%d/%s", dfd, rel);
	return b;
}

/* ---- sections ---------------------------------------------------------- */

static void sec_file(void)
{
	char *buf = xmalloc(10000), small[64], name[300];
	int fd;

	st(".stat", ".");
	fill(buf, 10000, 1);
	fd = (int)ok("file.create a", openat(dfd, "a",
			O_CREAT | O_EXCL | O_RDWR, 0644));
	st_fd("file.fstat-new a", fd);
	closeif(ok("file.create-excl a", openat(dfd, "a",
			O_CREAT | O_EXCL | O_RDWR, 0644)));
	num("file.write a", write(fd, buf, 10000));
	num("file.lseek-cur a", lseek(fd, 0, SEEK_CUR));
	st_fd("file.fstat-written a", fd);
	read_sum("file.pread a", fd, 0, 20000);
	num("file.pwrite-middle a", pwrite(fd, "MIDDLE", 6, 5000));
	read_sum("file.pread-after-pwrite a", fd, 0, 20000);
	num("file.pwrite-past-eof a", pwrite(fd, "END", 3, 12000));
	st_fd("file.fstat-past-eof a", fd);
	read_sum("file.pread-past-eof a", fd, 0, 20000);
	num("file.lseek-end a", lseek(fd, 0, SEEK_END));
	num("file.read-at-eof a", read(fd, small, sizeof(small)));
	num("file.lseek-negative a", lseek(fd, -1, SEEK_SET));
	ok("file.fsync a", fsync(fd));
	ok("file.fdatasync a", fdatasync(fd));
	ok("file.close a", close(fd));

	fd = (int)ok("file.open-rdonly a", openat(dfd, "a", O_RDONLY));
	num("file.write-rdonly a", write(fd, "x", 1));
	num("file.read-rdonly a", read(fd, small, 10));
	closeif(fd);
	fd = (int)ok("file.open-wronly a", openat(dfd, "a", O_WRONLY));
	num("file.read-wronly a", read(fd, small, 10));
	closeif(fd);
	fd = (int)ok("file.open-append a", openat(dfd, "a",
			O_WRONLY | O_APPEND));
	num("file.lseek-set a", lseek(fd, 0, SEEK_SET));
	num("file.write-append a", write(fd, "tail", 4));
	num("file.lseek-after-append a", lseek(fd, 0, SEEK_CUR));
	closeif(fd);
	st("file.stat a", "a");
	sum_file("file.content a", "a");

	closeif(ok("file.open missing", openat(dfd, "missing", O_RDONLY)));
	closeif(ok("file.open a/x", openat(dfd, "a/x", O_RDONLY)));
	closeif(ok("file.open-directory a", openat(dfd, "a",
			O_RDONLY | O_DIRECTORY)));
	closeif(ok("file.create nodir/x", openat(dfd, "nodir/x",
			O_CREAT | O_WRONLY, 0644)));
	closeif(ok("file.open-wronly .", openat(dfd, ".", O_WRONLY)));
	memset(name, 'n', 256);
	name[256] = 0;
	closeif(ok("file.create name256", openat(dfd, name,
			O_CREAT | O_WRONLY, 0644)));
	name[255] = 0;
	closeif(ok("file.create name255", openat(dfd, name,
			O_CREAT | O_WRONLY, 0644)));
	st("file.stat name255", name);
	ok("file.unlink name255", unlinkat(dfd, name, 0));
	ok("file.unlink missing", unlinkat(dfd, "missing", 0));

	ok("file.access-r a", faccessat(dfd, "a", R_OK | W_OK, 0));
	ok("file.access-x a", faccessat(dfd, "a", X_OK, 0));
	ok("file.access-f missing", faccessat(dfd, "missing", F_OK, 0));

	wf("file.wf t", "t", 0644, 5000, 2);
	closeif(ok("file.create-existing t", openat(dfd, "t",
			O_CREAT | O_WRONLY, 0600)));
	st("file.stat-after-create-existing t", "t");
	fd = (int)ok("file.open-trunc t", openat(dfd, "t",
			O_WRONLY | O_TRUNC));
	st_fd("file.fstat-trunc t", fd);
	closeif(fd);
	free(buf);
}

static void sec_rename(void)
{
	ok("rn.mkdir", mkdirat(dfd, "rn", 0755));
	wf("rn.wf a", "rn/a", 0644, 100, 3);
	ok("rn.rename a b", renameat(dfd, "rn/a", dfd, "rn/b"));
	st("rn.stat a", "rn/a");
	st("rn.stat b", "rn/b");
	wf("rn.wf c", "rn/c", 0600, 200, 4);
	ok("rn.noreplace b c", renameat2(dfd, "rn/b", dfd, "rn/c",
					 RENAME_NOREPLACE));
	st("rn.stat-after-noreplace b", "rn/b");
	st("rn.stat-after-noreplace c", "rn/c");
	ok("rn.noreplace b d", renameat2(dfd, "rn/b", dfd, "rn/d",
					 RENAME_NOREPLACE));
	st("rn.stat b", "rn/b");
	st("rn.stat d", "rn/d");
	ok("rn.mkdir e", mkdirat(dfd, "rn/e", 0755));
	ok("rn.mkdir e/inner", mkdirat(dfd, "rn/e/inner", 0700));
	ok("rn.exchange d e", renameat2(dfd, "rn/d", dfd, "rn/e",
					RENAME_EXCHANGE));
	st("rn.stat-exchanged d", "rn/d");
	st("rn.stat-exchanged e", "rn/e");
	st("rn.stat-exchanged d/inner", "rn/d/inner");
	sum_file("rn.content-exchanged e", "rn/e");
	ok("rn.exchange e missing", renameat2(dfd, "rn/e", dfd, "rn/missing",
					      RENAME_EXCHANGE));
	ok("rn.exchange-noreplace e c", renameat2(dfd, "rn/e", dfd, "rn/c",
				RENAME_EXCHANGE | RENAME_NOREPLACE));
	ok("rn.rename file-onto-dir c d", renameat(dfd, "rn/c", dfd, "rn/d"));
	ok("rn.rename dir-onto-file d c", renameat(dfd, "rn/d", dfd, "rn/c"));
	ok("rn.rename into-itself d", renameat(dfd, "rn/d", dfd,
					       "rn/d/inner/x"));
	ok("rn.rename c c", renameat(dfd, "rn/c", dfd, "rn/c"));
	ok("rn.rename file-over-file c e", renameat(dfd, "rn/c", dfd, "rn/e"));
	st("rn.stat-replaced e", "rn/e");
	st("rn.stat-replaced c", "rn/c");
	sum_file("rn.content-replaced e", "rn/e");
	ok("rn.mkdir f", mkdirat(dfd, "rn/f", 0755));
	ok("rn.rename empty-over-nonempty f d", renameat(dfd, "rn/f", dfd,
							 "rn/d"));
	ok("rn.mkdir g", mkdirat(dfd, "rn/g", 0755));
	ok("rn.rename dir-over-empty d g", renameat(dfd, "rn/d", dfd, "rn/g"));
	st("rn.stat g", "rn/g");
	st("rn.stat g/inner", "rn/g/inner");
	st("rn.stat d", "rn/d");
	ok("rn.rename missing", renameat(dfd, "rn/missing", dfd, "rn/x"));
	ok("rn.rename to-nodir", renameat(dfd, "rn/e", dfd, "rn/nodir/x"));
	ok("rn.rename cross-dir e", renameat(dfd, "rn/e", dfd,
					     "rn/g/inner/moved"));
	st("rn.stat moved", "rn/g/inner/moved");
	st("rn.stat e", "rn/e");
	ok("rn.rename cross-dir back", renameat(dfd, "rn/g/inner/moved", dfd,
						"rn/e"));
	ok("rn.rename dir cross-dir", renameat(dfd, "rn/f", dfd,
					       "rn/g/inner/f"));
	st("rn.stat g/inner", "rn/g/inner");
	st("rn.stat", "rn");
}

static void sec_link(void)
{
	int fd;

	ok("ln.mkdir", mkdirat(dfd, "ln", 0755));
	ok("ln.mkdir sub", mkdirat(dfd, "ln/sub", 0755));
	wf("ln.wf h1", "ln/h1", 0644, 3000, 5);
	ok("ln.link h1 h2", linkat(dfd, "ln/h1", dfd, "ln/h2", 0));
	st("ln.stat h1", "ln/h1");
	st("ln.stat h2", "ln/h2");
	ok("ln.link h1 h3", linkat(dfd, "ln/h1", dfd, "ln/h3", 0));
	st("ln.stat h1", "ln/h1");
	ok("ln.link h1 sub/h4", linkat(dfd, "ln/h1", dfd, "ln/sub/h4", 0));
	st("ln.stat sub/h4", "ln/sub/h4");
	ok("ln.link h1 h2 existing", linkat(dfd, "ln/h1", dfd, "ln/h2", 0));
	ok("ln.link dir", linkat(dfd, "ln/sub", dfd, "ln/dirlink", 0));
	ok("ln.link missing", linkat(dfd, "ln/missing", dfd, "ln/x", 0));
	ok("ln.unlink sub/h4", unlinkat(dfd, "ln/sub/h4", 0));
	ok("ln.unlink h2", unlinkat(dfd, "ln/h2", 0));
	st("ln.stat h1", "ln/h1");
	st("ln.stat h2", "ln/h2");
	st("ln.stat h3", "ln/h3");
	sum_file("ln.content h3", "ln/h3");

	fd = (int)ok("ln.open h1", openat(dfd, "ln/h1", O_RDWR));
	ok("ln.unlink-open h1", unlinkat(dfd, "ln/h1", 0));
	st("ln.stat-unlinked h3", "ln/h3");
	ok("ln.unlink-open h3", unlinkat(dfd, "ln/h3", 0));
	st("ln.stat-unlinked h1", "ln/h1");
	st_fd("ln.fstat-unlinked", fd);
	read_sum("ln.read-unlinked", fd, 0, 10000);
	num("ln.pwrite-unlinked", pwrite(fd, "0123456789", 10, 3000));
	st_fd("ln.fstat-unlinked-written", fd);
	read_sum("ln.read-unlinked-written", fd, 0, 10000);
	ok("ln.ftruncate-unlinked", ftruncate(fd, 100));
	ok("ln.fchmod-unlinked", fchmod(fd, 0600));
	ok("ln.fsetxattr-unlinked", fsetxattr(fd, "user.u", "uv", 2, 0));
	num("ln.fgetxattr-unlinked", fgetxattr(fd, "user.u", NULL, 0));
	st_fd("ln.fstat-unlinked-changed", fd);
	ok("ln.fsync-unlinked", fsync(fd));
	closeif(fd);
	ok("ln.unlink h1 again", unlinkat(dfd, "ln/h1", 0));
	st("ln.stat", "ln");
}

static void readlink_show(const char *step, const char *path)
{
	char buf[4200];
	ssize_t n = readlinkat(dfd, path, buf, sizeof(buf));

	if (n < 0) {
		out(step, "ERR %s", errname(errno));
		return;
	}
	if (n <= 64)
		out(step, "= %zd \"%.*s\"", n, (int)n, buf);
	else
		out(step, "= %zd sum=%016llx", n,
		    (unsigned long long)fnv(FNV_INIT, buf, (size_t)n));
}

static void sec_symlink(void)
{
	static const struct timespec lt[2] = {
		{ 1010101010, 101010101 }, { 1020202020, 202020202 } };
	char longt[1001];
	int i;

	ok("sl.mkdir", mkdirat(dfd, "sl", 0755));
	ok("sl.symlink s1", symlinkat("target-x", dfd, "sl/s1"));
	readlink_show("sl.readlink s1", "sl/s1");
	lst("sl.lstat s1", "sl/s1");
	st("sl.stat-dangling s1", "sl/s1");
	closeif(ok("sl.open-dangling s1", openat(dfd, "sl/s1", O_RDONLY)));
	closeif(ok("sl.create-through s1", openat(dfd, "sl/s1",
			O_CREAT | O_WRONLY, 0640)));
	st("sl.stat s1", "sl/s1");
	lst("sl.lstat target-x", "sl/target-x");
	ok("sl.symlink existing", symlinkat("x", dfd, "sl/s1"));
	readlink_show("sl.readlink regular", "sl/target-x");
	readlink_show("sl.readlink missing", "sl/missing");
	closeif(ok("sl.open-nofollow s1", openat(dfd, "sl/s1",
			O_RDONLY | O_NOFOLLOW)));
	for (i = 0; i < 1000; i++)
		longt[i] = (i % 2) ? '/' : 'd';
	longt[1000] = 0;
	ok("sl.symlink long", symlinkat(longt, dfd, "sl/long"));
	readlink_show("sl.readlink long", "sl/long");
	lst("sl.lstat long", "sl/long");
	ok("sl.symlink empty", symlinkat("", dfd, "sl/empty"));
	ok("sl.symlink dir", symlinkat(".", dfd, "sl/sd"));
	st("sl.stat dir-link", "sl/sd");
	st("sl.stat through-dir-link", "sl/sd/sd/target-x");
	ok("sl.symlink loop1", symlinkat("loop2", dfd, "sl/loop1"));
	ok("sl.symlink loop2", symlinkat("loop1", dfd, "sl/loop2"));
	st("sl.stat loop", "sl/loop1");
	ok("sl.lchown s1", fchownat(dfd, "sl/s1", TEST_UID, TEST_GID,
				    AT_SYMLINK_NOFOLLOW));
	lst("sl.lstat-lchowned s1", "sl/s1");
	st("sl.stat-lchowned s1", "sl/s1");
	ok("sl.lutimes s1", utimensat(dfd, "sl/s1", lt, AT_SYMLINK_NOFOLLOW));
	show_times("sl.ltimes s1", "sl/s1", AT_SYMLINK_NOFOLLOW, &lt[0],
		   &lt[1]);
	show_times("sl.times target-x", "sl/target-x", 0, NULL, NULL);
	ok("sl.lsetxattr s1", lsetxattr(P("sl/s1"), "user.x", "v", 1, 0));
	xget("sl.lgetxattr s1", P("sl/s1"), "user.x", true);
	ok("sl.unlink s1", unlinkat(dfd, "sl/s1", 0));
	lst("sl.lstat-unlinked s1", "sl/s1");
	st("sl.stat target-x", "sl/target-x");
}

static void sec_dir(void)
{
	mode_t old;

	ok("dr.mkdir", mkdirat(dfd, "dr", 0755));
	ok("dr.mkdir d1", mkdirat(dfd, "dr/d1", 0755));
	st("dr.stat d1", "dr/d1");
	ok("dr.mkdir d1 again", mkdirat(dfd, "dr/d1", 0755));
	ok("dr.mkdir d1/sub", mkdirat(dfd, "dr/d1/sub", 0700));
	st("dr.stat d1", "dr/d1");
	st("dr.stat d1/sub", "dr/d1/sub");
	ok("dr.rmdir nonempty", unlinkat(dfd, "dr/d1", AT_REMOVEDIR));
	ok("dr.rmdir d1/sub", unlinkat(dfd, "dr/d1/sub", AT_REMOVEDIR));
	st("dr.stat d1", "dr/d1");
	ok("dr.rmdir d1", unlinkat(dfd, "dr/d1", AT_REMOVEDIR));
	ok("dr.rmdir d1 again", unlinkat(dfd, "dr/d1", AT_REMOVEDIR));
	ok("dr.rmdir missing/x", unlinkat(dfd, "dr/missing/x", AT_REMOVEDIR));
	wf("dr.wf file", "dr/file", 0644, 1, 6);
	ok("dr.rmdir file", unlinkat(dfd, "dr/file", AT_REMOVEDIR));
	ok("dr.mkdir file/x", mkdirat(dfd, "dr/file/x", 0755));
	ok("dr.mkdir d2", mkdirat(dfd, "dr/d2", 0755));
	ok("dr.unlink dir", unlinkat(dfd, "dr/d2", 0));
	ok("dr.rmdir dot", unlinkat(dfd, "dr/d2/.", AT_REMOVEDIR));
	ok("dr.rmdir dotdot", unlinkat(dfd, "dr/d2/..", AT_REMOVEDIR));

	old = umask(027);
	ok("dr.mkdir umask027", mkdirat(dfd, "dr/um", 0777));
	closeif(ok("dr.create umask027", openat(dfd, "dr/um/f",
			O_CREAT | O_EXCL | O_WRONLY, 0666)));
	ok("dr.mknod umask027", mknodat(dfd, "dr/um/n", S_IFIFO | 0666, 0));
	umask(0);
	ok("dr.mkdir umask0", mkdirat(dfd, "dr/um0", 0777));
	closeif(ok("dr.create umask0", openat(dfd, "dr/um0/f",
			O_CREAT | O_EXCL | O_WRONLY, 0666)));
	ok("dr.mkdir sticky", mkdirat(dfd, "dr/sticky", 01777));
	umask(old);
	st("dr.stat um", "dr/um");
	st("dr.stat um/f", "dr/um/f");
	st("dr.stat um/n", "dr/um/n");
	st("dr.stat um0", "dr/um0");
	st("dr.stat um0/f", "dr/um0/f");
	st("dr.stat sticky", "dr/sticky");

	ok("dr.mkdir sg", mkdirat(dfd, "dr/sg", 0775));
	ok("dr.chgrp sg", fchownat(dfd, "dr/sg", -1, OTHER_GID, 0));
	ok("dr.chmod sg", fchmodat(dfd, "dr/sg", 02775, 0));
	st("dr.stat sg", "dr/sg");
	closeif(ok("dr.create sg/f", openat(dfd, "dr/sg/f",
			O_CREAT | O_EXCL | O_WRONLY, 0644)));
	st("dr.stat sg/f", "dr/sg/f");
	ok("dr.mkdir sg/sub", mkdirat(dfd, "dr/sg/sub", 0755));
	st("dr.stat sg/sub", "dr/sg/sub");
	ok("dr.mknod sg/fifo", mknodat(dfd, "dr/sg/fifo", S_IFIFO | 0644, 0));
	st("dr.stat sg/fifo", "dr/sg/fifo");
	ok("dr.symlink sg/sl", symlinkat("f", dfd, "dr/sg/sl"));
	lst("dr.lstat sg/sl", "dr/sg/sl");
	st("dr.stat", "dr");
}

static void sec_mknod(void)
{
	ok("nd.mkdir", mkdirat(dfd, "nd", 0755));
	ok("nd.mknod fifo", mknodat(dfd, "nd/fifo", S_IFIFO | 0640, 0));
	lst("nd.lstat fifo", "nd/fifo");
	ok("nd.mkfifo existing", mkfifoat(dfd, "nd/fifo", 0600));
	closeif(ok("nd.open-rd fifo", openat(dfd, "nd/fifo",
			O_RDONLY | O_NONBLOCK)));
	closeif(ok("nd.open-wr fifo", openat(dfd, "nd/fifo",
			O_WRONLY | O_NONBLOCK)));
	ok("nd.mknod reg", mknodat(dfd, "nd/reg", S_IFREG | 0600, 0));
	lst("nd.lstat reg", "nd/reg");
	ok("nd.mknod plain", mknodat(dfd, "nd/plain", 0600, 0));
	lst("nd.lstat plain", "nd/plain");
	ok("nd.mknod chr", mknodat(dfd, "nd/chr", S_IFCHR | 0600,
				   makedev(1, 3)));
	lst("nd.lstat chr", "nd/chr");
	ok("nd.mknod blk", mknodat(dfd, "nd/blk", S_IFBLK | 0600,
				   makedev(7, 200)));
	lst("nd.lstat blk", "nd/blk");
	ok("nd.mknod sock", mknodat(dfd, "nd/sock", S_IFSOCK | 0644, 0));
	lst("nd.lstat sock", "nd/sock");
	ok("nd.mknod dir", mknodat(dfd, "nd/dir", S_IFDIR | 0755, 0));
	ok("nd.mknod existing", mknodat(dfd, "nd/reg", S_IFIFO | 0600, 0));
	ok("nd.unlink fifo", unlinkat(dfd, "nd/fifo", 0));
	lst("nd.lstat-unlinked fifo", "nd/fifo");
}

static void sec_xattr(void)
{
	char big[2000], buf[16];
	int fd;
	/* POSIX ACL v2: u::rw- u:1234:r-- g::r-- m::r-- o::--- */
	static const unsigned char acl[] = {
		2, 0, 0, 0,
		0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
		0x02, 0, 4, 0, 0xd2, 0x04, 0, 0,
		0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	};

	ok("xa.mkdir", mkdirat(dfd, "xa", 0755));
	wf("xa.wf f", "xa/f", 0644, 10, 7);
	wf("xa.wf none", "xa/none", 0644, 10, 7);
	num("xa.list-size none", listxattr(P("xa/none"), NULL, 0));
	ok("xa.set user.test", setxattr(P("xa/f"), "user.test", "value1",
					6, 0));
	xget("xa.get user.test", P("xa/f"), "user.test", false);
	num("xa.get-size user.test", getxattr(P("xa/f"), "user.test",
					      NULL, 0));
	num("xa.get-small user.test", getxattr(P("xa/f"), "user.test",
					       buf, 2));
	ok("xa.set-create existing", setxattr(P("xa/f"), "user.test", "v2",
					      2, XATTR_CREATE));
	xget("xa.get-after-create user.test", P("xa/f"), "user.test", false);
	ok("xa.set-replace existing", setxattr(P("xa/f"), "user.test",
					       "value22", 7, XATTR_REPLACE));
	xget("xa.get-replaced user.test", P("xa/f"), "user.test", false);
	ok("xa.set-replace missing", setxattr(P("xa/f"), "user.other", "o",
					      1, XATTR_REPLACE));
	ok("xa.set-create new", setxattr(P("xa/f"), "user.other", "o", 1,
					 XATTR_CREATE));
	ok("xa.set user.empty", setxattr(P("xa/f"), "user.empty", "", 0, 0));
	xget("xa.get user.empty", P("xa/f"), "user.empty", false);
	fill(big, sizeof(big), 8);
	ok("xa.set user.big", setxattr(P("xa/f"), "user.big", big,
				       sizeof(big), 0));
	xget("xa.get user.big", P("xa/f"), "user.big", false);
	xlist("xa.list", P("xa/f"));
	num("xa.list-size", listxattr(P("xa/f"), NULL, 0));
	num("xa.list-small", listxattr(P("xa/f"), buf, 4));
	xget("xa.get missing", P("xa/f"), "user.missing", false);
	ok("xa.remove user.test", removexattr(P("xa/f"), "user.test"));
	ok("xa.remove user.test again", removexattr(P("xa/f"), "user.test"));
	xget("xa.get removed", P("xa/f"), "user.test", false);
	xlist("xa.list-after-remove", P("xa/f"));
	ok("xa.set trusted.t", setxattr(P("xa/f"), "trusted.t", "tv", 2, 0));
	xget("xa.get trusted.t", P("xa/f"), "trusted.t", false);
	ok("xa.set bad-namespace", setxattr(P("xa/f"), "foo.bar", "x", 1, 0));
	ok("xa.set empty-name", setxattr(P("xa/f"), "user.", "x", 1, 0));
	xget("xa.get missing-file", P("xa/missing"), "user.test", false);
	ok("xa.set dir", setxattr(P("xa"), "user.d", "dv", 2, 0));
	xget("xa.get dir", P("xa"), "user.d", false);
	fd = (int)ok("xa.open-rdonly f", openat(dfd, "xa/f", O_RDONLY));
	ok("xa.fset", fsetxattr(fd, "user.fd", "fdv", 3, 0));
	num("xa.fget", fgetxattr(fd, "user.fd", buf, sizeof(buf)));
	ok("xa.fremove", fremovexattr(fd, "user.fd"));
	closeif(fd);
	ok("xa.mknod fifo", mknodat(dfd, "xa/fifo", S_IFIFO | 0644, 0));
	ok("xa.set fifo", setxattr(P("xa/fifo"), "user.x", "v", 1, 0));
	ok("xa.set trusted fifo", setxattr(P("xa/fifo"), "trusted.x", "v",
					   1, 0));
	xget("xa.get trusted fifo", P("xa/fifo"), "trusted.x", false);

	/* POSIX ACLs need FUSE_POSIX_ACL; informational only. */
	wf("xa.wf acl", "xa/acl", 0644, 10, 9);
	ok("~ xa.set-acl", setxattr(P("xa/acl"), "system.posix_acl_access",
				    acl, sizeof(acl), 0));
	num("~ xa.get-acl-size", getxattr(P("xa/acl"),
			"system.posix_acl_access", NULL, 0));
	st("~ xa.stat-acl", "xa/acl");
	ok("~ xa.remove-acl", removexattr(P("xa/acl"),
			"system.posix_acl_access"));
}

static void sec_attr(void)
{
	int fd;

	ok("at.mkdir", mkdirat(dfd, "at", 0755));
	wf("at.wf p", "at/p", 0644, 10, 10);
	ok("at.chmod 0600", fchmodat(dfd, "at/p", 0600, 0));
	st("at.stat", "at/p");
	fd = (int)ok("at.open-rdonly", openat(dfd, "at/p", O_RDONLY));
	ok("at.fchmod 0640", fchmod(fd, 0640));
	st_fd("at.fstat", fd);
	closeif(fd);
	ok("at.chmod 06755", fchmodat(dfd, "at/p", 06755, 0));
	st("at.stat", "at/p");
	ok("at.chown 1234:1234", fchownat(dfd, "at/p", TEST_UID, TEST_GID, 0));
	st("at.stat-chowned", "at/p");
	ok("at.chmod 02750", fchmodat(dfd, "at/p", 02750, 0));
	st("at.stat", "at/p");
	ok("at.chgrp 5678", fchownat(dfd, "at/p", -1, OTHER_GID, 0));
	st("at.stat-chgrped", "at/p");
	ok("at.chmod 02740", fchmodat(dfd, "at/p", 02740, 0));
	ok("at.chown-noop", fchownat(dfd, "at/p", -1, -1, 0));
	st("at.stat-chown-noop", "at/p");
	ok("at.chown 0:0", fchownat(dfd, "at/p", 0, 0, 0));
	st("at.stat", "at/p");
	ok("at.chown missing", fchownat(dfd, "at/missing", 0, 0, 0));
	ok("at.chmod missing", fchmodat(dfd, "at/missing", 0644, 0));
	ok("at.chmod 0000", fchmodat(dfd, "at/p", 0, 0));
	st("at.stat", "at/p");
	closeif(ok("at.open-mode0-as-root", openat(dfd, "at/p", O_RDWR)));
	ok("at.chmod 07777", fchmodat(dfd, "at/p", 07777, 0));
	st("at.stat", "at/p");
	ok("at.chmod dir 0700", fchmodat(dfd, "at", 0700, 0));
	st("at.stat dir", "at");
	ok("at.chmod dir 0755", fchmodat(dfd, "at", 0755, 0));
	fd = (int)ok("at.open-wronly", openat(dfd, "at/p", O_WRONLY));
	ok("at.fchown 1234:1234", fchown(fd, TEST_UID, TEST_GID));
	st_fd("at.fstat-fchowned", fd);
	closeif(fd);
}

static void sec_times(void)
{
	static const struct timespec t1[2] = {
		{ 1000000000, 123456789 }, { 1100000000, 987654321 } };
	static const struct timespec t2[2] = {
		{ 1200000000, 5 }, { 0, UTIME_OMIT } };
	static const struct timespec t3[2] = {
		{ 0, UTIME_OMIT }, { 1300000000, 500000000 } };
	static const struct timespec tnow[2] = {
		{ 0, UTIME_NOW }, { 0, UTIME_NOW } };
	static const struct timespec tf[2] = {
		{ 1400000000, 1 }, { 1500000000, 2 } };
	static const struct timespec tneg[2] = {
		{ -1, 0 }, { -100000, 999999999 } };
	static const struct timespec tfar[2] = {
		{ 8589934592LL, 0 }, { 4102444800LL, 999 } };
	static const struct timespec tbad[2] = {
		{ 1, 1000000000 }, { 0, UTIME_OMIT } };
	static const struct timespec tmix[2] = {
		{ 0, UTIME_NOW }, { 1600000000, 7 } };
	int fd;

	ok("tm.mkdir", mkdirat(dfd, "tm", 0755));
	wf("tm.wf f", "tm/f", 0644, 100, 11);
	ok("tm.utimens explicit", utimensat(dfd, "tm/f", t1, 0));
	show_times("tm.times explicit", "tm/f", 0, &t1[0], &t1[1]);
	ok("tm.utimens omit-mtime", utimensat(dfd, "tm/f", t2, 0));
	show_times("tm.times omit-mtime", "tm/f", 0, &t2[0], &t1[1]);
	ok("tm.utimens omit-atime", utimensat(dfd, "tm/f", t3, 0));
	show_times("tm.times omit-atime", "tm/f", 0, &t2[0], &t3[1]);
	ok("tm.utimens now", utimensat(dfd, "tm/f", tnow, 0));
	show_times("tm.times now", "tm/f", 0, NULL, NULL);
	ok("tm.utimens explicit again", utimensat(dfd, "tm/f", t1, 0));
	ok("tm.utimens null", utimensat(dfd, "tm/f", NULL, 0));
	show_times("tm.times null", "tm/f", 0, NULL, NULL);
	ok("tm.utimens now-atime explicit-mtime", utimensat(dfd, "tm/f",
							   tmix, 0));
	show_times("tm.times now-atime explicit-mtime", "tm/f", 0, NULL,
		   &tmix[1]);
	fd = (int)ok("tm.open", openat(dfd, "tm/f", O_RDONLY));
	ok("tm.futimens", futimens(fd, tf));
	show_times("tm.times futimens", "tm/f", 0, &tf[0], &tf[1]);
	closeif(fd);
	ok("tm.utimens pre-1970", utimensat(dfd, "tm/f", tneg, 0));
	show_times("tm.times pre-1970", "tm/f", 0, &tneg[0], &tneg[1]);
	ok("tm.utimens far-future", utimensat(dfd, "tm/f", tfar, 0));
	show_times("tm.times far-future", "tm/f", 0, &tfar[0], &tfar[1]);
	ok("tm.utimens bad-nsec", utimensat(dfd, "tm/f", tbad, 0));
	ok("tm.utimens missing", utimensat(dfd, "tm/missing", t1, 0));
	ok("tm.utimens dir", utimensat(dfd, "tm", t1, 0));
	show_times("tm.times dir", "tm", 0, &t1[0], &t1[1]);
	/* Writing sets mtime to now, and leaves atime alone. */
	ok("tm.utimens explicit before write", utimensat(dfd, "tm/f", t1, 0));
	fd = (int)ok("tm.open-wronly", openat(dfd, "tm/f", O_WRONLY));
	num("tm.write", write(fd, "x", 1));
	closeif(fd);
	show_times("tm.times after-write", "tm/f", 0, &t1[0], NULL);
	ok("tm.utimens explicit before truncate", utimensat(dfd, "tm/f", t1,
							    0));
	ok("tm.truncate", truncate(P("tm/f"), 50));
	show_times("tm.times after-truncate", "tm/f", 0, &t1[0], NULL);
}

static void sec_truncate(void)
{
	int fd;

	ok("tr.mkdir", mkdirat(dfd, "tr", 0755));
	wf("tr.wf f", "tr/f", 0644, 10000, 12);
	ok("tr.truncate 100", truncate(P("tr/f"), 100));
	st("tr.stat", "tr/f");
	sum_file("tr.content", "tr/f");
	fd = (int)ok("tr.open", openat(dfd, "tr/f", O_RDWR));
	ok("tr.ftruncate 50", ftruncate(fd, 50));
	st_fd("tr.fstat", fd);
	read_sum("tr.read", fd, 0, 100000);
	ok("tr.truncate 20000", truncate(P("tr/f"), 20000));
	st_fd("tr.fstat", fd);
	read_sum("tr.read", fd, 0, 100000);
	ok("tr.ftruncate 0", ftruncate(fd, 0));
	st_fd("tr.fstat", fd);
	ok("tr.ftruncate -1", ftruncate(fd, -1));
	closeif(fd);
	ok("tr.truncate -1", truncate(P("tr/f"), -1));
	ok("tr.truncate dir", truncate(P("tr"), 0));
	ok("tr.truncate missing", truncate(P("tr/missing"), 0));
	fd = (int)ok("tr.open-rdonly", openat(dfd, "tr/f", O_RDONLY));
	ok("tr.ftruncate-rdonly", ftruncate(fd, 10));
	closeif(fd);
	st("tr.stat", "tr/f");
}

static void sec_direct(void)
{
	const size_t bs = 4096, len = 4 * 4096;
	unsigned char *wb, *rb, *expect;
	int fd;

	ok("dio.mkdir", mkdirat(dfd, "dio", 0755));
	/* O_DIRECT wants block-aligned buffers (sizes are multiples of bs). */
	wb = aligned_alloc(bs, len + bs);
	rb = aligned_alloc(bs, len + 2 * bs);
	if (!wb || !rb) {
		fprintf(stderr, "posix_smoke: aligned_alloc failed\n");
		exit(2);
	}
	expect = xmalloc(len + bs);
	fill(wb, len, 13);
	memcpy(expect, wb, len);
	fd = (int)ok("dio.create-direct", openat(dfd, "dio/f",
			O_CREAT | O_EXCL | O_RDWR | O_DIRECT, 0644));
	num("dio.pwrite 4 blocks", pwrite(fd, wb, len, 0));
	memset(rb, 0, len);
	num("dio.pread 4 blocks", pread(fd, rb, len, 0));
	out("dio.compare", "%s", memcmp(rb, expect, len) ? "differs" : "same");
	fill(wb, bs, 14);
	memcpy(expect + 2 * bs, wb, bs);
	num("dio.pwrite block 2", pwrite(fd, wb, bs, 2 * bs));
	fill(wb, bs, 15);
	memcpy(expect + len, wb, bs);
	num("dio.pwrite-extend block 4", pwrite(fd, wb, bs, len));
	st_fd("dio.fstat", fd);
	memset(rb, 0, len + 2 * bs);
	num("dio.pread all", pread(fd, rb, len + 2 * bs, 0));
	out("dio.compare all", "%s",
	    memcmp(rb, expect, len + bs) ? "differs" : "same");
	ok("dio.fsync", fsync(fd));
	closeif(fd);
	sum_file("dio.content-buffered", "dio/f");
	fd = (int)ok("dio.open-direct-rdonly", openat(dfd, "dio/f",
			O_RDONLY | O_DIRECT));
	memset(rb, 0, len + 2 * bs);
	num("dio.pread-again all", pread(fd, rb, len + 2 * bs, 0));
	out("dio.compare-again all", "%s",
	    memcmp(rb, expect, len + bs) ? "differs" : "same");
	/* Misaligned buffers may or may not be refused through FUSE. */
	num("~ dio.pread misaligned-buffer", pread(fd, rb + 1, bs, 0));
	closeif(fd);
	free(wb);
	free(rb);
	free(expect);
}

static void sec_mmap(void)
{
	const size_t len = 8192;
	unsigned char *p, *pat = xmalloc(len);
	int fd, fd2;
	loff_t off;

	ok("mm.mkdir", mkdirat(dfd, "mm", 0755));
	fd = (int)ok("mm.create", openat(dfd, "mm/f", O_CREAT | O_EXCL |
			O_RDWR, 0644));
	ok("mm.ftruncate", ftruncate(fd, (off_t)len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ok("mm.mmap-shared-rw", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		fill(pat, len, 16);
		memcpy(p, pat, len);
		ok("mm.msync", msync(p, len, MS_SYNC));
		ok("mm.munmap", munmap(p, len));
	}
	read_sum("mm.pread", fd, 0, len * 2);
	num("mm.pwrite", pwrite(fd, "XYZ", 3, 100));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ok("mm.mmap-shared-ro", p == MAP_FAILED ? -1 : 0);
	if (p != MAP_FAILED) {
		out("mm.see-pwrite", "%s",
		    memcmp(p + 100, "XYZ", 3) ? "differs" : "same");
		munmap(p, len);
	}
	closeif(fd);

	fd = (int)ok("mm.open f", openat(dfd, "mm/f", O_RDONLY));
	fd2 = (int)ok("mm.create copy", openat(dfd, "mm/copy", O_CREAT |
			O_EXCL | O_WRONLY, 0644));
	num("mm.copy_file_range", copy_file_range(fd, NULL, fd2, NULL,
						  len, 0));
	off = 8000;
	num("mm.copy_file_range past-eof", copy_file_range(fd, &off, fd2,
							   NULL, 1000, 0));
	closeif(fd2);
	closeif(fd);
	st("mm.stat copy", "mm/copy");
	sum_file("mm.content copy", "mm/copy");
	free(pat);
}

static void sec_lock(void)
{
	struct flock fl;
	int fd1, fd2;

	ok("lk.mkdir", mkdirat(dfd, "lk", 0755));
	wf("lk.wf f", "lk/f", 0644, 1000, 17);
	fd1 = (int)ok("lk.open 1", openat(dfd, "lk/f", O_RDWR));
	fd2 = (int)ok("lk.open 2", openat(dfd, "lk/f", O_RDWR));
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 100;
	ok("lk.ofd-setlk 1", fcntl(fd1, F_OFD_SETLK, &fl));
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 10;
	if (fcntl(fd2, F_OFD_GETLK, &fl) < 0)
		out("lk.ofd-getlk 2", "ERR %s", errname(errno));
	else
		out("lk.ofd-getlk 2", "type=%s start=%lld len=%lld",
		    fl.l_type == F_WRLCK ? "wr" : fl.l_type == F_RDLCK ?
		    "rd" : "unlck", (long long)fl.l_start,
		    (long long)fl.l_len);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 10;
	ok("lk.ofd-setlk 2", fcntl(fd2, F_OFD_SETLK, &fl));
	fl.l_start = 100;
	ok("lk.ofd-setlk 2 free-range", fcntl(fd2, F_OFD_SETLK, &fl));
	ok("lk.flock-ex 1", flock(fd1, LOCK_EX));
	ok("lk.flock-ex-nb 2", flock(fd2, LOCK_EX | LOCK_NB));
	ok("lk.flock-un 1", flock(fd1, LOCK_UN));
	ok("lk.flock-ex-nb 2 again", flock(fd2, LOCK_EX | LOCK_NB));
	closeif(fd1);
	closeif(fd2);
}

struct scan {
	long entries, dots, reg, dir, unknown, other;
	uint64_t sum;
};

static int scan_dir(DIR *d, struct scan *s)
{
	size_t cap = 16384, n = 0, i;
	char **names = xmalloc(cap * sizeof(*names));
	struct dirent *de;

	memset(s, 0, sizeof(*s));
	s->sum = FNV_INIT;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (de->d_type == DT_REG)
			s->reg++;
		else if (de->d_type == DT_DIR)
			s->dir++;
		else if (de->d_type == DT_UNKNOWN)
			s->unknown++;
		else
			s->other++;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			s->dots++;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				fprintf(stderr, "posix_smoke: out of memory\n");
				exit(2);
			}
		}
		names[n++] = strdup(de->d_name);
	}
	if (errno) {
		int e = errno;

		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		errno = e;
		return -1;
	}
	qsort(names, n, sizeof(*names), cmpstr);
	for (i = 0; i < n; i++) {
		s->sum = fnv(s->sum, names[i], strlen(names[i]) + 1);
		free(names[i]);
	}
	free(names);
	s->entries = (long)n;
	return 0;
}

static void put_scan(const char *step, DIR *d)
{
	struct scan s;

	if (scan_dir(d, &s) < 0) {
		out(step, "ERR %s", errname(errno));
		return;
	}
	out(step, "entries=%ld dots=%ld dtype reg=%ld dir=%ld unknown=%ld "
	    "other=%ld sum=%016llx", s.entries, s.dots, s.reg, s.dir,
	    s.unknown, s.other, (unsigned long long)s.sum);
}

static void sec_readdir(void)
{
	char name[64], first[256] = "", again[256] = "";
	long created = 0, removed = 0, pos;
	int i, fd, err_create = 0, err_unlink = 0;
	struct dirent *de;
	DIR *d;

	ok("rd.mkdir big", mkdirat(dfd, "big", 0755));
	for (i = 0; i < BIG_ENTRIES; i++) {
		snprintf(name, sizeof(name), "big/file-%05d", i);
		fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0) {
			if (!err_create)
				err_create = errno;
			continue;
		}
		close(fd);
		created++;
	}
	out("rd.create 10000 files", "created=%ld first-error=%s", created,
	    err_create ? errname(err_create) : "none");
	fd = (int)ok("rd.open big", openat(dfd, "big", O_RDONLY |
			O_DIRECTORY));
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		out("rd.fdopendir", "ERR %s", errname(errno));
		closeif(fd);
		return;
	}
	put_scan("rd.scan", d);

	/* telldir()/seekdir() in the middle must come back to the same name */
	rewinddir(d);
	for (i = 0; i < BIG_ENTRIES / 2 && readdir(d); i++)
		;
	pos = telldir(d);
	de = readdir(d);
	if (de)
		snprintf(first, sizeof(first), "%s", de->d_name);
	for (i = 0; i < 100 && readdir(d); i++)
		;
	seekdir(d, pos);
	de = readdir(d);
	if (de)
		snprintf(again, sizeof(again), "%s", de->d_name);
	out("rd.seekdir", "%s", first[0] && !strcmp(first, again) ?
	    "same" : "differs");

	closeif(ok("rd.create late", openat(dfd, "big/late", O_CREAT |
			O_EXCL | O_WRONLY, 0644)));
	rewinddir(d);
	put_scan("rd.scan-after-create", d);
	for (i = 0; i < BIG_ENTRIES; i += 2) {
		snprintf(name, sizeof(name), "big/file-%05d", i);
		if (unlinkat(dfd, name, 0) < 0) {
			if (!err_unlink)
				err_unlink = errno;
			continue;
		}
		removed++;
	}
	out("rd.unlink 5000 files", "removed=%ld first-error=%s", removed,
	    err_unlink ? errname(err_unlink) : "none");
	rewinddir(d);
	put_scan("rd.scan-after-unlink", d);
	closedir(d);
	ok("rd.rmdir big", unlinkat(dfd, "big", AT_REMOVEDIR));
	st_at("rd.stat big", "big", ST_NOSIZE);
	fd = (int)ok("rd.open-directory file", openat(dfd, "big/late",
			O_RDONLY | O_DIRECTORY));
	closeif(fd);
	/* An empty directory: just the dots. */
	ok("rd.mkdir empty", mkdirat(dfd, "rd-empty", 0755));
	fd = (int)ok("rd.open empty", openat(dfd, "rd-empty",
			O_RDONLY | O_DIRECTORY));
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		put_scan("rd.scan empty", d);
		closedir(d);
	} else {
		closeif(fd);
	}
}

static void sec_seek(void)
{
	const size_t len = 1 << 20;
	char *buf = xmalloc(len);
	int fd;

	ok("sk.mkdir", mkdirat(dfd, "sk", 0755));
	fill(buf, len, 18);
	fd = (int)ok("sk.create holes", openat(dfd, "sk/holes", O_CREAT |
			O_EXCL | O_RDWR, 0644));
	num("sk.write 1MiB", write(fd, buf, len));
	ok("sk.fsync", fsync(fd));
	ok("sk.punch-hole 256K+512K", fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				FALLOC_FL_KEEP_SIZE, 262144, 524288));
	ok("sk.punch-hole without keep-size", fallocate(fd,
				FALLOC_FL_PUNCH_HOLE, 0, 4096));
	st_fd("sk.fstat holes", fd);
	num("sk.seek-data 0", lseek(fd, 0, SEEK_DATA));
	num("sk.seek-hole 0", lseek(fd, 0, SEEK_HOLE));
	num("sk.seek-data 256K", lseek(fd, 262144, SEEK_DATA));
	num("sk.seek-hole 256K", lseek(fd, 262144, SEEK_HOLE));
	num("sk.seek-hole 768K", lseek(fd, 786432, SEEK_HOLE));
	num("sk.seek-data eof", lseek(fd, (off_t)len, SEEK_DATA));
	num("sk.seek-hole past-eof", lseek(fd, 2000000, SEEK_HOLE));
	read_sum("sk.content holes", fd, 0, 2 * len);
	closeif(fd);

	/*
	 * A write past EOF: a hole on the backing filesystem, filled through
	 * preallocfs.  The contents and size are the same; the hole is not.
	 */
	fd = (int)ok("sk.create sparse", openat(dfd, "sk/sparse", O_CREAT |
			O_EXCL | O_RDWR, 0644));
	num("sk.pwrite 1MiB", pwrite(fd, buf, 4096, (off_t)len));
	st_fd("sk.fstat sparse", fd);
	num("~ sk.sparse seek-data 0", lseek(fd, 0, SEEK_DATA));
	num("~ sk.sparse seek-hole 0", lseek(fd, 0, SEEK_HOLE));
	read_sum("sk.content sparse", fd, 0, 2 * len);
	closeif(fd);
	free(buf);
}

static void sec_statvfs(void)
{
	struct statvfs sv;

	if (fstatvfs(dfd, &sv) < 0) {
		out("sv.fstatvfs", "ERR %s", errname(errno));
		return;
	}
	out("sv.fstatvfs", "bsize=%lu blocks=%llu namemax=%lu",
	    sv.f_bsize, (unsigned long long)sv.f_blocks, sv.f_namemax);
	if (statvfs(P("xa/f"), &sv) < 0) {
		out("sv.statvfs file", "ERR %s", errname(errno));
		return;
	}
	out("sv.statvfs file", "bsize=%lu blocks=%llu namemax=%lu",
	    sv.f_bsize, (unsigned long long)sv.f_blocks, sv.f_namemax);
}

/* The steps run as uid/gid 1234, in a child. */
static void user_steps(void)
{
	static const struct timespec t1[2] = {
		{ 1000000000, 0 }, { 1000000000, 0 } };
	static const struct timespec tnow[2] = {
		{ 0, UTIME_NOW }, { 0, UTIME_NOW } };
	int fd;

	closeif(ok("us.open-rd secret", openat(dfd, "us/pub/secret",
			O_RDONLY)));
	closeif(ok("us.open-rd rootfile", openat(dfd, "us/pub/rootfile",
			O_RDONLY)));
	closeif(ok("us.open-wr rootfile", openat(dfd, "us/pub/rootfile",
			O_WRONLY)));
	fd = (int)ok("us.open-wr shared", openat(dfd, "us/pub/shared",
			O_WRONLY));
	num("us.write shared", write(fd, "user", 4));
	closeif(fd);
	fd = (int)ok("us.create mine", openat(dfd, "us/pub/mine",
			O_CREAT | O_EXCL | O_RDWR, 0644));
	st_fd("us.fstat mine", fd);
	closeif(fd);
	ok("us.mkdir mydir", mkdirat(dfd, "us/pub/mydir", 0755));
	st("us.stat mydir", "us/pub/mydir");
	ok("us.mknod myfifo", mknodat(dfd, "us/pub/myfifo", S_IFIFO | 0644,
				      0));
	st("us.stat myfifo", "us/pub/myfifo");
	ok("us.symlink mylink", symlinkat("mine", dfd, "us/pub/mylink"));
	lst("us.lstat mylink", "us/pub/mylink");
	ok("us.link rootfile", linkat(dfd, "us/pub/rootfile", dfd,
				      "us/pub/hardlink", 0));
	ok("us.link mine", linkat(dfd, "us/pub/mine", dfd,
				  "us/pub/minelink", 0));
	closeif(ok("us.create in-root-dir", openat(dfd, "us/nope",
			O_CREAT | O_WRONLY, 0644)));
	ok("us.mkdir in-root-dir", mkdirat(dfd, "us/nope", 0755));
	ok("us.symlink in-root-dir", symlinkat("x", dfd, "us/nope"));
	st("us.stat in-private-dir", "us/priv/x");
	closeif(ok("us.open in-private-dir", openat(dfd, "us/priv/x",
			O_RDONLY)));
	ok("us.unlink sticky rootfile", unlinkat(dfd, "us/pub/rootfile", 0));
	ok("us.rename sticky rootfile", renameat(dfd, "us/pub/rootfile",
						 dfd, "us/pub/zz"));
	ok("us.unlink in-root-dir", unlinkat(dfd, "us/rootown", 0));
	ok("us.rename mine into-root-dir", renameat(dfd, "us/pub/mine", dfd,
						    "us/mine"));
	ok("us.rename mine mine2", renameat(dfd, "us/pub/mine", dfd,
					    "us/pub/mine2"));
	ok("us.chmod rootfile", fchmodat(dfd, "us/pub/rootfile", 0666, 0));
	ok("us.chmod mine2 04755", fchmodat(dfd, "us/pub/mine2", 04755, 0));
	st("us.stat mine2", "us/pub/mine2");
	fd = (int)ok("us.open-wr mine2", openat(dfd, "us/pub/mine2",
			O_WRONLY));
	num("us.write mine2", write(fd, "kill-suid", 9));
	closeif(fd);
	st("us.stat-after-write mine2", "us/pub/mine2");
	ok("us.chmod mine2 02755 foreign-group", fchmodat(dfd, "us/pub/mine2",
							  02755, 0));
	ok("us.chown mine2 root", fchownat(dfd, "us/pub/mine2", 0, 0, 0));
	ok("us.chgrp mine2 other", fchownat(dfd, "us/pub/mine2", -1,
					    OTHER_GID, 0));
	ok("us.chgrp mine2 own", fchownat(dfd, "us/pub/mine2", -1,
					  TEST_GID, 0));
	st("us.stat mine2", "us/pub/mine2");
	ok("us.utimens-explicit rootfile", utimensat(dfd, "us/pub/rootfile",
						     t1, 0));
	ok("us.utimens-now rootfile", utimensat(dfd, "us/pub/rootfile",
						tnow, 0));
	ok("us.utimens-now shared", utimensat(dfd, "us/pub/shared", tnow, 0));
	ok("us.utimens-explicit mine2", utimensat(dfd, "us/pub/mine2", t1, 0));
	show_times("us.times mine2", "us/pub/mine2", 0, &t1[0], &t1[1]);
	ok("us.truncate rootfile", truncate(P("us/pub/rootfile"), 0));
	ok("us.truncate shared", truncate(P("us/pub/shared"), 2));
	ok("us.setxattr rootfile", setxattr(P("us/pub/rootfile"), "user.x",
					    "v", 1, 0));
	ok("us.setxattr mine2", setxattr(P("us/pub/mine2"), "user.x", "v",
					 1, 0));
	xget("us.getxattr rootfile", P("us/pub/rootfile"), "user.r", false);
	xget("us.getxattr secret", P("us/pub/secret"), "user.r", false);
	ok("us.setxattr trusted", setxattr(P("us/pub/mine2"), "trusted.x",
					   "v", 1, 0));
	ok("us.access-r secret", faccessat(dfd, "us/pub/secret", R_OK, 0));
	ok("us.access-r rootfile", faccessat(dfd, "us/pub/rootfile", R_OK, 0));
	ok("us.access-w rootfile", faccessat(dfd, "us/pub/rootfile", W_OK, 0));
	ok("us.access-x rootfile", faccessat(dfd, "us/pub/rootfile", X_OK, 0));
	ok("us.access-rw shared", faccessat(dfd, "us/pub/shared",
					    R_OK | W_OK, 0));
	ok("us.rmdir sticky rootdir", unlinkat(dfd, "us/pub/rootdir",
					       AT_REMOVEDIR));
	ok("us.mkdir in-rootdir", mkdirat(dfd, "us/pub/rootdir/x", 0755));
	ok("us.mknod chr", mknodat(dfd, "us/pub/chr", S_IFCHR | 0600,
				   makedev(1, 3)));
}

static void sec_user(void)
{
	pid_t pid;
	int status;

	ok("us.mkdir", mkdirat(dfd, "us", 0755));
	ok("us.mkdir pub", mkdirat(dfd, "us/pub", 0755));
	ok("us.chmod pub 01777", fchmodat(dfd, "us/pub", 01777, 0));
	ok("us.mkdir priv", mkdirat(dfd, "us/priv", 0700));
	wf("us.wf priv/x", "us/priv/x", 0644, 10, 19);
	wf("us.wf rootown", "us/rootown", 0666, 10, 19);
	wf("us.wf pub/rootfile", "us/pub/rootfile", 0644, 10, 20);
	ok("us.setxattr rootfile", setxattr(P("us/pub/rootfile"), "user.r",
					    "rv", 2, 0));
	wf("us.wf pub/secret", "us/pub/secret", 0600, 10, 21);
	ok("us.setxattr secret", setxattr(P("us/pub/secret"), "user.r",
					  "sv", 2, 0));
	wf("us.wf pub/shared", "us/pub/shared", 0666, 10, 22);
	ok("us.mkdir pub/rootdir", mkdirat(dfd, "us/pub/rootdir", 0755));

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		out("us.fork", "ERR %s", errname(errno));
		return;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(TEST_GID) < 0 ||
		    setuid(TEST_UID) < 0) {
			out("us.setuid", "ERR %s", errname(errno));
			fflush(stdout);
			_exit(1);
		}
		user_steps();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		out("us.wait", "ERR %s", errname(errno));
	else
		out("us.child", "exit=%d", WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
	st("us.stat pub/mine2", "us/pub/mine2");
	st("us.stat pub/shared", "us/pub/shared");
	st("us.stat pub/rootfile", "us/pub/rootfile");
	sum_file("us.content shared", "us/pub/shared");
}

/* A sorted listing of everything left behind. */
static void list_tree(const char *rel)
{
	char *names[512], path[4096], step[4200];
	size_t n = 0, i;
	struct dirent *de;
	struct stat s;
	int fd;
	DIR *d;

	fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		snprintf(step, sizeof(step), "final.%s", rel);
		out(step, "ERR %s (opendir)", errname(errno));
		closeif(fd);
		return;
	}
	while ((de = readdir(d)) && n < 512) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmpstr);
	for (i = 0; i < n; i++) {
		if (strcmp(rel, "."))
			snprintf(path, sizeof(path), "%s/%s", rel, names[i]);
		else
			snprintf(path, sizeof(path), "%s", names[i]);
		snprintf(step, sizeof(step), "final %.200s", path);
		if (fstatat(dfd, path, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			out(step, "ERR %s", errname(errno));
		} else if (!strcmp(path, "big")) {
			put_stat(step, 0, 0, &s, ST_NOSIZE);
		} else {
			put_stat(step, 0, 0, &s, 0);
			if (S_ISDIR(s.st_mode))
				list_tree(path);
		}
		free(names[i]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: posix_smoke DIR\n");
		return 2;
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		fprintf(stderr, "posix_smoke: %s: %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);

	sec_file();
	sec_rename();
	sec_link();
	sec_symlink();
	sec_dir();
	sec_mknod();
	sec_xattr();
	sec_attr();
	sec_times();
	sec_truncate();
	sec_direct();
	sec_mmap();
	sec_lock();
	sec_readdir();
	sec_seek();
	sec_statvfs();
	sec_user();
	list_tree(".");
	return fflush(stdout) ? 2 : 0;
}
