#!/usr/bin/env bash
# t_analyzer_rules.sh - the advice rule table (analyzer/rules.c): every rule, as listed by
# `audioprof report --list-rules` with its severity and fixture, fires on its fixture in
# tests/fixtures/ and none fires on audio_clean.json; every rule is named in the manual
# (man/audioprof.1, ADVICE) and the manual names no rule that does not exist.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_analyzer
make_tmp
FIX=$TESTS_DIR/fixtures
MAN=$ROOT/man/audioprof.1

"$AP" report --list-rules >"$tmp/rules" || fail "report --list-rules failed"
[ -s "$tmp/rules" ] || fail "no rules listed"
nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
i=0
while read -r name severity fixture; do
	i=$((i + 1))
	grep -q "^\.It Cm $name\$" "$MAN" || bad "rule $name is not in $MAN (.It Cm $name)"
	[ -f "$FIX/$fixture" ] || { bad "rule $name: no fixture $FIX/$fixture"; continue; }
	"$AP" report --json --top 0 "$FIX/$fixture" >"$tmp/r$i.json" 2>"$tmp/err" ||
		{ bad "rule $name: report on $fixture failed"; cat "$tmp/err"; }
done <"$tmp/rules"
# One python for all: rule i fires, with its severity and a text, in report i.
python3 - "$tmp" "$tmp/rules" <<'PY' || nfail=$((nfail + 1))
import json, sys
bad = 0
lines = open(sys.argv[2]).read().splitlines()
if not lines:
    sys.exit("FAIL: no rules")
for i, line in enumerate(lines, 1):
    name, severity, fixture = line.split()
    try:
        r = json.load(open("%s/r%d.json" % (sys.argv[1], i)))
    except (OSError, ValueError):
        continue        # reported above
    hits = [a for a in r["advice"] if a["rule"] == name]
    if hits and all(a["severity"] == severity and a["text"] for a in hits):
        print("ok: %s (%s) fires on %s" % (name, severity, fixture))
    else:
        print("FAIL: rule %s (%s) does not fire on %s" % (name, severity, fixture))
        bad += 1
sys.exit(1 if bad else 0)
PY
n=$(wc -l <"$tmp/rules")
[ "$(cut -d' ' -f1 "$tmp/rules" | sort -u | wc -l)" -eq "$n" ] || bad "two rules share a name"

"$AP" report --json "$FIX/audio_clean.json" >"$tmp/c.json" || bad "report audio_clean.json"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["advice"]; sys.exit(1 if a else 0)' \
	"$tmp/c.json" || bad "advice on the clean profile: $(grep -A3 '"rule"' "$tmp/c.json" | head)"

# The manual's list of rules (between ".Ss Advice rules" and the next .Ss/.Sh) holds no
# rule that does not exist.
awk '/^\.Ss Advice rules/ { on = 1; next } on && /^\.S[sh]/ { on = 0 } on && /^\.It Cm / { print $3 }' \
	"$MAN" >"$tmp/man_rules"
[ -s "$tmp/man_rules" ] || bad "no '.Ss Advice rules' list in $MAN"
while read -r r; do
	grep -q "^$r " "$tmp/rules" || bad "$MAN names rule '$r', which does not exist"
done <"$tmp/man_rules"

[ $nfail -eq 0 ] || fail "$nfail rule check(s) failed"
echo "$n rules, each fires on its fixture"
