#!/usr/bin/env bash
# t_baseline_concurrent.sh - named baselines shared by runs at the same time, and what
# killed runs leave behind (analyzer/baseline.c):
#  - a `--baseline main` comparison that is running while a `--save-baseline main`
#    replaces the set compares with the set it started with, read whole (its two runs,
#    shown by their names), never with a mix of both or with runs that are gone; the
#    old set is not removed under it, and the next save removes it once nobody reads it;
#  - a temporary set that a killed run left (".main.tmp.*", unchanged for a while, held
#    by no process) is removed by the next save; one that holds files audioprof does not
#    write, and the baselines themselves, are left alone.
# The comparing program waits for a file the test creates after the save (no timing).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_preload
need_analyzer
make_tmp

nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }

work=$tmp/work
mkdir -p "$work" && cd "$work" || fail "cd $work"
B=.audioprof/baselines
WAIT=(sh -c 'while [ ! -e go ]; do sleep 0.05; done')
NODIFF=(--noise-threshold 100000 --fail-p99-pct off --fail-bytes-pct off --fail-blocks-pct off
	--fail-peak-pct off --fail-leaked off)

touch go
"$AP" run --save-baseline main --repeat 2 -q -- "${WAIT[@]}" 2>"$tmp/save1.err" ||
	{ cat "$tmp/save1.err"; fail "first save"; }
rm go
first=$(md5sum "$B/main/run-1.json" | cut -d' ' -f1)

# A comparison starts, and waits in its program while the set is replaced by one run.
"$AP" run --baseline main "${NODIFF[@]}" -- "${WAIT[@]}" >"$tmp/cmp.out" 2>"$tmp/cmp.err" &
cmp=$!
n=0
until [ -n "$(find "$B" -maxdepth 2 -path '*/.*last.tmp.*' -print -quit)" ]; do
	sleep 0.05; n=$((n + 1)); [ $n -lt 600 ] || fail "the comparison never started"
done
"$AP" run --save-baseline main -q -- true 2>"$tmp/save2.err" || { cat "$tmp/save2.err"; bad "second save"; }
grep -qx 'runs: 1' "$B/main/audioprof-baseline" || bad "the second save is not in place"
old=$(find "$B" -maxdepth 1 -name '.main.tmp.*' -type d)
[ "$(echo "$old" | wc -l)" -eq 1 ] || { find "$B"; bad "not one old set beside the new one"; }
[ -n "$old" ] && [ -e "$old/run-2.json" ] ||
	{ find "$B"; bad "the set being read was removed (or renamed elsewhere) under its reader"; }
touch go
wait $cmp
rc=$?
cat "$tmp/cmp.err" >>"$tmp/cmp.out"
[ $rc -eq 0 ] || [ $rc -eq 1 ] || { cat "$tmp/cmp.out"; bad "the comparison exited $rc"; }
grep -q "compared with baseline 'main' (2 runs)" "$tmp/cmp.out" &&
	[ "$(grep -c "^Base $B/main/run-[12].json: sh -c" "$tmp/cmp.out")" -eq 2 ] &&
	ok "the comparison read the set it started with, whole (exit $rc)" ||
	{ cat "$tmp/cmp.out"; bad "the comparison did not compare with the two runs it started with"; }
grep -q '/proc/' "$tmp/cmp.out" && bad "a /proc name shown instead of the baseline's"
grep -qx 'kind: last' "$B/main/last/audioprof-baseline" || { find "$B"; bad "the new runs are not in main/last"; }

# Nobody reads the old set now: the next save removes it, once it is old enough.
touch -d '1 hour ago' "$old"
"$AP" run --save-baseline main -q -- true 2>"$tmp/save3.err" || { cat "$tmp/save3.err"; bad "third save"; }
[ -e "$old" ] && { find "$B"; bad "the old set was not swept"; } || ok "the old set was swept"

# What a killed save leaves, and what is not ours.
mkdir -p "$B/.main.tmp.dead01" "$B/.main.tmp.notours" "$B/.other.tmp.dead02"
echo '{}' >"$B/.main.tmp.dead01/run-1.json"
printf 'audioprof baseline 1\n' >"$B/.main.tmp.dead01/audioprof-baseline"
echo mine >"$B/.main.tmp.notours/notes.txt"
echo '{}' >"$B/.other.tmp.dead02/run-1.json"
mkdir -p "$B/.main.tmp.fresh"
echo '{}' >"$B/.main.tmp.fresh/run-1.json"
touch -d '1 hour ago' "$B/.main.tmp.dead01" "$B/.main.tmp.notours" "$B/.other.tmp.dead02"
"$AP" run --save-baseline main -q -- true 2>"$tmp/save4.err" || { cat "$tmp/save4.err"; bad "fourth save"; }
[ -e "$B/.main.tmp.dead01" ] && bad "a killed save's set was left"
[ -e "$B/.main.tmp.notours/notes.txt" ] || bad "a directory holding a file audioprof does not write was removed"
[ -e "$B/.other.tmp.dead02" ] || bad "another baseline's temporary set was swept by a save of 'main'"
[ -e "$B/.main.tmp.fresh" ] || bad "a temporary set changed just now was swept"
grep -qx 'runs: 1' "$B/main/audioprof-baseline" || bad "main is not the last save"
[ "$(md5sum "$B/main/run-1.json" | cut -d' ' -f1)" != "$first" ] || bad "main still holds the first save"

[ $nfail -eq 0 ] || fail "$nfail check(s) failed"
echo "PASS: t_baseline_concurrent"
