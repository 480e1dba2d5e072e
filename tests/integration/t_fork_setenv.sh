#!/usr/bin/env bash
# t_fork_setenv.sh - the profiler's fork handler takes no lock the parent's other
# threads may have held at the fork: tests/progs/fork_setenv.c forks 100 children
# while another thread runs setenv in a loop (glibc does not reset setenv's lock in
# the child; the handler used to call setenv there and the child hung). Under the
# preload, with a timeout so a hang fails: same output and status as natively, and
# one profile per process (parent + 100 children).
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog fork_setenv
make_tmp

timeout 30 "$BIN/fork_setenv" >"$tmp/native.out" 2>"$tmp/native.err" </dev/null
nrc=$?
[ $nrc -eq 0 ] || { cat "$tmp/native.err"; fail "fork_setenv natively: exit $nrc"; }
mkdir "$tmp/p"
timeout -k 2 60 env AUDIOPROF_OUT="$tmp/p/p.%p.json" LD_PRELOAD="$PRELOAD" "$BIN/fork_setenv" \
	>"$tmp/pre.out" 2>"$tmp/pre.err" </dev/null
rc=$?
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "fork_setenv: hung under the preload (a child waits on setenv's lock)"
[ $rc -eq $nrc ] || { cat "$tmp/pre.err"; fail "fork_setenv: exit $rc, natively $nrc"; }
cmp -s "$tmp/native.out" "$tmp/pre.out" || { diff "$tmp/native.out" "$tmp/pre.out"; fail "stdout differs"; }
cmp -s "$tmp/native.err" "$tmp/pre.err" || { diff "$tmp/native.err" "$tmp/pre.err"; fail "stderr differs"; }
n=$(ls "$tmp/p" | grep -c '\.json$')
[ "$n" -eq 101 ] || fail "expected 101 profiles (parent + 100 children), found $n"
note "100 forks beside a setenv loop: no hang, 101 profiles"
echo "PASS"
