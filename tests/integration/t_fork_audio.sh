#!/usr/bin/env bash
# t_fork_audio.sh - a forked child's profile starts its audio data afresh, like its heap
# totals: the child's region shows only its own 3 clean cycles and no violation; the
# parent's shows all 12 of its cycles and its 5 callback allocations (tests/progs/forkrt.c).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkrt
make_tmp

mkdir -p "$tmp/out"
AUDIOPROF_OUT="$tmp/out/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/forkrt" >"$tmp/stdout" ||
	fail "forkrt failed"
grep -qx "forkrt ok 5" "$tmp/stdout" || fail "unexpected output: $(cat "$tmp/stdout")"
n=$(ls "$tmp/out" | wc -l)
[ "$n" -eq 2 ] || fail "expected 2 profiles (parent and child), got $n"
check_py "$tmp/out" <<'PY' || exit 1
import glob, os
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))
seen = {}
for f in files:
    p = load_checked(f)
    regions = [c for c in p["audioprof"]["callbacks"] if c["api"] == "region" and c["name"] == "forkrt"]
    eq(os.path.basename(f) + " region sources", len(regions), 1)
    c = regions[0]
    viol = sum(v["count"] for v in p["audioprof"]["violations"] if v["kind"] == "alloc")
    seen[c["count"]] = (c["allocs"], viol)
eq("cycles per profile", sorted(seen), [3, 12])
eq("child: allocations, violations", seen[3], (0, 0))
eq("parent: allocations, violations", seen[12], (5, 5))
done()
PY
echo "ok"
