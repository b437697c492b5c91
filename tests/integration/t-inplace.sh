#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-inplace: mounting preallocfs over the directory it serves
# (`preallocfs DIR DIR`), under a running application.
#
# An application directory on a small ext4 has files, and two processes
# hold files open in it BEFORE the mount: this shell (fd 3, read-write) and
# a background writer appending a line every 0.1 s.  Then `preallocfs DIR
# DIR`, first in the foreground (-f), then the daemonizing way:
#   - the descriptors opened before keep working, on the backing inode
#     (their st_dev is the ext4's, not the FUSE mount's): writes land in the
#     backing file and are visible through the mount;
#   - new opens go through preallocfs: st_dev is the mount's, a new file
#     lands in the backing directory, growth past the free space is refused
#     with ENOSPC and leaves nothing behind;
#   - existing files read the same through the mount;
#   - umount brings back the plain directory (ext4 at DIR) with everything
#     written before, during and through the mount; the writer never
#     stopped, and the daemon exited 0 (foreground) or is gone (daemonized).
# A descriptor opened before the mount is not covered by preallocfs (it
# never sees it): its growth is not preallocated.  Documented, and checked
# so the documentation stays true.
. "$(dirname "$0")/lib.sh"
require_loop

A=$T/app
mk_fs ext4 32M "$A"
mkdir -p "$A/conf" "$A/data"
printf 'setting=1\n' >"$A/conf/app.conf"
head -c 65536 /dev/urandom >"$A/data/blob"
sum_blob=$(md5sum <"$A/data/blob")
printf 'line 0\n' >"$A/data/journal"
: >"$A/data/ticks"

# The application: this shell holds the journal open for appending (fd 3)
# and the directory (fd 5, a window on the backing side for the checks:
# paths through /proc/PID/fd/5 do not cross the mount put over it); a
# background writer appends to "ticks" through its own descriptor.
exec 3>>"$A/data/journal"
exec 5<"$A"
BK=/proc/$$/fd/5	# the backing directory, also once it is mounted over
(
	exec 3>&- 5<&- 4>>"$A/data/ticks"
	cd /
	n=0
	while :; do
		n=$((n + 1))
		echo "tick $n" >&4
		sleep 0.1
	done
) &
WRITER=$!
DEV_EXT4=$(stat -c %d "$A")

# ticks: the number of lines in the backing "ticks" file.
ticks()
{
	wc -l <"$BK/data/ticks"
}

# expect_growing DESC: the writer is still appending.
expect_growing()
{
	local t0
	t0=$(ticks)
	sleep 0.5
	check "$1: background writer still appending ($t0 -> $(ticks) lines)" \
		test "$(ticks)" -gt "$t0"
}

# in_place ROUND: the checks while DIR is mounted over itself.
in_place()
{
	local r=$1 out rc dev

	expect_eq "$r: findmnt DIR" "$A fuse.preallocfs" \
		"$(findmnt -rn -M "$A" -o SOURCE,FSTYPE | tail -n 1)"
	dev=$(stat -c %d "$A/conf/app.conf")
	check "$r: new opens go through the mount (st_dev $dev, ext4 $DEV_EXT4)" \
		test "$dev" != "$DEV_EXT4"
	expect_eq "$r: fd opened before the mount is still on ext4" "$DEV_EXT4" \
		"$(stat -L -c %d /proc/$$/fd/3)"

	# Existing files, through the mount.
	expect_eq "$r: config through the mount" "setting=1" "$(cat "$A/conf/app.conf")"
	expect_eq "$r: blob through the mount" "$sum_blob" "$(md5sum <"$A/data/blob")"

	# The old descriptor keeps working and writes the backing file.
	echo "line $r via old fd" >&3
	check "$r: old fd's write is in the backing file" \
		grep -qx "line $r via old fd" "$BK/data/journal"
	check "$r: ... and visible through the mount" \
		grep -qx "line $r via old fd" "$A/data/journal"
	expect_growing "$r"
	check "$r: writer's lines visible through the mount" \
		test "$(wc -l <"$A/data/ticks")" -gt 0

	# New files go through preallocfs into the backing directory.
	echo "written through $r" >"$A/data/new-$r"
	expect_eq "$r: new file is in the backing directory" "written through $r" \
		"$(cat "$BK/data/new-$r")"

	# Growth past the free space: refused, nothing left behind.
	out=$(truncate -s 1G "$A/data/big" 2>&1)
	rc=$?
	case $rc:$out in
	1:*"No space left on device"*) echo "ok: $r: truncate -s 1G through the mount: ENOSPC" ;;
	*) fail "$r: truncate -s 1G through the mount: expected ENOSPC, got rc $rc: $out" ;;
	esac
	expect_eq "$r: refused file is empty on the backing side" 0 \
		"$(size "$BK/data/big")"
	check "$r: growth that fits (8M) is allocated" truncate -s 8M "$A/data/big"
	expect_covered "$r: 8M allocated on the backing side" "$BK/data/big"
	rm -f "$A/data/big"

	# The limit, as documented: growth through the old descriptor is not
	# seen by preallocfs (the raw ext4 makes a sparse 1G file).
	check "$r: old fd is not covered: its 1G truncate succeeds (documented)" \
		truncate -s 1G /proc/$$/fd/3
	expect_sparse "$r: ... and leaves a hole" "$BK/data/journal"
	truncate -s 0 /proc/$$/fd/3
	echo "line $r after reset" >&3
}

# after ROUND: DIR is the plain ext4 directory again, with all the data.
after()
{
	local r=$1
	expect_eq "$r: DIR is plain ext4 again" "ext4" \
		"$(findmnt -rn -M "$A" -o FSTYPE | tail -n 1)"
	expect_eq "$r: st_dev of DIR is ext4's again" "$DEV_EXT4" \
		"$(stat -c %d "$A/conf/app.conf")"
	expect_eq "$r: config kept" "setting=1" "$(cat "$A/conf/app.conf")"
	expect_eq "$r: blob kept" "$sum_blob" "$(md5sum <"$A/data/blob")"
	expect_eq "$r: file made through the mount kept" "written through $r" \
		"$(cat "$A/data/new-$r" 2>&1)"
	check "$r: old fd's writes kept" grep -qx "line $r after reset" "$A/data/journal"
	check "$r: no leftover from the refused growth" test ! -e "$A/data/big"
	expect_growing "$r: after umount"
}

# Round 1: in the foreground (lib.sh's pfs_mount), umount, exit status 0.
if pfs_mount "$A" "$A"; then
	in_place "fg"
	pfs_umount "$A"
	after "fg"
fi

# Round 2: the daemonizing way (as mount(8) and scripts run it).
if "$PFS_BIN" "$A" "$A" 2>"$T/daemon-bg.log"; then
	_pfs_mounts+=("$A")
	echo "ok: bg: preallocfs DIR DIR returned"
	PID=$(pgrep -f -- "^$PFS_BIN $A $A\$")
	expect_eq "bg: one daemon" 1 "$(wc -w <<<"$PID")"
	in_place "bg"
	check "bg: umount" umount "$A"
	for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	check "bg: daemon gone after umount" sh -c '! kill -0 "$1" 2>/dev/null' - "$PID"
	after "bg"
else
	cat "$T/daemon-bg.log" >&2
	fail "bg: preallocfs DIR DIR"
fi

kill "$WRITER"
wait "$WRITER" 2>/dev/null
exec 3>&- 5<&-
done_testing
