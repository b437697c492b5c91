#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel keeps a file's pages across opens (keep_cache) only while the
# backing file is unchanged.  Through the mount, a reopened unchanged file is
# served from the page cache (fincore, which opens the file itself, still
# finds its pages); every change made behind the mount is seen by the next
# open, through read() and through a new mapping: a rewrite of the same
# size, the same rewrite with its mtime set back (only the ctime tells), a
# truncate and an append.
#
# Control: a mapping that stays open across the change keeps showing the old
# bytes (the kernel's pages are not revalidated without an open), which is
# what a reopen would serve if it kept the cache blindly.
#
# ext4 keeps nanosecond timestamps; ext2 with 128-byte inodes whole seconds,
# where two changes in one second look alike (pfs_cache.h: racy stamps).
# The mount uses timeout=60, so nothing here passes because a cached
# attribute expired.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
command -v fincore >/dev/null || skip "fincore (util-linux) is not installed"

MIB=1048576

# resident PATH: bytes of PATH in the page cache (fincore opens PATH).
resident()
{
	fincore --bytes --noheadings --output RES "$1"
}

# cached_after_reopen PATH: read PATH through the mount, then print how many
# of its bytes fincore (a reopen) finds cached.  Tried three times: anything
# on the machine that drops caches (echo 2 > /proc/sys/vm/drop_caches in
# another test) or reclaims memory in between would empty the cache too;
# without keep_cache it is empty every time.
cached_after_reopen()
{
	local r
	for _ in 1 2 3; do
		cat "$1" >/dev/null
		r=$(resident "$1")
		[ "$r" -eq "$(stat -c %s "$1")" ] && break
	done
	echo "$r"
}

# same_data DESCRIPTION PATH: PATH through the mount and on the backing
# store read the same, by read() and by a fresh mapping.
same_data()
{
	expect_eq "$1: read() through the mount" \
		"$(md5sum <"$B/$2")" "$(md5sum <"$M/$2")"
	expect_eq "$1: new mapping through the mount" \
		"$("$PFS_TOOL" mmapsum "$B/$2")" "$("$PFS_TOOL" mmapsum "$M/$2")"
}

# rewrite PATH: new bytes over the first MiB, same size.
rewrite()
{
	dd if=/dev/urandom of="$1" bs=1M count=1 conv=notrunc status=none
}

for fs in ext4 ext2; do
	B=$T/bk-$fs
	M=$T/mnt-$fs
	if [ "$fs" = ext2 ]; then
		mk_fs_opts ext2 64M "$B" -I 128
		age=2.2
	else
		mk_fs ext4 64M "$B"
		age=0.1
	fi
	for f in keep same mtime trunc append map held wrote; do
		head -c $((2 * MIB)) /dev/urandom >"$B/$f"
	done
	# Older than the filesystem's clock tick (see above).
	sleep "$age"
	pfs_mount "$B" "$M" -o timeout=60 || continue

	# Unchanged: the reopen keeps the pages.
	expect_eq "$fs: unchanged file still cached after reopen" \
		$((2 * MIB)) "$(cached_after_reopen "$M/keep")"
	same_data "$fs: unchanged" keep

	# Written through the mount: the next open reads the file again once
	# (pfs_cache.h), the one after keeps the pages.
	cat "$M/wrote" >/dev/null
	dd if=/dev/urandom of="$M/wrote" bs=4k count=1 seek=3 conv=notrunc \
		status=none
	sleep "$age"
	same_data "$fs: written through the mount" wrote
	expect_eq "$fs: written through the mount, then reopened: cached" \
		$((2 * MIB)) "$(cached_after_reopen "$M/wrote")"

	# Read everything once: the pages the kernel could serve stale.
	for f in same mtime trunc append map; do
		cat "$M/$f" >/dev/null
		"$PFS_TOOL" mmapsum "$M/$f" >/dev/null
	done

	rewrite "$B/same"
	same_data "$fs: same-size rewrite behind the mount" same

	old=$(stat -c %.9Y "$B/mtime")
	rewrite "$B/mtime"
	touch -m -d "@$old" "$B/mtime"
	expect_eq "$fs: the rewrite kept its mtime" "$old" "$(stat -c %.9Y "$B/mtime")"
	same_data "$fs: same-size rewrite with the mtime set back" mtime

	truncate -s 100000 "$B/trunc"
	same_data "$fs: truncate behind the mount" trunc
	expect_eq "$fs: size after the truncate" 100000 "$(stat -c %s "$M/trunc")"

	head -c 5000 /dev/urandom >>"$B/append"
	same_data "$fs: append behind the mount" append
	expect_eq "$fs: size after the append" $((2 * MIB + 5000)) \
		"$(stat -c %s "$M/append")"

	old=$(stat -c %.9Y "$B/map")
	rewrite "$B/map"
	touch -m -d "@$old" "$B/map"
	expect_eq "$fs: mapping after a rewrite with the mtime set back" \
		"$("$PFS_TOOL" mmapsum "$B/map")" "$("$PFS_TOOL" mmapsum "$M/map")"

	# CONTROL: a mapping held across the change shows the old pages.
	cat "$M/held" >/dev/null
	before=$("$PFS_TOOL" mmapsum "$M/held")
	"$PFS_TOOL" mmapsum "$M/held" "$T/$fs.ready" "$T/$fs.go" >"$T/$fs.held" &
	held=$!
	wait_file "$T/$fs.ready"
	rewrite "$B/held"
	touch "$T/$fs.go"
	wait "$held"
	expect_eq "$fs control: the held mapping still shows the old bytes" \
		"$before" "$(tail -n 1 "$T/$fs.held")"
	same_data "$fs: a reopen after it" held

	pfs_umount "$M"
done

done_testing
