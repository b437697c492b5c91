#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copy-on-write backing stores.
#
# btrfs: every overwrite may need new space, so preallocfs refuses to mount
# on it unless asked: non-zero exit, one line on stderr that mentions
# copy-on-write and allow_cow, nothing mounted.  With -o allow_cow it mounts,
# logs a warning saying what is not guaranteed, and growth is still
# allocated (or refused with ENOSPC).
#
# XFS with reflink (mkfs.xfs's default): a file cloned on the backing store
# with `cp --reflink=always` shares its extents, and on the raw filesystem
# mmap stores into the clone on a full disk die of SIGBUS (each store needs
# a new, unshared block).  Through preallocfs, opening the clone for writing
# (holes=fill) unshares it first: FIEMAP reports no shared extent, the
# content is unchanged, and stores on a full disk land.  When unsharing does
# not fit, the open fails with ENOSPC and nothing changes (still shared,
# same st_blocks, same free space).  Read-only opens unshare nothing.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

md5()
{
	md5sum <"$1" | cut -d' ' -f1
}

# --- btrfs -------------------------------------------------------------
if command -v mkfs.btrfs >/dev/null; then
	R=$T/raw-btrfs
	B=$T/bk-btrfs
	M=$T/mnt-btrfs
	mk_fs btrfs 256M "$R"
	mk_fs btrfs 256M "$B"
	echo "# btrfs: $(free_kib "$R") KiB free"

	# CONTROL: the raw filesystem takes a 1G truncate.
	expect_tool "btrfs raw: truncate 1G is accepted" "0 ok" \
		ftruncate "$R/f" 1G
	expect_sparse "btrfs raw: the 1G file is a hole" "$R/f"

	echo keep >"$B/existing"
	"$PFS_TOOL" pwrite "$B/orig" 0 4M >/dev/null
	cp --reflink=always "$B/orig" "$B/clone"
	truncate -s 8M "$B/sparse"
	sync -f "$B"
	if expect_refused "btrfs without allow_cow" "$B" "$M"; then
		check "btrfs: the message mentions copy-on-write" \
			grep -Eiq 'copy-on-write|copy on write' <<<"$TRY_ERR"
		check "btrfs: the message mentions allow_cow" \
			grep -q 'allow_cow' <<<"$TRY_ERR"
		echo "# $TRY_ERR"
	fi
	check "btrfs: the mount point is still the empty directory" \
		test -z "$(ls -A "$M")"

	if pfs_mount "$B" "$M" -o allow_cow; then
		expect_eq "btrfs allow_cow: backing files visible" keep \
			"$(cat "$M/existing")"
		expect_tool "btrfs allow_cow: truncate 1G" "1 ENOSPC" \
			ftruncate "$M/f" 1G
		expect_eq "btrfs allow_cow: refused growth changed nothing" \
			"0 0" "$(st_state "$B/f")"
		expect_tool "btrfs allow_cow: truncate 64M" "0 ok" \
			truncate "$M/f" 64M
		expect_covered "btrfs allow_cow: growth allocated" "$B/f"
		expect_holes "btrfs allow_cow: no hole" "$B/f" 0
		expect_tool "btrfs allow_cow: pwrite 64K at 80M" "0 ok" \
			pwrite "$M/f" 80M 64K
		expect_covered "btrfs allow_cow: write gap allocated" "$B/f"
		# Existing holes are filled as elsewhere.  Shared extents
		# (a reflink copy, a snapshot) cannot be unshared on btrfs
		# (no FALLOC_FL_UNSHARE_RANGE): with allow_cow that is the
		# accepted weaker guarantee, not a reason to refuse the open.
		expect_tool "btrfs allow_cow: open O_RDWR of a sparse file" \
			"0 ok" open-rw "$M/sparse"
		expect_holes "btrfs allow_cow: its hole is filled" \
			"$B/sparse" 0
		expect_tool "btrfs allow_cow: open O_RDWR of a reflink copy" \
			"0 ok" open-rw "$M/clone"
		expect_tool "btrfs allow_cow: write into the reflink copy" \
			"0 ok" pwrite "$M/clone" 0 1M
		expect_tool "btrfs allow_cow: reflink copy content" "0 ok" \
			verify "$M/clone" 4M
		pfs_umount "$M"
		echo "# daemon log:"
		sed 's/^/#   /' "$PFS_LOG"
		check "btrfs allow_cow: the log warns about copy-on-write" \
			grep -Eiq '(copy-on-write|copy on write).*guarant|guarant.*(copy-on-write|copy on write)' \
			"$PFS_LOG"
	fi
else
	echo "# mkfs.btrfs not installed: btrfs part not run"
fi

# --- XFS with reflink --------------------------------------------------
R=$T/raw-xfs
B=$T/bk-xfs
M=$T/mnt-xfs
mk_fs xfs 300M "$R"
mk_fs xfs 300M "$B"
echo "# xfs: $(free_kib "$R") KiB free"

# CONTROL: a clone shares its extents; stores into it on a full disk fail.
"$PFS_TOOL" pwrite "$R/f" 0 16M >/dev/null
cp --reflink=always "$R/f" "$R/g" ||
	skip "this XFS has no reflink (cp --reflink=always failed)"
check "xfs raw: the clone shares extents ($("$PFS_TOOL" shared "$R/g"))" \
	test "$("$PFS_TOOL" shared "$R/g")" -ge 1
expect_tool "xfs raw: open O_RDWR of the clone" "0 ok" open-rw "$R/g"
check "xfs raw: still shared after the open" \
	test "$("$PFS_TOOL" shared "$R/g")" -ge 1
fill_fs "xfs raw" "$R"
expect_tool "xfs raw: mmap stores into the clone on a full disk: SIGBUS" \
	"135" mmapwrite "$R/g" 16M --no-truncate --msync

# Through preallocfs.
"$PFS_TOOL" pwrite "$B/f" 0 16M >/dev/null
cp --reflink=always "$B/f" "$B/g"
# g2: a clone of two files, 10M of one and 120M of the other: two shared
# extents, the second larger than the free space that will be left.
"$PFS_TOOL" pwrite "$B/s1" 0 10M >/dev/null
"$PFS_TOOL" pwrite "$B/s2" 0 120M >/dev/null
xfs_io -f -c "reflink $B/s1 0 0 10m" -c "reflink $B/s2 0 10m 120m" \
	"$B/g2" >/dev/null || fail "xfs_io reflink"
sync -f "$B"
pfs_mount "$B" "$M" || done_testing

g_shared=$("$PFS_TOOL" shared "$B/g")
check "xfs: the clone g shares extents ($g_shared)" test "$g_shared" -ge 1
expect_tool "xfs: read the clone through the mount" "0 ok" verify "$M/g" 16M
expect_tool "xfs: open O_RDONLY" "0 ok" open "$M/g" rdonly
expect_eq "xfs: read-only access unshares nothing" "$g_shared" \
	"$("$PFS_TOOL" shared "$B/g")"

expect_tool "xfs: open O_RDWR of the clone" "0 ok" open-rw "$M/g"
expect_tool "xfs: the clone is unshared" "0 0" shared "$B/g"
expect_tool "xfs: so is the original" "0 0" shared "$B/f"
expect_tool "xfs: clone content unchanged" "0 ok" verify "$M/g" 16M
expect_tool "xfs: original content unchanged" "0 ok" verify "$B/f" 16M
expect_covered "xfs: the clone is allocated" "$B/g"

# g2: 130M of shared extents, with less than that free.  The first extent
# (10M) alone would fit; unsharing must not stop part-way and keep it.
sync -f "$B"
echo "# xfs: $(free_kib "$B") KiB free before opening the 130M clone"
h_shared=$("$PFS_TOOL" shared "$B/g2")
check "xfs: g2 has two shared extents or more ($h_shared)" test "$h_shared" -ge 2
h0=$(st_state "$B/g2")
free0=$(free_kib "$B")
expect_tool "xfs: open O_RDWR of a clone larger than the free space" \
	"1 ENOSPC" open-rw "$M/g2"
sync -f "$B"
expect_eq "xfs: refused: still as shared" "$h_shared" \
	"$("$PFS_TOOL" shared "$B/g2")"
expect_eq "xfs: refused: size and st_blocks unchanged" "$h0" \
	"$(st_state "$B/g2")"
expect_eq "xfs: refused: free KiB unchanged" "$free0" "$(free_kib "$B")"
expect_tool "xfs: refused: content unchanged (first part)" "0 ok" \
	verify "$B/g2" 10M
expect_tool "xfs: refused: content unchanged (second part)" "0 ok" \
	verify "$B/g2" 120M --offset 10M --pattern-at 0
"$PFS_TOOL" fiemap "$B/g2" | sed 's/^/# g2 extent: /'

# The unshared clone survives a full disk.
fill_fs "xfs" "$B"
expect_tool "xfs: mmap stores into the unshared clone on a full disk land" \
	"0 ok" mmapwrite "$M/g" 16M --no-truncate --msync
pfs_umount "$M"
expect_tool "xfs: backing clone holds the bytes written" "0 ok" \
	verify "$B/g" 16M

done_testing
