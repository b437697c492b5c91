#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-excl: O_CREAT|O_EXCL through the mount stays exclusive against a process
# creating the same name on the backing side (in-place mounting: programs
# that still have the plain directory, lock files made by both).
#
# Two processes race for a few seconds on one name, one through the mount
# and one on the backing directory: each creates it with O_CREAT|O_EXCL,
# writes a byte and unlinks it.  pfs_xside counts the times both held the
# file as created at once; it must be 0, as in the native control (both
# processes on the backing directory).  The kernel checks O_EXCL only
# against its own view of the name: between its lookup and the create the
# name can appear on the backing side, and only the daemon's openat() can
# still refuse it, so preallocfs must keep O_EXCL (it once dropped it: about
# one "exclusive" create in 46,000 then opened the other process's file).
. "$(dirname "$0")/lib.sh"
require_loop
XSIDE=${PFS_XSIDE:-}
[ -n "$XSIDE" ] && [ -x "$XSIDE" ] || skip "pfs_xside not built"

B=$T/backing
M=$T/mnt
mk_fs ext4 64M "$B"
pfs_mount "$B" "$M" || done_testing

SECS=${PFS_EXCL_SECONDS:-4}

# race DESCRIPTION P1 P2: run the race, expect no double win and real
# contention (both sides won sometimes).
race()
{
	local what=$1 out w1 w2 both
	out=$("$XSIDE" exclrace "$2" "$3" "$SECS")
	expect_eq "$what: exit status" 0 "$?"
	read -r _ w1 w2 _ both <<<"$out"
	echo "$what: $out"
	expect_eq "$what: times both held the file as created" 0 "${both:-?}"
	check "$what: both sides won sometimes ($w1, $w2)" \
		test "${w1:-0}" -gt 0 -a "${w2:-0}" -gt 0
}

race "native control (both on the backing dir)" "$B/lock" "$B/lock"
race "mount vs backing" "$M/lock" "$B/lock"
race "mount vs mount" "$M/lock2" "$M/lock2"

# Plain semantics through the mount, as natively: O_EXCL on an existing
# name fails with EEXIST, also when the name was made on the backing side
# after the kernel last looked it up.
: >"$B/made-behind"
expect_eq "O_EXCL over a name made on the backing side" "1 EEXIST" \
	"$(rtool create "$M/made-behind" 644)"
check "nothing left behind by the races" test ! -e "$B/lock" -a ! -e "$B/lock2"

pfs_umount "$M"

# --- A create that fails after it made the file removes the file again.
# A daemon that cannot raise its open-file limit of 128 (as in t-fdlimit):
# each file created through the mount keeps one O_PATH descriptor in the
# daemon, and a create needs two more for a moment (the new file's and its
# O_PATH reopen), so creating files one after the other ends with a create
# whose backing openat() takes the last descriptor and whose reopen fails
# with EMFILE.  That file must not be left behind (old code left it).
if command -v prlimit >/dev/null && command -v setpriv >/dev/null; then
	mkdir -p "$B/many"
	pfs_mount_under prlimit --nofile=128:128 \
		setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource -- \
		"$B" "$M" || done_testing
	"$PFS_TOOL" mkfiles "$M/many" 1000 >"$T/mk.out" 2>"$T/mk.err"
	expect_eq "creates through the mount run out of descriptors" \
		"EMFILE" "$(cat "$T/mk.out")"
	failed=$(sed -n 's/.*openat \(f[0-9]*\):.*/\1/p' "$T/mk.err")
	n=$(find "$B/many" -mindepth 1 | wc -l)
	check "the create that failed ($failed) left no file behind ($n files, f0 to f$((n - 1)))" \
		test -n "$failed" -a ! -e "$B/many/$failed"
	umount "$M" || fail "umount $M"
	wait "$PFS_PID"
else
	skip "prlimit or setpriv (util-linux) is not installed"
fi
done_testing
