#!/usr/bin/env bash
# t_man_examples.sh - the EXAMPLES of man/audioprof.1 run as tests. Every "$ audioprof
# report|check|diff|flame ..." command of the rendered section runs (with its pipes and
# redirections, continuation lines joined) in a directory holding the files the examples
# name, copied from tests/fixtures/: audioprof.4242.json (audio_violations.json),
# base.json and new.json (audio_base.json, audio_new.json), dhat.json
# (dhat_valgrind.json), dsp.json (audio_cpu.json: dsp_demo's, with CPU samples),
# slow.json (audio_slow.json). Each must exit 0 or 1 (a finding), write something, and
# say nothing on standard error. A command that needs a program the machine lacks (jq,
# flamegraph.pl) or a program to profile (run, valgrind) is listed as not run.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_analyzer
make_tmp
MAN=$ROOT/man/audioprof.1
command -v mandoc >/dev/null || skip "no mandoc"
FIX=$TESTS_DIR/fixtures
mkdir "$tmp/work"
cp "$FIX/audio_violations.json" "$tmp/work/audioprof.4242.json"
cp "$FIX/audio_base.json" "$tmp/work/base.json"
cp "$FIX/audio_new.json" "$tmp/work/new.json"
cp "$FIX/dhat_valgrind.json" "$tmp/work/dhat.json"
cp "$FIX/audio_cpu.json" "$tmp/work/dsp.json"
cp "$FIX/audio_slow.json" "$tmp/work/slow.json"

# The EXAMPLES section, rendered, "$ " command lines with "\" continuations joined.
MANWIDTH=200 mandoc -Tascii "$MAN" | col -bx |
	awk '/^EXAMPLES/ { on = 1; next } /^[A-Z]/ { on = 0 }
	     !on { next }
	     cont { sub(/^ +/, ""); line = line " " $0 }
	     !cont && /^ +\$ / { sub(/^ +\$ /, ""); line = $0 }
	     line != "" { if (line ~ /\\$/) { sub(/ *\\$/, "", line); cont = 1 }
	                  else { print line; line = ""; cont = 0 } }' >"$tmp/examples"
[ -s "$tmp/examples" ] || fail "no examples found in $MAN"

export PATH="$ROOT/analyzer:$PATH" NO_COLOR=1 COLUMNS=100
nrun=0 nfail=0
while IFS= read -r cmd; do
	case $cmd in
	"audioprof report"* | "audioprof check"* | "audioprof diff"* | "audioprof flame"*) ;;
	*) echo "not run: \$ $cmd"; continue ;;
	esac
	missing=
	for tool in jq flamegraph.pl; do
		case $cmd in *"| $tool"*) command -v "$tool" >/dev/null || missing=$tool ;; esac
	done
	if [ -n "$missing" ]; then
		echo "not run (no $missing): \$ $cmd"
		continue
	fi
	nrun=$((nrun + 1))
	(cd "$tmp/work" && bash -o pipefail -c "$cmd") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -gt 1 ] || [ -s "$tmp/err" ]; then
		echo "FAIL: \$ $cmd: exit $rc"
		head -10 "$tmp/err" "$tmp/out"
		nfail=$((nfail + 1))
	elif [ ! -s "$tmp/out" ] && ! (cd "$tmp/work" && find . -newer "$tmp/examples" -type f -size +0 | grep -q .); then
		echo "FAIL: \$ $cmd: no output"
		nfail=$((nfail + 1))
	else
		echo "ok (exit $rc): \$ $cmd"
	fi
done <"$tmp/examples"
[ $nrun -ge 5 ] || fail "only $nrun examples ran (expected the report, check, diff and flame ones)"
[ $nfail -eq 0 ] || fail "$nfail example(s) failed"
echo "$nrun examples of $MAN ran"
