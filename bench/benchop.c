// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * benchop DIR OP: one timed measure in DIR, for bench/bench.sh.  Prints the
 * seconds it took (set-up steps print nothing).  In C so that the timing is
 * the system calls, not an interpreter's loop.  OPs:
 *   mkwrite   make the allocated 64 MiB file "w" (not timed)
 *   pwrite    16384 4 KiB pwrite()s over "w" (no growth)
 *   pwrite400 the first 400 of them (bench.sh counts FUSE requests)
 *   mkread    make the 256 MiB file "r" (not timed)
 *   read      read "r" in 1 MiB read()s (cold or warm: the caller drops
 *             the caches or reads it first)
 *   rand4k    20000 4 KiB pread()s of "r" at random page offsets
 *   mmap      ftruncate a new file to 256 MiB, store into every page
 *             through a shared mapping, msync
 *   mmapfa    the same after posix_fallocate instead of ftruncate: the
 *             allocation preallocfs makes at the ftruncate, natively
 *   files     create (O_EXCL), stat and unlink 2000 files
 *   ftruncate grow a new file to 256 MiB with ftruncate
 *   fallocate grow a new file to 256 MiB with posix_fallocate
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static char buf[MIB];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd == -1)
		die(path);
	return fd;
}

static void make_file(const char *dir, const char *name, int mib)
{
	int fd = open_in(dir, name, O_WRONLY | O_CREAT | O_TRUNC);

	for (int i = 0; i < mib; i++)
		if (write(fd, buf, MIB) != MIB)
			die("write");
	if (fsync(fd) == -1)
		die("fsync");
	close(fd);
}

static void unlink_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) == -1)
		die(path);
}

static void op_files(const char *dir)
{
	char path[4096];
	struct stat st;
	int i, fd;

	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1)
			die(path);
		close(fd);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (stat(path, &st) == -1)
			die(path);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (unlink(path) == -1)
			die(path);
	}
}

int main(int argc, char **argv)
{
	const char *dir, *op;
	double t0 = 0, t1 = 0;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: benchop DIR mkwrite|pwrite|pwrite400|mkread|read|"
				"rand4k|mmap|mmapfa|files|ftruncate|fallocate\n");
		return 2;
	}
	dir = argv[1];
	op = argv[2];
	memset(buf, 0x5a, sizeof(buf));
	if (!strcmp(op, "mkwrite")) {
		make_file(dir, "w", 64);
		return 0;
	}
	if (!strcmp(op, "mkread")) {
		make_file(dir, "r", 256);
		return 0;
	}
	if (!strcmp(op, "pwrite") || !strcmp(op, "pwrite400")) {
		off_t end = op[6] ? 400 * 4096 : 64 * MIB;

		fd = open_in(dir, "w", O_WRONLY);
		t0 = now();
		for (off_t off = 0; off < end; off += 4096)
			if (pwrite(fd, buf, 4096, off) != 4096)
				die("pwrite");
		t1 = now();
		close(fd);
	} else if (!strcmp(op, "read")) {
		fd = open_in(dir, "r", O_RDONLY);
		t0 = now();
		while (read(fd, buf, MIB) > 0)
			;
		t1 = now();
		close(fd);
	} else if (!strcmp(op, "rand4k")) {
		fd = open_in(dir, "r", O_RDONLY);
		srandom(1);
		t0 = now();
		for (int i = 0; i < 20000; i++)
			if (pread(fd, buf, 4096,
				  (off_t)(random() % (256 * MIB / 4096)) * 4096) !=
			    4096)
				die("pread");
		t1 = now();
		close(fd);
	} else if (!strcmp(op, "mmap") || !strcmp(op, "mmapfa")) {
		char *map;

		t0 = now();
		fd = open_in(dir, "m", O_RDWR | O_CREAT | O_TRUNC);
		if (!strcmp(op, "mmapfa")) {
			if (posix_fallocate(fd, 0, 256 * MIB) != 0)
				die("posix_fallocate");
		} else if (ftruncate(fd, 256 * MIB) == -1) {
			die("ftruncate");
		}
		map = mmap(NULL, 256 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED)
			die("mmap");
		for (long off = 0; off < 256L * MIB; off += 4096)
			map[off] = 1;
		if (msync(map, 256 * MIB, MS_SYNC) == -1)
			die("msync");
		munmap(map, 256 * MIB);
		close(fd);
		t1 = now();
		unlink_in(dir, "m");
	} else if (!strcmp(op, "files")) {
		t0 = now();
		op_files(dir);
		t1 = now();
	} else if (!strcmp(op, "ftruncate") || !strcmp(op, "fallocate")) {
		fd = open_in(dir, "g", O_RDWR | O_CREAT | O_TRUNC);
		t0 = now();
		if (op[0] == 'f' && op[1] == 't') {
			if (ftruncate(fd, 256 * MIB) == -1)
				die("ftruncate");
		} else if (posix_fallocate(fd, 0, 256 * MIB) != 0) {
			die("posix_fallocate");
		}
		t1 = now();
		close(fd);
		unlink_in(dir, "g");
	} else {
		fprintf(stderr, "benchop: unknown op %s\n", op);
		return 2;
	}
	printf("%.6f\n", t1 - t0);
	return 0;
}
