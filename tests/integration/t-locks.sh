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

# Many waiters do not take the daemon's worker threads (10 by default): 16
# processes wait in F_SETLKW through the mount for a lock held on the
# backing side, and the mount still answers a stat and a read meanwhile;
# then all get the lock in turn.
echo probe >"$B/probe"
expect_eq "16 waiters through the mount: the mount still answers, all granted" \
	"probe ok granted 16" \
	"$(timeout 60 "$XSIDE" manywait "$B/db" "$M/db" 16 "$M/probe")"

# Nothing is left locked: the backing side can take every lock at once.
expect_tool "no lock left behind on the backing file" "0 ok" \
	open "$B/db" rdwr

pfs_umount "$M"

# --- A real user of the locks: one SQLite database, updated by processes
# through the mount and on the backing side at once (a database migrating
# under an in-place mount).  Each side increments one counter N times, one
# transaction each; SQLite serializes them with fcntl locks.  Every
# increment must count and the database must stay intact.  Old code: the
# locks did not meet, about half the increments were lost (212 of 400) and
# both updaters failed.  Mounted with timeout=0: SQLite also relies on
# seeing the other side's journal appear and vanish, and with the default
# 1 s the kernel answers from its cached names and attributes (documented;
# under load it then reports "disk I/O error").
pfs_mount "$B" "$M" -o timeout=0 || done_testing
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
N=200
# bump DB: N transactions, each reading and rewriting the counter.
bump()
{
	for ((i = 0; i < N; i++)); do
		printf '.timeout 30000\nBEGIN IMMEDIATE;\nUPDATE c SET v = v + 1;\nCOMMIT;\n'
	done | sqlite3 -batch "$1" >/dev/null
}
sqlite_race()
{
	local what=$1 p1=$2 p2=$3 a b
	rm -f "$B/sq.db" "$B/sq.db-journal"
	sqlite3 "$B/sq.db" "CREATE TABLE c(v); INSERT INTO c VALUES(0);"
	bump "$p1" &
	a=$!
	bump "$p2" &
	b=$!
	wait "$a"
	expect_eq "$what: first updater's exit status" 0 "$?"
	wait "$b"
	expect_eq "$what: second updater's exit status" 0 "$?"
	expect_eq "$what: every increment counted" $((2 * N)) \
		"$(sqlite3 "$B/sq.db" 'SELECT v FROM c;')"
	expect_eq "$what: integrity" ok \
		"$(sqlite3 "$B/sq.db" 'PRAGMA integrity_check;')"
}
sqlite_race "sqlite, native control" "$B/sq.db" "$B/sq.db"
sqlite_race "sqlite, mount and backing side" "$M/sq.db" "$B/sq.db"

pfs_umount "$M"
done_testing
