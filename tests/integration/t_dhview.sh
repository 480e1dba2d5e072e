#!/usr/bin/env bash
# t_dhview.sh - the profile of tests/progs/exact.c (and of the C++, threads and dlclose
# programs) loads unmodified in valgrind's dh_view (tests/integration/dhview_load.js).
. "$(dirname "$0")/lib/common.sh"
need_preload
[ -f "$DHVIEW_LOAD" ] || skip "$DHVIEW_LOAD not written yet"
command -v node >/dev/null || skip "node not installed"
build_prog exact cxxnew threads libdlmod dlmod
make_tmp

mkdir "$tmp/a"
env AUDIOPROF_OUT="$tmp/a/exact.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/exact" || fail "exact failed"
env AUDIOPROF_OUT="$tmp/a/cxxnew.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/cxxnew" >/dev/null || fail "cxxnew failed"
env AUDIOPROF_OUT="$tmp/a/threads.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/threads" 2000 >/dev/null || fail "threads failed"
env AUDIOPROF_OUT="$tmp/a/dlmod.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/dlmod" "$BIN/libdlmod.so" >/dev/null || fail "dlmod failed"
for f in "$tmp"/a/*.json; do
	node "$DHVIEW_LOAD" "$f" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "$(basename "$f") does not load in dh_view"; }
	echo "$(basename "$f"): loads"
done
echo "ok"
