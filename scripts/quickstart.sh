#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the dependencies, build, install preallocfs under /usr/local and
# mount a demo (or BACKING at MOUNTPOINT).
#
# usage: sudo scripts/quickstart.sh [BACKING MOUNTPOINT]
set -eu
cd "$(dirname "$0")/.."

scripts/deps.sh
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build --prefix=/usr/local >/dev/null
else
	meson setup build --prefix=/usr/local >/dev/null
fi
ninja -C build >/dev/null
meson install -C build --quiet

backing=${1:-/var/tmp/preallocfs-demo/backing}
mnt=${2:-/var/tmp/preallocfs-demo/mnt}
mkdir -p "$backing" "$mnt"
if findmnt -rn -M "$mnt" >/dev/null; then
	echo "$mnt is already mounted:"
else
	/usr/local/sbin/preallocfs "$backing" "$mnt"
	echo "mounted $backing at $mnt:"
fi
findmnt -M "$mnt"
cat <<MSG

Try it:
  truncate -s 64M $mnt/file     # allocated at once: du -h $backing/file
  truncate -s 10T $mnt/huge     # more than the disk holds: ENOSPC now, instead of a SIGBUS later
Unmount with:
  umount $mnt
MSG
