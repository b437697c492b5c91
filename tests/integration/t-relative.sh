#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-relative: relative paths on the command line (`preallocfs b m`, and in
# place as `preallocfs d d`), daemonized and with -f.  SIGTERM stops the
# daemon, the mount is gone (the mount point is a plain directory again,
# not a dead "Transport endpoint is not connected" one), the data is in the
# backing directory, and the same command mounts again.
#
# Before the paths were made absolute, the daemon (working in "/" after
# libfuse's fuse_daemonize(), also with -f) unmounted "m" relative to "/":
# the unmount failed, the daemon exited and left a dead mount that could
# not be mounted again (with the stop thread alone, it waited forever).

. "$(dirname "$0")/lib.sh"

require_loop
set -m

mk_fs ext4 64M "$T/fs"
W=$T/fs			# the directory the commands run in
N=$$			# unique names: pgrep finds the daemon by its arguments

# mounted MNT: a preallocfs mount is at MNT.
mounted()
{
	findmnt -rn -M "$1" -t fuse.preallocfs >/dev/null
}

# start NAME MODE BACKING MNT: run the daemon from $W with relative paths;
# MODE is bg (daemonized) or fg (-f, in the background).  Sets PID.
start()
{
	local name=$1 mode=$2 b=$3 m=$4
	PID=
	if [ "$mode" = fg ]; then
		(cd "$W" && exec "$PFS_BIN" -f "$b" "$m" 2>"$T/$name.log") &
		PID=$!
		_pfs_pids+=("$PID")
		for _ in $(seq 100); do
			mounted "$W/$m" && break
			sleep 0.1
		done
	else
		if ! (cd "$W" && "$PFS_BIN" "$b" "$m"); then
			fail "$name: daemonized mount failed"
			return 1
		fi
		PID=$(pgrep -f -x -- "$PFS_BIN $b $m")
	fi
	_pfs_mounts+=("$W/$m")
	check "$name: mounted at $W/$m" mounted "$W/$m"
	[ -n "$PID" ] || { fail "$name: no daemon pid"; return 1; }
}

# stop NAME MODE MNT: SIGTERM; the daemon exits within 10 s (status 0 when
# it is our child, -f) and leaves nothing.
stop()
{
	local name=$1 mode=$2 m=$W/$3
	kill -TERM "$PID"
	for _ in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PID" 2>/dev/null; then
		fail "$name: daemon still running 10 s after SIGTERM"
		umount -l "$m"
	fi
	if [ "$mode" = fg ]; then
		wait "$PID"
		expect_eq "$name: daemon exit status" 0 "$?"
	fi
	check "$name: no mount left at $m" bash -c "! findmnt -rn -M '$m' >/dev/null"
	check "$name: mount point is a plain directory again" test -d "$m"
	# A dead mount is invisible to lib.sh's cleanup (mountpoint(1) cannot
	# stat it): take it away here.
	if mounted "$m"; then
		umount -l "$m"
	fi
}

# rel_case NAME MODE BACKING MNT: mount, write, stop, mount again, read.
rel_case()
{
	local name=$1 mode=$2 b=$3 m=$4
	mkdir -p "$W/$b" "$W/$m"
	start "$name" "$mode" "$b" "$m" || return
	echo "$name" >"$W/$m/file"
	stop "$name" "$mode" "$m"
	expect_eq "$name: data in the backing directory" "$name" \
		"$(cat "$W/$b/file" 2>&1)"
	start "$name again" "$mode" "$b" "$m" || return
	expect_eq "$name again: data through the new mount" "$name" \
		"$(cat "$W/$m/file" 2>&1)"
	stop "$name again" "$mode" "$m"
}

rel_case bg bg "b.$N" "m.$N"
rel_case fg fg "b2.$N" "m2.$N"
rel_case inplace-bg bg "d.$N" "d.$N"
rel_case inplace-fg fg "d2.$N" "d2.$N"

# The daemon logs the mount point it unmounts as an absolute path.
check "fg: the log names the absolute mount point" \
	grep -q "unmounted $W/m2.$N" "$T/fg.log"

done_testing
