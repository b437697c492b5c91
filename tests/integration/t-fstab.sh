#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-fstab: mount(8) mounts preallocfs through the installed helpers, from
# the command line and from an fstab, with the options fstab and systemd
# use.
#
# mount(8) looks for mount.<type> only in /sbin, and the helper runs the
# daemon by its installed path, so the test runs in a private mount
# namespace where the staged install ($T/stage) is laid over the real
# directories (read-only overlays) and /run/mount (utab) is private:
# nothing on the machine changes.
#
#   - `mount -t fuse.preallocfs` and `mount -t preallocfs`: findmnt shows
#     BACKING as the source and fuse.preallocfs as the type, the options
#     reach the daemon (allow_other -> default_permissions), the daemon is
#     the installed one, and growth past the free space of a small ext4 is
#     refused with ENOSPC (the raw ext4 takes it: it really is preallocfs);
#   - an fstab (mount -T) with defaults,nofail,_netdev,noauto,
#     x-systemd.requires-mounts-for=: `mount DIR` and `mount -a` (which
#     skips noauto and, run again, mounts nothing twice);
#   - `umount DIR` ends the daemon (the process is gone);
#   - an unknown option: a clear error naming it, nothing mounted, no
#     process left; mount -f (fake) mounts nothing;
#   - mount -N: the mount is made in another namespace, not in ours.
. "$(dirname "$0")/deploy.sh"
enter_private_ns "$0" "$@"
. "$(dirname "$0")/lib.sh"
deploy_init
require_loop

stage_install || done_testing
show_staged "$PFS_HELPER_DIR" "$(dirname "$PFS_DAEMON_PATH")" || done_testing
check "mount.fuse.preallocfs visible in $PFS_HELPER_DIR" \
	test -x "$PFS_HELPER_DIR/mount.fuse.preallocfs"
check "mount.preallocfs visible in $PFS_HELPER_DIR" \
	test -x "$PFS_HELPER_DIR/mount.preallocfs"
# mount(8) tries /sbin/mount.fuse.preallocfs, then /sbin/mount.fuse, and only
# then /sbin/fs.d and /sbin/fs: with the helpers elsewhere, fuse3's generic
# mount.fuse takes -t fuse.preallocfs and runs "preallocfs" from PATH.
FUSE_ARGV0=$PFS_DAEMON_PATH
if [ "$(realpath "$PFS_HELPER_DIR")" != "$(realpath /sbin)" ] &&
   [ -e /sbin/mount.fuse ]; then
	echo "# helpers in $PFS_HELPER_DIR: /sbin/mount.fuse handles -t fuse.preallocfs"
	FUSE_ARGV0=preallocfs
fi
check "staged daemon visible at $PFS_DAEMON_PATH" \
	cmp -s "$STAGE$PFS_DAEMON_PATH" "$PFS_DAEMON_PATH"

B=$T/backing
mk_fs ext4 32M "$B"
echo "from the backing side" >"$B/hello.txt"

# expect_ours DESC MOUNTPOINT [ARGV0]: mounted by preallocfs from $B,
# served by the installed daemon (run as ARGV0, by default its installed
# path); sets PID.
expect_ours()
{
	local what=$1 m=$2 argv0=
	expect_eq "$what: findmnt source and type" "$B fuse.preallocfs" \
		"$(findmnt -rn -M "$m" -o SOURCE,FSTYPE)"
	PID=$(daemon_of "$m")
	expect_eq "$what: one daemon serves it" 1 "$(wc -w <<<"$PID")"
	[ -n "$PID" ] &&
		argv0=$(tr '\0' '\n' <"/proc/${PID%% *}/cmdline" 2>/dev/null | head -n 1)
	expect_eq "$what: daemon is the installed one" "${3:-$PFS_DAEMON_PATH}" "$argv0"
}

# expect_enospc DESC MOUNTPOINT: growth past the free space is refused,
# growth that fits is allocated, existing files read back.
expect_enospc()
{
	local what=$1 m=$2 out rc
	expect_eq "$what: existing file through the mount" \
		"from the backing side" "$(cat "$m/hello.txt" 2>&1)"
	out=$(truncate -s 1G "$m/big" 2>&1)
	rc=$?
	case $rc:$out in
	1:*"No space left on device"*) echo "ok: $what: truncate -s 1G: ENOSPC" ;;
	*) fail "$what: truncate -s 1G: expected ENOSPC, got rc $rc: $out" ;;
	esac
	expect_eq "$what: refused file unchanged on the backing side" 0 \
		"$(size "$B/big")"
	check "$what: truncate -s 4M fits" truncate -s 4M "$m/big"
	expect_covered "$what: 4M allocated on the backing side" "$B/big"
	rm -f "$m/big"
}

# expect_umount DESC MOUNTPOINT PID: umount ends the daemon.
expect_umount()
{
	local what=$1 m=$2 pid=$3
	check "$what: umount" umount "$m"
	check "$what: nothing mounted any more" \
		test -z "$(findmnt -rn -M "$m" -t fuse.preallocfs)"
	if wait_gone "$pid" 10; then
		echo "ok: $what: daemon $pid exited after umount"
	else
		fail "$what: daemon $pid still running 10 s after umount"
	fi
}

# CONTROL: the raw ext4 takes a 1G truncate (sparse) without a word.
check "raw ext4 accepts truncate -s 1G (the hazard)" truncate -s 1G "$B/raw"
rm -f "$B/raw"

# ---- mount -t fuse.preallocfs, with fstab and systemd words ---------------
M=$T/m-fuse
mkdir -p "$M"
check "mount -t fuse.preallocfs" mount -t fuse.preallocfs "$B" "$M" \
	-o allow_other,timeout=2,defaults,nofail,_netdev,x-systemd.requires-mounts-for=/x
expect_ours "-t fuse.preallocfs" "$M" "$FUSE_ARGV0"
opts=$(findmnt -rn -M "$M" -o OPTIONS)
check "-t fuse.preallocfs: allow_other reached the daemon ($opts)" \
	grep -q 'allow_other' <<<"$opts"
check "-t fuse.preallocfs: default_permissions turned on with it" \
	grep -q 'default_permissions' <<<"$opts"
expect_enospc "-t fuse.preallocfs" "$M"
expect_umount "-t fuse.preallocfs" "$M" "$PID"

# ---- mount -t preallocfs, no options --------------------------------------
M=$T/m-plain
mkdir -p "$M"
check "mount -t preallocfs" mount -t preallocfs "$B" "$M"
expect_ours "-t preallocfs" "$M"
expect_enospc "-t preallocfs" "$M"
expect_umount "-t preallocfs" "$M" "$PID"

# ---- fstab ----------------------------------------------------------------
M1=$T/m-fstab-noauto
M2=$T/m-fstab-auto
mkdir -p "$M1" "$M2"
cat >"$T/fstab" <<EOF
# backing  mountpoint  type  options  dump  pass
$B $M1 fuse.preallocfs defaults,nofail,_netdev,x-systemd.requires-mounts-for=/x,noauto 0 0
$B $M2 preallocfs defaults,nofail,x-systemd.after=network-online.target,timeout=1 0 0
EOF
check "mount -T fstab DIR (noauto entry, fuse.preallocfs)" mount -T "$T/fstab" "$M1"
expect_ours "fstab noauto entry" "$M1" "$FUSE_ARGV0"
expect_enospc "fstab noauto entry" "$M1"
check "mount -T fstab -a" mount -T "$T/fstab" -a
expect_ours "fstab auto entry (preallocfs)" "$M2"
check "mount -T fstab -a again" mount -T "$T/fstab" -a
expect_eq "mount -a again: still one daemon per mount point" "1 1" \
	"$(daemon_of "$M1" | wc -w) $(daemon_of "$M2" | wc -w)"
expect_eq "mount -a again: still one mount per mount point" "1 1" \
	"$(findmnt -rn -M "$M1" | wc -l) $(findmnt -rn -M "$M2" | wc -l)"
P1=$(daemon_of "$M1")
P2=$(daemon_of "$M2")
expect_umount "fstab noauto entry" "$M1" "$P1"
expect_umount "fstab auto entry" "$M2" "$P2"
check "mount -a skips the noauto entry" sh -c \
	'mount -T "$1" -a && ! mountpoint -q "$2" && mountpoint -q "$3"' - \
	"$T/fstab" "$M1" "$M2"
P2=$(daemon_of "$M2")
expect_umount "fstab auto entry, second time" "$M2" "$P2"

# ---- bad option, fake mount -----------------------------------------------
M=$T/m-bad
mkdir -p "$M"
out=$(mount -t fuse.preallocfs "$B" "$M" -o allow_other,no_such_option 2>&1)
rc=$?
check "unknown option: mount fails (rc $rc)" test "$rc" -ne 0
check "unknown option: the error names it ($out)" grep -q 'no_such_option' <<<"$out"
check "unknown option: nothing mounted" test -z "$(findmnt -rn -M "$M")"
expect_eq "unknown option: no daemon left" "" "$(daemon_of "$M")"

check "mount -f (fake) succeeds" mount -f -t preallocfs "$B" "$M"
check "mount -f mounts nothing" test -z "$(findmnt -rn -M "$M")"
expect_eq "mount -f starts no daemon" "" "$(daemon_of "$M")"

# ---- mount -N: into another mount namespace --------------------------------
M=$T/m-ns
mkdir -p "$M"
unshare --mount --propagation private sleep 600 &
NSPID=$!
for _ in $(seq 50); do
	[ "$(readlink "/proc/$NSPID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
	sleep 0.1
done
check "mount -N into another namespace" \
	mount -N "/proc/$NSPID/ns/mnt" -t preallocfs "$B" "$M"
expect_eq "mount -N: mounted there" "$B fuse.preallocfs" \
	"$(findmnt -N "$NSPID" -rn -M "$M" -o SOURCE,FSTYPE)"
check "mount -N: not here" test -z "$(findmnt -rn -M "$M")"
PID=$(daemon_of "$M")
check "mount -N: daemon lives in that namespace" test \
	"$(readlink "/proc/${PID%% *}/ns/mnt")" = "$(readlink "/proc/$NSPID/ns/mnt")"
check "mount -N: umount -N" umount -N "/proc/$NSPID/ns/mnt" "$M"
if wait_gone "$PID" 10; then
	echo "ok: mount -N: daemon exited after umount"
else
	fail "mount -N: daemon still running after umount"
fi
kill "$NSPID" 2>/dev/null
wait "$NSPID" 2>/dev/null

expect_eq "no daemon left under \$T" "" "$(procs_under_t)"
done_testing
