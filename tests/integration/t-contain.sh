#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-contain: nothing seen through the mount leads out of the backing tree
# by way of the daemon.  The daemon never resolves a path: every backing
# call is relative to an O_PATH descriptor, symlinks are returned as
# stored, and ".." is the kernel's business.
#
# Layout (T = the test's directory):
#   T/fs                 ext4 holding the backing directory
#   T/fs/backing         served at T/m1/m2/mnt
#   T/fs/canary          next to the backing directory: must stay out of
#                        reach of every path through the mount
#   T/fs/outside         same filesystem, outside the backing tree
#   T/outside/native     where backing/rel (-> ../../outside) leads natively
#   T/m1/outside/mount   where MNT/rel leads: the kernel resolves the
#                        stored target from the mount point
#   T/m1/m2/mp-marker    next to the mount point: what MNT/.. shows
#
# Checks, each with its native control on the backing directory:
#   symlinks       readlink through the mount gives the stored target
#                  (absolute, relative, "..", long); following one resolves
#                  like any symlink in the caller's namespace
#   ..             MNT/.., MNT/up (-> ..), MNT/sub/../.., cd MNT; cd ..
#                  lead to the mount point's parent, never to the backing
#                  directory's parent: no path reaches the canary
#   handles        open_by_handle_at() of a directory inside the mount, before
#                  and after drop_caches, and of one moved out of the
#                  backing tree: the same parents as by path, or ESTALE;
#                  never a path outside, and the daemon survives
#   EXDEV          rename and link across the mount boundary, both ways,
#                  even where the backing store is the same filesystem
#   race           a loop renames backing/a/d out of the tree (to
#                  fs/outside/d) and back while another creates, stats and
#                  makes directories through MNT/a/d and MNT/a/d/..: at the
#                  end nothing exists outside the backing tree that was not
#                  there before, and every name created is inside it.  The
#                  same loop on the backing directory itself is the control.
#                  The rename loop also counts the cycles in which the
#                  moved-out directory gained entries while it was outside
#                  ("grew", printed as info, not a failure: those entries
#                  come back with the directory).  Natively almost never;
#                  through the mount in most cycles, because the kernel keeps
#                  the dentry MNT/a/d for the entry timeout and the daemon
#                  creates relative to the directory's descriptor wherever
#                  the directory now is (with -o timeout=0 still in about
#                  one cycle of seven: lookup, then create, is not atomic).
. "$(dirname "$0")/lib.sh"
require_loop
require_tool
require_setpriv
umask 022

A=(1234 1234 "")
fs=$T/fs
mk_fs ext4 128M "$fs"
chmod 0755 "$T" "$fs"
mkdir -p "$fs/backing/sub" "$fs/backing/a/d" "$fs/outside" "$T/outside" \
	"$T/m1/outside" "$T/m1/m2" "$T/elsewhere"
echo canary >"$fs/canary"
echo native >"$T/outside/native"
echo mount >"$T/m1/outside/mount"
echo mp >"$T/m1/m2/mp-marker"
echo data >"$fs/backing/sub/f"
echo data >"$fs/backing/sub/g"
echo x >"$fs/outside/x"
echo y >"$T/elsewhere/y"
long=/$(printf 'component%.0s/' $(seq 100))end
ln -s /etc/passwd "$fs/backing/abs"
ln -s ../../outside "$fs/backing/rel"
ln -s .. "$fs/backing/up"
ln -s ../.. "$fs/backing/upup"
ln -s ../canary "$fs/backing/canary-link"
ln -s "$long" "$fs/backing/long"
chown -R 1234:1234 "$fs/backing/a"
chmod -R a+rwX "$fs/backing/sub"

MNT=$T/m1/m2/mnt
pfs_mount "$fs/backing" "$MNT" -o allow_other || done_testing

# Everything outside the backing tree (but the mount point, the image and
# the test's own files in T/work): type, mode, owner, size, and for files
# the modification time (directories' times change with the renames).
mkdir "$T/work"
outside_sig()
{
	find "$T" \( -path "$fs/backing" -o -path "$MNT" -o -path "$T/work" \
		-o -name '*.img' -o -name 'daemon.*.log' \) -prune -o \
		\( -type d -printf '%y %m %U:%G %p\n' \) -o \
		-printf '%y %m %U:%G %s %T@ %p\n' | LC_ALL=C sort
}
outside_sig >"$T/work/sig.before"

# --- Symlinks: stored targets come back unchanged.
for l in abs rel up upup canary-link long; do
	expect_eq "readlink $l through the mount = stored target" \
		"$(readlink "$fs/backing/$l")" "$(readlink "$MNT/$l")"
done
expect_eq "readlink abs as user A through the mount" "0 /etc/passwd" \
	"$(utool "${A[@]}" readlink "$MNT/abs")"
rtool symlink ../../../../../etc/shadow "$MNT/made" >/dev/null
expect_eq "a symlink made through the mount is stored as given" \
	../../../../../etc/shadow "$(readlink "$fs/backing/made")"
expect_eq "control: abs followed natively reads /etc/passwd" \
	"$(md5sum </etc/passwd)" "$(md5sum <"$fs/backing/abs")"
expect_eq "abs followed through the mount reads the caller's /etc/passwd" \
	"$(md5sum </etc/passwd)" "$(md5sum <"$MNT/abs")"
expect_eq "control: rel followed natively leads to T/outside" native \
	"$(cat "$fs/backing/rel/native" 2>&1)"
expect_eq "rel followed through the mount is resolved from the mount point (T/m1/outside)" \
	mount "$(cat "$MNT/rel/mount" 2>&1)"
check "rel through the mount does not reach T/outside" \
	test ! -e "$MNT/rel/native"
echo "info: MNT/rel -> ../../outside resolves to $(realpath "$MNT/rel"), backing/rel to $(realpath "$fs/backing/rel")"
expect_eq "control: canary-link followed natively reaches the canary" canary \
	"$(cat "$fs/backing/canary-link" 2>&1)"
expect_eq "canary-link followed through the mount does not" "1 ENOENT" \
	"$(rtool stat "$MNT/canary-link/")"
check "canary-link through the mount: cat fails" \
	bash -c "! cat '$MNT/canary-link' 2>/dev/null"

# --- "..": the mount point's parent, never the backing directory's.
expect_eq "control: the canary is next to the backing directory" "0 reg 0644 0 0 7" \
	"$(rtool stat "$fs/backing/../canary")"
expect_eq "control: backing/up/canary reaches it natively" "0 reg 0644 0 0 7" \
	"$(rtool stat "$fs/backing/up/canary")"
expect_eq "ls MNT/.. shows the mount point's parent" "mnt mp-marker" \
	"$(ls "$MNT/.." | tr '\n' ' ' | sed 's/ $//')"
expect_eq "ls MNT/up/ (up -> ..) shows the mount point's parent" "mnt mp-marker" \
	"$(ls "$MNT/up/" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "realpath MNT/sub/.. is the mount root" "$MNT" "$(realpath "$MNT/sub/..")"
expect_eq "cd MNT/sub; cd ../..: the mount point's parent" "$T/m1/m2" \
	"$(cd "$MNT/sub" && cd ../.. && pwd -P)"
for p in ../canary up/canary sub/../../canary upup/canary upup/fs/canary \
	sub/../up/canary up/up/canary; do
	expect_eq "stat MNT/$p fails (root)" "1 ENOENT" "$(rtool stat "$MNT/$p")"
done
expect_eq "stat MNT/../canary fails (user A)" "1 ENOENT" \
	"$(utool "${A[@]}" stat "$MNT/../canary")"
expect_eq "stat MNT/up/canary fails (user A)" "1 ENOENT" \
	"$(utool "${A[@]}" stat "$MNT/up/canary")"
expect_eq "MNT/upup leads to T/m1 (mount side), not T/fs's parent" \
	"$T/m1" "$(realpath "$MNT/upup")"
# A relative path from a directory opened inside the mount, as root and A.
expect_eq "from a cwd inside the mount, ../../mp-marker is the mount's neighbour" \
	mp "$(cd "$MNT/sub" && cat ../../mp-marker)"
expect_eq "from a cwd inside the mount, ../../canary is not reachable" \
	"1 ENOENT" "$(cd "$MNT/sub" && rtool stat ../../canary)"
expect_eq "user A: from a cwd inside the mount, ../../canary is not reachable" \
	"1 ENOENT" "$(cd "$MNT/sub" && utool "${A[@]}" stat ../../canary)"

# --- File handles: open_by_handle_at() after the kernel forgot the inodes
# makes the kernel ask the daemon for "." and ".." itself -- if the mount
# has FUSE export support; without it the handle is stale (ESTALE), which is
# a fine answer.  Either way: no path outside the mount, and the daemon
# survives handles of inodes it has forgotten.
mkdir -p "$fs/backing/sub/deep" "$fs/backing/a/e/deep"
want=". $MNT/sub/deep|.. $MNT/sub|../.. $MNT|../../.. $T/m1/m2|../../../canary ENOENT|../../canary ENOENT"
rels=(. .. ../.. ../../.. ../../../canary ../../canary)
expect_eq "by handle, inodes still known: the kernel's own parents" "$want" \
	"$("$PFS_TOOL" byhandle "$MNT/sub/deep" "$MNT" "${rels[@]}" | paste -sd'|')"
out=$("$PFS_TOOL" byhandle "$MNT/sub/deep" "$MNT" --drop "${rels[@]}" 2>/dev/null | paste -sd'|')
if [ "$out" = ESTALE ]; then
	echo "info: no FUSE export support: a handle of a forgotten inode is stale (ESTALE)"
else
	expect_eq "by handle after drop_caches (export support): the same parents" "$want" "$out"
fi
stat "$MNT/a/e/deep" >/dev/null
mv "$fs/backing/a/e" "$fs/outside/e"
out=$("$PFS_TOOL" byhandle "$MNT/a/e/deep" "$MNT" --drop "${rels[@]}" 2>/dev/null | paste -sd'|')
echo "info: handle of a directory moved out of the backing tree, after drop_caches: $out"
case $out in
ESTALE) echo "ok: the handle of a moved-out, forgotten directory is stale" ;;
*"$fs"*|*"$T/outside"*) fail "a handle leads outside the backing tree: $out" ;;
*canary\ /*) fail "a handle reaches the canary: $out" ;;
*) echo "ok: the handle of a moved-out directory leads nowhere outside ($out)" ;;
esac
mv "$fs/outside/e" "$fs/backing/a/e"
out=$(rtool stat "$MNT/a/e/deep")
expect_eq "the daemon still serves after the handle calls" "0 dir 0755 0 0" "${out% *}"

# --- EXDEV across the mount boundary, both ways.
expect_eq "control: rename within the backing filesystem works natively" "0 ok" \
	"$(rtool rename "$fs/outside/x" "$fs/backing/x-moved")"
rtool rename "$fs/backing/x-moved" "$fs/outside/x" >/dev/null
expect_eq "control: rename within the mount works" "0 ok" \
	"$(rtool rename "$MNT/sub/g" "$MNT/g-moved")"
expect_eq "control: link within the mount works" "0 ok" \
	"$(rtool link "$MNT/g-moved" "$MNT/sub/g-link")"
expect_eq "rename out of the mount (same backing filesystem)" "1 EXDEV" \
	"$(rtool rename "$MNT/sub/f" "$fs/outside/f")"
expect_eq "rename out of the mount (another filesystem)" "1 EXDEV" \
	"$(rtool rename "$MNT/sub/f" "$T/elsewhere/f")"
expect_eq "rename into the mount from the backing filesystem" "1 EXDEV" \
	"$(rtool rename "$fs/outside/x" "$MNT/x")"
expect_eq "rename into the mount from another filesystem" "1 EXDEV" \
	"$(rtool rename "$T/elsewhere/y" "$MNT/y")"
expect_eq "link out of the mount" "1 EXDEV" \
	"$(rtool link "$MNT/sub/f" "$fs/outside/f-link")"
expect_eq "link the canary into the mount" "1 EXDEV" \
	"$(rtool link "$fs/canary" "$MNT/canary")"
expect_eq "rename a directory out of the mount" "1 EXDEV" \
	"$(rtool rename "$MNT/sub" "$fs/outside/sub")"
expect_eq "rename through a symlink that leads out (MNT/rel/mount)" "1 EXDEV" \
	"$(rtool rename "$MNT/sub/f" "$MNT/rel/f")"
expect_eq "user A: rename out of the mount" "1 EXDEV" \
	"$(utool "${A[@]}" rename "$MNT/a/d" "$T/elsewhere/d")"
expect_eq "the file that failed to move is still in place" data "$(cat "$MNT/sub/f")"

# --- Race: the backing side renames a/d out of the tree and back, while
# creates and lookups run through a/d and a/d/.. .
race()
{
	local where=$1 who=$2 out rc
	local loop rrc
	if [ "$who" = A ]; then
		loop=(as_user "${A[@]}" "$PFS_TOOL" createloop "$where/a" 4)
	else
		loop=("$PFS_TOOL" createloop "$where/a" 4)
	fi
	"$PFS_TOOL" renameloop "$fs/backing/a/d" "$fs/outside/d" 4 >"$T/work/race.rename" &
	local rpid=$!
	out=$("${loop[@]}")
	rc=$?
	wait "$rpid"
	rrc=$?
	expect_eq "race ($where, $who): create loop ran" 0 "$rc"
	expect_eq "race ($where, $who): rename loop ran" 0 "$rrc"
	echo "info: race ($where, $who): create loop: $out; rename loop: $(cat "$T/work/race.rename")"
	RACE_CREATED=$(awk '{ print $4 }' <<<"$out")
}
# race_reset WHERE: delete the files a race created (a/gI, a/d/fI), through
# WHERE, so that the next race starts with the same free inodes: the create
# loops run until the 128M image has no inode left (ENOSPC), and a race
# that started on a full image could create nothing.  Through the mount,
# so that the kernel forgets the inodes and the daemon closes its
# descriptors (a delete behind the mount's back keeps them allocated).
race_reset()
{
	find "$1/a" -mindepth 1 -maxdepth 2 -type f \
		\( -name 'f[0-9]*' -o -name 'g[0-9]*' \) -delete
	echo "info: $(df -P -i "$fs" | awk 'NR == 2 { print $4 }') free inodes after the cleanup"
}
race "$fs/backing" A
native_created=$RACE_CREATED
race_reset "$fs/backing"
race "$MNT" A
created_a=$RACE_CREATED
check "the creates through a/d/.. landed in backing/a (user A)" \
	bash -c "ls '$fs/backing/a' | grep -q '^g[0-9]'"
race_reset "$MNT"
race "$MNT" root
check "control: the native race created files" test "${native_created:-0}" -gt 0
check "the race through the mount created files (user A)" test "${created_a:-0}" -gt 0
check "the race through the mount created files (root)" test "${RACE_CREATED:-0}" -gt 0
check "the renamed directory is back in the tree" test -d "$fs/backing/a/d"
expect_eq "nothing is left in T/fs/outside but x" x "$(ls -A "$fs/outside" | tr '\n' ' ' | sed 's/ $//')"
outside_sig >"$T/work/sig.after"
if diff -u --label before --label after "$T/work/sig.before" "$T/work/sig.after" >"$T/work/sig.diff"; then
	echo "ok: nothing outside the backing tree was created or changed"
else
	cat "$T/work/sig.diff" >&2
	fail "the tree outside the backing directory changed (diff above)"
fi
stray=$(find "$T" \( -path "$fs/backing" -o -path "$MNT" \) -prune -o \
	\( -name 'f[0-9]*' -o -name 'g[0-9]*' -o -name 'x[0-9]*' \) -print | head -5)
expect_eq "no name made by the create loops exists outside the backing tree" "" "$stray"
check "the creates through a/d/.. landed in backing/a (root)" \
	bash -c "ls '$fs/backing/a' | grep -q '^g[0-9]'"
expect_eq "the canary is unchanged" canary "$(cat "$fs/canary")"

pfs_umount "$MNT"
done_testing
