#!/usr/bin/env bash
# t_bench_smoke.sh - the benchmark's configurations all work (`bench/run.sh --smoke`):
# bench/bin/allocbench, 1 and 2 threads, runs natively, under audioprof and under heaptrack
# and valgrind DHAT when installed, exits 0 each time with the same result lines as native,
# and audioprof's profile holds exactly the allocation calls and bytes allocbench counted
# itself, site by site (a realloc counted at the realloc call, as a new block). DHAT's
# profile is checked for the same totals. Then `bench/real.sh --reps 1 --small`: every real
# program behaves (stdout, exit status) as natively under audioprof with a cold and a
# warm symbol cache and under heaptrack. Last, `bench/ablate.sh` once: its patch still
# applies to preload/ and every ablated build runs; `bench/diffnoise.sh --smoke`: every
# comparison it makes runs and says regression or not. No timing is asserted.
# (t_bench_nozstd.sh: the heaptrack runs again, without zstd on PATH.)
. "$(dirname "$0")/lib/common.sh"
need_preload
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
make -s -C "$ROOT/bench" build >/dev/null || fail "cannot build bench/bin/allocbench"

"$ROOT/bench/run.sh" --smoke
case $? in
0) ;;
77) skip "bench/run.sh --smoke skipped" ;;
*) fail "bench/run.sh --smoke" ;;
esac
"$ROOT/bench/real.sh" --reps 1 --small || fail "bench/real.sh: a program behaved differently under a tool"
# The ablation builds still apply to preload/ and every variant runs.
out=$("$ROOT/bench/ablate.sh" --rounds 1 --ops 20000) || fail "bench/ablate.sh failed"
rows=$(printf '%s\n' "$out" | grep -cE '^  (forward|header|stack2|stack|shipped2|nolock|shipped) +[0-9.]+x')
[ "$rows" = 7 ] || fail "bench/ablate.sh printed $rows of 7 rows: $out"
out=$("$ROOT/bench/diffnoise.sh" --smoke) || fail "bench/diffnoise.sh --smoke failed: $out"
printf '%s\n' "$out" | grep -qE '^  clean vs clean, 1 run a side .* [0-9]+ of 6 ' ||
	fail "bench/diffnoise.sh --smoke did not make the 6 clean pairs: $out"
printf '%s\n' "$out" | grep -qE '^  clean vs spin:40, 1 run a side .* [0-9]+ of 6 ' ||
	fail "bench/diffnoise.sh --smoke did not make the 6 clean/slow pairs: $out"
echo "ok"
