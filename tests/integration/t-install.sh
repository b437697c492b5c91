#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-install: `meson install --destdir` of the build under test (into
# $T/stage) puts every deployment file where the build was configured to,
# and nothing else:
#   - the daemon (runs, reports this build's version);
#   - mount.preallocfs, and mount.fuse.preallocfs as a symlink to it, in the
#     helper directory, calling the daemon by its installed path;
#   - preallocfs(8), which renders without a groff warning and names every
#     option `preallocfs --help` lists;
#   - preallocfs@.service in the unit directory (paths rendered), the
#     example .mount unit and instance config in the examples, nothing
#     enabled.
# The helper's calling convention (SPEC DIR [-sfnv] [-N ns] [-o opts]
# [-t type]) is checked with -f (fake) and -v, which print the daemon's
# command line without running it; bad calls exit 1 with a usage line.
# Needs no root: nothing is mounted.
. "$(dirname "$0")/deploy.sh"
. "$(dirname "$0")/lib.sh"
deploy_init

stage_install || done_testing

# no_placeholders FILE: configure_file left no @WORD@ behind.
no_placeholders()
{
	! grep -nE '@[A-Z_]+@' "$1" >&2
}

# ---- the daemon ----------------------------------------------------------
D=$STAGE$PFS_DAEMON_PATH
check "daemon installed at $PFS_DAEMON_PATH" test -f "$D" -a -x "$D"
expect_eq "installed daemon's --version" \
	"$("$PFS_BIN" --version 2>&1 | head -n 1)" "$("$D" --version 2>&1 | head -n 1)"

# ---- the mount helpers ---------------------------------------------------
H=$STAGE$PFS_HELPER_DIR
check "mount.preallocfs installed in $PFS_HELPER_DIR" \
	test -f "$H/mount.preallocfs" -a -x "$H/mount.preallocfs"
check "mount.fuse.preallocfs is a symlink" test -L "$H/mount.fuse.preallocfs"
expect_eq "mount.fuse.preallocfs points at" mount.preallocfs \
	"$(readlink "$H/mount.fuse.preallocfs")"
check "mount.fuse.preallocfs is executable" test -x "$H/mount.fuse.preallocfs"
check "helper is valid sh (sh -n)" sh -n "$H/mount.preallocfs"
check "helper has no unrendered @WORD@" no_placeholders "$H/mount.preallocfs"
check "helper calls the daemon at $PFS_DAEMON_PATH" \
	grep -qxF "daemon='$PFS_DAEMON_PATH'" "$H/mount.preallocfs"

# helper NAME ARGS...: run the staged helper NAME; sets HRC, HOUT (stdout)
# and HERR (stderr).
helper()
{
	local name=$1
	shift
	HOUT=$("$H/$name" "$@" 2>"$T/helper.err")
	HRC=$?
	HERR=$(cat "$T/helper.err")
}

# expect_cmdline DESC EXPECTED ARGS...: the helper (via mount.fuse.preallocfs,
# with -f -v added) would run EXPECTED (quoted words) and does nothing.
expect_cmdline()
{
	local what=$1 want=$2
	shift 2
	helper mount.fuse.preallocfs "$@" -f -v
	expect_eq "$what: exit status" 0 "$HRC"
	expect_eq "$what: nothing on stdout" "" "$HOUT"
	expect_eq "$what: command line" "mount.fuse.preallocfs: $want" "$HERR"
}

d="'$PFS_DAEMON_PATH'"
expect_cmdline "mount(8)'s call with -o and -t" \
	"$d '-o' 'rw,allow_other,x-systemd.requires-mounts-for=/x' '/srv/b' '/srv/m'" \
	/srv/b /srv/m -o rw,allow_other,x-systemd.requires-mounts-for=/x -t fuse.preallocfs
expect_cmdline "no options" "$d '/srv/b' '/srv/m'" /srv/b /srv/m
expect_cmdline "-s -n, -o twice, attached -o" \
	"$d '-o' 'ro,timeout=5,nofail' '/srv/b' '/srv/m'" \
	/srv/b /srv/m -sn -o ro -o timeout=5 -onofail
expect_cmdline "options before the arguments" \
	"$d '-o' 'allow_other' '/srv/b' '/srv/m'" -o allow_other /srv/b /srv/m
expect_cmdline "paths with spaces" \
	"$d '/srv/a b' '/srv/c d'" '/srv/a b' '/srv/c d'
expect_cmdline "-N NAMESPACE runs the daemon through nsenter" \
	"'$(sed -n "s/^nsenter='\(.*\)'\$/\1/p" "$H/mount.preallocfs")' '--mount=/proc/1/ns/mnt' '--' $d '/srv/b' '/srv/m'" \
	/srv/b /srv/m -N /proc/1/ns/mnt

# Fake without -v: silent.
helper mount.preallocfs /srv/b /srv/m -f -o allow_other
expect_eq "-f alone: status, stdout, stderr" "0||" "$HRC|$HOUT|$HERR"

# Bad calls: status 1 and a usage line.  -f comes first, so that a call
# wrongly taken for a good one exits 0 instead of running the daemon.
for bad in "" "/srv/b" "/srv/b /srv/m /srv/x" "/srv/b /srv/m -q" \
	"/srv/b /srv/m -o" "/srv/b /srv/m -N" "/srv/b /srv/m -t"; do
	# shellcheck disable=SC2086 # word splitting wanted
	helper mount.preallocfs -f $bad
	expect_eq "bad call [$bad]: exit status" 1 "$HRC"
	check "bad call [$bad]: usage on stderr" grep -q '^usage: mount.preallocfs ' <<<"$HERR"
done

# ---- the man page --------------------------------------------------------
if [ -n "${PFS_MAN_PATH:-}" ]; then
	MAN=$STAGE$PFS_MAN_PATH
	check "man page installed at $PFS_MAN_PATH" test -f "$MAN"
	check "man page has no unrendered @WORD@" no_placeholders "$MAN"
	if command -v groff >/dev/null; then
		warn=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
		expect_eq "groff -man -ww: no warnings" "" "$warn"
		# One long line per paragraph, no hyphenation, no overstrike.
		groff -man -Tutf8 -rLL=1000n -rHY=0 -P-cbou "$MAN" >"$T/man.txt" 2>&1
		check "man page renders (groff -man -Tutf8)" \
			grep -q '^PREALLOCFS(8)' "$T/man.txt"
		# Every option --help lists: on its indented lines that start
		# with "-", the leading words that are options (-x, --word,
		# -o NAME[=...]); and the words of the 4-space indented
		# "ignored" line.
		opts=$("$PFS_BIN" --help | awk '
			/^ +-/ {
				for (i = 1; i <= NF; i++) {
					if ($i == "-o") {
						name = $(++i)
						sub(/[=,[].*/, "", name)
						if (name != "opt")
							print name
					} else if ($i ~ /^-/) {
						print $i
					} else {
						break
					}
				}
				next
			}
			/^    [^ ]/ { for (i = 1; i <= NF; i++) print $i }')
		check "--help lists options (parsed $(wc -w <<<"$opts"))" \
			test "$(wc -w <<<"$opts")" -ge 15
		for o in $opts; do
			check "man page documents '$o'" grep -qF -- "$o" "$T/man.txt"
		done
		for p in "$PFS_DAEMON_PATH" "$PFS_HELPER_DIR/mount.preallocfs" \
			"$PFS_HELPER_DIR/mount.fuse.preallocfs" "$PFS_SYSCONF_DIR/" \
			"$PFS_EXAMPLE_DIR/srv-app.mount"; do
			check "man page names the installed $p" grep -qF -- "$p" "$T/man.txt"
		done
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS FSTAB SYSTEMD \
			"IN-PLACE MOUNTING" "MANY USERS" FILES EXAMPLES "SEE ALSO"; do
			check "man page section $s" grep -qx "$s" "$T/man.txt"
		done
	else
		fail "groff is not installed: cannot check that the man page renders"
	fi
	if command -v man >/dev/null; then
		check "man -l renders it" sh -c \
			'MANWIDTH=80 man -l "$1" 2>/dev/null | grep -q "^PREALLOCFS(8)"' - "$MAN"
	fi
else
	echo "# this build installs no man page (-Dman=false)"
fi

# ---- systemd units and examples -----------------------------------------
E=$STAGE$PFS_EXAMPLE_DIR
check "example srv-app.mount installed" test -f "$E/srv-app.mount"
check "example srv-app.conf installed" test -f "$E/srv-app.conf"
if [ -n "${PFS_UNIT_DIR:-}" ]; then
	U=$STAGE$PFS_UNIT_DIR/preallocfs@.service
	check "preallocfs@.service installed in $PFS_UNIT_DIR" test -f "$U"
	check "unit has no unrendered @WORD@" no_placeholders "$U"
	check "unit runs the installed daemon in the foreground" \
		grep -qxF "ExecStart=$PFS_DAEMON_PATH -f \$OPTIONS \${BACKING} %f" "$U"
	check "unit reads $PFS_SYSCONF_DIR/%i.conf" \
		grep -qxF "EnvironmentFile=$PFS_SYSCONF_DIR/%i.conf" "$U"
	check "unit names the man page" grep -qxF "Documentation=man:preallocfs(8)" "$U"
	check "no .mount unit in the unit directory (examples only)" \
		test -z "$(find "$STAGE$PFS_UNIT_DIR" -name '*.mount')"
else
	echo "# this build installs no systemd unit"
fi
check "nothing enabled (no .wants/.requires links)" \
	test -z "$(find "$STAGE" -name '*.wants' -o -name '*.requires')"

# ---- and nothing else ----------------------------------------------------
{
	echo "$PFS_DAEMON_PATH"
	echo "$PFS_HELPER_DIR/mount.preallocfs"
	echo "$PFS_HELPER_DIR/mount.fuse.preallocfs"
	[ -n "${PFS_MAN_PATH:-}" ] && echo "$PFS_MAN_PATH"
	[ -n "${PFS_UNIT_DIR:-}" ] && echo "$PFS_UNIT_DIR/preallocfs@.service"
	echo "$PFS_EXAMPLE_DIR/srv-app.mount"
	echo "$PFS_EXAMPLE_DIR/srv-app.conf"
} | sort >"$T/want.list"
(cd "$STAGE" && find . ! -type d | sed 's/^\.//' | sort) >"$T/got.list"
if cmp -s "$T/want.list" "$T/got.list"; then
	echo "ok: installed files are exactly the expected $(wc -l <"$T/want.list")"
else
	diff -u "$T/want.list" "$T/got.list" >&2
	fail "installed files differ from the expected list"
fi

done_testing
