#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Grow a file to 64 MiB (it fits), let another process fill the disk, then
# store into every page through a shared mapping.  On the raw filesystem the
# stores die of SIGBUS; through preallocfs the space was taken at truncate
# time, so every store lands: the writer exits 0, msync reports no error and
# after unmounting the backing file holds exactly the bytes written.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

M64=$((64 << 20))

for fs in ext4 tmpfs; do
	R=$T/raw-$fs
	B=$T/bk-$fs
	M=$T/mnt-$fs
	mk_fs "$fs" 128M "$R"
	mk_fs "$fs" 128M "$B"
	echo "# $fs: $(free_kib "$R") KiB free"

	# CONTROL on the raw filesystem.
	expect_tool "$fs raw: ftruncate 64M" "0 ok" ftruncate "$R/f" 64M
	expect_sparse "$fs raw: nothing allocated yet" "$R/f"
	filled=$("$PFS_TOOL" fill "$R")
	rc=$?
	expect_eq "$fs raw: fill exit status ($filled bytes)" 0 "$rc"
	expect_eq "$fs raw: free KiB after fill" 0 "$(free_kib "$R")"
	expect_tool "$fs raw: mmap stores die of SIGBUS" "135" \
		mmapwrite "$R/f" 64M --no-truncate --msync

	pfs_mount "$B" "$M" || continue

	expect_tool "$fs: ftruncate 64M through preallocfs" "0 ok" \
		ftruncate "$M/f" 64M
	expect_covered "$fs: backing file allocated by the truncate" "$B/f"

	# Another process fills the disk: on ext4 next to the mount, directly
	# in the backing directory; on tmpfs through the mount.
	if [ "$fs" = ext4 ]; then
		filled=$("$PFS_TOOL" fill "$B")
	else
		filled=$("$PFS_TOOL" fill "$M")
	fi
	rc=$?
	expect_eq "$fs: fill exit status ($filled bytes)" 0 "$rc"
	expect_eq "$fs: free KiB after fill" 0 "$(free_kib "$B")"

	# The writer is a child process of its own (pfs_tool).
	expect_tool "$fs: mmap stores through preallocfs land, msync ok" \
		"0 ok" mmapwrite "$M/f" 64M --no-truncate --msync
	expect_tool "$fs: content read back through the mount" "0 ok" \
		verify "$M/f" 64M
	pfs_umount "$M"

	expect_eq "$fs: backing st_size" "$M64" "$(size "$B/f")"
	expect_tool "$fs: backing file holds exactly the bytes written" "0 ok" \
		verify "$B/f" 64M
done

done_testing
