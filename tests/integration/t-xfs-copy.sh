#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copies on XFS with reflink (mkfs.xfs -m reflink=1, Debian's default).
#
# A plain `cp` on XFS clones: source and copy share their extents, and the
# next store into either needs a new block.  The scenario: an application
# grows db to 80M, maps it and stores into it, keeps it mapped; someone
# copies db to db.bak; the disk fills; the application stores into db
# again.
#
# CONTROL on the raw XFS: the copy shares extents (FIEMAP), and the stores
# after the fill fail (SIGBUS at the store, or ENOSPC at msync): db does not
# hold them.  A copy_file_range() of a preallocated-only file leaves the
# copy a hole of its full size (unwritten extents are not cloned).
#
# Through preallocfs: the kernel has no clone for FUSE (FICLONE fails, so
# `cp --reflink=always` fails cleanly and cp falls back to copy_file_range),
# and the daemon copies the data itself: no shared extent on either file,
# the copy fully allocated, every store after the fill reaches db (checked
# on the backing file after unmount), db.bak keeps its content.
# copy_file_range() of a preallocated-only source gives an allocated copy,
# and a copy into the middle of a file shares nothing either.  A copy is
# handed over whole, so all it writes past end-of-file is allocated before
# it starts: on a full disk it fails with ENOSPC and copies nothing (raw, it
# is a clone and succeeds, sharing extents).
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
command -v filefrag >/dev/null || skip "filefrag (e2fsprogs) is not installed"

M32=$((32 << 20))

# shared_count PATH: extents flagged "shared" by filefrag -v.
shared_count()
{
	filefrag -v "$1" | grep -c 'shared'
}

# scenario SIDE DIR BACKING: the copy-then-fill scenario in DIR (the raw
# XFS, or the mount); BACKING is where the files really are.  Leaves the
# writer's result in WRITER.
scenario()
{
	local side=$1 d=$2 b=$3 pid

	expect_tool "$side: truncate db 80M" "0 ok" ftruncate "$d/db" 80M
	expect_tool "$side: store into db through a mapping" "0 ok" \
		mmapwrite "$d/db" 80M --no-truncate --msync
	# The application keeps db mapped and stores again later.
	"$PFS_TOOL" mmapbyte "$d/db" 80M 0x5a --msync \
		--ready "$T/$side.ready" --go "$T/$side.go" >"$T/$side.out" &
	pid=$!
	wait_file "$T/$side.ready"
	check "$side: cp db db.bak" cp "$d/db" "$d/db.bak"
	check "$side: the copy has db's content" cmp "$d/db" "$d/db.bak"
	echo "# $side: filefrag db:"; filefrag -v "$b/db" | tail -n +3
	echo "# $side: filefrag db.bak:"; filefrag -v "$b/db.bak" | tail -n +3
	SHARED_DB=$(shared_count "$b/db")
	SHARED_BAK=$(shared_count "$b/db.bak")
	fill_fs "$side" "$b"
	touch "$T/$side.go"
	wait "$pid"
	WRITER="$? $(cat "$T/$side.out")"
	echo "# $side: stores after the fill: $WRITER"
}

# big_copy SIDE DIR BACKING: with 16M left free, copy_file_range 32M of
# data into an empty file.  Leaves the copy's result in COPY, and checks
# on the mount that a refusal changed nothing.
big_copy()
{
	local side=$1 d=$2 b=$3 free0 start
	start=$(free_kib "$b")
	"$PFS_TOOL" pwrite "$d/w" 0 32M >/dev/null
	: >"$d/c"
	sync -f "$b"
	fallocate -l $(($(free_kib "$b") - 16 * 1024))K "$b/filler"
	sync -f "$b"
	free0=$(free_kib "$b")
	echo "# $side: $free0 KiB free"
	COPY=$("$PFS_TOOL" copyrange "$d/w" "$d/c" 0 32M)
	COPY="$? $COPY"
	if [ "$side" = mnt ]; then
		expect_eq "$side: ... copies nothing" "0 0" "$(st_state "$b/c")"
		expect_eq "$side: ... and takes no space" "$free0" \
			"$(free_kib "$b")"
	fi
	SHARED_C=$(shared_count "$b/c")
	rm -f "$d/w" "$d/c" "$b/filler"
	# The space comes back once the daemon has released the files and
	# XFS has freed their blocks (in the background): wait for it.
	for _ in $(seq 100); do
		sync -f "$b"
		[ "$(free_kib "$b")" -ge $((start - 1024)) ] && break
		sleep 0.1
	done
}

R=$T/raw
B=$T/bk
M=$T/mnt
mk_fs_opts xfs 300M "$R" -m reflink=1
mk_fs_opts xfs 300M "$B" -m reflink=1
echo "# xfs: $(free_kib "$R") KiB free"

# --- CONTROL on the raw XFS ------------------------------------------
truncate -s 32M "$R/p"
expect_tool "raw: preallocate a 32M file" "0 ok" fallocate "$R/p" 0 0 32M
expect_tool "raw: copy_file_range of the preallocated file" "0 ok" \
	copyrange "$R/p" "$R/p2" 0 32M
expect_sparse "raw: the copy of a preallocated-only file is a hole" "$R/p2"
rm -f "$R/p" "$R/p2"

big_copy raw "$R" "$R"
expect_eq "raw: a copy larger than the free space succeeds (a clone)" \
	"0 ok" "$COPY"
check "raw: ... sharing extents ($SHARED_C)" test "$SHARED_C" -gt 0

scenario raw "$R" "$R"
check "raw: cp shares db's extents ($SHARED_DB)" test "$SHARED_DB" -gt 0
check "raw: ... and db.bak's ($SHARED_BAK)" test "$SHARED_BAK" -gt 0
check "raw: stores after the fill fail (SIGBUS or ENOSPC)" \
	test "$WRITER" != "0 ok"
# Read from the disk, not from pages the stores left in the cache.
umount "$R" && mount "${_pfs_loops[0]}" "$R"
expect_tool "raw: db does not hold the stores" "3 mismatch" \
	isbyte "$R/db" 80M 0x5a

# --- Through preallocfs -------------------------------------------------
pfs_mount "$B" "$M" || done_testing

# cp --reflink=always: no clone through FUSE, a clean failure: EOPNOTSUPP,
# the source unchanged and unshared, the copy left empty (by cp).
"$PFS_TOOL" pwrite "$M/r" 0 1M >/dev/null
err=$(LC_ALL=C cp --reflink=always "$M/r" "$M/r2" 2>&1)
expect_eq "cp --reflink=always fails" 1 "$?"
check "... with EOPNOTSUPP ($err)" grep -q 'not supported' <<<"$err"
expect_eq "... the copy is empty" "0 0" "$(st_state "$B/r2")"
expect_tool "... the source is unchanged" "0 ok" verify "$M/r" 1M
expect_eq "... and not shared" 0 "$(shared_count "$B/r")"
rm -f "$M/r" "$M/r2"

# copy_file_range of a preallocated-only file: an allocated copy.
expect_tool "ftruncate p 32M (allocated, unwritten)" "0 ok" \
	ftruncate "$M/p" 32M
expect_tool "copy_file_range of the preallocated file" "0 ok" \
	copyrange "$M/p" "$M/p2" 0 32M
expect_eq "the copy's size" "$M32" "$(size "$B/p2")"
expect_covered "the copy is allocated" "$B/p2"
expect_holes "no hole in the copy" "$B/p2" 0
expect_eq "no shared extent in the copy" 0 "$(shared_count "$B/p2")"
expect_tool "the copy reads as zeros" "0 ok" zeros "$M/p2" 0 32M

# A copy inside an existing file: nothing shared on either side.
expect_tool "pattern into p" "0 ok" pwrite "$M/p" 0 16M
expect_tool "copy_file_range into the middle of p2" "0 ok" \
	copyrange "$M/p" "$M/p2" 8M 16M
expect_eq "no shared extent in p" 0 "$(shared_count "$B/p")"
expect_eq "no shared extent in p2" 0 "$(shared_count "$B/p2")"
expect_tool "the copied range" "0 ok" verify "$M/p2" 16M --offset 8M \
	--pattern-at 0
expect_tool "the rest of p2 still zeros" "0 ok" zeros "$M/p2" 24M 8M
rm -f "$M/p" "$M/p2"
sync -f "$B"

# A copy that does not fit is refused whole, before anything is copied.
big_copy mnt "$M" "$B"
expect_eq "mnt: a copy larger than the free space" "1 ENOSPC" "$COPY"

scenario mnt "$M" "$B"
expect_eq "mnt: cp leaves db unshared" 0 "$SHARED_DB"
expect_eq "mnt: cp leaves db.bak unshared" 0 "$SHARED_BAK"
expect_eq "mnt: stores after the fill land, msync ok" "0 ok" "$WRITER"
expect_covered "mnt: db.bak is allocated" "$B/db.bak"
expect_holes "mnt: no hole in db.bak" "$B/db.bak" 0
pfs_umount "$M"
sync -f "$B"
expect_tool "db on the backing disk holds every store" "0 ok" \
	isbyte "$B/db" 80M 0x5a
expect_tool "db.bak keeps the first content" "0 ok" verify "$B/db.bak" 80M

done_testing
