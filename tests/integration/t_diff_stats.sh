#!/usr/bin/env bash
# t_diff_stats.sh - `audioprof diff BASE... -- NEW...` on real profiles of dsp_demo
# (null backend, 1 s each, 3 runs a side), timing decided from the duration histograms:
#  - clean against `--inject spin:400` (every cycle busy-waits 400 us, several times
#    the clean cycle's p50 here): a regression of p50 with a positive change, exit 1;
#  - the same, with --noise-threshold far above any such change: no regression, exit 0;
#  - the clean runs against themselves: no change, exit 0.
# Clean against other clean runs is not asserted (a timing verdict on a shared machine);
# README gives the false-positive rate measured over many pairs.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_preload
need_analyzer
make_tmp

need_dsp_demo

for i in 1 2 3; do
	env AUDIOPROF_OUT="$tmp/clean$i.json" LD_PRELOAD="$PRELOAD" "$DSP" --duration 1 \
		2>/dev/null || fail "dsp_demo failed under the preload"
	env AUDIOPROF_OUT="$tmp/spin$i.json" LD_PRELOAD="$PRELOAD" "$DSP" --duration 1 \
		--inject spin:400 2>/dev/null || fail "dsp_demo --inject spin:400 failed under the preload"
done
C="$tmp/clean1.json $tmp/clean2.json $tmp/clean3.json"
S="$tmp/spin1.json $tmp/spin2.json $tmp/spin3.json"

# shellcheck disable=SC2086  # lists of files
"$AP" diff $C -- $S >"$tmp/slow.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/slow.out"; fail "clean -- spin:400: exit $rc, expected 1"; }
grep -q 'REGRESSION p50 of region "dsp_demo": .* +[0-9.]*% \[+[0-9.]*%, +[0-9.]*%\], p ' "$tmp/slow.out" ||
	{ cat "$tmp/slow.out"; fail "clean -- spin:400: no p50 regression with a positive interval"; }
grep -q '^Totals and sites: the first file of each side; callback timing: all runs pooled' \
	"$tmp/slow.out" || { cat "$tmp/slow.out"; fail "clean -- spin:400: not said to be pooled"; }
note "$(grep 'REGRESSION' "$tmp/slow.out" | head -n 1)"

# shellcheck disable=SC2086
"$AP" diff --noise-threshold 100000 $C -- $S >"$tmp/noise.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/noise.out"; fail "--noise-threshold 100000: exit $rc, expected 0"; }
grep -q 'p50 +[0-9.]*% .*: within the noise threshold' "$tmp/noise.out" ||
	{ cat "$tmp/noise.out"; fail "--noise-threshold 100000: p50 not called within the noise"; }

# --fail-p99-pct off: a heap-only job; the timing change is shown, never fails.
# shellcheck disable=SC2086
"$AP" diff --fail-p99-pct off --fail-callback-allocs off $C -- $S >"$tmp/off.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/off.out"; fail "--fail-p99-pct off: exit $rc, expected 0"; }
grep -q 'p50 +[0-9.]*% .*: regression' "$tmp/off.out" &&
	grep -q -- '--fail-p99-pct off: callback timing is shown, never a regression' "$tmp/off.out" ||
	{ cat "$tmp/off.out"; fail "--fail-p99-pct off: the change is not shown, or not said to be off"; }

# shellcheck disable=SC2086
"$AP" diff $C -- $C >"$tmp/same.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/same.out"; fail "clean -- clean (the same files): exit $rc, expected 0"; }
grep -q 'p50 +0.0% .*: no change' "$tmp/same.out" ||
	{ cat "$tmp/same.out"; fail "clean -- clean (the same files): p50 not unchanged"; }
echo "PASS"
