#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A detached daemon (as mount(8), an fstab line or the mount helper start
# it) logs to syslog: the capability line as daemon.info, a refused growth as
# daemon.warning, and nothing on stderr.  The syslog daemon is a receiver of
# ours at /dev/log: the test runs in a private mount namespace with a fresh
# /dev of its own, so the machine's /dev is never touched.
. "$(dirname "$0")/deploy.sh"
enter_private_ns "$0" "$@"
. "$(dirname "$0")/lib.sh"
[ -z "${PFS_NS_SKIP:-}" ] || skip "$PFS_NS_SKIP"
require_root_fuse
[ -x "$PFS_TOOL" ] || skip "pfs_tool not built: $PFS_TOOL"
detach_foreign_mounts

# A private /dev: only what the daemon needs, and our /dev/log.
mount -t tmpfs -o size=64k,mode=755 pfs-dev /dev || skip "cannot mount a private /dev"
_pfs_mounts+=(/dev)
mknod -m 666 /dev/fuse c 10 229 && mknod -m 666 /dev/null c 1 3 &&
	mknod -m 666 /dev/zero c 1 5 || skip "cannot make device nodes"
"$PFS_TOOL" syslog-recv /dev/log "$T/syslog.txt" 60 &
for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
check "a syslog receiver listens on /dev/log" test -S /dev/log

mk_fs tmpfs 16m "$T/b"
mkdir -p "$T/m"
# Daemon mode, as mount(8) runs it: the command returns once mounted.
"$PFS_BIN" "$T/b" "$T/m" 2>"$T/stderr"
expect_eq "daemon mode returns 0" 0 "$?"
_pfs_mounts+=("$T/m")
check "mounted" findmnt -rn -M "$T/m" -t fuse.preallocfs

# Control: the growth is refused (the log line is what we look for).
truncate -s 1G "$T/m/big" 2>/dev/null && fail "1G truncate on 16 MiB was accepted"
truncate -s 1M "$T/m/fits"
check "a growth that fits works" test "$(size "$T/b/fits")" = 1048576

umount "$T/m"
for _ in $(seq 50); do
	pgrep -f -x "$PFS_BIN $T/b $T/m" >/dev/null || break
	sleep 0.1
done
check "the daemon ended with the umount" \
	bash -c "! pgrep -f -x '$PFS_BIN $T/b $T/m' >/dev/null"
for _ in $(seq 50); do
	grep -q 'refused growth' "$T/syslog.txt" 2>/dev/null && break
	sleep 0.1
done

cat "$T/syslog.txt"
expect_eq "nothing on stderr from a detached daemon" 0 "$(wc -c <"$T/stderr")"
# <30> is daemon.info, <28> daemon.warning.
check "the capability line, as daemon.info" \
	grep -Eq '^<30>.*preallocfs\[[0-9]+\]: backing .*: tmpfs, fallocate works; guarantee full' "$T/syslog.txt"
check "the refusal, as daemon.warning, with path, size and errno" \
	grep -Eq '^<28>.*preallocfs\[[0-9]+\]: refused growth of /big to 1073741824 bytes \(\+1073741824\): No space left on device; [0-9]+ bytes free' "$T/syslog.txt"
check "the program name is not repeated" \
	bash -c "! grep -q 'preallocfs: preallocfs' '$T/syslog.txt'"

done_testing
