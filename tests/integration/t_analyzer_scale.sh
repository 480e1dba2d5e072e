#!/usr/bin/env bash
# t_analyzer_scale.sh - big inputs cost linear time: `audioprof diff` of two profiles with
# 100,000 callbacks each (matched by api and name, the k-th of a name with the k-th)
# finishes well inside the suite's timeout, and matches every one right: exactly the
# callbacks made slower are regressions, exactly the added and removed ones are new and
# gone. (Matching by a scan per callback took minutes here.) This is a bound,
# not a timing measurement; bench/analyzer_bench.sh reports the 8k/64k ratio.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_analyzer
make_tmp
N=100000

# Callbacks come in pairs of one (api, name): base lists the first of each pair, then
# the second; new lists them in reverse order, so the k-th with the k-th matters. Every
# 1000th name's pair is 10% slower in new (> --fail-p99-pct 5); base also has 50 names
# new lacks, new 70 that base lacks.
python3 - "$TESTS_DIR/fixtures/heap_basic.json" "$tmp" "$N" <<'PY' || fail "generator failed"
import json, sys
src, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = json.load(open(src))
def cb(api, name, p99):
    return {"api": api, "name": name, "count": 1000, "p99_ns": p99}
pairs = [("jack" if i % 2 == 0 else "alsa", "cb%d" % i) for i in range(n // 2)]
def side(new):
    cbs = []
    for copy in (0, 1):
        for i, (api, name) in enumerate(pairs):
            cbs.append(cb(api, name, 1100000 if new and i % 1000 == 0 else 1000000))
    if new:
        cbs.reverse()
        cbs += [cb("sdl", "fresh%d" % j, 5000) for j in range(70)]
    else:
        cbs += [cb("pulse", "old%d" % j, 5000) for j in range(50)]
    for i, c in enumerate(cbs):
        c["id"] = i
    p = json.loads(json.dumps(base))
    p["audioprof"]["callbacks"] = cbs
    p["audioprof"]["violations"] = []
    json.dump(p, open("%s/%s.json" % (d, "new" if new else "base"), "w"))
side(False)
side(True)
PY

timeout -k 5 90 "$AP" diff --color never "$tmp/base.json" "$tmp/new.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 124 ] || [ $rc -eq 137 ] && fail "diff of $N callbacks did not finish in 90 s"
[ $rc -eq 1 ] || { cat "$tmp/err"; fail "diff exited $rc, expected 1 (regressions)"; }
count() { grep -c -- "$1" "$tmp/out"; }
nreg=$(count "REGRESSION p99 of")
nnew=$(count "(new callback)")
ngone=$(count "(gone)")
[ "$nreg" -eq $((N / 1000)) ] || fail "$nreg p99 regressions, expected $((N / 1000))"
[ "$nnew" -eq 70 ] || fail "$nnew new callbacks, expected 70"
[ "$ngone" -eq 50 ] || fail "$ngone gone callbacks, expected 50"
# Every matched callback has a row with its change (0% or +10.0%).
nrows=$(grep -cE '^  (jack|alsa) "cb[0-9]+" +1\.00 ms +1\.(00|10) ms +(0%|\+10\.0%)$' "$tmp/out")
[ "$nrows" -eq "$N" ] || { grep -m3 'cb[0-9]' "$tmp/out"; fail "$nrows matched rows, expected $N"; }
echo "ok: diff of $N callbacks: $nreg regressions, $nnew new, $ngone gone, $nrows matched"
