#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-reserve: the root reserve of ext4 (mkfs.ext4 -m 5) stays root's.
#
# An ordinary user (A = 1234) fills a 128M ext4 filesystem until ENOSPC.
# Then only the root reserve is left, and the same user's calls must fail
# through the mount exactly as on the raw filesystem (the control, a plain
# directory of the same filesystem): fallocate, a write past end-of-file,
# an appending write, a write at end-of-file, copy_file_range past
# end-of-file, a write into a hole (on a holes=keep mount, where the open
# does not allocate), mkdir, a symlink with a long target, a large xattr.
# A truncate to a larger size through the mount is refused with ENOSPC too:
# preallocfs turns it into an allocation, and natively the same allocation
# (fallocate) fails; a native truncate only makes a sparse file, which is
# the point of preallocfs.  None of these may take blocks from the reserve:
# df's free-for-root (f_bfree) must not drop because of them, and never
# below the reserved block count (plus ext4's own reserved clusters, which
# f_bfree counts and nobody may use).
#
# ext4 lets a caller use the root reserve when it has CAP_SYS_RESOURCE or
# when its fsuid is the filesystem's resuid (0 by default): a daemon that
# writes with fsuid 0 on a user's behalf takes from the reserve even
# without the capability.
#
# Root, natively and through the mount, can still grow files into the
# reserve (the control for root).
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
command -v tune2fs >/dev/null || skip "tune2fs (e2fsprogs) is not installed"
umask 022

A=(1234 1234 "")
fs=$T/fs
mk_fs_opts ext4 128M "$fs" -m 5
dev=$(findmnt -n -o SOURCE -M "$fs")
reserve=$(ext4_reserved_blocks "$dev")
bsize=$(stat -f -c %S "$fs")
# ext4 keeps back clusters of its own (reserved_clusters: 2%, at most
# 4096), which not even root may use; f_bfree counts them.
resv=$(cat "/sys/fs/ext4/$(basename "$dev")/reserved_clusters" 2>/dev/null || echo 0)
echo "ext4 on $dev: block size $bsize, root reserve $reserve blocks, ext4's own $resv"
[ -n "$reserve" ] && [ "$reserve" -gt 0 ] || { fail "no root reserve on $dev"; done_testing; }

chmod 0755 "$T" "$fs"
mkdir -m 0755 "$fs/control" "$fs/backing" "$fs/backing/keep" "$fs/filler" "$T/mp"
mkdir -m 0755 "$fs/control/u" "$fs/control/keep" "$fs/backing/u" "$fs/backing/keep/u"
chown 1234:1234 "$fs/filler" "$fs/control/u" "$fs/control/keep" "$fs/backing/u" \
	"$fs/backing/keep/u"
mkdir -m 0755 "$fs/control/r" "$fs/backing/r"

pfs_mount "$fs/backing" "$T/mp/mnt" -o allow_other || done_testing
main_pid=$PFS_PID main_log=$PFS_LOG
# holes=keep: opening a sparse file for writing allocates nothing, so a
# write into its hole is a data write the daemon passes on.
pfs_mount "$fs/backing/keep" "$T/mp/keep" -o allow_other,holes=keep || done_testing
keep_pid=$PFS_PID keep_log=$PFS_LOG

# Files A owns before the disk fills: an existing file to append to and to
# write past the end of, an empty one to grow, a sparse one (1 MiB hole).
for d in "$fs/control/u" "$fs/backing/u"; do
	as_user "${A[@]}" "$PFS_TOOL" pwrite "$d/old" 0 16K >/dev/null
	as_user "${A[@]}" "$PFS_TOOL" create "$d/grow" 0644 >/dev/null
	as_user "${A[@]}" "$PFS_TOOL" create "$d/grow2" 0644 >/dev/null
	as_user "${A[@]}" "$PFS_TOOL" create "$d/fa" 0644 >/dev/null
done
for d in "$fs/control/keep" "$fs/backing/keep/u"; do
	as_user "${A[@]}" truncate -s 1M "$d/sparse"
done
sync -f "$fs"

# Fill the filesystem as A until ENOSPC.
out=$(as_user "${A[@]}" "$PFS_TOOL" fill "$fs/filler")
expect_eq "A fills the filesystem (wrote $out bytes)" 0 "$?"
sync -f "$fs"
# fill stops at a 4 KiB write; take the last few 1 KiB blocks too, so the
# native steps cannot use up a block the steps through the mount would get.
as_user "${A[@]}" "$PFS_TOOL" create "$fs/filler/top" 0644 >/dev/null
for _ in $(seq 64); do
	[ "$(statfs_bavail "$fs")" -eq 0 ] && break
	as_user "${A[@]}" "$PFS_TOOL" append "$fs/filler/top" 1K >/dev/null 2>&1 || break
	sync -f "$fs"
done
echo "after the fill: f_bavail $(statfs_bavail "$fs"), f_bfree $(statfs_bfree "$fs") blocks"
check "only about the reserves are left (f_bfree $(statfs_bfree "$fs") <= $reserve + $resv + 512)" \
	test "$(statfs_bfree "$fs")" -le $((reserve + resv + 512))
expect_eq "ordinary users see nothing free (f_bavail)" 0 "$(statfs_bavail "$fs")"

# step NAME RESULT
step() { printf '%s: %s\n' "$1" "$2"; }

# The user's growth, in the user's directory $1 ($2: the holes=keep one).
user_steps()
{
	local u=$1 k=$2 long

	long=$(printf 'x%.0s' $(seq 600))
	step "A fallocate grow 1M" "$(utool "${A[@]}" fallocate "$u/grow" 0 0 1M)"
	step "A stat grow" "$(utool "${A[@]}" stat "$u/grow")"
	step "A fallocate keep_size fa 1M" "$(utool "${A[@]}" fallocate "$u/fa" keep 0 1M)"
	step "A pwrite old past EOF" "$(utool "${A[@]}" pwrite "$u/old" 1M 64K)"
	step "A stat old" "$(utool "${A[@]}" stat "$u/old")"
	step "A pwrite old at EOF" "$(utool "${A[@]}" pwrite "$u/old" 16K 64K)"
	step "A append old" "$(utool "${A[@]}" append "$u/old" 64K)"
	step "A copy_file_range past EOF" "$(utool "${A[@]}" copyrange "$u/old" "$u/grow" 1M 16K)"
	step "A stat grow" "$(utool "${A[@]}" stat "$u/grow")"
	step "A stat old" "$(utool "${A[@]}" stat "$u/old")"
	step "A pwrite into the hole of sparse" "$(utool "${A[@]}" pwrite "$k/sparse" 64K 64K)"
	step "A stat sparse" "$(utool "${A[@]}" stat "$k/sparse")"
	step "A mkdir d1" "$(utool "${A[@]}" mkdir "$u/d1" 0755)"
	step "A symlink long" "$(utool "${A[@]}" symlink "$long" "$u/long")"
	step "A setxattr old 3000" "$(utool "${A[@]}" setxattr "$u/old" user.big 3000)"
}

bfree() { sync -f "$fs"; statfs_bfree "$fs"; }

b0=$(bfree)
user_steps "$fs/control/u" "$fs/control/keep" >"$T/native.out"
b1=$(bfree)
native_truncate=$(utool "${A[@]}" truncate "$fs/control/u/grow2" 1M)
b2=$(bfree)
user_steps "$T/mp/mnt/u" "$T/mp/keep/u" >"$T/mount.out"
mount_truncate=$(utool "${A[@]}" truncate "$T/mp/mnt/u/grow2" 1M)
mount_ftruncate=$(utool "${A[@]}" ftruncate "$T/mp/mnt/u/grow2" 256K)
b3=$(bfree)
echo "f_bfree: $b0 before the native steps, $b1 after, $b2 after a native truncate, $b3 after the steps through the mount"

check "control: A's fallocate fails natively" \
	grep -qx 'A fallocate grow 1M: 1 ENOSPC' "$T/native.out"
check "control: A's write past EOF fails natively" \
	grep -qx 'A pwrite old past EOF: 1 ENOSPC' "$T/native.out"
check "control: A's appending write fails natively" \
	grep -qx 'A append old: 1 ENOSPC' "$T/native.out"
expect_same_transcript "A's growth at the root reserve" "$T/native.out" "$T/mount.out"
expect_eq "control: a native truncate makes a sparse file (no allocation)" "0 ok" \
	"$native_truncate"
expect_eq "truncate through the mount is refused like the native allocation" \
	"1 ENOSPC" "$mount_truncate"
expect_eq "ftruncate through the mount is refused like the native allocation" \
	"1 ENOSPC" "$mount_ftruncate"
expect_eq "the refused truncates left the file as it was" "0 reg 0644 1234 1234 0" \
	"$(rtool stat "$fs/backing/u/grow2")"
check "control: the native steps took nothing from the reserve ($b0 -> $b1)" \
	test "$b1" -ge "$((b0 - 2))"
check "the user's steps through the mount took nothing from the reserve ($b2 -> $b3)" \
	test "$b3" -ge "$((b2 - 2))"
check "f_bfree ($b3) is still at least the reserves ($reserve + $resv)" \
	test "$b3" -ge "$((reserve + resv))"

# --- Root, natively and through the mount, grows files into the reserve.
rtool create "$fs/control/r/f" 0644 >/dev/null
expect_eq "control: root's fallocate uses the reserve natively" "0 ok" \
	"$(rtool fallocate "$fs/control/r/f" 0 0 1M)"
expect_eq "control: root's write past EOF natively" "0 ok" \
	"$(rtool pwrite "$fs/control/r/w" 1M 64K)"
b4=$(bfree)
expect_eq "root's truncate through the mount uses the reserve" "0 ok" \
	"$(rtool ftruncate "$T/mp/mnt/r/t" 1M)"
expect_covered "root's truncated file is allocated" "$fs/backing/r/t"
expect_eq "root's write past EOF through the mount" "0 ok" \
	"$(rtool pwrite "$T/mp/mnt/r/w" 1M 64K)"
expect_eq "root's appending write through the mount" "0 ok" \
	"$(rtool append "$T/mp/mnt/r/w" 64K)"
expect_eq "root's mkdir through the mount" "0 ok" "$(rtool mkdir "$T/mp/mnt/r/d" 0755)"
b5=$(bfree)
check "root's growth came out of the reserve (f_bfree $b4 -> $b5)" \
	test "$b5" -le $((b4 - 2 * 1048576 / bsize))
# The user is still refused after root took some of the reserve.
expect_eq "A still gets ENOSPC after root's growth" "1 ENOSPC" \
	"$(utool "${A[@]}" truncate "$T/mp/mnt/u/grow2" 64K)"

PFS_PID=$keep_pid PFS_LOG=$keep_log pfs_umount "$T/mp/keep"
PFS_PID=$main_pid PFS_LOG=$main_log pfs_umount "$T/mp/mnt"
done_testing
