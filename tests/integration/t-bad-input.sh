#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bad-input: command-line handling of the daemon.
#
# Every startup error (missing, unreadable or non-directory BACKING, missing
# or non-directory MOUNTPOINT, a missing or an extra argument, an unknown -o
# option) exits non-zero with exactly one line on stderr naming the bad
# argument, and leaves nothing mounted and no process behind -- both when
# daemonizing (the default) and with -f.  -h/--help and -V/--version exit 0;
# --version names the libfuse of the build: version, bundled or system.
# Without -f the mount is usable as soon as the command returns, the daemon
# is detached, and a plain umount makes it exit.

. "$(dirname "$0")/lib.sh"

require_root_fuse

SRCDIR=${PFS_SRCDIR:-$(dirname "$0")}
VERSION=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" \
	"$SRCDIR/../../meson.build" 2>/dev/null | head -n 1)

# re_escape STRING: STRING as a literal extended regular expression.
re_escape()
{
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}

# mounts_under_t: every mount point below $T (there should be none).
mounts_under_t()
{
	findmnt -rn -o TARGET | awk -v t="$T/" 'index($0, t) == 1'
}

# procs_under_t: every process whose command line mentions $T.
procs_under_t()
{
	pgrep -f -- "$(re_escape "$T")/"
}

mkdir -p "$T/backing" "$T/mnt" "$T/unreadable"
echo hello >"$T/backing/hello.txt"
echo not-a-dir >"$T/regular"
chmod 000 "$T/unreadable"

# nothing_left DESC: no mount below $T, no process mentioning $T.  Cleans
# up (our own leftovers only) so that later cases start from scratch.
nothing_left()
{
	local desc=$1 m p

	m=$(mounts_under_t)
	if [ -n "$m" ]; then
		fail "$desc: left a mount behind: $m"
		for p in $m; do umount "$p" 2>/dev/null || umount -l "$p"; done
	else
		echo "ok: $desc: nothing mounted"
	fi
	sleep 0.05
	p=$(procs_under_t)
	if [ -n "$p" ]; then
		fail "$desc: left a process behind: $(ps -o pid=,args= -p "$(echo $p | tr ' ' ,)")"
		kill -TERM $p 2>/dev/null
	else
		echo "ok: $desc: no process left"
	fi
}

# run_fg OUT ERR COMMAND...: run a foreground (-f) daemon command, give it
# 5 s to exit.  If it mounts something instead, or keeps running, stop it.
# Sets RC: the exit status, "mounted" or "running".
run_fg()
{
	local out=$1 err=$2 pid
	shift 2

	"$@" >"$out" 2>"$err" </dev/null &
	pid=$!
	RC=running
	for _ in $(seq 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			RC=$?
			return
		fi
		if [ -n "$(mounts_under_t)" ]; then
			RC=mounted
			break
		fi
		sleep 0.05
	done
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# bad_case DESC WANT [PREFIX...] -- ARGS...: a startup error, tried both
# daemonizing and with -f.  WANT is an extended regular expression the one
# stderr line must match (it names the bad argument or the cause); PREFIX is
# an optional command prefix (setpriv ...).
bad_case()
{
	local desc=$1 want=$2 mode d lines
	local pre=()
	shift 2
	while [ "$1" != "--" ]; do pre+=("$1"); shift; done
	shift

	for mode in daemonizing foreground; do
		d="$desc [$mode]"
		if [ $mode = foreground ]; then
			run_fg "$T/out" "$T/err" "${pre[@]}" "$PFS_BIN" -f "$@"
		else
			timeout -k 2 10 "${pre[@]}" "$PFS_BIN" "$@" \
				>"$T/out" 2>"$T/err" </dev/null
			RC=$?
		fi

		case $RC in
		0) fail "$d: exit status: expected non-zero, got 0" ;;
		mounted) fail "$d: mounted instead of failing" ;;
		running) fail "$d: still running after 5 s instead of failing" ;;
		124 | 137) fail "$d: did not return within 10 s" ;;
		*) echo "ok: $d: exit status $RC" ;;
		esac

		lines=$(grep -c '' "$T/err")
		if [ "$lines" -eq 1 ]; then
			echo "ok: $d: one line on stderr: $(cat "$T/err")"
			if grep -Eiq -- "$want" "$T/err"; then
				echo "ok: $d: the line names the problem"
			else
				fail "$d: stderr line does not name the problem (/$want/): $(cat "$T/err")"
			fi
			grep -q '^preallocfs: ' "$T/err" ||
				echo "note: $d: stderr line does not start with 'preallocfs: '"
		else
			fail "$d: expected exactly one line on stderr, got $lines: $(head -c 600 "$T/err" | sed 's/$/\\n/' | tr -d '\n')"
		fi
		nothing_left "$d"
	done
}

T_RE=$(re_escape "$T")

bad_case "missing BACKING" "$T_RE/nonexistent" -- \
	"$T/nonexistent" "$T/mnt"
bad_case "BACKING is a regular file" "$T_RE/regular" -- \
	"$T/regular" "$T/mnt"
if command -v setpriv >/dev/null; then
	# Root reads everything; drop the DAC override capabilities instead.
	bad_case "unreadable BACKING (mode 000, no CAP_DAC_*)" "$T_RE/unreadable" \
		setpriv --inh-caps=-dac_override,-dac_read_search \
		--bounding-set=-dac_override,-dac_read_search -- \
		"$T/unreadable" "$T/mnt"
else
	echo "note: setpriv missing, unreadable BACKING not tested"
fi
bad_case "missing MOUNTPOINT" "$T_RE/nomnt" -- \
	"$T/backing" "$T/nomnt"
bad_case "MOUNTPOINT is a regular file" "$T_RE/regular" -- \
	"$T/backing" "$T/regular"
bad_case "missing MOUNTPOINT argument" "missing|mount ?point|argument|usage" -- \
	"$T/backing"
bad_case "no arguments" "missing|backing|mount ?point|argument|usage" --
bad_case "extra argument" "$T_RE/extra-arg|extra|too many|unexpected" -- \
	"$T/backing" "$T/mnt" "$T/extra-arg"
bad_case "unknown -o option" "bogus_opt_xyz" -- \
	-o bogus_opt_xyz "$T/backing" "$T/mnt"
bad_case "unknown -o option after a valid one" "bogus_opt_abc" -- \
	-o ro,bogus_opt_abc "$T/backing" "$T/mnt"
bad_case "unknown command-line flag" "bogus-flag" -- \
	--bogus-flag "$T/backing" "$T/mnt"

check "the unreadable and regular files are untouched" \
	test "$(stat -c %a "$T/unreadable")" = 0 -a "$(cat "$T/regular")" = not-a-dir

# -h/--help and -V/--version
for opt in -h --help; do
	timeout 10 "$PFS_BIN" $opt >"$T/out" 2>"$T/err" </dev/null
	expect_eq "$opt exit status" 0 "$?"
	if grep -qi usage "$T/out"; then
		echo "ok: $opt prints usage on stdout"
	elif grep -qi usage "$T/err"; then
		echo "ok: $opt prints usage (on stderr)"
	else
		fail "$opt prints no usage: $(head -c 300 "$T/out" "$T/err")"
	fi
	nothing_left "$opt"
done
for opt in -V --version; do
	timeout 10 "$PFS_BIN" $opt >"$T/out" 2>"$T/err" </dev/null
	expect_eq "$opt exit status" 0 "$?"
	if [ -z "$VERSION" ]; then
		check "$opt prints something" test -s "$T/out" -o -s "$T/err"
	elif grep -qF -- "$VERSION" "$T/out" "$T/err"; then
		echo "ok: $opt prints the version $VERSION"
	else
		fail "$opt does not print the version $VERSION: $(head -c 300 "$T/out" "$T/err")"
	fi
	nothing_left "$opt"
done
# Which libfuse it runs on: the build's, bundled (linked in statically) or
# the system's shared library.
if [ -n "${PFS_FUSE_VERSION:-}" ]; then
	if [ "${PFS_FUSE_BUNDLED:-0}" = 1 ]; then
		linkage="bundled, static"
		check "bundled libfuse: no libfuse shared library linked" \
			sh -c '! ldd "$1" | grep -q libfuse' - "$PFS_BIN"
	else
		linkage=system
		check "system libfuse: libfuse3.so linked" \
			sh -c 'ldd "$1" | grep -q "libfuse3\.so"' - "$PFS_BIN"
	fi
	expect_eq "--version names the libfuse" \
		"using FUSE library version $PFS_FUSE_VERSION ($linkage)" \
		"$("$PFS_BIN" --version 2>&1 | sed -n 2p)"
fi

# Daemonizing: usable as soon as the command returns.
b=$T/dback
m=$T/dmnt
mkdir -p "$b" "$m"
echo hello >"$b/hello.txt"
timeout -k 2 20 "$PFS_BIN" "$b" "$m" >"$T/d.out" 2>"$T/d.err" </dev/null
rc=$?
_pfs_mounts+=("$m")	# let the EXIT trap unmount it if a check below fails
expect_eq "daemonizing: command exit status" 0 "$rc"
# No sleep: the mount must already be there.
check "daemonizing: mounted as fuse.preallocfs when the command returns" \
	findmnt -rn -M "$m" -t fuse.preallocfs -o TARGET >/dev/null
expect_eq "daemonizing: read through the mount right away" hello "$(cat "$m/hello.txt" 2>&1)"
echo world >"$m/new.txt"
expect_eq "daemonizing: write through the mount reaches the backing" world "$(cat "$b/new.txt" 2>&1)"
[ -s "$T/d.err" ] && echo "note: daemonizing: stderr at startup: $(head -c 300 "$T/d.err")"
pids=$(pgrep -f -x -- "$(re_escape "$PFS_BIN") $(re_escape "$b") $(re_escape "$m")")
expect_eq "daemonizing: exactly one process with the command line '$PFS_BIN $b $m'" 1 \
	"$(echo $pids | wc -w)"
pid=$(echo $pids | awk '{ print $1 }')
if [ -n "$pid" ]; then
	_pfs_pids+=("$pid")
	for fd in 0 1 2; do
		target=$(readlink "/proc/$pid/fd/$fd" 2>/dev/null)
		case $target in
		"$T"/*) fail "daemonizing: daemon keeps the caller's fd $fd open ($target); \$(preallocfs ...) would hang" ;;
		*) echo "ok: daemonizing: fd $fd is detached (${target:-closed})" ;;
		esac
	done
	expect_eq "daemonizing: daemon's working directory" / "$(readlink "/proc/$pid/cwd")"
	check "daemonizing: daemon runs in its own session" \
		test "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')"
fi
check "daemonizing: umount" umount "$m"
if [ -n "$pid" ]; then
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		fail "daemonizing: daemon $pid still running 10 s after umount"
	else
		echo "ok: daemonizing: daemon exited after umount"
	fi
fi
check "daemonizing: mount gone" test -z "$(findmnt -rn -M "$m")"
check "daemonizing: backing data intact" \
	test "$(cat "$b/hello.txt")" = hello -a "$(cat "$b/new.txt")" = world
nothing_left "daemonizing"

done_testing
