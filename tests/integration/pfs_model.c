// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfs_model: a model-checking exerciser for one file.
 *
 * It drives FILE with a seeded random sequence of writes, stores through a
 * shared mapping, truncates up and down, fallocate (mode 0, KEEP_SIZE,
 * PUNCH_HOLE, ZERO_RANGE with and without KEEP_SIZE), copy_file_range from
 * a second file, fsync and close/reopen, and keeps an in-memory model of
 * what the file must hold.  After every step it compares st_size, the
 * bytes read back with pread() and the bytes seen through a fresh shared
 * mapping with the model: the touched range at each step, the whole file
 * every --full-every steps and at the end.
 *
 * A call that fails with ENOSPC or EDQUOT (refused) or EOPNOTSUPP (a mode
 * the filesystem lacks) leaves the model unchanged, so the comparison
 * after it checks that the refusal left the file unchanged, size and
 * content.  Any other error is a failure.
 *
 * usage: pfs_model [options] FILE
 *   --seed N          PRNG seed (default: from the clock); always printed
 *   --ops N           number of operations (default 2000)
 *   --max-size SIZE   offsets and sizes stay below SIZE (default 1M)
 *   --full-every N    compare the whole file every N steps (default 1)
 *   --no-mmap         no mapped stores and no mapping comparison
 *   --sweep           at the end, grow the file to --max-size and store
 *                     into every page of it through a mapping (the seed
 *                     scenario; a raw full disk answers with SIGBUS)
 *   --dump PATH       write the model's content to PATH at the end, to
 *                     compare with the file after unmounting
 *   --trace           print every step and its result to stderr
 *   --backing PATH    the same file seen on the backing store: after every
 *                     step, FIEMAP must find no hole inside st_size (a
 *                     mapped store into a hole can fail for lack of space)
 *
 * Prints "seed S" first, then one line
 *   "ops N ok K refused R unsupported U size Z"
 * Exit status: 0 everything matched; 1 a mismatch or an unexpected error
 * (details on stderr, with the seed and the step); 2 usage; 3 SIGBUS on a
 * mapped store; 4 msync or fsync reported a write-back error (data lost).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef FALLOC_FL_KEEP_SIZE
#include <linux/falloc.h>
#endif

enum { MAX_IO = 64 << 10, PAGE = 4096 };

enum op {
	OP_WRITE,
	OP_MSTORE,
	OP_TRUNC,
	OP_FALLOC,
	OP_FALLOC_KEEP,
	OP_PUNCH,
	OP_ZERO,
	OP_ZERO_KEEP,
	OP_COPY,
	OP_REOPEN,
	OP_FSYNC,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"pwrite", "mmap-store", "ftruncate", "fallocate", "fallocate-keep",
	"punch", "zero-range", "zero-range-keep", "copy_file_range", "reopen",
	"fsync",
};

/* Relative frequency of each operation. */
static const unsigned int op_weights[OP_COUNT] = {
	20, 15, 15, 8, 5, 8, 6, 4, 8, 4, 2,
};

static struct {
	const char *path;
	char src_path[4096];
	int fd;
	int src_fd;
	unsigned char *model;	/* max_size bytes; zero beyond size */
	unsigned char *src;	/* content of the copy source */
	unsigned char *buf;	/* scratch: data to write, data read back */
	off_t size;		/* the model's st_size */
	off_t max_size;
	uint64_t seed;
	uint64_t rng;
	long step;
	char what[160];		/* the current step, for messages */
	bool mmap_on;
	bool trace;
	const char *backing;
	off_t lo, hi;		/* the range the current step touched */
	long ok, refused, unsupported;
} m;

static sigjmp_buf sigbus_jmp;
static volatile sig_atomic_t in_store;

/* xorshift64*: small, fast, reproducible from the seed alone. */
static uint64_t rnd(void)
{
	m.rng ^= m.rng >> 12;
	m.rng ^= m.rng << 25;
	m.rng ^= m.rng >> 27;
	return m.rng * 2685821657736338717ULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void fill_random(unsigned char *p, size_t len)
{
	while (len) {
		uint64_t r = rnd();
		size_t n = len < sizeof(r) ? len : sizeof(r);

		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
}

static void fail_exit(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void fail_exit(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pfs_model: seed %" PRIu64 " step %ld (%s): ",
		m.seed, m.step, m.what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stdout);
	exit(status);
}

static void on_sigbus(int sig)
{
	/* tmpfs raises it even for a read fault on a full filesystem */
	static const char msg[] = "SIGBUS outside a store (reading a "
				  "mapping)\n";

	(void)sig;
	if (in_store)
		siglongjmp(sigbus_jmp, 1);
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static off_t min_off(off_t a, off_t b)
{
	return a < b ? a : b;
}

static off_t max_off(off_t a, off_t b)
{
	return a > b ? a : b;
}

/* A random range [*off, *off + *len) below limit, half of them page-aligned. */
static void pick_range(off_t limit, off_t *off, size_t *len)
{
	size_t room;

	*off = (off_t)rnd_below((uint64_t)limit);
	if (rnd() & 1)
		*off &= ~(off_t)(PAGE - 1);
	room = (size_t)min_off(limit - *off, MAX_IO);
	*len = 1 + (size_t)rnd_below(room);
	if ((rnd() & 1) && *len >= PAGE)
		*len &= ~(size_t)(PAGE - 1);
}

/* Model: a new size; bytes past it are zero (as the file will read). */
static void model_resize(off_t size)
{
	if (size < m.size)
		memset(m.model + size, 0, (size_t)(m.size - size));
	m.size = size;
}

static void model_zero(off_t off, off_t end)
{
	end = min_off(end, m.size);
	if (off < end)
		memset(m.model + off, 0, (size_t)(end - off));
}

/*
 * The result of a call: true if it succeeded; false if it was refused in
 * a way the model accepts (the file must then be unchanged); any other
 * error ends the run.
 */
static bool outcome(long ret, int err)
{
	if (ret >= 0) {
		m.ok++;
		return true;
	}
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		m.refused++;
		return false;
	case EOPNOTSUPP:
		m.unsupported++;
		return false;
	default:
		fail_exit(1, "unexpected error %s", strerror(err));
	}
}

/*
 * Open the file again, then close the old descriptor.  An open for writing
 * may be refused (preallocfs fills holes at open): the old one stays.
 */
static bool reopen(void)
{
	int fd = open(m.path, O_RDWR | O_CLOEXEC);

	if (fd == -1)
		return outcome(-1, errno);
	if (close(m.fd) == -1)
		fail_exit(errno == EIO || errno == ENOSPC ? 4 : 1,
			  "close: %s", strerror(errno));
	m.fd = fd;
	return outcome(0, 0);
}

/* Stores into [off, off + len) through a shared mapping of the whole file. */
static void mapped_store(off_t off, size_t len, bool sync)
{
	unsigned char *map;

	map = mmap(NULL, (size_t)m.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   m.fd, 0);
	if (map == MAP_FAILED)
		fail_exit(1, "mmap: %s", strerror(errno));
	fill_random(m.buf, len);
	if (sigsetjmp(sigbus_jmp, 1)) {
		in_store = 0;
		printf("SIGBUS seed %" PRIu64 " step %ld (%s)\n", m.seed,
		       m.step, m.what);
		fail_exit(3, "SIGBUS on a mapped store");
	}
	in_store = 1;
	memcpy(map + off, m.buf, len);
	in_store = 0;
	memcpy(m.model + off, m.buf, len);
	if (sync && msync(map, (size_t)m.size, MS_SYNC) == -1)
		fail_exit(4, "msync: %s (stores lost)", strerror(errno));
	munmap(map, (size_t)m.size);
	m.ok++;
}

static void step_once(enum op op)
{
	off_t off, old = m.size;
	size_t len;
	long ret;
	int mode = 0;

	pick_range(m.max_size, &off, &len);
	m.lo = off;
	m.hi = off + (off_t)len;
	snprintf(m.what, sizeof(m.what), "%s", op_names[op]);
	switch (op) {
	case OP_WRITE:
		snprintf(m.what, sizeof(m.what), "pwrite %jd +%zu",
			 (intmax_t)off, len);
		fill_random(m.buf, len);
		ret = pwrite(m.fd, m.buf, len, off);
		if (outcome(ret, errno)) {
			memcpy(m.model + off, m.buf, (size_t)ret);
			m.size = max_off(m.size, off + ret);
		}
		break;
	case OP_MSTORE:
		if (m.size == 0)
			return;
		pick_range(m.size, &off, &len);
		m.lo = off;
		m.hi = off + (off_t)len;
		snprintf(m.what, sizeof(m.what), "mmap-store %jd +%zu",
			 (intmax_t)off, len);
		mapped_store(off, len, rnd() % 4 != 0);
		break;
	case OP_TRUNC:
		off = (off_t)rnd_below((uint64_t)m.max_size + 1);
		if (rnd() & 1)
			off &= ~(off_t)(PAGE - 1);
		snprintf(m.what, sizeof(m.what), "ftruncate %jd -> %jd",
			 (intmax_t)m.size, (intmax_t)off);
		m.lo = min_off(m.size, off);
		m.hi = max_off(m.size, off);
		ret = ftruncate(m.fd, off);
		if (outcome(ret, errno))
			model_resize(off);
		break;
	case OP_FALLOC:
	case OP_FALLOC_KEEP:
	case OP_PUNCH:
	case OP_ZERO:
	case OP_ZERO_KEEP:
		mode = op == OP_FALLOC ? 0 :
		       op == OP_FALLOC_KEEP ? FALLOC_FL_KEEP_SIZE :
		       op == OP_PUNCH ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
		       op == OP_ZERO ? FALLOC_FL_ZERO_RANGE :
		       FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		snprintf(m.what, sizeof(m.what), "%s %jd +%zu (size %jd)",
			 op_names[op], (intmax_t)off, len, (intmax_t)m.size);
		ret = fallocate(m.fd, mode, off, (off_t)len);
		if (!outcome(ret, errno))
			break;
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			model_zero(off, off + (off_t)len);
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			m.size = max_off(m.size, off + (off_t)len);
		break;
	case OP_COPY: {
		off_t soff = (off_t)rnd_below((uint64_t)m.max_size);
		loff_t in = soff, out = off;

		len = (size_t)min_off((off_t)len, m.max_size - soff);
		m.hi = off + (off_t)len;
		snprintf(m.what, sizeof(m.what),
			 "copy_file_range src %jd -> %jd +%zu",
			 (intmax_t)soff, (intmax_t)off, len);
		ret = copy_file_range(m.src_fd, &in, m.fd, &out, len, 0);
		if (ret < 0 && (errno == EXDEV || errno == ENOSYS)) {
			m.unsupported++;
			break;
		}
		if (outcome(ret, errno)) {
			memcpy(m.model + off, m.src + soff, (size_t)ret);
			if (ret > 0)
				m.size = max_off(m.size, off + ret);
		}
		break;
	}
	case OP_REOPEN:
		reopen();
		break;
	case OP_FSYNC:
		if (fsync(m.fd) == -1)
			fail_exit(4, "fsync: %s", strerror(errno));
		m.ok++;
		break;
	case OP_COUNT:
		break;
	}
	/* a size change touches everything between the two sizes */
	if (m.size != old) {
		m.lo = min_off(m.lo, min_off(old, m.size));
		m.hi = max_off(m.hi, max_off(old, m.size));
	}
}

static void mismatch(const char *how, off_t at, const unsigned char *got)
{
	fail_exit(1, "%s differs from the model at offset %jd: 0x%02x, "
		  "expected 0x%02x (size %jd)", how, (intmax_t)at, *got,
		  m.model[at], (intmax_t)m.size);
}

/* Compare st_size, pread and a fresh mapping over [lo, hi) with the model. */
static void check_range(off_t lo, off_t hi)
{
	struct stat st;
	unsigned char *map;
	off_t pos;

	if (fstat(m.fd, &st) == -1)
		fail_exit(1, "fstat: %s", strerror(errno));
	if (st.st_size != m.size)
		fail_exit(1, "st_size %jd, the model says %jd",
			  (intmax_t)st.st_size, (intmax_t)m.size);
	hi = min_off(hi, m.size);
	for (pos = lo; pos < hi;) {
		size_t n = (size_t)min_off(hi - pos, MAX_IO);
		ssize_t r = pread(m.fd, m.buf, n, pos);

		if (r <= 0)
			fail_exit(1, "pread at %jd: %s", (intmax_t)pos,
				  r ? strerror(errno) : "end of file");
		for (ssize_t i = 0; i < r; i++)
			if (m.buf[i] != m.model[pos + i])
				mismatch("pread", pos + i, &m.buf[i]);
		pos += r;
	}
	if (!m.mmap_on || m.size == 0 || lo >= hi)
		return;
	map = mmap(NULL, (size_t)m.size, PROT_READ, MAP_SHARED, m.fd, 0);
	if (map == MAP_FAILED)
		fail_exit(1, "mmap for reading: %s", strerror(errno));
	if (memcmp(map + lo, m.model + lo, (size_t)(hi - lo))) {
		for (pos = lo; map[pos] == m.model[pos]; pos++)
			;
		mismatch("the mapping", pos, &map[pos]);
	}
	munmap(map, (size_t)m.size);
}

/* The first byte inside the model's size that no extent covers, or -1. */
static off_t backing_hole(void)
{
	enum { N = 128 };
	static union {
		struct fiemap fm;
		char bytes[sizeof(struct fiemap) +
			   N * sizeof(struct fiemap_extent)];
	} q;
	off_t covered = 0;
	int fd = open(m.backing, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		fail_exit(1, "open %s: %s", m.backing, strerror(errno));
	while (covered < m.size) {
		memset(&q, 0, sizeof(q));
		q.fm.fm_start = (uint64_t)covered;
		q.fm.fm_length = (uint64_t)(m.size - covered);
		q.fm.fm_extent_count = N;
		if (ioctl(fd, FS_IOC_FIEMAP, &q.fm) == -1)
			fail_exit(1, "FIEMAP %s: %s", m.backing,
				  strerror(errno));
		if (q.fm.fm_mapped_extents == 0)
			break;
		for (unsigned int i = 0; i < q.fm.fm_mapped_extents; i++) {
			struct fiemap_extent *e = &q.fm.fm_extents[i];

			if ((off_t)e->fe_logical > covered)
				goto out;
			covered = max_off(covered, (off_t)(e->fe_logical +
							  e->fe_length));
		}
	}
out:
	close(fd);
	return covered < m.size ? covered : -1;
}

static void check_no_hole(void)
{
	off_t hole;

	if (!m.backing)
		return;
	hole = backing_hole();
	if (hole >= 0)
		fail_exit(1, "a hole at %jd inside the size %jd on the backing "
			  "file (a mapped store there could fail)",
			  (intmax_t)hole, (intmax_t)m.size);
}

static enum op pick_op(void)
{
	unsigned int total = 0, r;
	int op;

	for (op = 0; op < OP_COUNT; op++)
		if (m.mmap_on || op != OP_MSTORE)
			total += op_weights[op];
	r = (unsigned int)rnd_below(total);
	for (op = 0; op < OP_COUNT; op++) {
		if (!m.mmap_on && op == OP_MSTORE)
			continue;
		if (r < op_weights[op])
			break;
		r -= op_weights[op];
	}
	return (enum op)op;
}

/* The seed scenario at the end: grow to max_size, store into every page. */
static void sweep(void)
{
	snprintf(m.what, sizeof(m.what), "sweep: ftruncate %jd -> %jd",
		 (intmax_t)m.size, (intmax_t)m.max_size);
	if (outcome(ftruncate(m.fd, m.max_size), errno))
		model_resize(m.max_size);
	check_range(0, m.max_size);
	for (off_t off = 0; off < m.size; off += PAGE) {
		snprintf(m.what, sizeof(m.what), "sweep: mmap-store at %jd",
			 (intmax_t)off);
		mapped_store(off, (size_t)min_off(PAGE, m.size - off), false);
	}
	snprintf(m.what, sizeof(m.what), "sweep: fsync");
	if (fsync(m.fd) == -1)
		fail_exit(4, "fsync after the sweep: %s", strerror(errno));
}

static off_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'K': v <<= 10; break;
	case 'M': v <<= 20; break;
	case 'G': v <<= 30; break;
	case '\0': break;
	default:
		fprintf(stderr, "pfs_model: bad size '%s'\n", s);
		exit(2);
	}
	return (off_t)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: pfs_model [--seed N] [--ops N] [--max-size SIZE] "
		"[--full-every N] [--no-mmap] [--sweep] [--dump PATH] [--trace]\n"
		"       [--backing PATH] FILE\n");
	exit(2);
}

static void dump_model(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(m.model, 1, (size_t)m.size, f) != (size_t)m.size ||
	    fclose(f) == EOF)
		fail_exit(1, "writing the model to %s: %s", path,
			  strerror(errno));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	const char *dump = NULL;
	long ops = 2000, full_every = 1;
	bool do_sweep = false;
	int i;

	m.max_size = 1 << 20;
	m.mmap_on = true;
	m.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--no-mmap")) {
			m.mmap_on = false;
		} else if (!strcmp(o, "--trace")) {
			m.trace = true;
		} else if (!strcmp(o, "--sweep")) {
			do_sweep = true;
		} else if (i + 1 >= argc) {
			usage();
		} else if (!strcmp(o, "--seed")) {
			m.seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(o, "--ops")) {
			ops = strtol(argv[++i], NULL, 0);
		} else if (!strcmp(o, "--max-size")) {
			m.max_size = parse_size(argv[++i]);
		} else if (!strcmp(o, "--full-every")) {
			full_every = strtol(argv[++i], NULL, 0);
		} else if (!strcmp(o, "--backing")) {
			m.backing = argv[++i];
		} else if (!strcmp(o, "--dump")) {
			dump = argv[++i];
		} else {
			usage();
		}
	}
	if (i != argc - 1 || m.max_size < PAGE || full_every < 1)
		usage();
	m.path = argv[i];
	printf("seed %" PRIu64 "\n", m.seed);
	fflush(stdout);
	m.rng = m.seed ? m.seed : 1;
	sigaction(SIGBUS, &sa, NULL);

	m.model = calloc(1, (size_t)m.max_size);
	m.src = malloc((size_t)m.max_size);
	m.buf = malloc(MAX_IO > PAGE ? MAX_IO : PAGE);
	if (!m.model || !m.src || !m.buf)
		fail_exit(1, "out of memory");
	snprintf(m.what, sizeof(m.what), "setup");
	snprintf(m.src_path, sizeof(m.src_path), "%s.src", m.path);
	m.src_fd = open(m.src_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);
	if (m.src_fd == -1)
		fail_exit(1, "create %s: %s", m.src_path, strerror(errno));
	fill_random(m.src, (size_t)m.max_size);
	if (pwrite(m.src_fd, m.src, (size_t)m.max_size, 0) != m.max_size)
		fail_exit(1, "write %s: %s", m.src_path, strerror(errno));
	m.fd = open(m.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (m.fd == -1)
		fail_exit(1, "create %s: %s", m.path, strerror(errno));

	for (m.step = 1; m.step <= ops; m.step++) {
		long refused = m.refused + m.unsupported;

		step_once(pick_op());
		if (m.trace)
			fprintf(stderr, "%ld %s: %s, size %jd\n", m.step, m.what,
				m.refused + m.unsupported > refused ? "refused" :
								      "ok",
				(intmax_t)m.size);
		if (m.step % full_every == 0)
			check_range(0, m.size);
		else
			check_range(m.lo & ~(off_t)(PAGE - 1), m.hi + PAGE);
		check_no_hole();
	}
	if (do_sweep)
		sweep();
	m.step = ops + 1;
	snprintf(m.what, sizeof(m.what), "final comparison after reopen");
	reopen();
	check_range(0, m.size);
	if (dump)
		dump_model(dump);
	printf("ops %ld ok %ld refused %ld unsupported %ld size %jd\n", ops,
	       m.ok, m.refused, m.unsupported, (intmax_t)m.size);
	close(m.fd);
	close(m.src_fd);
	return 0;
}
