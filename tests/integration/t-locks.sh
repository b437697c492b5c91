#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-locks: POSIX (fcntl) and BSD (flock) locks taken through the mount and
# on the backing side see each other, as two processes on one filesystem do.
# SQLite-style databases migrating under an in-place mount depend on it.
#
# pfs_xside locks runs one fixed sequence between a process A on path P1
# and processes B on path P2 (F_SETLK, F_GETLK, F_SETLKW blocking until
# released, in both directions; POSIX release when any descriptor is closed;
# one process's two descriptors; a killed holder; a blocked F_SETLKW ended
# by SIGALRM (EINTR) and by SIGKILL; flock, blocking too), and prints a
# transcript.  Native control: both on the backing directory.  Then A
# through the mount and B on the backing side, the reverse, and both
# through the mount: every transcript must be the native one, except where
# the documented difference applies: F_GETLK on the backing side reports
# l_pid -1 for a lock held through the mount (the daemon holds it as an
# OFD lock).  Without lock handlers the kernel keeps locks to the mount:
# B's F_SETLK succeeds where it must fail with EAGAIN.
. "$(dirname "$0")/lib.sh"
require_loop
XSIDE=${PFS_XSIDE:-}
[ -n "$XSIDE" ] && [ -x "$XSIDE" ] || skip "pfs_xside not built"

B=$T/backing
M=$T/mnt
mk_fs ext4 64M "$B"
pfs_mount "$B" "$M" || done_testing

# run NAME P1 P2: the transcript in $T/NAME.
run()
{
	timeout 60 "$XSIDE" locks "$2" "$3" >"$T/$1"
	expect_eq "$1: pfs_xside exit status" 0 "$?"
}

run native "$B/db" "$B/db"
cat "$T/native"
check "native: B waited in F_SETLKW until A unlocked" \
	grep -qx 'B setlkw W 0 100: blocked' "$T/native"

run mount-backing "$M/db" "$B/db"
sed '/^B getlk/s/pid=holder/pid=-1/' "$T/native" >"$T/want-mount-backing"
expect_same_transcript "A through the mount, B on the backing side" \
	"$T/want-mount-backing" "$T/mount-backing"

run backing-mount "$B/db" "$M/db"
sed '/^A getlk/s/pid=holder/pid=-1/' "$T/native" >"$T/want-backing-mount"
expect_same_transcript "A on the backing side, B through the mount" \
	"$T/want-backing-mount" "$T/backing-mount"

run mount-mount "$M/db" "$M/db"
expect_same_transcript "both through the mount" "$T/native" "$T/mount-mount"

# Nothing is left locked: the backing side can take every lock at once.
expect_tool "no lock left behind on the backing file" "0 ok" \
	open "$B/db" rdwr

pfs_umount "$M"
done_testing
