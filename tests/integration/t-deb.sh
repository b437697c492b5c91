#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-deb: the Debian package, end to end, on this machine.
#   - dpkg-buildpackage -us -uc -b builds it from a copy of the source tree
#     (the files git tracks, plus subprojects/libfuse where deps.sh fetched
#     it): the work tree is left alone;
#   - lintian reports no error (E:) about it;
#   - apt-get installs the .deb (nothing is downloaded: fuse3 is there);
#   - mount(8) finds the installed helper (/sbin/mount.fuse.preallocfs, the
#     package's /usr/sbin file on a merged-/usr system), and
#     `mount -t fuse.preallocfs BACKING MOUNTPOINT` mounts with the
#     installed daemon: a growth is allocated, one that does not fit is
#     refused with ENOSPC and leaves the file empty;
#   - umount, then apt-get purge: every file the package shipped is gone,
#     and nothing of it is left under /etc.
# It installs system-wide, so it runs alone (meson.build); it never touches
# a preallocfs that was installed before it (package or not): then it skips.
. "$(dirname "$0")/lib.sh"
require_loop
for t in dpkg-buildpackage dh lintian apt-get git; do
	command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh)"
done
dpkg-query -W -f='${Status}' preallocfs 2>/dev/null | grep -q installed &&
	skip "a preallocfs package is installed already: not replacing it"
for f in /usr/sbin/preallocfs /usr/sbin/mount.preallocfs \
	/sbin/mount.preallocfs /sbin/mount.fuse.preallocfs; do
	[ -e "$f" ] && skip "$f exists (another install): not overwriting it"
done

SRC=$(cd "$PFS_SRCDIR/../.." && pwd)
[ -f "$SRC/debian/control" ] || skip "no debian/ directory in $SRC"
installed=false
M=$T/mnt

deb_cleanup()
{
	if mountpoint -q "$M" 2>/dev/null; then
		umount "$M" 2>/dev/null || umount -l "$M"
	fi
	if $installed; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq preallocfs \
			>/dev/null 2>&1
	fi
}
trap 'rc=$?; deb_cleanup; (exit $rc); _pfs_cleanup' EXIT

# --- Build, from a copy of the tree.
mkdir "$T/pkg" "$T/pkg/src"
git -C "$SRC" ls-files -z | (cd "$SRC" && xargs -0 cp --parents -t "$T/pkg/src")
[ -f "$SRC/subprojects/libfuse/meson.build" ] &&
	cp -a "$SRC/subprojects/libfuse" "$T/pkg/src/subprojects/"
(cd "$T/pkg/src" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || tail -n 30 "$T/build.log" >&2
expect_eq "dpkg-buildpackage -us -uc -b" 0 "$rc"
deb=$(ls "$T"/pkg/preallocfs_*.deb 2>/dev/null | head -n 1)
check "a .deb was built ($(basename "${deb:-none}"))" test -f "$deb"
[ -f "$deb" ] || done_testing
git -C "$SRC" status --porcelain --ignored=no -- debian >"$T/git-status"
check "the work tree's debian/ is untouched" test ! -s "$T/git-status"

# --- lintian: no errors.
lintian --tag-display-limit 0 "$T"/pkg/preallocfs_*.changes >"$T/lintian.log" 2>&1
sed 's/^/# lintian: /' "$T/lintian.log"
check "lintian: no error" bash -c "! grep -q '^E:' '$T/lintian.log'"

# --- What it ships: daemon, helpers, unit, man page, examples.
dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }' | sed 's|/$||' |
	grep . >"$T/files"
for f in /usr/sbin/preallocfs /usr/sbin/mount.preallocfs \
	/usr/sbin/mount.fuse.preallocfs /lib/systemd/system/preallocfs@.service \
	/usr/share/man/man8/preallocfs.8.gz \
	/usr/share/doc/preallocfs/examples/srv-app.mount; do
	check "ships $f" grep -qx "$f" "$T/files"
done
check "depends on fuse3" bash -c "dpkg-deb -f '$deb' Depends | grep -qw fuse3"

# --- Install.
# Nothing to download: its one dependency, fuse3, is installed.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" \
	>"$T/install.log" 2>&1
rc=$?
installed=true
[ "$rc" -eq 0 ] || cat "$T/install.log" >&2
expect_eq "apt-get install ./$(basename "$deb")" 0 "$rc"
[ "$rc" -eq 0 ] || done_testing
check "dpkg says installed" \
	bash -c "dpkg-query -W -f='\${Status}' preallocfs | grep -q 'install ok installed'"
expect_eq "mount(8) finds the package's helper" /usr/sbin/mount.preallocfs \
	"$(readlink -f /sbin/mount.fuse.preallocfs)"

# --- Mount with the installed helper and daemon.
mk_fs ext4 64M "$T/fs"
mkdir "$T/fs/backing" "$M"
mount -t fuse.preallocfs "$T/fs/backing" "$M"
expect_eq "mount -t fuse.preallocfs: exit status" 0 "$?"
check "mounted as fuse.preallocfs" \
	test -n "$(findmnt -rn -M "$M" -t fuse.preallocfs)"
pid=$(pgrep -nf "^/usr/sbin/preallocfs .*$M") || pid=
expect_eq "the daemon is the installed one" /usr/sbin/preallocfs \
	"$(readlink "/proc/${pid:-0}/exe" 2>/dev/null)"
: >"$M/f"
expect_tool "growth through the installed package" "0 ok" truncate "$M/f" 8M
expect_covered "the growth is allocated" "$T/fs/backing/f"
: >"$M/g"
expect_tool "a growth that does not fit: ENOSPC" "1 ENOSPC" truncate "$M/g" 1G
expect_eq "the refused file is unchanged" "0 0" "$(st_state "$T/fs/backing/g")"
umount "$M"
expect_eq "umount: exit status" 0 "$?"
for _ in $(seq 50); do kill -0 "${pid:-0}" 2>/dev/null || break; sleep 0.1; done
check "the daemon exited" bash -c "! kill -0 ${pid:-0} 2>/dev/null"

# --- Purge: nothing left behind.
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq preallocfs \
	>"$T/purge.log" 2>&1
expect_eq "apt-get purge preallocfs" 0 "$?"
installed=false
check "dpkg no longer knows it" \
	bash -c "! dpkg-query -W -f='\${Status}' preallocfs 2>/dev/null | grep -q installed"
left=$(while read -r f; do
	[ -d "$f" ] && continue	# directories (/lib is a link to usr/lib)
	[ -e "$f" ] || [ -L "$f" ] && echo "$f"
done <"$T/files")
expect_eq "every file it shipped is gone" "" "$left"
check "nothing in /etc" test ! -e /etc/preallocfs
check "its doc directory is gone" test ! -e /usr/share/doc/preallocfs

done_testing
