#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-users: on an allow_other mount (which turns on default_permissions),
# several ordinary users get exactly the ownership and the permission
# answers they get on the backing filesystem.
#
# The same scenario runs twice on one ext4 filesystem: in a plain directory
# (the control) and through preallocfs serving a sibling directory.  Every
# step prints one line, "step: STATUS RESULT" (an errno name, or the type,
# mode, owner, group and size of a stat); the two transcripts must be
# identical.  Users: A = 1234:1234, B = 1235:1235, group G = 5678 (given to
# A as a supplementary group with setpriv --groups where a step says AG).
#
#   ownership   files, dirs, fifos, symlinks made by A belong to 1234:1234;
#               in a setgid directory (2775, group G) new files get group G
#               and new directories inherit the setgid bit; a non-member's
#               setgid file in a setgid directory loses S_ISGID;
#               supplementary groups: a 0770 group-G directory is usable
#               with --groups=G and EACCES without.
#   denials     B against A's files and directories: open, truncate, chmod,
#               chown, utimes, unlink, rename, link, create, mkdir, rmdir,
#               setxattr; a sticky 1777 directory (rename/unlink/rmdir of
#               the other user's entries).
#   kill-priv   setuid/setgid bits cleared on write by a non-owner and by
#               the owner, kept on write by root, cleared on chown, as
#               natively.
#   nosuid      the mount carries nosuid (findmnt), and a setuid-root copy
#               of id(1) runs with the caller's euid through the mount,
#               while the same copy on the raw filesystem (the control)
#               runs as root.
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
umask 022

A=(1234 1234 "")
AG=(1234 1234 5678)
B=(1235 1235 "")
G=5678

mk_fs ext4 256M "$T/fs"
# Other users need to reach the filesystem and the mount point.
chmod 0755 "$T" "$T/fs"
mkdir -m 0755 "$T/fs/control" "$T/fs/backing" "$T/mp"
pfs_mount "$T/fs/backing" "$T/mp/mnt" -o allow_other || { done_testing; }
check "allow_other mount: default_permissions is on" \
	grep -q default_permissions <<<"$(findmnt -n -o OPTIONS -M "$T/mp/mnt")"

# step NAME RESULT: one transcript line.
step() { printf '%s: %s\n' "$1" "$2"; }

# The scenario; $1 is the base directory (control, or the mount).
scenario()
{
	local b=$1 f

	# --- Set-up by root (through the mount too: root's calls pass).
	step "root mkdir home-a" "$(rtool mkdir "$b/home-a" 0755)"
	step "root chown home-a A" "$(rtool chown "$b/home-a" 1234 1234)"
	step "root mkdir tmp" "$(rtool mkdir "$b/tmp" 0755)"
	step "root chmod tmp 1777" "$(rtool chmod "$b/tmp" 1777)"
	step "root mkdir sgid" "$(rtool mkdir "$b/sgid" 0755)"
	step "root chown sgid :G" "$(rtool chown "$b/sgid" 0 $G)"
	step "root chmod sgid 2775" "$(rtool chmod "$b/sgid" 2775)"
	step "root stat sgid" "$(rtool stat "$b/sgid")"
	step "root mkdir sgid-open" "$(rtool mkdir "$b/sgid-open" 0755)"
	step "root chown sgid-open :G" "$(rtool chown "$b/sgid-open" 0 $G)"
	step "root chmod sgid-open 2777" "$(rtool chmod "$b/sgid-open" 2777)"
	step "root mkdir grp" "$(rtool mkdir "$b/grp" 0755)"
	step "root chown grp :G" "$(rtool chown "$b/grp" 0 $G)"
	step "root chmod grp 0770" "$(rtool chmod "$b/grp" 0770)"

	# --- Ownership of what A creates.
	step "A create home-a/file" "$(utool "${A[@]}" create "$b/home-a/file" 0644)"
	step "A stat home-a/file" "$(utool "${A[@]}" stat "$b/home-a/file")"
	step "A mkdir home-a/dir" "$(utool "${A[@]}" mkdir "$b/home-a/dir" 0755)"
	step "A stat home-a/dir" "$(utool "${A[@]}" stat "$b/home-a/dir")"
	step "A mkfifo home-a/fifo" "$(utool "${A[@]}" mkfifo "$b/home-a/fifo" 0644)"
	step "A stat home-a/fifo" "$(utool "${A[@]}" stat "$b/home-a/fifo")"
	step "A symlink home-a/link" "$(utool "${A[@]}" symlink file "$b/home-a/link")"
	step "A stat home-a/link" "$(utool "${A[@]}" stat "$b/home-a/link")"
	step "A mkdir home-a/dir/sub" "$(utool "${A[@]}" mkdir "$b/home-a/dir/sub" 0700)"
	step "A stat home-a/dir/sub" "$(utool "${A[@]}" stat "$b/home-a/dir/sub")"
	step "root stat home-a/file" "$(rtool stat "$b/home-a/file")"

	# --- Setgid directory: group G and the setgid bit are inherited.
	step "A(no G) create sgid/x" "$(utool "${A[@]}" create "$b/sgid/x" 0644)"
	step "AG create sgid/file" "$(utool "${AG[@]}" create "$b/sgid/file" 0644)"
	step "AG stat sgid/file" "$(utool "${AG[@]}" stat "$b/sgid/file")"
	step "AG mkdir sgid/dir" "$(utool "${AG[@]}" mkdir "$b/sgid/dir" 0755)"
	step "AG stat sgid/dir" "$(utool "${AG[@]}" stat "$b/sgid/dir")"
	step "AG mkdir sgid/dir/deeper" "$(utool "${AG[@]}" mkdir "$b/sgid/dir/deeper" 0750)"
	step "AG stat sgid/dir/deeper" "$(utool "${AG[@]}" stat "$b/sgid/dir/deeper")"
	step "AG mkfifo sgid/fifo" "$(utool "${AG[@]}" mkfifo "$b/sgid/fifo" 0600)"
	step "AG stat sgid/fifo" "$(utool "${AG[@]}" stat "$b/sgid/fifo")"
	step "AG symlink sgid/link" "$(utool "${AG[@]}" symlink file "$b/sgid/link")"
	step "AG stat sgid/link" "$(utool "${AG[@]}" stat "$b/sgid/link")"
	step "AG create sgid/gx 2755" "$(utool "${AG[@]}" create "$b/sgid/gx" 2755)"
	step "AG stat sgid/gx" "$(utool "${AG[@]}" stat "$b/sgid/gx")"
	# Not a member of G: a setgid file made in G's setgid dir loses S_ISGID.
	step "A(no G) create sgid-open/gx 2755" "$(utool "${A[@]}" create "$b/sgid-open/gx" 2755)"
	step "A(no G) stat sgid-open/gx" "$(utool "${A[@]}" stat "$b/sgid-open/gx")"
	step "A(no G) mkdir sgid-open/d" "$(utool "${A[@]}" mkdir "$b/sgid-open/d" 0755)"
	step "A(no G) stat sgid-open/d" "$(utool "${A[@]}" stat "$b/sgid-open/d")"

	# --- Supplementary groups: the 0770 group-G directory.
	step "AG create grp/f" "$(utool "${AG[@]}" create "$b/grp/f" 0640)"
	step "AG stat grp/f" "$(utool "${AG[@]}" stat "$b/grp/f")"
	step "A(no G) create grp/g" "$(utool "${A[@]}" create "$b/grp/g" 0640)"
	step "A(no G) stat grp/f" "$(utool "${A[@]}" stat "$b/grp/f")"
	step "A(no G) mkdir grp/d" "$(utool "${A[@]}" mkdir "$b/grp/d" 0755)"
	step "B(+G) stat grp/f" "$(utool 1235 1235 $G stat "$b/grp/f")"
	step "B(+G) open-rw grp/f" "$(utool 1235 1235 $G open-rw "$b/grp/f")"
	step "B(+G) open grp/f rdonly" "$(utool 1235 1235 $G open "$b/grp/f" rdonly)"
	step "B(+G) rename grp/f grp/f2" "$(utool 1235 1235 $G rename "$b/grp/f" "$b/grp/f2")"
	step "B(+G) unlink grp/f2" "$(utool 1235 1235 $G unlink "$b/grp/f2")"
	step "A chgrp home-a/file G without G" "$(utool "${A[@]}" chown "$b/home-a/file" -1 $G)"
	step "AG chgrp home-a/file G" "$(utool "${AG[@]}" chown "$b/home-a/file" -1 $G)"
	step "AG stat home-a/file" "$(utool "${AG[@]}" stat "$b/home-a/file")"
	step "AG chown home-a/file to B" "$(utool "${AG[@]}" chown "$b/home-a/file" 1235 -1)"

	# --- B against A's files and directories.
	step "A pwrite home-a/f" "$(utool "${A[@]}" pwrite "$b/home-a/f" 0 100)"
	step "A create home-a/priv 0600" "$(utool "${A[@]}" create "$b/home-a/priv" 0600)"
	step "B stat home-a/f" "$(utool "${B[@]}" stat "$b/home-a/f")"
	step "B open home-a/f rdonly" "$(utool "${B[@]}" open "$b/home-a/f" rdonly)"
	step "B open-rw home-a/f" "$(utool "${B[@]}" open-rw "$b/home-a/f")"
	step "B open home-a/f wronly,trunc" "$(utool "${B[@]}" open "$b/home-a/f" wronly,trunc)"
	step "B open home-a/priv rdonly" "$(utool "${B[@]}" open "$b/home-a/priv" rdonly)"
	step "B truncate home-a/f 0" "$(utool "${B[@]}" truncate "$b/home-a/f" 0)"
	step "B truncate home-a/f 1M" "$(utool "${B[@]}" truncate "$b/home-a/f" 1M)"
	step "B chmod home-a/f" "$(utool "${B[@]}" chmod "$b/home-a/f" 0666)"
	step "B chown home-a/f to B" "$(utool "${B[@]}" chown "$b/home-a/f" 1235 -1)"
	step "B chgrp home-a/f to B" "$(utool "${B[@]}" chown "$b/home-a/f" -1 1235)"
	step "B chown home-a/f no-op" "$(utool "${B[@]}" chown "$b/home-a/f" -1 -1)"
	step "B utimes home-a/f now" "$(utool "${B[@]}" utimes "$b/home-a/f" now)"
	step "B utimes home-a/f explicit" "$(utool "${B[@]}" utimes "$b/home-a/f" 1000000)"
	step "B setxattr home-a/f" "$(utool "${B[@]}" setxattr "$b/home-a/f" user.x 8)"
	step "B unlink home-a/f" "$(utool "${B[@]}" unlink "$b/home-a/f")"
	step "B rename home-a/f" "$(utool "${B[@]}" rename "$b/home-a/f" "$b/home-a/g")"
	step "B rename home-a/f out" "$(utool "${B[@]}" rename "$b/home-a/f" "$b/tmp/stolen")"
	step "B link home-a/f" "$(utool "${B[@]}" link "$b/home-a/f" "$b/tmp/hl")"
	step "B link home-a/priv" "$(utool "${B[@]}" link "$b/home-a/priv" "$b/tmp/hl2")"
	step "B create home-a/new" "$(utool "${B[@]}" create "$b/home-a/new" 0644)"
	step "B mkdir home-a/newdir" "$(utool "${B[@]}" mkdir "$b/home-a/newdir" 0755)"
	step "B mkfifo home-a/newfifo" "$(utool "${B[@]}" mkfifo "$b/home-a/newfifo" 0644)"
	step "B symlink home-a/newlink" "$(utool "${B[@]}" symlink x "$b/home-a/newlink")"
	step "B rmdir home-a/dir/sub" "$(utool "${B[@]}" rmdir "$b/home-a/dir/sub")"
	step "B stat home-a/dir/sub/x" "$(utool "${B[@]}" stat "$b/home-a/dir/sub/x")"
	step "B chmod home-a" "$(utool "${B[@]}" chmod "$b/home-a" 0777)"
	step "A chmod home-a 0700" "$(utool "${A[@]}" chmod "$b/home-a" 0700)"
	step "B stat home-a/f (dir 0700)" "$(utool "${B[@]}" stat "$b/home-a/f")"
	step "B open home-a/f (dir 0700)" "$(utool "${B[@]}" open "$b/home-a/f" rdonly)"
	step "A chmod home-a 0755" "$(utool "${A[@]}" chmod "$b/home-a" 0755)"
	step "A stat home-a/f after B" "$(utool "${A[@]}" stat "$b/home-a/f")"
	# A world-writable file of A's: B may write it and set "now", no more.
	step "A create home-a/ww" "$(utool "${A[@]}" create "$b/home-a/ww" 0644)"
	step "A chmod home-a/ww 0666" "$(utool "${A[@]}" chmod "$b/home-a/ww" 0666)"
	step "B pwrite home-a/ww" "$(utool "${B[@]}" pwrite "$b/home-a/ww" 0 10)"
	step "B truncate home-a/ww 4" "$(utool "${B[@]}" truncate "$b/home-a/ww" 4)"
	step "B utimes home-a/ww now" "$(utool "${B[@]}" utimes "$b/home-a/ww" now)"
	step "B utimes home-a/ww explicit" "$(utool "${B[@]}" utimes "$b/home-a/ww" 1000000)"
	step "B chmod home-a/ww" "$(utool "${B[@]}" chmod "$b/home-a/ww" 0600)"
	step "B stat home-a/ww" "$(utool "${B[@]}" stat "$b/home-a/ww")"

	# --- Sticky 1777 directory.
	step "A create tmp/a" "$(utool "${A[@]}" create "$b/tmp/a" 0644)"
	step "A chmod tmp/a 0666" "$(utool "${A[@]}" chmod "$b/tmp/a" 0666)"
	step "A mkdir tmp/ad" "$(utool "${A[@]}" mkdir "$b/tmp/ad" 0755)"
	step "B create tmp/b" "$(utool "${B[@]}" create "$b/tmp/b" 0644)"
	step "B stat tmp/b" "$(utool "${B[@]}" stat "$b/tmp/b")"
	step "B unlink tmp/a" "$(utool "${B[@]}" unlink "$b/tmp/a")"
	step "B rename tmp/a tmp/c" "$(utool "${B[@]}" rename "$b/tmp/a" "$b/tmp/c")"
	step "B rename tmp/b over tmp/a" "$(utool "${B[@]}" rename "$b/tmp/b" "$b/tmp/a")"
	step "B rmdir tmp/ad" "$(utool "${B[@]}" rmdir "$b/tmp/ad")"
	step "B rename tmp/ad" "$(utool "${B[@]}" rename "$b/tmp/ad" "$b/tmp/bd")"
	step "B create in tmp/ad" "$(utool "${B[@]}" create "$b/tmp/ad/mine" 0644)"
	step "B pwrite tmp/a" "$(utool "${B[@]}" pwrite "$b/tmp/a" 0 3)"
	step "A unlink tmp/b" "$(utool "${A[@]}" unlink "$b/tmp/b")"
	step "A rename tmp/b tmp/c" "$(utool "${A[@]}" rename "$b/tmp/b" "$b/tmp/c")"
	step "B rename tmp/b tmp/b2" "$(utool "${B[@]}" rename "$b/tmp/b" "$b/tmp/b2")"
	step "B unlink tmp/b2" "$(utool "${B[@]}" unlink "$b/tmp/b2")"
	step "A stat tmp/a" "$(utool "${A[@]}" stat "$b/tmp/a")"
	step "root unlink tmp/a" "$(rtool unlink "$b/tmp/a")"

	# --- setuid/setgid cleared on write and chown.
	for f in s-other s-owner s-root s-chgrp s-chown-root s-trunc s-otrunc \
		s-falloc s-copy s-append; do
		step "A pwrite home-a/$f" "$(utool "${A[@]}" pwrite "$b/home-a/$f" 0 8)"
		step "A chmod home-a/$f 6777" "$(utool "${A[@]}" chmod "$b/home-a/$f" 6777)"
	done
	step "A stat home-a/s-other" "$(utool "${A[@]}" stat "$b/home-a/s-other")"
	step "B pwrite home-a/s-other" "$(utool "${B[@]}" pwrite "$b/home-a/s-other" 0 5)"
	step "B stat home-a/s-other" "$(utool "${B[@]}" stat "$b/home-a/s-other")"
	step "A pwrite home-a/s-owner" "$(utool "${A[@]}" pwrite "$b/home-a/s-owner" 0 5)"
	step "A stat home-a/s-owner" "$(utool "${A[@]}" stat "$b/home-a/s-owner")"
	step "root pwrite home-a/s-root" "$(rtool pwrite "$b/home-a/s-root" 0 5)"
	step "root stat home-a/s-root" "$(rtool stat "$b/home-a/s-root")"
	step "B truncate home-a/s-trunc 2" "$(utool "${B[@]}" truncate "$b/home-a/s-trunc" 2)"
	step "B stat home-a/s-trunc" "$(utool "${B[@]}" stat "$b/home-a/s-trunc")"
	step "B open home-a/s-otrunc wronly,trunc" "$(utool "${B[@]}" open "$b/home-a/s-otrunc" wronly,trunc)"
	step "B stat home-a/s-otrunc" "$(utool "${B[@]}" stat "$b/home-a/s-otrunc")"
	step "B fallocate home-a/s-falloc 64K" "$(utool "${B[@]}" fallocate "$b/home-a/s-falloc" 0 0 64K)"
	step "B stat home-a/s-falloc" "$(utool "${B[@]}" stat "$b/home-a/s-falloc")"
	step "B copy_file_range into home-a/s-copy" "$(utool "${B[@]}" copyrange "$b/home-a/ww" "$b/home-a/s-copy" 0 4)"
	step "B stat home-a/s-copy" "$(utool "${B[@]}" stat "$b/home-a/s-copy")"
	step "B append home-a/s-append" "$(utool "${B[@]}" append "$b/home-a/s-append" 4)"
	step "B stat home-a/s-append" "$(utool "${B[@]}" stat "$b/home-a/s-append")"
	step "AG chgrp home-a/s-chgrp G" "$(utool "${AG[@]}" chown "$b/home-a/s-chgrp" -1 $G)"
	step "A stat home-a/s-chgrp" "$(utool "${A[@]}" stat "$b/home-a/s-chgrp")"
	step "root chown home-a/s-chown-root B" "$(rtool chown "$b/home-a/s-chown-root" 1235 1235)"
	step "root stat home-a/s-chown-root" "$(rtool stat "$b/home-a/s-chown-root")"
}

scenario "$T/fs/control" >"$T/native.out"
scenario "$T/mp/mnt" >"$T/mount.out"
# The control must really be the scenario described above: a few anchors.
check "control: A's file belongs to 1234:1234" \
	grep -q '^A stat home-a/dir: 0 dir 0755 1234 1234 ' "$T/native.out"
check "control: setgid dir gives group G and S_ISGID" \
	grep -q '^AG stat sgid/dir: 0 dir 2755 1234 5678 ' "$T/native.out"
check "control: B cannot open A's file for writing" \
	grep -qx 'B open-rw home-a/f: 1 EACCES' "$T/native.out"
check "control: sticky dir protects A's file from B" \
	grep -qx 'B unlink tmp/a: 1 EPERM' "$T/native.out"
check "control: B's write clears A's setuid/setgid bits" \
	grep -qx 'B stat home-a/s-other: 0 reg 0777 1234 1234 8' "$T/native.out"
expect_same_transcript "ownership and permission answers through the mount" \
	"$T/native.out" "$T/mount.out"

# A call that failed through the mount must have left its file as it was
# (the daemon may not change a file and then report an error).
for f in s-other s-trunc s-otrunc s-falloc s-copy s-append; do
	res=$(grep "^B [a-z_]* .*home-a/$f[ :]" "$T/mount.out" | head -1 | sed 's/^.*: //')
	if [ "$res" != "0 ok" ]; then
		expect_eq "B's call on home-a/$f failed through the mount ($res): the backing file is unchanged" \
			"6777 8" "$(stat -c '%a %s' "$T/fs/backing/home-a/$f")"
	fi
done

# The backing directory holds what the control holds, owners and modes
# included (what the daemon did on the backing store, seen from outside).
tree()
{
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%p %y %m %U:%G\n' \) -o \
		-printf '%p %y %m %U:%G %s\n' | LC_ALL=C sort)
}
tree "$T/fs/control" >"$T/native.tree"
tree "$T/fs/backing" >"$T/backing.tree"
expect_same_transcript "backing tree (owner, group, mode, size) equals the control tree" \
	"$T/native.tree" "$T/backing.tree"

# --- nosuid: a setuid-root binary gives no privilege through the mount.
opts=$(findmnt -n -o OPTIONS -M "$T/mp/mnt")
echo "mount options: $opts"
check "the mount carries nosuid" grep -qw nosuid <<<"${opts//,/ }"
check "the mount carries nodev" grep -qw nodev <<<"${opts//,/ }"
idbin=$(command -v id)
for d in "$T/fs/control" "$T/mp/mnt"; do
	cp "$idbin" "$d/id-suid" && chown 0:0 "$d/id-suid" && chmod 4755 "$d/id-suid"
done
expect_eq "setuid bit stored through the mount" "4755 0:0" \
	"$(stat -c '%a %u:%g' "$T/mp/mnt/id-suid")"
expect_eq "control: setuid-root id on the raw filesystem runs as euid 0" 0 \
	"$(as_user "${A[@]}" "$T/fs/control/id-suid" -u)"
expect_eq "setuid-root id through the mount runs as the caller (nosuid)" 1234 \
	"$(as_user "${A[@]}" "$T/mp/mnt/id-suid" -u)"
# A setuid copy made on the backing store behind the mount's back: same.
cp "$idbin" "$T/fs/backing/id-suid2" && chmod 4755 "$T/fs/backing/id-suid2"
expect_eq "setuid-root id made on the backing store, run through the mount" \
	1234 "$(as_user "${A[@]}" "$T/mp/mnt/id-suid2" -u)"

pfs_umount "$T/mp/mnt"
done_testing
