# common.sh - sourced by tests/integration/t_*.sh: paths, skip/fail, building the
# purpose-built programs of tests/progs/ when tests/Makefile has not (same flags),
# running a command under the preload, and the python3 checks of lib/aprof.py.
# Exit codes of a test: 0 pass, 1 fail, 77 skip.

set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROOT=$(cd "$TESTS_DIR/.." && pwd)
PRELOAD=$ROOT/preload/libaudioprof.so
PROGS=$TESTS_DIR/progs
BIN=$PROGS/bin
ILIB=$TESTS_DIR/integration/lib
DHVIEW_LOAD=$TESTS_DIR/integration/dhview_load.js
export PYTHONPATH="$ILIB${PYTHONPATH:+:$PYTHONPATH}"
# The checks run in python3 without the preload; a profiler setting in the caller's
# environment must not leak into the runs below unless a test sets it.
unset LD_PRELOAD
for _v in $(compgen -e | grep '^AUDIOPROF_'); do unset "$_v"; done
unset _v

# Same flags as tests/Makefile (used only when that Makefile is missing).
PROG_OPT="-O0 -g -fno-builtin -fno-optimize-sibling-calls -fno-inline -fno-omit-frame-pointer"
PROG_CFLAGS="-std=gnu11 -Wall -Wextra $PROG_OPT -D_GNU_SOURCE -pthread"
PROG_CXXFLAGS="-std=gnu++17 -Wall -Wextra $PROG_OPT -D_GNU_SOURCE -pthread"
PROG_LIBS="-ldl -lpthread"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "  $*"; }

# run_fg NAME CMD...: CMD under the preload, bounded (RUN_FG_TIMEOUT seconds, default
# 60), profile in $tmp/NAME/, output in $tmp/NAME.out and $tmp/NAME.err; the test fails
# unless CMD exits 0. Needs $tmp (make_tmp).
run_fg() {
	local name=$1 rc
	shift
	mkdir -p "$tmp/$name"
	timeout "${RUN_FG_TIMEOUT:-60}" env AUDIOPROF_OUT="$tmp/$name/p.%p.json" LD_PRELOAD="$PRELOAD" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/$name.out" "$tmp/$name.err"; fail "$name exited with status $rc"; }
}

need_preload() {
	[ -f "$PRELOAD" ] || skip "preload not built: $PRELOAD"
}

# dsp_demo built (needs $tmp, from make_tmp), its path in $DSP; skips without its
# development files.
need_dsp_demo() {
	DSP=$ROOT/dsp_demo/dsp_demo
	pkg-config --exists fftw3f jack alsa 2>/dev/null ||
		skip "FFTW/JACK/ALSA development files missing (scripts/install-deps.sh installs them)"
	make -s -C "$ROOT/dsp_demo" >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; fail "cannot build dsp_demo"; }
}

# A fresh temporary directory in $tmp, removed on exit.
make_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/aptest.XXXXXX") || fail "mktemp"
	trap 'rm -rf "$tmp"' EXIT
}

# build_prog NAME...: make tests/progs/bin/NAME from tests/progs/NAME.c or NAME.cc unless it
# is up to date; NAME of the form libX builds the shared module bin/libX.so from libX.c.
# Uses tests/Makefile's rules when it is there, the same flags directly otherwise.
build_prog() {
	local name src out
	mkdir -p "$BIN" || fail "mkdir $BIN"
	for name in "$@"; do
		case $name in
		lib*) src=$PROGS/$name.c out=$BIN/$name.so ;;
		*)
			out=$BIN/$name
			if [ -f "$PROGS/$name.c" ]; then src=$PROGS/$name.c
			elif [ -f "$PROGS/$name.cc" ]; then src=$PROGS/$name.cc
			else fail "no source for test program $name"
			fi
			;;
		esac
		[ -f "$out" ] && [ "$PROGS/progs.h" -nt "$out" ] && rm -f "$out"
		if [ -f "$TESTS_DIR/Makefile" ]; then
			make -s -C "$TESTS_DIR" "${out#$TESTS_DIR/}" >&2 || fail "cannot build $out"
		elif [ ! -f "$out" ] || [ "$src" -nt "$out" ]; then
			case $src in
			*/lib*.c) gcc $PROG_CFLAGS -fPIC -shared -o "$out.tmp.$$" "$src" ;;
			*.c)  gcc $PROG_CFLAGS -o "$out.tmp.$$" "$src" $PROG_LIBS ;;
			*.cc) g++ $PROG_CXXFLAGS -o "$out.tmp.$$" "$src" $PROG_LIBS ;;
			esac && mv -f "$out.tmp.$$" "$out" || fail "cannot build $out"
		fi
	done
}

# Run a command under the preload (the caller adds AUDIOPROF_* settings with env).
pre() {
	LD_PRELOAD=$PRELOAD "$@"
}

# check_py ARGS... <<'EOF' python code EOF: the code runs with `from aprof import *`
# already done and sys.argv[1:] = ARGS; it must end with done().
check_py() {
	local code
	code=$(cat)
	python3 -c "import sys
from aprof import *
$code" "$@"
}

# The single profile file in directory $1 (fails unless there is exactly one *.json).
one_profile() {
	local f n=0 found=
	for f in "$1"/*.json; do
		[ -e "$f" ] || continue
		n=$((n + 1)); found=$f
	done
	if [ "$n" -ne 1 ]; then   # (runs in $(...): report on stderr)
		ls -la "$1" >&2
		echo "FAIL: expected 1 profile in $1, found $n" >&2
		exit 1
	fi
	echo "$found"
}

# dhview_check FILE: the profile loads in valgrind's dh_view (through the node script of
# tests/integration/dhview_load.js); returns 0 when that script is not there yet.
dhview_check() {
	if [ ! -f "$DHVIEW_LOAD" ]; then
		note "dh_view load not checked: $DHVIEW_LOAD missing"
		return 0
	fi
	command -v node >/dev/null 2>&1 || { note "dh_view load not checked: no node"; return 0; }
	node "$DHVIEW_LOAD" "$1" >"$tmp/dhview.out" 2>&1 || {
		cat "$tmp/dhview.out"
		return 1
	}
}

# same_behaviour DIR CMD...: run CMD natively, then under the preload with
# AUDIOPROF_OUT=DIR/p.%p.json (plus any AUDIOPROF_* in the environment of the call);
# stdout, stderr and exit status must be identical. Outputs are kept in $tmp/native.*
# and $tmp/pre.*; returns 1 (after printing the difference) if they differ.
same_behaviour() {
	local dir=$1 nrc prc
	shift
	mkdir -p "$dir"
	"$@" >"$tmp/native.out" 2>"$tmp/native.err" </dev/null
	nrc=$?
	env AUDIOPROF_OUT="$dir/p.%p.json" LD_PRELOAD="$PRELOAD" "$@" >"$tmp/pre.out" 2>"$tmp/pre.err" </dev/null
	prc=$?
	if [ $nrc -ne $prc ]; then
		echo "exit status: native $nrc, under the preload $prc: $*"
		head -c 2000 "$tmp/pre.err"
		return 1
	fi
	if ! cmp -s "$tmp/native.out" "$tmp/pre.out"; then
		echo "stdout differs: $*"
		diff "$tmp/native.out" "$tmp/pre.out" | head -20
		return 1
	fi
	if ! cmp -s "$tmp/native.err" "$tmp/pre.err"; then
		echo "stderr differs: $*"
		diff "$tmp/native.err" "$tmp/pre.err" | head -20
		return 1
	fi
	last_status=$nrc
	return 0
}

# check_profiles DIR [MIN]: every *.json in DIR is a valid, consistent profile (and loads
# in dh_view); at least MIN (default 1) of them.
check_profiles() {
	local dir=$1 min=${2:-1} n=0 f
	for f in "$dir"/*.json; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		check_py "$f" <<'PY' || return 1
p = load_checked(sys.argv[1])
ok(len(p.get("pps", [])) > 0, "no pps at all in %s (cmd %r)" % (sys.argv[1], p.get("cmd")))
done()
PY
		dhview_check "$f" || { echo "FAIL: $f does not load in dh_view"; return 1; }
	done
	[ $n -ge $min ] || { ls -A "$dir"; echo "FAIL: expected at least $min profile(s) in $dir, found $n"; return 1; }
	echo "  $n profile(s) checked in $(basename "$dir")"
}
