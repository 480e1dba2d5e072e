#!/usr/bin/env bash
# t_analyzer_badinput.sh - every kind of bad input gets one message that names the file
# and the problem, and exit status 3; never a crash or a hang. The broken profiles are in
# tests/fixtures/bad/ (one problem each, written by tests/fixtures/make_fixtures.py),
# among them numbers no writer can produce (eb > tb, ...), histograms of the wrong shape
# and unknown violation kinds; deep nesting, random bytes, a missing file, a directory,
# standard input, /dev/zero, FIFOs and pipes that never end and files over the input
# limit (AUDIOPROF_MAX_INPUT) are made here. Each case runs through report, check,
# flame, view (and diff, both ways), with the normal build and with an AddressSanitizer +
# UBSan build (lib/analyzer.sh); the input limit through `run --check` too.
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
# WORDS (a fixed string) on stderr, nothing on stdout (and view writes no page). With
# $BEFORE set, that command runs before each one (e.g. to start a FIFO's writer).
expect() {
	local file=$1 words=$2 bin cmd rc
	for bin in "${bins[@]}"; do
		for cmd in report check flame view "diff $GOOD" "diff@"; do
			local args
			case $cmd in
			diff@) args=(diff "$file" "$GOOD") ;;
			diff*) args=(diff "$GOOD" "$file") ;;
			view) args=(view -o "$tmp/v.html" "$file") ;;
			*) args=("$cmd" "$file") ;;
			esac
			rm -f "$tmp/v.html"
			[ -n "${BEFORE:-}" ] && $BEFORE
			timeout -k 2 20 "$bin" "${args[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
			rc=$?
			[ -n "${BEFORE:-}" ] && stop_writer
			local what="${bin##*/} ${args[*]}"
			if [ -e "$tmp/v.html" ]; then
				bad "$what: wrote a page"; continue
			fi
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
durhist_odd.json|audioprof.callbacks[0].dur_hist: 3 numbers: expected pairs of bucket and count
durhist_order.json|audioprof.callbacks[0].dur_hist[2]: bucket 100 after 101: the buckets must rise
durhist_range.json|audioprof.callbacks[0].zones[0].dur_hist[0]: bucket 640 is out of range (0 to 639)
duplicate.json|duplicate key "pps"
eb_over_tb.json|pps[0].eb: 1181116006 is more than tb (115343360)
ebk_over_tbk.json|pps[3].ebk: 2 is more than tbk (1)
gb_over_tb.json|pps[2].gb: 30000 is more than tb (28672)
gbk_over_tbk.json|pps[2].gbk: 5 is more than tbk (4)
mb_over_tb.json|pps[2].mb: 30000 is more than tb (28672)
mbk_over_tbk.json|pps[2].mbk: 5 is more than tbk (4)
gb_over_mb.json|pps[2].gb: 20000 is more than mb (16384)
eb_over_mb.json|pps[3].eb: 6 is more than mb (5)
gbk_over_mbk.json|pps[0].gbk: 100 is more than mbk (99)
ebk_over_mbk.json|pps[0].ebk: 50 is more than mbk (45)
bytes_no_blocks.json|pps[3].eb: 6 bytes live at the end in 0 blocks (ebk)
slk_freed.json|pps[0].slk: 51 short-lived (freed) blocks, but only 50 of tbk 100 were freed
cbk_over_tbk.json|pps[1].cbk: 5001 is more than tbk (5000)
cbb_over_tb.json|pps[1].cbb: 160001 is more than tb (160000)
tl_no_blocks.json|pps[3].tl: a lifetime of 36800 for 0 blocks
totals_curr_max.json|audioprof.totals.curr_b: 121367 is more than max_b (121366)
totals_frees.json|audioprof.totals.frees: 5106 is more than total_k (5105)
hist_type.json|audioprof.callbacks[0].histogram: expected an object, found an array
hist_counts_type.json|audioprof.callbacks[0].histogram.counts: expected an array, found a string
hist_counts_length.json|audioprof.callbacks[0].histogram.counts: 8 counts for 9 buckets
hist_count_elem.json|audioprof.callbacks[0].histogram.counts[1]: expected a whole number, found a string
hist_edges_order.json|audioprof.callbacks[0].histogram.edges_pct[4]: 50 after 50: the edges must rise
hist_edges_start.json|audioprof.callbacks[0].histogram.edges_pct[0]: the first bucket starts at 5%
hist_missing.json|audioprof.callbacks[0].histogram: missing "counts"
kind_unknown.json|audioprof.violations[0].kind: unknown kind "signal"
severity_kind.json|audioprof.violations[0].severity: "warning" for kind "lock"
cb_id.json|audioprof.callbacks[1].id: 5, but a callback's id is its index in the array (1)
time_max_over.json|audioprof.violations[0].time_max_ns: the longest call (200 ns) is longer than all of them (100 ns)
time_alone.json|audioprof.violations[0]: "time_ns" without "time_max_ns"
slow_order.json|audioprof.callbacks[0].slow_cycles[1].cycle: 3 after 5: kept cycles are written once each, oldest first
slow_zero.json|audioprof.callbacks[0].slow_cycles[0].cycle: 0, but cycles are numbered from 1
slow_over_count.json|audioprof.callbacks[0].slow_cycles[0].cycle: 9376, but the callback completed 9375 cycles
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

# ------------------------------------------------------------------ inputs without end
# /dev/zero: its first byte (NUL) cannot start JSON, so nothing more is read.
expect /dev/zero "not valid JSON at line 1, column 1: byte 0x00 cannot start a JSON value"

# A FIFO whose writer never stops ("{" lines forever: it could be JSON, so it is read to
# the input limit, lowered here to 1 MiB, and not further).
mkfifo "$tmp/fifo.json"
start_writer() {
	timeout -k 1 30 yes '{' >"$tmp/fifo.json" 2>/dev/null &
	writer=$!
}
stop_writer() {
	kill "$writer" 2>/dev/null
	wait "$writer" 2>/dev/null
}
BEFORE=start_writer AUDIOPROF_MAX_INPUT=1M \
	expect "$tmp/fifo.json" "more than the input limit of 1 MiB; not read further"
# The same on standard input, from a pipe.
for bin in "${bins[@]}"; do
	yes '{' | AUDIOPROF_MAX_INPUT=1M timeout -k 2 20 "$bin" report - >"$tmp/out" 2>"$tmp/err"
	rc=${PIPESTATUS[1]}
	[ "$rc" -eq 3 ] && grep -qF "audioprof: (standard input): more than the input limit of 1 MiB" "$tmp/err" ||
		{ bad "${bin##*/} report - <endless pipe: exit $rc"; cat "$tmp/err"; }
done

# ------------------------------------------------------------------ the input limit
# A 3 GiB file (sparse: no disk used) is refused before it is read, with the default
# limit of 2 GiB: by report and by view alike (view used to read it whole first).
truncate -s 3G "$tmp/big3g.json"
expect "$tmp/big3g.json" "the file is 3221225472 bytes, more than the input limit of 2 GiB"
# Lowered to a byte less than a valid profile (heap_basic.json and 1000 spaces, so that
# diff's other file stays under the limit): refused; to its size exactly: read.
{ cat "$GOOD"; printf '%1000s' ''; } >"$tmp/good.json"
size=$(stat -c %s "$tmp/good.json")
AUDIOPROF_MAX_INPUT=$((size - 1)) expect "$tmp/good.json" \
	"the file is $size bytes, more than the input limit of $((size - 1)) bytes"
for bin in "${bins[@]}"; do
	for cmd in report check flame view; do
		args=("$cmd" "$tmp/good.json")
		[ "$cmd" = view ] && args=(view -o "$tmp/v.html" "$tmp/good.json")
		AUDIOPROF_MAX_INPUT=$size "$bin" "${args[@]}" >/dev/null 2>"$tmp/err" ||
			{ bad "${bin##*/} ${args[*]} with the limit at its size ($size) failed"; cat "$tmp/err"; }
	done
done
# A limit that is not a size: one warning, then the default.
"$AP" report "$GOOD" >/dev/null 2>"$tmp/err" </dev/null
AUDIOPROF_MAX_INPUT=lots "$AP" report "$GOOD" >/dev/null 2>"$tmp/err" ||
	bad "report with AUDIOPROF_MAX_INPUT=lots failed"
grep -qF "audioprof: AUDIOPROF_MAX_INPUT: 'lots' is not a size" "$tmp/err" ||
	{ bad "no warning for AUDIOPROF_MAX_INPUT=lots"; cat "$tmp/err"; }
# run's own check of the profile it wrote goes through the same reader.
if [ -f "$ROOT/preload/libaudioprof.so" ] && [ -x "$TESTS_DIR/progs/bin/leaf" ]; then
	AUDIOPROF_LIB=$ROOT/preload/libaudioprof.so AUDIOPROF_MAX_INPUT=100 \
		"$AP" run -q --check -o "$tmp/run.json" "$TESTS_DIR/progs/bin/leaf" >/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 3 ] && grep -qF "audioprof: $tmp/run.json: the file is " "$tmp/err" &&
		grep -qF "more than the input limit of 100 bytes" "$tmp/err" ||
		{ bad "run --check with AUDIOPROF_MAX_INPUT=100: exit $rc"; cat "$tmp/err"; }
else
	note "preload or tests/progs/bin/leaf not built: run --check not tested"
fi

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
