#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The core scenarios on XFS (300 MiB, mkfs.xfs's smallest) and on a size-
# limited tmpfs, each against its raw CONTROL:
#   - `truncate` to 1G: accepted raw (mmap stores then die of SIGBUS);
#     through preallocfs refused with ENOSPC, nothing changes;
#   - a truncate that fits, then another process fills the disk, then mmap
#     stores into every page: SIGBUS raw; through preallocfs they all land;
#   - pwrite past end-of-file: a hole raw; none through preallocfs;
#   - a sparse file made on the backing store, opened for writing: stays a
#     hole raw; filled at open through preallocfs.
# Holes are counted with FIEMAP on XFS; tmpfs has no FIEMAP and SEEK_HOLE
# calls preallocated pages holes, so there only st_blocks is checked.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

G1=$((1 << 30))
M64=$((64 << 20))
K64=$((64 << 10))

# no_hole DESCRIPTION PATH FS: no hole in PATH (FIEMAP on xfs; st_blocks on
# tmpfs).
no_hole()
{
	expect_covered "$1" "$2"
	[ "$3" = xfs ] && expect_holes "$1 (FIEMAP)" "$2" 0
}

# settled_free_kib DIR: free KiB once the filesystem's background work is
# done.  XFS frees and reserves space asynchronously (log and inode
# garbage collection, speculative preallocation), so one df after a sync
# can be off by a block or two under load; a freeze-thaw cycle runs all of
# it, then two reads 0.2 s apart must agree.
settled_free_kib()
{
	local a b
	sync -f "$1"
	if [ "$(stat -f -c %T "$1")" = xfs ]; then
		fsfreeze -f "$1" && fsfreeze -u "$1"
	fi
	b=$(free_kib "$1")
	for _ in $(seq 25); do
		sleep 0.2
		a=$b
		b=$(free_kib "$1")
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}

for fs in xfs tmpfs; do
	case $fs in
	xfs) size=300M ;;
	tmpfs) size=128M ;;
	esac
	R=$T/raw-$fs
	B=$T/bk-$fs
	M=$T/mnt-$fs
	mk_fs "$fs" "$size" "$R"
	mk_fs "$fs" "$size" "$B"
	echo "# $fs: $(free_kib "$R") KiB free"

	# --- CONTROL on the raw filesystem ----------------------------------
	expect_tool "$fs raw: truncate 1G is accepted" "0 ok" \
		ftruncate "$R/big" 1G
	expect_sparse "$fs raw: the 1G file is a hole" "$R/big"
	expect_tool "$fs raw: mmap stores into it die of SIGBUS" "135" \
		mmapwrite "$R/big" 1G --no-truncate --msync
	rm -f "$R/big"
	expect_tool "$fs raw: pwrite 64K at 16M" "0 ok" pwrite "$R/w" 16M 64K
	expect_sparse "$fs raw: the gap is a hole" "$R/w"
	truncate -s 8M "$R/s"
	expect_tool "$fs raw: open O_RDWR of a sparse file" "0 ok" \
		open-rw "$R/s"
	expect_sparse "$fs raw: it stays a hole" "$R/s"
	expect_tool "$fs raw: ftruncate 64M" "0 ok" ftruncate "$R/f" 64M
	expect_sparse "$fs raw: nothing allocated" "$R/f"
	fill_fs "$fs raw" "$R"
	expect_tool "$fs raw: mmap stores on a full disk die of SIGBUS" "135" \
		mmapwrite "$R/f" 64M --no-truncate --msync

	# --- Through preallocfs ---------------------------------------------
	truncate -s 8M "$B/s"
	pfs_mount "$B" "$M" || continue

	: >"$M/f"
	free0=$(settled_free_kib "$B")
	expect_tool "$fs: truncate 1G" "1 ENOSPC" truncate "$M/f" 1G
	expect_tool "$fs: ftruncate a new file to 1G" "1 ENOSPC" \
		ftruncate "$M/g" 1G
	expect_eq "$fs: f unchanged" "0 0" "$(st_state "$B/f")"
	expect_eq "$fs: g unchanged" "0 0" "$(st_state "$B/g")"
	expect_eq "$fs: free KiB unchanged" "$free0" "$(settled_free_kib "$B")"

	expect_tool "$fs: pwrite 64K at 16M" "0 ok" pwrite "$M/w" 16M 64K
	expect_eq "$fs: size after the write" $(((16 << 20) + K64)) \
		"$(size "$B/w")"
	no_hole "$fs: the gap is allocated" "$B/w" "$fs"
	expect_tool "$fs: the gap reads as zeros" "0 ok" zeros "$M/w" 0 16M
	expect_tool "$fs: pwrite 64K at 1G" "1 ENOSPC" pwrite "$M/w" 1G 64K
	expect_eq "$fs: refused write changed no size" $(((16 << 20) + K64)) \
		"$(size "$B/w")"

	expect_tool "$fs: open O_RDWR of a sparse file" "0 ok" open-rw "$M/s"
	no_hole "$fs: filled at open" "$B/s" "$fs"

	expect_tool "$fs: truncate 0 -> 64M" "0 ok" truncate "$M/f" 64M
	expect_eq "$fs: st_size" "$M64" "$(size "$B/f")"
	no_hole "$fs: allocated by the truncate" "$B/f" "$fs"
	expect_covered "$fs: st_blocks through the mount" "$M/f"

	# The writer maps the file and waits; another process fills the disk
	# (on XFS next to the mount, on tmpfs through it, as in t-mmap); then
	# the writer stores into every page.
	"$PFS_TOOL" mmapwrite "$M/f" 64M --no-truncate --msync \
		--ready "$T/$fs.ready" --go "$T/$fs.go" >"$T/$fs.out" &
	pid=$!
	if wait_file "$T/$fs.ready"; then
		if [ "$fs" = xfs ]; then
			fill_fs "$fs" "$B"
		else
			fill_fs "$fs" "$M"
		fi
		check "$fs: disk full ($(free_kib "$B") KiB left)" \
			test "$(free_kib "$B")" -lt 64
	fi
	touch "$T/$fs.go"
	wait "$pid"
	expect_eq "$fs: mmap stores on a full disk land, msync ok" "0 ok" \
		"$? $(cat "$T/$fs.out")"
	expect_tool "$fs: content read back through the mount" "0 ok" \
		verify "$M/f" 64M
	expect_tool "$fs: stores into the filled sparse file land" "0 ok" \
		mmapwrite "$M/s" 8M --no-truncate --msync
	pfs_umount "$M"
	expect_tool "$fs: backing file holds the bytes written" "0 ok" \
		verify "$B/f" 64M
	expect_tool "$fs: backing sparse file holds the bytes written" "0 ok" \
		verify "$B/s" 8M
done

done_testing
