#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-posix: through preallocfs, POSIX operations behave exactly like on the
# backing filesystem.
#
# On each filesystem (ext4, tmpfs, and xfs when available) posix_smoke runs
# once in a plain directory (the control) and once through a preallocfs mount
# of a sibling directory; the two transcripts must be identical, apart from
# the lines posix_smoke marks "~ " (holes left by writes past EOF, which
# preallocfs fills on purpose, and optional FUSE features).  Afterwards the
# trees left behind in the control and the backing directory must match, and
# while mounted, statfs/df through the mount must equal the backing
# filesystem's.
#
# The mount uses -o allow_other: posix_smoke checks permissions as uid 1234.

. "$(dirname "$0")/lib.sh"

require_loop
SMOKE=${PFS_SMOKE:-}
[ -n "$SMOKE" ] && [ -x "$SMOKE" ] ||
	skip "posix_smoke not built (PFS_SMOKE='$SMOKE')"

# tree_sig DIR: owner, mode, type, link count and size of everything under
# DIR (but the size of directories, and the 10,000-entry "big"), and the
# contents of the regular files.
tree_sig()
{
	(
		cd "$1" || exit 1
		find . -path ./big -prune -o -type d -printf '%y %m %n %U %G %p\n' \
			-o -type l -printf '%y %m %n %U %G %s %p -> %l\n' \
			-o -printf '%y %m %n %U %G %s %p\n' | cut -c 1-200 | LC_ALL=C sort
		find . -path ./big -prune -o -type f -print0 | LC_ALL=C sort -z |
			xargs -0 -r md5sum
		find ./big -printf '%y %m %n %U %G %p\n' | LC_ALL=C sort | md5sum
	)
}

# statfs_sig DIR: the statfs numbers that must pass through unchanged.
statfs_sig()
{
	stat -f -c 'bsize=%s frsize=%S blocks=%b bfree=%f bavail=%a files=%c ffree=%d namemax=%l' "$1"
}

df_sig()
{
	df -P -k "$1" | awk 'NR == 2 { print "total=" $2, "used=" $3, "avail=" $4, "use=" $5 }'
}

# same_as_backing WHAT FUNC BACKING MNT: FUNC's output through the mount must
# equal the backing's.  Free counts can move in the background (ext4 lazy
# init, journal commits), so the mount's reading must sit between two equal
# backing readings; retry a few times.
same_as_backing()
{
	local what=$1 func=$2 backing=$3 mnt=$4 b1 m b2

	for _ in 1 2 3 4 5; do
		sync -f "$backing" 2>/dev/null
		b1=$($func "$backing")
		m=$($func "$mnt")
		b2=$($func "$backing")
		[ "$b1" = "$b2" ] && [ "$m" = "$b1" ] && break
		sleep 0.2
	done
	if [ "$b1" != "$b2" ]; then
		fail "$what: backing filesystem numbers kept changing ($b1 / $b2)"
		return
	fi
	expect_eq "$what through the mount equal the backing filesystem's" "$b1" "$m"
}

run_on()
{
	local type=$1 size=$2
	local fs=$T/fs-$type mnt=$T/mnt-$type out=$T/out-$type rc

	mk_fs "$type" "$size" "$fs"
	mkdir "$fs/control" "$fs/backing" || { fail "$type: mkdir"; return; }
	# punch_hole=allow: this is a parity test of the passthrough, and its
	# hole is made with PUNCH_HOLE, which the default punch_hole=zero
	# turns into zeroing (t-punch tests that rule).
	pfs_mount "$fs/backing" "$mnt" -o allow_other,punch_hole=allow || return

	"$SMOKE" "$fs/control" >"$out.control" 2>"$out.control.err"
	rc=$?
	expect_eq "$type: posix_smoke in the control directory exits 0" 0 "$rc"
	[ -s "$out.control.err" ] && cat "$out.control.err" >&2

	"$SMOKE" "$mnt" >"$out.pfs" 2>"$out.pfs.err"
	rc=$?
	expect_eq "$type: posix_smoke through preallocfs exits 0" 0 "$rc"
	[ -s "$out.pfs.err" ] && cat "$out.pfs.err" >&2

	check "$type: control transcript is complete" \
		grep -q '^final xa/none: ' "$out.control"
	grep -v '^~ ' "$out.control" >"$out.control.cmp"
	grep -v '^~ ' "$out.pfs" >"$out.pfs.cmp"
	if diff -u --label "$type control" --label "$type preallocfs" \
		"$out.control.cmp" "$out.pfs.cmp" >"$out.diff"; then
		echo "ok: $type: transcripts are identical ($(wc -l <"$out.pfs.cmp") lines)"
	else
		cat "$out.diff" >&2
		fail "$type: transcript through preallocfs differs from the control (diff above)"
	fi
	# Informational lines: show the differences, never fail on them.
	diff <(grep '^~ ' "$out.control") <(grep '^~ ' "$out.pfs") |
		sed -n "s/^\([<>]\) /info: $type: \1 /p"

	same_as_backing "$type: statfs numbers" statfs_sig "$fs/backing" "$mnt"
	same_as_backing "$type: df numbers" df_sig "$fs/backing" "$mnt"

	pfs_umount "$mnt"

	# What the daemon left in the backing directory is what the same steps
	# leave in a plain directory.
	tree_sig "$fs/control" >"$out.tree.control"
	tree_sig "$fs/backing" >"$out.tree.backing"
	if diff -u --label "$type control tree" --label "$type backing tree" \
		"$out.tree.control" "$out.tree.backing" >"$out.tree.diff"; then
		echo "ok: $type: backing tree matches the control tree"
	else
		cat "$out.tree.diff" >&2
		fail "$type: backing tree differs from the control tree (diff above)"
	fi
}

run_on ext4 512M
run_on tmpfs 512M
if command -v mkfs.xfs >/dev/null &&
	{ grep -qw xfs /proc/filesystems || modprobe -q xfs 2>/dev/null; }; then
	run_on xfs 512M
else
	echo "note: xfs not available, only ext4 and tmpfs"
fi

done_testing
