#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every test: install what is missing, build three times and run:
#   build       plain: the whole meson test suite, with the static
#               analysis (suite lint: cppcheck, clang-tidy)
#   build-asan  AddressSanitizer + UBSan: the whole suite but lint
#   build-tsan  ThreadSanitizer: the unit suite (the allocation engine's
#               threaded race test)
# Each build directory builds the libfuse that scripts/deps.sh fetched, if
# the system's is too old, once more (a few seconds): it is compiled with
# that build's sanitizers.
# The last line is "N passed, N failed, N skipped".
#
# Integration tests need root, /dev/fuse and loop devices; without them they
# are skipped, except under CI=true, where a skip is a failure.
set -u
cd "$(dirname "$0")/.."

# deps.sh names every missing command and its package on one line.
scripts/deps.sh || { echo "test: stopped: missing dependencies (see the line above)" >&2; exit 1; }

passed=0
failed=0
skipped=0

# run_suite BUILDDIR [meson setup options...] [-- meson test options...]
run_suite()
{
	local dir=$1 setup=() testopts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		setup+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	testopts=("$@")
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "${setup[@]}" >/dev/null || return 1
	else
		meson setup "$dir" "${setup[@]}" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
	echo "== tests in $dir ${setup[*]} ${testopts[*]} ($("$dir/fs/preallocfs" --version | sed -n 2p))"
	meson test -C "$dir" --print-errorlogs --num-processes "$(nproc)" \
		"${testopts[@]}"
	# Count from meson's machine-readable log, one JSON object a line
	# (grep -c prints 0 but exits 1 when nothing matches: hence || true).
	local log=$dir/meson-logs/testlog.json ok bad skip
	ok=$(grep -c '"result": "OK"' "$log" || true)
	bad=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	skip=$(grep -c '"result": "SKIP"' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	skipped=$((skipped + skip))
	return 0
}

# A build that does not even configure or compile counts as one failure.
run_suite build || failed=$((failed + 1))
ASAN_OPTIONS=detect_leaks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false ||
	failed=$((failed + 1))
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	run_suite build-tsan -Db_sanitize=thread -Db_lundef=false -- \
	--suite unit || failed=$((failed + 1))

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
