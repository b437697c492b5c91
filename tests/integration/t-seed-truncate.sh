#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The seed scenario: on a 128 MiB filesystem, `truncate -s 1G` is accepted by
# the raw filesystem (and the later mmap stores die of SIGBUS), but through
# preallocfs it fails at once with ENOSPC and changes nothing: not the size,
# not st_blocks, not the free space.  A growth that fits succeeds and is
# allocated in full; shrinking passes straight through.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

G1=$((1 << 30))
M64=$((64 << 20))

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
	echo "# $fs: $(free_kib "$R") KiB free"

	# CONTROL: the raw filesystem takes the 1G truncate without a word.
	: >"$R/f"
	expect_tool "$fs raw: truncate 1G is accepted (the hazard)" "0 ok" \
		truncate "$R/f" 1G
	expect_eq "$fs raw: st_size after truncate 1G" "$G1" "$(size "$R/f")"
	expect_sparse "$fs raw: the 1G file is a hole" "$R/f"
	expect_tool "$fs raw: mmap stores into it die of SIGBUS" "135" \
		mmapwrite "$R/f" 1G --no-truncate --msync

	pfs_mount "$B" "$M" || continue

	# The same truncate through preallocfs: refused up front.
	: >"$M/f"
	before=$(state "$B/f")
	free0=$(free_kib "$B")
	expect_tool "$fs: truncate 1G through preallocfs" "1 ENOSPC" \
		truncate "$M/f" 1G
	expect_eq "$fs: backing size+blocks unchanged" "$before" "$(state "$B/f")"
	expect_eq "$fs: size through the mount unchanged" 0 "$(size "$M/f")"
	expect_eq "$fs: free KiB unchanged" "$free0" "$(free_kib "$B")"

	out=$(truncate -s 1G "$M/f" 2>&1)
	rc=$?
	case $rc:$out in
	0:*) fail "$fs: coreutils truncate -s 1G succeeded through preallocfs" ;;
	*"No space left on device"*)
		echo "ok: $fs: coreutils truncate -s 1G fails (rc $rc: $out)" ;;
	*) fail "$fs: coreutils truncate -s 1G: expected ENOSPC, got rc $rc: $out" ;;
	esac
	expect_eq "$fs: backing size+blocks still unchanged" "$before" \
		"$(state "$B/f")"

	# ftruncate on a new file: the file is created, its growth refused.
	expect_tool "$fs: ftruncate 1G of a new file through preallocfs" \
		"1 ENOSPC" ftruncate "$M/g" 1G
	expect_eq "$fs: new file left empty" "0 0" "$(state "$B/g")"
	expect_eq "$fs: free KiB unchanged after ftruncate" "$free0" \
		"$(free_kib "$B")"

	# ext4, at the edge: growth by 64 blocks less than the f_bfree statfs
	# reports.  It passes any check against statfs, but ext4 cannot
	# deliver it (it holds back reserved clusters, 2% or 4096 of them, and
	# needs extent blocks), so fallocate itself fails part-way.  The 1M file's extents fit in the inode;
	# everything fallocate added must be gone again afterwards.
	if [ "$fs" = ext4 ]; then
		"$PFS_TOOL" pwrite "$M/h" 0 1M >/dev/null
		sync -f "$B"
		before=$(state "$B/h")
		free_h=$(free_kib "$B")
		grow=$(($(stat -f -c '(%f - 64) * %S' "$B")))
		expect_tool "$fs: truncate 1M -> 1M+(f_bfree-64) blocks" \
			"1 ENOSPC" truncate "$M/h" $(((1 << 20) + grow))
		expect_eq "$fs: edge: backing size+blocks unchanged" "$before" \
			"$(state "$B/h")"
		expect_eq "$fs: edge: free KiB unchanged" "$free_h" \
			"$(free_kib "$B")"
		rm -f "$M/h"
	fi

	# A growth that fits: allocated in full at truncate time.
	expect_tool "$fs: truncate 64M through preallocfs" "0 ok" \
		truncate "$M/f" 64M
	expect_eq "$fs: st_size through the mount" "$M64" "$(size "$M/f")"
	expect_eq "$fs: st_size of the backing file" "$M64" "$(size "$B/f")"
	expect_covered "$fs: backing file allocated" "$B/f"
	expect_covered "$fs: st_blocks through the mount" "$M/f"
	free1=$(free_kib "$B")
	used=$((free0 - free1))
	check "$fs: free space dropped by >= 64 MiB ($free0 -> $free1 KiB)" \
		test "$used" -ge $((64 << 10))

	# Growing an allocated file past the free space: refused, the 64 MiB
	# already there stay as they are.
	before=$(state "$B/f")
	expect_tool "$fs: truncate 64M -> 1G through preallocfs" "1 ENOSPC" \
		truncate "$M/f" 1G
	expect_eq "$fs: backing size+blocks unchanged" "$before" "$(state "$B/f")"
	expect_eq "$fs: free KiB unchanged" "$free1" "$(free_kib "$B")"

	# Shrinking passes through and gives the space back.
	expect_tool "$fs: truncate 64M -> 1M through preallocfs" "0 ok" \
		truncate "$M/f" 1M
	expect_eq "$fs: st_size after shrink" $((1 << 20)) "$(size "$B/f")"
	expect_covered "$fs: shrunk file still allocated" "$B/f"
	free2=$(free_kib "$B")
	check "$fs: shrink gave >= 62 MiB back ($free1 -> $free2 KiB)" \
		test $((free2 - free1)) -ge $((62 << 10))

	pfs_umount "$M"
done

done_testing
