#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-stop: a stop signal loses nothing.  A program has 20 MiB of dirty pages
# in a shared mapping of a file on the mount when the daemon gets SIGTERM
# (systemctl stop) or SIGINT (Ctrl-C).  The daemon writes them back at once
# (they are in the backing file while the program still has them mapped),
# keeps serving while the file is mapped, says why in its log, lets the
# program store 4 MiB more, msync and close without an error, and then
# unmounts and exits 0 by itself.  Also daemonized (no -f), with -s, and
# with the mount detached meanwhile by `umount -l`.
#
# Raw control: the same program when the daemon dies by SIGKILL, which no
# daemon can handle: the dirty pages are lost and the program gets SIGBUS
# or ENOTCONN.  Before the stop thread, SIGTERM and SIGINT did exactly that
# (libfuse's handlers ended the loop and detached the mount): 0 of 20 MiB
# reached the disk and the program died of SIGBUS on its next store.

. "$(dirname "$0")/lib.sh"

require_loop
require_tool
# Background jobs of a non-interactive shell start with SIGINT ignored, and
# the daemon keeps an inherited SIG_IGN (as nohup wants): job control on.
set -m

mk_fs ext4 256M "$T/fs"

MIB20=$((20 << 20))

# wait_gone PID SECONDS: wait for a process that is not our child to exit.
wait_gone()
{
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# alive PID: the process exists.
alive()
{
	kill -0 "$1" 2>/dev/null
}

# wait_log PATTERN FILE SECONDS: wait for a line in a log.
wait_log()
{
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_mapper NAME FILE: pfs_tool mapstop in the background, 20 MiB stored
# (dirty) when it returns.  Sets MAPPER.
start_mapper()
{
	local name=$1 file=$2
	"$PFS_TOOL" mapstop "$file" 20M 24M "$T/$name.ready" "$T/$name.go" \
		>"$T/$name.out" 2>"$T/$name.err" &
	MAPPER=$!
	wait_file "$T/$name.ready" 30
}

# finish_mapper NAME: let it store the rest, msync and close; "STATUS OUT"
# in MAPPER_RES.
finish_mapper()
{
	local rc
	touch "$T/$1.go"
	wait "$MAPPER"
	rc=$?
	MAPPER_RES="$rc $(cat "$T/$1.out")"
}

# check_stopping NAME PID MNT LOG BACKING: after the signal, the daemon
# keeps serving the mapped file, says why, and the dirty pages are already
# in the backing file.
check_stopping()
{
	local name=$1 pid=$2 mnt=$3 log=$4 b=$5

	check "$name: the log says why the daemon keeps serving" \
		wait_log 'is busy' "$log" 10
	check "$name: daemon still running while the file is mapped" \
		alive "$pid"
	check "$name: still mounted while the file is mapped" \
		findmnt -rn -M "$mnt" -t fuse.preallocfs
	# Written back at the signal, while the program still has them
	# mapped (without the stop thread: none after seconds).  syncfs(2)
	# alone does not wait for a FUSE mount on Linux 6.18.y; the daemon
	# fsyncs the files programs hold, so they are there when it logs.
	expect_eq "$name: the 20 MiB of dirty pages are in the backing file already" \
		"0 $MIB20" "$(rtool pagematch "$b/f" 20M)"
	check "$name: the log names the program" \
		grep -q "in use by $MAPPER (pfs_tool)" "$log"
}

# stop_case NAME SIGNAL [daemon options...]: foreground daemon (-f).
stop_case()
{
	local name=$1 sig=$2 b=$T/fs/$1 mnt=$T/mnt-$1 rc
	shift 2

	mkdir -p "$b"
	pfs_mount "$b" "$mnt" "$@" || return
	start_mapper "$name" "$mnt/f" || return
	kill -"$sig" "$PFS_PID"
	check_stopping "$name" "$PFS_PID" "$mnt" "$PFS_LOG" "$b"
	finish_mapper "$name"
	expect_eq "$name: the program's stores, msync and close after SIG$sig" \
		"0 ok" "$MAPPER_RES"
	if ! wait_gone "$PFS_PID" 10; then
		fail "$name: daemon still running 10 s after the file was closed"
		umount "$mnt"
	fi
	wait "$PFS_PID"
	rc=$?
	expect_eq "$name: daemon exit status" 0 "$rc"
	check "$name: mount gone" test -z "$(findmnt -rn -M "$mnt")"
	expect_tool "$name: all 24 MiB are in the backing file" "0 ok" \
		verify "$b/f" 24M
	if grep -Eiq 'sanitizer|runtime error|error' "$PFS_LOG"; then
		cat "$PFS_LOG" >&2
		fail "$name: daemon log has errors"
	fi
}

stop_case term TERM
stop_case int INT
stop_case hup-single HUP -s

# Daemonized, as mount(8) and fstab start it: the stop thread must survive
# the fork.  The log goes to syslog; check the behaviour only.
b=$T/fs/bg
mnt=$T/mnt-bg
mkdir -p "$b" "$mnt"
if "$PFS_BIN" "$b" "$mnt"; then
	_pfs_mounts+=("$mnt")
	pid=$(pgrep -f -x -- "$PFS_BIN $b $mnt")
	if [ -z "$pid" ]; then
		fail "bg: cannot find the daemon's pid"
	else
		start_mapper bg "$mnt/f"
		kill -TERM "$pid"
		sleep 1.5
		check "bg: daemon still running while the file is mapped" \
			alive "$pid"
		for _ in $(seq 30); do
			got=$(rtool pagematch "$b/f" 20M)
			[ "$got" = "0 $MIB20" ] && break
			sleep 0.1
		done
		expect_eq "bg: the dirty pages are in the backing file already" \
			"0 $MIB20" "$got"
		finish_mapper bg
		expect_eq "bg: the program's stores, msync and close" "0 ok" \
			"$MAPPER_RES"
		check "bg: daemon exits once the file is closed" \
			wait_gone "$pid" 10
		check "bg: mount gone" test -z "$(findmnt -rn -M "$mnt")"
		expect_tool "bg: all 24 MiB are in the backing file" "0 ok" \
			verify "$b/f" 24M
	fi
else
	fail "bg: daemonized mount failed"
fi

# umount -l while the daemon waits: the mount point is free at once, the
# detached mount serves the mapped file until it is closed, nothing is
# lost, and then the daemon exits 0.
b=$T/fs/lazy
mnt=$T/mnt-lazy
mkdir -p "$b"
if pfs_mount "$b" "$mnt"; then
	start_mapper lazy "$mnt/f"
	kill -TERM "$PFS_PID"
	wait_log 'is busy' "$PFS_LOG" 10
	check "lazy: umount -l" umount -l "$mnt"
	check "lazy: mount point free at once" test -z "$(findmnt -rn -M "$mnt")"
	sleep 1.5
	check "lazy: daemon still serving the detached mount" alive "$PFS_PID"
	finish_mapper lazy
	expect_eq "lazy: the program's stores, msync and close" "0 ok" \
		"$MAPPER_RES"
	check "lazy: daemon exits once the file is closed" \
		wait_gone "$PFS_PID" 10
	wait "$PFS_PID"
	expect_eq "lazy: daemon exit status" 0 "$?"
	expect_tool "lazy: all 24 MiB are in the backing file" "0 ok" \
		verify "$b/f" 24M
	if grep -Eiq 'sanitizer|runtime error|error' "$PFS_LOG"; then
		cat "$PFS_LOG" >&2
		fail "lazy: daemon log has errors"
	fi
fi

# Nothing open: SIGTERM stops the daemon at once.
b=$T/fs/idle
mnt=$T/mnt-idle
mkdir -p "$b"
if pfs_mount "$b" "$mnt"; then
	echo data >"$mnt/small"
	start=$(date +%s%N)
	kill -TERM "$PFS_PID"
	wait "$PFS_PID"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	expect_eq "idle: daemon exit status" 0 "$rc"
	check "idle: stopped within 3 s ($ms ms)" test "$ms" -lt 3000
	check "idle: mount gone" test -z "$(findmnt -rn -M "$mnt")"
	expect_eq "idle: data in the backing file" data "$(cat "$b/small")"
fi

# Raw control: SIGKILL.  The same program loses its dirty pages and sees
# the failure only at its next store (SIGBUS, status 135) or at msync
# (ENOTCONN); the mount point is left dead (ENOTCONN) until unmounted.
# Then what the unit's Restart=on-failure gives the programs.
b=$T/fs/kill
mnt=$T/mnt-kill
mkdir -p "$b"
if pfs_mount "$b" "$mnt"; then
	echo old >"$mnt/held"
	exec 7<"$mnt/held"
	start_mapper kill "$mnt/f"
	kill -KILL "$PFS_PID"
	wait "$PFS_PID"
	finish_mapper kill
	res=$MAPPER_RES
	got=$(rtool pagematch "$b/f" 20M)
	echo "measured: SIGKILL: ${got#0 } of $MIB20 dirty bytes reached the disk; program: $res"
	check "control: after SIGKILL the program fails ($res)" \
		test "$res" != "0 ok"
	check "control: after SIGKILL dirty pages are lost ($got)" \
		test "$got" != "0 $MIB20"
	check "control: the mount point is dead (ENOTCONN)" \
		bash -c "! stat '$mnt' 2>/dev/null"
	# What preallocfs@.service does next (Restart=on-failure): clear the
	# dead mount (ExecStopPost=) and mount anew.  New opens work; a file
	# held open across the restart still answers ENOTCONN.  (mountpoint(1)
	# cannot stat a dead mount, so lib.sh's cleanup would miss it.)
	check "restart: the dead mount is cleared" fusermount3 -u -z "$mnt"
	if pfs_mount "$b" "$mnt"; then
		expect_eq "restart: a new open works" old "$(cat "$mnt/held" 2>&1)"
		held=$(cat <&7 2>&1)
		check "restart: the file held across it fails ($held)" \
			grep -q 'Transport endpoint is not connected' <<<"$held"
		pfs_umount "$mnt"
	fi
	exec 7<&-
fi

done_testing
