#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-abort: when the kernel aborts the connection, the daemon fails.
#
# An aborted FUSE connection leaves the mount in place, dead: every
# program gets ENOTCONN there.  The kernel aborts on `echo 1 >
# /sys/fs/fuse/connections/N/abort`, and (Linux 6.14+) when a request
# waits longer than the sysctl fs.fuse.default_request_timeout (for
# daemons that ask for none, as this one) or fs.fuse.max_request_timeout
# allow.  Requests here may wait for long by design: a blocking lock, a
# large growth, an fsync of much dirty data.  The kernel then answers the
# daemon's read with ENODEV, as after an unmount, and libfuse ends its
# loop with 0: the daemon used to exit 0 with nothing in its log, so a
# supervisor (Restart=on-failure) left the dead mount alone.
#
# Checks:
#   - with the sysctl at 15 s, --check and --check --json say so and the
#     daemon warns once at mount;
#   - a flock(1) that waits for a lock held through the mount: the kernel
#     aborts the connection after 15 to 30 s, the waiting program gets
#     ECONNABORTED, and the daemon exits 1 with one error line;
#   - an abort through fusectl, with a program waiting for a lock that
#     another holds: the same, and the daemon's waiting thread ends before
#     the session is freed (it used to reply on the freed session);
#   - an unmount still ends the daemon with 0 (the control).
# Runs alone (meson.build): the sysctl applies to every FUSE mount made
# meanwhile, other tests' included.

. "$(dirname "$0")/lib.sh"

require_loop
sysctl_dir=/proc/sys/fs/fuse
[ -w "$sysctl_dir/default_request_timeout" ] ||
	skip "no fs.fuse.default_request_timeout (Linux 6.14+)"
command -v flock >/dev/null || skip "flock (util-linux) is not installed"

old_default=$(cat "$sysctl_dir/default_request_timeout")
old_max=$(cat "$sysctl_dir/max_request_timeout")
fusectl_mounted=
pfs_cleanup_hook()
{
	echo "$old_default" >"$sysctl_dir/default_request_timeout"
	echo "$old_max" >"$sysctl_dir/max_request_timeout"
	[ -n "$fusectl_mounted" ] && umount /sys/fs/fuse/connections
}
if [ "$old_default" != 0 ] || [ "$old_max" != 0 ]; then
	echo "note: fs.fuse request timeouts were $old_default / $old_max"
fi
echo 0 >"$sysctl_dir/default_request_timeout"
echo 0 >"$sysctl_dir/max_request_timeout"

mk_fs ext4 64M "$T/fs"
mkdir "$T/fs/b"
M=$T/mp

# expect_failed_end WHAT: the daemon (PFS_PID) exits by itself within
# TIMEOUT seconds, with status 1 and the one error line.
expect_failed_end()
{
	local what=$1 rc=timeout
	for _ in $(seq $((${2:-10} * 10))); do
		if ! kill -0 "$PFS_PID" 2>/dev/null; then
			wait "$PFS_PID"
			rc=$?
			break
		fi
		sleep 0.1
	done
	expect_eq "$what: the daemon's exit status" 1 "$rc"
	check "$what: its log says the connection ended with the mount still there" \
		grep -q 'the kernel ended the connection while .* is still mounted' \
		"$PFS_LOG"
	# Nothing else: no sanitizer report (a lock waiter used to reply on
	# the freed session), no failed write to the closed device.
	if grep -Eq 'Sanitizer|runtime error|^=+$|^fuse: ' "$PFS_LOG"; then
		cat "$PFS_LOG" >&2
		fail "$what: the daemon's log has more than the one error line"
	fi
	[ "$rc" = timeout ] && kill -TERM "$PFS_PID" 2>/dev/null
}

# --check without, then with a timeout.
check "--check: no timeout" bash -c \
	"'$PFS_BIN' --check '$T/fs/b' | grep -qx 'request timeout: none.*'"
echo 15 >"$sysctl_dir/default_request_timeout"
out=$("$PFS_BIN" --check "$T/fs/b" | grep '^request timeout:')
echo "  $out"
check "--check: the 15 s timeout" grep -q '^request timeout: 15 s: ' <<<"$out"
expect_eq "--check --json: kernel_request_timeout_s" 15 \
	"$("$PFS_BIN" --check --json "$T/fs/b" | python3 -c \
		'import json, sys; print(json.load(sys.stdin)["kernel_request_timeout_s"])')"

# A lock wait longer than the timeout.  The kernel reads the sysctl when
# the daemon answers its first request (INIT): back to 0 once the mount
# answers and the daemon has warned.
pfs_mount "$T/fs/b" "$M"
ls "$M" >/dev/null
warned=
for _ in $(seq 50); do
	grep -q 'aborts this mount when a request waits longer than 15 s' \
		"$PFS_LOG" && { warned=1; break; }
	sleep 0.1
done
echo 0 >"$sysctl_dir/default_request_timeout"
check "the daemon warns of the timeout at mount" test -n "$warned"
touch "$M/lock"
flock -x "$M/lock" sleep 90 &
holder=$!
sleep 0.5
start=$SECONDS
flock -x "$M/lock" true 2>"$T/waiter.err"
waiter_rc=$?
echo "  the waiter ended after $((SECONDS - start)) s, status $waiter_rc: $(cat "$T/waiter.err")"
check "the lock waiter fails with ECONNABORTED" \
	grep -q 'Software caused connection abort' "$T/waiter.err"
expect_failed_end "request timeout"
# flock(1) and its sleep.
pkill -P "$holder" 2>/dev/null
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
umount "$M" 2>/dev/null || umount -l "$M"

# An abort through fusectl.
pfs_mount "$T/fs/b" "$M"
conn=$(mountpoint -d "$M" | cut -d: -f2)
if ! mountpoint -q /sys/fs/fuse/connections; then
	mount -t fusectl fusectl /sys/fs/fuse/connections &&
		fusectl_mounted=1
fi
# With a program waiting for a lock that another, still running, holds:
# the daemon's waiting thread must end before the session is freed.
flock -x "$M/lock" sleep 90 &
holder=$!
sleep 0.5
flock -x "$M/lock" true 2>"$T/waiter.err" &
waiter=$!
sleep 0.5
echo 1 >"/sys/fs/fuse/connections/$conn/abort"
wait "$waiter"
check "fusectl abort: the lock waiter fails with ECONNABORTED" \
	grep -q 'Software caused connection abort' "$T/waiter.err"
expect_failed_end "fusectl abort"
pkill -P "$holder" 2>/dev/null
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
umount "$M" 2>/dev/null || umount -l "$M"

# Control: an unmount is a clean end.
pfs_mount "$T/fs/b" "$M"
pfs_umount "$M"
done_testing
