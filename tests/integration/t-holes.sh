#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Holes that already exist (-o holes=fill, the default; -o holes=keep).
#
# Seed 001 with the sparse file made on the backing directory itself: on
# the raw filesystem `truncate -s 1G` and an O_RDWR open are accepted and the
# mmap stores die of SIGBUS.  Through preallocfs, opening a file for writing
# allocates every hole inside its size before open() returns, or fails with
# ENOSPC and leaves the file exactly as it was (size, st_blocks, content,
# free space).  A sparse file that fits comes out fully allocated with its
# content intact, and then survives mmap stores into every page while
# another process fills the disk.  Read-only opens allocate nothing.
# holes=keep opens without filling (the raw filesystem's behaviour); growth
# is still allocated.  The holes_filled counter counts the holes filled.
#
# Holes are counted on the backing file with FIEMAP (pfs_tool holes), which
# sees preallocated (unwritten) extents as allocated.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

G1=$((1 << 30))

# md5 PATH: checksum of the content.
md5()
{
	md5sum <"$1" | cut -d' ' -f1
}

R=$T/raw
B=$T/bk
M=$T/mnt
mk_fs ext4 128M "$R"
mk_fs ext4 128M "$B"
echo "# ext4: $(free_kib "$R") KiB free"

# --- CONTROL on the raw filesystem --------------------------------------
truncate -s 1G "$R/big"
expect_tool "raw: open O_RDWR of a 1G sparse file succeeds" "0 ok" \
	open-rw "$R/big"
expect_eq "raw: the open allocates nothing" "$G1 0" "$(st_state "$R/big")"
expect_tool "raw: mmap stores into it die of SIGBUS (seed 001)" "135" \
	mmapwrite "$R/big" 1G --no-truncate --msync
rm -f "$R/big"

truncate -s 48M "$R/fit2"
"$PFS_TOOL" mmapwrite "$R/fit2" 48M --no-truncate --msync \
	--ready "$T/raw.ready" --go "$T/raw.go" >"$T/raw.out" &
pid=$!
wait_file "$T/raw.ready"
expect_holes "raw: a mapped 48M sparse file is still one hole" "$R/fit2" 1
fill_fs "raw" "$R"
touch "$T/raw.go"
wait "$pid"
expect_eq "raw: stores into the mapped hole on a full disk die of SIGBUS" \
	135 "$?"

# --- Through preallocfs, holes=fill (the default) -----------------------
# Sparse files made directly on the backing filesystem, before the mount.
truncate -s 1G "$B/big"
"$PFS_TOOL" pwrite "$B/fit" 0 1M >/dev/null
"$PFS_TOOL" pwrite "$B/fit" 20M 1M >/dev/null
truncate -s 40M "$B/fit"		# holes [1M, 20M) and [21M, 40M)
truncate -s 8M "$B/ro"
"$PFS_TOOL" pwrite "$B/dense" 0 4M >/dev/null
truncate -s 48M "$B/fit2"
sync -f "$B"
expect_holes "backing: fit has two holes" "$B/fit" 2

pfs_mount "$B" "$M" || done_testing
expect_counter "fresh mount" "$M" holes_filled 0

# Read-only opens never allocate.
ro0=$(st_state "$B/ro")
expect_tool "open O_RDONLY of a sparse file" "0 ok" open "$M/ro" rdonly
expect_tool "it reads as zeros" "0 ok" zeros "$M/ro" 0 8M
expect_eq "read-only access allocates nothing" "$ro0" "$(st_state "$B/ro")"
expect_holes "read-only access leaves the hole" "$B/ro" 1

# The seed scenario: refused at open, nothing changes.
sync -f "$B"
big0=$(st_state "$B/big")
free0=$(free_kib "$B")
expect_tool "open O_RDWR of the 1G sparse file: ENOSPC" "1 ENOSPC" \
	open-rw "$M/big"
expect_tool "open O_WRONLY of the 1G sparse file: ENOSPC" "1 ENOSPC" \
	open "$M/big" wronly
expect_tool "open O_WRONLY|O_APPEND of the 1G sparse file: ENOSPC" \
	"1 ENOSPC" open "$M/big" wronly,append
expect_tool "seed 001 through preallocfs: ENOSPC at open, no SIGBUS" \
	"1 ENOSPC" mmapwrite "$M/big" 1G --no-truncate --msync
sync -f "$B"
expect_eq "refused open: size and st_blocks unchanged" "$big0" \
	"$(st_state "$B/big")"
expect_eq "refused open: size through the mount" "$G1" "$(size "$M/big")"
expect_holes "refused open: still one hole" "$B/big" 1
expect_eq "refused open: free KiB unchanged" "$free0" "$(free_kib "$B")"

# Same, when the file appears on the backing store after the mount looked
# the name up (the kernel may then send CREATE instead of OPEN).
stat "$M/late" >/dev/null 2>&1 && fail "late exists before it is made"
truncate -s 1G "$B/late"
expect_tool "open O_RDWR|O_CREAT of a 1G sparse file made behind the mount" \
	"1 ENOSPC" open "$M/late" rdwr,creat
expect_eq "late: size and st_blocks unchanged" "$G1 0" "$(st_state "$B/late")"

# A file without holes: nothing to do.
dense0=$(st_state "$B/dense")
expect_tool "open O_RDWR of a file without holes" "0 ok" open-rw "$M/dense"
expect_eq "dense: unchanged" "$dense0" "$(st_state "$B/dense")"
expect_counter "nothing filled so far" "$M" holes_filled 0

# A sparse file that fits: filled at open, content intact.
sum0=$(md5 "$B/fit")
free0=$(free_kib "$B")
expect_tool "open O_RDWR of a 40M file with two holes" "0 ok" \
	open-rw "$M/fit"
expect_holes "fit: no hole left" "$B/fit" 0
expect_covered "fit: st_blocks covers st_size" "$B/fit"
expect_covered "fit: st_blocks through the mount" "$M/fit"
expect_eq "fit: size unchanged" $((40 << 20)) "$(size "$B/fit")"
expect_eq "fit: content unchanged" "$sum0" "$(md5 "$M/fit")"
expect_tool "fit: first data block" "0 ok" verify "$M/fit" 1M
expect_tool "fit: second data block" "0 ok" verify "$M/fit" 1M --offset 20M
sync -f "$B"
free1=$(free_kib "$B")
check "fit: the holes took >= 37 MiB ($free0 -> $free1 KiB)" \
	test $((free0 - free1)) -ge $((37 << 10))
expect_counter "two holes filled" "$M" holes_filled 2
expect_tool "open O_RDWR of fit again" "0 ok" open-rw "$M/fit"
expect_counter "preallocated ranges are not holes" "$M" holes_filled 2

# Many small holes between unaligned bits of data, and an unaligned size:
# every hole filled, every byte where it was.
for i in $(seq 0 255); do
	"$PFS_TOOL" pwrite "$B/many" $((i * 65536 + 1000)) 100 >/dev/null
done
truncate -s $(((16 << 20) + 12345)) "$B/many"
sync -f "$B"
nholes=$("$PFS_TOOL" holes "$B/many")
check "many: $nholes holes on the backing file" test "$nholes" -ge 256
msum0=$(md5 "$B/many")
expect_tool "open O_RDWR of a file with $nholes holes" "0 ok" \
	open-rw "$M/many"
expect_holes "many: no hole left" "$B/many" 0
expect_covered "many: allocated" "$B/many"
expect_eq "many: size unchanged" $(((16 << 20) + 12345)) "$(size "$B/many")"
expect_eq "many: content unchanged" "$msum0" "$(md5 "$M/many")"
expect_tool "many: a bit of data" "0 ok" verify "$M/many" 100 --offset 6554600
expect_counter "$nholes more holes filled" "$M" holes_filled $((2 + nholes))

# At the edge: one hole of f_bfree - 64 blocks.  A check against statfs
# passes, but ext4 cannot deliver it (reserved clusters, extent blocks), so
# a filling fallocate fails part-way; what it allocated must be undone.
"$PFS_TOOL" pwrite "$B/edge" 0 1M >/dev/null
sync -f "$B"
grow=$(($(stat -f -c '(%f - 64) * %S' "$B")))
truncate -s $(((1 << 20) + grow)) "$B/edge"
sync -f "$B"
edge0=$(st_state "$B/edge")
esum0=$(md5 "$B/edge")
free0=$(free_kib "$B")
expect_tool "open O_RDWR with a hole of f_bfree - 64 blocks: ENOSPC" \
	"1 ENOSPC" open-rw "$M/edge"
sync -f "$B"
expect_eq "edge: size and st_blocks unchanged" "$edge0" "$(st_state "$B/edge")"
expect_holes "edge: still one hole" "$B/edge" 1
expect_eq "edge: content unchanged" "$esum0" "$(md5 "$B/edge")"
expect_eq "edge: free KiB unchanged" "$free0" "$(free_kib "$B")"
rm -f "$B/edge"
expect_counter "refused opens fill nothing" "$M" holes_filled $((2 + nholes))

# 48M sparse file: mmapwrite opens it O_RDWR (filled there), maps it, waits;
# another process fills the disk; then every page is stored.
"$PFS_TOOL" mmapwrite "$M/fit2" 48M --no-truncate --msync \
	--ready "$T/ready" --go "$T/go" >"$T/mmap.out" &
pid=$!
if wait_file "$T/ready"; then
	expect_holes "fit2: filled by the writer's open" "$B/fit2" 0
	expect_covered "fit2: allocated" "$B/fit2"
	fill_fs "fit2" "$B"
	expect_eq "fit2: free KiB after fill" 0 "$(free_kib "$B")"
fi
touch "$T/go"
wait "$pid"
expect_eq "fit2: mmap stores on a full disk land, msync ok" "0 ok" \
	"$? $(cat "$T/mmap.out")"
expect_tool "fit2: content read back through the mount" "0 ok" \
	verify "$M/fit2" 48M
expect_counter "one more hole filled" "$M" holes_filled $((3 + nholes))

# O_TRUNC empties the file: there is nothing left to fill, so opening the
# 1G sparse file with O_TRUNC must work, even on a full disk.
expect_tool "open O_WRONLY|O_TRUNC of the 1G sparse file" "0 ok" \
	open "$M/big" wronly,trunc
expect_eq "big: emptied" "0 0" "$(st_state "$B/big")"

pfs_umount "$M"
expect_tool "fit2: backing file holds the bytes written" "0 ok" \
	verify "$B/fit2" 48M
expect_eq "fit: content still intact" "$sum0" "$(md5 "$B/fit")"

# --- holes=keep ---------------------------------------------------------
B2=$T/bk2
M2=$T/mnt2
mk_fs ext4 64M "$B2"
truncate -s 1G "$B2/k1"
"$PFS_TOOL" pwrite "$B2/k2" 0 1M >/dev/null
truncate -s 8M "$B2/k2"
sync -f "$B2"
k10=$(st_state "$B2/k1")
k20=$(st_state "$B2/k2")
pfs_mount "$B2" "$M2" -o holes=keep || done_testing
expect_tool "holes=keep: open O_RDWR of a 1G sparse file succeeds" "0 ok" \
	open-rw "$M2/k1"
expect_eq "holes=keep: k1 stays sparse" "$k10" "$(st_state "$B2/k1")"
expect_tool "holes=keep: open O_RDWR of k2" "0 ok" open-rw "$M2/k2"
expect_eq "holes=keep: k2 unchanged" "$k20" "$(st_state "$B2/k2")"
expect_holes "holes=keep: k2 keeps its hole" "$B2/k2" 1
expect_counter "holes=keep" "$M2" holes_filled 0
expect_tool "holes=keep: growth is still refused when it does not fit" \
	"1 ENOSPC" ftruncate "$M2/k3" 1G
pfs_umount "$M2"

# Explicit holes=fill on the same files.
pfs_mount "$B2" "$M2" -o holes=fill || done_testing
expect_tool "holes=fill: open O_RDWR of k2" "0 ok" open-rw "$M2/k2"
expect_holes "holes=fill: k2 filled" "$B2/k2" 0
expect_tool "holes=fill: k2 data intact" "0 ok" verify "$M2/k2" 1M
expect_tool "holes=fill: k2 tail reads as zeros" "0 ok" zeros "$M2/k2" 1M 7M
expect_tool "holes=fill: k1 refused" "1 ENOSPC" open-rw "$M2/k1"
expect_counter "holes=fill" "$M2" holes_filled 1
pfs_umount "$M2"

expect_refused "holes=bogus" "$B2" "$T/mnt3" -o holes=bogus

done_testing
