#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-quota: a user over quota gets EDQUOT through the mount, as natively.
#
# Disk quotas need a kernel built with CONFIG_QUOTA (and CONFIG_QFMT_V2 for
# ext4's quota feature, CONFIG_XFS_QUOTA for XFS).  Without it the test
# cannot run on this machine at all, whatever is installed: that one case
# exits 77 through skip_unsupported, which is a skip even under CI=true
# (a kernel limit, not a missing package).  It is detected, never assumed:
# an ext4 image made with -O quota (and an XFS image mounted with usrquota,
# when mkfs.xfs is there) is mounted, and a plain ext4 image of the same
# size must mount (the control: loop devices and ext4 work, so the refusal
# is the quota support).
#
# Where quotas work: ext4 -O quota mounted with usrquota, or XFS with
# usrquota, a block hard limit of 4 MiB for user A (1234); A's growth that
# stays under the limit succeeds, growth beyond it fails with EDQUOT, in a
# plain directory (the control: fallocate, a write past EOF, an appending
# write) and through the mount (truncate, ftruncate, fallocate, the same
# writes), with nothing allocated by a refused call, and the refusals
# counted as refused_edquot.  The limits need setquota (Debian package
# "quota") for ext4, xfs_quota (xfsprogs) for XFS; without them the test
# skips (a failure under CI), as for any missing tool.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
umask 022

A=(1234 1234 "")

# try_mount NAME MKFS-COMMAND... -- MOUNT-OPTIONS: make an image, mount it
# at T/NAME; 0 when mounted (recorded for the cleanup), 1 otherwise.
try_mount()
{
	local name=$1 img=$T/$1.img dir=$T/$1 loop mkfs=() opts
	shift
	while [ "$1" != -- ]; do mkfs+=("$1"); shift; done
	opts=$2
	mkdir -p "$dir"
	truncate -s 320M "$img"
	"${mkfs[@]}" "$img" >/dev/null 2>&1 || return 2
	loop=$(losetup -f --show "$img") || skip "losetup failed"
	_pfs_loops+=("$loop")
	if mount ${opts:+-o "$opts"} "$loop" "$dir" 2>"$T/$name.mount.err"; then
		_pfs_mounts+=("$dir")
		return 0
	fi
	return 1
}

try_mount plain mkfs.ext4 -q -F -- ""
[ $? -eq 0 ] || skip "cannot mount a plain ext4 image (the control)"

qfs= qtype=
try_mount ext4q mkfs.ext4 -q -F -O quota -E quotatype=usrquota -- usrquota
case $? in
0) qfs=$T/ext4q qtype=ext4 ;;
2) echo "note: mkfs.ext4 -O quota failed (e2fsprogs too old?)" ;;
*) echo "note: ext4 with -O quota does not mount: $(cat "$T/ext4q.mount.err")" ;;
esac
if [ -z "$qfs" ] && command -v mkfs.xfs >/dev/null &&
	{ grep -qw xfs /proc/filesystems || modprobe -q xfs 2>/dev/null; }; then
	try_mount xfsq mkfs.xfs -q -f -- usrquota
	case $? in
	0) qfs=$T/xfsq qtype=xfs ;;
	*) echo "note: xfs with usrquota does not mount: $(cat "$T/xfsq.mount.err" 2>/dev/null)" ;;
	esac
fi
if [ -z "$qfs" ]; then
	why=$(dmesg 2>/dev/null | grep -Ei 'quota' | tail -2 | sed 's/^\[[^]]*\] //' | tr '\n' ';')
	skip_unsupported "this kernel has no disk quota support: ext4 -O quota and xfs usrquota mounts are refused while a plain ext4 mount works${why:+ (kernel: $why)}"
fi

# --- Quotas work here: set a limit for A.
limit_kib=4096
case $qtype in
ext4)
	command -v setquota >/dev/null ||
		skip "quotas work on ext4, but setquota is missing (Debian package 'quota')"
	setquota -u 1234 0 "$limit_kib" 0 0 "$qfs" || { fail "setquota"; done_testing; }
	;;
xfs)
	command -v xfs_quota >/dev/null || skip "quotas work on XFS, but xfs_quota is missing"
	xfs_quota -x -c "limit -u bhard=${limit_kib}k 1234" "$qfs" ||
		{ fail "xfs_quota limit"; done_testing; }
	;;
esac
echo "quota: $qtype at $qfs, hard limit $limit_kib KiB for uid 1234"

chmod 0755 "$T" "$qfs"
mkdir -m 0755 "$qfs/control" "$qfs/backing" "$T/mp"
mkdir -m 0755 "$qfs/control/u" "$qfs/backing/u"
chown 1234:1234 "$qfs/control/u" "$qfs/backing/u"
pfs_mount "$qfs/backing" "$T/mp/mnt" -o allow_other || done_testing
M=$T/mp/mnt/u C=$qfs/control/u

step() { printf '%s: %s\n' "$1" "$2"; }

# The same calls natively (a plain directory) and through the mount; A's
# usage counts both, so each side stays within 1 MiB before its over-quota
# calls: 1 MiB + 1 MiB < 4 MiB, and 8 MiB is beyond any rest.
user_steps()
{
	local u=$1
	step "A pwrite small under the limit" "$(utool "${A[@]}" pwrite "$u/small" 0 512K)"
	step "A fallocate 8M" "$(utool "${A[@]}" create "$u/fa" 0644 >/dev/null; utool "${A[@]}" fallocate "$u/fa" 0 0 8M)"
	step "A stat fa" "$(utool "${A[@]}" stat "$u/fa")"
	step "A pwrite past EOF 8M" "$(utool "${A[@]}" pwrite "$u/small" 8M 64K)"
	step "A stat small" "$(utool "${A[@]}" stat "$u/small")"
	step "A append 8M" "$(utool "${A[@]}" append "$u/small" 8M)"
	step "A stat small" "$(utool "${A[@]}" stat "$u/small")"
}
user_steps "$C" >"$T/native.out"
user_steps "$M" >"$T/mount.out"
check "control: under the limit A writes natively" \
	grep -qx 'A pwrite small under the limit: 0 ok' "$T/native.out"
check "control: over the limit A's fallocate fails with EDQUOT natively" \
	grep -qx 'A fallocate 8M: 1 EDQUOT' "$T/native.out"
expect_same_transcript "A's growth against the quota" "$T/native.out" "$T/mount.out"

utool "${A[@]}" create "$M/t" 0644 >/dev/null
expect_eq "truncate beyond the quota through the mount" "1 EDQUOT" \
	"$(utool "${A[@]}" truncate "$M/t" 8M)"
expect_eq "ftruncate beyond the quota through the mount" "1 EDQUOT" \
	"$(utool "${A[@]}" ftruncate "$M/t" 8M)"
expect_eq "the refused truncates left the file empty" "0 0" \
	"$(st_state "$qfs/backing/u/t")"
expect_eq "truncate within the quota through the mount" "0 ok" \
	"$(utool "${A[@]}" truncate "$M/t" 256K)"
expect_covered "the truncated file is allocated" "$qfs/backing/u/t"
n=$(pfs_counter "$T/mp/mnt" refused_edquot)
check "refusals counted as refused_edquot ($n)" test "${n:-0}" -ge 2

pfs_umount "$T/mp/mnt"
done_testing
