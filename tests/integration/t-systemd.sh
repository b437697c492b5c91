#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-systemd: the installed systemd units are valid, and the shell snippets
# the template service runs around the daemon do what they say.
#
#   - `systemd-analyze verify` reports nothing for preallocfs@.service
#     (instances srv-app and srv-my\x2dapp, i.e. /srv/app and /srv/my-app)
#     and for the example srv-app.mount.  verify checks that ExecStart=
#     binaries exist and that Documentation=man: pages are installed, so it
#     runs in a private mount namespace with the staged install laid over
#     the real directories, and MANPATH pointing at the staged man pages.
#     PID 1 need not be systemd.  Two broken copies (a missing ExecStart=
#     binary, a .mount named after another path) must be reported, so a
#     silent verify really means "no problem found".
#   - Type=notify with NotifyAccess=main, and no ExecStartPost= polling
#     loop (t-notify checks the daemon's side of the protocol).
#   - ExecStopPost= (clear a dead mount) unmounts a preallocfs mount whose
#     daemon was killed, and leaves any other filesystem mounted there alone
#     (as root, `fusermount3 -u` would unmount it).
. "$(dirname "$0")/deploy.sh"
enter_private_ns "$0" "$@"
. "$(dirname "$0")/lib.sh"
deploy_init
command -v systemd-analyze >/dev/null ||
	skip "systemd-analyze is not installed (Debian: apt install systemd)"
[ -n "${PFS_UNIT_DIR:-}" ] ||
	skip "this build installs no systemd unit (-Dsystemdsystemunitdir=no, or no systemd.pc)"

stage_install || done_testing
show_staged "$(dirname "$PFS_DAEMON_PATH")" || done_testing
U=$STAGE$PFS_UNIT_DIR
E=$STAGE$PFS_EXAMPLE_DIR

verify_args=()
if [ -n "${PFS_MAN_PATH:-}" ]; then
	# .../share/man/man8/preallocfs.8 -> .../share/man
	MANPATH=$STAGE$(dirname "$(dirname "$PFS_MAN_PATH")"):
	export MANPATH
else
	echo "# this build installs no man page: verify runs with --man=no"
	verify_args+=(--man=no)
fi

# verify_quiet DESC UNITFILE: systemd-analyze verify succeeds and prints
# nothing.
verify_quiet()
{
	local what=$1 out rc
	out=$(systemd-analyze verify "${verify_args[@]}" "$2" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		echo "ok: systemd-analyze verify $what"
	else
		printf '%s\n' "$out" >&2
		fail "systemd-analyze verify $what: rc $rc, output above"
	fi
}

# verify_complains DESC UNITFILE PATTERN: verify reports PATTERN.
verify_complains()
{
	local what=$1 out
	out=$(systemd-analyze verify "${verify_args[@]}" "$2" 2>&1)
	if grep -q -- "$3" <<<"$out"; then
		echo "ok: systemd-analyze verify catches $what"
	else
		printf '%s\n' "$out" >&2
		fail "systemd-analyze verify did not report $what"
	fi
}

# ---- systemd-analyze verify ----------------------------------------------
expect_eq "instance name for /srv/app" "preallocfs@srv-app.service" \
	"$(systemd-escape --path --template=preallocfs@.service /srv/app)"
verify_quiet "preallocfs@srv-app.service" "$U/preallocfs@srv-app.service"
inst=$(systemd-escape --path --template=preallocfs@.service /srv/my-app)
verify_quiet "$inst" "$U/$inst"
expect_eq "example unit is named after its Where=" "srv-app.mount" \
	"$(systemd-escape --path --suffix=mount \
		"$(sed -n 's/^Where=//p' "$E/srv-app.mount")")"
verify_quiet "example srv-app.mount" "$E/srv-app.mount"

mkdir -p "$T/broken"
sed "s|^ExecStart=[^ ]*|ExecStart=$T/no-such-daemon|" "$U/preallocfs@.service" \
	>"$T/broken/preallocfs@.service"
verify_complains "a missing ExecStart= binary" \
	"$T/broken/preallocfs@srv-app.service" "no-such-daemon"
cp "$E/srv-app.mount" "$T/broken/srv-other.mount"
verify_complains "a .mount named after another path" \
	"$T/broken/srv-other.mount" "Where="

# The stop path: the daemon's own SIGTERM handling (write back, unmount
# without detaching, wait while busy), never cut short by a SIGKILL.
check "stop: TimeoutStopSec=infinity" \
	grep -qx 'TimeoutStopSec=infinity' "$U/preallocfs@.service"
check "stop: no ExecStop=, no KillSignal= other than SIGTERM" \
	bash -c "! grep -Eq '^(ExecStop|KillSignal)=' '$U/preallocfs@.service'"

# ---- the shell snippets around the daemon ---------------------------------
# unit_script KEY NAME: the script of "KEY=[-]/bin/sh -c '...' NAME %f",
# with systemd's "$$" turned back into "$".
unit_script()
{
	sed -n "s|^$1=-\{0,1\}/bin/sh -c '\(.*\)' $2 %f\$|\1|p" "$U/preallocfs@.service" |
		sed 's/\$\$/$/g'
}
CLEAR=$(unit_script ExecStopPost preallocfs-cleanup)
check "ExecStopPost= is the cleanup script" test -n "$CLEAR"
check "readiness: Type=notify" grep -qx 'Type=notify' "$U/preallocfs@.service"
check "readiness: NotifyAccess=main" \
	grep -qx 'NotifyAccess=main' "$U/preallocfs@.service"
check "readiness: no polling ExecStartPost=" \
	bash -c "! grep -q '^ExecStartPost=' '$U/preallocfs@.service'"

# run_snippet SCRIPT NAME MOUNTPOINT [MAINPID]: as systemd would (%f is the
# mount point, MAINPID in the environment); prints "STATUS SECONDS".
run_snippet()
{
	local start=$SECONDS rc
	MAINPID=${4:-} /bin/sh -c "$1" "$2" "$3" >/dev/null 2>&1
	rc=$?
	echo "$rc $((SECONDS - start))"
}

require_loop
B=$T/backing
M=$T/mnt
mk_fs ext4 32M "$B"
mkdir -p "$M"

# The daemon as the unit starts it; it is mounted when pfs_mount returns.
pfs_mount "$B" "$M"

# A clean stop: the daemon unmounts, the cleanup has nothing to do.
kill -TERM "$PFS_PID"
wait "$PFS_PID"
rc=$?
expect_eq "daemon exit status after SIGTERM" 0 "$rc"
# Exit status 1 here was ECONNABORTED at the unmount (now a clean end, see
# main.c); should anything else fail the stop, the log says why.
[ "$rc" -eq 0 ] || cat "$PFS_LOG" >&2
read -r rc _ < <(run_snippet "$CLEAR" preallocfs-cleanup "$M")
expect_eq "cleanup after a clean stop: exit status" 0 "$rc"
check "cleanup after a clean stop: ext4 below still mounted" mountpoint -q "$B"

# A killed daemon leaves a dead mount: the cleanup takes it away.
pfs_mount "$B" "$M"
kill -KILL "$PFS_PID"
wait "$PFS_PID" 2>/dev/null
check "killed daemon left its mount" test -n "$(findmnt -rn -M "$M" -t fuse.preallocfs)"
read -r rc _ < <(run_snippet "$CLEAR" preallocfs-cleanup "$M")
expect_eq "cleanup of a dead mount: exit status" 0 "$rc"
check "cleanup of a dead mount: gone" test -z "$(findmnt -rn -M "$M")"

# In-place over a mount point, after a clean stop: the filesystem that was
# served (mounted at the same place) must stay mounted.
read -r rc _ < <(run_snippet "$CLEAR" preallocfs-cleanup "$B")
expect_eq "cleanup on a plain ext4 mount point: exit status" 0 "$rc"
check "cleanup on a plain ext4 mount point: left mounted" \
	test "$(findmnt -rn -M "$B" -o FSTYPE)" = ext4

done_testing
