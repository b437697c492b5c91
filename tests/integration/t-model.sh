#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-model: pfs_model (tests/integration/pfs_model.c) drives one file with a
# seeded random mix of writes, mapped stores, truncates up and down,
# fallocate modes, punch, zero-range, copy_file_range and close/reopen,
# and compares the file and a mapping of it with an in-memory model after
# every step.
#   1. control: the run on a raw ext4 image matches the model (this checks
#      the model itself);
#   2. the same run (same seed) through preallocfs matches it too, and
#      after every step the backing file has no hole inside its size
#      (FIEMAP): no later mapped store can fail for lack of space;
#   3. disk full, on ext4, tmpfs and XFS with about 3 MiB free: the run
#      through preallocfs, then every page of the file stored through a
#      mapping (--sweep): every refused call (ENOSPC) left the file
#      unchanged, no store died, and after unmounting (and remounting the
#      image) the file on disk is exactly the model;
#      control: the same on the raw filesystem dies of SIGBUS.
#
# Environment:
#   PFS_MODEL_SEED   the seed (default: from the clock; printed, so a
#                    failure can be replayed with it)
#   PFS_MODEL_OPS    operations for steps 1-3 (default 1000)
#   PFS_MODEL_LONG   1: also the long run, 1,000,000 operations through
#                    preallocfs (whole-file comparison every 1000 steps,
#                    the touched range at each); minutes, not in the
#                    default test command
. "$(dirname "$0")/lib.sh"
require_loop
[ -x "${PFS_MODEL:-}" ] || skip "pfs_model not built: '${PFS_MODEL:-}'"

seed=${PFS_MODEL_SEED:-$(( $(date +%s) % 1000000 ))}
ops=${PFS_MODEL_OPS:-1000}
echo "seed $seed (replay: PFS_MODEL_SEED=$seed meson test t-model)"

# model DESCRIPTION EXPECTED-STATUS pfs_model-ARGS...: run it, compare
# its exit status, show its output.
model()
{
	local what=$1 want=$2 out rc
	shift 2
	out=$("$PFS_MODEL" --seed "$seed" "$@" 2>"$T/model.err")
	rc=$?
	echo "$what: $(echo "$out" | tail -n 1)"
	[ -s "$T/model.err" ] && sed 's/^/  /' "$T/model.err"
	expect_eq "$what: exit status" "$want" "$rc"
	MODEL_OUT=$out
}

# --- 1, 2: a roomy filesystem, raw and through preallocfs.
mk_fs ext4 64M "$T/raw"
mk_fs ext4 64M "$T/fs"
mkdir "$T/fs/b"
model "control: raw ext4" 0 --ops "$ops" "$T/raw/f"
pfs_mount "$T/fs/b" "$T/mnt" || done_testing
model "through preallocfs" 0 --ops "$ops" --backing "$T/fs/b/f" "$T/mnt/f"
if [ "${PFS_MODEL_LONG:-0}" = 1 ]; then
	start=$(date +%s)
	model "long run through preallocfs" 0 --ops 1000000 \
		--full-every 1000 --backing "$T/fs/b/long" "$T/mnt/long"
	echo "long run: $(( $(date +%s) - start )) s"
fi
pfs_umount "$T/mnt"

# --- 3: disk full, on ext4, XFS and tmpfs.  The filesystem keeps room
# for the copy source (8 MiB, written first) and about 3 MiB more; the
# file may grow to 8 MiB.
# fill_to_3m DIR: a preallocated filler leaves 11 MiB free.
fill_to_3m()
{
	local free
	sync -f "$1"
	free=$(free_kib "$1")
	fallocate -l "$(( (free - 11 * 1024) ))K" "$1/filler" ||
		fail "fallocate a filler in $1"
	echo "$1: $(free_kib "$1") KiB free"
}

# disk_full TYPE SIZE
disk_full()
{
	local type=$1 size=$2 raw=$T/raw-$1 bk=$T/full-$1 mnt=$T/mnt-$1
	local backing=() refused

	mk_fs "$type" "$size" "$raw"
	mk_fs "$type" "$size" "$bk"
	mkdir "$bk/b"
	fill_to_3m "$raw"
	fill_to_3m "$bk"
	# tmpfs has no FIEMAP: its holes are checked by the sweep alone.
	[ "$type" != tmpfs ] && backing=(--backing "$bk/b/f")

	model "$type disk full, raw (control)" 3 --ops "$ops" --max-size 8M \
		--sweep "$raw/f"
	check "$type control: the raw run died of SIGBUS (a mapped access, disk full)" \
		grep -q '^SIGBUS' <<<"$MODEL_OUT"

	pfs_mount "$bk/b" "$mnt" || return
	model "$type disk full, through preallocfs" 0 --ops "$ops" \
		--max-size 8M --sweep --dump "$T/model.$type" "${backing[@]}" \
		"$mnt/f"
	read -r _ _ _ _ _ refused _ <<<"$(tail -n 1 <<<"$MODEL_OUT")"
	check "$type disk full: some calls were refused ($refused)" \
		test "${refused:-0}" -gt 0
	pfs_umount "$mnt"
	# Remount the image: what is compared comes from the disk.
	if [ "$type" != tmpfs ]; then
		umount "$bk" && mount "${_pfs_loops[-1]}" "$bk" ||
			fail "remount the $type image"
	fi
	check "$type disk full: after unmount the file is the model" \
		cmp "$T/model.$type" "$bk/b/f"
}
disk_full ext4 32M
disk_full tmpfs 24M
# On XFS a ZERO_RANGE (and a punch, which preallocfs turns into one) frees
# the range before it allocates it again: refused on a full disk, it left a
# hole inside the file (seed 99, step 643, before the daemon zeroed XFS
# ranges by writing over their blocks: pfs_caps.zero_frees).
disk_full xfs 300M
done_testing
