#!/usr/bin/env bash
# t_analyzer_e2e.sh - the analyzer on profiles the preload really wrote: a program with a
# known leak and known churn, run by `audioprof run`, then report (text and --json, exact
# numbers), flame (format, and its sums equal the report's totals), check and
# `run --check` (exit statuses, JUnit XML), diff. With the audio support of the preload,
# the same program in a marked real-time region: 3 allocations per cycle, found by the
# report's advice, check, flame and diff.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_preload
need_analyzer
make_tmp

cat >"$tmp/prog.c" <<'EOF'
/* prog [rt] [exit N]: leaks 4000 bytes from main, churns 100 blocks of 32 bytes in
 * churn(); with "rt", also runs process() 10 times in a marked real-time region, each
 * making 3 allocations of 256 bytes and freeing them. */
#include <stdlib.h>
#include <string.h>
#include "audioprof.h"
static void *volatile keep;
__attribute__((noinline)) static void churn(void)
{
	for (int i = 0; i < 100; i++) {
		void *volatile p = malloc(32);
		free(p);
	}
}
__attribute__((noinline)) static void process(void)
{
	for (int i = 0; i < 3; i++) {
		void *volatile p = malloc(256);
		free(p);
	}
}
int main(int argc, char **argv)
{
	keep = malloc(4000);
	churn();
	if (argc > 1 && strcmp(argv[1], "rt") == 0)
		for (int c = 0; c < 10; c++) {
			AUDIOPROF_RT_ENTER("synth");
			process();
			AUDIOPROF_RT_EXIT();
		}
	if (argc > 2 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	return 0;
}
EOF
gcc $PROG_CFLAGS -I"$ROOT/preload" -o "$tmp/prog" "$tmp/prog.c" || fail "cannot build prog"

nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
# rc WANT CMD...: run CMD (output in $tmp/out, $tmp/err), expect exit status WANT.
rc() {
	local want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ $got -ne "$want" ]; then
		bad "$*: exit $got, expected $want"
		head -20 "$tmp/out" "$tmp/err"
		return 1
	fi
	echo "ok: exit $got: ${*#"$AP" }"
}

# ------------------------------------------------------------------ heap only
rc 0 "$AP" run -q -o "$tmp/heap.json" -- "$tmp/prog"
rc 0 "$AP" report "$tmp/heap.json"
grep -q "Leaked     3.9 KiB (4,000 bytes) in 1 block at exit" "$tmp/out" ||
	{ bad "report: no 'Leaked 4,000 bytes in 1 block' line"; cat "$tmp/out"; }
grep -q "at churn (prog.c:" "$tmp/out" || bad "report: churn() not among the top sites"
rc 0 "$AP" report --json --top 0 "$tmp/heap.json"
cp "$tmp/out" "$tmp/heap.report.json"
check_py "$tmp/heap.report.json" <<'PY' || nfail=$((nfail + 1))
r = json.load(open(sys.argv[1]))
eq("leaked bytes", r["leaked"]["bytes"], 4000)
eq("leaked blocks", r["leaked"]["blocks"], 1)
def site(fn):
    for s in r["sites"]:
        if any((": %s (prog.c:" % fn) in f for f in s["frames"]):
            return s
    fail("no site in %s()" % fn)
    return {}
s = site("churn")
eq("churn tb", s.get("tb"), 3200)
eq("churn tbk", s.get("tbk"), 100)
eq("churn call", s.get("call"), "malloc")
m = site("main")
eq("main eb", m.get("eb"), 4000)
ok(any(a["rule"] == "leak" and "main() at prog.c:" in a["text"] for a in r["advice"]),
   "no leak advice naming main(): %r" % r["advice"])
done()
PY

# flame: the format, and the sums equal the report's totals.
rc 0 "$AP" flame "$tmp/heap.json"
check_py "$tmp/out" "$tmp/heap.report.json" <<'PY' || nfail=$((nfail + 1))
import re
r = json.load(open(sys.argv[2]))
lines = open(sys.argv[1]).read().splitlines()
line_re = re.compile(r"^[^;\n]+(;[^;\n]+)* [0-9]+$")
for l in lines:
    ok(line_re.match(l), "not a folded-stack line: %r" % l)
    ok(" (" not in l.rsplit(" ", 1)[0] or "operator" in l, "a location left in: %r" % l)
ok(len(set(l.rsplit(" ", 1)[0] for l in lines)) == len(lines), "a stack is repeated")
eq("sum of flame bytes", sum(int(l.rsplit(" ", 1)[1]) for l in lines), r["allocated"]["bytes"])
ok(any(l.endswith(";main;churn;malloc 3200") for l in lines), "no ...;main;churn;malloc 3200")
done()
PY
rc 0 "$AP" flame --metric blocks "$tmp/heap.json"
awk '{ s += $NF } END { exit !(s > 100) }' "$tmp/out" || bad "flame --metric blocks: sum too small"

# check and run --check.
rc 1 "$AP" check --max-leaked 1K "$tmp/heap.json"
grep -q "FAIL max-leaked: bytes not freed at the end: 3.9 KiB (4,000 bytes), limit 1.0 KiB" \
	"$tmp/out" || { bad "check: no max-leaked failure line"; cat "$tmp/out"; }
rc 0 "$AP" check --max-leaked 4000 --max-peak 1M "$tmp/heap.json"
[ -s "$tmp/out" ] && bad "check: passing checks printed something"
rc 1 "$AP" run -q -o "$tmp/r1.json" --max-leaked 1K -- "$tmp/prog"
[ -s "$tmp/out" ] && bad "run --check wrote to the program's standard output"
grep -q "FAIL max-leaked" "$tmp/err" || bad "run --check: no failure line on stderr"
rc 0 "$AP" run -q -o "$tmp/r2.json" --check --max-leaked 8K -- "$tmp/prog"
# The program's failure wins over the check's.
rc 7 "$AP" run -q -o "$tmp/r3.json" --max-leaked 1K -- "$tmp/prog" exit 7
rc 1 "$AP" run -q -o "$tmp/r4.json" --max-leaked 1K --junit "$tmp/junit.xml" -- "$tmp/prog"
python3 - "$tmp/junit.xml" <<'PY' || bad "JUnit XML"
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
assert t.tag == "testsuites" and t.get("failures") == "1", ET.tostring(t)
cases = {c.get("name"): c for c in t.iter("testcase")}
assert cases["max-leaked"].find("failure") is not None, cases
assert "4,000 bytes" in cases["max-leaked"].find("failure").get("message")
PY
ls "$tmp" | grep -q '\.tmp\.' && bad "a temporary file of the JUnit write was left behind"
rc 3 "$AP" check --junit "$tmp/junit2.xml" "$tmp/nonexistent.json"
grep -q '<error type="input"' "$tmp/junit2.xml" || bad "JUnit on unreadable input has no <error>"
rc 3 "$AP" check --junit "$tmp/no/such/dir/j.xml" "$tmp/heap.json"

# ------------------------------------------------------------------ audio
rc 0 "$AP" run -q -o "$tmp/rt.json" -- "$tmp/prog" rt
if ! python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1])).get("audioprof", {}).get("callbacks"))' "$tmp/rt.json"; then
	note "the preload wrote no callbacks: audio checks skipped"
else
	rc 0 "$AP" report --json "$tmp/rt.json"
	check_py "$tmp/out" <<'PY' || nfail=$((nfail + 1))
r = json.load(open(sys.argv[1]))
cb = r["callbacks"]
eq("callbacks", len(cb), 1)
eq("api", cb[0]["api"], "region")
eq("count", cb[0]["count"], 10)
eq("allocs", cb[0]["allocs"], 30)
adv = [a for a in r["advice"] if a["rule"] == "callback-alloc"]
ok(adv and adv[0]["text"].startswith("3 allocations per cycle in process() at prog.c:"),
   "callback-alloc advice: %r" % adv)
done()
PY
	rc 1 "$AP" check "$tmp/rt.json"
	grep -q "FAIL max-callback-allocs: allocations inside audio callbacks: 30, limit 0" "$tmp/out" ||
		{ bad "check: no max-callback-allocs failure"; cat "$tmp/out"; }
	rc 0 "$AP" check --max-callback-allocs 30 "$tmp/rt.json"
	rc 0 "$AP" flame --metric callback-allocs "$tmp/rt.json"
	grep -q ";main;process;malloc 30$" "$tmp/out" || { bad "flame callback-allocs"; cat "$tmp/out"; }
	rc 1 "$AP" diff "$tmp/heap.json" "$tmp/rt.json"
	grep -q "REGRESSION callback allocations: 30 more (limit 0)" "$tmp/out" ||
		{ bad "diff: no callback-allocation regression"; cat "$tmp/out"; }
	rc 0 "$AP" diff --fail-callback-allocs 30 "$tmp/heap.json" "$tmp/rt.json"
fi

[ $nfail -eq 0 ] || fail "$nfail check(s) failed"
echo "analyzer end to end: all good"
