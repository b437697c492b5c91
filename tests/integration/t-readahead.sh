#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-readahead: the mount's readahead, and 1 MiB reads.
#
# The kernel gives a FUSE mount 128 KiB of readahead, each window one READ
# round trip; the daemon (as root) sets it to readahead= KiB once the FUSE
# init is done (default 1024: cold sequential reads went about 6x faster on
# the bench).  A 1 MiB READ does not fit libfuse's splice pipe
# (pipe-max-size), and libfuse's fallback made a fresh buffer per request:
# one mmap, a page fault per page and one munmap each (252 of each for a
# 256 MiB file).  The daemon reads those into a buffer each worker thread
# keeps.
#
# Checks: the setting (default, readahead=0 as the control that the kernel
# alone leaves 128, readahead=512), cold reads through the mount equal the
# backing file (1 MiB READs, a short one at end-of-file, O_DIRECT reads),
# no munmap in the daemon per READ (strace: the buffers stay), and bad
# values refused with one line before anything is mounted.
. "$(dirname "$0")/lib.sh"
require_loop
command -v strace >/dev/null || skip "strace is not installed (scripts/deps.sh)"

mk_fs ext4 128M "$T/fs"
mkdir "$T/fs/b" "$T/mp"
# 24 MiB and 1234 bytes: 1 MiB READs, then a short one at end-of-file.
head -c $((24 * 1048576 + 1234)) /dev/urandom >"$T/fs/b/f"
cp "$T/fs/b/f" "$T/fs/b/g"

# ra_kb MNT: the mount's read_ahead_kb, once the daemon has set it (it
# does so from a thread after the init: wait up to 5 s for a change from
# the kernel's 128 when one is expected).
ra_kb()
{
	local dev v
	dev=$(mountpoint -d "$1") || return 1
	for _ in $(seq 50); do
		v=$(cat "/sys/class/bdi/$dev/read_ahead_kb")
		[ "$v" != 128 ] && break
		sleep 0.1
	done
	echo "$v"
}

# CONTROL: readahead=0 leaves the kernel's own value.
pfs_mount "$T/fs/b" "$T/mp" -o readahead=0 || done_testing
expect_eq "readahead=0: the kernel's default" 128 "$(ra_kb "$T/mp")"
pfs_umount "$T/mp"

pfs_mount "$T/fs/b" "$T/mp" -o readahead=512 || done_testing
expect_eq "readahead=512" 512 "$(ra_kb "$T/mp")"
pfs_umount "$T/mp"

pfs_mount "$T/fs/b" "$T/mp" || done_testing
expect_eq "default readahead" 1024 "$(ra_kb "$T/mp")"

# A cold read (never read through the mount: its page cache is empty),
# traced: which system calls the daemon makes for it.
check "a cold read through the mount equals the backing file" \
	strace_daemon "$T/read.strace" -e trace=pread64,munmap -- \
	cmp "$T/mp/f" "$T/fs/b/f"
big=$(grep -c 'pread64(.*, 1048576, [0-9]*) = 1048576' "$T/read.strace")
unmaps=$(grep -cE '(^|[0-9] )munmap\(' "$T/read.strace")
check "1 MiB READs, read into the thread's buffer ($big pread64 of 1 MiB)" \
	test "$big" -ge 20
check "no buffer unmapped per READ ($unmaps munmap for the 24 MiB)" \
	test "$unmaps" -le 2

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
