#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A backing filesystem without fallocate (ext2).
#
# On raw ext2, fallocate fails with EOPNOTSUPP, `truncate -s 1G` and writes
# past end-of-file leave holes, and mmap stores into them on a full disk die
# of SIGBUS.  Through preallocfs with -o fallback=zero (the default) every
# growth writes zero blocks over the new range: truncate, ftruncate and a
# write past end-of-file allocate all of it (no hole, st_blocks covers
# st_size), or fail with ENOSPC and leave the file as it was (size, st_blocks,
# free space) -- also when the zeros run out part-way.  Holes that already
# exist are filled the same way when the file is opened for writing.  The
# counter fallback_zero counts the zero-filled growths.  With
# -o fallback=refuse every growth fails with EOPNOTSUPP and changes nothing.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

G1=$((1 << 30))
M8=$((8 << 20))
M16=$((16 << 20))

R=$T/raw
B=$T/bk
M=$T/mnt
mk_fs ext2 64M "$R"
mk_fs ext2 64M "$B"
echo "# ext2: $(free_kib "$R") KiB free, block size $(stat -f -c %S "$R")"

# --- CONTROL on raw ext2 ------------------------------------------------
: >"$R/a"
expect_tool "raw: fallocate is not supported" "1 EOPNOTSUPP" \
	fallocate "$R/a" 0 0 1M
expect_tool "raw: pwrite 4K at 8M" "0 ok" pwrite "$R/w" 8M 4K
expect_holes "raw: the gap is a hole" "$R/w" 1
expect_tool "raw: truncate 1G is accepted" "0 ok" truncate "$R/a" 1G
expect_sparse "raw: the 1G file is a hole" "$R/a"
expect_tool "raw: mmap stores into it die of SIGBUS" "135" \
	mmapwrite "$R/a" 1G --no-truncate --msync

# --- fallback=zero (the default) ----------------------------------------
truncate -s 4M "$B/s"		# sparse files made on the backing store
truncate -s 1G "$B/s2"
pfs_mount "$B" "$M" || done_testing
expect_counter "fresh mount" "$M" fallback_zero 0

: >"$M/a"
expect_tool "zero: truncate 0 -> 8M" "0 ok" truncate "$M/a" 8M
expect_eq "zero: size" "$M8" "$(size "$B/a")"
expect_covered "zero: truncate allocated" "$B/a"
expect_covered "zero: st_blocks through the mount" "$M/a"
expect_holes "zero: truncate left no hole" "$B/a" 0
expect_tool "zero: reads as zeros" "0 ok" zeros "$M/a" 0 8M
expect_counter "one zero-filled growth" "$M" fallback_zero 1

expect_tool "zero: pwrite 64K at 12M (4M past EOF)" "0 ok" \
	pwrite "$M/a" 12M 64K
expect_eq "zero: size after the write" $(((12 << 20) + (64 << 10))) \
	"$(size "$B/a")"
expect_covered "zero: gap allocated" "$B/a"
expect_holes "zero: the write left no hole" "$B/a" 0
expect_tool "zero: gap reads as zeros" "0 ok" zeros "$M/a" 8M 4M
expect_tool "zero: data written" "0 ok" verify "$M/a" 64K --offset 12M
expect_counter "two zero-filled growths" "$M" fallback_zero 2

expect_tool "zero: ftruncate a new file to 16M" "0 ok" ftruncate "$M/b" 16M
expect_covered "zero: ftruncate allocated" "$B/b"
expect_holes "zero: ftruncate left no hole" "$B/b" 0
expect_counter "three zero-filled growths" "$M" fallback_zero 3

# Growths that do not fit: refused, the file as after the first growth.
sync -f "$B"
b0=$(st_state "$B/b")
free0=$(free_kib "$B")
expect_tool "zero: truncate 16M -> 1G" "1 ENOSPC" truncate "$M/b" 1G
sync -f "$B"
expect_eq "zero: 1G refused: size and st_blocks unchanged" "$b0" \
	"$(st_state "$B/b")"
expect_eq "zero: 1G refused: free KiB unchanged" "$free0" "$(free_kib "$B")"

# Exactly as many bytes as there are free blocks: the data blocks would
# fit, the indirect blocks ext2 needs on top do not.  A check against
# statfs passes; the zeros run out part-way and must be taken back.
grow=$(($(stat -f -c '%f * %S' "$B")))
expect_tool "zero: truncate 16M -> 16M + f_bfree blocks" "1 ENOSPC" \
	truncate "$M/b" $((M16 + grow))
sync -f "$B"
expect_eq "zero: edge refused: size and st_blocks unchanged" "$b0" \
	"$(st_state "$B/b")"
expect_eq "zero: edge refused: free KiB unchanged" "$free0" "$(free_kib "$B")"
expect_tool "zero: pwrite 4K at 16M + f_bfree blocks" "1 ENOSPC" \
	pwrite "$M/b" $((M16 + grow)) 4K
sync -f "$B"
expect_eq "zero: write refused: size and st_blocks unchanged" "$b0" \
	"$(st_state "$B/b")"
expect_eq "zero: write refused: free KiB unchanged" "$free0" \
	"$(free_kib "$B")"
expect_tool "zero: b still reads as zeros" "0 ok" zeros "$M/b" 0 16M
expect_counter "refused growths are not counted" "$M" fallback_zero 3

# Appending at end-of-file works as always.
expect_tool "zero: append 4K at EOF" "0 ok" \
	pwrite "$M/a" $(((12 << 20) + (64 << 10))) 4K
expect_holes "zero: append left no hole" "$B/a" 0

# Holes made on the backing store before the mount: filled with zeros at
# open for writing, or the open fails with ENOSPC and changes nothing.
expect_tool "zero: open O_RDWR of a 4M sparse file" "0 ok" open-rw "$M/s"
expect_holes "zero: its hole is filled" "$B/s" 0
expect_covered "zero: it is allocated" "$B/s"
expect_tool "zero: it reads as zeros" "0 ok" zeros "$M/s" 0 4M
s20=$(st_state "$B/s2")
expect_tool "zero: open O_RDWR of a 1G sparse file" "1 ENOSPC" open-rw "$M/s2"
expect_eq "zero: 1G sparse file unchanged" "$s20" "$(st_state "$B/s2")"
expect_eq "zero: ... still a hole" "$G1 0" "$(st_state "$B/s2")"

# The guarantee: a growth that succeeded survives a full disk.
expect_tool "zero: truncate a new file to 8M" "0 ok" ftruncate "$M/m" 8M
fill_fs "zero" "$B"
expect_tool "zero: mmap stores on a full disk land, msync ok" "0 ok" \
	mmapwrite "$M/m" 8M --no-truncate --msync
expect_tool "zero: content read back" "0 ok" verify "$M/m" 8M
pfs_umount "$M"
# (read once the daemon has exited: the probe may log after the mount.)
check "the log says fallocate does not work" \
	grep -Eiq 'fallocate[^;]*(not supported|unsupported|does not work)' \
	"$PFS_LOG"
expect_tool "zero: backing file holds the bytes written" "0 ok" \
	verify "$B/m" 8M
rm -f "$B"/fill.*

# --- fallback=refuse ----------------------------------------------------
pfs_mount "$B" "$M" -o fallback=refuse || done_testing
: >"$M/r"
expect_tool "refuse: truncate 0 -> 4M" "1 EOPNOTSUPP" truncate "$M/r" 4M
expect_eq "refuse: truncate changed nothing" "0 0" "$(st_state "$B/r")"
expect_tool "refuse: ftruncate a new file to 4M" "1 EOPNOTSUPP" \
	ftruncate "$M/r2" 4M
expect_eq "refuse: ftruncate changed nothing" "0 0" "$(st_state "$B/r2")"
expect_tool "refuse: pwrite 4K at 1M (past EOF)" "1 EOPNOTSUPP" \
	pwrite "$M/r" 1M 4K
expect_eq "refuse: pwrite changed nothing" "0 0" "$(st_state "$B/r")"
a0=$(st_state "$B/a")
expect_tool "refuse: truncate 12M -> 20M" "1 EOPNOTSUPP" truncate "$M/a" 20M
expect_eq "refuse: a unchanged" "$a0" "$(st_state "$B/a")"
expect_tool "refuse: shrinking still works" "0 ok" truncate "$M/a" 1M
expect_counter "refuse: nothing zero-filled" "$M" fallback_zero 0
out=$("$PFS_TOOL" pwrite "$M/r" 0 4K 2>&1)
echo "# info: refuse: a write at EOF (no gap) gives: $out"
pfs_umount "$M"

expect_refused "fallback=bogus" "$B" "$T/mnt-bad" -o fallback=bogus

done_testing
