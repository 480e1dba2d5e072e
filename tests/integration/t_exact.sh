#!/usr/bin/env bash
# t_exact.sh - every DHAT field of tests/progs/exact.c's sites, exactly (the table is in
# exact.c): tb tbk mb mbk (the site's own maximum; DHAT gets site_b wrong) gb gbk (at
# the first time the global peak was reached; site_g returns to the same peak later and
# must not move it) eb ebk (leaks), slk (with AUDIOPROF_SHORT_LIVED=3600s every freed
# block is short-lived), totals == sums, te >= tg. Stack cache on and off alike.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog exact
make_tmp

for cache in 1 0; do
	mkdir "$tmp/c$cache"
	env AUDIOPROF_OUT="$tmp/c$cache/p.%p.json" AUDIOPROF_SHORT_LIVED=3600s \
		AUDIOPROF_STACK_CACHE=$cache LD_PRELOAD="$PRELOAD" "$BIN/exact" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "exact exited $rc (stack cache $cache)"; }
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "the preload wrote to stderr"; }
	[ -s "$tmp/out" ] && fail "stdout not empty"
	f=$(one_profile "$tmp/c$cache") || exit 1
	echo "stack cache $cache: $f"
	check_py "$f" "$BIN/exact" <<'PY' || exit 1
p = load_checked(sys.argv[1])
exe = sys.argv[2]
eq("cmd", p.get("cmd"), exe)
name = os.path.basename(sys.argv[1])
eq("pid from the file name", p.get("pid"), int(name.split(".")[1]))
ap = p.get("audioprof", {})
eq("audioprof.reason", ap.get("reason"), "exit")
eq("audioprof.signal", ap.get("signal"), 0)
eq("audioprof.depth", ap.get("depth"), 32)
eq("audioprof.threads", ap.get("threads"), 1)
eq("tuth (AUDIOPROF_SHORT_LIVED=3600s)", p.get("tuth"), 3600 * 10**9)
ok(ap.get("own_bytes", 0) > 0, "audioprof.own_bytes should be > 0")
ok(ap.get("peak_rss", 0) > 0, "audioprof.peak_rss should be > 0")

#           tb    tbk mb    mbk gb    gbk eb    ebk freed first
table = {
  "site_a": (1000, 10, 1000, 10, 500,  5, 500,  5, 5, "malloc"),
  "site_b": (20,   2,  20,   2,  0,    0, 0,    0, 2, "malloc"),
  "site_h": (1050, 6,  1000, 5,  50,   5, 50,   5, 1, "malloc"),
  "site_c": (8000, 4,  8000, 4,  8000, 4, 0,    0, 4, "malloc"),
  "site_d": (900,  3,  900,  3,  900,  3, 900,  3, 0, "malloc"),
  "site_e": (200,  1,  200,  1,  200,  1, 200,  1, 0, "calloc"),
  "site_f": (7500, 3,  7500, 3,  0,    0, 5000, 2, 1, "malloc"),
  "site_g": (3000, 1,  3000, 1,  0,    0, 0,    0, 1, "malloc"),
}
te = p.get("te", 0)
for site, (tb, tbk, mb, mbk, gb, gbk, eb, ebk, freed, first) in table.items():
    pp = expect_pp(p, site, tb=tb, tbk=tbk, mb=mb, mbk=mbk, gb=gb, gbk=gbk, eb=eb, ebk=ebk,
                   slk=freed)
    if pp is None:
        continue
    expect_chain(p, pp, first, site)
    fn = funcs(p, pp)
    ok("main" in fn, "%s: no main frame: %s" % (site, fn))
    tl = pp.get("tl", 0)
    ok(is_int(tl) and tl <= tbk * te, "%s: tl %r > tbk*te" % (site, tl))
    if ebk:
        ok(tl > 0, "%s: blocks live at exit but tl == 0" % site)

# Only the program's sites: it makes no other allocation (no stdio).
others = [pp for pp in p["pps"] if not any(f in table for f in funcs(p, pp))]
for pp in others:
    info("other pp (libc/loader?): " + describe(p, pp))
if not others:
    tot = ap.get("totals", {})
    eq("totals.max_b (the peak)", tot.get("max_b"), 9650)
    eq("totals.max_k", tot.get("max_k"), 18)
    eq("totals.curr_b", tot.get("curr_b"), 6650)
    eq("totals.curr_k", tot.get("curr_k"), 16)
    eq("totals.total_b", tot.get("total_b"), 21670)
    eq("totals.total_k", tot.get("total_k"), 30)
    eq("totals.frees", tot.get("frees"), 14)
done()
PY
done

# Default threshold: tuth is 1 ms.
mkdir "$tmp/d"
env AUDIOPROF_OUT="$tmp/d/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/exact" || fail "exact exited $?"
f=$(one_profile "$tmp/d") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
eq("tuth default (1 ms)", p.get("tuth"), 1000000)
done()
PY
echo "ok"
