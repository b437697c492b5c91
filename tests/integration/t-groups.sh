#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-groups: the caller's supplementary groups reach the backing filesystem
# whole, however many there are, and a caller whose groups the daemon cannot
# know is reported.
#
#   many groups  a caller in 300 supplementary groups, of which only the
#                last (the 300th) opens a 0770 directory and a 0640 file:
#                create, read, write, list and mkdir through an allow_other
#                mount and an allow_other,no_default_permissions mount give
#                the control's answers (the daemon used to pass on the first
#                256 groups only).
#   PID namespace a daemon started in a PID namespace of its own sees its
#                callers from outside with pid 0, so it cannot read their
#                groups: it says so once in its log (it used to drop them
#                silently), and a caller's request still works where it
#                does not need those groups.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
umask 022

LAST=5299
GROUPS300=$(seq -s, 5000 $LAST)
A=(1234 1234 "$GROUPS300")

mk_fs ext4 64M "$T/fs"
chmod 0755 "$T" "$T/fs"
mkdir -m 0755 "$T/fs/control" "$T/fs/back-dp" "$T/fs/back-ndp" "$T/mp"
pfs_mount "$T/fs/back-dp" "$T/mp/dp" -o allow_other || done_testing
DP_PID=$PFS_PID DP_LOG=$PFS_LOG
pfs_mount "$T/fs/back-ndp" "$T/mp/ndp" -o allow_other,no_default_permissions ||
	done_testing
NDP_PID=$PFS_PID NDP_LOG=$PFS_LOG

step() { printf '%s: %s\n' "$1" "$2"; }

scenario()
{
	local b=$1

	step "root mkdir g 0770" "$(rtool mkdir "$b/g" 0770)"
	step "root chown g :LAST" "$(rtool chown "$b/g" 0 $LAST)"
	step "root chmod g 0770" "$(rtool chmod "$b/g" 0770)"
	step "root create g/f 0640" "$(rtool create "$b/g/f" 0640)"
	step "root chown g/f :LAST" "$(rtool chown "$b/g/f" 0 $LAST)"
	step "root create gf 0660" "$(rtool create "$b/gf" 0660)"
	step "root chown gf :LAST" "$(rtool chown "$b/gf" 0 $LAST)"
	step "root chmod gf 0660" "$(rtool chmod "$b/gf" 0660)"
	step "A300 ls g" "$(utool "${A[@]}" ls "$b/g")"
	step "A300 read g/f" "$(utool "${A[@]}" read "$b/g/f")"
	step "A300 access g/f r" "$(utool "${A[@]}" access "$b/g/f" r)"
	step "A300 create g/mine" "$(utool "${A[@]}" create "$b/g/mine" 0644)"
	step "A300 stat g/mine" "$(utool "${A[@]}" stat "$b/g/mine")"
	step "A300 mkdir g/sub" "$(utool "${A[@]}" mkdir "$b/g/sub" 0755)"
	step "A300 open-rw gf" "$(utool "${A[@]}" open-rw "$b/gf")"
	step "A300 truncate gf 1M" "$(utool "${A[@]}" truncate "$b/gf" 1M)"
	step "A300 chown g/mine :LAST" "$(utool "${A[@]}" chown "$b/g/mine" -1 $LAST)"
	step "A300 stat g/mine again" "$(utool "${A[@]}" stat "$b/g/mine")"
	step "A(none) ls g" "$(utool 1234 1234 "" ls "$b/g")"
	step "A(none) create g/x" "$(utool 1234 1234 "" create "$b/g/x" 0644)"
}

scenario "$T/fs/control" >"$T/native.out"
scenario "$T/mp/dp" >"$T/dp.out"
scenario "$T/mp/ndp" >"$T/ndp.out"
check "control: the 300th group opens the directory" \
	grep -qx 'A300 create g/mine: 0 ok' "$T/native.out"
expect_same_transcript "300 groups through a default_permissions mount" \
	"$T/native.out" "$T/dp.out"
expect_same_transcript "300 groups through a no_default_permissions mount" \
	"$T/native.out" "$T/ndp.out"
PFS_PID=$NDP_PID PFS_LOG=$NDP_LOG pfs_umount "$T/mp/ndp"
PFS_PID=$DP_PID PFS_LOG=$DP_LOG pfs_umount "$T/mp/dp"

# --- A daemon in a PID namespace of its own: its callers have pid 0.
mkdir -m 0755 "$T/fs/back-ns"
pfs_mount_under unshare --pid --fork --kill-child -- "$T/fs/back-ns" "$T/mp/ns" \
	-o allow_other || done_testing
rtool mkdir "$T/mp/ns/d" 0777 >/dev/null
rtool chmod "$T/mp/ns/d" 0777 >/dev/null
for i in 1 2 3; do
	expect_eq "caller from outside the namespace ($i): create" "0 ok" \
		"$(utool 1234 1234 5678 create "$T/mp/ns/d/f$i" 0644)"
done
expect_eq "the file belongs to the caller" "0 reg 0644 1234 1234 0" \
	"$(rtool stat "$T/mp/ns/d/f1")"
expect_eq "the daemon says once that it cannot know the callers' groups" 1 \
	"$(grep -c 'PID namespace' "$PFS_LOG")"
grep 'PID namespace' "$PFS_LOG"
pfs_umount "$T/mp/ns"
done_testing
