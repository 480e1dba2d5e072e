#!/usr/bin/env bash
# t_dlclose_dep.sh - frames in a module that dlclose unloads along with the handle's
# own (a dependency) are resolved before it goes, against that module: never "???",
# nor a module mapped at its addresses later. tests/progs/dldep.c dlopens
# libdltop.so, whose dependency libdldep.so allocates in its constructor, and dlcloses
# it while no other thread can read the module list (see dldep.c), with a cold symbol
# cache: only the dlclose hook can name that frame.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog libdlmod libdldep libdltop dldep
make_tmp

mkdir "$tmp/a"
env AUDIOPROF_OUT="$tmp/a/p.%p.json" AUDIOPROF_SYMCACHE="$tmp/symcache" LD_PRELOAD="$PRELOAD" \
	"$BIN/dldep" "$BIN" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/out" "$tmp/err"; fail "dldep exited $rc"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
grep -qx "dldep ok" "$tmp/out" || fail "dldep did not print 'dldep ok'"
f=$(one_profile "$tmp/a") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
pp = expect_pp(p, "dldep_init", tb=4243, tbk=1, eb=4243, ebk=1)
if pp is None:
    info("the 4243-byte block's frames: %s" % [describe(p, q) for q in p["pps"] if q.get("tb") == 4243])
expect_chain(p, pp, "malloc", "dldep_init")
if pp:
    fr = frames(p, pp)
    ok("libdldep.c:" in fr[1], "the constructor's frame should carry file:line: %r" % fr[1])
    ok("main" in funcs(p, pp), "no main frame: %s" % fr)
expect_pp(p, "dlmod_site", tb=4242, tbk=1)
done()
PY
echo "ok"
