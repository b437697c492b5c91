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
 *   locks P1 P2
 *        process A (this one) on P1 and processes B (children) on P2, one
 *        step per line: fcntl locks (F_SETLK, F_GETLK, F_SETLKW blocking
 *        until released, in both directions), POSIX release on close of
 *        any descriptor, one process's two descriptors, flock (also
 *        blocking), and a blocked F_SETLKW ended by a signal (EINTR) and by
 *        SIGKILL.  Prints a transcript; F_GETLK's l_pid as "holder" (the
 *        pid of the process holding the lock), or the raw value.
 *   manywait P1 P2 N PROBE
 *        A holds a write lock on P1; N processes wait for it in F_SETLKW on
 *        P2; meanwhile a stat and a read of PROBE must still be answered
 *        (within 5 s); then A unlocks and every waiter gets the lock in
 *        turn.  Prints "probe ok|stuck granted G".
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
			"       pfs_xside locks P1 P2\n"
			"       pfs_xside manywait P1 P2 N PROBE\n");
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

/* --- locks ----------------------------------------------------------- */

static const char *ename(int e)
{
	switch (e) {
	case 0: return "ok";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case EDEADLK: return "EDEADLK";
	case ENOLCK: return "ENOLCK";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

static int open_rw(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* fcntl lock call; 0 or errno. */
static int lk(int fd, int cmd, short type, off_t start, off_t len,
	      struct flock *out)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };
	int r = fcntl(fd, cmd, &fl);

	if (out)
		*out = fl;
	return r == -1 ? errno : 0;
}

static void print_getlk(const char *who, int err, const struct flock *fl,
			pid_t holder)
{
	if (err) {
		printf("%s: %s\n", who, ename(err));
	} else if (fl->l_type == F_UNLCK) {
		printf("%s: unlocked\n", who);
	} else if (fl->l_pid == holder) {
		printf("%s: %s %lld %lld pid=holder\n", who,
		       fl->l_type == F_WRLCK ? "W" : "R",
		       (long long)fl->l_start, (long long)fl->l_len);
	} else {
		printf("%s: %s %lld %lld pid=%d\n", who,
		       fl->l_type == F_WRLCK ? "W" : "R",
		       (long long)fl->l_start, (long long)fl->l_len,
		       fl->l_pid > 0 ? 1 : (int)fl->l_pid);
	}
}

/* A child process B: runs fn on its own open of path, reports on a pipe. */
struct child {
	pid_t pid;
	int from;	/* B's lines */
	int to;		/* to B: one byte = go on */
};

typedef void (*child_fn)(int fd, int to_parent, int from_parent, long arg);

static void say(int fd, const char *line)
{
	if (write(fd, line, strlen(line)) < 0)
		_exit(1);
}

static void wait_go(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(1);
}

static struct child spawn(const char *path, child_fn fn, long arg)
{
	int up[2], down[2];
	struct child c;

	if (pipe(up) == -1 || pipe(down) == -1) {
		perror("pipe");
		exit(1);
	}
	c.pid = fork();
	if (c.pid == -1) {
		perror("fork");
		exit(1);
	}
	if (c.pid == 0) {
		close(up[0]);
		close(down[1]);
		fn(open_rw(path), up[1], down[0], arg);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	c.from = up[0];
	c.to = down[1];
	return c;
}

/* One line from B (without the newline); "" at end of file. */
static const char *hear(const struct child *c)
{
	static char line[256];
	size_t n = 0;

	while (n + 1 < sizeof(line) && read(c->from, line + n, 1) == 1 &&
	       line[n] != '\n')
		n++;
	line[n] = '\0';
	return line;
}

static void go(const struct child *c)
{
	if (write(c->to, "g", 1) != 1)
		perror("write");
}

/* Reap B; its exit status, or 128+signal. */
static int reap(struct child *c)
{
	int status;

	close(c->from);
	close(c->to);
	if (waitpid(c->pid, &status, 0) == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
}

/* Is B still running after ms milliseconds? */
static bool still_running(const struct child *c, int ms)
{
	usleep((useconds_t)ms * 1000);
	return waitpid(c->pid, NULL, WNOHANG) == 0;
}

/* B: one fcntl request (arg: cmd << 16 | type << 8), then its result. */
static void b_fcntl(int fd, int up, int down, long arg)
{
	char line[128];
	struct flock fl;
	int cmd = (int)(arg >> 16), type = (int)((arg >> 8) & 0xff);
	int err = lk(fd, cmd, (short)type, arg & 1 ? 50 : 0, arg & 1 ? 10 : 100,
		     &fl);

	if (cmd == F_GETLK && !err)
		snprintf(line, sizeof(line), "%d %d %lld %lld %d\n", err,
			 fl.l_type, (long long)fl.l_start,
			 (long long)fl.l_len, (int)fl.l_pid);
	else
		snprintf(line, sizeof(line), "%d\n", err);
	say(up, line);
	(void)down;
}

static void b_getlk_print(const char *who, struct child *c, pid_t holder)
{
	struct flock fl = { 0 };
	int err, type, pid;
	long long start, len;

	if (sscanf(hear(c), "%d %d %lld %lld %d", &err, &type, &start, &len,
		   &pid) < 1)
		err = EIO;
	fl.l_type = (short)type;
	fl.l_start = start;
	fl.l_len = len;
	fl.l_pid = pid;
	print_getlk(who, err, &fl, holder);
	reap(c);
}

static void b_result_print(const char *who, struct child *c)
{
	printf("%s: %s\n", who, ename(atoi(hear(c))));
	reap(c);
}

/* B: hold a write lock on [0, 100) until told, then unlock after arg ms. */
static void b_hold(int fd, int up, int down, long arg)
{
	say(up, lk(fd, F_SETLK, F_WRLCK, 0, 100, NULL) ? "fail\n" : "held\n");
	wait_go(down);
	usleep((useconds_t)arg * 1000);
	lk(fd, F_SETLK, F_UNLCK, 0, 100, NULL);
	wait_go(down);
}

/* B: flock(arg) and its result; then hold until told. */
static void b_flock(int fd, int up, int down, long arg)
{
	char line[32];

	snprintf(line, sizeof(line), "%d\n",
		 flock(fd, (int)arg) == -1 ? errno : 0);
	say(up, line);
	wait_go(down);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* B: F_SETLKW on [0, 100), with SIGALRM (no SA_RESTART) after arg ms. */
static void b_setlkw_alarm(int fd, int up, int down, long arg)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	char line[32];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	if (arg)
		ualarm((useconds_t)arg * 1000, 0);
	snprintf(line, sizeof(line), "%d\n",
		 lk(fd, F_SETLKW, F_WRLCK, 0, 100, NULL));
	say(up, line);
	(void)down;
}

#define FCNTL_ARG(cmd, type, small) \
	((long)(cmd) << 16 | (long)(type) << 8 | (small))

static int cmd_locks(int argc, char **argv)
{
	const char *p1, *p2;
	struct child b;
	struct flock fl;
	double t0;
	int a, a2, err;

	if (argc != 2)
		usage();
	p1 = argv[0];
	p2 = argv[1];
	a = open_rw(p1);

	/* A holds, B tests. */
	printf("A setlk W 0 100: %s\n",
	       ename(lk(a, F_SETLK, F_WRLCK, 0, 100, NULL)));
	b = spawn(p2, b_fcntl, FCNTL_ARG(F_GETLK, F_WRLCK, 0));
	b_getlk_print("B getlk W 0 100", &b, getpid());
	b = spawn(p2, b_fcntl, FCNTL_ARG(F_SETLK, F_WRLCK, 1));
	b_result_print("B setlk W 50 10", &b);
	b = spawn(p2, b_fcntl, FCNTL_ARG(F_SETLK, F_RDLCK, 1));
	b_result_print("B setlk R 50 10", &b);

	/* B waits in F_SETLKW until A unlocks. */
	b = spawn(p2, b_fcntl, FCNTL_ARG(F_SETLKW, F_WRLCK, 0));
	printf("B setlkw W 0 100: %s\n",
	       still_running(&b, 300) ? "blocked" : "not blocked");
	printf("A unlock: %s\n", ename(lk(a, F_SETLK, F_UNLCK, 0, 0, NULL)));
	b_result_print("B setlkw W 0 100 after the unlock", &b);

	/* B holds, A tests and waits. */
	b = spawn(p2, b_hold, 300);
	printf("B setlk W 0 100: %s\n", hear(&b));
	err = lk(a, F_GETLK, F_RDLCK, 0, 0, &fl);
	print_getlk("A getlk R 0 0", err, &fl, b.pid);
	printf("A setlk W 50 10: %s\n",
	       ename(lk(a, F_SETLK, F_WRLCK, 50, 10, NULL)));
	go(&b);
	t0 = now_seconds();
	err = lk(a, F_SETLKW, F_WRLCK, 50, 10, NULL);
	printf("A setlkw W 50 10: %s, %s\n", ename(err),
	       now_seconds() - t0 > 0.2 ? "after B unlocked" : "at once");
	go(&b);
	reap(&b);
	lk(a, F_SETLK, F_UNLCK, 0, 0, NULL);

	/* POSIX: closing any descriptor drops the process's locks. */
	lk(a, F_SETLK, F_WRLCK, 0, 10, NULL);
	a2 = open_rw(p1);
	printf("A setlk W 0 10 on a second fd: %s\n",
	       ename(lk(a2, F_SETLK, F_WRLCK, 0, 10, NULL)));
	b = spawn(p2, b_fcntl, FCNTL_ARG(F_SETLK, F_WRLCK, 0));
	b_result_print("B setlk W 0 100", &b);
	close(a2);
	b = spawn(p2, b_fcntl, FCNTL_ARG(F_SETLK, F_WRLCK, 0));
	b_result_print("B setlk W 0 100 after A closed its second fd", &b);

	/* A process exiting drops its locks. */
	b = spawn(p2, b_hold, 0);
	printf("B setlk W 0 100: %s\n", hear(&b));
	kill(b.pid, SIGKILL);
	reap(&b);
	printf("A setlk W 0 100 after B was killed: %s\n",
	       ename(lk(a, F_SETLK, F_WRLCK, 0, 100, NULL)));

	/* A blocked F_SETLKW ends with EINTR on a signal, or dies. */
	b = spawn(p2, b_setlkw_alarm, 300);
	t0 = now_seconds();
	printf("B setlkw W 0 100 with SIGALRM after 0.3 s: %s",
	       ename(atoi(hear(&b))));
	printf(", %s\n", now_seconds() - t0 < 2 ? "in time" : "late");
	reap(&b);
	b = spawn(p2, b_setlkw_alarm, 0);
	still_running(&b, 300);
	t0 = now_seconds();
	kill(b.pid, SIGKILL);
	err = reap(&b);
	printf("B setlkw W 0 100 SIGKILLed: status %d, %s\n", err,
	       now_seconds() - t0 < 2 ? "in time" : "late");
	lk(a, F_SETLK, F_UNLCK, 0, 0, NULL);

	/* flock, both ways. */
	printf("A flock EX: %s\n", ename(flock(a, LOCK_EX) ? errno : 0));
	b = spawn(p2, b_flock, LOCK_EX | LOCK_NB);
	printf("B flock EX|NB: %s\n", ename(atoi(hear(&b))));
	go(&b);
	reap(&b);
	b = spawn(p2, b_flock, LOCK_SH | LOCK_NB);
	printf("B flock SH|NB: %s\n", ename(atoi(hear(&b))));
	go(&b);
	reap(&b);
	b = spawn(p2, b_flock, LOCK_EX);
	printf("B flock EX: %s\n",
	       still_running(&b, 300) ? "blocked" : "not blocked");
	printf("A flock UN: %s\n", ename(flock(a, LOCK_UN) ? errno : 0));
	printf("B flock EX after A unlocked: %s\n", ename(atoi(hear(&b))));
	printf("A flock SH|NB while B holds EX: %s\n",
	       ename(flock(a, LOCK_SH | LOCK_NB) ? errno : 0));
	go(&b);
	reap(&b);
	/*
	 * Through FUSE the kernel releases an open file asynchronously
	 * after its last close: B's flock may outlive B by a moment there.
	 */
	t0 = now_seconds();
	while ((err = flock(a, LOCK_SH | LOCK_NB) ? errno : 0) == EAGAIN &&
	       now_seconds() - t0 < 2)
		usleep(1000);
	printf("A flock SH|NB after B exited: %s\n", ename(err));
	close(a);
	return 0;
}

/* --- manywait -------------------------------------------------------- */

static int cmd_manywait(int argc, char **argv)
{
	long n, granted = 0;
	const char *probe;
	pid_t probe_pid;
	int a, status;
	bool stuck;

	if (argc != 4)
		usage();
	n = atol(argv[2]);
	probe = argv[3];
	a = open_rw(argv[0]);
	if (lk(a, F_SETLK, F_WRLCK, 0, 0, NULL)) {
		perror("setlk");
		return 1;
	}
	pid_t *w = calloc((size_t)n, sizeof(*w));

	for (long i = 0; i < n; i++) {
		w[i] = fork();
		if (w[i] == 0) {
			int fd = open_rw(argv[1]);

			_exit(lk(fd, F_SETLKW, F_WRLCK, 0, 0, NULL) ? 1 : 0);
		}
	}
	usleep(500 * 1000);
	probe_pid = fork();
	if (probe_pid == 0) {
		struct stat st;
		char buf[64];
		int fd;

		alarm(5);
		if (stat(probe, &st) == -1)
			_exit(1);
		fd = open(probe, O_RDONLY);
		if (fd == -1 || read(fd, buf, sizeof(buf)) < 0)
			_exit(1);
		_exit(0);
	}
	waitpid(probe_pid, &status, 0);
	stuck = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	lk(a, F_SETLK, F_UNLCK, 0, 0, NULL);
	for (long i = 0; i < n; i++)
		if (waitpid(w[i], &status, 0) == w[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			granted++;
	free(w);
	close(a);
	printf("probe %s granted %ld\n", stuck ? "stuck" : "ok", granted);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "exclrace", cmd_exclrace },
	{ "locks", cmd_locks },
	{ "manywait", cmd_manywait },
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
