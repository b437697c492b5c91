#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes that start beyond end-of-file, and copy_file_range into a range
# beyond it.  The raw filesystem leaves the gap as a hole (to be allocated,
# or not, later).  Through preallocfs the gap is allocated first: no hole,
# st_blocks covers st_size, the gap reads as zeros.  A gap too big for the
# free space makes the write fail with ENOSPC and changes nothing.  Appending
# at end-of-file passes through.
#
# Holes are counted on the backing file with FIEMAP (pfs_tool holes), which
# sees preallocated extents as allocated; tmpfs has no FIEMAP and SEEK_HOLE
# calls preallocated pages holes, so there only st_blocks is checked.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

K64=$((64 << 10))
M16=$((16 << 20))
M32=$((32 << 20))

# state PATH: "st_size st_blocks"
state()
{
	echo "$(size "$1") $(blocks "$1")"
}

for fs in ext4 tmpfs; do
	R=$T/raw-$fs
	B=$T/bk-$fs
	M=$T/mnt-$fs
	mk_fs "$fs" 128M "$R"
	mk_fs "$fs" 128M "$B"

	# CONTROL on the raw filesystem: holes, and sparse writes far away.
	expect_tool "$fs raw: pwrite 64K at 32M" "0 ok" pwrite "$R/w" 32M 64K
	expect_sparse "$fs raw: the gap is a hole" "$R/w"
	[ "$fs" = ext4 ] && expect_tool "$fs raw: holes" "0 1" holes "$R/w"
	expect_tool "$fs raw: pwrite 64K at 1G is accepted" "0 ok" \
		pwrite "$R/w" 1G 64K
	expect_eq "$fs raw: st_size" $(((1 << 30) + K64)) "$(size "$R/w")"
	"$PFS_TOOL" pwrite "$R/src" 0 64K >/dev/null
	expect_tool "$fs raw: copy_file_range 64K to 16M" "0 ok" \
		copyrange "$R/src" "$R/c" 16M 64K
	expect_sparse "$fs raw: the copy's gap is a hole" "$R/c"
	[ "$fs" = ext4 ] && expect_tool "$fs raw: copy holes" "0 1" holes "$R/c"
	expect_tool "$fs raw: copy_file_range 64K to 1G is accepted" "0 ok" \
		copyrange "$R/src" "$R/c" 1G 64K

	pfs_mount "$B" "$M" || continue

	# A gap that fits: allocated before the write.
	expect_tool "$fs: pwrite 64K at 32M through preallocfs" "0 ok" \
		pwrite "$M/w" 32M 64K
	expect_eq "$fs: st_size through the mount" $((M32 + K64)) \
		"$(size "$M/w")"
	expect_covered "$fs: gap allocated on the backing file" "$B/w"
	[ "$fs" = ext4 ] && expect_tool "$fs: holes in the backing file" \
		"0 0" holes "$B/w"
	check "$fs: the gap reads as zeros" cmp -n "$M32" "$M/w" /dev/zero
	expect_tool "$fs: the data after the gap" "0 ok" \
		verify "$M/w" 64K --offset 32M

	# Appending at end-of-file passes through.
	expect_tool "$fs: append 64K at EOF" "0 ok" \
		pwrite "$M/w" $((M32 + K64)) 64K
	expect_eq "$fs: st_size after append" $((M32 + 2 * K64)) \
		"$(size "$B/w")"
	expect_covered "$fs: still fully allocated" "$B/w"

	# A gap that does not fit: ENOSPC, nothing written, nothing allocated.
	before=$(state "$B/w")
	free0=$(free_kib "$B")
	expect_tool "$fs: pwrite 64K at 1G through preallocfs" "1 ENOSPC" \
		pwrite "$M/w" 1G 64K
	expect_eq "$fs: backing size+blocks unchanged" "$before" "$(state "$B/w")"
	expect_eq "$fs: size through the mount unchanged" "${before% *}" \
		"$(size "$M/w")"
	expect_eq "$fs: free KiB unchanged" "$free0" "$(free_kib "$B")"

	# ext4, at the edge: gap and data together 64 blocks less than the
	# f_bfree statfs reports, which ext4 cannot deliver (reserved clusters,
	# extent blocks): fallocate fails part-way and must leave nothing
	# behind.  A 1M file, so its
	# extents fit in the inode before.
	if [ "$fs" = ext4 ]; then
		"$PFS_TOOL" pwrite "$M/e" 0 1M >/dev/null
		sync -f "$B"
		before=$(state "$B/e")
		free0=$(free_kib "$B")
		gap=$(($(stat -f -c '(%f - 64) * %S' "$B") - K64))
		expect_tool "$fs: pwrite 64K after a gap, (f_bfree-64) blocks in all" \
			"1 ENOSPC" pwrite "$M/e" $(((1 << 20) + gap)) 64K
		expect_eq "$fs: edge: backing size+blocks unchanged" "$before" \
			"$(state "$B/e")"
		expect_eq "$fs: edge: free KiB unchanged" "$free0" \
			"$(free_kib "$B")"
		rm -f "$M/e"
	fi

	# copy_file_range beyond EOF: the same rules.
	"$PFS_TOOL" pwrite "$M/src" 0 64K >/dev/null
	expect_tool "$fs: copy_file_range 64K to 16M through preallocfs" \
		"0 ok" copyrange "$M/src" "$M/c" 16M 64K
	expect_eq "$fs: copy st_size" $((M16 + K64)) "$(size "$M/c")"
	expect_covered "$fs: copy gap allocated on the backing file" "$B/c"
	[ "$fs" = ext4 ] && expect_tool "$fs: holes in the copy" "0 0" \
		holes "$B/c"
	check "$fs: the copy's gap reads as zeros" \
		cmp -n "$M16" "$M/c" /dev/zero
	check "$fs: the copied data" cmp -n "$K64" -i "$M16:0" "$M/c" "$M/src"

	before=$(state "$B/c")
	free0=$(free_kib "$B")
	expect_tool "$fs: copy_file_range 64K to 1G through preallocfs" \
		"1 ENOSPC" copyrange "$M/src" "$M/c" 1G 64K
	expect_eq "$fs: copy size+blocks unchanged" "$before" "$(state "$B/c")"
	expect_eq "$fs: free KiB unchanged" "$free0" "$(free_kib "$B")"

	pfs_umount "$M"
done

done_testing
