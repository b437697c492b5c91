#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-passthrough: -o passthrough (FUSE passthrough, Linux >= 6.9, libfuse >=
# 3.17), on a 128M ext4 image.
#
#  1. The data path leaves the daemon: with -d, dd writes and reads, and a
#     mapped store, reach the daemon as no READ or WRITE request; the
#     control, the same on a classic mount, shows them.
#  2. The growth rule stays: a truncate that does not fit is refused with
#     ENOSPC up front, one that fits is allocated (counted); a copy past
#     end-of-file gets its gap allocated; an append on a full disk fails
#     with ENOSPC at write(), as natively.
#  3. The one promise -o passthrough gives up (README): a write that starts
#     past end-of-file leaves its gap as a hole.  With the disk nearly full,
#     a mapped store into that gap in the same open raises SIGBUS, as on the
#     raw filesystem (control), while the classic mount refuses the write
#     with ENOSPC.  The next open for writing fills such a hole (holes=fill)
#     or fails with ENOSPC.
#  4. The kernel takes an inode's opens as all passthrough or all classic
#     (a mixed open fails with EIO): three processes opening one file
#     read-only, for writing and mapped, with overlapping lifetimes, never
#     see an open fail.
#  6. On an allow_other mount the kernel still checks each caller's
#     permissions, new files are the caller's, and a user's passthrough
#     write clears the setuid bit as natively (control: the raw fs).
#  5. Without CAP_SYS_ADMIN in the initial user namespace (a mount inside
#     `unshare --user`) the mount logs one line and uses the classic path.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool

B=$T/bk
M=$T/mnt
C=$T/cmnt
# -m 0: no root reserve.  Passthrough writes run as nobody and never use it
# (README), while root's classic writes would: without a reserve both see
# the same free space.
mk_fs_opts ext4 128M "$B" -m 0

# A mount with -d (every request logged), unmounted here: its log holds
# "error: -2" lines for ENOENT replies, which pfs_umount would flag.
debug_mount()
{
	pfs_mount "$1" "$2" -d "${@:3}" || return 1
	DEBUG_LOG=$PFS_LOG
	DEBUG_PID=$PFS_PID
}
debug_umount()
{
	umount "$1" || fail "umount $1"
	wait "$DEBUG_PID"
	expect_eq "daemon exit status after umount ($1)" 0 "$?"
	if grep -Eiq 'sanitizer|runtime error' "$DEBUG_LOG"; then
		fail "daemon log has sanitizer reports"
	fi
}
not_grep()
{
	! grep -q "$@"
}
# data_requests LOG: READ and WRITE requests the daemon received.
data_requests()
{
	grep -cE 'opcode: (READ|WRITE) ' "$1"
}
# traffic DIR: write, read back and store through a mapping, 4 MiB.
traffic()
{
	dd if=/dev/zero of="$1/d" bs=64k count=64 conv=fsync status=none
	dd if="$1/d" of=/dev/null bs=64k status=none
	"$PFS_TOOL" mmapwrite "$1/m" 1M --msync >/dev/null
	cmp -s "$1/d" <(head -c 4M /dev/zero) || fail "read back $1/d"
	"$PFS_TOOL" verify "$1/m" 1M >/dev/null || fail "verify $1/m"
}

# --- 1. the data path ---
# (2..5 below; this one first: it decides whether passthrough works here.)
mkdir -p "$B/t1"
debug_mount "$B/t1" "$M" -o passthrough || done_testing
# Init, which logs whether passthrough is on, runs after the mount appears:
# look once a request has been answered.
stat "$M" >/dev/null
if grep -q 'passthrough unavailable' "$DEBUG_LOG"; then
	# A libfuse < 3.17 build (-Dlibfuse=system on Debian 12) or a kernel
	# without passthrough: the mount works classically and says so once.
	grep 'passthrough unavailable' "$DEBUG_LOG"
	expect_eq "unavailable: one line says so" 1 \
		"$(grep -c 'passthrough unavailable: .*classic data path' "$DEBUG_LOG")"
	traffic "$M"
	n=$(data_requests "$DEBUG_LOG")
	check "unavailable: the classic path serves the data ($n requests)" \
		test "$n" -gt 0
	debug_umount "$M"
	echo "note: FUSE passthrough is not available here; fallback checked"
	done_testing
fi
traffic "$M"
check "startup line says passthrough is on, and its one weaker case" \
	grep -q 'passthrough: reads, writes and mmap go straight.*past end-of-file leaves a hole' \
	"$DEBUG_LOG"
expect_eq "passthrough: READ/WRITE requests the daemon saw" 0 \
	"$(data_requests "$DEBUG_LOG")"
debug_umount "$M"

# CONTROL: the same on a classic mount goes through the daemon.
debug_mount "$B/t1" "$C" || done_testing
traffic "$C"
n=$(data_requests "$DEBUG_LOG")
check "classic: the daemon saw READ/WRITE requests ($n)" test "$n" -gt 0
debug_umount "$C"

# --check states the weaker case, with and without the option.
check "--check -o passthrough: on, with its weaker case" bash -c \
	'"$1" --check -o passthrough "$2" | grep -q "^passthrough: *on .*past end-of-file leaves a hole"' \
	_ "$PFS_BIN" "$B"
check "--check: off by default" bash -c \
	'"$1" --check "$2" | grep -q "^passthrough: *off "' _ "$PFS_BIN" "$B"

# --- 2..4 on one passthrough mount and one classic mount of one tree ---
mkdir -p "$B/t2"
pfs_mount "$B/t2" "$C" || done_testing
CLASSIC_PID=$PFS_PID CLASSIC_LOG=$PFS_LOG
pfs_mount "$B/t2" "$M" -o passthrough || done_testing

# 3 (with space): a gapped write leaves a hole; the next open for writing
# fills it.
holes0=$(pfs_counter "$M" holes_filled)
expect_tool "passthrough: pwrite 4K at 8M (a gap)" "0 ok" pwrite "$M/h" 8M 4K
expect_sparse "passthrough: the gap is a hole on the backing file" "$B/t2/h"
expect_tool "classic: pwrite 4K at 8M" "0 ok" pwrite "$C/hc" 8M 4K
expect_covered "classic: the gap is allocated" "$B/t2/hc"
expect_tool "passthrough: the next open for writing" "0 ok" open-rw "$M/h"
expect_covered "passthrough: that open filled the hole" "$B/t2/h"
expect_counter "passthrough: holes filled at open" "$M" holes_filled \
	$((holes0 + 1))

# 4: the per-inode open mode: no open fails.
"$PFS_TOOL" pwrite "$M/mix" 0 8K >/dev/null
pids=()
for i in 1 2 3; do
	"$PFS_TOOL" openmix "$M/mix" 3 >"$T/mix.$i" 2>&1 &
	pids+=($!)
done
for i in 1 2 3; do
	wait "${pids[i - 1]}"
	expect_eq "openmix $i: exit status ($(cat "$T/mix.$i"))" 0 "$?"
done

# 2: the growth rule, while there is space and on a full disk.
: >"$M/grow"
growths0=$(pfs_counter "$M" growths)
expect_tool "passthrough: truncate to 1G is refused up front" "1 ENOSPC" \
	truncate "$M/grow" 1G
expect_tool "passthrough: truncate to 4M" "0 ok" truncate "$M/grow" 4M
expect_covered "passthrough: the truncate was allocated" "$B/t2/grow"
expect_counter "passthrough: growths counted" "$M" growths $((growths0 + 1))
expect_tool "passthrough: stores into the truncated file" "0 ok" \
	mmapwrite "$M/grow" 4M --no-truncate --msync
# copy_file_range still comes to the daemon: its gap is allocated (the
# raw control of this is t-write-gap).
"$PFS_TOOL" pwrite "$M/src" 0 64K >/dev/null
expect_tool "passthrough: copy_file_range 64K to 4M" "0 ok" \
	copyrange "$M/src" "$M/copy" 4M 64K
expect_covered "passthrough: the copy's gap is allocated" "$B/t2/copy"

# 3 (disk nearly full): three 2M spacers, one freed before each case.
for s in 1 2 3; do
	"$PFS_TOOL" pwrite "$B/t2/spacer$s" 0 2M >/dev/null
done
fill_fs "fill the disk" "$B/t2"
expect_tool "passthrough: append on a full disk fails at write()" \
	"1 ENOSPC" append "$M/grow" 1M
rm -f "$B/t2/spacer1"
sync -f "$B/t2"
expect_tool "raw (control): mapped store into a write's gap: SIGBUS" "135" \
	gapstore "$B/t2/raw-gap" 32M 4K
rm -f "$B/t2/spacer2"
sync -f "$B/t2"
expect_tool "passthrough: mapped store into a write's gap: SIGBUS (the stated weaker case)" \
	"135" gapstore "$M/pt-gap" 32M 4K
expect_tool "passthrough: the next open for writing reports ENOSPC instead" \
	"1 ENOSPC" open-rw "$M/pt-gap"
rm -f "$B/t2/spacer3"
sync -f "$B/t2"
expect_tool "classic: the gapped write is refused, nothing to fault on" \
	"1 ENOSPC" gapstore "$C/cl-gap" 32M 4K
pfs_umount "$M"
PFS_PID=$CLASSIC_PID PFS_LOG=$CLASSIC_LOG pfs_umount "$C"

# --- 6. other users (allow_other): the caller's rules still hold ---
if command -v setpriv >/dev/null; then
	mkdir -p "$B/t6"
	chmod 0755 "$T" "$B"
	chmod 1777 "$B/t6"
	pfs_mount "$B/t6" "$M" -o allow_other,passthrough || done_testing
	expect_eq "user A creates and writes a file" "0 ok" \
		"$(utool 1234 1234 "" pwrite "$M/a" 0 64K)"
	expect_eq "it is A's on the backing store" "1234 1234" \
		"$(stat -c '%u %g' "$B/t6/a")"
	expect_eq "user B may not open A's file for writing" "1 EACCES" \
		"$(utool 1235 1235 "" open-rw "$M/a")"
	chmod 4755 "$B/t6/a"
	# CONTROL: natively, A's write clears A's setuid bit.
	"$PFS_TOOL" pwrite "$B/t6/n" 0 4K >/dev/null
	chown 1234:1234 "$B/t6/n"
	chmod 4755 "$B/t6/n"
	utool 1234 1234 "" pwrite "$B/t6/n" 0 4K >/dev/null
	expect_eq "raw (control): A's write clears the setuid bit" 755 \
		"$(stat -c '%a' "$B/t6/n")"
	expect_eq "passthrough: A's write clears the setuid bit" "0 ok" \
		"$(utool 1234 1234 "" pwrite "$M/a" 0 4K)"
	expect_eq "passthrough: setuid bit gone on the backing file" 755 \
		"$(stat -c '%a' "$B/t6/a")"
	pfs_umount "$M"
fi

# --- 5. no CAP_SYS_ADMIN in the initial user namespace: classic path ---
if unshare --user --map-root-user true 2>/dev/null; then
	mkdir -p "$B/t5" "$T/nsmnt"
	out=$(timeout 30 unshare --user --map-root-user --mount -- bash -c '
		"$1" -f -o passthrough "$2" "$3" 2>"$4" & pid=$!
		for _ in $(seq 100); do
			findmnt -rn -M "$3" >/dev/null && break
			sleep 0.1
		done
		echo hello >"$3/f" && cat "$3/f"
		umount "$3"
		wait $pid
		echo "rc $?"' _ "$PFS_BIN" "$B/t5" "$T/nsmnt" "$T/ns.log")
	expect_eq "user namespace: the mount works and exits 0" "hello rc 0" \
		"$(echo $out)"
	expect_eq "user namespace: one line says passthrough is unavailable" 1 \
		"$(grep -c 'passthrough unavailable: .*CAP_SYS_ADMIN.*classic data path' "$T/ns.log")"
	check "user namespace: no per-open registration failures" \
		not_grep passthrough_open "$T/ns.log"
else
	echo "note: no user namespaces here; fallback part skipped"
fi

done_testing
