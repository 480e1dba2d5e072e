#!/usr/bin/env bash
# t_suppress.sh - suppressions (audioprof(1), SUPPRESSIONS) on real dsp_demo profiles:
# a clean run leaks only what the C and C++ runtimes keep until exit (libstdc++'s
# emergency pool, glibc's atexit list, dynamic TLS, ...), so report gives no leak
# advice and shows the suppressed amount, equal to every byte live at exit, and check
# --max-leaked 0 passes (fails with --no-default-suppressions); --inject leak still
# warns, at inject_leak, with exactly the injected bytes; a user file suppresses that
# leak, an injected callback allocation (alloc:) and an injected lock (violation:) in
# report, check (also run --check), diff and view; AUDIOPROF_SUPPRESSIONS reads one too; a malformed line
# is refused with FILE:LINE and exit 3 by every command.
. "$(dirname "$0")/lib/common.sh"
need_preload
AUDIOPROF=$ROOT/analyzer/audioprof
[ -x "$AUDIOPROF" ] || fail "analyzer not built: $AUDIOPROF"
DSP=$ROOT/dsp_demo/dsp_demo
[ -x "$DSP" ] || skip "dsp_demo not built"
make_tmp
export COLUMNS=1000   # report lines unwrapped, for grep

# profile NAME ARGS...: dsp_demo on the null backend under `audioprof run`
profile() {
	local name=$1
	shift
	"$AUDIOPROF" run -q -o "$tmp/$name.json" -- "$DSP" --backend null --duration 0.5 "$@" \
		>/dev/null 2>"$tmp/$name.err" </dev/null || { cat "$tmp/$name.err"; fail "run $name"; }
}
# status N ARGS...: audioprof ARGS exits N (output in $tmp/out, $tmp/err)
status() {
	local want=$1 rc
	shift
	"$AUDIOPROF" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq "$want" ] || { cat "$tmp/out" "$tmp/err"; fail "audioprof $* exited $rc, expected $want"; }
}
injected() { grep -o ' injected=[0-9]*' "$tmp/$1.err" | cut -d= -f2; }

profile clean
profile leak --inject leak:5
profile alloc --inject alloc:5
profile lock --inject lock:5

# ------------------------------------------------------------------ the built-ins
status 0 report "$tmp/clean.json"
grep -q '\[leak\]' "$tmp/out" && { cat "$tmp/out"; fail "clean run: leak advice despite the built-ins"; }
grep -q '^Leaked     0 B in 0 blocks at exit$' "$tmp/out" || { cat "$tmp/out"; fail "clean run: leaked is not 0"; }
grep -q '^Suppressed leaks of .*(built-in: .*glibc atexit list' "$tmp/out" ||
	{ cat "$tmp/out"; fail "clean run: no 'Suppressed' line naming the atexit list"; }
status 0 report --json "$tmp/clean.json"
check_py "$tmp/out" "$tmp/clean.json" <<'PY' || exit 1
import json
r = json.load(open(sys.argv[1]))
p = load_checked(sys.argv[2])
t = p["audioprof"]["totals"]
s = r["suppressed"]
ok(t["curr_b"] > 0, "the clean run left nothing live at exit: %r" % t)
ok(r["leaked"]["bytes"] == 0 and r["leaked"]["blocks"] == 0, "leaked %r" % r["leaked"])
ok(s["leaked_bytes"] == t["curr_b"] and s["leaked_blocks"] == t["curr_k"],
   "suppressed %r, live at exit %d B in %d blocks" % (s, t["curr_b"], t["curr_k"]))
ok(s["leak_sites"] == sum(1 for pp in p["pps"] if pp.get("eb", 0) > 0), "sites %r" % s)
names = [x["rule"] for x in s["rules"]]
ok("glibc atexit list" in names and "glibc dynamic TLS" in names and
   all(x["builtin"] for x in s["rules"]), "rules %r" % s["rules"])
done()
PY
status 3 report --no-default-suppressions --suppressions /nonexistent "$tmp/clean.json"
grep -q '/nonexistent' "$tmp/err" || fail "a missing file is not named: $(cat "$tmp/err")"
status 0 report --no-default-suppressions "$tmp/clean.json"
grep -q 'warning \[leak\] .*__new_exitfn' "$tmp/out" || { cat "$tmp/out"; fail "--no-default-suppressions: no leak warning"; }
grep -q '^Suppressed' "$tmp/out" && fail "--no-default-suppressions: something was still suppressed"
status 0 check --max-leaked 0 "$tmp/clean.json"
status 0 check -v --max-leaked 0 "$tmp/clean.json"
grep -q 'ok   max-leaked: bytes not freed at the end: 0 B, limit 0 B (.* suppressed)' "$tmp/out" ||
	{ cat "$tmp/out"; fail "check -v does not show the suppressed bytes"; }
status 1 check --no-default-suppressions --max-leaked 0 "$tmp/clean.json"
# run --check: the same, with the options there too
status 0 run -q -o "$tmp/r.json" --max-leaked 0 -- "$DSP" --backend null --duration 0.2
status 1 run -q -o "$tmp/r.json" --no-default-suppressions --max-leaked 0 -- "$DSP" --backend null --duration 0.2
grep -q 'FAIL max-leaked' "$tmp/err" || { cat "$tmp/err"; fail "run --no-default-suppressions: no max-leaked failure"; }
note "built-ins: the clean run's leaks are all the runtimes'; check passes, fails without them"

# ------------------------------------------------------------------ a real leak
n=$(injected leak)
[ "${n:-0}" -gt 0 ] || { cat "$tmp/leak.err"; fail "dsp_demo injected no leak"; }
status 0 report "$tmp/leak.json"
grep -q "warning \[leak\] $((n * 64)) B in $n blocks never freed, allocated in inject_leak() at inject.c" "$tmp/out" ||
	{ cat "$tmp/out"; fail "the injected leak ($n x 64 B) is not warned about"; }
grep -c 'warning \[leak\]' "$tmp/out" | grep -qx 1 || { cat "$tmp/out"; fail "more than the injected leak warned"; }
grep -q "^Leaked     $((n * 64)) B in $n blocks at exit$" "$tmp/out" || { cat "$tmp/out"; fail "leaked is not exactly the injected bytes"; }
status 1 check --max-callback-allocs 1000000 --max-leaked 0 "$tmp/leak.json"
grep -q "FAIL max-leaked: bytes not freed at the end: $((n * 64)) B, limit 0 B" "$tmp/out" || { cat "$tmp/out"; fail "check: leaked"; }

# A user file: the named leak is suppressed too, the rest of the report is unchanged.
cat >"$tmp/my.supp" <<'EOF'
# dsp_demo's injected faults, as a user would silence a library's
leak: inject_leak
alloc:	function-name-matches:inject_alloc   call-stack-contains:dsp_process

violation: call-stack-contains:inject_lock
EOF
status 0 report --suppressions "$tmp/my.supp" "$tmp/leak.json"
grep -q '\[leak\]' "$tmp/out" && { cat "$tmp/out"; fail "the user file did not suppress inject_leak"; }
grep -q "^Suppressed leaks of .* ($tmp/my.supp:2; built-in: \|^Suppressed leaks of .*(built-in: .*; $tmp/my.supp:2)" "$tmp/out" ||
	{ cat "$tmp/out"; fail "the report does not name my.supp:2"; }
status 0 check --suppressions "$tmp/my.supp" --max-callback-allocs 1000000 --max-leaked 0 "$tmp/leak.json"
AUDIOPROF_SUPPRESSIONS=$tmp/my.supp status 0 check --max-callback-allocs 1000000 --max-leaked 0 "$tmp/leak.json"
off="--fail-p99-pct off --fail-callback-allocs off"
status 1 diff $off --fail-leaked 0 "$tmp/clean.json" "$tmp/leak.json"
status 0 diff $off --suppressions "$tmp/my.supp" --fail-leaked 0 "$tmp/clean.json" "$tmp/leak.json"
grep -q 'leaks suppressed' "$tmp/out" || { cat "$tmp/out"; fail "diff does not show the suppressed leaks"; }
note "a real leak ($n x 64 B at inject_leak) still warns; a user file suppresses it (report, check, diff, env)"

# ------------------------------------------------------------------ alloc: and violation:
na=$(injected alloc)
status 1 check "$tmp/alloc.json"
status 0 check --suppressions "$tmp/my.supp" "$tmp/alloc.json"
status 0 report --suppressions "$tmp/my.supp" "$tmp/alloc.json"
grep -q "^Suppressed .*$na allocation calls* in callbacks" "$tmp/out" || { cat "$tmp/out"; fail "alloc: not shown as suppressed"; }
grep -q '^Real-time violations (0 stacks, 0 calls)' "$tmp/out" || { cat "$tmp/out"; fail "alloc: still listed"; }
grep -q 'callback-alloc' "$tmp/out" && { cat "$tmp/out"; fail "alloc: still advised about"; }
nl=$(injected lock)
status 1 check --max-rt-unsafe 0 "$tmp/lock.json"
status 0 check --suppressions "$tmp/my.supp" --max-rt-unsafe 0 -v "$tmp/lock.json"
grep -q "max-rt-unsafe: other real-time-unsafe calls inside callbacks: 0, limit 0 ($((nl * 2)) suppressed)\|max-rt-unsafe: other real-time-unsafe calls inside callbacks: 0, limit 0 ($nl suppressed)" "$tmp/out" ||
	{ cat "$tmp/out"; fail "violation: check -v does not count the suppressed locks"; }
note "alloc: and violation: rules take injected callback allocations ($na) and locks ($nl) out of check"

# ------------------------------------------------------------------ view
status 0 view -o "$tmp/clean.html" "$tmp/clean.json"
grep -q 'data-suppressed="{&quot;leaked_bytes&quot;:' "$tmp/clean.html" || fail "view: no data-suppressed mark"
status 0 view --no-default-suppressions -o "$tmp/plain.html" "$tmp/clean.json"
grep -q 'data-suppressed=' "$tmp/plain.html" && fail "view --no-default-suppressions still marks"
status 0 view --suppressions "$tmp/my.supp" -o "$tmp/lock.html" "$tmp/lock.json"
grep -q '&quot;violations&quot;:\[[0-9]' "$tmp/lock.html" || fail "view: the suppressed violation is not marked"
note "view marks the suppressed sites and violations in the page"

# ------------------------------------------------------------------ malformed files
bad() {   # bad TEXT MESSAGE: every command exits 3 naming bad.supp:LINE and MESSAGE
	printf '%b' "$1" >"$tmp/bad.supp"
	local cmd
	for cmd in report check view; do
		status 3 $cmd --suppressions "$tmp/bad.supp" "$tmp/clean.json"
		grep -qF "$2" "$tmp/err" || fail "$cmd: expected '$2', got: $(cat "$tmp/err")"
	done
	status 3 diff --suppressions "$tmp/bad.supp" "$tmp/clean.json" "$tmp/clean.json"
	grep -qF "$2" "$tmp/err" || fail "diff: expected '$2', got: $(cat "$tmp/err")"
}
bad '# ok\nleak: foo\nleek: bar\n' "audioprof: suppressions: $tmp/bad.supp:3: unknown kind 'leek' (expected leak, alloc or violation)"
bad 'leak foo\n' "$tmp/bad.supp:1: expected KIND: CONDITIONS"
bad '\n\nleak:\n' "$tmp/bad.supp:3: 'leak:' needs at least one condition"
bad 'violation: call-stak-contains:x\n' "$tmp/bad.supp:1: unknown condition 'call-stak-contains:'"
bad 'leak: function-name-matches:\n' "$tmp/bad.supp:1: empty pattern"
AUDIOPROF_SUPPRESSIONS=$tmp/bad.supp status 3 check "$tmp/clean.json"
[ -s "$tmp/out" ] && fail "check printed results despite a bad suppressions file"
status 2 report --suppressions
note "malformed lines: FILE:LINE and exit 3 from report, check, diff, view"
exit 0
