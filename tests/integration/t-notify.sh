#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-notify: the daemon's side of systemd's notify protocol (the template
# unit is Type=notify), with a stand-in for systemd: a python3 listener on
# an AF_UNIX datagram socket named by NOTIFY_SOCKET (a path, then an
# abstract '@' name).  No running systemd is needed.
#   - READY=1 comes once, with MAINPID= the daemon's PID, and only when the
#     mount answers: the listener stats the mount point the moment READY=1
#     arrives and must find the FUSE mount there (another device than its
#     parent directory).
#   - STATUS= lines carry the counters: after a growth and a refused growth
#     on a full filesystem, a STATUS= line says "1 growths" and
#     "1 refused (ENOSPC 1".
#   - SIGTERM: STOPPING=1 arrives, then the daemon unmounts and exits 0.
# Control: without NOTIFY_SOCKET the listener receives nothing.
. "$(dirname "$0")/lib.sh"
require_loop
command -v python3 >/dev/null || skip "python3 is not installed"

mk_fs ext4 32M "$T/fs"
mkdir "$T/fs/backing"

cat >"$T/listen.py" <<'EOF'
# listen.py ADDRESS MOUNTPOINT SECONDS: print every datagram as one line
# (newlines shown as '|'); on READY=1 also "mounted-at-ready yes|no".
import os, socket, sys, time
addr, mnt, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
print("listening", flush=True)
end = time.time() + secs
while time.time() < end:
	s.settimeout(max(0.05, end - time.time()))
	try:
		d = s.recv(4096).decode()
	except socket.timeout:
		break
	print(d.replace("\n", "|"), flush=True)
	if "READY=1" in d.split("\n"):
		parent = os.stat(os.path.dirname(mnt)).st_dev
		print("mounted-at-ready",
		      "yes" if os.stat(mnt).st_dev != parent else "no", flush=True)
	if "STOPPING=1" in d.split("\n"):
		break
EOF

# listen NAME ADDRESS SECONDS: start the listener in the background, wait
# until its socket is bound; output in $T/NAME.out.
listen()
{
	python3 "$T/listen.py" "$2" "$T/mnt-$1" "$3" >"$T/$1.out" &
	LISTENER=$!
	for _ in $(seq 100); do
		grep -q listening "$T/$1.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "listener $1 did not start"
}

# run NAME ADDRESS: the whole protocol with one address.
run()
{
	local name=$1 addr=$2 out=$T/$1.out
	local m=$T/mnt-$name
	listen "$name" "$addr" 30
	mkdir -p "$m"
	NOTIFY_SOCKET=$addr pfs_mount "$T/fs/backing" "$m" || return
	local pid=$PFS_PID
	# A growth, then one that cannot fit (ENOSPC).
	truncate -s 1M "$m/grown-$name"
	truncate -s 1G "$m/toobig-$name" 2>/dev/null
	# STATUS= is refreshed every 2 s when the counters change.
	for _ in $(seq 60); do
		grep -q '^STATUS=1 growths.*1 refused (ENOSPC 1' "$out" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	expect_eq "$name: daemon exit status after SIGTERM" 0 "$?"
	wait "$LISTENER"
	cat "$out"
	expect_eq "$name: one READY=1" 1 "$(grep -c '^READY=1|' "$out")"
	check "$name: READY=1 carries MAINPID=$pid" \
		grep -q "^READY=1|MAINPID=$pid|STATUS=0 growths" "$out"
	expect_eq "$name: the mount answered when READY=1 came" \
		"mounted-at-ready yes" "$(grep '^mounted-at-ready' "$out")"
	check "$name: STATUS= shows the growth and the ENOSPC refusal" \
		grep -q '^STATUS=1 growths (1.0 MiB allocated), 1 refused (ENOSPC 1, EDQUOT 0, EFBIG 0, other 0)$' "$out"
	check "$name: STOPPING=1 on SIGTERM, last" \
		bash -c "tail -n 1 '$out' | grep -q '^STOPPING=1|STATUS=SIGTERM'"
	check "$name: unmounted" test -z "$(findmnt -rn -M "$m")"
}

run path "$T/notify.sock"
run abstract "@pfs-test-notify-$$-$RANDOM"

# Control: no NOTIFY_SOCKET, nothing sent.
listen control "$T/control.sock" 3
pfs_mount "$T/fs/backing" "$T/mnt-control" || done_testing
truncate -s 2M "$T/mnt-control/more"
sleep 2.5
pfs_umount "$T/mnt-control"
wait "$LISTENER"
expect_eq "control: nothing received without NOTIFY_SOCKET" listening \
	"$(cat "$T/control.out")"

done_testing
