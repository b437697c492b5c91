#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Observability: a refused growth shows up in the daemon's log (path inside
# the mount, size, errno, free space) and in the live counters; a loop of
# refusals is rate-limited; --check describes a backing store without
# mounting; --stats reads the counters of a running mount.
. "$(dirname "$0")/lib.sh"
require_loop

mk_fs ext4 128M "$T/ext4"
mkdir "$T/ext4/data"
pfs_mount "$T/ext4/data" "$T/mnt"

# Control: counters start at zero.
out=$("$PFS_BIN" --stats "$T/mnt")
expect_eq "fresh mount: no refusals" "refused_enospc 0" \
	"$(grep refused_enospc <<<"$out")"

# One growth that fits, fifteen that do not.
truncate -s 8M "$T/mnt/fits"
mkdir "$T/mnt/dir"
for i in $(seq 15); do
	truncate -s 1G "$T/mnt/dir/big$i" 2>/dev/null &&
		fail "1G truncate $i was accepted"
done
out=$("$PFS_BIN" --stats "$T/mnt")
echo "$out"
expect_eq "growths counted" "growths 1" "$(grep '^growths' <<<"$out")"
expect_eq "bytes counted" "bytes_allocated 8388608" \
	"$(grep '^bytes_allocated' <<<"$out")"
expect_eq "refusals counted" "refused_enospc 15" \
	"$(grep '^refused_enospc' <<<"$out")"
expect_eq "suppressed log lines counted" "log_suppressed 5" \
	"$(grep '^log_suppressed' <<<"$out")"
# The same counters through the attribute, as any tool reads them.
expect_eq "counters as an xattr of the mount root" "refused_enospc 15" \
	"$(getfattr --only-values -n user.preallocfs.stats "$T/mnt" | grep refused_enospc)"
check "the counters attribute cannot be written" \
	bash -c "! setfattr -n user.preallocfs.stats -v x '$T/mnt' 2>/dev/null"

pfs_umount "$T/mnt"

# The log: one line per refusal, at most 10 a minute, with the details.
lines=$(grep -c 'refused growth of' "$PFS_LOG")
expect_eq "refusal log lines are rate-limited" 10 "$lines"
check "the line names the path inside the mount, size and errno" \
	grep -Eq 'refused growth of /dir/big1 to 1073741824 bytes \(\+1073741824\): No space left on device; [0-9]+ bytes free' "$PFS_LOG"

# --check, without mounting, on each kind of backing store.
out=$("$PFS_BIN" --check "$T/ext4/data")
echo "$out"
check "--check ext4: fallocate works" grep -q '^fallocate: *works' <<<"$out"
check "--check ext4: full guarantee" grep -q '^guarantee: *full' <<<"$out"
check "--check ext4: ext4 reserve reported" grep -q 'kept back by ext4' <<<"$out"
check "--check mounts nothing" bash -c "! findmnt -rn -t fuse.preallocfs | grep -q '$T'"

mk_fs tmpfs 64m "$T/tmpfs"
out=$("$PFS_BIN" --check "$T/tmpfs")
check "--check tmpfs: full guarantee" grep -q '^guarantee: *full' <<<"$out"

mk_fs ext2 64M "$T/ext2"
out=$("$PFS_BIN" --check "$T/ext2")
echo "$out"
check "--check ext2: no fallocate" grep -q '^fallocate: *not supported' <<<"$out"
check "--check ext2: full, by writing zeros" \
	grep -q '^guarantee: *full, by writing zeros' <<<"$out"
out=$("$PFS_BIN" --check -o fallback=refuse "$T/ext2")
check "--check ext2 with fallback=refuse: no guarantee" \
	grep -q '^guarantee: *none' <<<"$out"

if command -v mkfs.btrfs >/dev/null; then
	mk_fs btrfs 256M "$T/btrfs"
	out=$("$PFS_BIN" --check "$T/btrfs")
	check "--check btrfs: copy-on-write" grep -q '^copy-on-write: *yes' <<<"$out"
	check "--check btrfs: refused without allow_cow" \
		grep -q '^guarantee: *none: copy-on-write' <<<"$out"
	out=$("$PFS_BIN" --check -o allow_cow "$T/btrfs")
	check "--check btrfs with allow_cow: partial guarantee" \
		grep -q '^guarantee: *partial' <<<"$out"
fi

# Bad input: one line, non-zero status.
err=$("$PFS_BIN" --check "$T/missing" 2>&1)
check "--check of a missing dir fails" test $? -ne 0
expect_eq "--check error is one line" 1 "$(wc -l <<<"$err")"
"$PFS_BIN" --stats "$T" >/dev/null 2>&1 &&
	fail "--stats of a plain directory succeeded"

done_testing
