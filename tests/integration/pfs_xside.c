// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfs_xside: two processes on one file, one through the mount and one on the
 * backing directory (in-place mounting), for the tests that check that the
 * native filesystem's rules still hold between them (t-excl, t-locks).
 * Each subcommand takes two paths to the same file, P1 for the first
 * process and P2 for the second; given the same path twice it is the native
 * control.
 *
 *   exclrace P1 P2 SECONDS
 *        both processes, for SECONDS: open(O_CREAT|O_EXCL) the file, and
 *        when that succeeds write a byte, then unlink it.  Prints
 *        "wins W1 W2 both B": B counts the times both held the file as
 *        "exclusively" created at once (must be 0).
 *
 * Kept apart from pfs_tool.c so that it merges on its own.  Exit 0 with the
 * results on stdout, 1 when a system call failed unexpectedly, 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: pfs_xside exclrace P1 P2 SECONDS\n"
			"       pfs_xside locks P1 P2\n");
	exit(2);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- exclrace -------------------------------------------------------- */

struct excl_shared {
	atomic_int holders;	/* processes holding a file they created */
	atomic_long wins[2];
	atomic_long both;	/* signs that two held it at once */
};

static void excl_loop(struct excl_shared *sh, int who, const char *path,
		      double end)
{
	while (now_seconds() < end) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0644);
		struct stat st;

		if (fd == -1) {
			if (errno != EEXIST && errno != ENOENT) {
				perror("open");
				_exit(1);
			}
			continue;
		}
		atomic_fetch_add(&sh->wins[who], 1);
		/*
		 * Three signs that another process holds the same file: it
		 * is counted as held, it has the other's byte already, or
		 * it is gone before this process removes it.
		 */
		if (atomic_fetch_add(&sh->holders, 1) != 0)
			atomic_fetch_add(&sh->both, 1);
		else if (fstat(fd, &st) == 0 && st.st_size != 0)
			atomic_fetch_add(&sh->both, 1);
		if (write(fd, "x", 1) != 1) {
			perror("write");
			_exit(1);
		}
		atomic_fetch_sub(&sh->holders, 1);
		close(fd);
		if (unlink(path) == -1) {
			if (errno != ENOENT) {
				perror("unlink");
				_exit(1);
			}
			atomic_fetch_add(&sh->both, 1);
		}
	}
	_exit(0);
}

static int cmd_exclrace(int argc, char **argv)
{
	struct excl_shared *sh;
	pid_t pid[2];
	double end;
	int rc = 0;

	if (argc != 3)
		usage();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	end = now_seconds() + atof(argv[2]);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == -1) {
			perror("fork");
			return 1;
		}
		if (pid[i] == 0)
			excl_loop(sh, i, argv[i], end);
	}
	for (int i = 0; i < 2; i++) {
		int status;

		if (waitpid(pid[i], &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			rc = 1;
	}
	unlink(argv[0]);
	printf("wins %ld %ld both %ld\n", atomic_load(&sh->wins[0]),
	       atomic_load(&sh->wins[1]), atomic_load(&sh->both));
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "exclrace", cmd_exclrace },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	usage();
}
