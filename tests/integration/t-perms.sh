#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-perms: nobody gets in through the mount where the backing filesystem
# would stop them, with the kernel checking permissions (allow_other, which
# turns on default_permissions) and without it (allow_other,
# no_default_permissions: then the daemon must check, by acting as the
# caller in every request).
#
# One scenario runs three times on one ext4 filesystem: in a plain
# directory (the control), through a default_permissions mount and through
# a no_default_permissions mount, each serving its own sibling directory.
# Every step prints "step: STATUS RESULT"; the transcripts must be
# identical.  Users: A = 1234:1234, B = 1235:1235, no supplementary groups.
#
#   reads       B reads root's 0600 file, A's 0600 file; A walks into, lists,
#               stats and reads inside root's 0700 directory (also right
#               after root looked the same names up, so that the kernel's
#               dentry cache holds them); readlink there; a 0711 directory
#               can be walked but not listed.
#   access()    access(2) and faccessat(AT_EACCESS) for r, w, x, f as owner
#               and as another user.
#   xattrs      B reads A's user.* attribute of a 0600 file; trusted.* names
#               are hidden from non-root callers (listxattr), getxattr
#               ENODATA, set/remove EPERM; root sees and reads them.
#   kill-priv   B cannot strip S_ISGID from A's setgid directory, nor
#               setuid/setgid from A's file B may not write; B's write and
#               truncate of A's world-writable setuid file still clear the
#               bits, as natively.
#   immutable   B (with write permission) cannot open an immutable file
#               for writing.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
umask 022

A=(1234 1234 "")
B=(1235 1235 "")

mk_fs ext4 64M "$T/fs"
chmod 0755 "$T" "$T/fs"
mkdir -m 0755 "$T/fs/control" "$T/fs/back-dp" "$T/fs/back-ndp" "$T/mp"
pfs_mount "$T/fs/back-dp" "$T/mp/dp" -o allow_other || done_testing
DP_PID=$PFS_PID DP_LOG=$PFS_LOG
pfs_mount "$T/fs/back-ndp" "$T/mp/ndp" -o allow_other,no_default_permissions ||
	done_testing
NDP_PID=$PFS_PID NDP_LOG=$PFS_LOG
check "allow_other mount: default_permissions is on" \
	grep -qw default_permissions <<<"$(findmnt -n -o OPTIONS -M "$T/mp/dp" | tr , ' ')"
check "no_default_permissions mount: default_permissions is off" \
	test -z "$(findmnt -n -o OPTIONS -M "$T/mp/ndp" | tr , '\n' | grep -x default_permissions)"

step() { printf '%s: %s\n' "$1" "$2"; }

scenario()
{
	local b=$1

	# --- Set-up by root.
	step "root create secret 0600" "$(rtool create "$b/secret" 0600)"
	step "root pwrite secret" "$(rtool pwrite "$b/secret" 0 10)"
	step "root mkdir priv 0700" "$(rtool mkdir "$b/priv" 0700)"
	step "root create priv/f 0644" "$(rtool create "$b/priv/f" 0644)"
	step "root pwrite priv/f" "$(rtool pwrite "$b/priv/f" 0 10)"
	step "root symlink priv/lnk" "$(rtool symlink f "$b/priv/lnk")"
	step "root mkdir xonly 0711" "$(rtool mkdir "$b/xonly" 0711)"
	step "root create xonly/pub 0644" "$(rtool create "$b/xonly/pub" 0644)"
	step "root mkdir home-a" "$(rtool mkdir "$b/home-a" 0755)"
	step "root chown home-a A" "$(rtool chown "$b/home-a" 1234 1234)"

	# --- Reads.
	step "B read secret" "$(utool "${B[@]}" read "$b/secret")"
	step "B open secret rdwr" "$(utool "${B[@]}" open "$b/secret" rdwr)"
	step "A read priv/f" "$(utool "${A[@]}" read "$b/priv/f")"
	step "A stat priv/f" "$(utool "${A[@]}" stat "$b/priv/f")"
	step "A ls priv" "$(utool "${A[@]}" ls "$b/priv")"
	step "A readlink priv/lnk" "$(utool "${A[@]}" readlink "$b/priv/lnk")"
	step "root stat priv/f" "$(rtool stat "$b/priv/f")"
	step "root read priv/f" "$(rtool read "$b/priv/f")"
	step "root readlink priv/lnk" "$(rtool readlink "$b/priv/lnk")"
	# Right after root's lookups: the names are in the kernel's caches.
	step "A stat priv/f (cached)" "$(utool "${A[@]}" stat "$b/priv/f")"
	step "A read priv/f (cached)" "$(utool "${A[@]}" read "$b/priv/f")"
	step "A readlink priv/lnk (cached)" "$(utool "${A[@]}" readlink "$b/priv/lnk")"
	step "A ls xonly" "$(utool "${A[@]}" ls "$b/xonly")"
	step "A read xonly/pub" "$(utool "${A[@]}" read "$b/xonly/pub")"
	step "A create home-a/f 0600" "$(utool "${A[@]}" create "$b/home-a/f" 0600)"
	step "A pwrite home-a/f" "$(utool "${A[@]}" pwrite "$b/home-a/f" 0 10)"
	step "A read home-a/f" "$(utool "${A[@]}" read "$b/home-a/f")"
	step "B read home-a/f" "$(utool "${B[@]}" read "$b/home-a/f")"
	step "A mkdir home-a/d 0700" "$(utool "${A[@]}" mkdir "$b/home-a/d" 0700)"
	step "B ls home-a/d" "$(utool "${B[@]}" ls "$b/home-a/d")"
	step "A ls home-a/d" "$(utool "${A[@]}" ls "$b/home-a/d")"

	# --- access(2), real and effective.
	local f m
	for f in home-a/f secret priv/f xonly; do
		for m in r w x rw f; do
			step "A access $f $m" "$(utool "${A[@]}" access "$b/$f" $m)"
			step "B access $f $m" "$(utool "${B[@]}" access "$b/$f" $m)"
			step "A eaccess $f $m" "$(utool "${A[@]}" eaccess "$b/$f" $m)"
		done
	done
	step "root access secret x" "$(rtool access "$b/secret" x)"
	step "root access secret rw" "$(rtool access "$b/secret" rw)"

	# --- Extended attributes.
	step "A setxattr home-a/f user.x" "$(utool "${A[@]}" setxattr "$b/home-a/f" user.x 8)"
	step "root setxattr home-a/f trusted.t" "$(rtool setxattr "$b/home-a/f" trusted.t 4)"
	step "A getxattr home-a/f user.x" "$(utool "${A[@]}" getxattr "$b/home-a/f" user.x)"
	step "B getxattr home-a/f user.x" "$(utool "${B[@]}" getxattr "$b/home-a/f" user.x)"
	step "A listxattr home-a/f" "$(utool "${A[@]}" listxattr "$b/home-a/f")"
	step "B listxattr home-a/f" "$(utool "${B[@]}" listxattr "$b/home-a/f")"
	step "root listxattr home-a/f" "$(rtool listxattr "$b/home-a/f")"
	step "A getxattr home-a/f trusted.t" "$(utool "${A[@]}" getxattr "$b/home-a/f" trusted.t)"
	step "root getxattr home-a/f trusted.t" "$(rtool getxattr "$b/home-a/f" trusted.t)"
	step "A setxattr home-a/f trusted.u" "$(utool "${A[@]}" setxattr "$b/home-a/f" trusted.u 4)"
	step "A removexattr home-a/f trusted.t" "$(utool "${A[@]}" removexattr "$b/home-a/f" trusted.t)"
	step "B removexattr home-a/f user.x" "$(utool "${B[@]}" removexattr "$b/home-a/f" user.x)"
	step "root listxattr home-a/f again" "$(rtool listxattr "$b/home-a/f")"

	# --- setuid/setgid "kill" only where the kernel would kill.
	step "A mkdir home-a/sg 0775" "$(utool "${A[@]}" mkdir "$b/home-a/sg" 0775)"
	step "A chmod home-a/sg 2775" "$(utool "${A[@]}" chmod "$b/home-a/sg" 2775)"
	step "B chmod home-a/sg 0775" "$(utool "${B[@]}" chmod "$b/home-a/sg" 0775)"
	step "B stat home-a/sg" "$(utool "${B[@]}" stat "$b/home-a/sg")"
	step "A create home-a/su 0644" "$(utool "${A[@]}" create "$b/home-a/su" 0644)"
	step "A chmod home-a/su 6755" "$(utool "${A[@]}" chmod "$b/home-a/su" 6755)"
	step "B chmod home-a/su 0755" "$(utool "${B[@]}" chmod "$b/home-a/su" 0755)"
	step "B chmod home-a/su 4755" "$(utool "${B[@]}" chmod "$b/home-a/su" 4755)"
	step "B stat home-a/su" "$(utool "${B[@]}" stat "$b/home-a/su")"
	for f in sw st; do
		step "A create home-a/$f 0644" "$(utool "${A[@]}" create "$b/home-a/$f" 0644)"
		step "A chmod home-a/$f 6777" "$(utool "${A[@]}" chmod "$b/home-a/$f" 6777)"
	done
	step "B pwrite home-a/sw" "$(utool "${B[@]}" pwrite "$b/home-a/sw" 0 5)"
	step "B stat home-a/sw" "$(utool "${B[@]}" stat "$b/home-a/sw")"
	step "B truncate home-a/st 3" "$(utool "${B[@]}" truncate "$b/home-a/st" 3)"
	step "B stat home-a/st" "$(utool "${B[@]}" stat "$b/home-a/st")"

	# --- An immutable file refuses writers, whatever its mode.
	step "A create home-a/imm 0666" "$(utool "${A[@]}" create "$b/home-a/imm" 0644)"
	step "A chmod home-a/imm 0666" "$(utool "${A[@]}" chmod "$b/home-a/imm" 0666)"
	step "root chattr +i home-a/imm" "$(chattr +i "$b/home-a/imm" 2>&1 && echo ok)"
	step "B open-rw home-a/imm" "$(utool "${B[@]}" open-rw "$b/home-a/imm")"
	step "B read home-a/imm" "$(utool "${B[@]}" read "$b/home-a/imm")"
	step "root chattr -i home-a/imm" "$(chattr -i "$b/home-a/imm" 2>&1 && echo ok)"
}

scenario "$T/fs/control" >"$T/native.out"
# chattr cannot reach through FUSE (no ioctl): set the flag on the backing
# file for the mounts' runs, by the same step names.
chattr() { command chattr "$1" "${2/\/mp\/dp\//\/fs\/back-dp\/}"; }
scenario "$T/mp/dp" >"$T/dp.out"
chattr() { command chattr "$1" "${2/\/mp\/ndp\//\/fs\/back-ndp\/}"; }
scenario "$T/mp/ndp" >"$T/ndp.out"

check "control: B cannot read root's 0600 file" \
	grep -qx 'B read secret: 1 EACCES' "$T/native.out"
check "control: A cannot stat in root's 0700 dir after root did" \
	grep -qx 'A stat priv/f (cached): 1 EACCES' "$T/native.out"
check "control: trusted.* hidden from A" \
	grep -qx 'A listxattr home-a/f: 0 user.x' "$T/native.out"
check "control: root sees trusted.*" \
	grep -qx 'root listxattr home-a/f: 0 trusted.t,user.x' "$T/native.out"
check "control: B cannot strip S_ISGID from A's directory" \
	grep -qx 'B chmod home-a/sg 0775: 1 EPERM' "$T/native.out"
check "control: B's write clears A's setuid/setgid" \
	grep -qx 'B stat home-a/sw: 0 reg 0777 1234 1234 5' "$T/native.out"
check "control: immutable file refuses a writer" \
	grep -qx 'B open-rw home-a/imm: 1 EPERM' "$T/native.out"
expect_same_transcript "default_permissions mount answers as the backing filesystem" \
	"$T/native.out" "$T/dp.out"
expect_same_transcript "no_default_permissions mount answers as the backing filesystem" \
	"$T/native.out" "$T/ndp.out"

PFS_PID=$NDP_PID PFS_LOG=$NDP_LOG pfs_umount "$T/mp/ndp"
PFS_PID=$DP_PID PFS_LOG=$DP_LOG pfs_umount "$T/mp/dp"
done_testing
