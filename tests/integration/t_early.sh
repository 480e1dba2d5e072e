#!/usr/bin/env bash
# t_early.sh - allocations before main (a constructor(101) and a C++ static initializer)
# and in an atexit() handler are counted; a destructor that allocates after the profile
# does not crash anything (tests/progs/early.cc).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog early
make_tmp

same_behaviour "$tmp/a" "$BIN/early" || fail "early behaves differently under the preload"
grep -qx "early ok" "$tmp/pre.out" || fail "early did not print 'early ok'"
f=$(one_profile "$tmp/a") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
pp = expect_pp(p, "early_site", tb=555, tbk=1, eb=555, ebk=1)
expect_chain(p, pp, "malloc", "early_site")
pp = expect_pp(p, "static_site", tb=666, tbk=1, eb=666, ebk=1)
expect_chain(p, pp, "malloc", "static_site", middle=is_operator_new)
pp = expect_pp(p, "atexit_site", tb=88, tbk=1, eb=88, ebk=1)
expect_chain(p, pp, "malloc", "atexit_site")
for pp in pps_with(p, "dtor_site"):
    info("destructor allocation recorded too: " + describe(p, pp))
done()
PY
echo "ok"
