#!/usr/bin/env bash
# t_fork_faults.sh - fork()'s handlers write no page that the child shares
# (preload/engine/forkmem.h, struct forkmem_atfork): every such page the parent writes
# between the kernel's copy and fork()'s return, or in the next fork's prepare handlers,
# is a copy-on-write fault inside fork(). tests/progs/forkfaults.c counts the faults
# the forking thread takes inside fork() (the median of 41 forks), with two threads of
# its own asleep so that glibc's fork takes its multi-threaded path natively too. Under
# the preload it takes 2 more than natively, one for each of the profiler's two threads'
# malloc arenas (glibc's fork locks and unlocks every arena); one more is allowed, as a
# loaded machine now and then adds one to either count. With the handlers' mutexes and
# fork count on pages the child shares, and the profiler's re-entrancy guard (on a page
# of the thread's TLS) taken in every handler, it took 6 or 7 more. Every
# profile (the parent's, each child's) counts the program's two blocks exactly.
. "$(dirname "$0")/lib/common.sh"
need_preload
build_prog forkfaults
make_tmp

"$BIN/forkfaults" >"$tmp/native.out" 2>"$tmp/native.err" || { cat "$tmp/native.err"; fail "forkfaults failed natively"; }
native=$(sed -n 's/^fork_faults=//p' "$tmp/native.out")
[ -n "$native" ] || fail "no fork_faults line natively"
export AUDIOPROF_SYMCACHE="$tmp/cache"
RUN_FG_TIMEOUT=30 run_fg warmup "$BIN/forkfaults"
RUN_FG_TIMEOUT=30 run_fg ap "$BIN/forkfaults"
ap=$(sed -n 's/^fork_faults=//p' "$tmp/ap.out")
[ -n "$ap" ] || fail "no fork_faults line under the preload"
note "page faults inside fork(): natively $native, under the preload $ap"
[ "$ap" -le $((native + 3)) ] || fail "fork() took $ap page faults under the preload, $native natively"
n=$(ls "$tmp/ap" | wc -l)
[ "$n" = 42 ] || fail "$n profiles, expected 42 (the parent and 41 children)"
check_py "$tmp/ap" <<'PY' || exit 1
import glob, os
# The parent's two blocks, live in it and (inherited, born at the fork) in each child.
for f in sorted(glob.glob(os.path.join(sys.argv[1], "p.*.json"))):
    expect_pp(load_checked(f), "sleeper_site", tb=200, tbk=2, eb=200, ebk=2)
done()
PY
echo "ok"
