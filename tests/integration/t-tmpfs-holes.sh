#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Holes in tmpfs files that also have pages past end-of-file.
#
# tmpfs has no FIEMAP, and SEEK_HOLE reports fallocated pages as holes, so
# holes are found as an upper bound; st_blocks counts pages allocated past
# end-of-file too, so it cannot tell either.  The file: 1 MiB of data,
# truncated to 32 MiB (31 MiB of holes), with 32 MiB fallocated past its
# end (KEEP_SIZE) on the backing side: st_blocks covers st_size.
#
# CONTROL on the raw tmpfs: a writer maps the file, the tmpfs fills, the
# stores into the holes die of SIGBUS.
#
# Through preallocfs: opening the file for writing allocates the 31 MiB of
# holes (cachestat counts the missing pages exactly), so after the fill every
# store lands (checked on the backing file after unmount).  A fully
# preallocated file (all pages fallocated, all holes to SEEK_HOLE) can still
# be opened for writing on the full tmpfs, and its stores land; a file that
# really misses pages is refused with ENOSPC at open and left unchanged.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
command -v fallocate >/dev/null || skip "fallocate (util-linux) is not installed"

M32=$((32 << 20))
M64=$((64 << 20))

# mkfile PATH: 1M of data, size 32M, 32M fallocated past end-of-file.
mkfile()
{
	"$PFS_TOOL" pwrite "$1" 0 1M >/dev/null &&
		truncate -s 32M "$1" &&
		fallocate -n -o 32M -l 32M "$1"
}

R=$T/raw
B=$T/bk
M=$T/mnt
mk_fs tmpfs 96M "$R"
mk_fs tmpfs 96M "$B"

# --- CONTROL on the raw tmpfs -------------------------------------------
check "raw: make the file" mkfile "$R/f"
expect_covered "raw: st_blocks covers st_size" "$R/f"
"$PFS_TOOL" mmapbyte "$R/f" 32M 0x5a --msync --ready "$T/raw.ready" \
	--go "$T/raw.go" >"$T/raw.out" &
pid=$!
wait_file "$T/raw.ready"
fill_fs "raw" "$R"
touch "$T/raw.go"
wait "$pid"
rc="$? $(cat "$T/raw.out")"
check "raw: stores into the holes after the fill fail ($rc)" \
	test "$rc" != "0 ok"

# --- Through preallocfs --------------------------------------------------
check "make the file on the backing tmpfs" mkfile "$B/f"
fallocate -l 8M "$B/p"			# fully preallocated, no data
fallocate -l 4M "$B/q" && truncate -s 8M "$B/q"	# 4M really missing
pfs_mount "$B" "$M" || done_testing

"$PFS_TOOL" mmapbyte "$M/f" 32M 0x5a --msync --ready "$T/mnt.ready" \
	--go "$T/mnt.go" >"$T/mnt.out" &
pid=$!
wait_file "$T/mnt.ready"
# 1M data + 31M filled + 32M past end-of-file.
expect_eq "the open allocated the holes (st_blocks*512)" "$M64" \
	$(($(blocks "$B/f") * 512))
fill_fs "full" "$B"
touch "$T/mnt.go"
wait "$pid"
expect_eq "stores after the fill land, msync ok" "0 ok" \
	"$? $(cat "$T/mnt.out")"

expect_tool "a fully preallocated file opens for writing on the full tmpfs" \
	"0 ok" open-rw "$M/p"
expect_tool "... and its stores land" "0 ok" mmapbyte "$M/p" 8M 0x33 --msync
before=$(st_state "$B/q")
expect_tool "a file missing 4M is refused at open" "1 ENOSPC" open-rw "$M/q"
expect_eq "... and left unchanged" "$before" "$(st_state "$B/q")"
pfs_umount "$M"
expect_tool "f on the backing tmpfs holds every store" "0 ok" \
	isbyte "$B/f" 32M 0x5a
expect_tool "p on the backing tmpfs holds every store" "0 ok" \
	isbyte "$B/p" 8M 0x33
expect_eq "f keeps its size" "$M32" "$(size "$B/f")"

done_testing
