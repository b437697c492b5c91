#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Speed of preallocfs against the native filesystem it serves and against the
# FUSE layers Debian ships for a similar job (mergerfs, bindfs), in one run:
# native, preallocfs (classic data path), preallocfs -o passthrough, mergerfs
# (cache.files=partial) and bindfs (its defaults).  Every measure runs in
# rounds that interleave the five (native, preallocfs, passthrough, mergerfs,
# bindfs, native, ...), so a slow moment of the machine hits all of them; the
# table shows each one's median time and its speed as a fraction of native
# (native median / median: 1.00 is native speed, 0.50 half of it).
# Then the daemon's memory with 100,000 inodes known to the kernel, and the
# FUSE requests one small write costs (counted from a -d mount).
# Not a test: nothing here passes or fails.
#
# usage: sudo bench/bench.sh [BUILDDIR]   (default: build)
#   ROUNDS=N              rounds per measure (default 5, at least 3)
#   ROWS=REGEX            only the rows whose label matches (grep -E), e.g.
#                         ROWS=mmap ROUNDS=9 for one noisy row alone
#   BACKING_FS=ext4|tmpfs where the directories live (default ext4 on a
#                         sparse 8 GiB loop image: mergerfs by default
#                         creates nothing on a branch with less than 4 GiB
#                         free; tmpfs isolates the FUSE costs)
#   RAW=1                 also print every round's seconds (stderr)
#   IMAGE=ram|disk        where the ext4 image file lives (default ram: a
#                         tmpfs of its own, and ext4 mounted with discard
#                         so deleted files give their memory back; the
#                         host's disk then adds no noise of its own; disk:
#                         in /tmp like the rest)
# Needs cc, mergerfs and bindfs (scripts/deps.sh installs them).
# About three minutes on 2 cores.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$PWD/$build/fs/preallocfs
rounds=${ROUNDS:-5}
[ -x "$bin" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
[ "$rounds" -ge 3 ] || { echo "ROUNDS must be 3 or more" >&2; exit 1; }
for p in cc mergerfs bindfs; do
	command -v "$p" >/dev/null ||
		{ echo "$p is missing: run scripts/deps.sh" >&2; exit 1; }
done

T=$(mktemp -d /tmp/pfs-bench.XXXXXX)
loop=
kinds=(native preallocfs passthrough mergerfs bindfs)
fuse_kinds=(preallocfs passthrough mergerfs bindfs debug)
# Runs on every exit, also after an error or ^C; each step runs even if
# another failed (no set -e here).
cleanup()
{
	set +e
	trap - EXIT INT TERM
	for k in "${fuse_kinds[@]}"; do
		mountpoint -q "$T/$k" && { umount "$T/$k" || umount -l "$T/$k"; }
	done
	# The daemons exit once unmounted; let them go before the image.
	sleep 0.5
	mountpoint -q "$T/fs" && { umount "$T/fs" || umount -l "$T/fs"; }
	[ -n "$loop" ] && losetup -d "$loop"
	mountpoint -q "$T/ram" && umount "$T/ram"
	rm -rf --one-file-system "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$T/benchop" bench/benchop.c
mkdir -p "$T/fs"
if [ "${BACKING_FS:-ext4}" = tmpfs ]; then
	mount -t tmpfs -o size=8g tmpfs "$T/fs"
else
	img=$T/img
	if [ "${IMAGE:-ram}" = ram ]; then
		mkdir "$T/ram"
		mount -t tmpfs -o size=9g tmpfs "$T/ram"
		img=$T/ram/img
	fi
	truncate -s 8G "$img"
	mkfs.ext4 -q "$img"
	loop=$(losetup -f --show "$img")
	mount -o discard "$loop" "$T/fs"
fi
for k in "${kinds[@]}" debug; do
	mkdir "$T/fs/$k"
done
ln -s "$T/fs/native" "$T/native"
mkdir "$T/preallocfs" "$T/passthrough" "$T/mergerfs" "$T/bindfs" "$T/debug"
# As a user would start each.
"$bin" "$T/fs/preallocfs" "$T/preallocfs"
"$bin" -o passthrough "$T/fs/passthrough" "$T/passthrough"
mergerfs -o cache.files=partial "$T/fs/mergerfs" "$T/mergerfs"
bindfs "$T/fs/bindfs" "$T/bindfs"
# The request count: a foreground mount with libfuse's debug log.
"$bin" -f -d "$T/fs/debug" "$T/debug" 2>"$T/debug.log" &
debug_pid=$!
for k in "${fuse_kinds[@]}"; do
	for _ in $(seq 50); do
		mountpoint -q "$T/$k" && break
		sleep 0.1
	done
	mountpoint -q "$T/$k" || { echo "$k did not mount" >&2; exit 1; }
done

# op NAME DIR: one step in DIR (bench/benchop.c); prints the seconds a
# timed step took.
op() { "$T/benchop" "$2" "$1"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# fmt SECONDS: "1234 ms", "123 ms", "4.56 ms", "0.321 ms"
fmt()
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
	tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure LABEL PREP BEFORE STEP [NATIVE-STEP]: PREP once in each directory
# ("-": none), then ROUNDS interleaved rounds of STEP (NATIVE-STEP natively,
# if given), each after BEFORE (drop: drop all caches; warm: read "r"
# once; -: nothing); one table row of medians and speeds.
measure()
{
	local label=$1 prep=$2 before=$3 step=$4 nstep=${5:-$4} k r s row m
	declare -A times=()
	if [ -n "${ROWS:-}" ] && ! grep -Eq -- "$ROWS" <<<"$label"; then
		return 0
	fi
	# The warm rows read "r", made by the cold row's PREP: make it here
	# when ROWS left that row out.
	[ "$before" = warm ] && [ ! -e "$T/native/r" ] && prep=mkread
	for k in "${kinds[@]}"; do
		[ "$prep" = - ] || op "$prep" "$T/$k"
	done
	local n=${#kinds[@]} i
	for ((r = 0; r < rounds; r++)); do
		# Each round starts one kind later, so that no kind always runs
		# right after the same other one (and pays for its deferred
		# work: write-back, freeing a deleted file's blocks).
		for ((i = 0; i < n; i++)); do
			k=${kinds[(r + i) % n]}
			s=$step
			[ "$k" = native ] && s=$nstep
			case $before in
			drop) drop_caches ;;
			warm) op read "$T/$k" >/dev/null ;;
			-) sync -f "$T/fs" ;;
			esac
			times[$k]+="$(op "$s" "$T/$k") "
		done
	done
	if [ -n "${RAW:-}" ]; then
		for k in "${kinds[@]}"; do
			echo "  $k: ${times[$k]}" >&2
		done
	fi
	local base
	base=$(median <<<"${times[native]}")
	row="| $label | $(fmt "$base")"
	for k in "${kinds[@]:1}"; do
		m=$(median <<<"${times[$k]}")
		row+=" | $(fmt "$m") ($(awk -v b="$base" -v m="$m" \
			'BEGIN { printf "%.2f", (m > 0) ? b / m : 0 }'))"
	done
	echo "$row |"
}

started=$(date +%s)
where=${BACKING_FS:-ext4}
[ "$where" = ext4 ] && where+=" (image on ${IMAGE:-ram})"
echo "backing: $where; $(nproc) cores; $(uname -r);" \
	"load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "preallocfs $("$bin" --version | head -n 1 | awk '{ print $NF }')" \
	"($("$bin" --version | sed -n 2p)), $(mergerfs --version 2>&1 | head -n 1)," \
	"$(bindfs --version | head -n 1)"
echo "median of $rounds interleaved rounds; in (): speed as a fraction of native"
echo
echo "| work | native | preallocfs | preallocfs -o passthrough | mergerfs | bindfs |"
echo "| --- | --- | --- | --- | --- | --- |"
measure "4 KiB pwrite x 16384 into an allocated 64 MiB file" \
	mkwrite - pwrite
measure "read a 256 MiB file in 1 MiB reads, cold cache" mkread drop read
measure "re-read it after reopening (warm)" - warm read
measure "20000 random 4 KiB preads of it (warm)" - warm rand4k
measure "ftruncate 256 MiB, mmap stores into every page, msync" - - mmap
measure "the same mmap stores; native: posix_fallocate first (the allocation preallocfs makes)" \
	- - mmap mmapfa
measure "create + stat + unlink 2000 files" - - files
measure "grow to 256 MiB: ftruncate (native: posix_fallocate)" \
	- - ftruncate fallocate

# Requests per small write: 400 4 KiB overwrites on the -d mount.
op mkwrite "$T/debug"
before_w=$(grep -c 'opcode: WRITE' "$T/debug.log" || true)
before_x=$(grep -c 'opcode: GETXATTR' "$T/debug.log" || true)
op pwrite400 "$T/debug" >/dev/null
sleep 0.5
writes=$(($(grep -c 'opcode: WRITE' "$T/debug.log" || true) - before_w))
getxattrs=$(($(grep -c 'opcode: GETXATTR' "$T/debug.log" || true) - before_x))
echo
echo "FUSE requests for 400 4 KiB overwrites (classic path):" \
	"$writes WRITE, $getxattrs GETXATTR"
umount "$T/debug"
wait "$debug_pid" || true

# Memory: the daemon's resident set with 100,000 inodes known, or as many
# as its open-file limit allows (one O_PATH descriptor each: a daemon
# without CAP_SYS_RESOURCE cannot raise it), with the 100,000 figure
# extrapolated from the per-inode cost.
pid=$(pgrep -nf "^$bin $T/fs/preallocfs $T/preallocfs") || pid=
if [ -n "$pid" ]; then
	n=100000
	nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
	[ "$nofile" -gt $((n + 1000)) ] || n=$((nofile - 1000))
	mkdir "$T/fs/preallocfs/many"
	(cd "$T/fs/preallocfs/many" && seq "$n" | xargs touch)
	rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	ls -l "$T/preallocfs/many" >/dev/null
	rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	echo "preallocfs daemon RSS: $rss0 KiB idle, $rss1 KiB with $n inodes" \
		"known ($(((rss1 - rss0) * 1024 / n)) bytes per inode;" \
		"$(((rss0 + (rss1 - rss0) * 100000 / n) / 1024)) MiB for 100,000)"
fi
echo "($(($(date +%s) - started)) s)"
