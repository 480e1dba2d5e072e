#!/usr/bin/env bash
# t_baseline.sh - named baselines of `audioprof run`, on dsp_demo (null backend, 1 s):
#  - `--save-baseline main --repeat 3` stores three profiles and the marker file in
#    .audioprof/baselines/main/ (the default directory), $AUDIOPROF_BASELINE_DIR moves it;
#  - `--baseline main --repeat 3` keeps the new runs in main/last/ and compares them with
#    diff.c's engine: a clean rerun with --noise-threshold far above any change (so that
#    no timing verdict on a shared machine is asserted) says "no regression", exit 0; a
#    rerun with `--inject spin:400` (every cycle busy-waits 400 us, several times the
#    clean p50) gives a p50 REGRESSION, exit 1;
#  - a missing baseline (exit 3, nothing run), bad NAMEs and bad --repeat values (exit
#    2), comparison options without --baseline (exit 2), a failing program (its own
#    status, nothing saved or compared);
#  - replacement is whole or not at all: the old set survives a program that fails, one
#    that cannot be found, and a save stopped by SIGTERM (dsp_demo exits 0 on it); no
#    temporary directory is left; a directory audioprof did not write is never replaced;
#  - the profile kept of a run is that of the program a wrapper execs;
#  - --repeat without baselines writes one profile per run by the -o pattern, which must
#    then have %p.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_preload
need_analyzer
make_tmp

need_dsp_demo

nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }
# expect WHAT WANT_RC PATTERN FILE: the exit status was WANT_RC and FILE matches PATTERN
expect() {
	if [ "$rc" -ne "$2" ]; then
		cat "$4"; bad "$1: exit $rc, expected $2"
	elif ! grep -q -- "$3" "$4"; then
		cat "$4"; bad "$1: no line matching '$3'"
	else
		ok "$1 (exit $rc)"
	fi
}
# sums DIR: checksums of a set's runs and marker, to tell whether it changed
sums() { (cd "$1" && md5sum run-*.json audioprof-baseline 2>&1); }
no_tmp() { [ -z "$(find "$1" -maxdepth 1 -name '.*.tmp.*' -print -quit)" ]; }

work=$tmp/work
mkdir -p "$work" && cd "$work" || fail "cd $work"
B=.audioprof/baselines
DEMO=("$DSP" --backend null --duration 1)

# ---- save
"$AP" run --save-baseline main --repeat 3 -- "${DEMO[@]}" >/dev/null 2>"$tmp/save.err"
rc=$?
expect "--save-baseline main --repeat 3" 0 "baseline 'main' saved: 3 runs in $B/main/" "$tmp/save.err"
for k in 1 2 3; do
	python3 - "$B/main/run-$k.json" <<'EOF' || bad "$B/main/run-$k.json is not a profile of dsp_demo with a duration histogram"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["dhatFileVersion"] == 2 and "dsp_demo" in p["cmd"], p["cmd"]
cbs = p["audioprof"]["callbacks"]
assert any(c.get("dur_hist") for c in cbs), "no dur_hist"
EOF
done
[ -e "$B/main/run-4.json" ] && bad "a fourth run stored"
grep -qx 'runs: 3' "$B/main/audioprof-baseline" && grep -qx 'kind: baseline' "$B/main/audioprof-baseline" &&
	grep -q '^command: .*dsp_demo --backend null --duration 1$' "$B/main/audioprof-baseline" ||
	{ cat "$B/main/audioprof-baseline"; bad "the marker file does not describe the set"; }
[ "$(find "$B/main" -type f | wc -l)" -eq 4 ] || { find "$B"; bad "other files than 3 runs and the marker"; }
no_tmp "$B" || bad "a temporary directory was left in $B"
before=$(sums "$B/main")

# ---- compare: clean (no timing verdict asserted), then a known 400 us slowdown
"$AP" run --baseline main --repeat 3 --noise-threshold 100000 -- "${DEMO[@]}" \
	>"$tmp/clean.out" 2>"$tmp/clean.err"
rc=$?
cat "$tmp/clean.err" >>"$tmp/clean.out"
expect "--baseline main, a clean rerun" 0 '^Result: no regression' "$tmp/clean.out"
expect "--baseline main: what was compared" 0 "3 runs in $B/main/last/, compared with baseline 'main' (3 runs)" "$tmp/clean.out"
[ "$(grep -c "^Base $B/main/run-[123].json: " "$tmp/clean.out")" -eq 3 ] &&
	[ "$(grep -c "^New  $B/main/last/run-[123].json: " "$tmp/clean.out")" -eq 3 ] ||
	{ cat "$tmp/clean.out"; bad "the report does not list the 3 saved and the 3 new runs"; }
grep -q 'p50 [-+][0-9.]*% .*: \(within the noise threshold\|no change\)' "$tmp/clean.out" ||
	{ cat "$tmp/clean.out"; bad "no statistical p50 comparison in the report"; }
grep -qx 'kind: last' "$B/main/last/audioprof-baseline" || bad "main/last has no marker"
[ "$(sums "$B/main")" = "$before" ] || bad "comparing changed the baseline"

"$AP" run --baseline main --repeat 3 -- "${DEMO[@]}" --inject spin:400 >"$tmp/spin.out" 2>/dev/null
rc=$?
expect "--baseline main, --inject spin:400" 1 \
	'REGRESSION p50 of region "dsp_demo": .* +[0-9.]*% \[+[0-9.]*%, +[0-9.]*%\], p ' "$tmp/spin.out"
grep -q '^Result: regression' "$tmp/spin.out" || bad "spin:400: no 'Result: regression'"
grep -q "^New  $B/main/last/run-1.json: .*--inject spin:400" "$tmp/spin.out" ||
	{ cat "$tmp/spin.out"; bad "spin:400: main/last does not hold the new runs"; }

# ---- errors before anything runs
"$AP" run --baseline nope -- sh -c 'touch ran' >"$tmp/e.out" 2>&1
rc=$?
expect "--baseline nope (missing)" 3 "no baseline 'nope' in $B; save one first" "$tmp/e.out"
[ -e ran ] && bad "the program ran although the baseline is missing"
for n in '' a/b . .. .hidden; do
	"$AP" run --save-baseline "$n" -- true >"$tmp/e.out" 2>&1
	rc=$?
	case $n in
	'') why='cannot be empty' ;;
	a/b) why="cannot contain '/'" ;;
	.|..) why="cannot be '.' or '..'" ;;
	*) why="cannot start with '.'" ;;
	esac
	expect "--save-baseline '$n'" 2 "run: --save-baseline: '$n': a NAME $why" "$tmp/e.out"
done
"$AP" run --baseline ../main -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--baseline ../main" 2 "run: --baseline: '../main': a NAME cannot contain '/'" "$tmp/e.out"
for r in 0 -1 x 1001; do
	"$AP" run --repeat "$r" -- true >"$tmp/e.out" 2>&1
	rc=$?
	expect "--repeat $r" 2 "run: --repeat: '$r' is not a number from 1 to 1000" "$tmp/e.out"
done
"$AP" run --noise-threshold 10 -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--noise-threshold without --baseline" 2 'it needs --baseline NAME' "$tmp/e.out"
"$AP" run --save-baseline a --baseline b -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--save-baseline with --baseline" 2 'cannot be used together' "$tmp/e.out"
"$AP" run --baseline main --significance-level 2 -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--significance-level 2" 2 "run: --significance-level: '2' is not valid" "$tmp/e.out"

# ---- the program fails: its status, nothing saved or compared
"$AP" run --baseline main -- sh -c 'exit 5' >"$tmp/e.out" 2>&1
rc=$?
expect "--baseline main, the program exits 5" 5 'run 1 of 1: sh exited with status 5; no comparison is made' "$tmp/e.out"
grep -q '^Result' "$tmp/e.out" && bad "a comparison was printed for a failed program"
"$AP" run --save-baseline main --repeat 3 -- sh -c 'exit 5' >"$tmp/e.out" 2>&1
rc=$?
expect "--save-baseline main, the program exits 5" 5 'run 1 of 3: sh exited with status 5; the baseline is not saved' "$tmp/e.out"
[ "$(sums "$B/main")" = "$before" ] || bad "a failed save changed the baseline"
"$AP" run --save-baseline main -- ./no-such-program >"$tmp/e.out" 2>&1
rc=$?
[ $rc -eq 127 ] && [ "$(sums "$B/main")" = "$before" ] && ok "a program not found: 127, baseline kept" ||
	{ cat "$tmp/e.out"; bad "a program not found: exit $rc, or the baseline changed"; }

# ---- a save stopped by SIGTERM while its first run runs (dsp_demo --duration 0 runs
# until SIGTERM, then exits 0): the old set stays, nothing is left behind
"$AP" run --save-baseline main --repeat 2 -- "$DSP" --backend null --duration 0 \
	>/dev/null 2>"$tmp/kill.err" &
pid=$!
for _ in $(seq 100); do
	pgrep -P "$pid" -x dsp_demo >/dev/null && break
	sleep 0.1
done
sleep 0.3
kill -TERM "$pid"
wait "$pid"
rc=$?
expect "--save-baseline stopped by SIGTERM" 143 'run 1 of 2: .*signal 15.*; the baseline is not saved' "$tmp/kill.err"
[ "$(sums "$B/main")" = "$before" ] || bad "the stopped save changed the baseline"
no_tmp "$B" || { find "$B"; bad "the stopped save left a temporary directory"; }

# ---- $AUDIOPROF_BASELINE_DIR, and a directory that is not a baseline
export AUDIOPROF_BASELINE_DIR=$tmp/elsewhere
mkdir -p "$AUDIOPROF_BASELINE_DIR/src" && echo keep >"$AUDIOPROF_BASELINE_DIR/src/file"
"$AP" run -q --save-baseline one -- "${DEMO[@]}" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] && [ -f "$AUDIOPROF_BASELINE_DIR/one/run-1.json" ] && [ ! -e "$AUDIOPROF_BASELINE_DIR/one/run-2.json" ] &&
	ok "\$AUDIOPROF_BASELINE_DIR holds the baseline" || bad "\$AUDIOPROF_BASELINE_DIR: exit $rc or no one/run-1.json"
"$AP" run --save-baseline src -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--save-baseline over a directory audioprof did not write" 3 'is not a baseline saved by audioprof .*; not replaced' "$tmp/e.out"
[ "$(cat "$AUDIOPROF_BASELINE_DIR/src/file" 2>/dev/null)" = keep ] || bad "a foreign directory was touched"
"$AP" run --baseline src -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--baseline of a directory audioprof did not write" 3 'is not a baseline saved by audioprof' "$tmp/e.out"
unset AUDIOPROF_BASELINE_DIR

# ---- a wrapper that execs the program: the profile kept is the program's
"$AP" run -q --save-baseline wrapped -- sh -c 'exec "$0" --backend null --duration 0.2' "$DSP" \
	>/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] && python3 -c 'import json, sys; assert "dsp_demo" in json.load(open(sys.argv[1]))["cmd"]' \
	"$B/wrapped/run-1.json" && ok "sh -c 'exec dsp_demo': run-1.json is dsp_demo's" ||
	bad "sh -c 'exec dsp_demo': exit $rc, or run-1.json is not dsp_demo's profile"

# ---- --repeat without baselines
"$AP" run --repeat 2 -o "$tmp/r.%p.json" -- true >/dev/null 2>"$tmp/r.err"
rc=$?
[ $rc -eq 0 ] && [ "$(find "$tmp" -maxdepth 1 -name 'r.*.json' | wc -l)" -eq 2 ] &&
	[ "$(grep -c 'profile written to' "$tmp/r.err")" -eq 2 ] && ok "--repeat 2 -o r.%p.json: two profiles" ||
	{ cat "$tmp/r.err"; bad "--repeat 2 -o r.%p.json: exit $rc or not two profiles"; }
"$AP" run --repeat 2 -o "$tmp/r.json" -- true >"$tmp/e.out" 2>&1
rc=$?
expect "--repeat 2 with a pattern without %p" 2 'has no %p' "$tmp/e.out"

[ $nfail -eq 0 ] || fail "$nfail check(s) failed"
echo "PASS"
