#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-readahead: the mount's readahead, and READ replies.
#
# The kernel gives a FUSE mount 128 KiB of readahead, each window one READ
# round trip.  The default keeps it (larger windows made random page
# faults on cold mapped files 3-4x slower); with readahead=KIB the daemon
# (as root) sets it at the first open, after the FUSE init.  libfuse
# 3.17.2 splices no READ reply over 64 KiB (its pipe does not grow), and
# its fallback made a fresh buffer per request: one mmap, a page fault per
# page and one munmap each (252 of each for a 256 MiB file).  The daemon
# reads into a buffer each worker thread keeps.
#
# Checks: the setting (the default and readahead=0 leave the kernel's 128,
# readahead=512 and 1024 set it), cold reads through the mount equal the
# backing file (128 KiB and 1 MiB READs, a short one at end-of-file,
# O_DIRECT reads), no munmap in the daemon per READ (strace: the buffers
# stay), and bad values refused with one line before anything is mounted.
. "$(dirname "$0")/lib.sh"
require_loop
command -v strace >/dev/null || skip "strace is not installed (scripts/deps.sh)"

mk_fs ext4 128M "$T/fs"
mkdir "$T/fs/b" "$T/mp"
# 24 MiB and 1234 bytes: 1 MiB READs, then a short one at end-of-file.
head -c $((24 * 1048576 + 1234)) /dev/urandom >"$T/fs/b/f"
cp "$T/fs/b/f" "$T/fs/b/g"
echo small >"$T/fs/b/h"

# ra_kb MNT EXPECTED: the mount's read_ahead_kb after a first open (the
# daemon sets it then: the kernel sends no OPEN before the init reply),
# once it is EXPECTED or after 5 s.
ra_kb()
{
	local dev v
	dev=$(mountpoint -d "$1") || return 1
	cat "$1/h" >/dev/null
	for _ in $(seq 50); do
		v=$(cat "/sys/class/bdi/$dev/read_ahead_kb")
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	echo "$v"
}

# readahead=0, and the default: the kernel's own value.
pfs_mount "$T/fs/b" "$T/mp" -o readahead=0 || done_testing
expect_eq "readahead=0: the kernel's default" 128 "$(ra_kb "$T/mp" 128)"
pfs_umount "$T/mp"

pfs_mount "$T/fs/b" "$T/mp" -o readahead=512 || done_testing
expect_eq "readahead=512" 512 "$(ra_kb "$T/mp" 512)"
pfs_umount "$T/mp"

# cold_read NAME FILE SIZE: read FILE (never read through the mount: its
# page cache is empty) and compare it with the backing file, with strace
# watching the daemon; SIZE is the READ size readahead makes.
cold_read()
{
	local name=$1 f=$2 size=$3 n unmaps
	check "$name: a cold read through the mount equals the backing file" \
		strace_daemon "$T/$name.strace" -e trace=pread64,munmap -- \
		cmp "$T/mp/$f" "$T/fs/b/$f"
	n=$(grep -c "pread64(.*, $size, [0-9]*) = $size" "$T/$name.strace")
	unmaps=$(grep -cE '(^|[0-9] )munmap\(' "$T/$name.strace")
	# At least half of the 24 MiB in READs of that size (readahead ramps
	# up to its window, and its windows vary under load).
	check "$name: READs of $size, read into the thread's buffer ($n pread64)" \
		test "$n" -ge $((12 * 1048576 / size))
	check "$name: no buffer unmapped per READ ($unmaps munmap for 24 MiB)" \
		test "$unmaps" -le 2
}

pfs_mount "$T/fs/b" "$T/mp" || done_testing
expect_eq "default readahead: the kernel's" 128 "$(ra_kb "$T/mp" 128)"
cold_read default f 131072
pfs_umount "$T/mp"

pfs_mount "$T/fs/b" "$T/mp" -o readahead=1024 || done_testing
expect_eq "readahead=1024" 1024 "$(ra_kb "$T/mp" 1024)"
cold_read readahead-1024 g 1048576

# O_DIRECT reads: every one is a READ of its own size, not cached.
check "O_DIRECT 1 MiB reads equal the backing file" \
	cmp <(dd if="$T/mp/g" bs=1M iflag=direct status=none) "$T/fs/b/g"
check "O_DIRECT 4 MiB reads equal the backing file" \
	cmp <(dd if="$T/mp/g" bs=4M iflag=direct status=none) "$T/fs/b/g"
pfs_umount "$T/mp"

# Bad values: one line, exit 1, no mount.
for bad in readahead=-1 readahead=abc readahead= readahead=65537 \
	readahead=99999999999999999999; do
	out=$("$PFS_BIN" -f -o "$bad" "$T/fs/b" "$T/mp" 2>&1)
	rc=$?
	expect_eq "$bad: exit status" 1 "$rc"
	expect_eq "$bad: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	check "$bad: says what is wrong ($out)" grep -q "readahead" <<<"$out"
	check "$bad: nothing mounted" bash -c "! mountpoint -q '$T/mp'"
done
done_testing
