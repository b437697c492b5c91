#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what building and testing preallocfs needs, from Debian 12's apt,
# and make sure libfuse >= 3.17 is at hand (see fetch_libfuse below),
# then check that every command the build, the tests, scripts/ and bench/
# run is really there.  Does nothing when everything is already there.
#
# Every command a test or script runs must appear in the table below, with
# the Debian package that provides it: a fresh machine has only the
# "required" packages, not even all of "important" or "standard".
# On failure it prints one line naming each missing command and its
# package, and exits 1.
set -eu
cd "$(dirname "$0")/.."

# "COMMAND PACKAGE" pairs; "-" as the command for a package with no command
# (libraries, headers), which is checked with dpkg instead.
deps=(
	# build
	"gcc gcc"			"- libc6-dev"
	"pkg-config pkg-config"		"meson meson"
	"ninja ninja-build"
	# the daemon
	"- libfuse3-dev"		"fusermount3 fuse3"
	# the bundled libfuse source (fetch_libfuse)
	"dpkg-source dpkg-dev"		"- debian-archive-keyring"
	"patch patch"
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
	"setcap libcap2-bin"		"getcap libcap2-bin"	# t-killpriv
	"strace strace"			# t-write-cost
	# t-deb: the Debian package
	"dpkg-buildpackage dpkg-dev"	"dh debhelper"
	"lintian lintian"		"git git"
	"systemd-analyze systemd"	"systemd-escape systemd"
	"groff groff-base"		# man page check
	# bench/bench.sh (cc: bench/benchop.c), tests' helpers
	"cc gcc"			"python3 python3"
	"sqlite3 sqlite3"		# t-locks: a shared database
	"mergerfs mergerfs"		"bindfs bindfs"	# bench/bench.sh: the peers
	"fincore util-linux"		# t-cache
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

# libfuse >= 3.17 (FUSE passthrough, 64-bit capability flags...).  Debian 13,
# Fedora and Arch ship it; Debian 12 has 3.14.  Then Debian 13's own fuse3
# source package is fetched once, with Debian's patches applied, into
# subprojects/libfuse (ignored by git), and meson builds it there as a static
# subproject of every build directory (meson.build, -Dlibfuse=).
LIBFUSE_MIN=3.17
LIBFUSE_DIR=subprojects/libfuse
LIBFUSE_SUITE=${PFS_LIBFUSE_SUITE:-trixie}
DEBIAN_MIRROR=${PFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

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

# fetch_libfuse: unless the system's fuse3 is new enough or the source is
# already there, download the fuse3 source package of $LIBFUSE_SUITE with a
# private apt configuration (its own sources.list, lists and cache in a
# temporary directory: the system's apt sources and state are not touched;
# apt checks the files against the suite's signed Release file), unpack it
# with Debian's patches (dpkg-source -x), and apply ours: as a subproject,
# libfuse installs nothing and runs the system's /usr/bin/fusermount3.
fetch_libfuse()
{
	local tmp apt log patch=subprojects/packagefiles/libfuse-subproject.patch
	local stamp=$LIBFUSE_DIR/.preallocfs-ready patch_id
	# PFS_FETCH_LIBFUSE=1: fetch even so (for meson -Dlibfuse=bundled).
	[ "${PFS_FETCH_LIBFUSE:-0}" != 1 ] &&
		pkg-config --atleast-version="$LIBFUSE_MIN" fuse3 2>/dev/null &&
		return 0
	# The stamp names the Debian version and our patch: a changed patch
	# fetches again.
	patch_id=$(sha256sum <"$patch" | cut -c1-16)
	[ -f "$stamp" ] && [ "$(cut -d' ' -f2 "$stamp")" = "$patch_id" ] && return 0

	echo "deps: fetching libfuse >= $LIBFUSE_MIN (fuse3 source of Debian $LIBFUSE_SUITE) into $LIBFUSE_DIR"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: $tmp is local
	trap "rm -rf '$tmp'" EXIT
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src" \
		"$tmp/unpack"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $LIBFUSE_SUITE main" \
		>"$tmp/sources.list"
	# apt downloads as the unprivileged _apt user when it can reach the
	# directory; otherwise it warns and downloads as root.
	if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
		chmod 755 "$tmp"
		chown -R _apt "$tmp/lists" "$tmp/cache" "$tmp/src"
	fi
	apt=(apt-get -q
		-o "Dir::Etc::SourceList=$tmp/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$tmp/lists"
		-o "Dir::Cache=$tmp/cache")
	log=$tmp/log
	if ! "${apt[@]}" update >"$log" 2>&1 ||
	   ! (cd "$tmp/src" && "${apt[@]}" source --download-only fuse3) >>"$log" 2>&1; then
		cat "$log" >&2
		echo "deps: cannot download the fuse3 source package from $DEBIAN_MIRROR $LIBFUSE_SUITE" >&2
		exit 1
	fi
	# The .dsc's own OpenPGP signature cannot be checked without
	# debian-keyring (a warning in the log); apt has checked its hash.
	if ! dpkg-source -x "$tmp"/src/fuse3_*.dsc "$tmp/unpack/libfuse" >>"$log" 2>&1 ||
	   ! patch -d "$tmp/unpack/libfuse" -p1 -s --no-backup-if-mismatch \
		<"$patch" >>"$log" 2>&1; then
		cat "$log" >&2
		echo "deps: cannot unpack and patch the fuse3 source package" >&2
		exit 1
	fi
	echo "$(sed -n '1s/^fuse3 (\([^)]*\)).*/\1/p' \
		"$tmp/unpack/libfuse/debian/changelog") $patch_id" \
		>"$tmp/unpack/libfuse/.preallocfs-ready"
	rm -rf "$LIBFUSE_DIR"
	mv "$tmp/unpack/libfuse" "$LIBFUSE_DIR"
	echo "deps: libfuse $(cut -d' ' -f1 "$stamp") ready in $LIBFUSE_DIR"
	rm -rf "$tmp"
	trap - EXIT
}

fetch_libfuse

# Installed is not enough: check that each command answers from PATH.
mapfile -t absent < <(missing_commands)
if [ ${#absent[@]} -gt 0 ]; then
	echo "deps: missing after install: $(IFS=,; echo "${absent[*]}" | sed 's/,/, /g')" >&2
	exit 1
fi
exit 0
