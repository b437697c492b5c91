#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Static analysis, run by meson as the tests "cppcheck" and "clang-tidy"
# (plain build only).  usage: lint.sh cppcheck|clang-tidy SRCDIR BUILDDIR
#
# The level, and why:
#   cppcheck --enable=warning,portability,performance on the daemon (fs/,
#     include/) and on the test programs (tests/unit, tests/integration):
#     real bugs and undefined behaviour; "style" is left to review and the
#     compiler's -Wall -Wextra -Werror.  Under a second.
#   clang-tidy clang-analyzer-* (the path-sensitive Clang Static Analyzer)
#     and bugprone-* on the daemon (fs/*.c), the code that ships: about 10 s.
#     Not on the test programs (35 s more, and mostly leaks on the error
#     paths of short-lived tools).  Checks left out, for all files:
#       clang-analyzer-security.insecureAPI.*  advice to use C11 Annex K
#         functions (memset_s...) that glibc does not have
#       clang-analyzer-valist.Uninitialized    false positive on every
#         va_start + vsnprintf pair here (clang 14)
#       bugprone-easily-swappable-parameters, -assignment-in-if-condition,
#       -reserved-identifier, -narrowing-conversions  style, or off_t/size_t
#         noise on every syscall wrapper
#       bugprone-sizeof-expression  flags calloc(n, sizeof(*p)) for arrays
#         of pointers, the idiom STYLE.md asks for
# Per-file suppressions, each with its reason, are in the tables below.
set -u
tool=$1 src=$2 build=$3
cd "$src" || exit 1
if ! command -v "$tool" >/dev/null 2>&1; then
	echo "SKIP: $tool is not installed (scripts/deps.sh installs it)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi

# "FILE CHECK  reason" (clang-tidy): the check is not run on that file.
tidy_suppress=(
	# False positive: in pfs_create, on the path where the open of
	# /proc/self/fd fails (pfd == -1), the analyzer assumes that
	# ret = pfs_neg_errno() may be >= 0 and then reads e.ino unset.
	# pfs_neg_errno() is never >= 0 (errno, else -EIO); even a local copy
	# of errno and "err > 0 ? -err : -EIO" did not convince clang 14.
	# TODO(ops_file.c owner): initialise e (= { 0 }) to drop this line.
	"fs/ops_file.c clang-analyzer-core.CallAndMessage"
)

case $tool in
cppcheck)
	# Suppressions, each with its reason:
	#  varFuncNullUB: the NULL sentinel of test_config.c's do_parse();
	#    glibc's NULL is (void *)0, which is what a varargs pointer wants.
	#  memleak/resourceLeak in pfs_tool.c: subcommands return to main() on
	#    an error and the process exits at once.
	#  uninitvar in posix_smoke.c: names[] is read only up to k, the count
	#    of entries filled (a false positive).
	exec cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,portability,performance --std=c11 \
		-D_GNU_SOURCE -D__linux__ -I include -I "$build" \
		--suppress=missingIncludeSystem \
		--suppress=varFuncNullUB:tests/unit/test_config.c \
		--suppress=memleak:tests/integration/pfs_tool.c \
		--suppress=resourceLeak:tests/integration/pfs_tool.c \
		--suppress=uninitvar:tests/integration/posix_smoke.c \
		--template='{file}:{line}: {severity} [{id}] {message}' \
		fs tests/unit tests/integration
	;;
clang-tidy)
	checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.*'
	checks+=',-clang-analyzer-valist.Uninitialized,bugprone-*'
	checks+=',-bugprone-easily-swappable-parameters'
	checks+=',-bugprone-assignment-in-if-condition'
	checks+=',-bugprone-reserved-identifier,-bugprone-narrowing-conversions'
	checks+=',-bugprone-sizeof-expression'
	rc=0
	for f in fs/*.c; do
		c=$checks
		for s in "${tidy_suppress[@]}"; do
			read -r sf sc <<<"$s"
			[ "$sf" = "$f" ] && c+=",-$sc"
		done
		out=$(clang-tidy -p "$build" --quiet --checks="$c" \
			--warnings-as-errors='*' "$f" 2>&1) || { rc=1; echo "$out"; }
	done
	[ "$rc" -eq 0 ] && echo "clang-tidy: fs/*.c clean"
	exit "$rc"
	;;
*)
	echo "usage: lint.sh cppcheck|clang-tidy SRCDIR BUILDDIR" >&2
	exit 2
	;;
esac
