# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the deployment tests (t-install, t-fstab, t-systemd).
#
#   . "$(dirname "$0")/deploy.sh"
#   enter_private_ns "$0" "$@"	# only for tests that need one
#   . "$(dirname "$0")/lib.sh"
#   deploy_init
#
# They install the build under test with `meson install --destdir` into
# $T/stage and never outside $T.  Where the installed files must be at
# their real paths (mount(8) looks for helpers only in /sbin, the helper
# runs the daemon by its absolute path, systemd-analyze checks that
# ExecStart= exists), the test runs in a private mount namespace and lays
# the staged directories over the real ones with read-only overlays: the
# machine itself never sees them.
#
# Environment (set by tests/integration/meson.build):
#   PFS_BUILDDIR      the build directory to install from
#   PFS_DAEMON_PATH   where the daemon is installed
#   PFS_HELPER_DIR    where the mount helpers are installed
#   PFS_UNIT_DIR      where preallocfs@.service is installed ('' if not)
#   PFS_MAN_PATH      where preallocfs.8 is installed ('' if not)
#   PFS_EXAMPLE_DIR   where the example units go
#   PFS_SYSCONF_DIR   where preallocfs@.service reads <instance>.conf

# enter_private_ns SCRIPT ARGS...: re-run SCRIPT in a private mount
# namespace (nothing mounted there propagates out).  Call it before lib.sh
# (which makes $T); when it cannot, it returns with PFS_NS_SKIP set to the
# reason and deploy_init skips.
enter_private_ns()
{
	local script=$1
	shift
	[ "${PFS_PRIVATE_NS:-}" = 1 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		PFS_NS_SKIP="must run as root (private mount namespace, mounts)"
		return 0
	fi
	if ! unshare --mount --propagation private true 2>/dev/null; then
		PFS_NS_SKIP="cannot make a private mount namespace (unshare --mount)"
		return 0
	fi
	export PFS_PRIVATE_NS=1
	exec unshare --mount --propagation private -- "$BASH" "$script" "$@"
}

# deploy_init: check the environment, set STAGE, chain our cleanup in front
# of lib.sh's.
deploy_init()
{
	[ -z "${PFS_NS_SKIP:-}" ] || skip "$PFS_NS_SKIP"
	if [ -z "${PFS_BUILDDIR:-}" ] || [ -z "${PFS_DAEMON_PATH:-}" ] ||
	   [ -z "${PFS_HELPER_DIR:-}" ]; then
		skip "PFS_BUILDDIR and the install paths are not set (run through meson test)"
	fi
	[ -f "$PFS_BUILDDIR/meson-private/install.dat" ] ||
		skip "$PFS_BUILDDIR is not a configured meson build directory"
	command -v meson >/dev/null || skip "meson is not in PATH"
	STAGE=$T/stage
	trap '_pfs_rc=$?; deploy_cleanup; (exit $_pfs_rc); _pfs_cleanup' EXIT
	if [ "${PFS_PRIVATE_NS:-}" = 1 ]; then
		private_utab
		detach_foreign_mounts
	fi
}

# detach_foreign_mounts: this namespace began as a copy of the machine's,
# with the mounts that tests running in parallel had at that moment.  Such a
# copy keeps its filesystem alive after the other test unmounts it: its
# FUSE daemon would not exit, its loop device would stay busy, until we
# are done.  Detach the copies (here only: propagation is private): FUSE
# mounts, loop-device mounts, and everything below /tmp.
detach_foreign_mounts()
{
	local target source fstype

	findmnt -rn -o TARGET,SOURCE,FSTYPE | tac |
	while read -r target source fstype; do
		case $fstype:$source:$target in
		fuse:* | fuse.*:* | fuseblk:* | *:/dev/loop*:* | *:*:/tmp/?*)
			# findmnt -r writes a space as \x20.
			umount -n -l "$(printf '%b' "$target")" 2>/dev/null
			;;
		esac
	done
}

# stage_install: meson install the build under test into $STAGE.
stage_install()
{
	# --no-rebuild: meson test has built everything; several tests install
	# from the same build directory at once and must not run ninja.
	if ! meson install -C "$PFS_BUILDDIR" --no-rebuild --quiet \
		--destdir "$STAGE" >"$T/install.log" 2>&1; then
		cat "$T/install.log" >&2
		fail "meson install --destdir $STAGE"
		return 1
	fi
	echo "ok: meson install --destdir $STAGE"
}

# show_staged DIR...: in the private namespace, make the staged copy of
# each installed directory DIR visible at DIR.  One read-only overlay per
# real directory (the nearest existing one, symlinks resolved: /sbin is
# /usr/sbin on Debian), staged files on top of what is there.
show_staged()
{
	local d a real
	local -A lowers=()

	[ "${PFS_PRIVATE_NS:-}" = 1 ] || {
		fail "show_staged outside a private mount namespace"
		return 1
	}
	for d in "$@"; do
		a=$d
		while [ ! -e "$a" ]; do a=$(dirname "$a"); done
		real=$(realpath "$a")
		if [ ! -d "$STAGE$a" ]; then
			fail "nothing staged at $STAGE$a"
			return 1
		fi
		case ":${lowers[$real]:-}:" in
		*":$STAGE$a:"*) continue ;;
		esac
		lowers[$real]=${lowers[$real]:+${lowers[$real]}:}$STAGE$a
	done
	for real in "${!lowers[@]}"; do
		if ! mount -t overlay -o "lowerdir=${lowers[$real]}:$real" \
			pfs-stage "$real"; then
			skip "cannot lay an overlay over $real (overlayfs missing?)"
		fi
	done
}

# private_utab: mount(8) records userspace mount options (x-*, _netdev,
# user) in /run/mount/utab, a file shared by all namespaces: give this
# namespace its own, so that nothing is left there even if we crash.
private_utab()
{
	[ "${PFS_PRIVATE_NS:-}" = 1 ] || {
		fail "private_utab outside a private mount namespace"
		return 1
	}
	if [ -d /run/mount ]; then
		mount -t tmpfs -o mode=0755 pfs-utab /run/mount
	else
		mount -t tmpfs -o mode=0755 pfs-run /run
	fi || skip "cannot mount a tmpfs over /run/mount"
}

# re_escape STRING: STRING as a literal extended regular expression.
re_escape()
{
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}

# procs_under_t: PIDs of processes whose command line names something in
# $T (daemons started through mount(8) carry BACKING and MOUNTPOINT).
procs_under_t()
{
	pgrep -f -- "$(re_escape "$T")/"
}

# fuse_mounts_under_t: our FUSE mount points below $T, last mounted first.
fuse_mounts_under_t()
{
	findmnt -rn -t fuse.preallocfs -o TARGET | awk -v t="$T/" 'index($0, t) == 1' | tac
}

# wait_gone PID [SECONDS]: wait (5 s by default) for PID to end.
wait_gone()
{
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# daemon_of MOUNTPOINT: the PID of the daemon serving MOUNTPOINT (the
# last word of its command line, or followed by options), or nothing.
daemon_of()
{
	pgrep -f -- " $(re_escape "$1")( -.*)?\$"
}

# deploy_cleanup: unmount what mount(8) mounted under $T, then end the
# daemons left behind, by PID; lib.sh's cleanup runs next.
deploy_cleanup()
{
	local m p

	for m in $(fuse_mounts_under_t); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for p in $(procs_under_t); do
		wait_gone "$p" 2 || kill -TERM "$p" 2>/dev/null
	done
	for p in $(procs_under_t); do
		wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null
	done
}
