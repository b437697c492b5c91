#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hole-making requests: fallocate(PUNCH_HOLE|KEEP_SIZE).
#
# On the raw filesystem a punched range is a hole again, and mmap stores
# into it on a full disk die of SIGBUS.  Through preallocfs with
# -o punch_hole=zero (the default) the punch succeeds, the range reads back
# as zeros and stays allocated (no hole by FIEMAP, st_blocks unchanged), so
# the stores land even on a full disk; also for unaligned ranges, ranges
# past or across end-of-file (nothing is allocated past it), on a full disk,
# and on tmpfs (which has no ZERO_RANGE).  -o punch_hole=allow passes the
# punch through (a hole appears); -o punch_hole=deny refuses it with
# EOPNOTSUPP and changes nothing.  ZERO_RANGE and KEEP_SIZE keep their native
# meaning; a mode the backing store rejects returns its errno.
#
# INSERT_RANGE, COLLAPSE_RANGE and UNSHARE_RANGE: the kernel's FUSE client
# (fs/fuse/file.c, fuse_file_fallocate) answers them with EOPNOTSUPP itself
# and never sends them to a FUSE daemon.  The test accepts either that
# (then the file must be unchanged) or, should a kernel forward them, the
# specified result (INSERT_RANGE: the inserted range allocated, the data
# shifted).
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

M1=$((1 << 20))
M8=$((8 << 20))

md5()
{
	md5sum <"$1" | cut -d' ' -f1
}

# expect_kept DESCRIPTION PATH BLOCKS: st_blocks of PATH is BLOCKS, or up to
# 16 sectors (8 KiB) more: zeroing a range in place may split an extent and
# give the extent tree a block; nothing may be deallocated, and nothing
# allocated beyond that.
expect_kept()
{
	local b
	b=$(blocks "$2")
	if [ "$b" -ge "$3" ] && [ "$b" -le $(($3 + 16)) ]; then
		echo "ok: $1 (st_blocks $3 -> $b)"
	else
		fail "$1: st_blocks $3 -> $b (expected $3 .. $(($3 + 16)))"
	fi
}

# --- ext4 --------------------------------------------------------------
R=$T/raw
B=$T/bk
M=$T/mnt
mk_fs ext4 128M "$R"
mk_fs ext4 128M "$B"

# CONTROL on the raw filesystem.
"$PFS_TOOL" pwrite "$R/f" 0 8M >/dev/null
sync -f "$R"
b0=$(blocks "$R/f")
expect_tool "raw: punch [1M, 2M)" "0 ok" punch "$R/f" 1M 1M
expect_holes "raw: the punched range is a hole" "$R/f" 1
expect_eq "raw: st_blocks dropped by 1 MiB" $((b0 - 2048)) "$(blocks "$R/f")"
"$PFS_TOOL" pwrite "$R/i" 0 4M >/dev/null
expect_tool "raw: INSERT_RANGE [1M, 2M)" "0 ok" fallocate "$R/i" insert 1M 1M
expect_eq "raw: INSERT_RANGE grows the file" $((5 << 20)) "$(size "$R/i")"
expect_holes "raw: the inserted range is a hole" "$R/i" 1
expect_tool "raw: data after the insert shifted" "0 ok" \
	verify "$R/i" 3M --offset 2M --pattern-at 1M
fill_fs "raw" "$R"
expect_tool "raw: mmap stores into the punched hole on a full disk: SIGBUS" \
	"135" mmapwrite "$R/f" 8M --no-truncate --msync

# punch_hole=zero (the default).
pfs_mount "$B" "$M" || done_testing
"$PFS_TOOL" pwrite "$M/f" 0 8M >/dev/null
sync -f "$B"
b0=$(blocks "$B/f")
expect_covered "f: allocated" "$B/f"

expect_tool "zero: punch [1M, 2M)" "0 ok" punch "$M/f" 1M 1M
expect_tool "zero: the range reads as zeros" "0 ok" zeros "$M/f" 1M 1M
expect_tool "zero: data before it" "0 ok" verify "$M/f" 1M
expect_tool "zero: data after it" "0 ok" verify "$M/f" 6M --offset 2M
expect_holes "zero: no hole" "$B/f" 0
expect_kept "zero: st_blocks unchanged" "$B/f" "$b0"
expect_eq "zero: size unchanged" "$M8" "$(size "$B/f")"

expect_tool "zero: unaligned punch [3000, 8000)" "0 ok" punch "$M/f" 3000 5000
expect_tool "zero: unaligned range reads as zeros" "0 ok" zeros "$M/f" 3000 5000
expect_tool "zero: bytes before the unaligned range" "0 ok" verify "$M/f" 3000
expect_tool "zero: bytes after the unaligned range" "0 ok" \
	verify "$M/f" $((M1 - 8000)) --offset 8000
expect_holes "zero: still no hole" "$B/f" 0
expect_kept "zero: st_blocks still unchanged" "$B/f" "$b0"

# Natively a punch past end-of-file does nothing: it must not allocate.
b1=$(blocks "$B/f")
expect_tool "zero: punch [8M, 9M), past end-of-file" "0 ok" punch "$M/f" 8M 1M
expect_eq "zero: past EOF: size unchanged" "$M8" "$(size "$B/f")"
expect_kept "zero: past EOF: nothing allocated" "$B/f" "$b1"
"$PFS_TOOL" pwrite "$M/e" 0 2M >/dev/null
sync -f "$B"
b1=$(blocks "$B/e")
expect_tool "zero: punch [1M, 3M) of a 2M file, across end-of-file" "0 ok" \
	punch "$M/e" 1M 2M
expect_tool "zero: [1M, 2M) reads as zeros" "0 ok" zeros "$M/e" 1M 1M
expect_tool "zero: [0, 1M) intact" "0 ok" verify "$M/e" 1M
expect_eq "zero: across EOF: size unchanged" $((2 << 20)) "$(size "$B/e")"
expect_holes "zero: across EOF: no hole" "$B/e" 0
expect_kept "zero: across EOF: nothing allocated past EOF" "$B/e" "$b1"
expect_holes "zero: no hole after the EOF punches" "$B/f" 0
expect_tool "zero: punch without KEEP_SIZE is invalid, as natively" \
	"1 EOPNOTSUPP" fallocate "$M/f" punch 1M 1M

# ZERO_RANGE and KEEP_SIZE: native meaning.
expect_tool "ZERO_RANGE [2M, 3M)" "0 ok" fallocate "$M/f" zero 2M 1M
expect_tool "ZERO_RANGE: reads as zeros" "0 ok" zeros "$M/f" 2M 1M
expect_tool "ZERO_RANGE: [3M, 7M) untouched" "0 ok" verify "$M/f" 4M --offset 3M
expect_holes "ZERO_RANGE: no hole" "$B/f" 0
: >"$M/z"
expect_tool "ZERO_RANGE [0, 4M) of an empty file" "0 ok" \
	fallocate "$M/z" zero 0 4M
expect_eq "ZERO_RANGE: sets the size" $((4 << 20)) "$(size "$M/z")"
expect_covered "ZERO_RANGE: allocated" "$B/z"
expect_tool "ZERO_RANGE: reads as zeros" "0 ok" zeros "$M/z" 0 4M
"$PFS_TOOL" pwrite "$M/k" 0 1M >/dev/null
expect_tool "KEEP_SIZE [1M, 3M)" "0 ok" fallocate "$M/k" keep 1M 2M
expect_eq "KEEP_SIZE: size unchanged" "$M1" "$(size "$B/k")"
check "KEEP_SIZE: 3 MiB allocated (st_blocks $(blocks "$B/k"))" \
	test "$(blocks "$B/k")" -ge 6144

# INSERT_RANGE, COLLAPSE_RANGE, UNSHARE_RANGE (see the header).
"$PFS_TOOL" pwrite "$M/i" 0 4M >/dev/null
sync -f "$B"
i0=$(st_state "$B/i")
isum=$(md5 "$B/i")
out=$("$PFS_TOOL" fallocate "$M/i" insert 1M 1M 2>/dev/null)
case $out in
EOPNOTSUPP)
	echo "# INSERT_RANGE: EOPNOTSUPP (the kernel does not forward it)"
	expect_eq "INSERT_RANGE refused: size and st_blocks unchanged" "$i0" \
		"$(st_state "$B/i")"
	expect_eq "INSERT_RANGE refused: content unchanged" "$isum" \
		"$(md5 "$B/i")"
	;;
ok)
	expect_eq "INSERT_RANGE: size" $((5 << 20)) "$(size "$M/i")"
	expect_holes "INSERT_RANGE: the inserted range is allocated" "$B/i" 0
	expect_tool "INSERT_RANGE: data before" "0 ok" verify "$M/i" 1M
	expect_tool "INSERT_RANGE: inserted range reads as zeros" "0 ok" \
		zeros "$M/i" 1M 1M
	expect_tool "INSERT_RANGE: data after, shifted" "0 ok" \
		verify "$M/i" 3M --offset 2M --pattern-at 1M
	;;
*) fail "INSERT_RANGE through preallocfs: got '$out'" ;;
esac
for mode in collapse unshare; do
	i0=$(st_state "$B/i")
	isum=$(md5 "$B/i")
	out=$("$PFS_TOOL" fallocate "$M/i" "$mode" 1M 1M 2>/dev/null)
	case $out in
	EOPNOTSUPP)
		expect_eq "$mode refused: file unchanged" "$i0 $isum" \
			"$(st_state "$B/i") $(md5 "$B/i")"
		;;
	ok)
		echo "ok: $mode forwarded and done natively"
		;;
	*) fail "$mode through preallocfs: got '$out'" ;;
	esac
done

# On a full disk: the punch still succeeds and keeps the range allocated,
# and stores into every page of the file land.
fill_fs "full disk" "$B"
expect_eq "free KiB after fill" 0 "$(free_kib "$B")"
b1=$(blocks "$B/f")
expect_tool "zero, full disk: punch [4M, 5M)" "0 ok" punch "$M/f" 4M 1M
expect_tool "zero, full disk: reads as zeros" "0 ok" zeros "$M/f" 4M 1M
expect_holes "zero, full disk: no hole" "$B/f" 0
expect_kept "zero, full disk: st_blocks unchanged" "$B/f" "$b1"
expect_tool "zero, full disk: mmap stores into the punched ranges land" \
	"0 ok" mmapwrite "$M/f" 8M --no-truncate --msync
expect_tool "zero, full disk: content read back" "0 ok" verify "$M/f" 8M
pfs_umount "$M"
expect_tool "zero: backing file holds the bytes written" "0 ok" \
	verify "$B/f" 8M
rm -f "$B"/fill.*

# punch_hole=allow: passed through.
pfs_mount "$B" "$M" -o punch_hole=allow || done_testing
b1=$(blocks "$B/f")
expect_tool "allow: punch [5M, 6M)" "0 ok" punch "$M/f" 5M 1M
expect_holes "allow: a hole appears" "$B/f" 1
check "allow: st_blocks dropped by >= 1 MiB ($b1 -> $(blocks "$B/f"))" \
	test "$(blocks "$B/f")" -le $((b1 - 2048))
expect_tool "allow: reads as zeros" "0 ok" zeros "$M/f" 5M 1M
expect_tool "allow: data before" "0 ok" verify "$M/f" 5M
expect_tool "allow: data after" "0 ok" verify "$M/f" 2M --offset 6M
pfs_umount "$M"

# punch_hole=deny: refused, nothing changes.
pfs_mount "$B" "$M" -o punch_hole=deny || done_testing
expect_tool "deny: rewrite [5M, 6M)" "0 ok" pwrite "$M/f" 5M 1M
sync -f "$B"
f0=$(st_state "$B/f")
fsum=$(md5 "$B/f")
expect_tool "deny: punch [1M, 2M)" "1 EOPNOTSUPP" punch "$M/f" 1M 1M
expect_tool "deny: unaligned punch" "1 EOPNOTSUPP" punch "$M/f" 3000 5000
expect_eq "deny: size and st_blocks unchanged" "$f0" "$(st_state "$B/f")"
expect_eq "deny: content unchanged" "$fsum" "$(md5 "$B/f")"
expect_tool "deny: content is still the pattern" "0 ok" verify "$M/f" 8M
expect_holes "deny: no hole" "$B/f" 0
pfs_umount "$M"

expect_refused "punch_hole=bogus" "$B" "$T/mnt-bad" -o punch_hole=bogus

# --- tmpfs: no ZERO_RANGE, no INSERT_RANGE ------------------------------
R3=$T/raw-tmpfs
B3=$T/bk-tmpfs
M3=$T/mnt-tmpfs
mk_fs tmpfs 64M "$R3"
mk_fs tmpfs 64M "$B3"

# CONTROL.
"$PFS_TOOL" pwrite "$R3/f" 0 4M >/dev/null
b0=$(blocks "$R3/f")
expect_tool "tmpfs raw: punch [1M, 2M)" "0 ok" punch "$R3/f" 1M 1M
expect_eq "tmpfs raw: st_blocks dropped by 1 MiB" $((b0 - 2048)) \
	"$(blocks "$R3/f")"
expect_tool "tmpfs raw: ZERO_RANGE" "1 EOPNOTSUPP" fallocate "$R3/f" zero 0 4096
expect_tool "tmpfs raw: INSERT_RANGE" "1 EOPNOTSUPP" \
	fallocate "$R3/f" insert 0 4096
fill_fs "tmpfs raw" "$R3"
expect_tool "tmpfs raw: mmap stores into the punched hole: SIGBUS" "135" \
	mmapwrite "$R3/f" 4M --no-truncate --msync

pfs_mount "$B3" "$M3" || done_testing
"$PFS_TOOL" pwrite "$M3/f" 0 4M >/dev/null
b0=$(blocks "$B3/f")
f0=$(st_state "$B3/f")
expect_tool "tmpfs: punch [1M, 2M)" "0 ok" punch "$M3/f" 1M 1M
expect_tool "tmpfs: reads as zeros" "0 ok" zeros "$M3/f" 1M 1M
expect_tool "tmpfs: data before" "0 ok" verify "$M3/f" 1M
expect_tool "tmpfs: data after" "0 ok" verify "$M3/f" 2M --offset 2M
expect_eq "tmpfs: size and st_blocks unchanged" "$f0" "$(st_state "$B3/f")"
expect_tool "tmpfs: unaligned punch [3000, 8000)" "0 ok" punch "$M3/f" 3000 5000
expect_tool "tmpfs: unaligned range reads as zeros" "0 ok" zeros "$M3/f" 3000 5000
expect_tool "tmpfs: bytes around it" "0 ok" verify "$M3/f" 3000
expect_tool "tmpfs: bytes after it" "0 ok" verify "$M3/f" 8192 --offset 8000
expect_eq "tmpfs: st_blocks still unchanged" "$f0" "$(st_state "$B3/f")"
expect_tool "tmpfs: ZERO_RANGE: the backing store's errno" "1 EOPNOTSUPP" \
	fallocate "$M3/f" zero 0 4096
expect_tool "tmpfs: INSERT_RANGE: EOPNOTSUPP" "1 EOPNOTSUPP" \
	fallocate "$M3/f" insert 0 4096
expect_eq "tmpfs: refused modes change nothing" "$f0" "$(st_state "$B3/f")"
fill_fs "tmpfs full disk" "$M3"
expect_tool "tmpfs, full disk: punch [2M, 3M)" "0 ok" punch "$M3/f" 2M 1M
expect_eq "tmpfs, full disk: st_blocks unchanged" "$f0" "$(st_state "$B3/f")"
expect_tool "tmpfs, full disk: mmap stores land" "0 ok" \
	mmapwrite "$M3/f" 4M --no-truncate --msync
pfs_umount "$M3"
expect_tool "tmpfs: backing file holds the bytes written" "0 ok" \
	verify "$B3/f" 4M

done_testing
