#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two processes each grow a file to 60% of the free space and then store into
# it through a shared mapping.  On the raw filesystem both ftruncates succeed
# and the second writer dies of SIGBUS once the space runs out.  Through
# preallocfs the second growth is refused up front with ENOSPC, and the first
# writer, whose space is already taken, completes without an error.
#
# Order is forced with pfs_tool's --ready/--go files: A grows and maps its
# file, then waits; B grows; then A stores; then B stores.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

# start_writer NAME FILE SIZE: start a mmapwrite in the background, its
# stdout in $T/NAME.out.
declare -A pids
start_writer()
{
	"$PFS_TOOL" mmapwrite "$2" "$3" --msync \
		--ready "$T/$1.ready" --go "$T/$1.go" >"$T/$1.out" &
	pids[$1]=$!
}

# finish_writer NAME: let it store, wait for it, set WRITER to
# "STATUS[ OUTPUT]".  Not in $(...): only this shell can wait for it.
finish_writer()
{
	local rc out
	touch "$T/$1.go"
	wait "${pids[$1]}"
	rc=$?
	out=$(cat "$T/$1.out")
	WRITER="$rc${out:+ $out}"
}

for fs in ext4 tmpfs; do
	R=$T/raw-$fs
	B=$T/bk-$fs
	M=$T/mnt-$fs
	mk_fs "$fs" 128M "$R"
	mk_fs "$fs" 128M "$B"
	kib=$(($(free_kib "$R") * 6 / 10))
	echo "# $fs: $(free_kib "$R") KiB free, each process grows to $kib KiB"

	# CONTROL on the raw filesystem.
	start_writer "$fs-ra" "$R/a" "${kib}K"
	start_writer "$fs-rb" "$R/b" "${kib}K"
	wait_file "$T/$fs-ra.ready"
	wait_file "$T/$fs-rb.ready"
	expect_eq "$fs raw: both ftruncates succeed (sizes)" \
		"$((kib << 10)) $((kib << 10))" "$(size "$R/a") $(size "$R/b")"
	finish_writer "$fs-ra"
	expect_eq "$fs raw: first writer completes" "0 ok" "$WRITER"
	finish_writer "$fs-rb"
	expect_eq "$fs raw: second writer dies of SIGBUS" "135" "$WRITER"

	pfs_mount "$B" "$M" || continue

	start_writer "$fs-a" "$M/a" "${kib}K"
	wait_file "$T/$fs-a.ready"
	expect_covered "$fs: first file allocated by its ftruncate" "$B/a"
	free0=$(free_kib "$B")
	expect_tool "$fs: second growth refused up front" "1 ENOSPC" \
		mmapwrite "$M/b" "${kib}K" --msync
	expect_eq "$fs: second file left empty (size blocks)" "0 0" \
		"$(size "$B/b") $(blocks "$B/b")"
	expect_eq "$fs: free KiB unchanged by the refused growth" "$free0" \
		"$(free_kib "$B")"
	finish_writer "$fs-a"
	expect_eq "$fs: first writer completes, msync ok" "0 ok" "$WRITER"
	pfs_umount "$M"

	expect_tool "$fs: first file's data all on the backing store" "0 ok" \
		verify "$B/a" "${kib}K"
done

done_testing
