#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A size the backing filesystem cannot hold is EFBIG, as natively.
#
# ext4 with 4 KiB blocks holds files of at most 16 TiB - 4 KiB (its
# s_maxbytes).  Natively, truncate/ftruncate past that, or a write that
# starts past it, fail with EFBIG.  preallocfs must give the same errno
# (POSIX suites and callers tell "too large" from "disk full" by it), not
# ENOSPC from its free-space pre-check, and leave the file unchanged.  Just
# below the limit the native call succeeds (sparsely); through the mount it
# is refused with ENOSPC, because those 16 TiB cannot be allocated.
#
# The CONTROL is the same sequence on the raw filesystem: the transcripts
# must be identical for every request past the limit.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

R=$T/raw
B=$T/bk
M=$T/mnt
mk_fs_opts ext4 128M "$R" -b 4096
mk_fs_opts ext4 128M "$B" -b 4096
expect_eq "ext4 block size" 4096 "$(stat -f -c %S "$R")"
MAX=$(((16 << 40) - 4096))	# s_maxbytes of ext4 with 4 KiB blocks

# steps DIR: the requests past the limit, one transcript line each; the
# file's size, st_blocks and content are checked after every step.
steps()
{
	local d=$1 f=$1/f st0
	"$PFS_TOOL" pwrite "$f" 0 64K >/dev/null
	st0=$(st_state "$f")
	for s in 17T 999999999999999 $((MAX + 1)); do
		echo "truncate $s: $(rtool truncate "$f" "$s")"
		echo "ftruncate $s: $(rtool ftruncate "$f" "$s")"
		echo "pwrite 4K at $s: $(rtool pwrite "$f" "$s" 4K)"
		echo "unchanged after $s: $([ "$(st_state "$f")" = "$st0" ] &&
			echo yes || echo "no: $(st_state "$f") (was $st0)")"
		echo "content after $s: $(rtool verify "$f" 64K)"
	done
	echo "fallocate 4K at 17T: $(rtool fallocate "$f" 0 17T 4K)"
	echo "unchanged after fallocate: $([ "$(st_state "$f")" = "$st0" ] &&
		echo yes || echo no)"
}

steps "$R" >"$T/native.txt"
sed 's/^/# native: /' "$T/native.txt"
check "native: truncate to 17T is EFBIG" grep -qx 'truncate 17T: 1 EFBIG' \
	"$T/native.txt"
check "native: pwrite at 999999999999999 is EFBIG" \
	grep -qx 'pwrite 4K at 999999999999999: 1 EFBIG' "$T/native.txt"
expect_tool "native: truncate to exactly the limit is accepted" "0 ok" \
	ftruncate "$R/g" "$MAX"
expect_sparse "native: and sparse" "$R/g"

pfs_mount "$B" "$M" || done_testing
steps "$M" >"$T/mount.txt"
expect_same_transcript "past the limit: EFBIG as natively, file unchanged" \
	"$T/native.txt" "$T/mount.txt"
expect_tool "mount: truncate to exactly the limit is ENOSPC (no space)" \
	"1 ENOSPC" ftruncate "$M/g" "$MAX"
expect_eq "mount: refused, nothing changed" "0 0" "$(st_state "$B/g")"
expect_counter "mount: EFBIG refusals counted" "$M" refused_efbig 9
pfs_umount "$M"

done_testing
