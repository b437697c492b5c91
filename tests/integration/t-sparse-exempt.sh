#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# -o sparse=GLOB[:GLOB...]: exempted paths behave exactly like the backing
# filesystem.
#
# Patterns are matched against the path relative to the mount root: one
# without '/' against the file's base name in any directory, one with '/'
# against the whole relative path (fnmatch with FNM_PATHNAME, so '*' does
# not cross '/').  An exempted file gets none of the rules: truncate grows
# it sparsely, a write past end-of-file leaves a hole, opening it for
# writing fills no hole, a punch makes a hole.  A sibling in the same
# directory that matches no pattern gets the full treatment.  Exemption
# follows the path: a rename into or out of a pattern changes it.  A file
# with more than one hard link is never exempted (one of its names may match
# no pattern), whatever name it is reached by.
#
# The CONTROL is the exempted files themselves: each check on them is what
# the raw filesystem does, and the same call on their non-exempted siblings
# must come out differently.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

G1=$((1 << 30))

B=$T/bk
M=$T/mnt
mk_fs ext4 128M "$B"
mkdir -p "$B/d1" "$B/db/sub" "$B/other/db"

# Sparse files made on the backing store before the mount.
for f in x.sparse d1/y.sparse db/z.tmp db/sub/w.tmp other/db/v.tmp \
	d1/big.dat z.tmp; do
	truncate -s 1G "$B/$f"
done
truncate -s 16M "$B/d1/plain.dat"
sync -f "$B"

pfs_mount "$B" "$M" -o 'sparse=*.sparse:db/*.tmp' || done_testing

# Opening for writing: exempted files open as they are, holes and all.
for f in x.sparse d1/y.sparse db/z.tmp; do
	expect_tool "exempt $f: open O_RDWR of a 1G sparse file" "0 ok" \
		open-rw "$M/$f"
	expect_eq "exempt $f: nothing allocated" "$G1 0" "$(st_state "$B/$f")"
done
# Not exempted: db/*.tmp does not match deeper, nor db/ elsewhere, nor
# z.tmp at the root; d1/big.dat is the sibling of d1/y.sparse.
for f in db/sub/w.tmp other/db/v.tmp z.tmp d1/big.dat; do
	expect_tool "not exempt $f: open O_RDWR of a 1G sparse file" \
		"1 ENOSPC" open-rw "$M/$f"
	expect_eq "not exempt $f: unchanged" "$G1 0" "$(st_state "$B/$f")"
done
expect_tool "not exempt d1/plain.dat: open O_RDWR of a 16M sparse file" \
	"0 ok" open-rw "$M/d1/plain.dat"
expect_holes "not exempt d1/plain.dat: filled" "$B/d1/plain.dat" 0
expect_counter "only plain.dat's hole was filled" "$M" holes_filled 1

# Growth by truncate.
expect_tool "exempt d1/t.sparse: truncate to 1G" "0 ok" \
	ftruncate "$M/d1/t.sparse" 1G
expect_eq "exempt d1/t.sparse: sparse, like the raw fs" "$G1 0" \
	"$(st_state "$B/d1/t.sparse")"
expect_tool "not exempt d1/t.dat: truncate to 1G" "1 ENOSPC" \
	ftruncate "$M/d1/t.dat" 1G
expect_tool "exempt db/t.tmp: truncate to 8M" "0 ok" ftruncate "$M/db/t.tmp" 8M
expect_holes "exempt db/t.tmp: a hole, like the raw fs" "$B/db/t.tmp" 1
expect_tool "not exempt d1/t.dat: truncate to 8M" "0 ok" \
	ftruncate "$M/d1/t.dat" 8M
expect_holes "not exempt d1/t.dat: no hole" "$B/d1/t.dat" 0
expect_covered "not exempt d1/t.dat: allocated" "$B/d1/t.dat"

# Growth by a write past end-of-file.
expect_tool "exempt d1/w.sparse: pwrite 4K at 8M" "0 ok" \
	pwrite "$M/d1/w.sparse" 8M 4K
expect_holes "exempt d1/w.sparse: the gap is a hole" "$B/d1/w.sparse" 1
expect_sparse "exempt d1/w.sparse: st_blocks" "$B/d1/w.sparse"
expect_tool "not exempt d1/w.dat: pwrite 4K at 8M" "0 ok" \
	pwrite "$M/d1/w.dat" 8M 4K
expect_holes "not exempt d1/w.dat: no hole" "$B/d1/w.dat" 0
expect_covered "not exempt d1/w.dat: allocated" "$B/d1/w.dat"

# Punching a hole (punch_hole=zero by default).
for f in d1/p.sparse d1/p.dat; do
	"$PFS_TOOL" pwrite "$M/$f" 0 4M >/dev/null
done
sync -f "$B"
pb0=$(blocks "$B/d1/p.sparse")
expect_tool "exempt d1/p.sparse: punch [1M, 2M)" "0 ok" \
	punch "$M/d1/p.sparse" 1M 1M
expect_holes "exempt d1/p.sparse: a hole, like the raw fs" "$B/d1/p.sparse" 1
expect_eq "exempt d1/p.sparse: st_blocks dropped by 1 MiB" $((pb0 - 2048)) \
	"$(blocks "$B/d1/p.sparse")"
expect_tool "not exempt d1/p.dat: punch [1M, 2M)" "0 ok" \
	punch "$M/d1/p.dat" 1M 1M
expect_holes "not exempt d1/p.dat: no hole" "$B/d1/p.dat" 0

# Exemption follows the path.
check "rename d1/t.sparse (1G, sparse) to d1/moved.dat" \
	mv "$M/d1/t.sparse" "$M/d1/moved.dat"
expect_tool "not exempt any more: open O_RDWR" "1 ENOSPC" \
	open-rw "$M/d1/moved.dat"
expect_eq "not exempt any more: unchanged" "$G1 0" \
	"$(st_state "$B/d1/moved.dat")"
check "rename d1/t.dat (8M) to d1/t2.sparse" \
	mv "$M/d1/t.dat" "$M/d1/t2.sparse"
expect_tool "exempt now: truncate to 1G" "0 ok" truncate "$M/d1/t2.sparse" 1G
expect_sparse "exempt now: grown sparsely" "$B/d1/t2.sparse"

# Hard links: an exemption never covers a file that is also reachable under
# a name no glob matches.  The inode is known by the name it was first
# looked up by (here the exempted one); growing it through its other name
# must still allocate.  Only a file with a single link can be exempted.
"$PFS_TOOL" pwrite "$B/d1/db3" 0 64K >/dev/null
ln "$B/d1/db3" "$B/d1/x2.sparse"
check "hard link: stat the exempted name first" stat "$M/d1/x2.sparse"
expect_tool "hard link: truncate d1/db3 (also d1/x2.sparse) to 30M" "0 ok" \
	truncate "$M/d1/db3" 30M
expect_holes "hard link: d1/db3 has no hole" "$B/d1/db3" 0
expect_covered "hard link: d1/db3 allocated" "$B/d1/db3"
expect_tool "hard link: truncate through the exempted name to 40M" "0 ok" \
	truncate "$M/d1/x2.sparse" 40M
expect_covered "hard link: still allocated (two links)" "$B/d1/db3"
expect_tool "hard link: pwrite 4K at 48M through the exempted name" "0 ok" \
	pwrite "$M/d1/x2.sparse" 48M 4K
expect_holes "hard link: the write gap is allocated" "$B/d1/db3" 0
check "hard link: unlink d1/db3" rm "$M/d1/db3"
expect_tool "one link left, exempted: truncate d1/x2.sparse to 1G" "0 ok" \
	truncate "$M/d1/x2.sparse" 1G
expect_sparse "one link left: grown sparsely" "$B/d1/x2.sparse"
pfs_umount "$M"

# With punch_hole=deny the exempted file's punch still passes through.
pfs_mount "$B" "$M" -o 'sparse=*.sparse:db/*.tmp,punch_hole=deny' ||
	done_testing
pb0=$(blocks "$B/d1/p.sparse")
expect_tool "deny, exempt d1/p.sparse: punch [2M, 3M)" "0 ok" \
	punch "$M/d1/p.sparse" 2M 1M
expect_eq "deny, exempt d1/p.sparse: st_blocks dropped by 1 MiB" \
	$((pb0 - 2048)) "$(blocks "$B/d1/p.sparse")"
pd0=$(st_state "$B/d1/p.dat")
expect_tool "deny, not exempt d1/p.dat: punch [2M, 3M)" "1 EOPNOTSUPP" \
	punch "$M/d1/p.dat" 2M 1M
expect_eq "deny, not exempt d1/p.dat: unchanged" "$pd0" \
	"$(st_state "$B/d1/p.dat")"
expect_tool "deny, not exempt d1/p.dat: content intact" "0 ok" \
	verify "$M/d1/p.dat" 1M
pfs_umount "$M"

done_testing
