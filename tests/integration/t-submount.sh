#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Filesystems mounted inside the backing tree get their own rules.
#
# The backing root is ext4; a btrfs image is mounted at BACKING/sub and an
# ext2 image (no fallocate) at BACKING/sub2.  The rules that depend on the
# filesystem must follow each file's own device, probed the first time the
# mount reaches it, not the root's:
#  - btrfs is copy-on-write: without -o allow_cow, regular files below /sub
#    cannot be opened for writing, created or grown (EROFS), reads and
#    shrinking still work, and the log says so in one line for the device;
#    with allow_cow, growth is allocated there as at a btrfs root, and the
#    log warns once that the guarantee is weaker.
#  - ext2 has no fallocate: fallback=zero (the default) writes zeros there,
#    fallback=refuse refuses growth there with EOPNOTSUPP.
#  - each new device gets its guarantee line in the log; --check lists the
#    filesystems below the root with theirs.
#
# CONTROL: on the raw btrfs a 1G truncate is accepted (a hole) and mmap
# stores into it die of SIGBUS once the disk is full; on the raw ext2
# fallocate is not supported and truncate leaves a hole.  Before this was
# fixed, /sub was served with the ext4 root's "full" guarantee: open for
# writing and growth were accepted there.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs (btrfs-progs) is not installed"

B=$T/bk
M=$T/mnt
mk_fs ext4 256M "$B"
mk_fs btrfs 256M "$B/sub"
mk_fs ext2 64M "$B/sub2"
echo "# ext4 root $(free_kib "$B") KiB, btrfs /sub $(free_kib "$B/sub") KiB, ext2 /sub2 $(free_kib "$B/sub2") KiB free"

# --- CONTROL on the raw filesystems -------------------------------------
expect_tool "raw btrfs: truncate 1G is accepted" "0 ok" ftruncate "$B/sub/raw" 1G
expect_sparse "raw btrfs: the 1G file is a hole" "$B/sub/raw"
expect_tool "raw btrfs: mmap stores into it die of SIGBUS" "135" \
	mmapwrite "$B/sub/raw" 1G --no-truncate --msync 2>/dev/null
rm -f "$B/sub/raw"
: >"$B/sub2/raw"
expect_tool "raw ext2: fallocate is not supported" "1 EOPNOTSUPP" \
	fallocate "$B/sub2/raw" 0 0 1M
expect_tool "raw ext2: truncate 8M is accepted" "0 ok" truncate "$B/sub2/raw" 8M
expect_sparse "raw ext2: a hole" "$B/sub2/raw"
rm -f "$B/sub2/raw"

echo keep >"$B/sub/existing"
"$PFS_TOOL" pwrite "$B/sub/data" 0 1M >/dev/null
sync -f "$B/sub"

# --- --check lists what is mounted below the root -----------------------
out=$("$PFS_BIN" --check "$B")
echo "$out" | sed 's/^/# check: /'
check "--check: /sub is btrfs, copy-on-write, EROFS without allow_cow" \
	grep -Eq '^below: +/sub: btrfs, .*copy-on-write yes; guarantee none.*EROFS' <<<"$out"
check "--check: /sub2 has no fallocate, zeros are written" \
	grep -Eq '^below: +/sub2: ext2.*fallocate not supported.*by writing zeros' <<<"$out"
out=$("$PFS_BIN" --check "$B" -o allow_cow,fallback=refuse)
check "--check allow_cow: /sub partial" \
	grep -Eq '^below: +/sub: .*guarantee partial' <<<"$out"
check "--check fallback=refuse: /sub2 refused" \
	grep -Eq '^below: +/sub2: .*guarantee none: growth is refused with EOPNOTSUPP' <<<"$out"

# --- defaults: /sub refused file by file, /sub2 by writing zeros --------
pfs_mount "$B" "$M" || done_testing
expect_eq "sub: reading works" keep "$(cat "$M/sub/existing")"
expect_tool "sub: open O_RDONLY" "0 ok" open "$M/sub/existing" rdonly
expect_tool "sub: verify data read-only" "0 ok" verify "$M/sub/data" 1M
s0=$(st_state "$B/sub/existing")
expect_tool "sub: open O_RDWR is refused" "1 EROFS" open-rw "$M/sub/existing"
expect_tool "sub: open O_WRONLY|O_TRUNC is refused" "1 EROFS" \
	open "$M/sub/existing" wronly,trunc
expect_tool "sub: creating a file is refused" "1 EROFS" create "$M/sub/new" 644
check "sub: nothing was created" test ! -e "$B/sub/new"
expect_tool "sub: truncate to 1G is refused" "1 EROFS" truncate "$M/sub/existing" 1G
expect_eq "sub: the file is unchanged" "$s0" "$(st_state "$B/sub/existing")"
expect_eq "sub: content unchanged" keep "$(cat "$B/sub/existing")"
expect_tool "sub: shrinking is allowed" "0 ok" truncate "$M/sub/data" 512K
expect_counter "sub: the refusals are counted" "$M" refused_other 4

expect_tool "root (ext4): truncate 64M" "0 ok" ftruncate "$M/f" 64M
expect_covered "root (ext4): allocated" "$B/f"
expect_tool "sub2 (ext2): truncate 8M" "0 ok" ftruncate "$M/sub2/z" 8M
expect_covered "sub2 (ext2): allocated with zeros" "$B/sub2/z"
expect_holes "sub2 (ext2): no hole" "$B/sub2/z" 0
expect_counter "sub2 (ext2): one zero-filled growth" "$M" fallback_zero 1
pfs_umount "$M"
sed 's/^/# daemon: /' "$PFS_LOG"
expect_eq "log: one refusal line for /sub, naming the reason" 1 \
	"$(grep -c 'refusing writes below /sub: btrfs is a copy-on-write' "$PFS_LOG")"
expect_eq "log: one guarantee line for /sub" 1 \
	"$(grep -c 'backing /sub (device .*btrfs.*guarantee none' "$PFS_LOG")"
expect_eq "log: one guarantee line for /sub2" 1 \
	"$(grep -c 'backing /sub2 (device .*fallocate not supported; guarantee full, by writing zeros' "$PFS_LOG")"

# --- fallback=refuse applies below the root too -------------------------
pfs_mount "$B" "$M" -o fallback=refuse || done_testing
expect_tool "refuse, sub2: truncate 8M is refused" "1 EOPNOTSUPP" \
	ftruncate "$M/sub2/y" 8M
expect_eq "refuse, sub2: unchanged" "0 0" "$(st_state "$B/sub2/y")"
expect_tool "refuse, root: truncate 8M still allocates" "0 ok" \
	ftruncate "$M/g" 8M
expect_covered "refuse, root: allocated" "$B/g"
pfs_umount "$M"
check "log: /sub2 guarantee says fallback=refuse" \
	grep -q 'backing /sub2 (.*guarantee none: growth is refused with EOPNOTSUPP' "$PFS_LOG"

# --- allow_cow: the weaker guarantee below the root, logged once --------
pfs_mount "$B" "$M" -o allow_cow || done_testing
expect_tool "allow_cow, sub: open O_RDWR" "0 ok" open-rw "$M/sub/existing"
expect_tool "allow_cow, sub: truncate 1G is refused (ENOSPC)" "1 ENOSPC" \
	ftruncate "$M/sub/h" 1G
expect_eq "allow_cow, sub: refused growth changed nothing" "0 0" \
	"$(st_state "$B/sub/h")"
expect_tool "allow_cow, sub: truncate 64M" "0 ok" ftruncate "$M/sub/g" 64M
expect_covered "allow_cow, sub: growth allocated" "$B/sub/g"
expect_holes "allow_cow, sub: no hole" "$B/sub/g" 0
pfs_umount "$M"
expect_eq "log: one allow_cow warning for /sub" 1 \
	"$(grep -c 'allow_cow: below /sub, on btrfs' "$PFS_LOG")"
check "log: /sub guarantee is partial" \
	grep -q 'backing /sub (.*guarantee partial' "$PFS_LOG"
check "log: no refusal line with allow_cow" \
	bash -c "! grep -q 'refusing writes' '$PFS_LOG'"

done_testing
