// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfs_tool: the system calls the integration tests need, one subcommand each,
 * with results a shell script can compare.
 *
 *   truncate   PATH SIZE          truncate(2)
 *   ftruncate  PATH SIZE          open(O_RDWR|O_CREAT) + ftruncate(2)
 *   mmapwrite  PATH SIZE [--no-truncate] [--msync] [--ready FILE] [--go FILE]
 *                                 ftruncate (unless --no-truncate), mmap
 *                                 MAP_SHARED, store the pattern into every byte
 *                                 of [0, SIZE), then msync(MS_SYNC) if asked.
 *                                 --ready FILE: create FILE once the file is
 *                                 grown and mapped; --go FILE: then wait for
 *                                 FILE to exist before the first store.
 *   verify     PATH SIZE [--offset OFF] [--pattern-at POFF]
 *                                 read(2) [OFF, OFF+SIZE) and compare it with
 *                                 the pattern (of [POFF, POFF+SIZE) when
 *                                 given: data that was moved by
 *                                 fallocate INSERT/COLLAPSE_RANGE)
 *   pwrite     PATH OFFSET LEN    one pwrite(2) of the pattern for
 *                                 [OFFSET, OFFSET+LEN) (retried if short)
 *   holes      PATH               number of holes inside [0, st_size)
 *   fill       DIR                write a new file in DIR until ENOSPC; prints
 *                                 the bytes written
 *   copyrange  SRC DST OFF_OUT LEN
 *                                 copy_file_range(2) [0, LEN) of SRC to
 *                                 OFF_OUT of DST (opened O_RDWR|O_CREAT)
 *   fallocate  PATH MODE OFF LEN  open(O_RDWR) + fallocate(2); MODE is 0 or
 *                                 a comma-separated list of keep, punch,
 *                                 collapse, zero, insert, unshare
 *                                 (FALLOC_FL_KEEP_SIZE, ...)
 *   punch      PATH OFF LEN       fallocate(PUNCH_HOLE|KEEP_SIZE)
 *   open       PATH FLAGS         open(2) and close(2); FLAGS is a
 *                                 comma-separated list of rdonly, wronly,
 *                                 rdwr, creat, trunc, append
 *   open-rw    PATH               open PATH rdwr
 *   zeros      PATH OFF LEN       read(2) [OFF, OFF+LEN) and check that it
 *                                 is all zero bytes
 *   shared     PATH               number of FIEMAP extents inside
 *                                 [0, st_size) flagged FIEMAP_EXTENT_SHARED
 *   fiemap     PATH               one line per FIEMAP extent: logical
 *                                 offset, length, flags (hex); for the logs
 *   mmapbyte   PATH SIZE BYTE [--msync] [--ready FILE] [--go FILE]
 *                                 mmap an existing file, store BYTE into
 *                                 every byte of [0, SIZE), msync if asked;
 *                                 --ready/--go as for mmapwrite
 *   isbyte     PATH SIZE BYTE     read [0, SIZE): every byte is BYTE
 *   odirect    PATH CHUNK         O_DIRECT writes of CHUNK bytes until one
 *                                 fails: "short" per short write, then the
 *                                 errno name
 *   pwrite1    PATH OFFSET LEN    one pwrite(2), not continued; prints the
 *                                 count it returned
 *
 * Namespace and attribute calls, one system call each, for the tests that
 * compare a caller's rights through the mount with the backing filesystem
 * (t-users, t-reserve, t-contain).  MODE is octal.
 *
 *   mkdir      PATH MODE          mkdir(2)
 *   mkfifo     PATH MODE          mknod(2) S_IFIFO
 *   create     PATH MODE          open(O_WRONLY|O_CREAT|O_EXCL, MODE)
 *   symlink    TARGET PATH        symlink(2)
 *   link       OLD NEW            link(2)
 *   rename     OLD NEW            rename(2)
 *   unlink     PATH | rmdir PATH  unlink(2), rmdir(2)
 *   chmod      PATH MODE          chmod(2)
 *   chown      PATH UID GID       lchown(2); -1 leaves one unchanged
 *   utimes     PATH now|SECONDS   utimensat(2): "now" (NULL times, needs
 *                                 write access) or both times set to
 *                                 SECONDS (needs ownership)
 *   stat       PATH               lstat(2); prints "TYPE MODE UID GID SIZE"
 *                                 (TYPE reg, dir, lnk, fifo, chr, blk, sock;
 *                                 MODE the 12 permission bits in octal)
 *   readlink   PATH               prints the target
 *   append     PATH LEN           open(O_WRONLY|O_APPEND) + one write(2) of
 *                                 LEN pattern bytes (continued if short)
 *   setxattr   PATH NAME LEN      setxattr(2) of a LEN-byte value
 *   walk       DIR                list DIR (readdir), then lstat every
 *                                 entry; prints "names N ok K" and, for
 *                                 failed stats, " ENAME COUNT" per errno
 *   mkfiles    DIR N              create N empty files f0 ... f(N-1)
 *   renameloop A B SECONDS        rename(A, B) and back, again and again for
 *                                 SECONDS; B's entries are counted right
 *                                 after the first rename and just before the
 *                                 second.  Ends with A in place; prints
 *                                 "cycles N grew G" (G: cycles in which B
 *                                 gained entries while it was there)
 *   createloop DIR SECONDS        for SECONDS: stat DIR/d, create DIR/d/fI
 *                                 and DIR/d/../gI (O_EXCL), mkdir and rmdir
 *                                 DIR/d/xI, stat DIR/d/../../..; prints
 *                                 "loops N created C" and " ENAME COUNT"
 *                                 for the failed calls
 *   byhandle   PATH MOUNTDIR [--drop] REL...
 *                                 name_to_handle_at(PATH); with --drop,
 *                                 sync and echo 2 > /proc/sys/vm/drop_caches
 *                                 (the kernel forgets its inodes); then
 *                                 open_by_handle_at() on MOUNTDIR and, for
 *                                 each REL, print "REL TARGET" (the
 *                                 /proc/self/fd link of openat(fd, REL)) or
 *                                 "REL ENAME"
 *
 * Permission probes (t-perms, t-acl, t-groups), one system call each:
 *
 *   access     PATH MODES         access(2), MODES a string of r, w, x
 *                                 (R_OK, W_OK, X_OK) or f (F_OK)
 *   eaccess    PATH MODES         faccessat(2) with AT_EACCESS
 *   read       PATH               open(O_RDONLY) + read(2) of one byte
 *   ls         DIR                opendir + readdir; prints the number of
 *                                 entries other than . and ..
 *   getxattr   PATH NAME          getxattr(2); prints the value's size
 *   listxattr  PATH               llistxattr(2); prints the names sorted,
 *                                 comma-separated ("-" for none)
 *   removexattr PATH NAME         removexattr(2)
 *   umask-mkdir PATH MODE UMASK   umask(UMASK), then mkdir(2)
 *   umask-create PATH MODE UMASK  umask(UMASK), then open(O_CREAT|O_EXCL)
 *
 * A program with dirty mapped pages while the daemon is told to stop
 * (t-stop):
 *
 *   mapstop    PATH SIZE1 SIZE2 READY GO
 *                                 open(O_RDWR|O_CREAT) + ftruncate SIZE2 +
 *                                 mmap MAP_SHARED; store the pattern into
 *                                 [0, SIZE1); create READY; wait for GO to
 *                                 exist; store the pattern into
 *                                 [SIZE1, SIZE2); msync(MS_SYNC), munmap,
 *                                 close.  Prints "ok", or the errno name
 *                                 of the first call that failed
 *   pagematch  PATH SIZE          how many bytes of [0, SIZE), in whole
 *                                 pages, hold the pattern (what reached
 *                                 the disk after a loss)
 *
 * Page cache across opens (t-cache):
 *
 *   mmapsum    PATH [READY GO]    open(O_RDONLY) + fstat + mmap MAP_SHARED
 *                                 of the whole file; prints "SIZE SUM"
 *                                 (FNV-1a 64 of the mapped bytes, hex).
 *                                 With READY GO: then create READY, wait
 *                                 for GO to exist, and print the same
 *                                 mapping's line again (no reopen)
 *
 * Output on stdout: "ok" (or the number asked for) on success, exit 0; the
 * errno name alone (e.g. "ENOSPC") when a system call fails, exit 1, with the
 * failing call on stderr; "mismatch" from verify and zeros, exit 3.  Usage
 * errors exit 2.  Sizes take K, M, G, T suffixes (powers of 1024).
 *
 * The pattern: byte at file offset o is byte (o % 8) (little-endian) of the
 * 64-bit word (o / 8 + 1) * 0x9e3779b97f4a7c15.  It is position-dependent and
 * never zero for a whole word, so lost or misplaced data cannot pass.
 *
 * A SIGBUS during mmapwrite is reported on stderr and then kills the process
 * as usual, so the shell sees exit status 135.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SYSCALL	1
#define EXIT_USAGE	2
#define EXIT_MISMATCH	3

#define IO_CHUNK	(1 << 20)

static const char *prog = "pfs_tool";

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: %s truncate PATH SIZE\n"
		"       %s ftruncate PATH SIZE\n"
		"       %s mmapwrite PATH SIZE [--no-truncate] [--msync] [--ready FILE] [--go FILE]\n"
		"       %s verify PATH SIZE [--offset OFF] [--pattern-at POFF]\n"
		"       %s pwrite PATH OFFSET LEN\n"
		"       %s holes PATH\n"
		"       %s fill DIR\n"
		"       %s copyrange SRC DST OFF_OUT LEN\n"
		"       %s fallocate PATH MODE OFF LEN\n"
		"       %s punch PATH OFF LEN\n"
		"       %s open PATH FLAGS | open-rw PATH\n"
		"       %s zeros PATH OFF LEN\n"
		"       %s shared PATH | fiemap PATH\n"
		"       %s mkdir|mkfifo|create|chmod PATH MODE\n"
		"       %s symlink TARGET PATH | link OLD NEW | rename OLD NEW\n"
		"       %s unlink|rmdir|stat|readlink PATH\n"
		"       %s chown PATH UID GID | utimes PATH now|SECONDS\n"
		"       %s append PATH LEN | setxattr PATH NAME LEN\n"
		"       %s walk DIR | mkfiles DIR N\n"
		"       %s renameloop A B SECONDS | createloop DIR SECONDS\n"
		"       %s byhandle PATH MOUNTDIR [--drop] REL...\n"
		"       %s syslog-recv SOCKET OUTFILE SECONDS\n"
		"       %s mmapbyte PATH SIZE BYTE [--msync] [--ready F] [--go F]\n"
		"       %s isbyte PATH SIZE BYTE\n"
		"       %s odirect PATH CHUNK | pwrite1 PATH OFFSET LEN\n"
		"       %s mapstop PATH SIZE1 SIZE2 READY GO | pagematch PATH SIZE\n"
		"       %s gapstore PATH OFF LEN | openmix PATH SECONDS\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog,
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog,
		prog, prog, prog, prog, prog, prog, prog);
	exit(EXIT_USAGE);
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);
	static char buf[16];

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/*
 * Report a failed call: the errno name alone on stdout (what the tests
 * compare), the context on stderr.  Returns the exit status to use.
 */
static int sys_fail(const char *what, const char *path, int err)
{
	printf("%s\n", errno_name(err));
	fprintf(stderr, "%s: %s %s: %s (%s)\n", prog, what, path,
		errno_name(err), strerror(err));
	return EXIT_SYSCALL;
}

/* "123", "4K", "64M", "1G": a non-negative size in bytes, or exit 2. */
static off_t parse_size(const char *s)
{
	static const char suffixes[] = "KMGT";
	unsigned long long v;
	unsigned int shift = 0;
	const char *suffix;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		goto bad;
	suffix = *end ? strchr(suffixes, toupper((unsigned char)*end)) : NULL;
	if (suffix) {
		shift = 10 * (unsigned int)(suffix - suffixes + 1);
		end++;
	}
	if (*end != '\0' || v > (unsigned long long)INT64_MAX >> shift)
		goto bad;
	return (off_t)(v << shift);
bad:
	fprintf(stderr, "%s: bad size '%s'\n", prog, s);
	exit(EXIT_USAGE);
}

static inline uint8_t pattern_byte(uint64_t off)
{
	uint64_t word = (off / 8 + 1) * UINT64_C(0x9e3779b97f4a7c15);

	return (uint8_t)(word >> (off % 8 * 8));
}

static void pattern_fill(uint8_t *buf, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(off + i);
}

static int cmd_truncate(int argc, char **argv)
{
	off_t size;

	if (argc != 2)
		usage();
	size = parse_size(argv[1]);
	if (truncate(argv[0], size) == -1)
		return sys_fail("truncate", argv[0], errno);
	printf("ok\n");
	return 0;
}

static int cmd_ftruncate(int argc, char **argv)
{
	off_t size;
	int fd;

	if (argc != 2)
		usage();
	size = parse_size(argv[1]);
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	if (ftruncate(fd, size) == -1)
		return sys_fail("ftruncate", argv[0], errno);
	if (close(fd) == -1)
		return sys_fail("close", argv[0], errno);
	printf("ok\n");
	return 0;
}

/* mmapwrite: where the mapping starts, for the SIGBUS report. */
static uint8_t *volatile map_base;

/* Async-signal-safe: format the offset by hand, write(2) it, return. */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "pfs_tool: mmapwrite: SIGBUS at offset ";
	size_t n = strlen(msg);
	uintptr_t off = (uintptr_t)si->si_addr - (uintptr_t)map_base;
	char digits[24];
	int d = 0;

	(void)sig;
	(void)uc;
	do {
		digits[d++] = (char)('0' + off % 10);
		off /= 10;
	} while (off && d < (int)sizeof(digits));
	while (d > 0 && n < sizeof(msg) - 2)
		msg[n++] = digits[--d];
	msg[n++] = '\n';
	if (write(STDERR_FILENO, msg, n) < 0)
		_exit(128 + SIGBUS);
	/*
	 * SA_RESETHAND restored the default action: returning re-runs the
	 * faulting store, which now kills us with SIGBUS (status 135).
	 */
}

/* Wait up to 60 s for PATH to exist. */
static int wait_for_file(const char *path)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

	for (int i = 0; i < 6000; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "%s: timed out waiting for %s\n", prog, path);
	return -1;
}

static int cmd_mmapwrite(int argc, char **argv)
{
	const char *path, *ready = NULL, *go = NULL;
	bool do_truncate = true, do_msync = false;
	struct sigaction sa = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map;
	off_t size;
	int fd;

	if (argc < 2)
		usage();
	path = argv[0];
	size = parse_size(argv[1]);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--no-truncate"))
			do_truncate = false;
		else if (!strcmp(argv[i], "--msync"))
			do_msync = true;
		else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = argv[++i];
		else if (!strcmp(argv[i], "--go") && i + 1 < argc)
			go = argv[++i];
		else
			usage();
	}
	if (size == 0 || (uint64_t)size > SIZE_MAX) {
		fprintf(stderr, "%s: mmapwrite: bad size\n", prog);
		return EXIT_USAGE;
	}

	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd == -1)
		return sys_fail("open", path, errno);
	if (do_truncate && ftruncate(fd, size) == -1)
		return sys_fail("ftruncate", path, errno);
	map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (map == MAP_FAILED)
		return sys_fail("mmap", path, errno);
	map_base = map;

	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) == -1)
		return sys_fail("sigaction", "SIGBUS", errno);

	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT, 0644);

		if (rfd == -1)
			return sys_fail("open", ready, errno);
		close(rfd);
	}
	if (go && wait_for_file(go))
		return EXIT_USAGE;

	/* Page by page, so each page is dirtied by a store of its own. */
	for (off_t off = 0; off < size; off += page) {
		size_t len = (size_t)(size - off < page ? size - off : page);

		pattern_fill(map + off, (uint64_t)off, len);
	}

	if (do_msync && msync(map, (size_t)size, MS_SYNC) == -1)
		return sys_fail("msync", path, errno);
	if (munmap(map, (size_t)size) == -1)
		return sys_fail("munmap", path, errno);
	if (close(fd) == -1)
		return sys_fail("close", path, errno);
	printf("ok\n");
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	uint8_t *buf, *want;
	off_t off = 0, size, done = 0, poff = -1;
	const char *path;
	int fd;

	if (argc < 2)
		usage();
	path = argv[0];
	size = parse_size(argv[1]);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--offset") && i + 1 < argc)
			off = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--pattern-at") && i + 1 < argc)
			poff = parse_size(argv[++i]);
		else
			usage();
	}
	if (poff < 0)
		poff = off;
	buf = malloc(IO_CHUNK);
	want = malloc(IO_CHUNK);
	if (!buf || !want)
		return sys_fail("malloc", path, ENOMEM);
	fd = open(path, O_RDONLY);
	if (fd == -1)
		return sys_fail("open", path, errno);
	while (done < size) {
		size_t len = size - done < IO_CHUNK ? (size_t)(size - done) :
						      IO_CHUNK;
		ssize_t n = pread(fd, buf, len, off + done);

		if (n == -1)
			return sys_fail("pread", path, errno);
		if (n == 0) {
			printf("mismatch\n");
			fprintf(stderr, "%s: verify %s: file ends at %jd, expected data up to %jd\n",
				prog, path, (intmax_t)(off + done),
				(intmax_t)(off + size));
			return EXIT_MISMATCH;
		}
		pattern_fill(want, (uint64_t)(poff + done), (size_t)n);
		if (memcmp(buf, want, (size_t)n)) {
			size_t i = 0;

			while (buf[i] == want[i])
				i++;
			printf("mismatch\n");
			fprintf(stderr, "%s: verify %s: first difference at offset %jd: got 0x%02x, want 0x%02x\n",
				prog, path, (intmax_t)(off + done + (off_t)i),
				buf[i], want[i]);
			return EXIT_MISMATCH;
		}
		done += n;
	}
	close(fd);
	free(buf);
	free(want);
	printf("ok\n");
	return 0;
}

static int cmd_pwrite(int argc, char **argv)
{
	off_t off, len, done = 0;
	uint8_t *buf;
	int fd;

	if (argc != 3)
		usage();
	off = parse_size(argv[1]);
	len = parse_size(argv[2]);
	if ((uint64_t)len > SIZE_MAX || off > INT64_MAX - len)
		usage();
	buf = malloc(len ? (size_t)len : 1);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	pattern_fill(buf, (uint64_t)off, (size_t)len);
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	/* One call for the whole range; only a short write is continued. */
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, (size_t)(len - done),
				   off + done);

		if (n == -1) {
			int err = errno;

			fprintf(stderr, "%s: pwrite %s: failed after %jd of %jd bytes\n",
				prog, argv[0], (intmax_t)done, (intmax_t)len);
			return sys_fail("pwrite", argv[0], err);
		}
		done += n;
	}
	if (close(fd) == -1)
		return sys_fail("close", argv[0], errno);
	free(buf);
	printf("ok\n");
	return 0;
}

/*
 * Holes inside [0, st_size): with FIEMAP where the filesystem has it, so
 * that preallocated (unwritten) extents count as allocated, as they are;
 * SEEK_HOLE would call them holes on ext4 and XFS.  Elsewhere (tmpfs) with
 * SEEK_DATA/SEEK_HOLE.
 */
static int count_holes_fiemap(int fd, off_t size, long *holes)
{
	enum { NEXT = 64 };
	struct fiemap *fm;
	uint64_t pos = 0;
	long n = 0;
	bool last = false;

	fm = calloc(1, sizeof(*fm) + NEXT * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	while (!last && pos < (uint64_t)size) {
		fm->fm_start = pos;
		fm->fm_length = (uint64_t)size - pos;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = NEXT;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) == -1) {
			int err = errno;

			free(fm);
			return -err;
		}
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *fe = &fm->fm_extents[i];

			if (fe->fe_logical > pos)
				n++;
			if (fe->fe_logical + fe->fe_length > pos)
				pos = fe->fe_logical + fe->fe_length;
			if (fe->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
	}
	if (pos < (uint64_t)size)
		n++;
	free(fm);
	*holes = n;
	return 0;
}

static int count_holes_seek(int fd, off_t size, long *holes)
{
	off_t pos = 0;
	long n = 0;

	while (pos < size) {
		off_t hole = lseek(fd, pos, SEEK_HOLE);
		off_t data;

		if (hole == -1)
			return -errno;
		if (hole >= size)
			break;
		n++;
		data = lseek(fd, hole, SEEK_DATA);
		if (data == -1) {
			if (errno == ENXIO)
				break;
			return -errno;
		}
		pos = data;
	}
	*holes = n;
	return 0;
}

static int cmd_holes(int argc, char **argv)
{
	struct stat st;
	long holes = 0;
	int fd, ret;

	if (argc != 1)
		usage();
	fd = open(argv[0], O_RDONLY);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	if (fstat(fd, &st) == -1)
		return sys_fail("fstat", argv[0], errno);
	ret = count_holes_fiemap(fd, st.st_size, &holes);
	if (ret == -EOPNOTSUPP || ret == -ENOTTY)
		ret = count_holes_seek(fd, st.st_size, &holes);
	if (ret)
		return sys_fail("holes", argv[0], -ret);
	close(fd);
	printf("%ld\n", holes);
	return 0;
}

static int cmd_fill(int argc, char **argv)
{
	char path[PATH_MAX];
	uint8_t *buf;
	off_t total = 0;
	size_t chunk = IO_CHUNK;
	int fd;

	if (argc != 1)
		usage();
	if (snprintf(path, sizeof(path), "%s/fill.XXXXXX", argv[0]) >=
	    (int)sizeof(path))
		usage();
	buf = malloc(IO_CHUNK);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	memset(buf, 0xa5, IO_CHUNK);
	fd = mkstemp(path);
	if (fd == -1)
		return sys_fail("mkstemp", path, errno);
	/* Big chunks first, then smaller ones, down to a page: no space left. */
	for (;;) {
		ssize_t n = write(fd, buf, chunk);

		if (n > 0) {
			total += n;
			continue;
		}
		if (n == -1 && errno != ENOSPC && errno != EDQUOT)
			return sys_fail("write", path, errno);
		if (chunk <= 4096)
			break;
		chunk /= 2;
	}
	if (fsync(fd) == -1 && errno != ENOSPC)
		return sys_fail("fsync", path, errno);
	close(fd);
	free(buf);
	printf("%jd\n", (intmax_t)total);
	return 0;
}

static int cmd_copyrange(int argc, char **argv)
{
	off_t off_in = 0, off_out, len;
	int in, out;

	if (argc != 4)
		usage();
	off_out = parse_size(argv[2]);
	len = parse_size(argv[3]);
	in = open(argv[0], O_RDONLY);
	if (in == -1)
		return sys_fail("open", argv[0], errno);
	out = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (out == -1)
		return sys_fail("open", argv[1], errno);
	while (off_in < len) {
		ssize_t n = copy_file_range(in, &off_in, out, &off_out,
					    (size_t)(len - off_in), 0);

		if (n == -1)
			return sys_fail("copy_file_range", argv[1], errno);
		if (n == 0) {
			fprintf(stderr, "%s: copyrange: %s ends at %jd\n",
				prog, argv[0], (intmax_t)off_in);
			return sys_fail("copy_file_range", argv[0], ENODATA);
		}
	}
	if (close(out) == -1)
		return sys_fail("close", argv[1], errno);
	close(in);
	printf("ok\n");
	return 0;
}

/* Names for fallocate(2) mode bits, as the tests spell them. */
static const struct {
	const char *name;
	int bit;
} falloc_modes[] = {
	{ "keep", FALLOC_FL_KEEP_SIZE },
	{ "punch", FALLOC_FL_PUNCH_HOLE },
	{ "collapse", FALLOC_FL_COLLAPSE_RANGE },
	{ "zero", FALLOC_FL_ZERO_RANGE },
	{ "insert", FALLOC_FL_INSERT_RANGE },
	{ "unshare", FALLOC_FL_UNSHARE_RANGE },
};

/* "0" or "punch,keep": the mode bits, or exit 2. */
static int parse_falloc_mode(const char *s)
{
	char *copy, *tok, *save = NULL;
	int mode = 0;

	if (!strcmp(s, "0"))
		return 0;
	copy = strdup(s);
	if (!copy)
		exit(EXIT_USAGE);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(falloc_modes) / sizeof(falloc_modes[0]);
		     i++)
			if (!strcmp(tok, falloc_modes[i].name))
				break;
		if (i == sizeof(falloc_modes) / sizeof(falloc_modes[0])) {
			fprintf(stderr, "%s: bad fallocate mode '%s'\n", prog,
				tok);
			exit(EXIT_USAGE);
		}
		mode |= falloc_modes[i].bit;
	}
	free(copy);
	return mode;
}

static int do_fallocate(const char *path, int mode, off_t off, off_t len)
{
	int fd = open(path, O_RDWR);

	if (fd == -1)
		return sys_fail("open", path, errno);
	if (fallocate(fd, mode, off, len) == -1)
		return sys_fail("fallocate", path, errno);
	if (close(fd) == -1)
		return sys_fail("close", path, errno);
	printf("ok\n");
	return 0;
}

static int cmd_fallocate(int argc, char **argv)
{
	if (argc != 4)
		usage();
	return do_fallocate(argv[0], parse_falloc_mode(argv[1]),
			    parse_size(argv[2]), parse_size(argv[3]));
}

static int cmd_punch(int argc, char **argv)
{
	if (argc != 3)
		usage();
	return do_fallocate(argv[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    parse_size(argv[1]), parse_size(argv[2]));
}

static int do_open(const char *path, const char *spec)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY },
		{ "rdwr", O_RDWR },	{ "creat", O_CREAT },
		{ "trunc", O_TRUNC },	{ "append", O_APPEND },
	};
	char *copy, *tok, *save = NULL;
	int flags = 0, fd;

	copy = strdup(spec);
	if (!copy)
		exit(EXIT_USAGE);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "%s: bad open flag '%s'\n", prog, tok);
			exit(EXIT_USAGE);
		}
		flags |= names[i].flag;
	}
	free(copy);
	fd = open(path, flags, 0644);
	if (fd == -1)
		return sys_fail("open", path, errno);
	if (close(fd) == -1)
		return sys_fail("close", path, errno);
	printf("ok\n");
	return 0;
}

static int cmd_open(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return do_open(argv[0], argv[1]);
}

static int cmd_open_rw(int argc, char **argv)
{
	if (argc != 1)
		usage();
	return do_open(argv[0], "rdwr");
}

static int cmd_zeros(int argc, char **argv)
{
	off_t off, len, done = 0;
	uint8_t *buf;
	int fd;

	if (argc != 3)
		usage();
	off = parse_size(argv[1]);
	len = parse_size(argv[2]);
	buf = malloc(IO_CHUNK);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	fd = open(argv[0], O_RDONLY);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	while (done < len) {
		size_t want = len - done < IO_CHUNK ? (size_t)(len - done) :
						      IO_CHUNK;
		ssize_t n = pread(fd, buf, want, off + done);

		if (n == -1)
			return sys_fail("pread", argv[0], errno);
		if (n == 0) {
			printf("mismatch\n");
			fprintf(stderr, "%s: zeros %s: file ends at %jd\n",
				prog, argv[0], (intmax_t)(off + done));
			return EXIT_MISMATCH;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i]) {
				printf("mismatch\n");
				fprintf(stderr, "%s: zeros %s: byte at %jd is 0x%02x\n",
					prog, argv[0],
					(intmax_t)(off + done + i), buf[i]);
				return EXIT_MISMATCH;
			}
		}
		done += n;
	}
	close(fd);
	free(buf);
	printf("ok\n");
	return 0;
}

/*
 * Walk the FIEMAP extents of PATH inside [0, st_size): count those with
 * FIEMAP_EXTENT_SHARED, or print each one.
 */
static int walk_fiemap(const char *path, bool print, long *shared)
{
	enum { NEXT = 64 };
	struct fiemap *fm;
	struct stat st;
	uint64_t pos = 0;
	bool last = false;
	int fd;

	*shared = 0;
	fd = open(path, O_RDONLY);
	if (fd == -1)
		return sys_fail("open", path, errno);
	if (fstat(fd, &st) == -1)
		return sys_fail("fstat", path, errno);
	fm = calloc(1, sizeof(*fm) + NEXT * sizeof(struct fiemap_extent));
	if (!fm)
		return sys_fail("calloc", path, ENOMEM);
	while (!last && pos < (uint64_t)st.st_size) {
		fm->fm_start = pos;
		fm->fm_length = (uint64_t)st.st_size - pos;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = NEXT;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) == -1)
			return sys_fail("FS_IOC_FIEMAP", path, errno);
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *fe = &fm->fm_extents[i];

			if (print)
				printf("%" PRIu64 " %" PRIu64 " 0x%x\n",
				       (uint64_t)fe->fe_logical,
				       (uint64_t)fe->fe_length,
				       (unsigned int)fe->fe_flags);
			if (fe->fe_flags & FIEMAP_EXTENT_SHARED)
				(*shared)++;
			if (fe->fe_logical + fe->fe_length > pos)
				pos = fe->fe_logical + fe->fe_length;
			if (fe->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
	}
	free(fm);
	close(fd);
	return 0;
}

static int cmd_shared(int argc, char **argv)
{
	long shared;
	int ret;

	if (argc != 1)
		usage();
	ret = walk_fiemap(argv[0], false, &shared);
	if (ret)
		return ret;
	printf("%ld\n", shared);
	return 0;
}

static int cmd_fiemap(int argc, char **argv)
{
	long shared;

	if (argc != 1)
		usage();
	return walk_fiemap(argv[0], true, &shared);
}

/* ---- Namespace and attribute calls (t-users, t-reserve, t-contain) ---- */

/* "0755", "2775": permission bits in octal, or exit 2. */
static mode_t parse_mode(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end != '\0' || v > 07777) {
		fprintf(stderr, "%s: bad mode '%s'\n", prog, s);
		exit(EXIT_USAGE);
	}
	return (mode_t)v;
}

/* "1234" or "-1" (unchanged): an id for chown, or exit 2. */
static unsigned int parse_id(const char *s)
{
	unsigned long v;
	char *end;

	if (!strcmp(s, "-1"))
		return (unsigned int)-1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || *s == '-' || v >= UINT_MAX) {
		fprintf(stderr, "%s: bad id '%s'\n", prog, s);
		exit(EXIT_USAGE);
	}
	return (unsigned int)v;
}

/* Print "ok" for a call that returned 0, or report its errno. */
static int report(int ret, const char *what, const char *path)
{
	if (ret == -1)
		return sys_fail(what, path, errno);
	printf("ok\n");
	return 0;
}

static int cmd_mkdir(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(mkdir(argv[0], parse_mode(argv[1])), "mkdir", argv[0]);
}

static int cmd_mkfifo(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(mknod(argv[0], S_IFIFO | parse_mode(argv[1]), 0),
		      "mknod", argv[0]);
}

static int cmd_create(int argc, char **argv)
{
	int fd;

	if (argc != 2)
		usage();
	fd = open(argv[0], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  parse_mode(argv[1]));
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	return report(close(fd), "close", argv[0]);
}

static int cmd_symlink(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(symlink(argv[0], argv[1]), "symlink", argv[1]);
}

static int cmd_link(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(link(argv[0], argv[1]), "link", argv[1]);
}

static int cmd_rename(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(rename(argv[0], argv[1]), "rename", argv[0]);
}

static int cmd_unlink(int argc, char **argv)
{
	if (argc != 1)
		usage();
	return report(unlink(argv[0]), "unlink", argv[0]);
}

static int cmd_rmdir(int argc, char **argv)
{
	if (argc != 1)
		usage();
	return report(rmdir(argv[0]), "rmdir", argv[0]);
}

static int cmd_chmod(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(chmod(argv[0], parse_mode(argv[1])), "chmod", argv[0]);
}

static int cmd_chown(int argc, char **argv)
{
	if (argc != 3)
		usage();
	return report(lchown(argv[0], (uid_t)parse_id(argv[1]),
			     (gid_t)parse_id(argv[2])),
		      "lchown", argv[0]);
}

static int cmd_utimes(int argc, char **argv)
{
	struct timespec ts[2];

	if (argc != 2)
		usage();
	if (!strcmp(argv[1], "now"))
		return report(utimensat(AT_FDCWD, argv[0], NULL, 0),
			      "utimensat", argv[0]);
	ts[0].tv_sec = (time_t)parse_size(argv[1]);
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	return report(utimensat(AT_FDCWD, argv[0], ts, 0), "utimensat",
		      argv[0]);
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFSOCK: return "sock";
	default: return "?";
	}
}

static int cmd_stat(int argc, char **argv)
{
	struct stat st;

	if (argc != 1)
		usage();
	if (lstat(argv[0], &st) == -1)
		return sys_fail("lstat", argv[0], errno);
	printf("%s %04o %u %u %jd\n", type_name(st.st_mode),
	       (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid,
	       (unsigned int)st.st_gid, (intmax_t)st.st_size);
	return 0;
}

static int cmd_readlink(int argc, char **argv)
{
	char buf[PATH_MAX + 1];
	ssize_t n;

	if (argc != 1)
		usage();
	n = readlink(argv[0], buf, sizeof(buf) - 1);
	if (n == -1)
		return sys_fail("readlink", argv[0], errno);
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

static int cmd_append(int argc, char **argv)
{
	off_t len, done = 0;
	uint8_t *buf;
	int fd;

	if (argc != 2)
		usage();
	len = parse_size(argv[1]);
	if ((uint64_t)len > SIZE_MAX)
		usage();
	buf = malloc(len ? (size_t)len : 1);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	pattern_fill(buf, 0, (size_t)len);
	fd = open(argv[0], O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	while (done < len) {
		ssize_t n = write(fd, buf + done, (size_t)(len - done));

		if (n == -1) {
			int err = errno;

			fprintf(stderr, "%s: append %s: failed after %jd of %jd bytes\n",
				prog, argv[0], (intmax_t)done, (intmax_t)len);
			return sys_fail("write", argv[0], err);
		}
		done += n;
	}
	free(buf);
	return report(close(fd), "close", argv[0]);
}

static int cmd_setxattr(int argc, char **argv)
{
	off_t len;
	char *val;
	int ret;

	if (argc != 3)
		usage();
	len = parse_size(argv[2]);
	if (len > 1 << 20)
		usage();
	val = malloc(len ? (size_t)len : 1);
	if (!val)
		return sys_fail("malloc", argv[0], ENOMEM);
	memset(val, 'x', (size_t)len);
	ret = setxattr(argv[0], argv[1], val, (size_t)len, 0);
	free(val);
	return report(ret, "setxattr", argv[0]);
}

/* Failed calls, counted per errno, for the loops below. */
struct err_counts {
	long n[256];
};

static void err_count(struct err_counts *c, int err)
{
	c->n[err > 0 && err < 256 ? err : 0]++;
}

static void err_print(const struct err_counts *c)
{
	for (int e = 0; e < 256; e++)
		if (c->n[e])
			printf(" %s %ld", e ? errno_name(e) : "E?", c->n[e]);
	printf("\n");
}

static int cmd_walk(int argc, char **argv)
{
	struct err_counts errs = { { 0 } };
	char **names = NULL;
	size_t n = 0, cap = 0, ok = 0;
	struct dirent *de;
	DIR *dp;

	if (argc != 1)
		usage();
	dp = opendir(argv[0]);
	if (!dp)
		return sys_fail("opendir", argv[0], errno);
	/* All names first (a listing), then the stats (lookups). */
	for (;;) {
		errno = 0;
		de = readdir(dp);
		if (!de) {
			if (errno)
				return sys_fail("readdir", argv[0], errno);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				return sys_fail("realloc", argv[0], ENOMEM);
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			return sys_fail("strdup", argv[0], ENOMEM);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (fstatat(dirfd(dp), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			ok++;
		else
			err_count(&errs, errno);
		free(names[i]);
	}
	free(names);
	closedir(dp);
	printf("names %zu ok %zu", n, ok);
	err_print(&errs);
	return 0;
}

static int cmd_mkfiles(int argc, char **argv)
{
	long count;
	int dfd;

	if (argc != 2)
		usage();
	count = (long)parse_size(argv[1]);
	dfd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return sys_fail("open", argv[0], errno);
	for (long i = 0; i < count; i++) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "f%ld", i);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			    0644);
		if (fd == -1)
			return sys_fail("openat", name, errno);
		close(fd);
	}
	close(dfd);
	printf("ok\n");
	return 0;
}

/* Entries in DIR but "." and "..", or -1. */
static long count_entries(const char *dir)
{
	struct dirent *de;
	long n = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return -1;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_renameloop(int argc, char **argv)
{
	struct timespec pause = { .tv_nsec = 2 * 1000 * 1000 };
	double end;
	long cycles = 0, grew = 0;

	if (argc != 3)
		usage();
	end = now_seconds() + (double)parse_size(argv[2]);
	while (now_seconds() < end) {
		long before, after;

		if (rename(argv[0], argv[1]) == -1)
			return sys_fail("rename", argv[0], errno);
		before = count_entries(argv[1]);
		nanosleep(&pause, NULL);
		after = count_entries(argv[1]);
		if (rename(argv[1], argv[0]) == -1)
			return sys_fail("rename", argv[1], errno);
		if (after > before)
			grew++;
		cycles++;
		nanosleep(&pause, NULL);
	}
	printf("cycles %ld grew %ld\n", cycles, grew);
	return 0;
}

static int cmd_createloop(int argc, char **argv)
{
	struct err_counts errs = { { 0 } };
	char path[PATH_MAX];
	const char *dir;
	double end;
	long loops = 0, created = 0;
	struct stat st;

	if (argc != 2)
		usage();
	dir = argv[0];
	end = now_seconds() + (double)parse_size(argv[1]);
	for (long i = 0; now_seconds() < end; i++, loops++) {
		int fd;

		snprintf(path, sizeof(path), "%s/d", dir);
		if (stat(path, &st) == -1)
			err_count(&errs, errno);
		snprintf(path, sizeof(path), "%s/d/f%ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1) {
			err_count(&errs, errno);
		} else {
			close(fd);
			created++;
		}
		snprintf(path, sizeof(path), "%s/d/../g%ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1) {
			err_count(&errs, errno);
		} else {
			close(fd);
			created++;
		}
		snprintf(path, sizeof(path), "%s/d/x%ld", dir, i);
		if (mkdir(path, 0755) == -1)
			err_count(&errs, errno);
		else if (rmdir(path) == -1)
			err_count(&errs, errno);
		snprintf(path, sizeof(path), "%s/d/../../..", dir);
		if (stat(path, &st) == -1)
			err_count(&errs, errno);
	}
	printf("loops %ld created %ld", loops, created);
	err_print(&errs);
	return 0;
}

/*
 * byhandle: name_to_handle_at(PATH), optionally make the kernel forget its
 * inodes (drop_caches), open_by_handle_at() relative to MOUNTDIR, then print
 * for each REL "REL PATH-OF-openat(fd, REL)" or "REL ENAME".
 */
static int cmd_byhandle(int argc, char **argv)
{
	struct file_handle *fh;
	bool drop = false;
	int first = 2, mount_id, mfd, fd;

	if (argc < 2)
		usage();
	if (argc > 2 && !strcmp(argv[2], "--drop")) {
		drop = true;
		first = 3;
	}
	fh = calloc(1, sizeof(*fh) + MAX_HANDLE_SZ);
	if (!fh)
		return sys_fail("calloc", argv[0], ENOMEM);
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, argv[0], fh, &mount_id, 0) == -1)
		return sys_fail("name_to_handle_at", argv[0], errno);
	mfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd == -1)
		return sys_fail("open", argv[1], errno);
	if (drop) {
		struct timespec ts = { .tv_nsec = 500 * 1000 * 1000 };
		int dfd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

		sync();
		if (dfd == -1 || write(dfd, "2\n", 2) != 2)
			return sys_fail("drop_caches", argv[0], errno);
		close(dfd);
		nanosleep(&ts, NULL);
	}
	fd = open_by_handle_at(mfd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return sys_fail("open_by_handle_at", argv[0], errno);
	for (int i = first; i < argc; i++) {
		char proc[64], target[PATH_MAX];
		int rfd = openat(fd, argv[i], O_PATH | O_CLOEXEC);
		ssize_t n;

		if (rfd == -1) {
			printf("%s %s\n", argv[i], errno_name(errno));
			continue;
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rfd);
		n = readlink(proc, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		printf("%s %s\n", argv[i], target);
		close(rfd);
	}
	close(fd);
	close(mfd);
	free(fh);
	return 0;
}

/*
 * syslog-recv SOCKET OUTFILE SECONDS: a stand-in for a syslog daemon.  Bind
 * a datagram socket at SOCKET (e.g. /dev/log in a private mount namespace)
 * and append every message, one a line, to OUTFILE, for SECONDS.
 */
static int cmd_syslog_recv(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[4096];
	time_t end;
	FILE *out;
	int s;

	if (argc != 3 || strlen(argv[0]) >= sizeof(sa.sun_path))
		usage();
	end = time(NULL) + atoi(argv[2]);
	out = fopen(argv[1], "a");
	if (!out)
		return sys_fail("fopen", argv[1], errno);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s == -1)
		return sys_fail("socket", argv[0], errno);
	strcpy(sa.sun_path, argv[0]);
	unlink(argv[0]);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		return sys_fail("bind", argv[0], errno);
	chmod(argv[0], 0666);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(s, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		/* syslog(3) may end a message with a newline: one a line. */
		while (n > 0 && msg[n - 1] == '\n')
			n--;
		msg[n] = '\0';
		fprintf(out, "%s\n", msg);
		fflush(out);
	}
	close(s);
	fclose(out);
	return 0;
}

/* --- Permission probes (t-perms, t-acl, t-groups). --- */

static int parse_access_mode(const char *s)
{
	int mode = 0;

	for (; *s; s++) {
		switch (*s) {
		case 'r': mode |= R_OK; break;
		case 'w': mode |= W_OK; break;
		case 'x': mode |= X_OK; break;
		case 'f': break;
		default: usage();
		}
	}
	return mode;
}

static int cmd_access(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(access(argv[0], parse_access_mode(argv[1])), "access",
		      argv[0]);
}

static int cmd_eaccess(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(faccessat(AT_FDCWD, argv[0], parse_access_mode(argv[1]),
				AT_EACCESS),
		      "faccessat", argv[0]);
}

static int cmd_read(int argc, char **argv)
{
	char c;
	int fd;

	if (argc != 1)
		usage();
	fd = open(argv[0], O_RDONLY);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	if (read(fd, &c, 1) == -1) {
		int err = errno;

		close(fd);
		return sys_fail("read", argv[0], err);
	}
	close(fd);
	printf("ok\n");
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	struct dirent *de;
	long n = 0;
	DIR *dp;

	if (argc != 1)
		usage();
	dp = opendir(argv[0]);
	if (!dp)
		return sys_fail("opendir", argv[0], errno);
	errno = 0;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (errno) {
		int err = errno;

		closedir(dp);
		return sys_fail("readdir", argv[0], err);
	}
	closedir(dp);
	printf("%ld\n", n);
	return 0;
}

static int cmd_getxattr(int argc, char **argv)
{
	ssize_t n;

	if (argc != 2)
		usage();
	n = getxattr(argv[0], argv[1], NULL, 0);
	if (n == -1)
		return sys_fail("getxattr", argv[0], errno);
	printf("%zd\n", n);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_listxattr(int argc, char **argv)
{
	char buf[65536];
	char *names[4096];
	size_t count = 0;
	ssize_t n;

	if (argc != 1)
		usage();
	n = llistxattr(argv[0], buf, sizeof(buf));
	if (n == -1)
		return sys_fail("listxattr", argv[0], errno);
	for (char *p = buf; p < buf + n && count < 4096; p += strlen(p) + 1)
		names[count++] = p;
	qsort(names, count, sizeof(names[0]), cmp_str);
	if (!count)
		printf("-");
	for (size_t i = 0; i < count; i++)
		printf("%s%s", i ? "," : "", names[i]);
	printf("\n");
	return 0;
}

static int cmd_removexattr(int argc, char **argv)
{
	if (argc != 2)
		usage();
	return report(removexattr(argv[0], argv[1]), "removexattr", argv[0]);
}

static int cmd_umask_mkdir(int argc, char **argv)
{
	if (argc != 3)
		usage();
	umask(parse_mode(argv[2]));
	return report(mkdir(argv[0], parse_mode(argv[1])), "mkdir", argv[0]);
}

static int cmd_umask_create(int argc, char **argv)
{
	int fd;

	if (argc != 3)
		usage();
	umask(parse_mode(argv[2]));
	fd = open(argv[0], O_WRONLY | O_CREAT | O_EXCL, parse_mode(argv[1]));
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	close(fd);
	printf("ok\n");
	return 0;
}

/* ---- Copies, tmpfs, O_DIRECT, long writes (t-xfs-copy, t-tmpfs-eof,
 * ---- t-odirect, t-write-gap) ---- */

/* "0x5a", "90": a byte value, or exit 2. */
static uint8_t parse_byte(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end != '\0' || v > 255) {
		fprintf(stderr, "%s: bad byte '%s'\n", prog, s);
		exit(EXIT_USAGE);
	}
	return (uint8_t)v;
}

/*
 * mmapbyte PATH SIZE BYTE [--msync] [--ready FILE] [--go FILE]: open an
 * existing file O_RDWR, map [0, SIZE) MAP_SHARED, store BYTE into every
 * byte page by page, msync if asked, then munmap and close (each checked).
 * --ready/--go as for mmapwrite: once mapped, create FILE, then wait for
 * FILE before the first store.  A SIGBUS kills (135).
 */
static int cmd_mmapbyte(int argc, char **argv)
{
	const char *path, *ready = NULL, *go = NULL;
	struct sigaction sa = { 0 };
	long page = sysconf(_SC_PAGESIZE);
	bool do_msync = false;
	uint8_t *map, byte;
	off_t size;
	int fd;

	if (argc < 3)
		usage();
	path = argv[0];
	size = parse_size(argv[1]);
	byte = parse_byte(argv[2]);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--msync"))
			do_msync = true;
		else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = argv[++i];
		else if (!strcmp(argv[i], "--go") && i + 1 < argc)
			go = argv[++i];
		else
			usage();
	}
	if (size == 0 || (uint64_t)size > SIZE_MAX)
		usage();
	fd = open(path, O_RDWR);
	if (fd == -1)
		return sys_fail("open", path, errno);
	map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (map == MAP_FAILED)
		return sys_fail("mmap", path, errno);
	map_base = map;
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) == -1)
		return sys_fail("sigaction", "SIGBUS", errno);
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT, 0644);

		if (rfd == -1)
			return sys_fail("open", ready, errno);
		close(rfd);
	}
	if (go && wait_for_file(go))
		return EXIT_USAGE;
	for (off_t off = 0; off < size; off += page)
		memset(map + off, byte,
		       (size_t)(size - off < page ? size - off : page));
	if (do_msync && msync(map, (size_t)size, MS_SYNC) == -1)
		return sys_fail("msync", path, errno);
	if (munmap(map, (size_t)size) == -1)
		return sys_fail("munmap", path, errno);
	if (close(fd) == -1)
		return sys_fail("close", path, errno);
	printf("ok\n");
	return 0;
}

/*
 * isbyte PATH SIZE BYTE: read [0, SIZE) and check that every byte is BYTE.
 * "ok", or "mismatch" (exit 3) with the number of other bytes on stderr.
 */
static int cmd_isbyte(int argc, char **argv)
{
	off_t size, done = 0, bad = 0, first = -1;
	uint8_t *buf, byte;
	int fd;

	if (argc != 3)
		usage();
	size = parse_size(argv[1]);
	byte = parse_byte(argv[2]);
	buf = malloc(IO_CHUNK);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	fd = open(argv[0], O_RDONLY);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	while (done < size) {
		size_t want = size - done < IO_CHUNK ? (size_t)(size - done) :
						       IO_CHUNK;
		ssize_t n = pread(fd, buf, want, done);

		if (n == -1)
			return sys_fail("pread", argv[0], errno);
		if (n == 0) {
			bad += size - done;
			if (first < 0)
				first = done;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == byte)
				continue;
			if (first < 0)
				first = done + i;
			bad++;
		}
		done += n;
	}
	close(fd);
	free(buf);
	if (bad) {
		printf("mismatch\n");
		fprintf(stderr, "%s: isbyte %s: %jd of %jd bytes are not 0x%02x (first at %jd)\n",
			prog, argv[0], (intmax_t)bad, (intmax_t)size, byte,
			(intmax_t)first);
		return EXIT_MISMATCH;
	}
	printf("ok\n");
	return 0;
}

/*
 * odirect PATH CHUNK: open PATH O_WRONLY|O_CREAT|O_TRUNC|O_DIRECT and write
 * CHUNK bytes at a time from a page-aligned buffer until a write fails.
 * Prints "short" for every short write, then the errno name of the failing
 * write (exit 1); the bytes written go to stderr.
 */
static int cmd_odirect(int argc, char **argv)
{
	off_t chunk, total = 0;
	void *buf;
	int fd, err;

	if (argc != 2)
		usage();
	chunk = parse_size(argv[1]);
	if (chunk == 0 || chunk % 4096 || (uint64_t)chunk > SIZE_MAX)
		usage();
	if (posix_memalign(&buf, 4096, (size_t)chunk))
		return sys_fail("posix_memalign", argv[0], ENOMEM);
	pattern_fill(buf, 0, (size_t)chunk);
	fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	for (;;) {
		ssize_t n = write(fd, buf, (size_t)chunk);

		if (n == -1) {
			err = errno;
			break;
		}
		total += n;
		if (n < chunk) {
			printf("short\n");
			/* An O_DIRECT file offset must stay aligned. */
			if (total % 4096 &&
			    lseek(fd, total -= total % 4096, SEEK_SET) == -1)
				return sys_fail("lseek", argv[0], errno);
		}
	}
	fprintf(stderr, "%s: odirect %s: %jd bytes written\n", prog, argv[0],
		(intmax_t)total);
	close(fd);
	free(buf);
	return sys_fail("write", argv[0], err);
}

/*
 * pwrite1 PATH OFFSET LEN: one pwrite(2) of the pattern for
 * [OFFSET, OFFSET+LEN), not continued: prints the count it returned.
 */
static int cmd_pwrite1(int argc, char **argv)
{
	off_t off, len;
	uint8_t *buf;
	ssize_t n;
	int fd;

	if (argc != 3)
		usage();
	off = parse_size(argv[1]);
	len = parse_size(argv[2]);
	if ((uint64_t)len > SIZE_MAX || off > INT64_MAX - len)
		usage();
	buf = malloc(len ? (size_t)len : 1);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	pattern_fill(buf, (uint64_t)off, (size_t)len);
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	n = pwrite(fd, buf, (size_t)len, off);
	if (n == -1)
		return sys_fail("pwrite", argv[0], errno);
	if (close(fd) == -1)
		return sys_fail("close", argv[0], errno);
	free(buf);
	printf("%zd\n", n);
	return 0;
}

/* --- t-stop: dirty mapped pages while the daemon is told to stop --- */

static void store_pages(uint8_t *map, off_t from, off_t to)
{
	long page = sysconf(_SC_PAGESIZE);

	/* Page by page, so each page is dirtied by a store of its own. */
	for (off_t off = from; off < to; off += page) {
		size_t len = (size_t)(to - off < page ? to - off : page);

		pattern_fill(map + off, (uint64_t)off, len);
	}
}

static int cmd_mapstop(int argc, char **argv)
{
	const char *path;
	struct sigaction sa = { 0 };
	off_t size1, size2;
	uint8_t *map;
	int fd, rfd;

	if (argc != 5)
		usage();
	path = argv[0];
	size1 = parse_size(argv[1]);
	size2 = parse_size(argv[2]);
	if (size2 == 0 || size1 > size2 || (uint64_t)size2 > SIZE_MAX)
		usage();
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd == -1)
		return sys_fail("open", path, errno);
	if (ftruncate(fd, size2) == -1)
		return sys_fail("ftruncate", path, errno);
	map = mmap(NULL, (size_t)size2, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (map == MAP_FAILED)
		return sys_fail("mmap", path, errno);
	map_base = map;
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) == -1)
		return sys_fail("sigaction", "SIGBUS", errno);

	store_pages(map, 0, size1);
	rfd = open(argv[3], O_WRONLY | O_CREAT, 0644);
	if (rfd == -1)
		return sys_fail("open", argv[3], errno);
	close(rfd);
	if (wait_for_file(argv[4]))
		return EXIT_USAGE;
	store_pages(map, size1, size2);

	if (msync(map, (size_t)size2, MS_SYNC) == -1)
		return sys_fail("msync", path, errno);
	if (munmap(map, (size_t)size2) == -1)
		return sys_fail("munmap", path, errno);
	if (close(fd) == -1)
		return sys_fail("close", path, errno);
	printf("ok\n");
	return 0;
}

static int cmd_pagematch(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *buf, *want;
	off_t size, match = 0;
	int fd;

	if (argc != 2)
		usage();
	size = parse_size(argv[1]);
	buf = malloc((size_t)page);
	want = malloc((size_t)page);
	if (!buf || !want)
		return sys_fail("malloc", argv[0], ENOMEM);
	fd = open(argv[0], O_RDONLY);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	for (off_t off = 0; off + page <= size; off += page) {
		ssize_t n = pread(fd, buf, (size_t)page, off);

		if (n == -1)
			return sys_fail("pread", argv[0], errno);
		if (n < page)
			break;
		pattern_fill(want, (uint64_t)off, (size_t)page);
		if (!memcmp(buf, want, (size_t)page))
			match += page;
	}
	close(fd);
	free(buf);
	free(want);
	printf("%jd\n", (intmax_t)match);
	return 0;
}

/* --- t-cache: what a mapping shows, before and after a change. */

static void mmapsum_print(const unsigned char *p, off_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (off_t i = 0; i < size; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	printf("%jd %016llx\n", (intmax_t)size, (unsigned long long)h);
}

static int cmd_mmapsum(int argc, char **argv)
{
	unsigned char *p = NULL;
	struct stat st;
	int fd;

	if (argc != 1 && argc != 3)
		usage();
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	if (fstat(fd, &st) == -1)
		return sys_fail("fstat", argv[0], errno);
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd,
			 0);
		if (p == MAP_FAILED)
			return sys_fail("mmap", argv[0], errno);
	}
	mmapsum_print(p, st.st_size);
	if (argc == 3) {
		int rfd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (rfd == -1)
			return sys_fail("open", argv[1], errno);
		close(rfd);
		if (wait_for_file(argv[2]))
			return EXIT_FAILURE;
		mmapsum_print(p, st.st_size);
	}
	if (p)
		munmap(p, (size_t)st.st_size);
	close(fd);
	return 0;
}

/*
 * -o passthrough (t-passthrough).
 *
 * gapstore PATH OFF LEN: in one open, pwrite LEN bytes at OFF (past
 * end-of-file: the write leaves a gap), then store through a shared
 * mapping into the whole gap [old size, OFF) and msync.  "ok", or the
 * errno of the failing call; a store into an unallocatable hole raises
 * SIGBUS (exit status 135 in the shell).
 */
static int cmd_gapstore(int argc, char **argv)
{
	off_t off, len, old;
	struct stat st;
	uint8_t *buf, *map;
	int fd;

	if (argc != 3)
		usage();
	off = parse_size(argv[1]);
	len = parse_size(argv[2]);
	fd = open(argv[0], O_RDWR | O_CREAT, 0644);
	if (fd == -1)
		return sys_fail("open", argv[0], errno);
	if (fstat(fd, &st) == -1)
		return sys_fail("fstat", argv[0], errno);
	old = st.st_size;
	buf = malloc((size_t)len);
	if (!buf)
		return sys_fail("malloc", argv[0], ENOMEM);
	pattern_fill(buf, (uint64_t)off, (size_t)len);
	if (pwrite(fd, buf, (size_t)len, off) != len)
		return sys_fail("pwrite", argv[0], errno ? errno : EIO);
	map = mmap(NULL, (size_t)(off + len), PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return sys_fail("mmap", argv[0], errno);
	/* SIGBUS kills, also under ASan (which would catch it and exit 1). */
	if (sigaction(SIGBUS, &(struct sigaction){ .sa_handler = SIG_DFL },
		      NULL) == -1)
		return sys_fail("sigaction", "SIGBUS", errno);
	memset(map + old, 0x5a, (size_t)(off - old));
	if (msync(map, (size_t)(off + len), MS_SYNC) == -1)
		return sys_fail("msync", argv[0], errno);
	munmap(map, (size_t)(off + len));
	free(buf);
	if (close(fd) == -1)
		return sys_fail("close", argv[0], errno);
	printf("ok\n");
	return 0;
}

/*
 * openmix PATH SECONDS: for SECONDS, open PATH read-only and read-write in
 * changing orders with overlapping lifetimes, read, write one byte inside
 * the file, and store one byte through a mapping.  "ok N" (N rounds), or
 * the errno name of the first failure.  Several at once on one file
 * exercise the kernel's rule that an inode's opens are all passthrough or
 * all classic: no open may fail because of it.
 */
static int cmd_openmix(int argc, char **argv)
{
	time_t end;
	long rounds = 0;
	char c;

	if (argc != 2)
		usage();
	end = time(NULL) + atoi(argv[1]);
	while (time(NULL) < end) {
		int ro = open(argv[0], O_RDONLY);
		int rw, rw2;
		uint8_t *map;

		if (ro == -1)
			return sys_fail("open O_RDONLY", argv[0], errno);
		rw = open(argv[0], rounds % 2 ? O_RDWR : O_WRONLY);
		if (rw == -1)
			return sys_fail("open for writing", argv[0], errno);
		if (pread(ro, &c, 1, 0) != 1)
			return sys_fail("pread", argv[0], errno ? errno : EIO);
		close(ro);
		if (pwrite(rw, "x", 1, rounds % 4096) != 1)
			return sys_fail("pwrite", argv[0], errno ? errno : EIO);
		rw2 = open(argv[0], O_RDWR);
		if (rw2 == -1)
			return sys_fail("open O_RDWR", argv[0], errno);
		close(rw);
		map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw2,
			   0);
		if (map == MAP_FAILED)
			return sys_fail("mmap", argv[0], errno);
		close(rw2);
		/* The mapping outlives its open: the file is released later. */
		map[rounds % 4096] = 'y';
		ro = open(argv[0], O_RDONLY);
		if (ro == -1)
			return sys_fail("open O_RDONLY (mapped)", argv[0], errno);
		munmap(map, 4096);
		close(ro);
		rounds++;
	}
	printf("ok %ld\n", rounds);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "truncate", cmd_truncate },
	{ "ftruncate", cmd_ftruncate },
	{ "mmapwrite", cmd_mmapwrite },
	{ "verify", cmd_verify },
	{ "pwrite", cmd_pwrite },
	{ "holes", cmd_holes },
	{ "fill", cmd_fill },
	{ "copyrange", cmd_copyrange },
	{ "fallocate", cmd_fallocate },
	{ "punch", cmd_punch },
	{ "open", cmd_open },
	{ "open-rw", cmd_open_rw },
	{ "zeros", cmd_zeros },
	{ "shared", cmd_shared },
	{ "fiemap", cmd_fiemap },
	{ "mkdir", cmd_mkdir },
	{ "mkfifo", cmd_mkfifo },
	{ "create", cmd_create },
	{ "symlink", cmd_symlink },
	{ "link", cmd_link },
	{ "rename", cmd_rename },
	{ "unlink", cmd_unlink },
	{ "rmdir", cmd_rmdir },
	{ "chmod", cmd_chmod },
	{ "chown", cmd_chown },
	{ "utimes", cmd_utimes },
	{ "stat", cmd_stat },
	{ "readlink", cmd_readlink },
	{ "append", cmd_append },
	{ "setxattr", cmd_setxattr },
	{ "walk", cmd_walk },
	{ "mkfiles", cmd_mkfiles },
	{ "renameloop", cmd_renameloop },
	{ "createloop", cmd_createloop },
	{ "byhandle", cmd_byhandle },
	{ "syslog-recv", cmd_syslog_recv },
	{ "access", cmd_access },
	{ "eaccess", cmd_eaccess },
	{ "read", cmd_read },
	{ "ls", cmd_ls },
	{ "getxattr", cmd_getxattr },
	{ "listxattr", cmd_listxattr },
	{ "removexattr", cmd_removexattr },
	{ "umask-mkdir", cmd_umask_mkdir },
	{ "umask-create", cmd_umask_create },
	{ "mmapbyte", cmd_mmapbyte },
	{ "isbyte", cmd_isbyte },
	{ "odirect", cmd_odirect },
	{ "pwrite1", cmd_pwrite1 },
	{ "mapstop", cmd_mapstop },
	{ "pagematch", cmd_pagematch },
	{ "gapstore", cmd_gapstore },
	{ "openmix", cmd_openmix },
	{ "mmapsum", cmd_mmapsum },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* Results go to a pipe: keep them in order with stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	usage();
}
