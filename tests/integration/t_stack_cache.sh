#!/usr/bin/env bash
# t_stack_cache.sh - one allocating function reached through different callers and
# recursion depths, interleaved (tests/progs/stackcache.c): each call path is its own
# pp with its exact count, with the per-thread stack cache on and off; AUDIOPROF_DEPTH
# caps the callers recorded below the allocator's frame (default 32, here also 8).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog stackcache
make_tmp

n=0
for opts in "AUDIOPROF_STACK_CACHE=1" "AUDIOPROF_STACK_CACHE=0" "AUDIOPROF_DEPTH=8"; do
	n=$((n + 1))
	mkdir "$tmp/r$n"
	env $opts AUDIOPROF_OUT="$tmp/r$n/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/stackcache" 2>"$tmp/err" ||
		{ cat "$tmp/err"; fail "stackcache failed ($opts)"; }
	[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty ($opts)"; }
	f=$(one_profile "$tmp/r$n") || exit 1
	echo "$opts: $f"
	depth=32; [ "$opts" = AUDIOPROF_DEPTH=8 ] && depth=8
	cached=1; [ "$opts" = AUDIOPROF_STACK_CACHE=0 ] && cached=0
	check_py "$f" "$depth" "$cached" <<'PY' || exit 1
p = load_checked(sys.argv[1])
depth = int(sys.argv[2])
eq("audioprof.depth", p.get("audioprof", {}).get("depth"), depth)
sc = p["audioprof"]["stack_cache"]
captures = p["audioprof"]["totals"]["total_k"]
if sys.argv[3] == "1":
    ok(sc["hits"] > sc["misses"] > 0, "stack cache on: hits %r" % sc)
    eq("stack cache on: captures", sc["hits"] + sc["misses"] + sc["uncacheable"], captures)
else:
    ok(sc["hits"] == 0 and sc["misses"] == 0, "stack cache off: hits or misses %r" % sc)
    eq("stack cache off: every capture unwound", sc["uncacheable"], captures)
pp = expect_pp(p, "shared_site", also="via_one", tb=2400, tbk=300, eb=0, mbk=1)
expect_chain(p, pp, "malloc", "shared_site")
pp = expect_pp(p, "shared_site", also="via_two", tb=1600, tbk=200, eb=0, mbk=1)
expect_chain(p, pp, "malloc", "shared_site")
if depth >= 8:
    expect_pp(p, "rec", count=3, tb=2400, tbk=150, eb=0, mbk=1)
if depth >= 10:
    expect_pp(p, "rec", count=5, tb=1600, tbk=100, eb=0, mbk=1)
pp = expect_pp(p, "deep_site", tb=320, tbk=10, eb=320, ebk=10, mb=320, mbk=10)
if pp:
    # AUDIOPROF_DEPTH counts the callers below the allocator frame (frame 0).
    eq("deep_site: frames (allocator + AUDIOPROF_DEPTH callers)", len(pp["fs"]), depth + 1)
    fn = funcs(p, pp)
    eq("deep_site: frame 0", fn[0], "malloc")
    eq("deep_site: frame 1", fn[1], "deep_site")
    ok(all(f == "deep" for f in fn[2:]), "deep_site: frames 2.. should all be deep: %s" % fn)
done()
PY
done
echo "ok"
