#!/usr/bin/env bash
# t_run_cli.sh - `audioprof run` and the command line: exit status passthrough, death by
# SIGTERM/SIGINT passthrough (audioprof itself dies of the signal), SIGTERM forwarding,
# stdin/stdout/stderr byte for byte, where the profile went (-o, %n, %p, -q, and "no
# profile was written"), LD_PRELOAD kept, static and set-user-ID programs refused with
# status 3 without running them, 126/127 for programs that cannot run / are not found,
# --help/--version/usage errors. Uses a tiny C program built in a temporary directory.
# shellcheck disable=SC2016  # single-quoted $ is for the inner sh -c scripts
. "$(dirname "$0")/lib/common.sh"
need_preload
make_tmp

AP=$ROOT/analyzer/audioprof
[ -x "$AP" ] || fail "analyzer not built: $AP"
VERSION=$(cat "$ROOT/VERSION")
nfail=0
bad() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }
# is_empty DIR: no entries at all
is_empty() { [ -z "$(find "$1" -mindepth 1 -print -quit)" ]; }

# expect_rc WHAT WANT GOT
expect_rc() {
	if [ "$3" -eq "$2" ]; then ok "$1 (exit $3)"; else bad "$1: exit $3, expected $2"; fi
}

cat >"$tmp/tiny.c" <<'EOF'
/* tiny: exit N | kill SIG | mark FILE | env VAR; allocates a little either way. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	void *volatile p = malloc(100);
	free(p);
	p = malloc(64);                     /* a leak, so the profile has something */
	alarm(30);                          /* never hang a test */
	if (argc < 3)
		return 0;
	if (strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	if (strcmp(argv[1], "kill") == 0) {
		int sig = atoi(argv[2]);
		signal(sig, SIG_DFL);       /* even if the caller left it ignored */
		kill(getpid(), sig);
		pause();
		return 99;
	}
	if (strcmp(argv[1], "mark") == 0) {
		FILE *f = fopen(argv[2], "w");
		if (f)
			fclose(f);
		return 0;
	}
	if (strcmp(argv[1], "env") == 0) {
		const char *v = getenv(argv[2]);
		printf("%s\n", v ? v : "(unset)");
		return 0;
	}
	return 2;
}
EOF
cc -O1 -o "$tmp/tiny" "$tmp/tiny.c" || fail "cannot build the tiny program"
TINY=$tmp/tiny
work=$tmp/work
mkdir "$work"
cd "$work" || fail "cd $work"

# ------------------------------------------------------------------ command line
"$AP" --help >"$tmp/o" 2>"$tmp/e"; rc=$?
expect_rc "--help" 0 $rc
grep -q '^Usage: audioprof' "$tmp/o" || bad "--help: no usage on stdout"
[ -s "$tmp/e" ] && bad "--help wrote to stderr"

"$AP" --version >"$tmp/o"; rc=$?
expect_rc "--version" 0 $rc
[ "$(cat "$tmp/o")" = "audioprof $VERSION" ] || bad "--version printed '$(cat "$tmp/o")'"

"$AP" >"$tmp/o" 2>"$tmp/e"; rc=$?
expect_rc "no arguments" 2 $rc
grep -q 'Usage' "$tmp/e" || bad "no arguments: no usage on stderr"
[ -s "$tmp/o" ] && bad "no arguments: wrote to stdout"

"$AP" frobnicate >/dev/null 2>"$tmp/e"; expect_rc "unknown command" 2 $?
grep -q "unknown command 'frobnicate'" "$tmp/e" || bad "unknown command: message: $(cat "$tmp/e")"
"$AP" --frob >/dev/null 2>&1; expect_rc "unknown global option" 2 $?
"$AP" run >/dev/null 2>&1; expect_rc "run without PROGRAM" 2 $?
"$AP" run --frob -- "$TINY" >/dev/null 2>&1; expect_rc "run --frob" 2 $?
"$AP" run --depth >/dev/null 2>&1; expect_rc "run --depth without a value" 2 $?
"$AP" run --depth 0 -- "$TINY" >/dev/null 2>&1; expect_rc "run --depth 0 (out of range)" 2 $?
"$AP" run --depth x -- "$TINY" >/dev/null 2>&1; expect_rc "run --depth x" 2 $?
"$AP" run --interval 5parsecs -- "$TINY" >/dev/null 2>&1; expect_rc "run --interval 5parsecs" 2 $?
"$AP" run --help >"$tmp/o" 2>&1; expect_rc "run --help" 0 $?
grep -q '^Usage: audioprof run' "$tmp/o" || bad "run --help: no usage"
"$AP" help run >"$tmp/o" 2>&1; expect_rc "help run" 0 $?
grep -q '^Usage: audioprof run' "$tmp/o" || bad "help run: no usage"
"$AP" help-env >"$tmp/o" 2>&1; expect_rc "help-env" 0 $?
grep -q '^AUDIOPROF_OUT ' "$tmp/o" || bad "help-env: no AUDIOPROF_OUT line"
"$AP" run --help-env >"$tmp/o2" 2>&1; expect_rc "run --help-env" 0 $?
cmp -s "$tmp/o" "$tmp/o2" || bad "run --help-env differs from help-env"
is_empty "$work" || bad "usage errors ran something: $(ls "$work")"

# ------------------------------------------------------------------ exit status
"$AP" run -q -- "$TINY" >/dev/null 2>&1; expect_rc "exit 0 passes through" 0 $?
"$AP" run -q -- "$TINY" exit 7 >/dev/null 2>&1; expect_rc "exit 7 passes through" 7 $?
"$AP" run -q "$TINY" exit 3 >/dev/null 2>&1; expect_rc "exit 3 without --" 3 $?
"$AP" run -q -- no-such-program-audioprof >/dev/null 2>"$tmp/e"; expect_rc "program not found" 127 $?
grep -q 'no-such-program-audioprof: command not found' "$tmp/e" || bad "not found: message: $(cat "$tmp/e")"
"$AP" run -q -- ./no-such-file >/dev/null 2>&1; expect_rc "./no-such-file" 127 $?
printf 'x\n' >"$tmp/notexec"; chmod 644 "$tmp/notexec"
if [ "$(id -u)" -ne 0 ]; then
	"$AP" run -q -- "$tmp/notexec" >/dev/null 2>&1; expect_rc "not executable" 126 $?
fi
"$AP" run -q -- "$tmp" >/dev/null 2>&1; expect_rc "a directory" 126 $?

# ------------------------------------------------------------------ death by signal
( "$AP" run -q -- "$TINY" kill 15 ) >/dev/null 2>&1; rc=$?
expect_rc "child killed by SIGTERM: audioprof dies of SIGTERM" 143 $rc
( "$AP" run -q -- "$TINY" kill 2 ) >/dev/null 2>&1; rc=$?
expect_rc "child killed by SIGINT: audioprof dies of SIGINT" 130 $rc
( "$AP" run -q -- "$TINY" kill 1 ) >/dev/null 2>&1; rc=$?
expect_rc "child killed by SIGHUP: audioprof dies of SIGHUP" 129 $rc
# A core-dumping signal passes through too, but audioprof leaves no core of its own.
( ulimit -c 0; "$AP" run -q -- "$TINY" kill 6 ) >/dev/null 2>&1; rc=$?
expect_rc "child killed by SIGABRT: audioprof dies of SIGABRT" 134 $rc

# SIGTERM sent to audioprof alone is forwarded to the program.
rm -f "$tmp/childpid"
"$AP" run -q -- sh -c 'echo $$ >"$1.tmp"; mv "$1.tmp" "$1"; exec sleep 30' sh "$tmp/childpid" \
	>/dev/null 2>&1 &
apid=$!
for _ in $(seq 1 200); do [ -s "$tmp/childpid" ] && break; sleep 0.05; done
if [ -s "$tmp/childpid" ]; then
	cpid=$(cat "$tmp/childpid")
	kill -TERM "$apid"
	wait "$apid"; rc=$?
	expect_rc "SIGTERM to audioprof is forwarded; audioprof dies of it" 143 $rc
	kill -0 "$cpid" 2>/dev/null && { bad "the program survived the forwarded SIGTERM"; kill -KILL "$cpid"; }
else
	kill -KILL "$apid" 2>/dev/null
	bad "the program under run did not start"
fi

# ------------------------------------------------------------------ stdio
head -c 300000 /dev/urandom >"$tmp/in"
"$AP" run -q -- cat <"$tmp/in" >"$tmp/out" 2>"$tmp/e"; expect_rc "cat under run" 0 $?
if cmp -s "$tmp/in" "$tmp/out"; then ok "stdin -> stdout byte for byte"; else bad "stdout differs from stdin"; fi
[ -s "$tmp/e" ] && bad "-q: stderr not empty: $(cat "$tmp/e")"
"$AP" run -- sh -c 'printf "to err" >&2; printf "to out"' >"$tmp/out" 2>"$tmp/e"
[ "$(cat "$tmp/out")" = "to out" ] || bad "stdout: '$(cat "$tmp/out")'"
head -c 6 "$tmp/e" | grep -q '^to err' || bad "stderr does not start with the program's: $(cat "$tmp/e")"

# ------------------------------------------------------------------ where the profile went
rm -rf "${work:?}"/*
"$AP" run -- "$TINY" 2>"$tmp/e"; rc=$?
expect_rc "default output" 0 $rc
f=$(ls "$work")
case $f in
audioprof.[0-9]*.json) ok "default name $f" ;;
*) bad "default output: files '$f'" ;;
esac
grep -qx "audioprof: profile written to $f" "$tmp/e" || bad "message: '$(cat "$tmp/e")' (file $f)"

rm -rf "${work:?}"/*
"$AP" run -o 'out-%n-%%-%p.json' -- "$TINY" 2>"$tmp/e"
f=$(ls "$work")
case $f in
out-tiny-%-[0-9]*.json) ok "-o with %n %% %p: $f" ;;
*) bad "-o 'out-%n-%%-%p.json' gave '$f'" ;;
esac
grep -qx "audioprof: profile written to $f" "$tmp/e" || bad "-o message: '$(cat "$tmp/e")'"
check_py "$work/$f" <<'PY' || bad "the profile does not load"
p = load(sys.argv[1])
ok(p.get("dhatFileVersion") == 2, "dhatFileVersion 2")
done()
PY

# A relative -o is relative to where audioprof started, even if the program moves.
rm -rf "${work:?}"/*
mkdir "$work/elsewhere"
"$AP" run -q -o 'rel.%p.json' -- sh -c 'cd elsewhere && exec "$0"' "$TINY" 2>"$tmp/e"
ls "$work"/rel.*.json >/dev/null 2>&1 || bad "relative -o: nothing in the start directory: $(ls -R "$work")"
is_empty "$work/elsewhere" || bad "relative -o: a profile went to the new directory"

rm -rf "${work:?}"/*
"$AP" run -q -- "$TINY" 2>"$tmp/e"
[ -s "$tmp/e" ] && bad "-q still printed: $(cat "$tmp/e")"
ls "$work"/audioprof.*.json >/dev/null 2>&1 || bad "-q: no profile written"

"$AP" run -o /nonexistent-audioprof-dir/p.%p.json -- "$TINY" 2>"$tmp/e"; rc=$?
expect_rc "unwritable output: the program's status" 0 $rc
grep -q '^audioprof: no profile was written (expected /nonexistent-audioprof-dir/p\.[0-9]*\.json)' "$tmp/e" ||
	bad "unwritable output: message: $(cat "$tmp/e")"

rm -rf "${work:?}"/*
( "$AP" run -- "$TINY" kill 15 ) 2>"$tmp/e"
grep -q '^audioprof: profile written to audioprof\.[0-9]*\.json' "$tmp/e" ||
	bad "death by signal: no profile message: $(cat "$tmp/e")"

# A program that execs another: both profiles are reported, the exec'd one as ".1".
rm -rf "${work:?}"/*
"$AP" run -- sh -c 'exec "$0" exit 4' "$TINY" 2>"$tmp/e"; expect_rc "exec'd program's status" 4 $?
if ! grep -q "^audioprof: profile written to audioprof\.[0-9]*\.json$" "$tmp/e" ||
	! grep -q "^audioprof: profile written to audioprof\.[0-9]*\.1\.json (exec'd program 1)$" "$tmp/e"; then
	bad "exec: both profiles not reported: $(cat "$tmp/e")"
fi

# A #! script: its interpreter gets the preload.
printf '#!/bin/sh\nexit 5\n' >"$tmp/script.sh"; chmod 755 "$tmp/script.sh"
rm -rf "${work:?}"/*
"$AP" run -- "$tmp/script.sh" 2>"$tmp/e"; expect_rc "#! script" 5 $?
grep -q '^audioprof: profile written to audioprof\.[0-9]*\.json' "$tmp/e" ||
	bad "#! script: no profile message: $(cat "$tmp/e")"

# ------------------------------------------------------------------ environment
"$AP" run -q -- "$TINY" env LD_PRELOAD >"$tmp/o" 2>/dev/null
want=$(readlink -f "$PRELOAD")
[ "$(cat "$tmp/o")" = "$want" ] || bad "LD_PRELOAD in the program: '$(cat "$tmp/o")', expected '$want'"
# (ASAN_OPTIONS: an analyzer built with SANITIZE=address would refuse a preload of its own.)
ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD=$BIN/../bin/libdlmod.so "$AP" run -q -- "$TINY" env LD_PRELOAD >"$tmp/o" 2>/dev/null
if [ -f "$BIN/libdlmod.so" ]; then
	[ "$(cat "$tmp/o")" = "$want:$BIN/../bin/libdlmod.so" ] ||
		bad "existing LD_PRELOAD not kept after ours: '$(cat "$tmp/o")'"
fi
"$AP" run -q --depth 7 --interval 250ms --short-lived 2ms --no-follow-exec --no-follow-fork \
	--no-stack-cache --no-signals -- sh -c 'env | grep "^AUDIOPROF_" | sort' >"$tmp/o" 2>/dev/null
for kv in AUDIOPROF_DEPTH=7 AUDIOPROF_INTERVAL=250ms AUDIOPROF_SHORT_LIVED=2ms \
	AUDIOPROF_FOLLOW_EXEC=0 AUDIOPROF_FOLLOW_FORK=0 AUDIOPROF_STACK_CACHE=0 AUDIOPROF_SIGNALS=0; do
	grep -qx "$kv" "$tmp/o" || bad "option not passed: $kv (got: $(tr '\n' ' ' <"$tmp/o"))"
done
grep -qx "AUDIOPROF_OUT=$work/audioprof.%p.json" "$tmp/o" || bad "AUDIOPROF_OUT not absolute: $(grep OUT "$tmp/o")"
AUDIOPROF_LIB=/nonexistent/libaudioprof.so "$AP" run -- "$TINY" 2>"$tmp/e"; rc=$?
expect_rc "AUDIOPROF_LIB missing" 3 $rc
grep -q 'AUDIOPROF_LIB=/nonexistent/libaudioprof.so' "$tmp/e" || bad "AUDIOPROF_LIB message: $(cat "$tmp/e")"

# ------------------------------------------------------------------ refused programs
rm -rf "${work:?}"/*
static_libc=$(cc -print-file-name=libc.a)
if [ -f "$static_libc" ] && cc -static -O1 -o "$tmp/tiny-static" "$tmp/tiny.c" 2>/dev/null; then
	"$AP" run -- "$tmp/tiny-static" mark "$tmp/static-ran" 2>"$tmp/e"; rc=$?
	expect_rc "static executable refused" 3 $rc
	[ -e "$tmp/static-ran" ] && bad "the static executable was run"
	grep -q "cannot profile $tmp/tiny-static: .*statically linked" "$tmp/e" ||
		bad "static: message: $(cat "$tmp/e")"
	printf '#!%s\n' "$tmp/tiny-static" >"$tmp/static-script"; chmod 755 "$tmp/static-script"
	"$AP" run -- "$tmp/static-script" 2>"$tmp/e"; expect_rc "script with a static interpreter refused" 3 $?
	grep -q "cannot profile $tmp/static-script: its #! interpreter $tmp/tiny-static cannot be profiled: it is statically linked" "$tmp/e" ||
		bad "static interpreter: message: $(cat "$tmp/e")"
else
	echo "skip: static executable case (no libc.a or cc -static failed)"
fi

if [ "$(id -u)" -eq 0 ]; then
	cp "$TINY" "$tmp/tiny-suid"
	chown 65534 "$tmp/tiny-suid" && chmod 4755 "$tmp/tiny-suid"
	"$AP" run -- "$tmp/tiny-suid" mark "$tmp/suid-ran" 2>"$tmp/e"; rc=$?
	expect_rc "set-user-ID executable refused" 3 $rc
	[ -e "$tmp/suid-ran" ] && bad "the set-user-ID executable was run"
	grep -q "cannot profile $tmp/tiny-suid: .*set-user-ID" "$tmp/e" || bad "setuid: message: $(cat "$tmp/e")"
	cp "$TINY" "$tmp/tiny-sgid"
	chgrp 65534 "$tmp/tiny-sgid" && chmod 2755 "$tmp/tiny-sgid"
	"$AP" run -- "$tmp/tiny-sgid" 2>"$tmp/e"; expect_rc "set-group-ID executable refused" 3 $?
	grep -q "set-group-ID" "$tmp/e" || bad "setgid: message: $(cat "$tmp/e")"
	is_empty "$work" || bad "a refused program left a profile"
else
	echo "skip: set-user-ID case (needs root to give the file another owner)"
fi

[ "$nfail" -eq 0 ] || fail "$nfail case(s) failed"
echo "all cases passed"
