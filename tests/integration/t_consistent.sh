#!/usr/bin/env bash
# t_consistent.sh - a profile adds up even when no moment of the program is quiet.
# tests/progs/churnexit.c: 3 threads allocate and free without pause (the heap's maximum
# moving, blocks freed by other threads) while the writer takes a snapshot every 2 ms,
# and main exits while they still churn. Every snapshot the program caught (hard links
# of each file renamed into place) and the exit profile must satisfy the exact identities
# of audioprof-json(5): each audioprof.totals field == the sum over the pps (curr_b, curr_k,
# max_b, max_k, total_b, total_k), frees == total_k - curr_k, curr_b <= max_b, and every
# per-pp inequality. 6 runs: before the writer summed its own site reads, the totals
# came from a second pass over the sites and nearly every profile was off by a few blocks.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog churnexit
make_tmp

runs=${CONSISTENT_RUNS:-6}
nsnap=0
for r in $(seq 1 "$runs"); do
	mkdir -p "$tmp/r$r/snaps"
	env AUDIOPROF_INTERVAL=2ms AUDIOPROF_OUT="$tmp/r$r/p.json" LD_PRELOAD="$PRELOAD" \
		"$BIN/churnexit" "$tmp/r$r/p.json" "$tmp/r$r/snaps" 300 >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "churnexit exited $rc (run $r)"; }
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty (run $r)"; }
	[ -f "$tmp/r$r/p.json" ] || fail "no exit profile (run $r)"
	k=$(cat "$tmp/out")
	nsnap=$((nsnap + k))
	check_py "$tmp/r$r/p.json" "$tmp/r$r"/snaps/*.json <<'PY' || exit 1
final = load_checked(sys.argv[1])
eq("exit profile: audioprof.reason", reason(final), "exit")
tb = {}
for f in sys.argv[2:]:
    if not f.endswith(".json") or "*" in f:
        continue
    p = load_checked(f)
    ok(reason(p) == "snapshot" or f == sys.argv[-1],
       "%s: reason %r (only the last file caught may be the exit profile)" % (f, reason(p)))
# The workers' sites exist in the exit profile, with blocks live (they never stop).
for site in ("c_small", "c_big"):
    pp = pp_with(final, site)
    ok(pp is not None and pp.get("tbk", 0) > 0, "exit profile: no allocation at %s" % site)
done()
PY
done
[ "$nsnap" -ge "$runs" ] || fail "only $nsnap snapshots caught in $runs runs: the test checked too little"
echo "$runs runs: $nsnap snapshots and $runs exit profiles add up"
echo "ok"
