#!/usr/bin/env bash
# t_fork_debuginfo.sh - a process that forks does not keep the debug information the
# symbolizer no longer needs (preload/engine/runtime.c, symbolizer_main): every fork()
# copies its page tables (over 10 MB for a C library's). It used to go only after a
# second without a new allocation site, so a program that keeps making sites held it
# for good, even when every new site's frames were known. tests/progs/forkdebug.c forks
# while it makes a new site (a new path through known functions) every 10 ms, with a
# cold symbol cache: the extra mapping of its own file that libelf makes appears, then
# goes (before: still there after 2,000 steps), and its profile is exact and resolved
# to file and line. No time is measured: mappings are counted.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkdebug
make_tmp

export AUDIOPROF_FOLLOW_FORK=0 AUDIOPROF_SYMCACHE="$tmp/cache"
RUN_FG_TIMEOUT=100 run_fg ap "$BIN/forkdebug"
n=$(ls "$tmp/ap" | wc -l)
[ "$n" = 1 ] || { ls "$tmp/ap"; fail "$n profiles, expected 1 (children do not write one)"; }
grep -qx "loaded=1" "$tmp/ap.out" || { cat "$tmp/ap.out"; fail "the debug information was never mapped (a cold cache)"; }
grep -qx "released=1" "$tmp/ap.out" || { cat "$tmp/ap.out"; fail "the debug information was still mapped after 2,000 forks with known frames"; }
steps=$(sed -n 's/^steps=//p' "$tmp/ap.out")
note "steps (new sites and forks): $steps"
check_py "$tmp/ap" "$steps" <<'PY' || exit 1
import glob, os
p = load_checked(glob.glob(os.path.join(sys.argv[1], "p.*.json"))[0])
steps = int(sys.argv[2])
pps = pps_with(p, "leaf")
eq("sites through leaf", len(pps), steps)
eq("blocks through leaf", sum(pp["tbk"] for pp in pps), steps)
eq("bytes through leaf", sum(pp["tb"] for pp in pps), 32 * steps)
eq("live blocks through leaf at exit", sum(pp["ebk"] for pp in pps), steps)
ok(any(re.search(r": leaf \(forkdebug\.c:\d+\)$", f) for f in p["ftbl"]), "no frame 'leaf (forkdebug.c:N)'")
done()
PY
echo "ok"
