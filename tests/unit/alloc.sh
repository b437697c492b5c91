#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# unit-alloc: the allocation-engine unit suite (tests/unit/test_alloc.c)
# counts holes with FIEMAP, which tmpfs lacks.  As root it runs on a 512 MiB
# ext4 image made for it (lib.sh's mk_fs, cleaned up on every path);
# otherwise in PFS_UNIT_TMPDIR, TMPDIR or /var/tmp, where the suite itself
# skips (exit 77) without FIEMAP.  A skip is a failure under CI=true.
#
# Environment: PFS_UNIT the pfs-unit runner to use (plain, ASan or TSan
# build); PFS_BIN as lib.sh wants it.
. "$(dirname "$0")/../integration/lib.sh"
PFS_UNIT=${PFS_UNIT:?PFS_UNIT must point at the pfs-unit runner}

if [ "$(id -u)" -eq 0 ] && losetup -f >/dev/null 2>&1; then
	mk_fs ext4 512M "$T/fs"
	export PFS_UNIT_TMPDIR=$T/fs
	echo "alloc suite on ext4 at $PFS_UNIT_TMPDIR"
else
	echo "not root: the alloc suite runs in ${PFS_UNIT_TMPDIR:-${TMPDIR:-/var/tmp}}"
fi
"$PFS_UNIT" alloc
rc=$?
[ "$rc" -eq 77 ] && skip "the alloc suite had no filesystem with FIEMAP"
exit "$rc"
