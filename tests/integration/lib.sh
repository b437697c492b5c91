# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for the integration tests.  Source it from a t-*.sh script.
#
# Every test gets its own temporary directory ($T) and one EXIT trap that
# unmounts everything it mounted (preallocfs first, then the filesystems
# under it), detaches its loop devices and stops only the daemons it started,
# by PID.  Tests run in parallel under `meson test`, so nothing here uses a
# fixed path or a fixed loop device.
#
# Environment (set by tests/meson.build):
#   PFS_BIN       the preallocfs daemon under test
#   PFS_TOOL      the pfs_tool helper program (tests/integration/pfs_tool.c)
#   CI            "true" turns every would-be skip into a failure
#
# Exit codes: 0 pass, 77 skip (meson's convention), anything else fails.

set -u

PFS_BIN=${PFS_BIN:?PFS_BIN must point at the preallocfs binary}
PFS_TOOL=${PFS_TOOL:-}
T=$(mktemp -d /tmp/pfs-test.XXXXXX)
_pfs_failures=0
_pfs_mounts=()		# stack of mount points to unmount, last first
_pfs_loops=()		# loop devices to detach
_pfs_pids=()		# daemons we started

_pfs_cleanup()
{
	local rc=$?
	local i

	trap - EXIT
	# A test's own last words (it defines pfs_cleanup_hook), e.g. to put
	# back a sysctl it changed.
	declare -F pfs_cleanup_hook >/dev/null && pfs_cleanup_hook
	# Background helpers a test left running (never the daemons): stop
	# them first, so that nothing keeps a mount busy.
	for p in $(jobs -pr); do
		[[ " ${_pfs_pids[*]} " == *" $p "* ]] || kill -TERM "$p" 2>/dev/null
	done
	for ((i = ${#_pfs_mounts[@]} - 1; i >= 0; i--)); do
		local m=${_pfs_mounts[i]}
		if mountpoint -q "$m" 2>/dev/null; then
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	for p in "${_pfs_pids[@]}"; do
		# Only our own daemons, by PID; give them a moment to exit.
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
	done
	for l in "${_pfs_loops[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	rm -rf --one-file-system "$T" 2>/dev/null
	exit "$rc"
}
trap _pfs_cleanup EXIT
trap 'exit 130' INT TERM

# skip REASON: exit 77, or fail when running under CI.
skip()
{
	if [ "${CI:-}" = "true" ]; then
		echo "FAIL (would skip, but CI=true): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

fail()
{
	echo "FAIL: $*" >&2
	_pfs_failures=$((_pfs_failures + 1))
}

# check DESCRIPTION COMMAND...: run the command, record a failure if it fails.
check()
{
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		fail "$what"
	fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq()
{
	if [ "$2" = "$3" ]; then
		echo "ok: $1 ($3)"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# done_testing: the last line of every test.
done_testing()
{
	if [ "$_pfs_failures" -ne 0 ]; then
		echo "$_pfs_failures check(s) failed" >&2
		exit 1
	fi
	exit 0
}

require_root_fuse()
{
	[ "$(id -u)" -eq 0 ] || skip "must run as root (loop devices, mounts)"
	[ -c /dev/fuse ] || skip "/dev/fuse is missing"
	command -v fusermount3 >/dev/null || skip "fusermount3 is not installed"
	[ -x "$PFS_BIN" ] || skip "daemon not built: $PFS_BIN"
}

require_loop()
{
	require_root_fuse
	losetup -f >/dev/null 2>&1 || skip "no free loop device"
}

# mk_fs TYPE SIZE DIR: make a filesystem of TYPE (ext4, xfs, ext2, btrfs)
# on a SIZE image and mount it at DIR.  tmpfs takes SIZE as its size= limit.
mk_fs()
{
	local type=$1 size=$2 dir=$3
	local img=$T/$(basename "$dir").img
	local loop

	mkdir -p "$dir"
	if [ "$type" = tmpfs ]; then
		mount -t tmpfs -o "size=$size" tmpfs "$dir" || skip "cannot mount tmpfs"
		_pfs_mounts+=("$dir")
		return 0
	fi
	truncate -s "$size" "$img"
	case $type in
	ext4 | ext2) "mkfs.$type" -q -F "$img" >/dev/null 2>&1 ;;
	xfs) mkfs.xfs -q -f "$img" >/dev/null 2>&1 ;;
	btrfs) mkfs.btrfs -q -f "$img" >/dev/null 2>&1 ;;
	*) fail "mk_fs: unknown type $type"; return 1 ;;
	esac || skip "mkfs.$type failed (is the tool installed?)"
	loop=$(losetup -f --show "$img") || skip "losetup failed"
	_pfs_loops+=("$loop")
	mount "$loop" "$dir" || skip "cannot mount $type image"
	_pfs_mounts+=("$dir")
}

# pfs_mount BACKING MOUNTPOINT [preallocfs options...]: start the daemon in
# the foreground (-f) in the background, wait for the mount to appear.
# Sets PFS_PID; the daemon's stderr goes to $T/daemon.<n>.log (PFS_LOG).
pfs_mount()
{
	pfs_mount_under -- "$@"
}

# pfs_umount MOUNTPOINT: unmount, check that the daemon exited 0 and that its
# log has no error or sanitizer report.
pfs_umount()
{
	local mnt=$1 rc
	umount "$mnt" || { fail "umount $mnt"; return 1; }
	wait "$PFS_PID"
	rc=$?
	expect_eq "daemon exit status after umount" 0 "$rc"
	if grep -Eiq 'sanitizer|runtime error|error' "$PFS_LOG"; then
		cat "$PFS_LOG" >&2
		fail "daemon log has errors"
	fi
}

# free_kib DIR: available space for unprivileged users, in KiB.
free_kib()
{
	df -P -k "$1" | awk 'NR == 2 { print $4 }'
}

# blocks PATH: st_blocks (512-byte units).
blocks()
{
	stat -c %b "$1"
}

# size PATH: st_size.
size()
{
	stat -c %s "$1"
}

# require_tool: skip when the pfs_tool helper is not built.
require_tool()
{
	if [ -z "$PFS_TOOL" ] || [ ! -x "$PFS_TOOL" ]; then
		skip "pfs_tool not built: '${PFS_TOOL}'"
	fi
}

# expect_tool DESCRIPTION EXPECTED ARGS...: run "$PFS_TOOL" ARGS and compare
# "STATUS OUTPUT" with EXPECTED, e.g. "0 ok", "1 ENOSPC", "135" (SIGBUS, no
# output).  Its stderr passes through; its stdout is left in TOOL_OUT.
expect_tool()
{
	local what=$1 want=$2 rc
	shift 2
	TOOL_OUT=$("$PFS_TOOL" "$@")
	rc=$?
	expect_eq "$what [pfs_tool $*]" "$want" "$rc${TOOL_OUT:+ $TOOL_OUT}"
}

# wait_file PATH [SECONDS]: wait (10 s by default) for PATH to exist.
wait_file()
{
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $1"
	return 1
}

# expect_covered DESCRIPTION PATH: st_blocks * 512 >= st_size, i.e. the
# whole size is allocated (no hole, nothing left to allocate later).
expect_covered()
{
	local b s
	b=$(blocks "$2")
	s=$(size "$2")
	if [ $((b * 512)) -ge "$s" ]; then
		echo "ok: $1 (st_blocks*512 $((b * 512)) >= st_size $s)"
	else
		fail "$1: st_blocks*512 $((b * 512)) < st_size $s"
	fi
}

# expect_sparse DESCRIPTION PATH: st_blocks * 512 < st_size (a hole remains).
expect_sparse()
{
	local b s
	b=$(blocks "$2")
	s=$(size "$2")
	if [ $((b * 512)) -lt "$s" ]; then
		echo "ok: $1 (st_blocks*512 $((b * 512)) < st_size $s)"
	else
		fail "$1: st_blocks*512 $((b * 512)) >= st_size $s"
	fi
}

# --- Helpers for the hole, punch, fallback, copy-on-write and exemption
# --- tests (t-holes, t-punch, t-fallback, t-cow, t-sparse-exempt,
# --- t-xfs-tmpfs).

# st_state PATH: "st_size st_blocks", to compare before and after a call
# that must change nothing.
st_state()
{
	echo "$(size "$1") $(blocks "$1")"
}

# pfs_counter MOUNTPOINT NAME: one counter of a running mount, from
# `preallocfs --stats` (empty when the counter does not exist).
pfs_counter()
{
	"$PFS_BIN" --stats "$1" 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }'
}

# expect_counter DESCRIPTION MOUNTPOINT NAME EXPECTED
expect_counter()
{
	expect_eq "$1 [$3]" "$4" "$(pfs_counter "$2" "$3")"
}

# expect_holes DESCRIPTION PATH N: pfs_tool holes PATH prints N (FIEMAP
# where the filesystem has it: preallocated extents are not holes).
expect_holes()
{
	expect_tool "$1" "0 $3" holes "$2"
}

# fill_fs DESCRIPTION DIR: another process (pfs_tool fill) writes a file in
# DIR until the filesystem is full.
fill_fs()
{
	local out rc
	out=$("$PFS_TOOL" fill "$2")
	rc=$?
	expect_eq "$1: fill exit status ($out bytes, $(free_kib "$2") KiB left)" \
		0 "$rc"
}

_pfs_try_n=0
# pfs_try_mount BACKING MOUNTPOINT [options...]: start the daemon (-f) for
# a mount that is expected to be refused.  Returns 0 when the daemon exited
# by itself without mounting, with TRY_RC its exit status and TRY_ERR its
# stderr.  If the mount appears anyway it is recorded for the cleanup, and
# TRY_RC is "mounted" (return 1); a daemon still running after 10 s without
# a mount is stopped, TRY_RC "timeout" (return 1).
pfs_try_mount()
{
	local backing=$1 mnt=$2 pid err
	shift 2
	mkdir -p "$mnt"
	_pfs_try_n=$((_pfs_try_n + 1))
	err=$T/try.$_pfs_try_n.err
	"$PFS_BIN" -f "$@" "$backing" "$mnt" 2>"$err" &
	pid=$!
	TRY_RC=
	for _ in $(seq 100); do
		if findmnt -rn -M "$mnt" -t fuse.preallocfs >/dev/null 2>&1; then
			_pfs_pids+=("$pid")
			_pfs_mounts+=("$mnt")
			TRY_RC=mounted
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			TRY_RC=$?
			break
		fi
		sleep 0.1
	done
	if [ -z "$TRY_RC" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid"
		TRY_RC=timeout
	fi
	TRY_ERR=$(cat "$err")
	case $TRY_RC in
	mounted | timeout) return 1 ;;
	esac
	return 0
}

# expect_refused DESCRIPTION BACKING MOUNTPOINT [options...]: the daemon
# exits non-zero with exactly one line on stderr and nothing mounted.  The
# line is left in TRY_ERR for further checks.
expect_refused()
{
	local what=$1
	shift
	if ! pfs_try_mount "$@"; then
		fail "$what: expected a refusal, daemon $TRY_RC (stderr: $TRY_ERR)"
		return 1
	fi
	if [ "$TRY_RC" -eq 0 ]; then
		fail "$what: daemon exited 0 (stderr: $TRY_ERR)"
		return 1
	fi
	echo "ok: $what: exit status $TRY_RC"
	expect_eq "$what: one line on stderr" 1 "$(printf '%s' "$TRY_ERR" | grep -c '')"
	if findmnt -rn -M "$2" >/dev/null 2>&1; then
		fail "$what: something is mounted at $2"
	fi
}

# --- Helpers for the multi-user, reserve, containment, quota and
# --- resource-limit tests (t-users, t-reserve, t-contain, t-quota,
# --- t-fdlimit).

# skip_unsupported REASON: exit 77 even when CI=true.  Only for a limit of
# the machine's kernel that no configuration of the test host can lift
# (t-quota: a kernel built without CONFIG_QUOTA); every other missing piece
# goes through skip, which CI turns into a failure.
skip_unsupported()
{
	echo "SKIP (unsupported by this kernel, also under CI): $*" >&2
	exit 77
}

# mk_fs_opts TYPE SIZE DIR MKFS-OPTIONS...: mk_fs with extra options for
# mkfs.TYPE (e.g. mk_fs_opts ext4 128M DIR -m 5).  Loop-backed types only.
mk_fs_opts()
{
	local type=$1 size=$2 dir=$3
	local img=$T/$(basename "$dir").img
	local loop

	shift 3
	mkdir -p "$dir"
	truncate -s "$size" "$img"
	case $type in
	ext4 | ext2 | ext3) "mkfs.$type" -q -F "$@" "$img" >/dev/null 2>&1 ;;
	xfs) mkfs.xfs -q -f "$@" "$img" >/dev/null 2>&1 ;;
	*) fail "mk_fs_opts: unknown type $type"; return 1 ;;
	esac || skip "mkfs.$type $* failed (is the tool installed?)"
	loop=$(losetup -f --show "$img") || skip "losetup failed"
	_pfs_loops+=("$loop")
	mount "$loop" "$dir" || skip "cannot mount $type image"
	_pfs_mounts+=("$dir")
}

# pfs_mount_under WRAPPER... -- BACKING MOUNTPOINT [options...]: pfs_mount,
# with the daemon started through a wrapper that execs it (prlimit, setpriv),
# so that PFS_PID is the daemon itself.
pfs_mount_under()
{
	local wrap=()

	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		wrap+=("$1")
		shift
	done
	shift
	local backing=$1 mnt=$2
	# An empty wrapper: the daemon itself (env execs it, PFS_PID stays).
	[ ${#wrap[@]} -eq 0 ] && wrap=(env)
	shift 2
	mkdir -p "$mnt"
	PFS_LOG=$T/daemon.${#_pfs_pids[@]}.log
	# PFS_EXTRA_OPTS: options for every mount of a test (a second run of
	# it with -o passthrough, see meson.build).
	"${wrap[@]}" "$PFS_BIN" -f ${PFS_EXTRA_OPTS:+-o "$PFS_EXTRA_OPTS"} \
		"$@" "$backing" "$mnt" 2>"$PFS_LOG" &
	PFS_PID=$!
	_pfs_pids+=("$PFS_PID")
	_pfs_mounts+=("$mnt")
	for _ in $(seq 100); do
		if findmnt -rn -M "$mnt" -t fuse.preallocfs >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$PFS_PID" 2>/dev/null; then
			cat "$PFS_LOG" >&2
			fail "daemon exited before mounting $mnt"
			return 1
		fi
		sleep 0.1
	done
	cat "$PFS_LOG" >&2
	fail "mount of $mnt did not appear within 10 s"
	return 1
}

# require_setpriv: the tests run steps as other users with setpriv(1).
require_setpriv()
{
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
}

# as_user UID GID GROUPS COMMAND...: run COMMAND with real and effective
# UID/GID and the supplementary GROUPS (comma-separated, "" for none), no
# capabilities.
as_user()
{
	local uid=$1 gid=$2 groups=$3
	shift 3
	if [ -n "$groups" ]; then
		setpriv --reuid="$uid" --regid="$gid" --groups="$groups" -- "$@"
	else
		setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
	fi
}

# utool UID GID GROUPS ARGS...: pfs_tool ARGS as that user; prints
# "STATUS OUTPUT" on one line (its stderr is dropped), e.g. "0 ok",
# "1 EACCES", "0 reg 0644 1234 1234 0".
utool()
{
	local out rc
	local uid=$1 gid=$2 groups=$3
	shift 3
	out=$(as_user "$uid" "$gid" "$groups" "$PFS_TOOL" "$@" 2>/dev/null)
	rc=$?
	echo "$rc${out:+ $out}" | tr '\n' ' ' | sed 's/ $//'
	echo
}

# rtool ARGS...: pfs_tool ARGS as root, in utool's format.
rtool()
{
	local out rc
	out=$("$PFS_TOOL" "$@" 2>/dev/null)
	rc=$?
	echo "$rc${out:+ $out}" | tr '\n' ' ' | sed 's/ $//'
	echo
}

# expect_same_transcript DESCRIPTION NATIVE THROUGH-MOUNT: two transcript
# files (one step per line) must be identical; the diff is shown otherwise.
expect_same_transcript()
{
	local what=$1 a=$2 b=$3
	if diff -u --label "native" --label "through preallocfs" "$a" "$b" \
		>"$b.diff"; then
		echo "ok: $what ($(grep -c '' <"$a") steps identical)"
	else
		cat "$b.diff" >&2
		fail "$what: differs from the native transcript (diff above)"
	fi
}

# strace_daemon OUT STRACE-OPTIONS... -- COMMAND...: run COMMAND while
# strace (with STRACE-OPTIONS, all threads) watches the daemon ($PFS_PID);
# strace's output goes to OUT.  COMMAND's status is returned.
strace_daemon()
{
	local out=$1 spid rc opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	strace -f "${opts[@]}" -p "$PFS_PID" -o "$out" 2>/dev/null &
	spid=$!
	# strace prints nothing when attached: wait for its threads to be
	# traced (TracerPid in the daemon's status).
	for _ in $(seq 50); do
		grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$PFS_PID/status" && break
		sleep 0.1
	done
	sleep 0.3
	"$@"
	rc=$?
	sleep 0.3
	kill -INT "$spid"
	wait "$spid" 2>/dev/null
	return "$rc"
}

# daemon_fds PID: open file descriptors of a process.
daemon_fds()
{
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# daemon_rss_kib PID: resident set size in KiB.
daemon_rss_kib()
{
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ext4_reserved_blocks DEVICE-OR-IMAGE: the root reserve (tune2fs).
ext4_reserved_blocks()
{
	tune2fs -l "$1" 2>/dev/null | awk -F: '/^Reserved block count/ { gsub(/ /, "", $2); print $2 }'
}

# statfs_bfree DIR / statfs_bavail DIR: free blocks for root / for users.
statfs_bfree()
{
	stat -f -c %f "$1"
}

statfs_bavail()
{
	stat -f -c %a "$1"
}

# fuse_at_least VERSION: the daemon under test runs on libfuse >= VERSION
# (PFS_FUSE_VERSION comes from meson.build; unknown counts as new enough).
fuse_at_least()
{
	local v=${PFS_FUSE_VERSION:-$1}
	[ "$(printf '%s\n%s\n' "$v" "$1" | sort -V | head -n 1)" = "$1" ]
}

# fuse_has_killpriv_v2: the daemon under test can negotiate
# FUSE_CAP_HANDLE_KILLPRIV_V2 (libfuse >= 3.17).
fuse_has_killpriv_v2()
{
	fuse_at_least 3.17
}

