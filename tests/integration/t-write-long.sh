#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A write past end-of-file larger than one FUSE request, on a disk too
# small for it: one pwrite(2) of 100 MiB at 20 MiB into an empty file.
#
# The kernel hands the write to the daemon in requests of at most 1 MiB,
# one after the other; only the first starts past end-of-file (its gap and
# its own range are allocated first), the others start at end-of-file and
# allocate as they write.  So the write is not all-or-nothing: it returns a
# short count N, as natively.  What holds through preallocfs, and is checked
# here: size == 20M + N (the file grew by exactly the gap and what the write
# reported), no hole anywhere in [0, size) (FIEMAP on ext4; st_blocks on
# tmpfs), the gap reads as zeros, the N bytes are intact, and writing the
# rest fails with ENOSPC.
#
# CONTROL on the raw filesystem: the gap stays a hole, so the whole write
# fits and returns 100 MiB; mapped stores into the gap then die of SIGBUS.
# Through preallocfs the gap is allocated: the stores into it land.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

M20=$((20 << 20))
M100=$((100 << 20))

# long_write FILE: pwrite1 FILE 20M 100M; sets N to the count (empty and a
# failure when the write failed).
long_write()
{
	N=$("$PFS_TOOL" pwrite1 "$1" 20M 100M)
	case $N in
	'' | *[!0-9]*)
		fail "$1: pwrite of 100M at 20M: $N"
		N=
		return 1
		;;
	esac
	echo "# pwrite of 100M at 20M to $1 returned $N"
}

for fs in ext4 tmpfs; do
	case $fs in
	ext4) disk=128M ;;	# about 114 MiB usable by root
	tmpfs) disk=110M ;;
	esac
	R=$T/raw-$fs
	B=$T/bk-$fs
	M=$T/mnt-$fs
	mk_fs "$fs" "$disk" "$R"
	mk_fs "$fs" "$disk" "$B"

	# --- CONTROL: the gap is a hole, the stores into it are lost -------
	if long_write "$R/f"; then
		expect_eq "$fs raw: the whole write fits" "$M100" "$N"
		if [ "$fs" = ext4 ]; then
			expect_holes "$fs raw: the gap is a hole" "$R/f" 1
		else
			expect_sparse "$fs raw: the gap is a hole" "$R/f"
		fi
		expect_tool "$fs raw: stores into the gap die of SIGBUS" "135" \
			mmapbyte "$R/f" 20M 0x5a --msync
	fi

	# --- Through preallocfs ---------------------------------------------
	pfs_mount "$B" "$M" || continue
	if long_write "$M/f"; then
		check "$fs: the write is short ($N < $M100)" \
			test "$N" -lt "$M100"
		expect_eq "$fs: size is 20M + N" $((M20 + N)) "$(size "$B/f")"
		expect_eq "$fs: the same size through the mount" \
			$((M20 + N)) "$(size "$M/f")"
		expect_covered "$fs: allocated up to its size" "$B/f"
		[ "$fs" = ext4 ] && expect_holes "$fs: no hole (FIEMAP)" "$B/f" 0
		expect_tool "$fs: the gap reads as zeros" "0 ok" zeros "$M/f" 0 20M
		expect_tool "$fs: the N bytes written are intact" "0 ok" \
			verify "$M/f" "$N" --offset 20M
		expect_tool "$fs: writing the rest fails with ENOSPC" "1 ENOSPC" \
			pwrite1 "$M/f" $((M20 + N)) $((M100 - N))
		expect_eq "$fs: ... and changes no size" $((M20 + N)) \
			"$(size "$B/f")"
		expect_tool "$fs: stores into the gap land" "0 ok" \
			mmapbyte "$M/f" 20M 0x5a --msync
		expect_tool "$fs: ... and the data after it is intact" "0 ok" \
			verify "$M/f" "$N" --offset 20M
	fi
	pfs_umount "$M"
done

done_testing
