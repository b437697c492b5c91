#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The data path with and without -o passthrough, against native.
# Three directories of one ext4 loop image: native, a classic preallocfs
# mount and a -o passthrough mount.  Each measure (bench/ptbench.c) runs in
# the three in turn, ROUNDS times (interleaved, so drift hits all three
# alike); prints the median seconds and the ratio to native (native time /
# time: 1.0 is native speed, higher is better).  Not a test.
#
# usage: sudo bench/passthrough.sh [BUILDDIR]   (default: build)
#   ROUNDS=N   rounds (default 3)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/fs/preallocfs
rounds=${ROUNDS:-3}
[ -x "$bin" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

T=$(mktemp -d /tmp/pfs-ptbench.XXXXXX)
loop=
pids=()
cleanup()
{
	set +e
	for m in "$T/cl" "$T/pt"; do
		mountpoint -q "$m" && umount "$m"
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	mountpoint -q "$T/fs" && umount "$T/fs"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$T"
}
trap cleanup EXIT
cc -O2 -o "$T/ptbench" bench/ptbench.c
mkdir -p "$T/fs" "$T/cl" "$T/pt"
truncate -s 2G "$T/img"
mkfs.ext4 -q "$T/img"
loop=$(losetup -f --show "$T/img")
mount "$loop" "$T/fs"
mkdir "$T/fs/native" "$T/fs/cl" "$T/fs/pt"
"$bin" -f "$T/fs/cl" "$T/cl" 2>"$T/cl.log" &
pids+=($!)
"$bin" -f -o passthrough "$T/fs/pt" "$T/pt" 2>"$T/pt.log" &
pids+=($!)
for _ in $(seq 100); do
	mountpoint -q "$T/cl" && mountpoint -q "$T/pt" && break
	sleep 0.1
done
grep -h passthrough "$T/pt.log" || true

dirs=("$T/fs/native" "$T/cl" "$T/pt")
for d in "${dirs[@]}"; do
	"$T/ptbench" "$d" mkread
done

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# run OP DIR: one timing (the cache state is set by the caller)
declare -A times
measure()
{
	local name=$1 op=$2 prep=$3 d
	for ((i = 0; i < 3; i++)); do
		d=${dirs[i]}
		case $prep in
		cold) drop ;;
		warm) "$T/ptbench" "$d" read >/dev/null ;;
		esac
		times[$name,$i]+="$("$T/ptbench" "$d" "$op") "
	done
}
for ((r = 0; r < rounds; r++)); do
	measure "4 KiB pwrite (64 MiB)" write4k none
	measure "read, cold (256 MiB)" read cold
	measure "read, warm (256 MiB)" read warm
	measure "4 KiB random pread (20000)" rand4k warm
	measure "mmap stores (64 MiB)" mmap none
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-28s %10s %10s %10s %8s %8s\n' "median of $rounds, seconds" \
	native classic passthr "classic" "passthr"
for name in "4 KiB pwrite (64 MiB)" "read, cold (256 MiB)" \
	"read, warm (256 MiB)" "4 KiB random pread (20000)" \
	"mmap stores (64 MiB)"; do
	n=$(echo "${times[$name,0]}" | median)
	c=$(echo "${times[$name,1]}" | median)
	p=$(echo "${times[$name,2]}" | median)
	printf '%-28s %10.4f %10.4f %10.4f %8.2f %8.2f\n' "$name" "$n" "$c" \
		"$p" "$(echo "$n / $c" | bc -l)" "$(echo "$n / $p" | bc -l)"
done
