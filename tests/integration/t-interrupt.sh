#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-interrupt: a long growth through the mount can be interrupted.
#
# On ext2 (no fallocate) growth writes zeros, 1 MiB at a time: `truncate -s
# 6G` takes seconds.  The kernel does not end a process waiting for the
# daemon's answer, not even on SIGKILL, until the daemon replies; it sends
# an INTERRUPT instead.  The daemon checks for it between chunks, stops,
# rolls the growth back and answers EINTR.  So Ctrl-C (SIGINT) on the
# truncate ends it within a moment, and the file keeps its size, content
# and allocation.  Control: at the moment of the signal the truncate was
# still running with the zero-filling under way (the backing file already
# larger, so without the interrupt it would have gone on for seconds; the
# old daemon, which never looked, kept the caller until the end).
. "$(dirname "$0")/lib.sh"
require_loop

B=$T/backing
M=$T/mnt
# Sparse image; few inodes so that mkfs writes little.
mk_fs_opts ext2 8G "$B" -N 1024
pfs_mount "$B" "$M" || done_testing

head -c 4096 /dev/urandom >"$B/f"
sum=$(md5sum <"$B/f")
before=$(st_state "$B/f")
free_before=$(free_kib "$B")

# zeros_ok PATH OFF LEN: [OFF, OFF+LEN) reads as zero bytes.
zeros_ok()
{
	[ "$("$PFS_TOOL" zeros "$@")" = ok ]
}

# interrupt SIGNAL STATUS: start the truncate, signal it after 0.5 s, expect
# it gone within 2 s with STATUS and the file as before.
interrupt()
{
	local sig=$1 want=$2 pid t0 t1 rc mid
	# A background job of a script starts with SIGINT ignored: undo that.
	env --default-signal=INT truncate -s 6G "$M/f" &
	pid=$!
	sleep 0.5
	mid=$(size "$B/f")
	if ! kill -0 "$pid" 2>/dev/null; then
		fail "$sig: truncate finished within 0.5 s: no long growth to interrupt"
		wait "$pid"
		return
	fi
	check "$sig: zero-filling under way when signalled (backing size $mid)" \
		test "$mid" -gt 4096
	t0=$(date +%s%N)
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	t1=$(date +%s%N)
	expect_eq "$sig: truncate's exit status" "$want" "$rc"
	check "$sig: truncate ended within 2 s of the signal ($(((t1 - t0) / 1000000)) ms)" \
		test $(((t1 - t0) / 1000000)) -lt 2000
	expect_eq "$sig: size and st_blocks as before" "$before" "$(st_state "$B/f")"
	expect_eq "$sig: content as before" "$sum" "$(md5sum <"$B/f")"
	check "$sig: free space as before ($free_before KiB, now $(free_kib "$B"))" \
		test "$(free_kib "$B")" -ge $((free_before - 64))
}

interrupt INT 130
interrupt KILL 137

# A process on the backing side appends to the file while the growth is
# zero-filling (in-place mounting); then the growth is interrupted.  The
# append must survive whole: the zeros go on after it rather than over it,
# and the roll-back does not cut below it.  What the growth wrote before the
# append stays (zeros between the old end and the appended line): it cannot
# be taken out from under the other process's data.  The old daemon wrote
# its next MiB of zeros over the append, or truncated it away.
env --default-signal=INT truncate -s 6G "$M/f" &
pid=$!
sleep 0.3
mid=$(size "$B/f")
echo "APPENDED ON THE BACKING SIDE" >>"$B/f"
sleep 0.1
check "append during the growth: growth still running after the append (backing size $mid)" \
	kill -0 "$pid"
kill -INT "$pid"
wait "$pid"
expect_eq "append during the growth: truncate's exit status" 130 "$?"
expect_eq "append during the growth: the appended line is the file's end" \
	"APPENDED ON THE BACKING SIDE" "$(tail -c 29 "$B/f")"
expect_eq "append during the growth: the old content is unchanged" "$sum" \
	"$(head -c 4096 "$B/f" | md5sum)"
s=$(size "$B/f")
check "append during the growth: only zeros between the old end and the line ($s bytes)" \
	zeros_ok "$B/f" 4096 $((s - 4096 - 29))
truncate -s 4096 "$B/f"

# Opening a huge sparse file for writing fills its holes first (zeros on
# ext2): interrupted too, the open fails at once and the file keeps its size
# and content.  ext2 cannot punch, so the zeros written so far stay
# allocated (documented); the blocks may only have grown.
truncate -s 6G "$B/sparse"
env --default-signal=INT "$PFS_TOOL" open-rw "$M/sparse" >/dev/null &
pid=$!
sleep 0.5
check "open of a sparse file: still filling holes after 0.5 s ($(blocks "$B/sparse") blocks)" \
	kill -0 "$pid"
t0=$(date +%s%N)
kill -INT "$pid"
wait "$pid"
rc=$?
t1=$(date +%s%N)
expect_eq "open of a sparse file: exit status" 130 "$rc"
check "open of a sparse file: ended within 2 s of the signal ($(((t1 - t0) / 1000000)) ms)" \
	test $(((t1 - t0) / 1000000)) -lt 2000
expect_eq "open of a sparse file: size as before" 6442450944 "$(size "$B/sparse")"
check "open of a sparse file: reads as zeros" \
	zeros_ok "$B/sparse" 0 64M
rm -f "$B/sparse"

# The mount still works, and an uninterrupted growth still completes.
expect_tool "growth through the mount after the interrupts" "0 ok" \
	truncate "$M/f" 64M
expect_covered "growth allocated" "$B/f"

pfs_umount "$M"
done_testing
