#!/usr/bin/env bash
# t_tramp_bench.sh - bench/trampoline_bench (the per-callback overhead `make bench`
# prints) builds, runs under the preload with a small N, and its callbacks are all
# counted: the JACK source registered through bench/fakejack.c has exactly 7 x N
# callbacks (7 rounds through the trampoline), the region source 7 x N too, and the
# trampoline's user argument reached the callback (the bench checks it). No timing
# is asserted.
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp
[ -f "$ROOT/bench/Makefile" ] && [ -f "$ROOT/bench/trampoline_bench.c" ] || skip "no bench/trampoline_bench.c"
make -s -C "$ROOT/bench" bin/trampoline_bench >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "cannot build trampoline_bench"; }
n=1000
env AUDIOPROF_OUT="$tmp/p.json" LD_PRELOAD="$PRELOAD" "$ROOT/bench/bin/trampoline_bench" $n >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out"; fail "trampoline_bench failed"; }
cat "$tmp/out"
grep -q 'through the trampoline' "$tmp/out" || fail "no trampoline line in the output"
grep -q 'NOT under the preload' "$tmp/out" && fail "the bench did not see the preload"
check_py "$tmp/p.json" $n <<'PY' || exit 1
from audiochk import *
p = load_audio(sys.argv[1])
n = int(sys.argv[2])
s = one_source(p, "jack", "bench")
expect_source(s, count=7 * n, deadline_ns=10666666, allocs=0, frees=0)
r = one_source(p, "region", "bench region")
expect_source(r, count=7 * n, allocs=0)
done()
PY
echo PASS
