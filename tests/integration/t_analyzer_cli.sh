#!/usr/bin/env bash
# t_analyzer_cli.sh - the analyzer's command lines: usage errors exit 2 with a message
# naming the option at fault and the usage,
# --help exits 0 on standard output, the global usage lists the commands, a metric the
# profile lacks is a usage error, output that cannot be written is exit 3, and colour
# appears on a terminal (through script(1)) unless NO_COLOR is set or --color never,
# and never in a pipe unless --color always.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/analyzer.sh"
need_analyzer
make_tmp
FIX=$TESTS_DIR/fixtures
H=$FIX/heap_basic.json
nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }

# st WANT ARGS...: `audioprof ARGS` exits WANT; usage errors (2) say something on stderr.
st() {
	local want=$1
	shift
	"$AP" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	if [ $rc -ne "$want" ]; then
		bad "audioprof $*: exit $rc, expected $want"; head -5 "$tmp/err"; return
	fi
	if [ "$want" -eq 2 ] && ! grep -q "^audioprof: " "$tmp/err"; then
		bad "audioprof $*: exit 2 without a message"; cat "$tmp/err"; return
	fi
	echo "ok: exit $rc: audioprof $*"
}

for cmd in report check diff flame; do
	st 0 "$cmd" --help
	grep -q "^Usage: audioprof $cmd" "$tmp/out" || bad "$cmd --help: no usage on stdout"
	st 0 help "$cmd"
	st 2 "$cmd"
	st 2 "$cmd" --no-such-option "$H"
done
st 0 --help
for cmd in report check diff flame; do
	grep -q "^  $cmd " "$tmp/out" || bad "the global usage does not list $cmd"
done
# What audioprof is, said alike by the README's first paragraph, --help and the NAME
# line of audioprof(1).
what="heap and timing profiler for audio processes"
tr '\n' ' ' <"$tmp/out" | grep -qiF "$what" || bad "--help does not say: $what"
awk '/^$/ { if (p) exit; next } !/^#/ { p = 1; print }' "$ROOT/README.md" | tr '\n' ' ' |
	grep -qiF "$what" || bad "the README does not lead with: $what"
grep -qixF ".Nd $what" "$ROOT/man/audioprof.1" || bad "audioprof(1)'s NAME is not: $what"
st 2 report "$H" "$H"
st 2 report --top x "$H"
st 2 report --top -1 "$H"
st 2 report --frames 1x "$H"
st 2 report --sort nope "$H"
st 2 report --sort lifetime "$H"
st 2 report --color maybe "$H"
st 2 report --top
st 2 report --sort short-lived "$FIX/dhat_valgrind.json"
grep -q "dhat_valgrind.json: it has no short-lived counts" "$tmp/err" || bad "no reason given"
st 2 report --sort peak "$FIX/dhat_copy.json"
st 2 check --max-peak 1Q "$H"
st 2 check --max-load abc "$H"
st 2 check --max-overruns -1 "$H"
st 2 check --junit "" "$H"
st 2 diff "$H"
st 2 diff "$H" "$H" "$H"
st 2 diff --fail-p99-pct x "$H" "$H"
st 2 diff --fail-leaked 1Q "$H" "$H"
st 0 diff --fail-p99-pct off --fail-callback-allocs off "$H" "$H"
st 2 flame --metric nope "$H"
st 2 flame --metric callback-allocs "$FIX/dhat_valgrind.json"
st 0 flame --metric lifetime "$H"
st 0 report --list-rules

# Every subcommand's command line ends alike: the option at fault is named (a short one
# by its letter, also before others in one word; a long one that takes no value as
# written), then the usage line and where help is.
for cmd in report check diff flame view run; do
	for opt in -Zh --no-such=1; do
		st 2 "$cmd" "$opt" "$H"
		want="audioprof: $cmd: unknown option '${opt%h}'"
		[ "$(head -1 "$tmp/err")" = "$want" ] ||
			bad "$cmd $opt: said '$(head -1 "$tmp/err")', not '$want'"
		grep -qx "Usage: audioprof $cmd .*" "$tmp/err" &&
			grep -qx "Try 'audioprof $cmd --help'." "$tmp/err" || bad "$cmd $opt: no usage"
	done
done
for args in "report --no-default-suppressions=1" "check --verbose=1" "run --check=1" \
	"run --no-signals=x"; do
	st 2 $args "$H"
	want="audioprof: ${args%% *}: unknown option '${args#* }'"
	[ "$(head -1 "$tmp/err")" = "$want" ] ||
		bad "$args: said '$(head -1 "$tmp/err")', not '$want'"
done
st 2 report --top
[ "$(head -1 "$tmp/err")" = "audioprof: report: option '--top' needs a value" ] ||
	bad "report --top: said '$(head -1 "$tmp/err")'"
"$AP" report - <"$H" >"$tmp/out" 2>&1 && grep -q "^Program    ./synth" "$tmp/out" ||
	bad "report - (standard input) failed"

# Output that cannot be written.
if [ -w /dev/full ]; then
	"$AP" report "$H" >/dev/full 2>"$tmp/err"
	rc=$?
	[ $rc -eq 3 ] && grep -q "cannot write the output" "$tmp/err" ||
		{ bad "report >/dev/full: exit $rc"; cat "$tmp/err"; }
	"$AP" flame "$H" >/dev/full 2>"$tmp/err"
	[ $? -eq 3 ] || bad "flame >/dev/full: not exit 3"
fi

# Colour: only on a terminal, and not with NO_COLOR.
esc=$'\033['
"$AP" report "$H" >"$tmp/pipe" 2>&1
grep -qF "$esc" "$tmp/pipe" && bad "colour in a pipe"
"$AP" report --color always "$H" >"$tmp/always" 2>&1
grep -qF "$esc" "$tmp/always" || bad "--color always: no colour"
if command -v script >/dev/null; then
	env -u NO_COLOR script -qec "'$AP' report '$H'" /dev/null >"$tmp/tty" 2>&1
	grep -qF "$esc" "$tmp/tty" || bad "no colour on a terminal"
	NO_COLOR=1 script -qec "'$AP' report '$H'" /dev/null >"$tmp/tty2" 2>&1
	grep -qF "$esc" "$tmp/tty2" && bad "colour on a terminal with NO_COLOR=1"
	env -u NO_COLOR script -qec "'$AP' report --color never '$H'" /dev/null >"$tmp/tty3" 2>&1
	grep -qF "$esc" "$tmp/tty3" && bad "colour on a terminal with --color never"
	echo "ok: colour on a terminal only, not with NO_COLOR or --color never"
else
	note "no script(1): colour on a terminal not checked"
fi

[ $nfail -eq 0 ] || fail "$nfail check(s) failed"
echo "command lines: all good"
