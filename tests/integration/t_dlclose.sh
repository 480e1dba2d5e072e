#!/usr/bin/env bash
# t_dlclose.sh - frames in a module dlclose'd before exit are still symbolized
# (tests/progs/dlmod.c dlopens tests/progs/bin/libdlmod.so, calls dlmod_alloc ->
# dlmod_site -> malloc(4242), keeps the block, dlcloses the module, exits).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog libdlmod dlmod
make_tmp

mkdir "$tmp/a"
env AUDIOPROF_OUT="$tmp/a/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/dlmod" "$BIN/libdlmod.so" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/out" "$tmp/err"; fail "dlmod exited $rc"; }
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "stderr not empty"; }
grep -qx "dlmod ok" "$tmp/out" || fail "dlmod did not print 'dlmod ok'"
f=$(one_profile "$tmp/a") || exit 1
check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
pp = expect_pp(p, "dlmod_site", tb=4242, tbk=1, mb=4242, mbk=1, eb=4242, ebk=1)
expect_chain(p, pp, "malloc", "dlmod_site")
if pp:
    fr = frames(p, pp)
    fn = funcs(p, pp)
    ok("dlmod_alloc" in fn, "no dlmod_alloc frame: %s" % fr[:5])
    ok("main" in fn, "no main frame after the module's frames: %s" % fr[:6])
    site = [f for f in fr if func_name(f) == "dlmod_site"]
    ok(site and "libdlmod.c:" in site[0],
       "the dlclose'd module's frame should carry file:line from its debug info: %r" % site)
done()
PY
echo "ok"
