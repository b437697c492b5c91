#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Speed and memory of preallocfs against the native filesystem it serves.
# Prints one line per measure: native, through preallocfs, and the ratio.
# Not a test: nothing here passes or fails.
#
# usage: sudo bench/bench.sh [BUILDDIR]   (default: build)
#   BACKING_FS=tmpfs|ext4   where the backing directory lives (default ext4
#                           on a 2 GiB loop image; tmpfs isolates FUSE costs)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/fs/preallocfs
[ -x "$bin" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

T=$(mktemp -d /tmp/pfs-bench.XXXXXX)
loop=
pid=
# Runs on every exit; each step must run even if another failed (no set -e
# here: a failing step would abort the rest of the trap).
cleanup()
{
	set +e
	mountpoint -q "$T/mnt" && umount "$T/mnt"
	# The daemon detached (not our child): wait for it by polling.
	for _ in $(seq 50); do
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	mountpoint -q "$T/fs" && umount "$T/fs"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/fs" "$T/mnt"
if [ "${BACKING_FS:-ext4}" = tmpfs ]; then
	mount -t tmpfs -o size=3g tmpfs "$T/fs"
else
	truncate -s 2G "$T/img"
	mkfs.ext4 -q "$T/img"
	loop=$(losetup -f --show "$T/img")
	mount "$loop" "$T/fs"
fi
mkdir "$T/fs/native" "$T/fs/backing"
"$bin" "$T/fs/backing" "$T/mnt"
pid=$(pgrep -nf "^$bin $T/fs/backing")

now() { date +%s.%N; }
# timed DIR COMMAND...: seconds the command takes with DIR as $D
timed()
{
	local d=$1 t0
	shift
	sync; echo 3 > /proc/sys/vm/drop_caches
	t0=$(now)
	D=$d bash -c "$*"
	echo "$(now) - $t0" | bc
}
report()
{
	printf '%-36s native %8.3fs  preallocfs %8.3fs  ratio %5.2fx\n' \
		"$1" "$2" "$3" "$(echo "$3 / $2" | bc -l)"
}
measure()
{
	local what=$1 cmd=$2 a b
	a=$(timed "$T/fs/native" "$cmd")
	b=$(timed "$T/mnt" "$cmd")
	report "$what" "$a" "$b"
	rm -rf "${T:?}/fs/native/"* "${T:?}/fs/backing/"*
}

echo "backing: ${BACKING_FS:-ext4}, $(nproc) cores"
measure "write 512 MiB, 1 MiB blocks" 'dd if=/dev/zero of=$D/f bs=1M count=512 status=none conv=fsync'
measure "write+read 512 MiB" 'dd if=/dev/zero of=$D/f bs=1M count=512 status=none; sync; dd if=$D/f of=/dev/null bs=1M status=none'
measure "write 64 MiB, 4 KiB blocks" 'dd if=/dev/zero of=$D/f bs=4k count=16384 status=none'
measure "truncate 256 MiB + mmap-write all" 'truncate -s 256M $D/f && python3 -c "
import mmap,sys
f=open(sys.argv[1],\"r+b\"); m=mmap.mmap(f.fileno(),0)
for i in range(0,len(m),4096): m[i]=1
m.flush()" $D/f'
measure "create+stat+unlink 5000 files" 'cd $D && for i in $(seq 5000); do : > f$i; done && stat f* >/dev/null && rm -f f*'
measure "1000 truncate-grow steps of 64 KiB" 'cd $D && : > f && for i in $(seq 1000); do truncate -s $((i*65536)) f; done'

# Memory: the daemon's resident set after the kernel learned 15,000 inodes.
mkdir "$T/fs/backing/many"
(cd "$T/fs/backing/many" && seq 15000 | xargs touch)
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
ls -l "$T/mnt/many" >/dev/null
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
echo "daemon RSS: $rss0 KiB idle, $rss1 KiB with 15000 inodes known ($(( (rss1 - rss0) * 1024 / 15000 )) bytes per inode)"
