#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-stop-kill: a SIGKILL in the middle of a stop ends the daemon.
#
# On a stop signal the daemon writes back what programs stored (fsync of
# each file they hold, then syncfs) and unmounts.  Those calls go to its
# own mount, and a thread waiting for its own mount's answer cannot be
# killed once a worker has read the request: a `kill -9` during the
# write-back used to leave an unkillable process (a zombie with one thread
# in D state, in request_wait_answer from fsync) and a hung mount, until
# the connection was aborted by hand through fusectl.  The stop now makes
# those calls from a child process that does not hold /dev/fuse.
#
# Checks: a program holds 384 MiB of dirty pages in a shared mapping; the
# daemon gets SIGTERM and, once its write-back child runs, SIGKILL.  The
# daemon must be gone within 10 s and its child too; the mount is dead
# (as after any SIGKILL) and is unmounted by the test.  Before the change
# the daemon stayed for good (seen on 6.18: one thread in fsync).
# A run whose SIGKILL came after the write-back (a CI run had the pages
# written back before the SIGTERM: 376 KiB dirty left) is tried again, up
# to three runs; one of them must hit the write-back.

. "$(dirname "$0")/lib.sh"

require_loop
require_tool
set -m

mk_fs ext4 1G "$T/fs"
mkdir "$T/fs/b"
M=$T/mp

# abort_conn MINOR: end a hung FUSE connection (fusectl), so that the test
# never leaves a stuck daemon or mount behind, also when it fails.
fusectl_mounted=
abort_conn()
{
	local c=/sys/fs/fuse/connections
	if ! mountpoint -q "$c"; then
		mount -t fusectl fusectl "$c" 2>/dev/null && fusectl_mounted=1
	fi
	[ -e "$c/$1/abort" ] && echo 1 >"$c/$1/abort"
	if [ -n "$fusectl_mounted" ]; then
		umount "$c" 2>/dev/null && fusectl_mounted=
	fi
}

# tasks PID: the threads the process still has (a zombie has one).
tasks()
{
	find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# attempt N: one run of the scenario; sets HIT when the SIGKILL came during
# the write-back.  A run where it came later (the pages were already
# written back, by a `sync` of a test running beside this one, say)
# checked nothing of that: try again, up to three times.
attempt()
{
	local n=$1 minor mapper child dirty late gone ended
	HIT=
	pfs_mount "$T/fs/b" "$M" || return 1
	# Its connection number, now: a stat of a dead mount would hang.
	minor=$(mountpoint -d "$M" | cut -d: -f2)

	"$PFS_TOOL" mapstop "$M/big" 384M 388M "$T/ready$n" "$T/go$n" \
		>"$T/mapper.out" 2>"$T/mapper.err" &
	mapper=$!
	wait_file "$T/ready$n" 60 || fail "the mapper did not get ready"

	kill -TERM "$PFS_PID"
	for _ in $(seq 500); do
		grep -q 'SIGTERM from pid' "$PFS_LOG" && break
		sleep 0.01
	done
	# 384 MiB take the daemon most of a second to write back here.
	sleep 0.1
	# The write-back child (an auto_unmount guard would be preallocfs-aum).
	child=$(pgrep -P "$PFS_PID" -x preallocfs | head -n 1)
	dirty=$(awk '/^Dirty:/ { print $2 }' /proc/meminfo)
	# Once written back, the busy mount is reported: then it came too
	# late.
	late=$(grep -c 'not stopping yet' "$PFS_LOG")
	kill -KILL "$PFS_PID"
	echo "run $n: SIGKILL with ${dirty} KiB dirty on the machine"
	gone=
	for _ in $(seq 100); do
		[ "$(tasks "$PFS_PID")" -le 1 ] && { gone=1; break; }
		sleep 0.1
	done
	if [ -z "$gone" ]; then
		cat "/proc/$PFS_PID/task/"*/stack >&2 2>/dev/null
		abort_conn "$minor"
	fi
	check "run $n: a daemon killed during its stop's write-back ends within 10 s" \
		test -n "$gone"
	wait "$PFS_PID" 2>/dev/null
	# The child's calls fail once the connection is gone; it ends (its
	# parent death signal).
	ended=
	for _ in $(seq 100); do
		[ -z "$child" ] || ! kill -0 "$child" 2>/dev/null &&
			{ ended=1; break; }
		sleep 0.1
	done
	# A late SIGKILL may come between two attempts, with no child.
	if [ "$late" = 0 ]; then
		HIT=1
		check "run $n: the stop wrote back from a child process" \
			test -n "$child"
		check "run $n: its write-back child ends too" test -n "$ended"
	fi

	# Let the program go (it gets ENOTCONN or SIGBUS: a SIGKILL loses the
	# rest, as t-stop shows), then clear the dead mount.
	kill -KILL "$mapper" 2>/dev/null
	wait "$mapper" 2>/dev/null
	umount "$M" 2>/dev/null || { abort_conn "$minor"; umount -l "$M"; }
	check "run $n: the mount is gone" bash -c "! mountpoint -q '$M'"
	rm -f "$T/fs/b/big"
}

hit=
for n in 1 2 3; do
	attempt "$n" || break
	[ -n "$HIT" ] && { hit=$n; break; }
	echo "run $n: the write-back was over before the SIGKILL; again"
done
check "the SIGKILL came during the write-back in one of 3 runs (else this test checked nothing)" \
	test -n "$hit"
done_testing
