// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ptbench DIR OP: one timed data-path measure in DIR, for bench/passthrough.sh.
 * Prints the seconds it took.  OPs:
 *   write4k   64 MiB of 4 KiB pwrite()s at end-of-file into a new file
 *   mkread    make the 256 MiB file the read measures use (not timed)
 *   read      read the 256 MiB file in 1 MiB read()s (cold or warm: the
 *             caller drops the caches or not)
 *   rand4k    20000 4 KiB pread()s at random page offsets of that file
 *   mmap      ftruncate a new file to 64 MiB, store into every byte through
 *             a shared mapping, msync
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	static char buf[MIB];
	char path[4096];
	double t0;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: ptbench DIR write4k|mkread|read|rand4k|mmap\n");
		return 2;
	}
	memset(buf, 0x5a, sizeof(buf));
	if (!strcmp(argv[2], "write4k")) {
		snprintf(path, sizeof(path), "%s/w4k", argv[1]);
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1)
			die(path);
		t0 = now();
		for (off_t off = 0; off < 64 * MIB; off += 4096)
			if (pwrite(fd, buf, 4096, off) != 4096)
				die("pwrite");
	} else if (!strcmp(argv[2], "mkread")) {
		snprintf(path, sizeof(path), "%s/r256", argv[1]);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1)
			die(path);
		for (int i = 0; i < 256; i++)
			if (write(fd, buf, MIB) != MIB)
				die("write");
		fsync(fd);
		close(fd);
		return 0;
	} else if (!strcmp(argv[2], "read")) {
		snprintf(path, sizeof(path), "%s/r256", argv[1]);
		fd = open(path, O_RDONLY);
		if (fd == -1)
			die(path);
		t0 = now();
		while (read(fd, buf, MIB) > 0)
			;
	} else if (!strcmp(argv[2], "rand4k")) {
		snprintf(path, sizeof(path), "%s/r256", argv[1]);
		fd = open(path, O_RDONLY);
		if (fd == -1)
			die(path);
		srandom(1);
		t0 = now();
		for (int i = 0; i < 20000; i++)
			if (pread(fd, buf, 4096,
				  (off_t)(random() % (256 * MIB / 4096)) * 4096) !=
			    4096)
				die("pread");
	} else if (!strcmp(argv[2], "mmap")) {
		char *map;

		snprintf(path, sizeof(path), "%s/m64", argv[1]);
		unlink(path);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd == -1)
			die(path);
		t0 = now();
		if (ftruncate(fd, 64 * MIB) == -1)
			die("ftruncate");
		map = mmap(NULL, 64 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED)
			die("mmap");
		memset(map, 0x5a, 64 * MIB);
		if (msync(map, 64 * MIB, MS_SYNC) == -1)
			die("msync");
		munmap(map, 64 * MIB);
	} else {
		fprintf(stderr, "ptbench: unknown op %s\n", argv[2]);
		return 2;
	}
	close(fd);
	printf("%.6f\n", now() - t0);
	return 0;
}
