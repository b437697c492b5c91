#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Speed of preallocfs against the native filesystem it serves and against the
# FUSE layers Debian ships for the same job (mergerfs, bindfs), in one run.
# Every measure runs in rounds that interleave the four (native, preallocfs,
# mergerfs, bindfs, native, ...), so a slow moment of the machine hits all
# of them; the table shows each one's median and its ratio to native.
# Not a test: nothing here passes or fails.
#
# usage: sudo bench/bench.sh [BUILDDIR]   (default: build)
#   ROUNDS=N              rounds per measure (default 5, at least 3)
#   BACKING_FS=ext4|tmpfs where the four directories live (default ext4 on
#                         a sparse 8 GiB loop image: mergerfs by default
#                         creates nothing on a branch with less than 4 GiB
#                         free; tmpfs isolates the FUSE costs)
# Needs python3, mergerfs and bindfs (scripts/deps.sh installs them).
# About a minute on 2 cores.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$PWD/$build/fs/preallocfs
rounds=${ROUNDS:-5}
[ -x "$bin" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
[ "$rounds" -ge 3 ] || { echo "ROUNDS must be 3 or more" >&2; exit 1; }
for p in python3 mergerfs bindfs; do
	command -v "$p" >/dev/null ||
		{ echo "$p is missing: run scripts/deps.sh" >&2; exit 1; }
done

T=$(mktemp -d /tmp/pfs-bench.XXXXXX)
loop=
kinds=(native preallocfs mergerfs bindfs)
# Runs on every exit, also after an error or ^C; each step runs even if
# another failed (no set -e here).
cleanup()
{
	set +e
	trap - EXIT INT TERM
	for k in preallocfs mergerfs bindfs; do
		mountpoint -q "$T/$k" && { umount "$T/$k" || umount -l "$T/$k"; }
	done
	# The daemons exit once unmounted; let them go before the image.
	sleep 0.5
	mountpoint -q "$T/fs" && { umount "$T/fs" || umount -l "$T/fs"; }
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf --one-file-system "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$T/fs"
if [ "${BACKING_FS:-ext4}" = tmpfs ]; then
	mount -t tmpfs -o size=8g tmpfs "$T/fs"
else
	truncate -s 8G "$T/img"
	mkfs.ext4 -q "$T/img"
	loop=$(losetup -f --show "$T/img")
	mount "$loop" "$T/fs"
fi
for k in "${kinds[@]}"; do
	mkdir "$T/fs/$k"
done
ln -s "$T/fs/native" "$T/native"
mkdir "$T/preallocfs" "$T/mergerfs" "$T/bindfs"
# Each with its defaults, as a user would start it.
"$bin" "$T/fs/preallocfs" "$T/preallocfs"
mergerfs "$T/fs/mergerfs" "$T/mergerfs"
bindfs "$T/fs/bindfs" "$T/bindfs"
for k in preallocfs mergerfs bindfs; do
	for _ in $(seq 50); do
		mountpoint -q "$T/$k" && break
		sleep 0.1
	done
	mountpoint -q "$T/$k" || { echo "$k did not mount" >&2; exit 1; }
done

# op NAME DIR: one step of a measure in DIR; prints the seconds it took
# (timed inside the program, so its start-up does not count).
op()
{
	python3 - "$@" <<'EOF'
import mmap, os, sys, time
name, d = sys.argv[1], sys.argv[2]
MIB = 1 << 20
clock = time.perf_counter

def write_file(path, size):
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	buf = b"\x5a" * MIB
	for _ in range(size // MIB):
		os.write(fd, buf)
	os.fsync(fd)
	os.close(fd)

def read_file(path):
	fd = os.open(path, os.O_RDONLY)
	while os.read(fd, MIB):
		pass
	os.close(fd)

t = None
if name == "prep-pwrite":
	write_file(d + "/w", 64 * MIB)
elif name == "pwrite":
	# 4 KiB pwrite()s over an allocated 64 MiB file.
	fd = os.open(d + "/w", os.O_WRONLY)
	buf = b"\xa5" * 4096
	t0 = clock()
	for off in range(0, 64 * MIB, 4096):
		os.pwrite(fd, buf, off)
	t = clock() - t0
	os.close(fd)
elif name == "prep-reread":
	# Written, then read twice: the first open after writes may drop
	# the pages (preallocfs does, once); the measure is the next one.
	write_file(d + "/r", 256 * MIB)
	read_file(d + "/r")
	read_file(d + "/r")
elif name == "reread":
	t0 = clock()
	read_file(d + "/r")
	t = clock() - t0
elif name == "mmap":
	# The hazard pattern: grow with ftruncate, store through a shared
	# mapping, msync.
	t0 = clock()
	fd = os.open(d + "/m", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
	os.ftruncate(fd, 256 * MIB)
	m = mmap.mmap(fd, 256 * MIB)
	for off in range(0, 256 * MIB, 4096):
		m[off] = 1
	m.flush()
	m.close()
	os.close(fd)
	t = clock() - t0
	os.unlink(d + "/m")
elif name == "files":
	n = 2000
	t0 = clock()
	for i in range(n):
		os.close(os.open("%s/f%d" % (d, i),
				 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
	for i in range(n):
		os.stat("%s/f%d" % (d, i))
	for i in range(n):
		os.unlink("%s/f%d" % (d, i))
	t = clock() - t0
elif name in ("ftruncate", "posix_fallocate"):
	fd = os.open(d + "/g", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
	t0 = clock()
	if name == "ftruncate":
		os.ftruncate(fd, 256 * MIB)
	else:
		os.posix_fallocate(fd, 0, 256 * MIB)
	t = clock() - t0
	os.close(fd)
	os.unlink(d + "/g")
else:
	sys.exit("unknown step " + name)
if t is not None:
	print("%.6f" % t)
EOF
}

# do_ms SECONDS: "1234 ms", "123 ms", "4.56 ms", "0.321 ms"
do_ms()
{
	awk -v s="$1" 'BEGIN {
		ms = s * 1000
		f = "%.3f ms"
		if (ms >= 100) f = "%.0f ms"
		else if (ms >= 10) f = "%.1f ms"
		else if (ms >= 1) f = "%.2f ms"
		printf f, ms
	}'
}

median()
{
	sort -g | awk '{ v[NR] = $1 } END {
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure LABEL PREP STEP [NATIVE-STEP]: PREP once in each directory, then
# ROUNDS interleaved rounds of STEP (NATIVE-STEP natively, if given); one
# table row of medians and ratios.
measure()
{
	local label=$1 prep=$2 step=$3 nstep=${4:-$3} k r s row
	declare -A times=()
	for k in "${kinds[@]}"; do
		[ "$prep" = - ] || op "$prep" "$T/$k" >/dev/null
	done
	for ((r = 0; r < rounds; r++)); do
		for k in "${kinds[@]}"; do
			s=$step
			[ "$k" = native ] && s=$nstep
			sync -f "$T/fs"
			times[$k]+="$(op "$s" "$T/$k") "
		done
	done
	local base
	base=$(tr ' ' '\n' <<<"${times[native]}" | grep . | median)
	row="| $label | $(do_ms "$base")"
	for k in preallocfs mergerfs bindfs; do
		local m
		m=$(tr ' ' '\n' <<<"${times[$k]}" | grep . | median)
		row+=" | $(do_ms "$m") ($(printf '%.1f' "$(echo "$m / $base" | bc -l)")x)"
	done
	echo "$row |"
	rm -rf "${T:?}"/fs/*/*
}

started=$(date +%s)
echo "backing: ${BACKING_FS:-ext4}; $(nproc) cores; $(uname -r);" \
	"load average $(cut -d ' ' -f 1-3 /proc/loadavg);" \
	"median of $rounds interleaved rounds; ratio to native in ()"
echo "preallocfs $("$bin" --version | head -n 1 | awk '{ print $NF }')," \
	"$(mergerfs --version 2>&1 | head -n 1), $(bindfs --version | head -n 1)," \
	"each with its default options"
echo
echo "| work | native | preallocfs | mergerfs | bindfs |"
echo "| --- | --- | --- | --- | --- |"
measure "4 KiB pwrite x 16384 into an allocated 64 MiB file" prep-pwrite pwrite
measure "re-read a 256 MiB file after reopening it (warm)" prep-reread reread
measure "ftruncate 256 MiB, mmap stores into every page, msync" - mmap
measure "create + stat + unlink 2000 files" - files
measure "grow to 256 MiB: ftruncate (native: posix_fallocate)" - ftruncate posix_fallocate

# Memory: the daemon's resident set after the kernel learned 15,000 inodes.
pid=$(pgrep -nf "^$bin $T/fs/preallocfs") || pid=
if [ -n "$pid" ]; then
	mkdir "$T/fs/preallocfs/many"
	(cd "$T/fs/preallocfs/many" && seq 15000 | xargs touch)
	rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	ls -l "$T/preallocfs/many" >/dev/null
	rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	echo
	echo "preallocfs daemon RSS: $rss0 KiB idle, $rss1 KiB with 15000" \
		"inodes known ($(((rss1 - rss0) * 1024 / 15000)) bytes per inode)"
fi
echo "($(($(date +%s) - started)) s)"
