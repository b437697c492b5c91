#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-status: the machine-readable outputs, read with real parsers.
#   --stats --json MOUNTPOINT   python3's json module; after one 1 MiB growth
#                               and one refused 1 GiB growth on a 32 MiB
#                               ext4: growths 1, bytes_allocated 1048576,
#                               refused_enospc 1, every documented field
#                               present and an integer, equal to the text
#                               output's numbers.
#   --stats --prometheus        a parser of the text exposition format
#                               (below): HELP and TYPE before the samples of
#                               each family, valid metric and label names,
#                               escaped label values, float values, no
#                               duplicate series, counters named *_total;
#                               values equal to the JSON ones.
#   --check --json BACKING      the fields preallocfs(8) documents, with a
#                               filesystem mounted below the backing root
#                               (tmpfs) listed under "below".
#   bad input                   one line on stderr, exit status 1: --json
#                               with --prometheus, --prometheus with
#                               --check, --json with a mount, --stats of a
#                               directory that is not a preallocfs mount.
# Control: the same parsers reject a broken sample of each format, so a
# pass means something.
. "$(dirname "$0")/lib.sh"
require_loop
command -v python3 >/dev/null || skip "python3 is not installed"

mk_fs ext4 32M "$T/fs"
mkdir "$T/fs/backing" "$T/fs/backing/sub"
# A directory name that needs escaping in both formats.
mkdir -p "$T/mnt \"q\""
M="$T/mnt \"q\""
pfs_mount "$T/fs/backing" "$M" || done_testing
truncate -s 1M "$M/grown"
truncate -s 1G "$M/toobig" 2>/dev/null
check "the 1 GiB growth was refused" test "$(stat -c %s "$M/toobig")" -eq 0

"$PFS_BIN" --stats "$M" >"$T/stats.txt"
"$PFS_BIN" --stats --json "$M" >"$T/stats.json"
"$PFS_BIN" --stats --prometheus "$M" >"$T/stats.prom"
cat "$T/stats.json" "$T/stats.prom"

cat >"$T/check_json.py" <<'EOF'
import json, sys
FIELDS = ["growths", "bytes_allocated", "refused_enospc", "refused_edquot",
          "refused_efbig", "refused_other", "fallback_zero", "holes_filled",
          "log_suppressed"]
d = json.load(open(sys.argv[1]))
assert isinstance(d["mountpoint"], str) and d["mountpoint"] == sys.argv[2], d
for f in FIELDS:
	assert isinstance(d[f], int) and d[f] >= 0, f
assert set(d) == set(FIELDS) | {"mountpoint"}, sorted(d)
text = dict(l.split() for l in open(sys.argv[3]))
for f in FIELDS:
	assert int(text[f]) == d[f], (f, text[f], d[f])
print(d["growths"], d["bytes_allocated"], d["refused_enospc"])
EOF
expect_eq "--stats --json: growths, bytes, ENOSPC refusals" "1 1048576 1" \
	"$(python3 "$T/check_json.py" "$T/stats.json" "$M" "$T/stats.txt")"

# A small parser of Prometheus' text exposition format (version 0.0.4).
cat >"$T/check_prom.py" <<'EOF'
import json, re, sys
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
def parse(text):
	help_, type_, series, values = {}, {}, set(), {}
	for line in text.split("\n"):
		if not line:
			continue
		if line.startswith("# HELP ") or line.startswith("# TYPE "):
			kind, name, rest = line[2:6], *line[7:].split(" ", 1)
			assert NAME.match(name), name
			d = help_ if kind == "HELP" else type_
			assert name not in d, "second %s for %s" % (kind, name)
			if kind == "TYPE":
				assert rest in ("counter", "gauge", "untyped"), rest
				assert name not in {s[0] for s in series}, "TYPE after samples"
			d[name] = rest
			continue
		assert not line.startswith("#"), line
		m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
		assert m, "bad sample: " + line
		name, labels = m.group(1), m.group(3) or ""
		pairs = LABEL.findall(labels)
		rebuilt = ",".join('%s="%s"' % p for p in pairs)
		assert rebuilt == labels.rstrip(","), "bad labels: " + labels
		value = float(m.group(4))
		assert name in type_ and name in help_, "no TYPE/HELP before " + name
		if type_[name] == "counter":
			assert name.endswith("_total") and value >= 0, name
		key = (name, tuple(sorted(pairs)))
		assert key not in series, "duplicate series " + line
		series.add(key)
		lab = dict((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")) for k, v in pairs)
		values[name] = (lab, value)
	return values
if sys.argv[1] == "--selftest":
	bad = ['x_total 1\n',					# no TYPE
	       '# TYPE x_total counter\n# HELP x_total h\nx_total{a="1} 1\n',
	       '# TYPE x_total counter\n# HELP x_total h\nx_total 1\nx_total 2\n',
	       '# TYPE 1x counter\n']
	for b in bad:
		try:
			parse(b)
		except AssertionError:
			continue
		sys.exit("accepted: %r" % b)
	print("rejects broken samples")
	sys.exit(0)
v = parse(open(sys.argv[1]).read())
j = json.load(open(sys.argv[2]))
for f in j:
	if f == "mountpoint":
		continue
	lab, val = v["preallocfs_%s_total" % f]
	assert lab == {"mountpoint": j["mountpoint"]}, lab
	assert val == j[f], (f, val, j[f])
print(len(v), "series")
EOF
expect_eq "--stats --prometheus: parses, equals the JSON" "9 series" \
	"$(python3 "$T/check_prom.py" "$T/stats.prom" "$T/stats.json" 2>&1)"
expect_eq "control: the Prometheus parser rejects broken samples" \
	"rejects broken samples" "$(python3 "$T/check_prom.py" --selftest 2>&1)"
check "control: the JSON check rejects a missing field" \
	bash -c "! python3 '$T/check_json.py' <(echo '{\"mountpoint\": \"x\"}') x '$T/stats.txt' 2>/dev/null"

# --check --json, with a tmpfs mounted below the backing root.
mount -t tmpfs -o size=1m tmpfs "$T/fs/backing/sub" && _pfs_mounts+=("$T/fs/backing/sub")
"$PFS_BIN" --check --json "$T/fs/backing" >"$T/check.json"
cat "$T/check.json"
expect_eq "--check --json: the documented fields" \
	"ext2/ext3/ext4 works False full True 1 /sub tmpfs" \
	"$(python3 - "$T/check.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
keys = {"backing", "filesystem", "f_type", "fallocate", "copy_on_write",
        "largest_file_bytes", "free_bytes_users", "free_bytes_root",
        "reserved_bytes", "guarantee", "passthrough",
        "kernel_request_timeout_s", "below"}
assert set(d) == keys, sorted(d)
assert set(d["passthrough"]) == {"available", "unavailable_because", "on", "gives_up"}
assert d["free_bytes_root"] >= d["free_bytes_users"] > 0
assert d["largest_file_bytes"] > 1 << 40
assert isinstance(d["kernel_request_timeout_s"], int)
print(d["filesystem"], d["fallocate"], d["copy_on_write"],
      d["guarantee"].split(":")[0], isinstance(d["f_type"], int),
      len(d["below"]), d["below"][0]["path"], d["below"][0]["filesystem"])
EOF
)"

# Bad input: one line on stderr, status 1.
bad()
{
	local what=$1 out rc
	shift
	out=$("$PFS_BIN" "$@" 2>&1 >/dev/null)
	rc=$?
	expect_eq "$what: exit status" 1 "$rc"
	expect_eq "$what: one line on stderr" 1 "$(printf '%s\n' "$out" | wc -l)"
	echo "  ($out)"
}
bad "--json with --prometheus" --stats --json --prometheus "$M"
bad "--prometheus with --check" --check --prometheus "$T/fs/backing"
bad "--json with a mount" --json "$T/fs/backing" "$T/other"
bad "--stats --json of a plain directory" --stats --json "$T"

pfs_umount "$M"
done_testing
