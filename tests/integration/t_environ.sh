#!/usr/bin/env bash
# t_environ.sh - the profiler leaves the program's environment alone
# (tests/progs/printenv.c prints environ, then may exec the rest of its command line):
#  - a program, and the programs it becomes through exec, see exactly the environment
#    they see natively; LD_PRELOAD and the AUDIOPROF_* settings this test sets
#    itself are the only differences allowed, and they are in both runs;
#  - the exec chain still numbers the exec'd images' profiles (p.PID.json, .1, .2);
#  - a malformed AUDIOPROF_EXEC_CHAIN is refused with a message naming it, the
#    program runs unchanged and its profile is p.PID.json (never p.PID.4294967292.json).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog printenv
make_tmp
P=$BIN/printenv

# The same environment in both runs, LD_PRELOAD aside (it is filtered out of both).
run_env() {   # run_env OUTFILE [VAR=VALUE...] -- COMMAND...
	local out=$1; shift
	env -i HOME=/nowhere LANG=C PATH=/usr/bin:/bin TEST_VAR="a b=c" "$@" >"$out" 2>"$out.err"
}
nopre() { grep -v '^LD_PRELOAD=' "$1"; }

mkdir "$tmp/a"
run_env "$tmp/native" AUDIOPROF_OUT="$tmp/a/p.%p.json" "$P" "$P" "$P" || fail "printenv natively: exit $?"
run_env "$tmp/pre" AUDIOPROF_OUT="$tmp/a/p.%p.json" LD_PRELOAD="$PRELOAD" "$P" "$P" "$P"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/pre.err"; fail "printenv under the preload: exit $rc"; }
[ -s "$tmp/pre.err" ] && { cat "$tmp/pre.err"; fail "stderr not empty"; }
[ "$(grep -c '^--$' "$tmp/pre")" -eq 2 ] || { cat "$tmp/pre"; fail "expected three images"; }
[ "$(grep -c '^LD_PRELOAD=' "$tmp/pre")" -eq 3 ] || fail "LD_PRELOAD should reach every image"
if ! diff -u <(nopre "$tmp/native") <(nopre "$tmp/pre"); then
	fail "the environment differs under the preload (program and exec'd images)"
fi
ls "$tmp/a"
[ "$(ls "$tmp/a" | wc -l)" -eq 3 ] || fail "expected 3 profiles (image 0, 1, 2)"
[ "$(ls "$tmp/a" | grep -c '^p\.[0-9]*\.json$')" -eq 1 ] || fail "no p.PID.json"
[ "$(ls "$tmp/a" | grep -c '^p\.[0-9]*\.1\.json$')" -eq 1 ] || fail "no p.PID.1.json"
[ "$(ls "$tmp/a" | grep -c '^p\.[0-9]*\.2\.json$')" -eq 1 ] || fail "no p.PID.2.json"
note "3 images: environment identical, profiles numbered 0, 1, 2"

# AUDIOPROF_FOLLOW_EXEC=0: the exec'd image is not profiled and gets nothing of ours
# (LD_PRELOAD loses the library; nothing else changes).
mkdir "$tmp/b"
run_env "$tmp/native" AUDIOPROF_FOLLOW_EXEC=0 AUDIOPROF_OUT="$tmp/b/p.%p.json" "$P" "$P" || fail "native: exit $?"
run_env "$tmp/pre" AUDIOPROF_FOLLOW_EXEC=0 AUDIOPROF_OUT="$tmp/b/p.%p.json" LD_PRELOAD="$PRELOAD" "$P" "$P"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/pre.err"; fail "AUDIOPROF_FOLLOW_EXEC=0: exit $rc"; }
diff -u <(nopre "$tmp/native") <(nopre "$tmp/pre") || fail "AUDIOPROF_FOLLOW_EXEC=0: the environment differs"
[ "$(ls "$tmp/b" | wc -l)" -eq 1 ] || fail "AUDIOPROF_FOLLOW_EXEC=0: expected 1 profile"

# A program that execs with an environment of its own without the preload (env -i):
# the exec'd program is not profiled and must not get the chain either.
run_env "$tmp/pre" AUDIOPROF_OUT="$tmp/b/q.%p.json" LD_PRELOAD="$PRELOAD" "$P" /usr/bin/env -i X=1 "$P"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/pre.err"; fail "exec with a clean environment: exit $rc"; }
[ "$(sed -n '/^--$/,$p' "$tmp/pre" | tail -n +2)" = "X=1" ] ||
	{ cat "$tmp/pre"; fail "env -i X=1 printenv should print only X=1"; }

# Malformed chains: refused with a message, the profile is not numbered.
for bad in '-5' '4294967295' '' 'x' '7:8'; do
	mkdir -p "$tmp/c"
	rm -f "$tmp/c"/*
	# exec keeps the shell's pid, so $$ is the program's pid.
	env -i HOME=/nowhere "BAD=$bad" "OUT=$tmp/c/p.%p.json" "PRE=$PRELOAD" "P=$P" /bin/sh -c \
		'echo $$ >"${OUT%/*}/pid"; exec env AUDIOPROF_EXEC_CHAIN="$$:$BAD" AUDIOPROF_OUT="$OUT" LD_PRELOAD="$PRE" "$P"' \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$tmp/err"; fail "chain '\$\$:$bad': exit $rc"; }
	pid=$(cat "$tmp/c/pid")
	grep -q "AUDIOPROF_EXEC_CHAIN=\"$pid:$bad\" is not <pid>:<count>" "$tmp/err" ||
		{ cat "$tmp/err"; fail "chain '$pid:$bad': no message naming the bad value"; }
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || { cat "$tmp/err"; fail "chain '$pid:$bad': more than one message"; }
	grep -q AUDIOPROF_EXEC_CHAIN "$tmp/out" && fail "chain '$pid:$bad': the program sees AUDIOPROF_EXEC_CHAIN"
	[ -f "$tmp/c/p.$pid.json" ] || { ls "$tmp/c"; fail "chain '$pid:$bad': no p.$pid.json"; }
	[ "$(ls "$tmp/c" | wc -l)" -eq 2 ] || { ls "$tmp/c"; fail "chain '$pid:$bad': extra files"; }
done
note "malformed chains refused: -5, 4294967295, empty, x, 7:8"

# A well-formed chain of this pid is taken (and hidden): the profile is image 4's.
rm -f "$tmp/c"/*
env -i HOME=/nowhere "OUT=$tmp/c/p.%p.json" "PRE=$PRELOAD" "P=$P" /bin/sh -c \
	'echo $$ >"${OUT%/*}/pid"; exec env AUDIOPROF_EXEC_CHAIN="$$:3" AUDIOPROF_OUT="$OUT" LD_PRELOAD="$PRE" "$P"' \
	>"$tmp/out" 2>"$tmp/err" || fail "chain pid:3: exit $?"
[ -s "$tmp/err" ] && { cat "$tmp/err"; fail "chain pid:3: stderr not empty"; }
pid=$(cat "$tmp/c/pid")
grep -q AUDIOPROF_EXEC_CHAIN "$tmp/out" && fail "chain pid:3: the program sees AUDIOPROF_EXEC_CHAIN"
[ -f "$tmp/c/p.$pid.4.json" ] || { ls "$tmp/c"; fail "chain $pid:3: no p.$pid.4.json"; }
echo "ok"
