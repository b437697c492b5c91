#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-acl: POSIX ACLs and the umask give the same answers through the mount as
# on the backing filesystem, with default_permissions (the kernel checks,
# ACLs included) and without it (the daemon acts as the caller and the
# backing filesystem checks).
#
# As in t-perms, one scenario runs in a plain directory (the control),
# through an allow_other mount and through an allow_other,
# no_default_permissions mount; the transcripts must be identical.  Users:
# A = 1234:1234, B = 1235:1235, group G = 5678 (A has it where a step says
# AG).  ACLs are set with setfacl and compared with getfacl -cn.
#
#   access ACLs  a named-user entry denies what the mode bits allow (0644,
#                u:A:---) and allows what they deny (0600, u:A:r--), for
#                reading and writing; a named-group entry; the mask; a
#                directory ACL for listing and searching.
#   setfacl      the owner sets and removes entries (the mode follows the
#                mask), another user cannot.
#   default ACLs new files, fifos and directories in a directory with a
#                default ACL get the inherited ACL and a mode from it and the
#                requested mode, whatever the umask; directories inherit the
#                default ACL itself.
#   umask        without a default ACL the creator's umask applies (files,
#                fifos, directories; 022, 027, 077, 002, 0).
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
command -v setfacl >/dev/null && command -v getfacl >/dev/null ||
	skip "setfacl/getfacl (Debian package acl) are not installed"
umask 022

A=(1234 1234 "")
AG=(1234 1234 5678)
B=(1235 1235 "")

mk_fs ext4 64M "$T/fs"
chmod 0755 "$T" "$T/fs"
mkdir -m 0755 "$T/fs/control" "$T/fs/back-dp" "$T/fs/back-ndp" "$T/mp"
check "the backing ext4 has ACLs" setfacl -m u:1234:r "$T/fs/control"
setfacl -b "$T/fs/control"
pfs_mount "$T/fs/back-dp" "$T/mp/dp" -o allow_other || done_testing
DP_PID=$PFS_PID DP_LOG=$PFS_LOG
pfs_mount "$T/fs/back-ndp" "$T/mp/ndp" -o allow_other,no_default_permissions ||
	done_testing
NDP_PID=$PFS_PID NDP_LOG=$PFS_LOG

step() { printf '%s: %s\n' "$1" "$2"; }

# urun UID GID GROUPS COMMAND...: "STATUS OUTPUT" of any command run as that
# user (stderr dropped: it names paths, which differ between the runs).
urun()
{
	local out rc
	local uid=$1 gid=$2 groups=$3
	shift 3
	out=$(as_user "$uid" "$gid" "$groups" "$@" 2>/dev/null)
	rc=$?
	echo "$rc${out:+ $out}" | tr '\n\t' '  ' | sed 's/ *$//'
	echo
}
rrun() { urun 0 0 "" "$@"; }
# acl PATH: the ACL, one line, numeric ids, no header.
acl() { rrun getfacl -cn "$1"; }

scenario()
{
	local b=$1 f

	step "root mkdir d 0755" "$(rtool mkdir "$b/d" 0755)"
	step "root chown d A" "$(rtool chown "$b/d" 1234 1234)"

	# --- Access ACLs that deny or allow against the mode bits.
	for f in deny-r allow-r deny-w allow-w grp-r mask; do
		step "A create d/$f 0600" "$(utool "${A[@]}" create "$b/d/$f" 0600)"
		step "A pwrite d/$f" "$(utool "${A[@]}" pwrite "$b/d/$f" 0 10)"
	done
	step "A chmod d/deny-r 0644" "$(utool "${A[@]}" chmod "$b/d/deny-r" 0644)"
	step "A setfacl d/deny-r u:B:---" "$(urun "${A[@]}" setfacl -m u:1235:--- "$b/d/deny-r")"
	step "A setfacl d/allow-r u:B:r" "$(urun "${A[@]}" setfacl -m u:1235:r-- "$b/d/allow-r")"
	step "A chmod d/deny-w 0666" "$(utool "${A[@]}" chmod "$b/d/deny-w" 0666)"
	step "A setfacl d/deny-w u:B:r" "$(urun "${A[@]}" setfacl -m u:1235:r-- "$b/d/deny-w")"
	step "A setfacl d/allow-w u:B:rw" "$(urun "${A[@]}" setfacl -m u:1235:rw- "$b/d/allow-w")"
	step "A setfacl d/grp-r g:G:r" "$(urun "${A[@]}" setfacl -m g:5678:r-- "$b/d/grp-r")"
	step "A setfacl d/mask u:B:rw,m::r" "$(urun "${A[@]}" setfacl -m u:1235:rw-,m::r-- "$b/d/mask")"
	for f in deny-r allow-r deny-w allow-w grp-r mask; do
		step "stat d/$f" "$(rtool stat "$b/d/$f")"
		step "acl d/$f" "$(acl "$b/d/$f")"
		step "B read d/$f" "$(utool "${B[@]}" read "$b/d/$f")"
		step "B open-rw d/$f" "$(utool "${B[@]}" open-rw "$b/d/$f")"
		step "B access d/$f r" "$(utool "${B[@]}" access "$b/d/$f" r)"
		step "B access d/$f w" "$(utool "${B[@]}" access "$b/d/$f" w)"
		step "B+G read d/$f" "$(utool 1235 1235 5678 read "$b/d/$f")"
		step "B+G open-rw d/$f" "$(utool 1235 1235 5678 open-rw "$b/d/$f")"
		step "A read d/$f" "$(utool "${A[@]}" read "$b/d/$f")"
	done

	# --- Directory ACLs.
	step "A mkdir d/priv 0700" "$(utool "${A[@]}" mkdir "$b/d/priv" 0700)"
	step "A create d/priv/f 0644" "$(utool "${A[@]}" create "$b/d/priv/f" 0644)"
	step "B ls d/priv" "$(utool "${B[@]}" ls "$b/d/priv")"
	step "B stat d/priv/f" "$(utool "${B[@]}" stat "$b/d/priv/f")"
	step "A setfacl d/priv u:B:rx" "$(urun "${A[@]}" setfacl -m u:1235:r-x "$b/d/priv")"
	step "B ls d/priv (ACL)" "$(utool "${B[@]}" ls "$b/d/priv")"
	step "B stat d/priv/f (ACL)" "$(utool "${B[@]}" stat "$b/d/priv/f")"
	step "B read d/priv/f (ACL)" "$(utool "${B[@]}" read "$b/d/priv/f")"
	step "B create d/priv/g (ACL)" "$(utool "${B[@]}" create "$b/d/priv/g" 0644)"
	step "A setfacl d/priv u:B:rwx" "$(urun "${A[@]}" setfacl -m u:1235:rwx "$b/d/priv")"
	step "B create d/priv/g (ACL rwx)" "$(utool "${B[@]}" create "$b/d/priv/g" 0644)"
	step "stat d/priv/g" "$(rtool stat "$b/d/priv/g")"

	# --- Who may change an ACL; the mode follows the mask.
	step "B setfacl d/allow-r u:B:rw" "$(urun "${B[@]}" setfacl -m u:1235:rw- "$b/d/allow-r")"
	step "A chmod d/allow-w 0640" "$(utool "${A[@]}" chmod "$b/d/allow-w" 0640)"
	step "acl d/allow-w after chmod" "$(acl "$b/d/allow-w")"
	step "B open-rw d/allow-w after chmod" "$(utool "${B[@]}" open-rw "$b/d/allow-w")"
	step "A setfacl -x d/deny-r u:B" "$(urun "${A[@]}" setfacl -x u:1235 "$b/d/deny-r")"
	step "B read d/deny-r after -x" "$(utool "${B[@]}" read "$b/d/deny-r")"
	step "A setfacl -b d/allow-r" "$(urun "${A[@]}" setfacl -b "$b/d/allow-r")"
	step "stat d/allow-r after -b" "$(rtool stat "$b/d/allow-r")"
	step "B read d/allow-r after -b" "$(utool "${B[@]}" read "$b/d/allow-r")"

	# --- Default ACLs: inherited by new entries, umask ignored.
	step "A mkdir d/inh 0755" "$(utool "${A[@]}" mkdir "$b/d/inh" 0755)"
	step "A setfacl -d d/inh" "$(urun "${A[@]}" setfacl -d -m u::rwx,g::r-x,o::---,u:1235:rwx,m::rwx "$b/d/inh")"
	step "acl d/inh" "$(acl "$b/d/inh")"
	local um
	for um in 022 077 0; do
		step "A create d/inh/f$um 0666 umask $um" "$(utool "${A[@]}" umask-create "$b/d/inh/f$um" 0666 $um)"
		step "stat d/inh/f$um" "$(rtool stat "$b/d/inh/f$um")"
		step "acl d/inh/f$um" "$(acl "$b/d/inh/f$um")"
		step "A mkdir d/inh/d$um 0777 umask $um" "$(utool "${A[@]}" umask-mkdir "$b/d/inh/d$um" 0777 $um)"
		step "stat d/inh/d$um" "$(rtool stat "$b/d/inh/d$um")"
		step "acl d/inh/d$um" "$(acl "$b/d/inh/d$um")"
	done
	step "A mkfifo d/inh/p 0640" "$(urun "${A[@]}" mkfifo -m 0640 "$b/d/inh/p")"
	step "stat d/inh/p" "$(rtool stat "$b/d/inh/p")"
	step "acl d/inh/p" "$(acl "$b/d/inh/p")"
	step "A create d/inh/d022/g 0644 umask 077" "$(utool "${A[@]}" umask-create "$b/d/inh/d022/g" 0644 077)"
	step "stat d/inh/d022/g" "$(rtool stat "$b/d/inh/d022/g")"
	step "acl d/inh/d022/g" "$(acl "$b/d/inh/d022/g")"
	step "B pwrite d/inh/f022" "$(utool "${B[@]}" pwrite "$b/d/inh/f022" 0 4)"
	step "B pwrite d/inh/f077" "$(utool "${B[@]}" pwrite "$b/d/inh/f077" 0 4)"
	step "B create d/inh/d077/x" "$(utool "${B[@]}" create "$b/d/inh/d077/x" 0600)"

	# --- Without a default ACL the umask applies.
	for um in 022 027 077 002 0; do
		step "A create d/f$um 0666 umask $um" "$(utool "${A[@]}" umask-create "$b/d/f$um" 0666 $um)"
		step "stat d/f$um" "$(rtool stat "$b/d/f$um")"
		step "A mkdir d/d$um 0777 umask $um" "$(utool "${A[@]}" umask-mkdir "$b/d/d$um" 0777 $um)"
		step "stat d/d$um" "$(rtool stat "$b/d/d$um")"
	done
	step "A mkfifo d/p umask 027" "$(urun "${A[@]}" sh -c "umask 027; mkfifo '$b/d/p'")"
	step "stat d/p" "$(rtool stat "$b/d/p")"
}

scenario "$T/fs/control" >"$T/native.out"
scenario "$T/mp/dp" >"$T/dp.out"
scenario "$T/mp/ndp" >"$T/ndp.out"

check "control: u:B:--- denies B a 0644 file" \
	grep -qx 'B read d/deny-r: 1 EACCES' "$T/native.out"
check "control: u:B:r-- lets B read a 0600 file" \
	grep -qx 'B read d/allow-r: 0 ok' "$T/native.out"
check "control: u:B:r-- keeps B from writing a 0666 file" \
	grep -qx 'B open-rw d/deny-w: 1 EACCES' "$T/native.out"
check "control: g:G:r-- lets a member of G read" \
	grep -qx 'B+G read d/grp-r: 0 ok' "$T/native.out"
check "control: the default ACL wins over umask 077" \
	grep -q '^stat d/inh/f077: 0 reg 0660 ' "$T/native.out"
check "control: umask 027 without a default ACL" \
	grep -q '^stat d/f027: 0 reg 0640 ' "$T/native.out"
expect_same_transcript "default_permissions mount: ACLs and umask as on the backing filesystem" \
	"$T/native.out" "$T/dp.out"
expect_same_transcript "no_default_permissions mount: ACLs and umask as on the backing filesystem" \
	"$T/native.out" "$T/ndp.out"

PFS_PID=$NDP_PID PFS_LOG=$NDP_LOG pfs_umount "$T/mp/ndp"
PFS_PID=$DP_PID PFS_LOG=$DP_LOG pfs_umount "$T/mp/dp"
done_testing
