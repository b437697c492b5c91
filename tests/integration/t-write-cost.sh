#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-write-cost: what one small write inside a file costs the daemon, counted
# with strace on its threads over 400 4 KiB pwrite()s through the mount.
#   root caller: 4 system calls a write (read the request, fstat for the
#                growth rule, pwrite, writev the reply), and nothing else:
#                no getxattr (KILLPRIV_V2), no splice for 4 KiB;
#   user caller: 4 more (setfsuid/setfsgid there and back: a write that
#                fills a hole allocates as its caller, for the root reserve
#                and quotas).
# Control: the counts are only worth something if strace sees the daemon's
# work at all: at least 400 pwrite64 calls must be counted.
. "$(dirname "$0")/lib.sh"
require_loop
require_setpriv
for t in strace python3; do
	command -v "$t" >/dev/null || skip "$t is not installed (scripts/deps.sh)"
done

mk_fs ext4 64M "$T/fs"
chmod 0755 "$T" "$T/fs"
mkdir -m 0777 "$T/fs/backing"
head -c 4M /dev/zero >"$T/fs/backing/w"
chmod 0666 "$T/fs/backing/w"
mkdir -m 0755 "$T/mp"
pfs_mount "$T/fs/backing" "$T/mp/mnt" -o allow_other || done_testing
stat "$T/mp/mnt/w" >/dev/null
py=$(command -v python3)
# pyenv's shims live under /root: a user needs the real interpreter.
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

cat >"$T/pw.py" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(400):
	os.pwrite(fd, b"\xa5" * 4096, i * 4096)
os.close(fd)
EOF
chmod 0644 "$T/pw.py"

# count NAME COMMAND...: strace -c the daemon while COMMAND runs; the
# summary goes to $T/NAME.strace.
count()
{
	local name=$1
	shift
	strace_daemon "$T/$name.strace" -c -- "$@"
}

calls()
{
	awk -v s="$2" '$NF == s { print ($4 ~ /^[0-9]+$/) ? $4 : $3; f = 1 }
		END { if (!f) print 0 }' "$T/$1.strace"
}

count root "$py" "$T/pw.py" "$T/mp/mnt/w"
count user setpriv --reuid=1235 --regid=1235 --clear-groups -- \
	"$py" "$T/pw.py" "$T/mp/mnt/w"
cat "$T/root.strace" "$T/user.strace"

for who in root user; do
	n=$(calls "$who" pwrite64)
	check "$who: strace saw the 400 backing writes ($n pwrite64)" \
		test "$n" -ge 400
	# A few at open (ACL checks of the caller), none per write; with
	# libfuse < 3.17 (no KILLPRIV_V2) one per write, which the totals
	# below then allow for.
	if fuse_has_killpriv_v2; then
		check "$who: no getxattr per write ($(calls "$who" getxattr))" \
			test "$(calls "$who" getxattr)" -le 8
	fi
	check "$who: no splice for 4 KiB writes ($(calls "$who" splice))" \
		test "$(calls "$who" splice)" -le 2
done
# Totals include attaching, the open/close and libfuse starting a worker
# thread (clone3, mmap, madvise...; more under ASan): allow 200 calls for
# those, half a call per write, where one more call per write adds 400;
# without KILLPRIV_V2, 3 more per write (the GETXATTR request: read,
# fgetxattr, reply) and one for luck.
extra=0
fuse_has_killpriv_v2 || extra=4
t=$(calls root total)
check "root: at most 4 system calls a write ($t for 400)" \
	test "$t" -le $((400 * (4 + extra) + 200))
t=$(calls user total)
check "user: at most 8 system calls a write ($t for 400)" \
	test "$t" -le $((400 * (8 + extra) + 200))

pfs_umount "$T/mp/mnt"
done_testing
