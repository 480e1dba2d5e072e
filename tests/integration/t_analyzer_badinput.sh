#!/usr/bin/env bash
# t_analyzer_badinput.sh - every kind of bad input gets one message that names the file
# and the problem, and exit status 3; never a crash or a hang. The broken profiles are in
# tests/fixtures/bad/ (one problem each, written by tests/fixtures/make_fixtures.py);
# deep nesting, random bytes, a missing file, a directory and standard input are made
# here. Each case runs through report, check and flame (and diff, both ways), with the
# normal build and with an AddressSanitizer + UBSan build (lib/analyzer.sh).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_analyzer
make_tmp
BAD=$TESTS_DIR/fixtures/bad
GOOD=$TESTS_DIR/fixtures/heap_basic.json
bins=("$AP")
if build_asan_analyzer; then
	bins+=("$ASAN_AP")
else
	note "no sanitized build: running the normal build only"
fi

nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

# expect FILE WORDS: every command on FILE exits 3 with "audioprof: FILE: ..." containing
# WORDS (a fixed string) on stderr, nothing on stdout.
expect() {
	local file=$1 words=$2 bin cmd rc
	for bin in "${bins[@]}"; do
		for cmd in report check flame "diff $GOOD" "diff@"; do
			local args
			case $cmd in
			diff@) args=(diff "$file" "$GOOD") ;;
			diff*) args=(diff "$GOOD" "$file") ;;
			*) args=("$cmd" "$file") ;;
			esac
			timeout -k 2 20 "$bin" "${args[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
			rc=$?
			local what="${bin##*/} ${args[*]}"
			if [ $rc -ne 3 ]; then
				bad "$what: exit $rc, expected 3"; head -5 "$tmp/err"; continue
			fi
			if [ -s "$tmp/out" ]; then
				bad "$what: wrote to stdout:"; head -3 "$tmp/out"; continue
			fi
			if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
				bad "$what: expected one line on stderr, got:"; head -20 "$tmp/err"; continue
			fi
			if ! grep -qF "audioprof: $file: " "$tmp/err"; then
				bad "$what: the message does not start with 'audioprof: $file: ':"
				cat "$tmp/err"; continue
			fi
			if ! grep -qF -- "$words" "$tmp/err"; then
				bad "$what: the message does not say '$words':"; cat "$tmp/err"; continue
			fi
		done
	done
	echo "ok: ${file#"$TESTS_DIR"/}: $(cat "$tmp/err")"
}

# ------------------------------------------------------------------ fixtures
while IFS='|' read -r name words; do
	[ -n "$name" ] || continue
	[ -f "$BAD/$name" ] || { bad "missing fixture $BAD/$name"; continue; }
	expect "$BAD/$name" "$words"
done <<'CASES'
empty.json|empty file
whitespace.json|empty file
truncated.json|truncated: the file ends inside the "pps" array
truncated_end.json|truncated
notjson.json|not valid JSON at line 1, column
array.json|is an array, not an object
bad_utf8.json|invalid UTF-8 at line 1
control_char.json|control character
trailing.json|data after the end of the object
version3.json|dhatFileVersion is 3
no_version.json|no "dhatFileVersion"
ap_version2.json|audioprof.version 2 is newer than this audioprof understands
wrong_type.json|pps[1].tb: expected a whole number, found a string
fraction.json|pps[0].tbk: expected a whole number, found a fractional number
negative.json|pps[2].eb: negative number -1
huge.json|absurdly large
bignum.json|number too large
realoverflow.json|number too large
fs_range.json|pps[1].fs[2]: frame index 999 is out of range
fs_zero.json|frame index 0 is the root
fs_empty.json|pps[0].fs: empty stack
missing_field.json|pps[3]: missing "gb"
missing_pps.json|missing "pps"
pps_object.json|"pps": expected an array
ftbl_number.json|ftbl[3]: expected a string
tg_after_te.json|is after the end
totals_type.json|audioprof.totals.max_b: expected a whole number
cb_range.json|audioprof.violations[0].callback: 3 is out of range
cb_type.json|audioprof.callbacks[0].p99_ns: expected a whole number
duplicate.json|duplicate key "pps"
CASES
for f in "$BAD"/*; do
	grep -q "^${f##*/}|" "$0" || bad "fixture ${f##*/} has no case in this test"
done

# ------------------------------------------------------------------ made here
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
def w(name, data):
    open(d + "/" + name, "wb").write(data)
n = 200000
w("deep_key.json", b'{"dhatFileVersion":2,"x":' + b"[" * n + b"]" * n + b"}")
w("deep_open.json", b'{"dhatFileVersion":2,"x":' + b"[" * n)
w("deep_pp.json", b'{"dhatFileVersion":2,"pps":[{"tb":' + b'{"a":' * n + b"1" + b"}" * n + b"}]}")
w("deep_top.json", b"[" * n + b"]" * n)
w("deep_3000.json", b'{"dhatFileVersion":2,"x":' + b"[" * 3000 + b"]" * 3000 + b"}")
import random
r = random.Random(5)
w("random.json", bytes(r.randrange(256) for _ in range(100000)))
w("random_obj.json", b"{" + bytes(r.randrange(256) for _ in range(10000)))
PY
expect "$tmp/deep_key.json" "nesting too deep"
expect "$tmp/deep_open.json" "nesting too deep"
expect "$tmp/deep_pp.json" "nesting too deep"
expect "$tmp/deep_top.json" "nesting too deep"
expect "$tmp/deep_3000.json" "nesting too deep"
expect "$tmp/random.json" "at line 1, column 1"
expect "$tmp/random_obj.json" "expected a string at line 1, column 2"
expect "$tmp/no-such-file.json" "cannot open: No such file or directory"
mkdir "$tmp/adir"
expect "$tmp/adir" "is a directory"

# /dev/null (not a regular file: read, not mapped) is empty.
expect /dev/null "empty file"

# Standard input: '-' is read like a file and named "(standard input)".
for bin in "${bins[@]}"; do
	timeout 20 "$bin" report - <"$BAD/negative.json" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 3 ] && grep -qF "audioprof: (standard input): pps[2].eb: negative" "$tmp/err" ||
		{ bad "${bin##*/} report - <negative.json: exit $rc"; cat "$tmp/err"; }
	timeout 20 "$bin" report - <"$GOOD" >"$tmp/out" 2>"$tmp/err" ||
		{ bad "${bin##*/} report - <heap_basic.json failed"; cat "$tmp/err"; }
done

# Every truncation of a valid profile: exit 3 (or 0 only for the whole file), no crash.
python3 - "$GOOD" "$tmp/cuts" <<'PY'
import os, sys
src = open(sys.argv[1], "rb").read()
os.makedirs(sys.argv[2])
step = max(1, len(src) // 60)
for i, n in enumerate(range(0, len(src), step)):
    open("%s/cut%04d.json" % (sys.argv[2], i), "wb").write(src[:n])
PY
for bin in "${bins[@]}"; do
	for f in "$tmp"/cuts/*.json; do
		timeout 20 "$bin" report "$f" >/dev/null 2>"$tmp/err"
		rc=$?
		if [ $rc -ne 3 ]; then
			bad "${bin##*/} report $f (a truncated profile): exit $rc"; cat "$tmp/err"
		fi
	done
done
echo "ok: $(ls "$tmp"/cuts | wc -l) truncations of heap_basic.json give exit 3"

[ $nfail -eq 0 ] || fail "$nfail bad-input check(s) failed"
echo "all bad inputs rejected cleanly (${#bins[@]} build(s))"
