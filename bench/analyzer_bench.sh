#!/usr/bin/env bash
# analyzer_bench.sh - how fast the analyzer reads a big profile: generates a profile of
# about 100 MB (tests/gen_big_profile.py: ~200k program points of 8 to 32 frames, ~700k
# frame strings, two callbacks) in a temporary directory, then times `audioprof report`,
# `report --json`, `check`, `flame` and `diff` (the file against itself) on it, printing
# wall seconds and the peak resident memory of each. These are absolute figures for this
# machine (the aim: a 100 MB profile summarised in a few seconds with bounded memory);
# there is no baseline to divide by.
# Then the scaling of `diff` in callbacks: diff of two profiles of 8,000 and
# of 64,000 callbacks, and the ratio of the two CPU times measured in this run: 8 is
# linear, 64 would be quadratic.
#
# usage: analyzer_bench.sh [MEGABYTES]     (default 100; env BENCH_PROFILE_MB)
set -u
here=$(cd "$(dirname "$0")" && pwd)
ap=$here/../analyzer/audioprof
gen=$here/../tests/gen_big_profile.py
mb=${1:-${BENCH_PROFILE_MB:-100}}
[ -x "$ap" ] || { echo "analyzer_bench: $ap not built (make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "analyzer_bench: needs python3" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apbench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
prof=$tmp/big.json
echo "analyzer: generating a ${mb} MB profile ..."
python3 "$gen" "$prof" "$mb" || { echo "analyzer_bench: generator failed" >&2; exit 1; }
size=$(stat -c %s "$prof")

# measure LABEL ARGS...: best of 3 wall times, and the peak RSS, of `audioprof ARGS`.
measure() {
	local label=$1
	shift
	python3 - "$size" "$label" "$ap" "$@" <<'PY'
import resource, subprocess, sys, time
size, label, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
best, rss = None, 0
for _ in range(3):
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.monotonic() - t
    if r.returncode not in (0, 1):
        sys.stderr.write(r.stderr.decode(errors="replace"))
        sys.exit("analyzer_bench: %s exited %d" % (label, r.returncode))
    best = dt if best is None else min(best, dt)
    rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print("  %-22s %6.2f s   max RSS %6.1f MB   (%.0f MB/s)"
      % (label, best, rss / 1024.0, size / 1e6 / best))
PY
}

awk -v s="$size" -v p="$prof" 'BEGIN { printf "analyzer: %.1f MB profile (%s)\n", s / 1e6, p }'
measure "report" report "$prof" || exit 1
measure "report --json" report --json "$prof" || exit 1
measure "check" check --max-peak 1G "$prof" || exit 1
measure "flame" flame "$prof" || exit 1
measure "diff (itself)" diff "$prof" "$prof" || exit 1

# diff in callbacks: best of 3 wall times for 8k and 64k callbacks, and their ratio.
python3 - "$ap" "$here/../tests/fixtures/heap_basic.json" "$tmp" <<'PY' || exit 1
import json, resource, subprocess, sys
ap, src, d = sys.argv[1:4]
base = json.load(open(src))
def write(path, n, slower):
    cbs = [{"id": i, "api": "jack" if i % 2 else "alsa", "name": "cb%d" % (i // 2),
            "count": 1000, "p99_ns": 1100000 if slower and i % 100 == 0 else 1000000}
           for i in range(n)]
    if slower:
        cbs.reverse()
        for i, c in enumerate(cbs):
            c["id"] = i
    p = json.loads(json.dumps(base))
    p["audioprof"]["callbacks"] = cbs
    p["audioprof"]["violations"] = []
    json.dump(p, open(path, "w"))
times = {}
for n in (8000, 64000):
    a, b = "%s/cb%d_a.json" % (d, n), "%s/cb%d_b.json" % (d, n)
    write(a, n, False)
    write(b, n, True)
    best = None
    for _ in range(3):
        # CPU time (user + system) of the child: steadier than wall time on a busy machine.
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([ap, "diff", a, b], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        dt = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if r.returncode not in (0, 1):
            sys.exit("analyzer_bench: diff of %d callbacks exited %d" % (n, r.returncode))
        best = dt if best is None else min(best, dt)
    times[n] = best
    print("  %-22s %6.2f s CPU" % ("diff %dk callbacks" % (n // 1000), best))
print("  diff 64k/8k CPU ratio %7.1f   (8 = linear, 64 = quadratic)" % (times[64000] / times[8000]))
PY
