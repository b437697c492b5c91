#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-self-access: the daemon makes no request to its own mount while it
# serves, and a SIGKILL right after mounting ends it.
#
# A thread of the daemon that waits for its own mount's answer cannot be
# stopped by SIGKILL once a worker has read the request: the kernel waits
# for the reply without end, the dying process keeps /dev/fuse open, and
# nothing ever answers.  The stop thread used to statx the mount point at
# start; a `kill -9` in that moment (1 in 25 under load in t-systemd) left
# an unkillable process and a dead mount for good.  The mount's device and
# id now come from /proc/self/mountinfo, and -o readahead= is written at
# the first open.
#
# Checks, with strace following every thread: after the mount(2) call, no
# system call names the mount point until the daemon's own umount2 at
# exit (an unmount from outside, readahead=512 and a first open included);
# then 20 SIGKILLs right after mounting, each of which must end the daemon
# within 10 s.
. "$(dirname "$0")/lib.sh"
require_loop
command -v strace >/dev/null || skip "strace is not installed (scripts/deps.sh)"

mk_fs ext4 32M "$T/fs"
mkdir "$T/fs/b"
echo data >"$T/fs/b/f"
M=$T/mp

# LeakSanitizer (the ASan build) cannot work under a tracer: off here.
pfs_mount_under env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -e trace=%file,%desc -o "$T/daemon.strace" -- \
	"$T/fs/b" "$M" -o readahead=512 || done_testing
check "a first open reads through the mount" grep -qx data "$M/f"
dev=$(mountpoint -d "$M")
v=
for _ in $(seq 50); do
	v=$(cat "/sys/class/bdi/$dev/read_ahead_kb")
	[ "$v" = 512 ] && break
	sleep 0.1
done
expect_eq "readahead=512, set at the first open" 512 "$v"
pfs_umount "$M"

# Every line naming the mount point after mount(2) (strace quotes paths),
# but the daemon's umount2 at exit and the exec of libfuse's
# `mount -f` (it records the mount in /etc/mtab where that is a file).
after=$(awk -v m="\"$M\"" 'index($0, m) {
	if (mounted && $0 !~ /umount2\(|execve\(/) print
	if ($0 ~ /[ (]mount\(/) mounted = 1 }' "$T/daemon.strace")
check "mount(2) seen in the trace" grep -q "mount(\"$T/fs/b\", \"$M\"" \
	"$T/daemon.strace"
check "no system call names the mount point while serving${after:+: $after}" \
	test -z "$after"

# SIGKILL right after the mount appears: the daemon ends each time.
stuck=0
for i in $(seq 20); do
	pfs_mount "$T/fs/b" "$M" || break
	kill -KILL "$PFS_PID"
	for _ in $(seq 100); do
		# A killed process is gone, or a zombie of one thread.
		[ "$(find "/proc/$PFS_PID/task" -mindepth 1 -maxdepth 1 \
			2>/dev/null | wc -l)" -le 1 ] && break
		sleep 0.1
	done
	if [ "$(find "/proc/$PFS_PID/task" -mindepth 1 -maxdepth 1 \
		2>/dev/null | wc -l)" -gt 1 ]; then
		stuck=$((stuck + 1))
		cat "/proc/$PFS_PID/task/"*/stack >&2 2>/dev/null
		break
	fi
	wait "$PFS_PID" 2>/dev/null
	umount -l "$M" 2>/dev/null
done
expect_eq "daemons killed right after mounting that did not end" 0 "$stuck"
done_testing
