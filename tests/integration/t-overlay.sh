#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-overlay: preallocfs on overlayfs (the layout of container volumes: a
# read-only lower directory and an upper directory on ext4), the core
# guarantees and --check:
#   - --check names overlayfs, fallocate works, guarantee full;
#   - truncate to more than the upper filesystem holds: ENOSPC at once, the
#     file unchanged;
#   - truncate to 48 MiB (fits), fill the upper filesystem, then store into
#     every page through a shared mapping: no SIGBUS, msync succeeds, and the
#     bytes are in the upper layer's file after unmounting;
#   - a sparse file of the lower layer opened for writing through the mount
#     is copied up with its holes allocated (holes=fill).
# Control: the same mapped stores on the raw overlay die of SIGBUS, and the
# raw copy-up of the sparse file leaves it sparse.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip "the kernel has no overlayfs"

M48=$((48 << 20))

# overlay NAME: lower (ext4, a sparse 16 MiB file) + upper (96 MiB ext4)
# mounted at $T/NAME.
overlay()
{
	local o=$T/$1
	mk_fs ext4 64M "$o-lower"
	mk_fs ext4 96M "$o-upper"
	truncate -s 16M "$o-lower/sparse"
	mkdir -p "$o-upper/u" "$o-upper/w" "$o"
	mount -t overlay overlay \
		-o "lowerdir=$o-lower,upperdir=$o-upper/u,workdir=$o-upper/w" "$o" ||
		skip "cannot mount overlayfs"
	_pfs_mounts+=("$o")
}

# --- CONTROL: the raw overlay.
overlay raw
R=$T/raw
expect_tool "raw: ftruncate 48M" "0 ok" ftruncate "$R/f" 48M
expect_sparse "raw: nothing allocated yet" "$T/raw-upper/u/f"
filled=$("$PFS_TOOL" fill "$R")
expect_eq "raw: fill exit status ($filled bytes)" 0 "$?"
expect_tool "raw: mmap stores die of SIGBUS" "135" \
	mmapwrite "$R/f" 48M --no-truncate --msync
rm -f "$R"/fill*
expect_tool "raw: open the lower sparse file for writing" "0 ok" \
	open-rw "$R/sparse"
expect_sparse "raw: copied up sparse" "$T/raw-upper/u/sparse"

# --- Through preallocfs.
overlay ov
O=$T/ov
M=$T/mnt
check "--check: overlayfs, fallocate works, guarantee full" \
	bash -c "'$PFS_BIN' --check '$O' | grep -q '^filesystem: *overlayfs' &&
		'$PFS_BIN' --check '$O' | grep -q '^fallocate: *works' &&
		'$PFS_BIN' --check '$O' | grep -q '^guarantee: *full'"
pfs_mount "$O" "$M" || done_testing

: >"$M/big"
expect_tool "truncate past the free space: ENOSPC" "1 ENOSPC" \
	truncate "$M/big" 200M
expect_eq "the refused file is unchanged" "0 0" "$(st_state "$O/big")"

expect_tool "ftruncate 48M through preallocfs" "0 ok" ftruncate "$M/f" 48M
expect_covered "upper file allocated by the truncate" "$T/ov-upper/u/f"
expect_tool "open the lower sparse file for writing" "0 ok" \
	open-rw "$M/sparse"
expect_covered "copied up with its holes allocated" "$T/ov-upper/u/sparse"
filled=$("$PFS_TOOL" fill "$O")
expect_eq "fill the upper layer next to the mount ($filled bytes)" 0 "$?"
expect_eq "free KiB after fill" 0 "$(free_kib "$O")"
expect_tool "mmap stores through preallocfs land, msync ok" "0 ok" \
	mmapwrite "$M/f" 48M --no-truncate --msync
pfs_umount "$M"
expect_eq "upper file size" "$M48" "$(size "$T/ov-upper/u/f")"
expect_tool "the upper layer's file holds exactly the bytes written" "0 ok" \
	verify "$T/ov-upper/u/f" 48M

done_testing
