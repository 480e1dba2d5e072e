#!/usr/bin/env bash
# t_own_allocs.sh - the profiler's own allocations never appear: no frame inside
# audioprof (profile_write, symbols_resolve, ...) or the libraries it calls (libdw,
# libelf, libunwind, jansson), even with the writer thread symbolizing and writing a
# snapshot every 10 ms while 4 threads churn; and the totals still equal the sums.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog threads exact
make_tmp

mkdir "$tmp/a" "$tmp/b"
env AUDIOPROF_INTERVAL=10ms AUDIOPROF_OUT="$tmp/a/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/threads" 60000 >/dev/null 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "threads failed"; }
env AUDIOPROF_INTERVAL=1ms AUDIOPROF_OUT="$tmp/b/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/exact" 2>"$tmp/err" ||
	{ cat "$tmp/err"; fail "exact failed"; }
for f in "$tmp"/a/*.json "$tmp"/b/*.json; do
	check_py "$f" <<'PY' || exit 1
p = load_checked(sys.argv[1])
for pp in p["pps"]:
    for fr in frames(p, pp)[1:]:
        ok("libaudioprof" not in fr, "a frame in libaudioprof.so below frame 0: %s" % describe(p, pp, 8))
done()
PY
done
echo "ok"
