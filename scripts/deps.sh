#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what building and testing preallocfs needs, from Debian 12's apt,
# then check that every command the build, the tests, scripts/ and bench/
# run is really there.  Does nothing when everything is already there.
#
# Every command a test or script runs must appear in the table below, with
# the Debian package that provides it: a fresh machine has only the
# "required" packages, not even all of "important" or "standard".
# On failure it prints one line naming each missing command and its
# package, and exits 1.
set -eu

# "COMMAND PACKAGE" pairs; "-" as the command for a package with no command
# (libraries, headers), which is checked with dpkg instead.
deps=(
	# build
	"gcc gcc"			"- libc6-dev"
	"pkg-config pkg-config"		"meson meson"
	"ninja ninja-build"
	# the daemon
	"- libfuse3-dev"		"fusermount3 fuse3"
	# unit tests
	"- libcunit1-dev"
	# static analysis in the test command (scripts/test.sh)
	"cppcheck cppcheck"		"clang-tidy clang-tidy"
	# integration tests: filesystems, mounts, users, limits
	"mkfs.ext4 e2fsprogs"		"tune2fs e2fsprogs"
	"mkfs.xfs xfsprogs"		"xfs_io xfsprogs"
	"xfs_quota xfsprogs"
	"mkfs.btrfs btrfs-progs"
	"mount mount"			"umount mount"
	"losetup mount"
	"findmnt util-linux"		"mountpoint util-linux"
	"setpriv util-linux"		"unshare util-linux"
	"nsenter util-linux"		"prlimit util-linux"
	"fsfreeze util-linux"		"fallocate util-linux"
	"cmp diffutils"
	"pgrep procps"			"ps procps"
	"modprobe kmod"
	"setquota quota"		# t-quota
	"getfattr attr"			"setfattr attr"	# t-observe
	"getfacl acl"			"setfacl acl"	# ACL tests
	"systemd-analyze systemd"	"systemd-escape systemd"
	"groff groff-base"		# man page check
	# bench/bench.sh
	"bc bc"				"python3 python3"
)

# Words that look like commands to a scan but are not: size (lib.sh's
# st_size helper, not binutils' size).

# The sbin directories hold mkfs.*, losetup, modprobe...
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

installed()
{
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# missing_commands: "COMMAND (package PKG)" for each entry that is absent.
missing_commands()
{
	local e cmd pkg
	for e in "${deps[@]}"; do
		read -r cmd pkg <<<"$e"
		if [ "$cmd" = - ]; then
			installed "$pkg" || echo "$pkg (package $pkg)"
		else
			command -v "$cmd" >/dev/null 2>&1 || echo "$cmd (package $pkg)"
		fi
	done
}

missing_packages()
{
	local e cmd pkg
	for e in "${deps[@]}"; do
		read -r cmd pkg <<<"$e"
		installed "$pkg" || echo "$pkg"
	done | sort -u
}

mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || { echo "deps: apt-get update failed" >&2; exit 1; }
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ echo "deps: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi

# Installed is not enough: check that each command answers from PATH.
mapfile -t absent < <(missing_commands)
if [ ${#absent[@]} -gt 0 ]; then
	echo "deps: missing after install: $(IFS=,; echo "${absent[*]}" | sed 's/,/, /g')" >&2
	exit 1
fi
exit 0
