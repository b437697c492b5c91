#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# O_DIRECT writes that fill the disk.
#
# A writer opens a file O_DIRECT and writes 4 MiB at a time (more than one
# FUSE request) from an aligned buffer until a write fails.  Natively the
# last write is short (or fails) and the next fails with ENOSPC.  With the
# kernel's asynchronous direct I/O the 4 requests of one write are sent at
# once and a short reply among them turns the whole write into EIO; the
# daemon turns it off, so through preallocfs the writer sees what it sees
# natively: ENOSPC (after a short count), never EIO.  On tmpfs the last
# write is short whenever the free space is not a multiple of 4 MiB (a 12K
# file sees to that); ext4 is checked the same way.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

# odirect_result DIR: pfs_tool odirect DIR/f 4M after a 12K file.  Sets
# RES to "STATUS OUTPUT" with the output on one line ("1 short ENOSPC") and
# WRITTEN to the bytes the writes reported written.
odirect_result()
{
	local out rc
	"$PFS_TOOL" pwrite "$1/pad" 0 12K >/dev/null
	out=$("$PFS_TOOL" odirect "$1/f" 4M 2>"$T/odirect.err")
	rc=$?
	RES="$rc $(echo $out)"
	WRITTEN=$(sed -n 's/.*: \([0-9]*\) bytes written$/\1/p' "$T/odirect.err")
}

# expect_enospc DESCRIPTION RESULT: "1 ENOSPC", after any "short".
expect_enospc()
{
	if [[ $2 =~ ^1\ (short\ )*ENOSPC$ ]]; then
		echo "ok: $1 ($2)"
	else
		fail "$1: expected short counts then ENOSPC, got '$2'"
	fi
}

for fs in tmpfs ext4; do
	R=$T/raw-$fs
	B=$T/bk-$fs
	M=$T/mnt-$fs
	mk_fs "$fs" 64M "$R"
	mk_fs "$fs" 64M "$B"

	# CONTROL: natively (tmpfs takes O_DIRECT since Linux 6.6).
	odirect_result "$R"
	expect_enospc "$fs raw: O_DIRECT writes until the disk is full" "$RES"
	expect_eq "$fs raw: the file holds what was reported written" \
		"$WRITTEN" "$(size "$R/f")"

	pfs_mount "$B" "$M" || continue
	odirect_result "$M"
	expect_enospc "$fs: O_DIRECT writes through preallocfs" "$RES"
	check "$fs: ... never EIO" test "${RES/EIO/}" = "$RES"
	expect_eq "$fs: the file holds what was reported written" \
		"$WRITTEN" "$(size "$B/f")"
	pfs_umount "$M"
done

done_testing
