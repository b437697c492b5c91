#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what building and testing preallocfs needs, from Debian 12's apt.
# Does nothing when everything is already there.
set -eu

pkgs=(
	gcc libc6-dev pkg-config meson ninja-build	# build
	libfuse3-dev fuse3				# the daemon
	libcunit1-dev					# unit tests
	e2fsprogs xfsprogs btrfs-progs util-linux	# integration tests
	systemd						# systemd-analyze
	groff-base					# man page check
	sqlite3						# t-locks: a shared database
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
