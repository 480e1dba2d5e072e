#!/usr/bin/env bash
# t_demo.sh - dsp_demo/demo.sh, what `make demo` runs, with 1 s runs: it exits 0 and shows,
# one after the other at 100 columns, the report excerpts of the clean and the injected run
# (9 mallocs in 94 cycles, at inject_alloc; no leak warning: the runtimes' own leaks are
# suppressed and counted apart), the verdict, `audioprof check` passing on the
# clean profile and failing on the injected one, and the profiles and viewer pages it
# wrote; at 240 columns the two excerpts side by side; with runs too short for a fault to
# be injected it exits 1.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
make_tmp
need_preload
need_analyzer
need_dsp_demo

DEMO=$ROOT/dsp_demo/demo.sh
# demo NAME COLUMNS SECONDS: run demo.sh into $tmp/NAME/, output in $tmp/NAME.txt; its
# exit status in $rc
demo() {
	rc=0
	env DEMO_OUT="$tmp/$1" COLUMNS="$2" DEMO_SECONDS="$3" "$DEMO" >"$tmp/$1.txt" 2>&1 </dev/null || rc=$?
}
# has NAME TEXT...: the output of run NAME has a line containing each TEXT (fixed strings)
has() {
	local name=$1 s
	shift
	for s in "$@"; do
		grep -qF -- "$s" "$tmp/$name.txt" || { cat "$tmp/$name.txt"; fail "$name: no line with '$s'"; }
	done
}
# count NAME TEXT N: exactly N lines of the output contain TEXT
count() {
	local n
	n=$(grep -cF -- "$2" "$tmp/$1.txt")
	[ "$n" -eq "$3" ] || { cat "$tmp/$1.txt"; fail "$1: $n lines with '$2', expected $3"; }
}

# --- one after the other, 1 s: 94 cycles, a malloc in cycles 10, 20, ..., 90 -------------
demo d 100 1
[ $rc -eq 0 ] || { cat "$tmp/d.txt"; fail "demo.sh exited $rc"; }
d=$tmp/d
has d "audioprof run -o $d/clean.json -- dsp_demo --backend null --duration 1" \
      "audioprof run -o $d/alloc.json -- dsp_demo --backend null --duration 1 --inject alloc:10" \
      "== clean run " "== injected run (--inject alloc:10) " \
      "Program    dsp_demo --backend null --duration 1 (pid " \
      "Program    dsp_demo --backend null --duration 1 --inject alloc:10 (pid " \
      "Real-time violations (0 stacks, 0 calls)" \
      "Real-time violations (1 stack, 9 calls)" \
      "violation alloc: malloc x9 (2.2 KiB), " " inside, longest " " in region \"dsp_demo\"" \
      "at inject_alloc (inject.c:" \
      "error   [callback-alloc] 9 allocations in 94 cycles in inject_alloc()" \
      "PASS  clean run:    0 allocations in the callback in 94 cycles (0 other unsafe calls)" \
      "PASS  injected run: 9 allocations flagged in the callback in 94 cycles," \
      "all at inject_alloc (inject.c:" "dsp_demo says injected=9" \
      "\$ audioprof check --max-rt-unsafe 0 -v $d/clean.json   -> exit 0" \
      "$d/clean.json: ok   max-callback-allocs: allocations inside audio callbacks: 0, limit 0" \
      "\$ audioprof check --max-rt-unsafe 0 $d/alloc.json   -> exit 1" \
      "$d/alloc.json: FAIL max-callback-allocs: allocations inside audio callbacks: 9, limit 0" \
      "profiles: $d/clean.json  $d/alloc.json" \
      "viewers:  $d/clean.html  $d/alloc.html"
count d "Audio callbacks (1)" 2
count d "FAIL" 1
# dsp_demo frees what it allocates: what is live at exit is the C and C++ runtimes' own
# (suppressed by default), so neither run gets a leak warning, and both say so
count d "Leaked     0 B in 0 blocks at exit" 2
count d "Suppressed leaks of " 2
count d "[leak]" 0
# the table row of each callback: COUNT 94, ALLOCS 0 and 9
grep -qE '^  region "dsp_demo" +94 .* 0$' "$tmp/d.txt" || { cat "$tmp/d.txt"; fail "no clean callback row"; }
grep -qE '^  region "dsp_demo" +94 .* 9$' "$tmp/d.txt" || { cat "$tmp/d.txt"; fail "no injected callback row"; }
for f in clean.json alloc.json clean.html alloc.html; do
	[ -s "$d/$f" ] || fail "demo.sh did not write $d/$f"
done
grep -q '<html' "$d/alloc.html" || fail "$d/alloc.html is not an HTML page"
grep -q $'\033' "$tmp/d.txt" && fail "colour codes in the output of a non-terminal"
note "one after the other ok"

# --- side by side on a wide terminal ---------------------------------------------------
demo w 240 1
[ $rc -eq 0 ] || { cat "$tmp/w.txt"; fail "demo.sh (240 columns) exited $rc"; }
grep -qE '^clean run .*\| injected run \(--inject alloc:10\)' "$tmp/w.txt" ||
	{ cat "$tmp/w.txt"; fail "240 columns: the excerpts are not side by side"; }
grep -qE '^Audio callbacks \(1\) +\| Audio callbacks \(1\)$' "$tmp/w.txt" ||
	{ cat "$tmp/w.txt"; fail "240 columns: the sections are not aligned"; }
awk 'length($0) > 240 { bad = 1 } END { exit bad }' "$tmp/w.txt" || fail "240 columns: longer lines"
note "side by side ok"

# --- too short for a fault (5 cycles): the verdict fails --------------------------------
demo s 100 0.05
[ $rc -eq 1 ] || { cat "$tmp/s.txt"; fail "demo.sh with no fault injected exited $rc, expected 1"; }
has s "FAIL  injected run: 0 allocations" "no fault was injected"
note "failing verdict ok"
echo ok
