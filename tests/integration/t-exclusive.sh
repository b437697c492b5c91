#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# -o exclusive (nothing but the mount changes the backing tree) lets the
# kernel cache attributes and names, missing names too, for a day.  What the
# README promises about it, with the default mount as the control:
#  - default: a name created behind the mount is found at once (missing
#    names are not cached); exclusive: it stays missing (the documented
#    risk), but one created through the mount is found at once;
#  - exclusive: stat shows an old size after an append behind the mount,
#    but an open still reads the new data (the open compares the backing
#    file and drops the stale attributes and pages);
#  - allow_other,no_default_permissions: missing names are never cached,
#    exclusive or not (every walk is a lookup as its caller).
. "$(dirname "$0")/lib.sh"
require_root_fuse

B=$T/backing
M=$T/mnt
mkdir -p "$B"
head -c 4096 /dev/urandom >"$B/f"

# missing_then_created NAME: stat NAME through the mount (missing), create it
# behind the mount, stat again; prints the second stat's exit status.
missing_then_created()
{
	stat "$M/$1" >/dev/null 2>&1 && { echo "exists-before"; return; }
	: >"$B/$1"
	stat "$M/$1" >/dev/null 2>&1
	echo $?
}

# CONTROL: the default mount.
pfs_mount "$B" "$M" || done_testing
expect_eq "default: a name created behind the mount is found at once" \
	0 "$(missing_then_created n1)"
pfs_umount "$M"

pfs_mount "$B" "$M" -o exclusive || done_testing
expect_eq "exclusive: a name created behind the mount stays missing" \
	1 "$(missing_then_created n2)"
stat "$M/n3" >/dev/null 2>&1
: >"$M/n3"
check "exclusive: a name created through the mount is found at once" \
	stat "$M/n3"
cat "$M/f" >/dev/null
head -c 1000 /dev/urandom >>"$B/f"
expect_eq "exclusive: stat shows the cached size after an append behind" \
	4096 "$(stat -c %s "$M/f")"
expect_eq "exclusive: an open reads the appended data all the same" \
	"$(md5sum <"$B/f")" "$(md5sum <"$M/f")"
pfs_umount "$M"

pfs_mount "$B" "$M" -o exclusive,allow_other,no_default_permissions ||
	done_testing
expect_eq "exclusive,no_default_permissions: missing names are not cached" \
	0 "$(missing_then_created n4)"
pfs_umount "$M"

done_testing
