#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-killpriv: with FUSE_CAP_HANDLE_KILLPRIV_V2 the daemon, not the kernel,
# clears setuid/setgid and security.capability on write, truncate, O_TRUNC
# open and chown.  Each step runs on a plain directory (the control) and
# through an allow_other mount of a sibling directory, on ext4 and on tmpfs
# (where a growth by fallocate clears nothing by itself); every step prints
# "step: mode capability", and the two transcripts must be identical.
# Writers: root; user B (1235, not in the files' group); B with CAP_FSETID
# (ambient: it keeps the bits natively, the daemon must read it from
# /proc); root without CAP_FSETID (loses them natively).
#
# Cost: 400 4 KiB writes through the mount reach the daemon as 400 WRITE
# requests and no GETXATTR.  Control: the same mount with
# PREALLOCFS_KILLPRIV_V2=0 (v2 not negotiated) shows the kernel asking for
# security.capability before every write: 400 GETXATTR.
. "$(dirname "$0")/lib.sh"
require_loop
require_setpriv
for t in setcap getcap python3; do
	command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh)"
done
umask 022

step() { printf '%s: %s\n' "$1" "$2"; }

# state FILE: "MODE CAP" (octal mode; the capability or "-").
state()
{
	local cap
	cap=$(getcap "$1" 2>/dev/null | awk '{ print $2 }')
	echo "$(stat -c %a "$1") ${cap:--}"
}

# as WHO COMMAND...: root, b (1235), b-fsetid, root-nofsetid.
as()
{
	local who=$1
	shift
	case $who in
	root) "$@" ;;
	b) setpriv --reuid=1235 --regid=1235 --clear-groups -- "$@" ;;
	b-fsetid) setpriv --reuid=1235 --regid=1235 --clear-groups \
		--inh-caps=+fsetid --ambient-caps=+fsetid -- "$@" ;;
	root-nofsetid) setpriv --bounding-set=-fsetid --inh-caps=-fsetid \
		-- "$@" ;;
	esac
}

# prep FILE MODE [cap]: a 4 KiB file of 1234:1234, world-writable so that
# every writer may write, with MODE and maybe a capability.
prep()
{
	rm -f "$1"
	head -c 4096 /dev/zero >"$1"
	chown 1234:1234 "$1"
	chmod "$2" "$1"
	[ $# -lt 3 ] || setcap cap_net_raw+ep "$1"
}

scenario()
{
	local b=$1 who mode op f
	for who in root b b-fsetid root-nofsetid; do
		for mode in 4777 2777 2767 6777; do
			for op in write append truncate-grow truncate-shrink otrunc; do
				f=$b/f
				prep "$f" "$mode"
				case $op in
				write) as "$who" dd if=/dev/zero of="$f" bs=4096 \
					count=1 conv=notrunc status=none ;;
				append) as "$who" sh -c "printf y >>'$f'" ;;
				truncate-grow) as "$who" truncate -s 1M "$f" ;;
				truncate-shrink) as "$who" truncate -s 100 "$f" ;;
				otrunc) as "$who" sh -c ": >'$f'" ;;
				esac
				step "$who $mode $op" "$(state "$f")"
			done
		done
		# security.capability goes on every write, whoever writes.
		prep "$f" 0777 cap
		as "$who" dd if=/dev/zero of="$f" bs=4096 count=1 \
			conv=notrunc status=none
		step "$who cap write" "$(state "$f")"
		prep "$f" 0777 cap
		as "$who" truncate -s 8K "$f"
		step "$who cap truncate" "$(state "$f")"
	done
	# chown (root only): clears setuid/setgid of a file, keeps a dir's.
	prep "$b/f" 6777
	chown 1235 "$b/f"
	step "chown file" "$(state "$b/f")"
	mkdir -p "$b/d"
	chmod 2777 "$b/d"
	chown 1235 "$b/d"
	step "chown dir" "$(stat -c %a "$b/d")"
}

run_on()
{
	local type=$1
	local fs=$T/$type
	mk_fs "$type" 64M "$fs"
	chmod 0755 "$T" "$fs"
	mkdir -m 0777 "$fs/control" "$fs/backing"
	mkdir -m 0755 "$fs/mp"
	pfs_mount "$fs/backing" "$fs/mp/mnt" -o allow_other || return
	scenario "$fs/control" >"$T/$type.native"
	scenario "$fs/mp/mnt" >"$T/$type.mount"
	if diff -u "$T/$type.native" "$T/$type.mount" >"$T/$type.diff"; then
		check "$type: $(wc -l <"$T/$type.native") kill-priv steps as natively" true
	else
		cat "$T/$type.diff" >&2
		check "$type: kill-priv steps as natively" false
	fi
	# The transcript must show each rule at work, or the comparison
	# proves nothing.
	expect_eq "$type: a user's write clears setuid" "777 -" \
		"$(grep '^b 4777 write:' "$T/$type.native" | cut -d' ' -f4-)"
	expect_eq "$type: root's write keeps setuid" "4777 -" \
		"$(grep '^root 4777 write:' "$T/$type.native" | cut -d' ' -f4-)"
	expect_eq "$type: a user with CAP_FSETID keeps setuid" "4777 -" \
		"$(grep '^b-fsetid 4777 write:' "$T/$type.native" | cut -d' ' -f4-)"
	expect_eq "$type: root without CAP_FSETID clears setuid" "777 -" \
		"$(grep '^root-nofsetid 4777 write:' "$T/$type.native" | cut -d' ' -f4-)"
	expect_eq "$type: root's write drops the capability" "777 -" \
		"$(grep '^root cap write:' "$T/$type.native" | cut -d' ' -f4-)"
	pfs_umount "$fs/mp/mnt"
}

run_on ext4
run_on tmpfs

# --- Requests per small write, with and without v2.
# count_requests NAME [ENV...]: mount with -d, 400 4 KiB overwrites; puts
# "WRITE GETXATTR" counts in $T/NAME.count.
count_requests()
{
	local name=$1 fs=$T/ext4
	shift
	mkdir -p "$fs/$name"
	head -c 4M /dev/zero >"$fs/$name/w"
	pfs_mount_under env "$@" -- "$fs/$name" "$T/$name" -d || return
	stat "$T/$name/w" >/dev/null
	python3 - "$T/$name/w" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(400):
	os.pwrite(fd, b"\xa5" * 4096, i * 4096)
os.close(fd)
EOF
	# Not pfs_umount: a -d log is full of "error: -61" (ENODATA) replies.
	umount "$T/$name" || fail "umount $T/$name"
	wait "$PFS_PID" || fail "daemon $name exit status"
	echo "$(grep -ac 'opcode: WRITE' "$PFS_LOG")" \
		"$(grep -ac 'opcode: GETXATTR' "$PFS_LOG")" >"$T/$name.count"
}
count_requests v2
count_requests v1 PREALLOCFS_KILLPRIV_V2=0
# v2: the kernel asks once per inode (then marks it S_NOSEC), at most.
read -r w x <"$T/v2.count"
expect_eq "KILLPRIV_V2: 400 small writes = 400 WRITE requests" 400 "$w"
if fuse_has_killpriv_v2; then
	check "KILLPRIV_V2: at most one GETXATTR for 400 writes (got $x)" \
		test "$x" -le 1
else
	# libfuse 3.14 (-Dlibfuse=system on Debian 12) cannot negotiate it.
	expect_eq "libfuse $PFS_FUSE_VERSION: no KILLPRIV_V2, a GETXATTR per write" \
		400 "$x"
fi
expect_eq "control, PREALLOCFS_KILLPRIV_V2=0: a GETXATTR before every write" \
	"400 400" "$(cat "$T/v1.count")"

done_testing
